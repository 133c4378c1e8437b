"""The field values of each document type, drawn from its holder's business: amounts follow the holder's true
monthly revenue and size, dates its registration and the submission day."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.vouchers.names import (
    BANKS,
    BRAND_WORDS,
    BRANDS,
    CREDIT_REASONS,
    CUSTOMS,
    EQUIPMENT,
    FOOD_ITEMS,
    GOODS,
    INSURERS,
    LENDERS,
    PAYMENT_TERMS,
    PLATFORMS,
    RETAILERS,
    SERVICES,
    STREETS,
    Holder,
    bank,
    company,
    pick,
)
from simulator.vouchers.taxonomy import add_years


def number(i: int, digits: int, salt: int) -> str:
    """A `digits`-long number unique per i (an affine bijection modulo 10**digits)."""
    return f"{(i * 7_394_911 + salt) % 10**digits:0{digits}d}"


def money(x: float) -> float:
    return round(float(x), 2)


def months_after(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later (earlier when negative; the month's last day where it is shorter)."""
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def month_back(submitted: dt.date, k: int) -> tuple[dt.date, dt.date]:
    """First and last day of the k-th full calendar month before the submission's month."""
    first = months_after(submitted.replace(day=1), -k)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def last_quarter(submitted: dt.date) -> tuple[dt.date, dt.date]:
    q = (submitted.month - 1) // 3
    y, q = (submitted.year, q - 1) if q > 0 else (submitted.year - 1, 3)
    return dt.date(y, 3 * q + 1, 1), dt.date(y, 3 * q + 3, calendar.monthrange(y, 3 * q + 3)[1])


def after(day: dt.date, lo: int, hi: int, cap: dt.date, rng: np.random.Generator) -> dt.date:
    return min(day + dt.timedelta(days=int(rng.integers(lo, hi + 1))), cap)


def uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


@dataclass(frozen=True)
class Doc:
    """What a document is drawn from: its holder, submission day, seq, share of the month's flows, revenue."""

    h: Holder
    row: int
    submitted: dt.date
    seq: int
    share: float
    revenue: float  # the holder's monthly revenue, scaled when the document is out of line
    sold: dict | None = None  # {first day of a simulated month: what the holder sold in it}, None if it sells nothing
    scale: float = 1.0  # out of line: the factor its amounts were scaled by

    def sales(self, first: dt.date, last: dt.date) -> float:
        """What the holder sold per month over the calendar months first..last, as drawn (scaled when out of line):
        a statement, a settlement or a tax return reports the flows of its period. Its revenue when the simulation
        did not see those months, or it sells nothing the simulation draws (a farmer)."""
        months = pd.date_range(first.replace(day=1), last, freq="MS").date
        if not self.sold or any(m not in self.sold for m in months):
            return self.revenue
        return self.scale * sum(self.sold[m] for m in months) / len(months)


def lease_period(doc: Doc, years: tuple[int, ...], rng: np.random.Generator) -> dict:
    length = years[rng.integers(0, len(years))]
    start = doc.submitted - dt.timedelta(days=int(rng.integers(15, 365 * length - 15)))
    return {
        "period_start": start,
        "period_end": add_years(start, length) - dt.timedelta(days=1),
        "issue_date": start - dt.timedelta(days=int(rng.integers(0, 31))),
    }


def invoice(doc: Doc, goods: tuple, flow: float, seller: str, buyer: str, rng: np.random.Generator, rate=None) -> dict:
    """Line items summing to this invoice's share of the month's flow, VAT on top."""
    if rate is None:
        rate = 3 if doc.h.small_scale else 13
    target = max(flow * doc.share, 50.0)
    picks = rng.integers(0, len(goods), int(rng.integers(1, 5)))
    parts = rng.dirichlet(np.full(picks.size, 2.0)) * target
    lines = []
    for k, part in zip(picks, parts):
        name, lo, hi = goods[k]
        unit = money(uniform(rng, lo, hi))
        qty = max(1, int(round(part / unit)))
        lines.append({"name": name, "qty": qty, "unit_price": unit, "amount": money(qty * unit)})
    untaxed = money(sum(line["amount"] for line in lines))
    tax = money(round(untaxed * rate / 100, 2))
    fields = {
        "document_number": number(doc.row, 8, 40_000_001),
        "issuer": seller,
        "recipient": buyer,
        "issue_date": doc.submitted - dt.timedelta(days=int(rng.integers(0, 61))),
        "amount_untaxed": untaxed,
        "vat_rate": rate,
        "amount_tax": tax,
        "amount_total": money(untaxed + tax),
        "currency": "CNY",
        "lines": lines,
    }
    if rng.random() < 0.6:
        fields["invoice_code"] = number(doc.row, 12, 144_001_800_000 + doc.h.index)
    return fields


def purchase_invoice(doc: Doc, rng: np.random.Generator) -> dict:
    service = rng.random() < 0.15
    goods = SERVICES if service else GOODS["buys"][doc.h.segment]
    rate = 6 if service else (3 if rng.random() < 0.25 else 13)
    return invoice(doc, goods, doc.revenue * uniform(rng, 0.5, 0.8), company(doc.h, rng), doc.h.name, rng, rate)


def sales_invoice(doc: Doc, rng: np.random.Generator) -> dict:
    buyer = company(doc.h, rng)
    return invoice(doc, GOODS["sells"][doc.h.segment], doc.revenue * uniform(rng, 0.85, 1.0), doc.h.name, buyer, rng)


def business_licence(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    company_like = h.segment in ("distributor", "store") or h.size > 6
    fields = {
        "document_number": f"9{1 if company_like else 2}{number(h.index, 6, 310_101)}{number(doc.row, 9, 77_777)}X",
        "issuer": f"{h.city} {h.district} Administration for Market Regulation",
        "business_name": h.name,
        "legal_representative": h.owner,
        "business_type": "Limited Liability Company" if company_like else "Individual Business",
        "address": h.address,
        "currency": "CNY",
        "registered_date": h.registered,
        "issue_date": after(h.registered, 0, 20, doc.submitted, rng),
    }
    if rng.random() < 0.7:
        fields["registered_capital"] = money(round(doc.revenue * uniform(rng, 2, 20), -3) + 10_000)
    return fields


def food_permit(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    renewals = max(0, (doc.submitted - h.registered).days // (5 * 365))
    issue = after(add_years(h.registered, 5 * renewals), 0, 30, doc.submitted, rng)
    return {
        "document_number": f"JY{number(doc.row, 14, 13_101_020_000_000)}",
        "issuer": f"{h.city} {h.district} Market Supervision Bureau",
        "business_name": h.name,
        "legal_representative": h.owner,
        "address": h.address,
        "business_items": FOOD_ITEMS[rng.integers(0, len(FOOD_ITEMS))],
        "issue_date": issue,
        "expiry_date": add_years(issue, 5) - dt.timedelta(days=1),
    }


def shop_lease(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    rent = money(round(doc.revenue * uniform(rng, 0.06, 0.14), 0))
    landlord = company(h, rng) if rng.random() < 0.5 else f"{h.city} Property Owner {number(doc.row, 4, 17)}"
    fields = {
        "document_number": f"SL-{doc.submitted.year}-{number(doc.row, 7, 5_000_011)}",
        "issuer": landlord,
        "recipient": h.name,
        "premises": f"Unit {int(rng.integers(1, 300))}, {h.address}",
        "area_m2": max(8, int(round(rent / uniform(rng, 80, 250)))),
        "monthly_rent": rent,
        "currency": "CNY",
        **lease_period(doc, (1, 2, 3), rng),
    }
    if rng.random() < 0.8:
        fields["deposit"] = money(rent * int(rng.integers(1, 4)))
    return fields


def land_lease(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    rent = money(round(doc.revenue * uniform(rng, 0.72, 1.68), -1))
    village = STREETS[rng.integers(0, len(STREETS))]
    group, first = int(rng.integers(1, 12)), int(rng.integers(1, 90))
    return {
        "document_number": f"LT{doc.submitted.year}{number(doc.row, 7, 3_030_303)}",
        "issuer": f"{village} Village Economic Cooperative, {h.district} County",
        "recipient": h.owner if h.name == h.owner else h.name,
        "plot": f"{village} Village, group {group}, plots {first}-{first + int(rng.integers(1, 60))}",
        "area_mu": max(1, int(round(rent / uniform(rng, 600, 1200)))),
        "annual_rent": rent,
        "currency": "CNY",
        **lease_period(doc, (3, 5, 10), rng),
    }


def utility_bill(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    first, last = month_back(doc.submitted, doc.seq)
    due = money(doc.revenue * uniform(rng, 0.015, 0.03))
    basic = money(min(due * 0.3, uniform(rng, 20, 120)))
    issue = after(last, 1, 5, doc.submitted, rng)
    return {
        "document_number": number(doc.row, 12, 310_000_000_017),
        "issuer": f"State Grid {h.city} Electric Power Supply Company",
        "recipient": h.name,
        "account_number": number(h.index, 10, 3_100_000_007),
        "period_start": first,
        "period_end": last,
        "usage_kwh": max(1, int(round((due - basic) / uniform(rng, 0.6, 1.0)))),
        "usage_charge": money(due - basic),
        "basic_charge": basic,
        "amount_due": due,
        "currency": "CNY",
        "issue_date": issue,
        "due_date": issue + dt.timedelta(days=int(rng.integers(10, 21))),
    }


def monthly_staff(doc: Doc, rng: np.random.Generator) -> tuple[int, float]:
    headcount = max(1, int(round(doc.h.size * uniform(rng, 0.6, 1.6))))
    return headcount, uniform(rng, 4500, 9000)


def payroll(doc: Doc, rng: np.random.Generator) -> dict:
    first, last = month_back(doc.submitted, doc.seq)
    headcount, wage = monthly_staff(doc, rng)
    gross = money(headcount * wage)
    deductions = money(gross * uniform(rng, 0.10, 0.20))
    return {
        "document_number": f"PR{first:%Y%m}{number(doc.row, 6, 123_457)}",
        "issuer": doc.h.name,
        "recipient": bank(doc.h),
        "period_start": first,
        "period_end": last,
        "headcount": headcount,
        "gross_pay": gross,
        "deductions": deductions,
        "net_pay": money(gross - deductions),
        "currency": "CNY",
        "issue_date": after(last, 5, 12, doc.submitted, rng),
    }


def social_insurance(doc: Doc, rng: np.random.Generator) -> dict:
    first, last = month_back(doc.submitted, doc.seq)
    headcount, wage = monthly_staff(doc, rng)
    employer, employee = money(headcount * wage * 0.26), money(headcount * wage * 0.105)
    return {
        "document_number": f"SI{number(doc.row, 12, 440_000_000_003)}",
        "issuer": f"{doc.h.city} Social Insurance Fund Administration Center",
        "recipient": doc.h.name,
        "period_start": first,
        "period_end": last,
        "insured_headcount": headcount,
        "employer_contribution": employer,
        "employee_contribution": employee,
        "total_contribution": money(employer + employee),
        "currency": "CNY",
        "issue_date": after(last, 3, 15, doc.submitted, rng),
    }


def bank_statement(doc: Doc, rng: np.random.Generator) -> dict:
    first, last = month_back(doc.submitted, doc.seq)
    credits = money(doc.sales(first, last) * uniform(rng, 0.9, 1.1))
    opening = money(doc.revenue * uniform(rng, 0.1, 1.0))
    debits = money(min(credits * uniform(rng, 0.85, 1.05), opening + credits - 1))
    return {
        "document_number": f"ST{first:%Y%m}{number(doc.row, 8, 20_240_001)}",
        "issuer": bank(doc.h),
        "recipient": doc.h.name,
        "account_number": number(doc.h.index, 19, 6_222_020_000_000_000_001),
        "period_start": first,
        "period_end": last,
        "opening_balance": opening,
        "total_credits": credits,
        "total_debits": debits,
        "closing_balance": money(opening + credits - debits),
        "currency": "CNY",
        "issue_date": after(last, 0, 3, doc.submitted, rng),
    }


def tax_return(doc: Doc, rng: np.random.Generator) -> dict:
    first, last = last_quarter(doc.submitted)
    sales = money(3 * doc.sales(first, last) * uniform(rng, 0.9, 1.0))
    rate = 3 if doc.h.small_scale else 13
    output = money(sales * rate / 100)
    input_tax = money(0 if doc.h.small_scale else output * uniform(rng, 0.5, 0.85))
    return {
        "document_number": f"{first:%Y}{number(doc.row, 15, 100_000_000_000_019)}",
        "issuer": f"{doc.h.city} {doc.h.district} Tax Bureau, State Taxation Administration",
        "recipient": doc.h.name,
        "period_start": first,
        "period_end": last,
        "sales_declared": sales,
        "output_tax": output,
        "input_tax": input_tax,
        "tax_payable": money(output - input_tax),
        "currency": "CNY",
        "issue_date": after(last, 5, 15, doc.submitted, rng),
    }


def equipment_purchase(doc: Doc, rng: np.random.Generator) -> dict:
    name, lo, hi = EQUIPMENT[doc.h.segment][rng.integers(0, 3)]
    unit = money(round(uniform(rng, lo, hi), -2))
    qty = max(1, int(round(doc.revenue * uniform(rng, 0.5, 3.0) / unit)))
    untaxed = money(qty * unit)
    tax = money(untaxed * 0.13)
    issue = doc.submitted - dt.timedelta(days=int(rng.integers(10, 400)))
    return {
        "document_number": f"EQ{issue:%Y}{number(doc.row, 7, 2_000_003)}",
        "issuer": company(doc.h, rng),
        "recipient": doc.h.name,
        "equipment": name,
        "quantity": qty,
        "amount_untaxed": untaxed,
        "vat_rate": 13,
        "amount_tax": tax,
        "amount_total": money(untaxed + tax),
        "currency": "CNY",
        "issue_date": issue,
        "delivery_date": issue + dt.timedelta(days=int(rng.integers(0, 46))),
    }


def platform_settlement(doc: Doc, rng: np.random.Generator) -> dict:
    first, last = month_back(doc.submitted, doc.seq)
    gross = money(doc.sales(first, last) * uniform(rng, 0.95, 1.05))
    refunds, commission = money(gross * uniform(rng, 0.02, 0.1)), money(gross * uniform(rng, 0.02, 0.06))
    return {
        "document_number": f"STL{first:%Y%m}{number(doc.row, 9, 900_000_001)}",
        "issuer": PLATFORMS[doc.h.index % len(PLATFORMS)],
        "recipient": doc.h.name,
        "shop_id": number(doc.h.index, 9, 100_000_003),
        "period_start": first,
        "period_end": last,
        "gross_sales": gross,
        "refunds": refunds,
        "commission": commission,
        "net_payout": money(gross - refunds - commission),
        "currency": "CNY",
        "issue_date": after(last, 1, 7, doc.submitted, rng),
    }


def distribution_agreement(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    fields = {
        "document_number": f"DA-{number(doc.row, 8, 31_415_927)}",
        "issuer": BRANDS[h.index % len(BRANDS)],
        "recipient": h.name,
        "territory": f"{h.district} District, {h.city}",
        "annual_target": money(round(12 * doc.revenue * uniform(rng, 0.5, 0.9), -3)),
        "currency": "CNY",
        **lease_period(doc, (1, 2, 3), rng),
    }
    if rng.random() < 0.5:
        fields["deposit"] = money(round(fields["annual_target"] * 0.05, -2))
    return fields


def retail_receipt(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    shop = f"{h.city} {pick(BRAND_WORDS, rng)} {pick(RETAILERS, rng)}"
    rate = 9 if h.segment == "farmer" else 13
    drawn = invoice(doc, GOODS["buys"][h.segment], doc.revenue * uniform(rng, 0.02, 0.08), shop, h.name, rng, rate)
    fields = {k: v for k, v in drawn.items() if k not in ("recipient", "invoice_code")}
    fields["document_number"] = f"{number(doc.row, 4, 1_001)}-{number(doc.row, 6, 270_001)}"
    if rng.random() < 0.7:
        fields["payment_method"] = pick(("Cash", "Bank card", "Mobile payment", "WeChat Pay", "Alipay"), rng)
    return fields


def pos_slip(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    sales = money(doc.revenue / 30 * uniform(rng, 0.4, 1.3))
    refunds = money(sales * uniform(rng, 0.0, 0.03))
    return {
        "document_number": f"{number(doc.row, 6, 600_007)}",
        "issuer": f"{BANKS[h.index % len(BANKS)]} Merchant Acquiring Services",
        "recipient": h.name,
        "merchant_id": number(h.index, 15, 898_310_000_000_001),
        "terminal_id": number(h.index, 8, 10_000_019),
        "transaction_count": max(1, int(round(sales / uniform(rng, 30, 150)))),
        "sales_amount": sales,
        "refund_amount": refunds,
        "amount_total": money(sales - refunds),
        "currency": "CNY",
        "issue_date": doc.submitted - dt.timedelta(days=int(rng.integers(1, 31))),
    }


def e_invoice(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    rate = 3 if rng.random() < 0.25 else 13
    seller = company(h, rng)
    fields = invoice(doc, GOODS["buys"][h.segment], doc.revenue * uniform(rng, 0.3, 0.6), seller, h.name, rng, rate)
    fields.pop("invoice_code", None)
    return fields | {
        "document_number": f"{fields['issue_date']:%y}{number(doc.row, 18, 442_000_000_000_000_011)}",
        "check_code": number(doc.row, 20, 12_345_678_901_234_567_891),
        "issuer_tax_id": f"91{number(doc.row, 15, 310_115_000_000_017)}X",
    }


def credit_note(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    fields = invoice(doc, GOODS["buys"][h.segment], doc.revenue * uniform(rng, 0.02, 0.1), company(h, rng), h.name, rng)
    fields.pop("invoice_code", None)
    return fields | {
        "document_number": f"CN{fields['issue_date']:%Y}{number(doc.row, 6, 880_001)}",
        "original_invoice": number(doc.row, 8, 41_000_003),
        "reason": pick(CREDIT_REASONS, rng),
    }


def purchase_order(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    customer = company(h, rng)
    order = invoice(doc, GOODS["sells"][h.segment], doc.revenue * uniform(rng, 0.1, 0.4), customer, h.name, rng)
    issue = doc.submitted - dt.timedelta(days=int(rng.integers(0, 46)))
    fields = {
        "document_number": f"PO-{issue:%y%m}-{number(doc.row, 5, 30_011)}",
        "issuer": order["issuer"],
        "recipient": h.name,
        "issue_date": issue,
        "delivery_date": issue + dt.timedelta(days=int(rng.integers(3, 31))),
        "amount_total": order["amount_untaxed"],
        "currency": "CNY",
        "lines": order["lines"],
    }
    if rng.random() < 0.7:
        fields["payment_terms"] = pick(PAYMENT_TERMS, rng)
    return fields


def delivery_note(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    name, lo, hi = pick(GOODS["buys"][h.segment], rng)
    issue = doc.submitted - dt.timedelta(days=int(rng.integers(1, 61)))
    return {
        "document_number": f"DN{issue:%Y%m%d}{number(doc.row, 4, 5_003)}",
        "order_number": f"PO-{issue:%y%m}-{number(doc.row, 5, 70_001)}",
        "issuer": company(h, rng),
        "recipient": h.name,
        "goods": name,
        "quantity": max(1, int(round(doc.revenue * uniform(rng, 0.05, 0.3) / uniform(rng, lo, hi)))),
        "issue_date": issue,
        "delivery_date": after(issue, 0, 5, doc.submitted, rng),
    }


def insurance_policy(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    insured = money(round(doc.revenue * uniform(rng, 2, 10), -3))
    cover = "Crops and farm buildings" if h.segment == "farmer" else "Premises, fixtures and stock"
    period = lease_period(doc, (1,), rng)
    year = period["period_start"].year
    return {
        "document_number": f"P{number(doc.row, 3, 101)}{year}{number(doc.row, 12, 310_000_000_001)}",
        "issuer": f"{pick(INSURERS, rng)} {h.city} Branch",
        "recipient": h.name,
        "insured_object": f"{cover} at {h.address}",
        "sum_insured": insured,
        "premium": money(insured * uniform(rng, 0.002, 0.008)),
        "currency": "CNY",
        **period,
    }


def loan_contract(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    term = int(pick((6, 12, 24, 36), rng))
    start = max(doc.submitted - dt.timedelta(days=int(rng.integers(10, term * 30 - 10))), h.registered)
    return {
        "document_number": f"LN{start:%Y}{number(doc.row, 10, 2_000_000_011)}",
        "issuer": f"{h.city} {pick(LENDERS, rng)}",
        "recipient": h.name,
        "principal": money(round(doc.revenue * uniform(rng, 1, 6), -3) + 10_000),
        "term_months": term,
        "currency": "CNY",
        "period_start": start,
        "period_end": months_after(start, term),
        "issue_date": max(start - dt.timedelta(days=int(rng.integers(0, 11))), h.registered),
    }


def customs_declaration(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    name, lo, hi = pick(GOODS["sells"][h.segment], rng)
    value = money(doc.revenue * uniform(rng, 0.2, 1.0))
    declared = doc.submitted - dt.timedelta(days=int(rng.integers(5, 121)))
    return {
        "document_number": f"{number(doc.row, 4, 2_201)}{declared:%Y}{number(doc.row, 10, 1_000_000_007)}",
        "issuer": pick(CUSTOMS, rng),
        "recipient": h.name,
        "goods": name,
        "hs_code": f"{number(doc.row, 4, 1_901)}.{number(doc.row, 2, 10)}.{number(doc.row, 4, 9)}",
        "quantity": max(1, int(round(value / uniform(rng, lo, hi)))),
        "declared_value": value,
        "currency": "CNY",
        "issue_date": declared,
    }


def supply_contract(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    return {
        "document_number": f"SC-{doc.submitted.year}-{number(doc.row, 6, 404_011)}",
        "issuer": company(h, rng),
        "recipient": h.name,
        "goods": pick(GOODS["sells"][h.segment], rng)[0],
        "contract_value": money(round(12 * doc.revenue * uniform(rng, 0.3, 0.5), -2)),
        "currency": "CNY",
        **lease_period(doc, (1, 2), rng),
    }


def warehouse_receipt(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    name, lo, hi = pick(GOODS["sells" if h.segment == "farmer" else "buys"][h.segment], rng)
    value = money(doc.revenue * uniform(rng, 0.5, 3.0))
    start = doc.submitted - dt.timedelta(days=int(rng.integers(5, 121)))
    fields = {
        "document_number": f"WR{start:%Y}{number(doc.row, 7, 6_000_001)}",
        "issuer": f"{h.city} {pick(BRAND_WORDS, rng)} Cold Chain and Storage Co., Ltd.",
        "recipient": h.name,
        "goods": name,
        "quantity": max(1, int(round(value / uniform(rng, lo, hi)))),
        "goods_value": value,
        "currency": "CNY",
        "period_start": start,
        "period_end": doc.submitted + dt.timedelta(days=int(rng.integers(15, 241))),
        "issue_date": start,
    }
    if rng.random() < 0.6:
        fields["storage_fee"] = money(value * uniform(rng, 0.005, 0.02))
    return fields


def agricultural_subsidy_notice(doc: Doc, rng: np.random.Generator) -> dict:
    h = doc.h
    area = max(1, int(round(doc.revenue / uniform(rng, 600, 1200))))
    issue = max(doc.submitted - dt.timedelta(days=int(rng.integers(10, 201))), h.registered)
    return {
        "document_number": f"{h.district[:2].upper()}NY{issue:%Y}{number(doc.row, 5, 10_007)}",
        "issuer": f"{h.district} County Bureau of Agriculture and Rural Affairs",
        "recipient": h.owner if h.name == h.owner else h.name,
        "area_mu": area,
        "subsidy_amount": money(area * uniform(rng, 90, 160)),
        "currency": "CNY",
        "issue_date": issue,
    }


DRAWERS = {
    "business_licence": business_licence,
    "food_permit": food_permit,
    "shop_lease": shop_lease,
    "land_lease": land_lease,
    "utility_bill": utility_bill,
    "payroll": payroll,
    "purchase_invoice": purchase_invoice,
    "sales_invoice": sales_invoice,
    "tax_return": tax_return,
    "bank_statement": bank_statement,
    "social_insurance": social_insurance,
    "equipment_purchase": equipment_purchase,
    "platform_settlement": platform_settlement,
    "distribution_agreement": distribution_agreement,
    "retail_receipt": retail_receipt,
    "pos_slip": pos_slip,
    "e_invoice": e_invoice,
    "credit_note": credit_note,
    "purchase_order": purchase_order,
    "delivery_note": delivery_note,
    "insurance_policy": insurance_policy,
    "loan_contract": loan_contract,
    "customs_declaration": customs_declaration,
    "supply_contract": supply_contract,
    "warehouse_receipt": warehouse_receipt,
    "agricultural_subsidy_notice": agricultural_subsidy_notice,
}
