"""How a document is printed: its layout, date and amount formats, labels and title, as a one-page PDF with a text
layer, or as a phone photo that reaches the lender through an upstream OCR's reading (a few fields misread at low
confidence)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from fpdf import FPDF
from fpdf.enums import EncryptionMethod

from simulator.vouchers.taxonomy import as_date, load_taxonomy

OCR_ERROR_RATE = 0.06  # share of OCR fields misread

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October")
MONTHS += ("November", "December")


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


class VoucherPDF(FPDF):
    """A one-page PDF with core fonts and a fixed creation date, so the same content gives the same bytes. It keeps
    every piece of text it draws with its box (page units, origin top left): what an OCR of a photo of it finds."""

    def __init__(self, created: dt.datetime, fmt="A4", unit="mm"):
        super().__init__(format=fmt, unit=unit)
        self.set_creation_date(created)
        self.set_auto_page_break(False)
        self.set_producer("Helicopter voucher simulator")
        self.pieces: list[tuple[str, tuple[float, float, float, float]]] = []

    def cell(self, w=None, h=None, text="", *args, align="L", **kwargs):
        if text.strip():
            width = w or self.w - self.r_margin - self.x
            drawn = self.get_string_width(text)
            left = {
                "L": self.x + self.c_margin,
                "R": self.x + width - self.c_margin - drawn,
                "C": self.x + (width - drawn) / 2,
            }[str(align)[0]]
            top = self.y + ((h or self.font_size) - self.font_size) / 2
            self.pieces.append((text, (left, top, left + drawn, top + self.font_size)))
        return super().cell(w, h, text, *args, align=align, **kwargs)


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


def label_width(pdf: FPDF, label: str) -> float:
    """A grid's label cell: 35 mm, wider for a label that would run into its value."""
    return max(35.0, pdf.get_string_width(label) + 3)


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
                pdf.cell(label_width(pdf, label), 7, label, border=1)
                pdf.cell(95 - label_width(pdf, label), 7, text, border=1)
            if pending:
                pdf.ln()
            pending = []
        if row is not None and len(row[3]) > 30:
            pdf.cell(label_width(pdf, row[2]), 7, row[2], border=1)
            pdf.cell(190 - label_width(pdf, row[2]), 7, row[3], border=1, new_x="LMARGIN", new_y="NEXT")
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


def photo_reading(voucher_type: str, fields: dict, style: Style, rng: np.random.Generator) -> tuple[dict, list[str]]:
    """An upstream OCR's reading of a photo of the document, in the landing contract's generic format (each piece
    of text the document prints with its box and a confidence; a few pieces misread at low confidence), and the
    names of the fields a misread piece printed."""
    rows = printed_fields(voucher_type, fields, style)
    pdf = VoucherPDF(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    pdf.add_page()
    LAYOUTS[style.layout](pdf, rows, fields.get("lines"), style)
    words, wrong = [], set()
    for text, box in pdf.pieces:
        confidence = float(rng.uniform(0.86, 0.995))
        if rng.random() < OCR_ERROR_RATE:
            read, confidence = misread(text, rng), float(rng.uniform(0.3, 0.75))
            wrong |= {name for name, _, _, printed in rows if printed in text and printed not in read}
            text = read
        words.append({"text": text, "box": [round(v, 2) for v in box], "confidence": round(confidence, 3)})
    return {"engine": "upstream-ocr 3.2", "pages": [{"width": pdf.w, "height": pdf.h, "words": words}]}, sorted(wrong)
