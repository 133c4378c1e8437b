"""Vouchers: the business documents small-business owners hand over to the lender, as PDFs, with their truth.

A share of entities (more of the better ones) hand over a bundle of documents on a day in the window, the types and
counts set per segment by the taxonomy (`schemas/vouchers/taxonomy.yaml`); some come back a second time with fresh
monthly documents. Amounts follow the entity's true monthly revenue and size. Worse entities tamper more, and subtly:
an amount edited while the total is not, a date moved, another entity's document reused, a document scaled out of
line with the business. Each document is a one-page PDF written with fpdf2 in one of a few layouts, date formats,
amount formats and label synonyms; image vouchers (a phone photo) carry no text layer but come with the upstream
OCR's JSON, a few fields misread at low confidence.

Landing layout, one folder per submission day:

    landing/vouchers/dt=YYYY-MM-DD/<voucher_id>.pdf        the document
    landing/vouchers/dt=YYYY-MM-DD/<voucher_id>.json       metadata sidecar (every voucher)
    landing/vouchers/dt=YYYY-MM-DD/<voucher_id>.ocr.json   the OCR's fields (image vouchers only)

Every draw comes from the generator passed in, in a fixed order, and the PDFs carry a fixed creation date and a
content-derived file id, so one generator state gives byte-identical files. Documents are written one at a time.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import pathlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from fpdf import FPDF
from fpdf.enums import EncryptionMethod

from jobs.vouchers.taxonomy import TAXONOMY_PATH, load_taxonomy  # noqa: F401 - re-exported
from jobs.vouchers.verify import add_years, as_date, broken_rules, cents  # noqa: F401 - re-exported

BAD_KINDS = ("corrupt_pdf", "encrypted_pdf", "bad_sidecar")
TAMPER_KINDS = ("amount_edited", "date_moved", "out_of_line", "reused")
CHINA = dt.timezone(dt.timedelta(hours=8))

HANDING_SHARE = 0.4  # share of entities that hand over documents at all (at average quality)
SECOND_VISIT = 0.3  # share of those who come back later with fresh monthly documents
IMAGE_SHARE = {"farmer": 0.5, "offline_merchant": 0.35, "store": 0.3, "distributor": 0.2, "online_merchant": 0.15}
OCR_ERROR_RATE = 0.06  # share of OCR fields misread
OUT_OF_LINE_FACTOR = (3.2, 4.0)
TRUTH_BATCH = 20_000

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October")
MONTHS += ("November", "December")
DISTRICTS = ("Xuhui", "Chaoyang", "Nanshan", "Tianhe", "Xihu", "Wuhou", "Jianghan", "Gulou", "Yuzhong", "Gusu")
STREETS = ("Renmin", "Jiefang", "Zhongshan", "Heping", "Jianshe", "Xinhua", "Wenhua", "Changjiang", "Huaihai", "Binhe")
BRAND_WORDS = ("Huaxin", "Jinfeng", "Hongda", "Xinyuan", "Tianrui", "Dongsheng", "Kangda", "Fuli", "Yongxing", "Ruitai")
TRADES = ("Trading", "Foods", "Packaging", "Agricultural Supplies", "Logistics", "Supply Chain", "Commerce")
BANKS = (
    "Industrial and Commercial Bank of China",
    "China Construction Bank",
    "Agricultural Bank of China",
    "Bank of China",
    "China Merchants Bank",
    "Postal Savings Bank of China",
)
PLATFORMS = ("Zhejiang Tmall Network Co., Ltd.", "JD.com Trade Co., Ltd.", "Pinduoduo", "Douyin E-commerce")
BRANDS = ("Greenfield Dairy Co., Ltd.", "Sunrise Beverage Group", "Golden Grain Foods Co., Ltd.", "Clearwater Drinks")
SHOP_NAMES = {
    "online_merchant": ("E-commerce Studio", "Online Shop", "Trading Studio"),
    "offline_merchant": ("Noodle House", "Fruit Shop", "Convenience Store", "Bakery", "Tea House"),
    "farmer": ("Family Farm", "Planting Cooperative", "Orchard"),
    "distributor": ("Trading Co., Ltd.", "Commerce and Trade Co., Ltd.", "Supply Chain Co., Ltd."),
    "store": ("Supermarket", "Grocery Store", "Mini Mart"),
}
GOODS = {  # (item, unit price range) for invoices: what the segment buys and sells
    "buys": {
        "online_merchant": (
            ("Packaging cartons (100)", 60, 180),
            ("Apparel stock lot", 800, 4000),
            ("Phone cases (50)", 150, 600),
        ),
        "offline_merchant": (
            ("Cooking oil 5L", 60, 120),
            ("Rice 25kg", 90, 160),
            ("Disposable tableware (case)", 40, 120),
        ),
        "farmer": (("Compound fertiliser 50kg", 120, 220), ("Maize seed 1kg", 30, 90), ("Pesticide 1L", 40, 160)),
        "distributor": (
            ("Beverage (case of 24)", 40, 90),
            ("Dairy drinks (case)", 50, 110),
            ("Snack assortment (case)", 60, 150),
        ),
        "store": (("Bottled water (24x550ml)", 18, 30), ("Instant noodles (case)", 40, 70), ("Detergent 2kg", 20, 45)),
    },
    "sells": {
        "online_merchant": (("T-shirts", 30, 120), ("Phone accessories", 15, 80), ("Home textiles", 40, 200)),
        "offline_merchant": (
            ("Catering (group order)", 200, 2000),
            ("Fruit baskets", 80, 300),
            ("Baked goods (order)", 100, 800),
        ),
        "farmer": (("Rice (tonne)", 2500, 4000), ("Vegetables (tonne)", 1500, 4000), ("Maize (tonne)", 2000, 2800)),
        "distributor": (
            ("Beverage (case of 24)", 50, 110),
            ("Dairy drinks (case)", 60, 130),
            ("Snack assortment (case)", 70, 170),
        ),
        "store": (("Groceries (company order)", 200, 1500), ("Office supplies", 100, 800), ("Gift boxes", 150, 600)),
    },
}
SERVICES = (("Courier services", 200, 3000), ("Online advertising", 500, 5000), ("Equipment maintenance", 300, 2000))
EQUIPMENT = {
    "offline_merchant": (
        ("Commercial oven", 8000, 30000),
        ("Display freezer", 3000, 9000),
        ("Espresso machine", 6000, 20000),
    ),
    "farmer": (
        ("Tractor 504 (50 HP)", 40000, 90000),
        ("Rice transplanter", 20000, 60000),
        ("Grain dryer", 30000, 120000),
    ),
    "distributor": (
        ("Light truck 4.2m", 80000, 150000),
        ("Forklift 3t", 40000, 90000),
        ("Cold room 20m3", 30000, 80000),
    ),
    "store": (("Display freezer", 3000, 9000), ("Shelving system", 5000, 20000), ("POS terminal set", 2000, 6000)),
}
FOOD_ITEMS = (
    "Prepackaged food sales",
    "Bulk food sales",
    "Catering services (hot meals)",
    "Bakery products (made on site)",
)


# ---------------------------------------------------------------------------------------------------------------
# Taxonomy and rules


# load_taxonomy, broken_rules and the rule evaluation live in jobs.vouchers (one implementation of the rules).


# ---------------------------------------------------------------------------------------------------------------
# Formats


def format_date(day: dt.date, pattern: str) -> str:
    """A date in one of the taxonomy's patterns (English month names whatever the locale)."""
    month = MONTHS[day.month - 1]
    return {
        "%Y-%m-%d": f"{day:%Y-%m-%d}",
        "%d/%m/%Y": f"{day:%d/%m/%Y}",
        "%-d %b %Y": f"{day.day} {month[:3]} {day.year}",
        "%Y.%m.%d": f"{day:%Y.%m.%d}",
        "%Y/%m/%d": f"{day:%Y/%m/%d}",
        "%B %d, %Y": f"{month} {day:%d}, {day.year}",
    }[pattern]


def format_amount(x: float, pattern: str) -> str:
    """An amount in one of the taxonomy's patterns, named by how 1234.50 prints."""
    grouped, plain = f"{x:,.2f}", f"{x:.2f}"
    return {
        "1,234.50": grouped,
        "1234.50": plain,
        "CNY 1,234.50": f"CNY {grouped}",
        "RMB 1,234.50": f"RMB {grouped}",
        "\u00a51,234.50": f"\u00a5{grouped}",
        "1,234.50 CNY": f"{grouped} CNY",
        "1234.5": plain.rstrip("0").rstrip("."),
    }[pattern]


def format_value(value, kind: str, name: str, style: Style) -> str:
    if kind == "date":
        return format_date(as_date(value), style.date_format)
    if kind == "amount":
        return format_amount(float(value), style.amount_format)
    if name == "vat_rate":
        return f"{value}%"
    return str(value)


@dataclass(frozen=True)
class Style:
    """How one document is printed: layout (0 form, 1 letterhead, 2 grid), formats, title and label choices."""

    layout: int
    date_format: str
    amount_format: str
    title: str
    label_pick: int  # labels are chosen as labels[(label_pick + position) % len(labels)]


def draw_style(voucher_type: str, rng: np.random.Generator) -> Style:
    tax = load_taxonomy()
    spec = tax["types"][voucher_type]
    return Style(
        layout=int(rng.integers(0, 3)),
        date_format=tax["date_formats"][rng.integers(0, len(tax["date_formats"]))],
        amount_format=tax["amount_formats"][rng.integers(0, len(tax["amount_formats"]))],
        title=spec["titles"][rng.integers(0, len(spec["titles"]))],
        label_pick=int(rng.integers(0, 12)),
    )


def printed_fields(voucher_type: str, fields: dict, style: Style) -> list[tuple[str, str, str, str]]:
    """(name, type, label, printed text) of each field the document carries, in taxonomy order."""
    rows = []
    for i, spec in enumerate(load_taxonomy()["types"][voucher_type]["fields"]):
        if spec["name"] in fields:
            label = spec["labels"][(style.label_pick + i) % len(spec["labels"])]
            rows.append(
                (
                    spec["name"],
                    spec["type"],
                    label,
                    format_value(fields[spec["name"]], spec["type"], spec["name"], style),
                )
            )
    return rows


# ---------------------------------------------------------------------------------------------------------------
# PDF


class VoucherPDF(FPDF):
    """A one-page PDF with core fonts and a fixed creation date, so the same content gives the same bytes."""

    def __init__(self, created: dt.datetime, fmt="A4", unit="mm"):
        super().__init__(format=fmt, unit=unit)
        self.set_creation_date(created)
        self.set_auto_page_break(False)
        self.set_producer("Helicopter voucher simulator")


def line_items_table(pdf: FPDF, lines: list[dict], style: Style) -> None:
    heads = [("Description", "Item", "Goods or Services")[style.label_pick % 3], "Qty", "Unit Price", "Amount"]
    widths = (85, 20, 35, 40)
    pdf.set_font("Helvetica", "B", 9)
    for w, h in zip(widths, heads):
        pdf.cell(w, 6, h, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for line in lines:
        cells = (line["name"], str(line["qty"]), format_amount(line["unit_price"], style.amount_format))
        cells += (format_amount(line["amount"], style.amount_format),)
        for w, text in zip(widths, cells):
            pdf.cell(w, 6, text, border=1, align="L" if w == 85 else "R")
        pdf.ln()


def draw_form(pdf: FPDF, rows: list, lines: list | None, style: Style) -> None:
    """Layout 0: centred title, one `Label: value` line per field, line items at the end."""
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 12, style.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 10)
    for _, _, label, text in rows:
        pdf.cell(0, 7, f"{label}: {text}", new_x="LMARGIN", new_y="NEXT")
    if lines:
        pdf.ln(4)
        line_items_table(pdf, lines, style)


def draw_letterhead(pdf: FPDF, rows: list, lines: list | None, style: Style) -> None:
    """Layout 1: issuer as letterhead, number and date top right, body fields, line items, totals right-aligned."""
    by_name = {r[0]: r for r in rows}
    head = [by_name[n] for n in ("document_number", "issue_date") if n in by_name]
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 8, by_name["issuer"][3] if "issuer" in by_name else "", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    for _, _, label, text in head:
        pdf.cell(0, 5, f"{label} {text}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, style.title.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    body = [r for r in rows if r[0] not in ("issuer", "document_number", "issue_date") and r[1] != "amount"]
    for _, _, label, text in body:
        pdf.cell(55, 6, label)
        pdf.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    if lines:
        pdf.ln(3)
        line_items_table(pdf, lines, style)
    pdf.ln(4)
    for _, _, label, text in (r for r in rows if r[1] == "amount"):
        pdf.cell(120, 6, label, align="R")
        pdf.cell(0, 6, text, align="R", new_x="LMARGIN", new_y="NEXT")


def draw_grid(pdf: FPDF, rows: list, lines: list | None, style: Style) -> None:
    """Layout 2: a bordered grid, two label/value pairs per row, line items below."""
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, style.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 8)
    pending = []  # short fields wait for a partner; a long one takes a whole row
    for row in rows + [None]:
        if row is None or len(row[3]) > 30 or len(pending) == 2:
            for _, _, label, text in pending:
                pdf.cell(35, 7, label, border=1)
                pdf.cell(60, 7, text, border=1)
            if pending:
                pdf.ln()
            pending = []
        if row is not None and len(row[3]) > 30:
            pdf.cell(35, 7, row[2], border=1)
            pdf.cell(155, 7, row[3], border=1, new_x="LMARGIN", new_y="NEXT")
        elif row is not None:
            pending.append(row)
    if lines:
        pdf.ln(4)
        line_items_table(pdf, lines, style)


LAYOUTS = (draw_form, draw_letterhead, draw_grid)


def text_pdf(voucher_type: str, fields: dict, style: Style, created: dt.datetime, password: str | None = None) -> bytes:
    """The document as a one-page PDF with a text layer; RC4-encrypted (deterministically) when `password` is set."""
    pdf = VoucherPDF(created)
    if password is not None:
        pdf.set_encryption(
            owner_password=password + "-owner", user_password=password, encryption_method=EncryptionMethod.RC4
        )
    pdf.add_page()
    LAYOUTS[style.layout](pdf, printed_fields(voucher_type, fields, style), fields.get("lines"), style)
    return bytes(pdf.output())


def image_pdf(shade: int, created: dt.datetime, password: str | None = None) -> bytes:
    """A phone photo of the document as the lender receives it: one page the photo's size, no text layer.

    The photo itself is stood in for by a grey panel (no embedded image keeps files small and fast); its content
    reaches the lender through the OCR sidecar.
    """
    pdf = VoucherPDF(created, fmt=(756, 1008), unit="pt")
    if password is not None:
        pdf.set_encryption(
            owner_password=password + "-owner", user_password=password, encryption_method=EncryptionMethod.RC4
        )
    pdf.add_page()
    pdf.set_fill_color(shade, shade, shade - 10)
    pdf.rect(36, 48, 684, 912, style="F")
    return bytes(pdf.output())


# ---------------------------------------------------------------------------------------------------------------
# OCR


def misread(text: str, rng: np.random.Generator) -> str:
    """One plausible OCR error: two adjacent digits swapped, or O for 0, l for 1, S for 5, B for 8."""
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    if not digits:
        return text + "."
    i = digits[rng.integers(0, len(digits))]
    nxt = i + 1
    if rng.random() < 0.5 and nxt < len(text) and text[nxt].isdigit() and text[nxt] != text[i]:
        return text[:i] + text[nxt] + text[i] + text[nxt + 1 :]
    swap = {"0": "O", "1": "l", "5": "S", "8": "B"}
    return text[:i] + swap.get(text[i], "O" if text[i] == "6" else "?") + text[i + 1 :]


def ocr_fields(rows: list, rng: np.random.Generator) -> tuple[list[dict], list[str]]:
    """The OCR's [{name, value, confidence}] for the printed fields, and the names of the fields it misread."""
    out, wrong = [], []
    for name, _, _, text in rows:
        if rng.random() < OCR_ERROR_RATE:
            out.append(
                {"name": name, "value": misread(text, rng), "confidence": round(float(rng.uniform(0.3, 0.75)), 3)}
            )
            wrong.append(name)
        else:
            out.append({"name": name, "value": text, "confidence": round(float(rng.uniform(0.86, 0.995)), 3)})
    return out, wrong


# ---------------------------------------------------------------------------------------------------------------
# Who hands over what, and when


@dataclass(frozen=True)
class Holder:
    """The submitting entity as documents see it."""

    index: int
    entity_id: str
    segment: str
    quality: float
    size: float
    revenue: float  # true expected monthly sales, CNY
    registered: dt.date
    owner: str
    name: str
    city: str
    district: str
    address: str
    small_scale: bool  # small-scale VAT taxpayer: invoices at 3 %


def business_names(entities: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """The entity's business name, or one built from the owner's surname, the city and the trade."""
    given = entities["business_name"] if "business_name" in entities else pd.Series(None, index=entities.index)
    picks = rng.integers(0, 5, len(entities))
    built = [
        f"{city} {owner.split()[0]} {SHOP_NAMES[seg][k % len(SHOP_NAMES[seg])]}" if seg in SHOP_NAMES else owner
        for city, owner, seg, k in zip(entities["city"], entities["owner_name"], entities["segment"], picks)
    ]
    return np.where(
        given.isna().to_numpy() | (given.astype(str) == ""), np.array(built, dtype=object), given.to_numpy(object)
    )


def holders(entities: pd.DataFrame, rng: np.random.Generator) -> list[Holder]:
    n = len(entities)
    names = business_names(entities, rng)
    district = rng.integers(0, len(DISTRICTS), n)
    number, street = rng.integers(1, 400, n), rng.integers(0, len(STREETS), n)
    small = rng.random(n) < np.where(entities["size"].to_numpy(float) < 3.0, 0.8, 0.3)
    return [
        Holder(
            index=i,
            entity_id=str(e.entity_id),
            segment=str(e.segment),
            quality=float(e.quality),
            size=float(e.size),
            revenue=max(float(e.monthly_revenue), 1000.0),
            registered=as_date(e.registered_date),
            owner=str(e.owner_name),
            name=str(names[i]),
            city=str(e.city),
            district=DISTRICTS[district[i]],
            address=f"No. {number[i]}, {STREETS[street[i]]} Road, {DISTRICTS[district[i]]} District, {e.city}",
            small_scale=bool(small[i]),
        )
        for i, e in enumerate(entities.itertuples(index=False))
    ]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def plan_vouchers(people: list[Holder], start: dt.date, days: int, rng: np.random.Generator) -> pd.DataFrame:
    """One row per document: holder index, type, submission date, seq (months back, or invoice k), share of flows.

    Better entities hand over documents more often; a second visit brings only the recurring documents again.
    """
    types = load_taxonomy()["types"]
    end = start + dt.timedelta(days=days - 1)
    rows = []
    for h in people:
        if h.segment not in IMAGE_SHARE or h.registered >= end:
            continue
        if rng.random() >= sigmoid(np.log(HANDING_SHARE / (1 - HANDING_SHARE)) + 0.6 * h.quality):
            continue
        visits = 2 if rng.random() < SECOND_VISIT else 1
        first = max(int(rng.integers(0, days)), (h.registered - start).days + 1)
        days_of_visits = sorted({first, *(int(rng.integers(first, days)) for _ in range(visits - 1))})
        for visit, offset in enumerate(days_of_visits):
            submitted = start + dt.timedelta(days=offset)
            for name, spec in types.items():
                p = spec["segments"].get(h.segment, 0.0)
                if (visit > 0 and spec["frequency"] == "once") or rng.random() >= p:
                    continue
                lo, hi = spec["count"]
                k = int(rng.integers(lo, hi + 1))
                shares = rng.dirichlet(np.full(k, 3.0)) if spec["frequency"] == "several" else np.ones(k)
                rows += [(h.index, name, submitted, seq + 1, float(shares[seq])) for seq in range(k)]
    plan = pd.DataFrame(rows, columns=["holder", "voucher_type", "submitted_date", "seq", "share"])
    plan = plan.sort_values(["submitted_date", "holder", "voucher_type", "seq"], kind="stable", ignore_index=True)
    plan["voucher_id"] = [f"V{i + 1:08d}" for i in range(len(plan))]
    return plan


def draw_tampering(plan: pd.DataFrame, people: list[Holder], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Tamper kind per document (None when clean) and the row a reused copy copies (-1 otherwise).

    Worse entities tamper more; the kind is drawn among those the type allows; a reused copy takes an earlier
    document of the same type from another entity (none available: the document stays clean).
    """
    types = load_taxonomy()["types"]
    quality = np.array([people[i].quality for i in plan["holder"]])
    tampered = rng.random(len(plan)) < sigmoid(-3.2 - 0.9 * quality)
    pick = rng.random(len(plan))
    kinds = np.full(len(plan), None, dtype=object)
    source = np.full(len(plan), -1, dtype=np.int64)
    seen: dict[str, list[int]] = {}
    holder, vtype = plan["holder"].to_numpy(), plan["voucher_type"].to_numpy()
    for i in range(len(plan)):
        allowed = [k for k in TAMPER_KINDS if k in types[vtype[i]]["tamper"]]
        earlier = seen.setdefault(vtype[i], [])
        if tampered[i]:
            kind = allowed[int(pick[i] * len(allowed))]
            if kind == "reused":
                j = earlier[int(rng.integers(0, len(earlier)))] if earlier else -1
                if j < 0 or holder[j] == holder[i]:
                    kind = None
                source[i] = j if kind else -1
            kinds[i] = kind
        earlier.append(i)
    return kinds, source


# ---------------------------------------------------------------------------------------------------------------
# Field values per type


def number(i: int, digits: int, salt: int) -> str:
    """A `digits`-long number unique per i (an affine bijection modulo 10**digits)."""
    return f"{(i * 7_394_911 + salt) % 10**digits:0{digits}d}"


def money(x: float) -> float:
    return round(float(x), 2)


def month_back(submitted: dt.date, k: int) -> tuple[dt.date, dt.date]:
    """First and last day of the k-th full calendar month before the submission's month."""
    y, m = divmod(submitted.year * 12 + submitted.month - 1 - k, 12)
    return dt.date(y, m + 1, 1), dt.date(y, m + 1, calendar.monthrange(y, m + 1)[1])


def last_quarter(submitted: dt.date) -> tuple[dt.date, dt.date]:
    q = (submitted.month - 1) // 3
    y, q = (submitted.year, q - 1) if q > 0 else (submitted.year - 1, 3)
    return dt.date(y, 3 * q + 1, 1), dt.date(y, 3 * q + 3, calendar.monthrange(y, 3 * q + 3)[1])


def after(day: dt.date, lo: int, hi: int, cap: dt.date, rng: np.random.Generator) -> dt.date:
    return min(day + dt.timedelta(days=int(rng.integers(lo, hi + 1))), cap)


def uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def company(h: Holder, rng: np.random.Generator) -> str:
    return f"{h.city} {BRAND_WORDS[rng.integers(0, len(BRAND_WORDS))]} {TRADES[rng.integers(0, len(TRADES))]} Co., Ltd."


def bank(h: Holder) -> str:
    return f"{BANKS[h.index % len(BANKS)]}, {h.city} {h.district} Sub-branch"


@dataclass(frozen=True)
class Doc:
    """What a document is drawn from: its holder, submission day, seq, share of the month's flows, revenue."""

    h: Holder
    row: int
    submitted: dt.date
    seq: int
    share: float
    revenue: float  # the holder's monthly revenue, scaled when the document is out of line


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
    credits = money(doc.revenue * uniform(rng, 0.8, 1.2))
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
    sales = money(3 * doc.revenue * uniform(rng, 0.85, 1.1))
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
    gross = money(doc.revenue * uniform(rng, 0.8, 1.2))
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
}


# ---------------------------------------------------------------------------------------------------------------
# Tampering


def own_value(field: str, h: Holder) -> str:
    return {"legal_representative": h.owner, "address": h.address}.get(field, h.name)


def reuse(source: dict, voucher_type: str, h: Holder) -> dict:
    """Another entity's document with only the fields that name its holder swapped for `h`'s."""
    own = [f["name"] for f in load_taxonomy()["types"][voucher_type]["fields"] if f.get("own")]
    return source | {name: own_value(name, h) for name in own if name in source}


def move_date(fields: dict, strategy: str, doc: Doc, rng: np.random.Generator) -> dict:
    """A date edited so one date rule breaks, the rest of the document untouched."""
    days = dt.timedelta(days=int(rng.integers(3, 46)))
    if strategy == "issue_after_submission":
        return fields | {"issue_date": doc.submitted + days}
    if strategy == "period_shift":
        shift = doc.submitted - fields["period_start"] + dt.timedelta(days=int(rng.integers(30, 181)))
        return fields | {"period_start": fields["period_start"] + shift, "period_end": fields["period_end"] + shift}
    if strategy == "registration_backdated":
        return fields | {
            "registered_date": fields["registered_date"] - dt.timedelta(days=int(rng.integers(365, 5 * 365)))
        }
    if strategy == "expiry_extended":
        return fields | {
            "expiry_date": add_years(fields["issue_date"], int(rng.integers(8, 11))) - dt.timedelta(days=1)
        }
    raise ValueError(f"unknown date strategy {strategy!r}")


def edit_amount(fields: dict, field: str, rng: np.random.Generator) -> dict:
    """One amount inflated by 10-60 % while the amounts it adds up with are left as they were."""
    return fields | {field: money(fields[field] * uniform(rng, 1.1, 1.6) + 1)}


# ---------------------------------------------------------------------------------------------------------------
# Files and truth

TRUTH_SCHEMA = pa.schema(
    [
        ("voucher_id", pa.string()),
        ("entity_id", pa.string()),
        ("voucher_type", pa.string()),
        ("submitted_date", pa.date32()),
        ("document_number", pa.string()),
        ("issue_date", pa.date32()),
        ("amount", pa.float64()),  # the type's headline amount, null when the type has none
        ("currency", pa.string()),
        ("image", pa.bool_()),
        ("tampered", pa.bool_()),
        ("tamper_kind", pa.string()),
        ("reused_from", pa.string()),
        ("broken_rules", pa.list_(pa.string())),
        ("bad_input", pa.string()),
        ("layout", pa.int32()),
        ("date_format", pa.string()),
        ("amount_format", pa.string()),
        ("ocr_error_fields", pa.list_(pa.string())),
        ("fields", pa.string()),  # JSON of the values printed on the document: dates ISO, amounts numbers
        ("source", pa.string()),
        ("path", pa.string()),
    ]
)


def fields_json(fields: dict) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=lambda d: d.isoformat())


def sidecar_json(voucher_id: str, entity_id: str, voucher_type: str, submitted_at: str, image: bool) -> str:
    meta = {
        "voucher_id": voucher_id,
        "entity_id": entity_id,
        "declared_type": voucher_type,
        "submitted_at": submitted_at,
        "file_name": f"{voucher_id}.pdf",
        "image": image,
        "ocr_file": f"{voucher_id}.ocr.json" if image else None,
    }
    return json.dumps(meta, indent=2) + "\n"


def write_files(folder: pathlib.Path, voucher_id: str, pdf: bytes, sidecar: str | None, ocr: str | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{voucher_id}.pdf").write_bytes(pdf)
    if sidecar is not None:
        (folder / f"{voucher_id}.json").write_text(sidecar, encoding="utf-8")
    if ocr is not None:
        (folder / f"{voucher_id}.ocr.json").write_text(ocr, encoding="utf-8")


def break_sidecar(sidecar: str, rng: np.random.Generator) -> str | None:
    """Missing (None) or cut short mid-way so it no longer parses."""
    return None if rng.random() < 0.5 else sidecar[: int(len(sidecar) * uniform(rng, 0.2, 0.8))]


def validate(entities: pd.DataFrame, days: int, bad_rate: float) -> None:
    need = {"entity_id", "segment", "quality", "size", "monthly_revenue", "registered_date", "owner_name", "city"}
    if missing := need - set(entities.columns):
        raise ValueError(f"entities lack columns {sorted(missing)}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if not 0.0 <= bad_rate < 1.0:
        raise ValueError(f"bad_rate must be in [0, 1), got {bad_rate}")


def write_vouchers(
    entities: pd.DataFrame, start: dt.date, days: int, bad_rate: float, rng: np.random.Generator, out: pathlib.Path
) -> tuple[pa.Table, dict[str, int]]:
    """Write landing/vouchers under `out`; return (truth vouchers table, {bad kind: count})."""
    validate(entities, days, bad_rate)
    tax = load_taxonomy()["types"]
    people = holders(entities.reset_index(drop=True), rng)
    plan = plan_vouchers(people, start, days, rng)
    kinds, source = draw_tampering(plan, people, rng)
    needed = set(source[source >= 0].tolist())
    kept: dict[int, dict] = {}  # drawn fields of documents a later copy reuses
    counts = dict.fromkeys(BAD_KINDS, 0)
    batches, rows = [], []
    for i, p in enumerate(plan.itertuples(index=False)):
        h, vtype, kind, submitted = people[p.holder], p.voucher_type, kinds[i], p.submitted_date
        scale = 1.0
        if kind == "out_of_line":
            scale = uniform(rng, *OUT_OF_LINE_FACTOR) ** (1 if rng.random() < 0.5 else -1)
        doc = Doc(h, i, submitted, int(p.seq), float(p.share), h.revenue * scale)
        fields = DRAWERS[vtype](doc, rng)
        if kind == "reused":
            fields = reuse(kept[source[i]], vtype, h)
        elif kind == "amount_edited":
            fields = edit_amount(fields, tax[vtype]["tamper"]["amount_edited"], rng)
        elif kind == "date_moved":
            fields = move_date(fields, tax[vtype]["tamper"]["date_moved"], doc, rng)
        if i in needed:
            kept[i] = fields
        broken = broken_rules(vtype, fields, submitted, h.revenue, h.registered)
        if kind == "reused":
            broken.append("unique_across_entities:document_number")

        image = bool(rng.random() < IMAGE_SHARE[h.segment])
        style = draw_style(vtype, rng)
        bad = BAD_KINDS[int(rng.integers(0, 3))] if rng.random() < bad_rate else None
        password = f"{int(rng.integers(0, 10**6)):06d}" if bad == "encrypted_pdf" else None
        created = dt.datetime.combine(as_date(fields["issue_date"]), dt.time(9, 30), tzinfo=CHINA)
        rows_printed = printed_fields(vtype, fields, style)
        ocr, misread_names = None, None
        if image:
            shade = int(rng.integers(200, 246))
            pdf = image_pdf(shade, created, password)
            ocr_list, misread_names = ocr_fields(rows_printed, rng)
            ocr_doc = {"voucher_id": p.voucher_id, "engine": "upstream-ocr 3.2", "pages": 1, "fields": ocr_list}
            ocr = json.dumps(ocr_doc, indent=2) + "\n"
        else:
            pdf = text_pdf(vtype, fields, style, created, password)
        if bad == "corrupt_pdf":
            pdf = pdf[: int(len(pdf) * uniform(rng, 0.2, 0.8))]
        seconds = int(rng.integers(8 * 3600, 23 * 3600))
        submitted_at = (
            f"{submitted.isoformat()}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}+08:00"
        )
        sidecar = sidecar_json(p.voucher_id, h.entity_id, vtype, submitted_at, image)
        if bad == "bad_sidecar":
            sidecar = break_sidecar(sidecar, rng)
        if bad is not None:
            counts[bad] += 1
        folder = out / "landing" / "vouchers" / f"dt={submitted.isoformat()}"
        write_files(folder, p.voucher_id, pdf, sidecar, ocr)

        headline = tax[vtype]["headline"]
        rows.append(
            {
                "voucher_id": p.voucher_id,
                "entity_id": h.entity_id,
                "voucher_type": vtype,
                "submitted_date": submitted,
                "document_number": fields["document_number"],
                "issue_date": as_date(fields["issue_date"]),
                "amount": fields.get(headline) if headline else None,
                "currency": "CNY",
                "image": image,
                "tampered": kind is not None,
                "tamper_kind": kind,
                "reused_from": plan["voucher_id"].iat[source[i]] if kind == "reused" else None,
                "broken_rules": broken,
                "bad_input": bad,
                "layout": style.layout,
                "date_format": style.date_format,
                "amount_format": style.amount_format,
                "ocr_error_fields": misread_names,
                "fields": fields_json(fields),
                "source": "simulated",
                "path": f"landing/vouchers/dt={submitted.isoformat()}/{p.voucher_id}.pdf",
            }
        )
        if len(rows) == TRUTH_BATCH:
            batches.append(pa.RecordBatch.from_pylist(rows, schema=TRUTH_SCHEMA))
            rows = []
    batches.append(pa.RecordBatch.from_pylist(rows, schema=TRUTH_SCHEMA))
    return pa.Table.from_batches(batches, schema=TRUTH_SCHEMA), counts
