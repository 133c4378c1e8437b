"""Documents as owners photograph or print them, in several languages and layouts, with the key fields they carry.

A document is drawn as positioned pieces of text (each a line fragment with its box, size and weight) and rendered
from them, as a text-layer PDF or as a photo (perspective, rotation, blur, uneven light, noise). Its truth is what
was drawn: the issuer, recipient, issue date, document number, total, net, tax and currency it prints, never what
any reader makes of it. The drawing makes a reader work: several total-like lines (subtotal, tax, cash tendered,
change, a quantity total), numbers that look like amounts (phone and registration numbers), identifiers that look
like dates, every common date and amount format, labels in the document's language.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np

FONTS = {
    "latin": [
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    ],
    "cjk": [Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")],
}
LANGUAGES = {
    "en": {
        "total": ["TOTAL", "Total", "Amount due", "Total due", "Grand total", "BALANCE DUE"],
        "subtotal": ["Subtotal", "Sub-total", "SUBTOTAL"],
        "tax": ["VAT", "Tax", "GST", "Sales tax"],
        "net": ["Net amount", "Amount excl. tax", "Net"],
        "cash": ["Cash", "CASH", "Tendered"],
        "change": ["Change", "CHANGE DUE"],
        "qty": ["TOTAL QTY:", "Items:", "No. of items"],
        "date": ["Date:", "Invoice date:", "Date", "Issued:"],
        "number": ["Invoice No.", "Receipt #", "Invoice number:", "Bill No:", "Ref:"],
        "seller": ["From:", "Seller:", "Supplier:"],
        "buyer": ["Bill to:", "Customer:", "Buyer:"],
        "phone": ["Tel:", "Phone:", "Tel."],
        "tax_id": ["VAT Reg No:", "GST No:", "Tax ID:", "Company No:"],
        "thanks": ["Thank you for your purchase!", "THANK YOU", "Please come again"],
        "title": ["INVOICE", "Tax Invoice", "RECEIPT", "Sales Receipt"],
        "legal": ["Ltd", "Limited", "LLC", "Inc.", "Co., Ltd.", "PLC"],
        "months": "January February March April May June July August September October November December",
    },
    "es": {
        "total": ["TOTAL", "Total a pagar", "Importe total", "TOTAL A PAGAR"],
        "subtotal": ["Subtotal", "Base imponible"],
        "tax": ["IVA", "I.V.A.", "Impuesto"],
        "net": ["Base imponible", "Neto"],
        "cash": ["Efectivo", "ENTREGADO"],
        "change": ["Cambio", "Devolución"],
        "qty": ["Nº artículos:", "Unidades:"],
        "date": ["Fecha:", "Fecha de emisión:", "Fecha"],
        "number": ["Factura Nº", "Nº de factura:", "Ticket:", "Factura simplificada:"],
        "seller": ["Emisor:", "Proveedor:"],
        "buyer": ["Cliente:", "Facturar a:"],
        "phone": ["Tel.:", "Teléfono:"],
        "tax_id": ["NIF:", "CIF:", "NIF/CIF:"],
        "thanks": ["Gracias por su compra", "GRACIAS POR SU VISITA"],
        "title": ["FACTURA", "Factura simplificada", "TICKET"],
        "legal": ["S.L.", "S.A.", "S.L.U."],
        "months": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    },
    "zh": {
        "total": ["合计", "总计", "应付金额", "价税合计", "实收金额"],
        "subtotal": ["小计", "金额"],
        "tax": ["税额", "增值税"],
        "net": ["不含税金额", "金额"],
        "cash": ["现金", "实收"],
        "change": ["找零"],
        "qty": ["数量合计:", "件数:"],
        "date": ["开票日期:", "日期:", "交易时间:"],
        "number": ["发票号码:", "单号:", "流水号:", "票据号:"],
        "seller": ["销售方:", "收款单位:"],
        "buyer": ["购买方:", "客户:"],
        "phone": ["电话:", "联系电话:"],
        "tax_id": ["纳税人识别号:", "税号:"],
        "thanks": ["谢谢惠顾", "欢迎再次光临"],
        "title": ["增值税普通发票", "收据", "销售小票", "发票"],
        "legal": ["有限公司", "商行", "股份有限公司"],
        "months": "",
    },
}
CURRENCIES = {"en": ["USD", "GBP", "SGD", "MYR", "AUD"], "es": ["EUR", "MXN"], "zh": ["CNY"]}
SIGNS = {"USD": "$", "GBP": "£", "SGD": "S$", "MYR": "RM", "AUD": "A$", "EUR": "€", "MXN": "$", "CNY": "¥"}
NAMES = {
    "latin": [
        "Harbor",
        "Sunrise",
        "Maple",
        "Golden",
        "Riverside",
        "Northway",
        "Bluebird",
        "Summit",
        "Oakfield",
        "Castillo",
        "Mirador",
        "Pacifica",
        "Lucero",
        "Vista",
        "Alameda",
        "Sierra",
    ],
    "trade": [
        "Market",
        "Trading",
        "Foods",
        "Pharmacy",
        "Hardware",
        "Bakery",
        "Supplies",
        "Electronics",
        "Mart",
        "Comercial",
        "Distribuciones",
        "Ferretería",
        "Panadería",
    ],
    "zh": ["华鑫", "金丰", "宏达", "鑫源", "天瑞", "东升", "康达", "福利", "永兴", "瑞泰"],
    "zh_trade": ["商贸", "食品", "超市", "五金", "电子", "药房", "农资"],
    "items": [
        "Milk 1L",
        "Bread",
        "Coffee 250g",
        "Rice 5kg",
        "Eggs x12",
        "Olive oil",
        "Batteries AA",
        "Shampoo",
        "Cable 2m",
        "Screws (box)",
        "Apples 1kg",
        "Tea",
        "Yogur",
        "Arroz",
        "Aceite",
    ],
    "zh_items": ["大米 5kg", "食用油", "牛奶", "鸡蛋", "面包", "电池", "洗发水", "茶叶"],
}


@dataclass
class Piece:
    text: str
    x: float  # left, in mm from the page's left
    y: float  # top, in mm
    size: float  # font size, points
    bold: bool = False
    right: bool = False  # x is the right edge


@dataclass
class Drawn:
    kind: str
    language: str
    pieces: list[Piece]
    truth: dict
    width: float = 80.0  # mm: a till roll, or 210 for an A4 invoice
    height: float = 200.0
    script: str = "latin"
    extra: dict = field(default_factory=dict)


def money(rng: np.random.Generator, low: float, high: float) -> Decimal:
    return Decimal(str(round(float(rng.uniform(low, high)), 2)))


def date_text(day: dt.date, language: str, rng: np.random.Generator, currency: str) -> str:
    """A date in one of the forms documents in `language` print."""
    if language == "zh":
        forms = [f"{day:%Y}年{day.month}月{day.day}日", f"{day:%Y-%m-%d}", f"{day:%Y/%m/%d}", f"{day:%Y.%m.%d}"]
    else:
        month = LANGUAGES[language]["months"].split()[day.month - 1]
        day_first = [
            f"{day:%d/%m/%Y}",
            f"{day:%d.%m.%Y}",
            f"{day:%d-%m-%y}",
            f"{day.day} {month} {day.year}",
            f"{day.day:02d}-{month[:3].upper()}-{day.year}",
            f"{day:%d/%m/%y}",
            f"{day:%Y-%m-%d}",
        ]
        forms = day_first + ([f"{day:%m/%d/%Y}", f"{month} {day.day}, {day.year}"] if currency == "USD" else [])
    return forms[int(rng.integers(0, len(forms)))]


def amount_text(value: Decimal, currency: str, style: int) -> str:
    """An amount in one of the common forms: grouping and decimal marks, and the currency's code or sign, spaced or
    glued, before or after, or absent."""
    whole, cents = f"{abs(value):,.2f}".split(".")
    number = {
        0: f"{whole}.{cents}",
        1: f"{whole.replace(',', '.')},{cents}",
        2: f"{whole.replace(',', ' ')},{cents}",
        3: f"{whole.replace(',', '')}.{cents}",
    }[style % 4]
    number = ("-" if value < 0 else "") + number
    sign = SIGNS[currency]
    return [number, f"{sign}{number}", f"{number} {currency}", f"{currency}{number}", f"{sign} {number}"][
        style // 4 % 5
    ]


def party(rng: np.random.Generator, language: str) -> str:
    pick = lambda xs: xs[int(rng.integers(0, len(xs)))]  # noqa: E731 - a local shorthand
    if language == "zh":
        return pick(NAMES["zh"]) + pick(NAMES["zh_trade"]) + pick(LANGUAGES["zh"]["legal"])
    name = f"{pick(NAMES['latin'])} {pick(NAMES['trade'])}"
    return f"{name} {pick(LANGUAGES[language]['legal'])}" if rng.random() < 0.7 else name


def draw_document(rng: np.random.Generator, day: dt.date) -> Drawn:
    """One document: a till receipt or an invoice, in a language, with its truth."""
    language = ["en", "es", "zh"][int(rng.integers(0, 3))]
    words = LANGUAGES[language]
    pick = lambda key: words[key][int(rng.integers(0, len(words[key])))]  # noqa: E731 - a local shorthand
    currency = CURRENCIES[language][int(rng.integers(0, len(CURRENCIES[language])))]
    style = int(rng.integers(0, 20)) if language != "zh" else int(rng.choice([0, 3, 4, 8]))
    receipt = rng.random() < 0.5
    width = 80.0 if receipt else 210.0
    issuer, recipient = party(rng, language), party(rng, language)
    number = rng.choice(
        [
            f"{int(rng.integers(10**5, 10**8))}",
            f"INV-{day:%Y}-{int(rng.integers(1, 9999)):04d}",
            f"SP{int(rng.integers(1, 9))}-{day:%m}-{int(rng.integers(10**5, 10**6))}",
            f"{int(rng.integers(10**9, 10**10))}",
        ]
    )
    goods = NAMES["zh_items" if language == "zh" else "items"]
    items = [(goods[int(rng.integers(0, len(goods)))], int(rng.integers(1, 5)), money(rng, 0.5, 90))
             for _ in range(int(rng.integers(2, 12)))]  # fmt: skip
    net = sum((q * p for _, q, p in items), Decimal("0.00"))
    rate = Decimal(str(rng.choice([0.06, 0.07, 0.1, 0.13, 0.16, 0.19, 0.21])))
    tax = (net * rate).quantize(Decimal("0.01"))
    total = net + tax
    cash = (total + money(rng, 0.01, 50)).quantize(Decimal("1")) if receipt and rng.random() < 0.6 else None
    pieces: list[Piece] = []
    y, left, right = 8.0, 5.0 if receipt else 18.0, width - (5.0 if receipt else 18.0)
    center = width / 2 - (len(issuer) * 1.1 if receipt else 0)

    def line(text, x=left, size=8.0, bold=False, at_right=False, gap=4.2):
        nonlocal y
        pieces.append(Piece(text, x, y, size, bold, at_right))

    def row(label, value, size=8.0, bold=False):
        nonlocal y
        line(label, size=size, bold=bold)
        line(value, x=right, size=size, bold=bold, at_right=True)
        y += 4.2 * size / 8

    line(issuer, x=center if receipt else left, size=11.0 if receipt else 14.0, bold=True)
    y += 6
    line(f"{pick('phone')} +{int(rng.integers(10, 99))} {int(rng.integers(100, 999))} {int(rng.integers(1000, 9999))}")
    y += 4
    line(f"{pick('tax_id')} {int(rng.integers(10**8, 10**10))}")
    y += 6
    if not receipt or rng.random() < 0.5:
        line(pick("title"), x=width / 2 - 10, size=12.0, bold=True)
        y += 7
    date_label = pick("date")
    if rng.random() < 0.5:
        row(pick("number"), number)
    else:
        line(f"{pick('number')} {number}")
        y += 4.2
    row(date_label, date_text(day, language, rng, currency))
    if not receipt:
        y += 3
        line(pick("buyer"), bold=True)
        y += 4.2
        line(recipient)
        y += 8
    for name, qty, price in items:
        row(f"{qty} x {name}" if rng.random() < 0.5 else name, amount_text(qty * price, currency, style))
    y += 3
    if rng.random() < 0.5:
        row(pick("qty"), str(sum(q for _, q, _ in items)))
    row(pick("subtotal") if rng.random() < 0.5 else pick("net"), amount_text(net, currency, style))
    row(f"{pick('tax')} {rate * 100:.0f}%", amount_text(tax, currency, style))
    row(pick("total"), amount_text(total, currency, style), size=10.0 if rng.random() < 0.5 else 8.0, bold=True)
    if cash is not None:
        row(pick("cash"), amount_text(cash, currency, style))
        row(pick("change"), amount_text(cash - total, currency, style))
    y += 6
    line(pick("thanks"), x=width / 2 - 15)
    truth = {"issuer": issuer, "issue_date": day, "document_number": str(number), "total": total, "net": net,
             "tax": tax, "currency": currency}  # fmt: skip
    if not receipt:
        truth["recipient"] = recipient
    script = "cjk" if language == "zh" else "latin"
    return Drawn("receipt" if receipt else "invoice", language, pieces, truth, width, y + 15, script)


def font(drawn: Drawn, rng: np.random.Generator) -> Path:
    found = [f for f in FONTS[drawn.script] if f.exists()]
    if not found:
        raise FileNotFoundError(f"no {drawn.script} font: install {FONTS[drawn.script][0]} (Debian's fonts package)")
    return found[int(rng.integers(0, len(found)))]


def photo(drawn: Drawn, rng: np.random.Generator, dpi: int = 150) -> bytes:
    """The document as a phone photo (JPEG): printed at `dpi`, then turned, bent by perspective, blurred, lit unevenly
    and noised."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    scale = dpi / 25.4
    page = Image.new("L", (int(drawn.width * scale), int(drawn.height * scale)), 250)
    ink = ImageDraw.Draw(page)
    path = font(drawn, rng)
    for p in drawn.pieces:
        face = ImageFont.truetype(str(path), max(int(p.size * dpi / 72), 8))
        x = p.x * scale - (ink.textlength(p.text, font=face) if p.right else 0)
        ink.text((x, p.y * scale), p.text, fill=int(rng.integers(0, 60)), font=face, stroke_width=int(p.bold))
    margin = int(40 * dpi / 150)
    canvas = Image.new("L", (page.width + 2 * margin, page.height + 2 * margin), int(rng.integers(60, 200)))
    canvas.paste(page, (margin, margin))
    canvas = canvas.rotate(float(rng.normal(0, 2.0)), expand=True, fillcolor=int(rng.integers(60, 200)))
    w, h = canvas.size
    d = [float(v) for v in rng.uniform(0, 0.03, 8) * [w, h, w, h, w, h, w, h]]
    quad = (d[0], d[1], d[2], h - d[3], w - d[4], h - d[5], w - d[6], d[7])
    canvas = canvas.transform((w, h), Image.Transform.QUAD, quad, Image.Resampling.BILINEAR)
    canvas = canvas.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.2))))
    pixels = np.asarray(canvas, dtype=np.float32)
    light = np.linspace(float(rng.uniform(0.6, 1.0)), float(rng.uniform(0.85, 1.1)), w)[None, :]
    pixels = np.clip(pixels * light + rng.normal(0, rng.uniform(2, 10), pixels.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).convert("RGB").save(out, format="JPEG", quality=int(rng.integers(60, 92)))
    return out.getvalue()


def text_pdf(drawn: Drawn, rng: np.random.Generator) -> bytes:
    """The document as a PDF with a text layer, fixed creation date: the same drawing gives the same bytes."""
    from fpdf import FPDF

    pdf = FPDF(format=(drawn.width, drawn.height), unit="mm")
    pdf.set_creation_date(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.add_font("doc", "", str(font(drawn, rng)))
    for p in drawn.pieces:
        pdf.set_font("doc", size=p.size)
        x = p.x - (pdf.get_string_width(p.text) if p.right else 0)
        pdf.text(x, p.y + p.size * 0.3528, p.text)
    return bytes(pdf.output())
