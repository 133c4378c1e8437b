"""Documents as owners photograph or print them, in several languages and layouts, with the key fields they carry.

A document is drawn as positioned pieces of text (each a line fragment with its box, size and weight) and rendered
from them, as a text-layer PDF or as a photo (perspective, rotation, blur, uneven light, noise). Its truth is what
was drawn: the issuer, recipient, issue date, document number, total, net, tax and currency it prints, never what
any reader makes of it. The drawing makes a reader work: several total-like lines (subtotal, tax, cash tendered,
change, a quantity total), numbers that look like amounts (phone and registration numbers), identifiers that look
like dates, every common date and amount format, labels in the document's language (`languages.yaml`: English,
Spanish, German, French, Dutch, Italian, Portuguese and Chinese). Layouts vary: the issuer's name at the left, centre or
right, under a title or a slogan, again in a footer with its bank details; the recipient's address beside it or
below; other dates (delivery, order, due) and other numbers (customer, order, IBAN, a card terminal's) around the
ones that matter; a card payment slip under a till receipt.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

import numpy as np
import yaml

FONTS = {
    "latin": [
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    ],
    "cjk": [Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")],
}
LANGUAGES_PATH = Path(__file__).with_name("languages.yaml")
SIGNS = {"USD": "$", "GBP": "£", "SGD": "S$", "MYR": "RM", "AUD": "A$", "EUR": "€", "MXN": "$", "CNY": "¥"}
SIGNS |= {"CHF": "Fr.", "BRL": "R$"}
CARDS = ["VISA", "Mastercard", "Debit MasterCard", "Maestro", "girocard", "AMEX", "V PAY", "UnionPay"]
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


@cache
def languages() -> dict:
    return yaml.safe_load(LANGUAGES_PATH.read_text(encoding="utf-8"))


def date_text(day: dt.date, language: str, rng: np.random.Generator, currency: str) -> str:
    """A date in one of the forms documents in `language` print."""
    if language == "zh":
        forms = [f"{day:%Y}年{day.month}月{day.day}日", f"{day:%Y-%m-%d}", f"{day:%Y/%m/%d}", f"{day:%Y.%m.%d}"]
    else:
        month = languages()[language]["months"].split()[day.month - 1]
        day_first = [
            f"{day:%d/%m/%Y}",
            f"{day:%d.%m.%Y}",
            f"{day:%d-%m-%y}",
            f"{day:%d.%m.%y}",
            f"{day.day} {month} {day.year}",
            f"{day.day}. {month} {day.year}" if language == "de" else f"{day.day} {month[:3]} {day.year}",
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
    forms = [number, f"{sign}{number}", f"{number} {currency}", f"{currency}{number}", f"{sign} {number}"]
    forms += [f"{currency} {number}", f"{number} {sign}"]
    return forms[style // 4 % len(forms)]


def party(rng: np.random.Generator, language: str) -> str:
    pick = lambda xs: xs[int(rng.integers(0, len(xs)))]  # noqa: E731 - a local shorthand
    if language == "zh":
        return pick(NAMES["zh"]) + pick(NAMES["zh_trade"]) + pick(languages()["zh"]["legal"])
    name = f"{pick(NAMES['latin'])} {pick(NAMES['trade'])}"
    return f"{name} {pick(languages()[language]['legal'])}" if rng.random() < 0.7 else name


SYLLABLES = ("ka", "lo", "mi", "ter", "bra", "no", "vel", "di", "sa", "ro", "hu", "pen", "ga", "zi", "mar", "to")


def brand(rng: np.random.Generator) -> str:
    """A chain's brand as its logo reads: one invented word, in capitals or capitalised."""
    word = "".join(rng.choice(SYLLABLES, int(rng.integers(2, 4))))
    return word.upper() if rng.random() < 0.6 else word.capitalize()


def iban(rng: np.random.Generator) -> str:
    """A well-formed IBAN (its check digits right), German or Dutch in shape."""
    from stdnum import iban as iban_number

    country, bank = (
        ("DE", f"{int(rng.integers(10**17, 10**18))}")
        if rng.random() < 0.6
        else ("NL", "INGB0" + f"{int(rng.integers(10**8, 10**9))}")
    )
    return country + iban_number.calc_check_digits(f"{country}00{bank}") + bank


def draw_document(rng: np.random.Generator, day: dt.date) -> Drawn:
    """One document: a till receipt or an invoice, in a language and a layout, with its truth."""
    names = list(languages())
    language = names[int(rng.integers(0, len(names)))]
    words = languages()[language]
    pick = lambda key: words[key][int(rng.integers(0, len(words[key])))]  # noqa: E731 - a local shorthand
    chance = lambda p: rng.random() < p  # noqa: E731
    currency = pick("currencies")
    style = int(rng.integers(0, 28)) if language != "zh" else int(rng.choice([0, 3, 4, 8]))
    receipt = chance(0.5)
    width = 80.0 if receipt else 210.0
    branded = receipt and language != "zh" and chance(0.4)  # a chain's till receipt: its brand heads it
    issuer, recipient = brand(rng) if branded else party(rng, language), party(rng, language)
    number = rng.choice(
        [
            f"{int(rng.integers(10**5, 10**8))}",
            f"INV-{day:%Y}-{int(rng.integers(1, 9999)):04d}",
            f"SP{int(rng.integers(1, 9))}-{day:%m}-{int(rng.integers(10**5, 10**6))}",
            f"{int(rng.integers(10**9, 10**10))}",
            f"{day:%Y}-{int(rng.integers(100, 99999))}",
            f"R{int(rng.integers(10**4, 10**7))}",
        ]
    )

    def address() -> list[str]:
        return [f"{pick('street')} {int(rng.integers(1, 200))}", f"{int(rng.integers(1000, 99999))} {pick('city')}"]

    goods = NAMES["zh_items" if language == "zh" else "items"]
    items = [(goods[int(rng.integers(0, len(goods)))], int(rng.integers(1, 5)), money(rng, 0.5, 90))
             for _ in range(int(rng.integers(2, 12)))]  # fmt: skip
    net = sum((q * p for _, q, p in items), Decimal("0.00"))
    rate = Decimal(str(rng.choice([0.06, 0.07, 0.1, 0.13, 0.16, 0.19, 0.21])))
    tax = (net * rate).quantize(Decimal("0.01"))
    total = net + tax
    cash = (total + money(rng, 0.01, 50)).quantize(Decimal("1")) if receipt and chance(0.6) else None
    pieces: list[Piece] = []
    y, left, right = 8.0, 5.0 if receipt else 18.0, width - (5.0 if receipt else 18.0)
    where = "centre" if receipt else ["left", "right", "left"][int(rng.integers(0, 3))]
    issuer_x = {"centre": width / 2 - len(issuer) * 1.1, "left": left, "right": width - 80.0}[where]

    def line(text, x=left, size=8.0, bold=False, at_right=False):
        pieces.append(Piece(text, x, y, size, bold, at_right))

    def row(label, value, size=8.0, bold=False):
        nonlocal y
        line(label, size=size, bold=bold)
        line(value, x=right, size=size, bold=bold, at_right=True)
        y += 4.2 * size / 8

    def down(mm):
        nonlocal y
        y += mm

    def letterhead() -> None:
        nonlocal y
        if chance(0.3):  # a slogan or the title above the letterhead
            line(pick("thanks") if receipt else pick("title"), x=issuer_x, size=7.0)
            down(5)
        line(issuer, x=issuer_x, size=16.0 if branded else 11.0 if receipt else 14.0, bold=True)
        down(8 if branded else 6)
        for text in address():
            line(text, x=issuer_x)
            down(4)
        phone = f"+{int(rng.integers(10, 99))} {int(rng.integers(100, 999))} {int(rng.integers(1000, 9999))}"
        line(f"{pick('phone')} {phone}", x=issuer_x)
        down(4)
        if chance(0.6):
            line(f"{pick('tax_id')} {int(rng.integers(10**8, 10**10))}", x=issuer_x)
            down(6)
        if not receipt:  # the recipient's address window, under the letterhead or beside it at the left
            if where == "right" and chance(0.5):
                y -= 14
            if chance(0.6):
                line(pick("buyer"), bold=True)
                down(4.2)
            for text in [recipient] + address():
                line(text)
                down(4.2)
            down(6)

    def form() -> None:  # labelled sections for the seller and the buyer, as e-invoice viewers print them
        for heading, name in ((pick("seller"), issuer), (pick("buyer"), recipient)):
            line(heading.rstrip(":"), bold=True)
            down(4.2)
            for label, text in [(pick("name"), name), *(("", text) for text in address())]:
                if label:
                    line(label)
                line(text, x=left + 35)
                down(4.2)
            if chance(0.6):
                line(pick("tax_id"))
                line(f"{int(rng.integers(10**8, 10**10))}", x=left + 35)
                down(4.2)
            down(3)

    form() if not receipt and chance(0.3) else letterhead()
    if not receipt or chance(0.5):
        line(pick("title"), x=width / 2 - 10, size=12.0, bold=True)
        down(7)
    if chance(0.5):
        row(pick("number"), number)
    else:
        line(f"{pick('number')} {number}")
        down(4.2)
    shown = date_text(day, language, rng, currency) + (
        f" {int(rng.integers(7, 21)):02d}:{int(rng.integers(0, 60)):02d}" if receipt and chance(0.5) else ""
    )
    row(pick("date"), shown)
    due = None
    if not receipt:
        if chance(0.5):
            row(pick("customer_number"), f"{int(rng.integers(10**4, 10**8))}")
        if chance(0.5):
            row(
                pick("other_date"),
                date_text(day - dt.timedelta(days=int(rng.integers(1, 40))), language, rng, currency),
            )
        if chance(0.4):
            due = day + dt.timedelta(days=int(rng.choice([7, 14, 30, 60])))
    down(3)
    tax_classes = receipt and chance(0.4)  # a till prints each item's tax class after its amount: `1,99 A`
    for name, qty, price in items:
        shown = amount_text(qty * price, currency, style) + (f" {'AB'[int(rng.integers(0, 2))]}" if tax_classes else "")
        row(f"{qty} x {name}" if chance(0.5) else name, shown)
    down(3)
    if chance(0.5):
        row(pick("qty"), str(sum(q for _, q, _ in items)))
    row(pick("subtotal") if chance(0.5) else pick("net"), amount_text(net, currency, style))
    row(f"{pick('tax')} {rate * 100:.0f}%", amount_text(tax, currency, style))
    row(pick("total"), amount_text(total, currency, style), size=10.0 if chance(0.5) else 8.0, bold=True)
    if cash is not None:
        row(pick("cash"), amount_text(cash, currency, style))
        row(pick("change"), amount_text(cash - total, currency, style))
    if due is not None:
        down(3)
        row(pick("due"), date_text(due, language, rng, currency))
    if receipt and cash is None and chance(0.7):  # a card payment slip
        down(5)
        line(CARDS[int(rng.integers(0, len(CARDS)))], size=9.0, bold=True)
        down(4.5)
        row("Terminal-ID", f"{int(rng.integers(10**7, 10**8))}")
        row(pick("date"), f"{day:%d.%m.%Y} {int(rng.integers(7, 21)):02d}:{int(rng.integers(0, 60)):02d}")
        row(pick("total"), amount_text(total, currency, style))
    down(6)
    line(pick("thanks"), x=width / 2 - 15)
    down(5)
    if chance(0.5):  # a footer: the issuer again, its bank and registration
        for text in [f"{issuer} · {' · '.join(address())}", f"IBAN {iban(rng)}", pick("page")]:
            line(text, size=6.5)
            down(3.5)
    truth = {"issuer": issuer, "issue_date": day, "document_number": str(number), "total": total, "net": net,
             "tax": tax, "currency": currency}  # fmt: skip
    if not receipt:
        truth["recipient"] = recipient
    if due is not None:
        truth["due_date"] = due
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
