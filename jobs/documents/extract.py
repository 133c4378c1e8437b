"""Extraction: the fields of a voucher, read from its PDF's text layer (pypdf) or, for a photo, its OCR sidecar.

A PDF's text pieces are placed back on lines by their position (top to bottom, left to right), each piece a cell.
A field is found by an anchor: a cell that starts with one of the field's labels (the taxonomy's synonyms, plus the
usual invoice labels in Dutch, French and German for invoices). Its value is the rest of the cell and the following
cells up to the next label, or, when the label stands alone, the cell under it (a table header). Values are parsed by
the field's type: dates in the taxonomy's formats and the European day-first ones with month names in English,
Dutch, German or French; amounts with `,` or `.` grouping, either as decimal mark, and a currency code or sign.
Invoices without an issuer label take the issuer from the organisation whose web or mail domain the document shows.

Every field carries a confidence: 1.0 read after a taxonomy label, 0.9 after another language's label, 0.6 when
found without a label; the OCR's own confidence for a photo (0 when its text does not parse as the field's type).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from jobs.documents.taxonomy import field_specs, load_taxonomy

INVOICE_TYPES = ("purchase_invoice", "sales_invoice")
OTHER_LANGUAGE_LABELS = {  # invoice labels in the languages of the lender's foreign suppliers (nl, fr, de)
    "document_number": ["Invoice No", "Factuurnummer", "Facture n°", "Facture No", "Rechnungsnr.", "Rechnungsnummer"],
    "issue_date": ["Factuurdatum", "Factuur datum", "Date de facture", "Rechnungsdatum", "Invoice Date", "Date"],
    "amount_total": ["Total TTC", "Totaal", "Factuur totaal", "Somme à payer", "Gesamtbetrag", "Total"],
    "amount_untaxed": ["Total HT", "Exclusief BTW", "Grondslag", "Nettobetrag", "Montant HT"],
    "amount_tax": ["BTW bedrag", "Montant TVA", "TVA", "BTW", "MwSt.", "GST"],
}
MONTHS = {  # month names and abbreviations, English, Dutch, German, French -> month number
    **{m: i + 1 for i, m in enumerate("january february march april may june july august september october".split())},
    "november": 11,
    "december": 12,
    **{m: i + 1 for i, m in enumerate("januari februari maart april mei juni juli augustus september oktober".split())},
    **{m: i + 1 for i, m in enumerate("januar februar märz april mai juni juli august september oktober".split())},
    **{m: i + 1 for i, m in enumerate("janvier février mars avril mai juin juillet août septembre octobre".split())},
    "novembre": 11,
    "décembre": 12,
    "dezember": 12,
}
MONTHS |= {name[:3]: number for name, number in list(MONTHS.items()) if name[:3] not in ("mar", "jui", "jun")}
MONTHS |= {"mar": 3, "jun": 6, "sept": 9}
CURRENCY_MARKS = {
    "CNY": "CNY",
    "RMB": "CNY",
    "¥": "CNY",
    "EUR": "EUR",
    "€": "EUR",
    "USD": "USD",
    "$": "USD",
    "INR": "INR",
    "Rs": "INR",
    "₹": "INR",
}
LEGAL_SUFFIX = (
    r"(?:Co\., Ltd\.|Inc\.|Ltd\.?|Limited|LLC|GmbH|AG|B\.V\.|N\.V\.|SAS|SARL|S\.A\.|Pvt\. Ltd\.?|Private Limited|PLC)"
)
ORGANISATION = re.compile(rf"([A-Z][\w&'.-]*(?:[ ,]+[A-Z][\w&'.-]*)*?),? {LEGAL_SUFFIX}(?=\W|$)")
DOMAIN = re.compile(r"(?:www\.|@|https?://)([a-z0-9-]+)\.(?:[a-z0-9-]+\.)*[a-z]{2,}", re.I)
NUMBER = re.compile(r"(?<![\w.,])-?(?:\d{1,3}(?:[,.' ]\d{3})+|\d+)(?:[.,]\d{1,2})?(?![\w,.]?\w)")
DOCUMENT_NUMBER = re.compile(r"^(#?)\s*([A-Za-z0-9][\w/.-]*)")


@dataclass(frozen=True)
class Cell:
    x: float
    text: str


@dataclass
class Extraction:
    """What a document says: {field: {value, confidence, label}}, or why it could not be read."""

    fields: dict = field(default_factory=dict)
    problem: str | None = None
    currency: str | None = None


# ---------------------------------------------------------------------------------------------------------------
# Values


def parse_date(text: str, anchored: bool = False) -> dt.date | None:
    """The first date in `text` (with `anchored`, only one that starts the text): 2025-03-01, 2025.03.01,
    2025/03/01, 01/03/2025 (day first, also with - or .), 1 Mar 2025, 7. Mai 2014, 19 april 2014, March 01, 2025,
    August 3 , 2014; a four-digit year is required."""
    text = text.strip()
    patterns = (
        (r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})(?!\d)", lambda m: (m[1], m[2], m[3])),
        (r"(?<!\d)(\d{1,2})[-./](\d{1,2})[-./](\d{4})", lambda m: (m[3], m[2], m[1])),
        (r"(?<!\d)(\d{1,2})\.? ([A-Za-zéûä]+)\.? (\d{4})", lambda m: (m[3], MONTHS.get(m[2].lower()), m[1])),
        (r"([A-Za-zéûä]+)\.? (\d{1,2}) ?, ?(\d{4})", lambda m: (m[3], MONTHS.get(m[1].lower()), m[2])),
    )
    found = []
    for pattern, parts in patterns:
        for m in re.finditer(pattern, text):
            year, month, day = parts(m)
            try:
                found.append((m.start(), dt.date(int(year), int(month), int(day))))
            except (TypeError, ValueError):
                continue
    if anchored:
        found = [f for f in found if f[0] <= 1]
    return min(found)[1] if found else None


def number_value(token: str) -> float:
    """A printed number as a float: the last `,` or `.` followed by one or two digits is the decimal mark."""
    token = token.replace(" ", "").replace("'", "")
    m = re.search(r"[.,](\d{1,2})$", token)
    whole, decimals = (token[: m.start()], m[1]) if m else (token, "")
    whole = re.sub(r"[.,]", "", whole)
    return float(f"{whole}.{decimals}" if decimals else whole)


def currency_of(text: str) -> str | None:
    for mark, code in CURRENCY_MARKS.items():
        if re.search(rf"(?<![A-Za-z]){re.escape(mark)}(?![A-Za-z])", text):
            return code
    return None


def parse_amount(text: str) -> tuple[float, str | None] | None:
    """(amount, currency) of the last amount in `text` (a table row's total is its last column); a currency code or
    sign anywhere in the text names the currency. None when no amount is printed."""
    cleaned = re.sub(r"\d+(?:[.,]\d+)?\s?%", " ", text)  # a rate is not an amount
    tokens = [t for t in NUMBER.findall(cleaned) if re.search(r"\d", t)]
    if not tokens:
        return None
    return round(number_value(tokens[-1]), 2), currency_of(text)


def parse_integer(text: str) -> int | None:
    m = re.search(r"-?\d+", text.replace(",", ""))
    return int(m[0]) if m else None


def parse_document_number(text: str) -> str | None:
    """The number as printed, spaces after a leading # dropped: `# BLR_1` -> `#BLR_1`; it must hold a digit."""
    m = DOCUMENT_NUMBER.match(text.strip())
    return m[1] + m[2] if m and re.search(r"\d", m[2]) else None


def parse_value(text: str, kind: str, name: str):
    """A printed value as its type; None when it does not parse."""
    if kind == "date":
        return parse_date(text, anchored=True)
    if kind == "amount":
        amount = parse_amount(text)
        return None if amount is None else amount[0]
    if kind == "integer":
        return parse_integer(text)
    if kind == "currency":
        return currency_of(text) or (text.strip().upper() if re.fullmatch(r"\s*[A-Za-z]{3}\s*", text) else None)
    if name == "document_number":
        return parse_document_number(text)
    return " ".join(text.split()) or None


# ---------------------------------------------------------------------------------------------------------------
# PDF text


def pdf_lines(path: Path, line_tolerance: float = 3.0) -> list[list[Cell]]:
    """The PDF's text pieces as lines of cells, top to bottom and left to right, page after page."""
    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    lines = []
    for page in pypdf.PdfReader(path).pages:
        pieces = []

        def keep(text, cm, tm, font, size, pieces=pieces):
            if text.strip():
                pieces.append((-(cm[5] + tm[5] * cm[3]), cm[4] + tm[4] * cm[0], text.strip()))

        page.extract_text(visitor_text=keep)
        rows: list[tuple[float, list[Cell]]] = []
        for y, x, text in sorted(pieces):
            if rows and abs(rows[-1][0] - y) <= line_tolerance:
                rows[-1][1].append(Cell(x, text))
            else:
                rows.append((y, [Cell(x, text)]))
        lines += [sorted(cells, key=lambda c: c.x) for _, cells in rows]
    return lines


def labels_of(voucher_type: str) -> list[tuple[str, str, str, float]]:
    """(field, type, label, confidence) for every label of the type, longest label first."""
    found = []
    for spec in field_specs(voucher_type):
        found += [(spec["name"], spec["type"], label, 1.0) for label in spec["labels"]]
        if voucher_type in INVOICE_TYPES:
            found += [(spec["name"], spec["type"], lb, 0.9) for lb in OTHER_LANGUAGE_LABELS.get(spec["name"], [])]
    return sorted(found, key=lambda f: -len(f[2]))


def label_at(text: str, label: str) -> str | None:
    """The rest of `text` when it starts with `label` (case-insensitive, a whole word), else None."""
    if text[: len(label)].casefold() != label.casefold():
        return None
    rest = text[len(label) :]
    if label[-1:].isalnum() and rest and rest[0] not in " :#\u00a0":
        return None
    return rest.lstrip(" :\u00a0").strip()


def starts_with_label(text: str, labels: list) -> bool:
    return any(label_at(text, lb[2]) is not None for lb in labels)


def values_after(lines: list[list[Cell]], i: int, j: int, rest: str, labels: list) -> list[tuple[str, bool]]:
    """The texts a label at cell j of line i may introduce, best first, each with whether it lies under the label:
    the rest of its cell and the next cells up to another label; else the next cell whatever it starts with (a value
    may begin with a label's word: `Bank of China`); else the cell under it on the next line (the same column of a
    table row, else the nearest)."""
    parts = [rest] if rest else []
    for cell in lines[i][j + 1 :]:
        if starts_with_label(cell.text, labels):
            break
        parts.append(cell.text)
    if parts:
        return [(" ".join(parts), False)]
    texts = [(lines[i][j + 1].text, False)] if j + 1 < len(lines[i]) else []
    if i + 1 < len(lines):
        row = lines[i + 1]
        below = row[j] if len(row) == len(lines[i]) else min(row, key=lambda c: abs(c.x - lines[i][j].x))
        texts.append((below.text, True))
    return texts


def parsed_after(lines: list[list[Cell]], i: int, j: int, rest: str, labels: list, kind: str, name: str):
    """The first of `values_after` that parses as the field's type (a number under a label must be a table cell,
    not a line of words), or None."""
    for text, under in values_after(lines, i, j, rest, labels):
        if under and kind in ("amount", "integer") and len(re.findall(r"[A-Za-z]", text)) > 3:
            continue
        if (value := parse_value(text, kind, name)) is not None:
            return value
    return None


def labelled_fields(lines: list[list[Cell]], voucher_type: str) -> dict:
    """{field: {value, confidence, label}} from the cells that start with a label; per field, the longest label whose
    value parses wins, the first such cell among equals."""
    labels = labels_of(voucher_type)
    titles = {t.casefold() for t in load_taxonomy()["types"][voucher_type]["titles"]}
    found: dict = {}
    for i, line in enumerate(lines):
        if " ".join(c.text for c in line).casefold() in titles:
            continue  # BANK STATEMENT is a title, not the bank
        for j, cell in enumerate(line):
            for name, kind, label, confidence in labels:
                rest = label_at(cell.text, label)
                if rest is None:
                    continue
                if rest and kind == "string" and name != "document_number" and ":" not in cell.text[len(label) :][:3]:
                    break  # free text after a label in the same cell needs a colon: `Bank of China` is a name
                value = parsed_after(lines, i, j, rest, labels, kind, name)
                if value is not None and (name not in found or len(label) > len(found[name]["label"])):
                    found[name] = {"value": value, "confidence": confidence, "label": label}
                break  # the longest label of the cell names it
    return found


def letterhead_issuer(lines: list[list[Cell]], voucher_type: str) -> str | None:
    """The top line of a document printed with one of the type's titles, when it is not the title: the issuer's
    letterhead."""
    titles = {t.casefold() for t in load_taxonomy()["types"][voucher_type]["titles"]}
    texts = [" ".join(c.text for c in line) for line in lines]
    if not lines or not titles & {t.casefold() for t in texts}:
        return None
    top = texts[0]
    return None if top.casefold() in titles else " ".join(top.split())


def domain_issuer(text: str) -> str | None:
    """The organisation a document's web or mail domains name: the legal name (with Inc., B.V., AG, ...) holding the
    domain's name, else the word of the text the domain starts with (`flipkart.com` -> Flipkart, `oyorooms.com` ->
    OYO), else the legal name printed most often."""
    organisations = [" ".join(m.group(0).split()) for m in ORGANISATION.finditer(text)]
    prose = re.sub(r"\S*(?:www\.|@|https?://|\.com|\.org)\S*", " ", text)  # words, without addresses
    for domain in dict.fromkeys(d.lower() for d in DOMAIN.findall(text)):
        named = [o for o in organisations if domain in o.lower().replace(" ", "")]
        if named:
            return max(set(named), key=named.count)
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z-]{2,}", prose) if domain.startswith(w.lower())]
        if words:
            return max(words, key=len)
    return max(set(organisations), key=organisations.count) if organisations else None


def first_date(lines: list[list[Cell]]) -> dt.date | None:
    for line in lines:
        day = parse_date(" ".join(c.text for c in line))
        if day is not None:
            return day
    return None


def text_fields(lines: list[list[Cell]], voucher_type: str) -> dict:
    """The fields of a document with a text layer: labelled ones, then the issuer and issue date found without."""
    fields = labelled_fields(lines, voucher_type)
    if "issuer" not in fields:
        text = "\n".join(" ".join(c.text for c in line) for line in lines)
        issuer = letterhead_issuer(lines, voucher_type) or domain_issuer(text)
        if issuer:
            fields["issuer"] = {"value": issuer, "confidence": 0.6, "label": None}
    if "issue_date" not in fields and (day := first_date(lines)) is not None:
        fields["issue_date"] = {"value": day, "confidence": 0.6, "label": None}
    return fields


# ---------------------------------------------------------------------------------------------------------------
# OCR sidecar


def ocr_fields(ocr: dict, voucher_type: str) -> dict:
    """The fields the OCR read, parsed by type, each with the OCR's confidence (0 when the text does not parse)."""
    kinds = {s["name"]: s["type"] for s in field_specs(voucher_type)}
    fields = {}
    for item in ocr.get("fields", []):
        name = item.get("name")
        if name not in kinds:
            continue
        value = parse_value(str(item.get("value", "")), kinds[name], name)
        confidence = float(item.get("confidence", 0.0)) if value is not None else 0.0
        fields[name] = {"value": value, "confidence": round(confidence, 3), "label": None}
    return fields


# ---------------------------------------------------------------------------------------------------------------
# A voucher


def document_currency(fields: dict, printed: str) -> str | None:
    if fields.get("currency", {}).get("value"):
        return fields["currency"]["value"]
    return currency_of(printed)


def extract_voucher(pdf_path: str | Path, ocr_path: str | Path | None, voucher_type: str) -> Extraction:
    """The fields of one voucher: from the OCR sidecar when there is one, else from the PDF's text layer."""
    try:
        if ocr_path:
            ocr = json.loads(Path(ocr_path).read_text(encoding="utf-8"))
            fields = ocr_fields(ocr, voucher_type)
            printed = " ".join(str(f.get("value", "")) for f in ocr.get("fields", []))
        else:
            lines = pdf_lines(Path(pdf_path))
            fields = text_fields(lines, voucher_type)
            printed = " ".join(c.text for line in lines for c in line)
    except Exception as e:  # noqa: BLE001 - a file that cannot be read makes the voucher unreadable, with the reason
        return Extraction(problem=f"cannot read: {type(e).__name__}: {str(e)[:200]}")
    if not fields:
        return Extraction(problem="no field found (no text layer and no OCR sidecar?)")
    currency = document_currency(fields, printed)
    if "currency" not in fields and currency and any(s["name"] == "currency" for s in field_specs(voucher_type)):
        fields["currency"] = {"value": currency, "confidence": 0.6, "label": None}  # the code or sign by the amounts
    return Extraction(fields=fields, currency=currency)


def fields_json(fields: dict) -> str:
    """Fields as JSON: {name: {value, confidence}}, dates ISO, amounts numbers."""

    def printable(value):
        return value.isoformat() if isinstance(value, dt.date) else value

    plain = {name: {"value": printable(f["value"]), "confidence": f["confidence"]} for name, f in fields.items()}
    return json.dumps(plain, sort_keys=True, separators=(",", ":"))
