"""Verification of extracted vouchers: the taxonomy's rules, the required fields, plausibility, the entity's
behaviour (its revenue as the lakehouse saw it, with its uncertainty) and reuse across entities.

A voucher ends `verified` (every check it could run held), `suspicious` (a rule broke on fields read with confidence,
or the document was handed over before by another entity) or `unreadable` (the file could not be read, a required
field is missing, or a broken rule rests on a field read with low confidence: a re-scan decides). Reasons are short
strings, e.g. `broken rule sum:amount_total`, `missing field issue_date`, `reused: same document as V00000012 of
another entity`. Checks beyond the taxonomy's rules read `broken rule plausible:vat_rate` (a VAT rate no tax uses, a
date before 1980) and `broken rule behaviour:amount_total` (an invoice or payroll beyond what the entity's monthly
revenue can carry; rent, bills, statements and supply contracts are the taxonomy's in_line rules).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from jobs.documents.taxonomy import field_specs, load_taxonomy
from jobs.errors import ContractError

LOW_CONFIDENCE = 0.8  # a field read below this is not trusted to break a rule
TAX_RATES = (0, 1, 3, 5, 6, 9, 10, 13, 14, 16, 17, 19, 20, 21, 25)  # VAT rates plausibly printed (percent)
EARLIEST_DATE = dt.date(1980, 1, 1)
BEYOND_THE_BUSINESS = {  # type: (amount field, most months of the entity's revenue one document may plausibly hold)
    "purchase_invoice": ("amount_total", 12.0),  # a farmer sells a harvest on one invoice: a year, not a month
    "sales_invoice": ("amount_total", 12.0),
    "e_invoice": ("amount_total", 12.0),
    "equipment_purchase": ("amount_total", 36.0),  # a tractor is bought once in years
    "payroll": ("gross_pay", 15.0),  # generous: a payroll is set by headcount, not sales
}
VERIFIED, SUSPICIOUS, UNREADABLE = "verified", "suspicious", "unreadable"
STANDARD_ERRORS = 2.0  # a revenue is known within this many of its standard errors (about 95%)


@dataclass(frozen=True)
class Revenue:
    """An entity's monthly revenue as the lakehouse saw it, and its spread: the relative standard error of that
    level, as the months seen differ from one another (0 when the document is judged against the very period its
    amounts report)."""

    monthly: float
    spread: float = 0.0

    def band(self) -> tuple[float, float]:
        """The monthly revenues the sales seen are consistent with: STANDARD_ERRORS of its spread either side, on a
        ratio scale (a revenue is never below zero)."""
        k = 1.0 + STANDARD_ERRORS * self.spread
        return self.monthly / k, self.monthly * k

    def scaled(self, factor: float) -> Revenue:
        return Revenue(self.monthly * factor, self.spread)


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def cents(x: float) -> int:
    return int(round(float(x) * 100))


def as_date(x) -> dt.date:
    """A date from a date, a datetime or pandas Timestamp, or an ISO string."""
    if isinstance(x, dt.datetime):
        return x.date()
    return x if isinstance(x, dt.date) else dt.date.fromisoformat(str(x))


def rule_fields(rule: dict) -> list[str]:
    """The document fields a rule reads."""
    names = []
    for key in ("parts", "plus", "minus"):
        names += rule.get(key, [])
    for key in ("total", "equals", "base", "rate", "tax", "before", "after", "field", "start", "end"):
        if key in rule:
            names.append(rule[key])
    return names


def rule_holds(rule: dict, f: dict, submitted: dt.date, revenue: Revenue | None, registered: dt.date | None) -> bool:
    """Whether one taxonomy rule holds for the field values `f` of a document submitted on `submitted`.

    Sums and balances hold within a cent; a tax within 2 cents of base * rate; an amount is in line when it is for
    some revenue of the entity's band."""
    check = rule["check"]
    if check == "sum":
        return abs(sum(cents(f[p]) for p in rule["parts"]) - cents(f[rule["total"]])) <= 1
    if check == "balance":
        plus = sum(cents(f[p]) for p in rule["plus"])
        return abs(plus - sum(cents(f[m]) for m in rule["minus"]) - cents(f[rule["equals"]])) <= 1
    if check == "tax_rate":
        return abs(cents(f[rule["base"]]) * f[rule["rate"]] / 100 - cents(f[rule["tax"]])) <= 2
    if check == "order":
        before, after = as_date(f[rule["before"]]), as_date(f[rule["after"]])
        return before < after if rule.get("strict") else before <= after
    if check == "not_after_submission":
        return as_date(f[rule["field"]]) <= submitted
    if check == "covers_submission":
        return as_date(f[rule["start"]]) <= submitted <= as_date(f[rule["end"]])
    if check == "matches_entity":
        return as_date(f[rule["field"]]) == registered
    if check == "duration":
        start = as_date(f[rule["start"]])
        return as_date(f[rule["end"]]) == add_years(start, rule["years"]) - dt.timedelta(days=1)
    if check == "in_line":
        least, most = revenue.band()
        return rule["low"] * least <= float(f[rule["field"]]) <= rule["high"] * most
    raise ContractError(f"unknown rule check {check!r}")


def rule_name(rule: dict) -> str:
    """A readable name of a rule, e.g. `sum:amount_total` or `order:period_start<period_end`."""
    check = rule["check"]
    target = {
        "sum": lambda r: r["total"],
        "balance": lambda r: r["equals"],
        "tax_rate": lambda r: r["tax"],
        "order": lambda r: f"{r['before']}<{r['after']}",
        "covers_submission": lambda r: f"{r['start']}..{r['end']}",
        "duration": lambda r: f"{r['start']}..{r['end']}",
    }.get(check, lambda r: r["field"])(rule)
    return f"{check}:{target}"


def revenue_known(revenue: Revenue | None) -> bool:
    return revenue is not None and revenue.monthly > 0


def checkable(rule: dict, values: dict, revenue: Revenue | None, registered: dt.date | None) -> bool:
    """Whether a rule can be evaluated: its fields are known, and so is the entity's value it compares with."""
    if rule["check"] == "in_line" and not revenue_known(revenue):
        return False
    if rule["check"] == "matches_entity" and registered is None:
        return False
    return all(values.get(name) is not None for name in rule_fields(rule))


def broken_rules(
    voucher_type: str, fields: dict, submitted: dt.date, revenue: Revenue | None, registered: dt.date | None
) -> list[str]:
    """Names of the taxonomy rules of `voucher_type` that the field values break (empty for a consistent document).

    Rules that cannot be evaluated (a field unknown, no revenue or registration date to compare with) are skipped."""
    rules = load_taxonomy()["types"][voucher_type]["rules"]
    return [
        rule_name(r)
        for r in rules
        if checkable(r, fields, revenue, registered) and not rule_holds(r, fields, submitted, revenue, registered)
    ]


@dataclass(frozen=True)
class Verdict:
    status: str
    reasons: tuple[str, ...]


def missing_required(voucher_type: str, values: dict) -> list[str]:
    return [s["name"] for s in field_specs(voucher_type) if s.get("required") and values.get(s["name"]) is None]


def implausible(values: dict) -> list[str]:
    """Names of fields beyond belief, whatever the rules say: a VAT rate no tax uses, a date before 1980."""
    names = []
    if values.get("vat_rate") is not None and values["vat_rate"] not in TAX_RATES:
        names.append("vat_rate")
    return names + [n for n, v in values.items() if isinstance(v, dt.date) and v < EARLIEST_DATE]


def beyond_the_business(voucher_type: str, values: dict, revenue: Revenue | None) -> list[str]:
    """Amounts the entity's behaviour cannot carry (invoice totals, payroll against its monthly revenue, at the top
    of its band), beyond the taxonomy's in_line rules (rent, bills, statements, returns, supply contracts); nothing
    when the revenue is unknown."""
    name, months = BEYOND_THE_BUSINESS.get(voucher_type, (None, None))
    if name is None or not revenue_known(revenue) or values.get(name) is None:
        return []
    return [f"behaviour:{name}"] if float(values[name]) > months * revenue.band()[1] else []


def rule_verdicts(voucher_type: str, fields: dict, submitted, revenue, registered) -> tuple[list[str], list[str]]:
    """(rules broken on trusted fields, rules broken where a field was read with low confidence)."""
    values = {name: f["value"] for name, f in fields.items()}
    trusted, doubtful = [], []
    for rule in load_taxonomy()["types"][voucher_type]["rules"]:
        if not checkable(rule, values, revenue, registered) or rule_holds(rule, values, submitted, revenue, registered):
            continue
        low = any(fields[name]["confidence"] < LOW_CONFIDENCE for name in rule_fields(rule))
        (doubtful if low else trusted).append(rule_name(rule))
    return trusted, doubtful


def verify_voucher(
    voucher_type: str,
    fields: dict,
    submitted: dt.date,
    revenue: Revenue | None = None,
    registered: dt.date | None = None,
) -> Verdict:
    """The verdict on one document from its extracted fields ({name: {value, confidence}}; dates as dates).

    `revenue` is the entity's monthly revenue with its spread (for the taxonomy's in_line rules: rent, bills, sales
    against the business), `registered` its registration date in the registry; either may be None (the check is
    skipped)."""
    values = {name: f["value"] for name, f in fields.items()}
    missing = missing_required(voucher_type, values)
    unsure = [m for m in missing if m in fields and fields[m]["confidence"] < LOW_CONFIDENCE]
    reasons = [f"low confidence {m}" for m in unsure] + [f"missing field {m}" for m in missing if m not in unsure]
    if missing:
        return Verdict(UNREADABLE, tuple(reasons))
    trusted, doubtful = rule_verdicts(voucher_type, fields, submitted, revenue, registered)
    for name in implausible(values):
        unsure = fields[name]["confidence"] < LOW_CONFIDENCE
        (doubtful if unsure else trusted).append(f"plausible:{name}")
    for check in beyond_the_business(voucher_type, values, revenue):
        unsure = fields[check.split(":")[1]]["confidence"] < LOW_CONFIDENCE
        (doubtful if unsure else trusted).append(check)
    suspicious = [f"broken rule {r}" for r in trusted]
    if suspicious:
        return Verdict(SUSPICIOUS, tuple(suspicious + [f"broken rule {r} (low confidence)" for r in doubtful]))
    if doubtful:
        return Verdict(UNREADABLE, tuple(f"broken rule {r} (low confidence)" for r in doubtful))
    return Verdict(VERIFIED, ())


def counterparty_field(voucher_type: str) -> str:
    """The party a copy keeps: the issuer, unless the issuer is the submitter itself (a sales invoice, a payroll),
    then the recipient (a reused copy swaps the submitter's own fields for the new one's)."""
    own = {s["name"] for s in field_specs(voucher_type) if s.get("own")}
    return "recipient" if "issuer" in own else "issuer"


def reuse_key(voucher_type: str, document_number, issuer, amount) -> tuple | None:
    """What makes two documents the same: type, number (no spaces), issuing party (case-folded), headline amount."""
    if not document_number or not issuer:
        return None
    amount_cents = None if amount is None else cents(amount)
    number = "".join(str(document_number).split()).upper()
    return (voucher_type, number, " ".join(str(issuer).split()).casefold(), amount_cents)


def reused_documents(docs: list[dict]) -> dict[str, str]:
    """{voucher_id: voucher_id of the first copy} for documents another entity handed over before (a batch check).

    `docs` carry voucher_id, entity_id, voucher_type, submitted_date, document_number, counterparty (the value of
    `counterparty_field`: the issuer, as a rule) and amount (the headline). The first submission of a document (by
    date, then voucher_id) keeps it; a later one from another entity is a reuse."""
    first: dict[tuple, dict] = {}
    reused = {}
    for d in sorted(docs, key=lambda d: (d["submitted_date"], d["voucher_id"])):
        key = reuse_key(d["voucher_type"], d.get("document_number"), d.get("counterparty"), d.get("amount"))
        if key is None:
            continue
        if key not in first:
            first[key] = d
        elif first[key]["entity_id"] != d["entity_id"]:
            reused[d["voucher_id"]] = first[key]["voucher_id"]
    return reused


def with_reuse(verdict: Verdict, first_copy: str | None) -> Verdict:
    """The verdict once the batch check has run: a reused document is suspicious whatever else it shows."""
    if first_copy is None:
        return verdict
    reasons = (f"reused: same document as {first_copy} of another entity",)
    kept = verdict.reasons if verdict.status == SUSPICIOUS else ()
    return Verdict(SUSPICIOUS, reasons + kept)
