"""Candidates for a document's key fields, each with the features its ranker reads.

A candidate is a value where the document prints it: a date, an amount, an identifier, or a party (a name on a line).
Its features say where it sits (page, line, position, size against the page's text), what surrounds it (the words
before it on its line, the line above, the words after it, hashed, with their character n-grams so that `Totaal`
learns from `Total`), and what it is among its kind in the document (the largest amount, the earliest date, how many
times the value recurs). Nothing here names a field: which candidate is the total, the issue date or the issuer is
learnt (`jobs.documents.ranker`).
"""

from __future__ import annotations

import math
import re
import statistics
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from jobs.documents.layout import Line
from jobs.documents.values import Found, amounts, dates

HASH_BUCKETS = 2**12
LEGAL_FORMS = re.compile(  # company legal forms (world-wide, generic): a line holding one is likely a party's name
    r"(?<![^\W\d_])(gmbh|ag|kg|ohg|ug|e\.?k\.?|ltd|limited|llc|inc|corp|co\.?|plc|llp|s\.?a\.?r?\.?l?|sas|sarl|spa|srl"
    r"|b\.?v\.?|n\.?v\.?|bvba|oy|ab|as|a/s|aps|sp\. z o\.o\.|s\.?l\.?|pvt|pte|bhd|sdn|kk|gk|jsc|ooo|zrt|kft"
    r"|有限公司|股份有限公司|集团|合作社|商行|株式会社)(?![^\W\d_])",
    re.IGNORECASE,
)
DOMAIN = re.compile(r"(?:www\.|@|https?://)?[a-z0-9-]+\.(?:com|de|net|org|fr|nl|co|uk|cn|in|io|eu|info|biz)\b", re.I)
ID_LIKE = re.compile(r"(?<![\w/])(?=[\w/.-]*\d)[A-Za-z0-9][\w/.-]{2,}(?![\w/])")


@dataclass
class Candidate:
    kind: str  # date, amount, identifier, party
    value: object
    text: str  # as printed
    line: int  # index in the document's lines
    start: int  # character span in the line's text
    end: int
    form: str = ""
    currency: str | None = None
    dense: dict = field(default_factory=dict)
    hashed: list = field(default_factory=list)


def tokens(text: str) -> list[str]:
    """Lower-case words, digits folded to 0 (`Nr.4711` -> `nr`, `0000`), punctuation apart."""
    return re.findall(r"[^\W\d_]+|\d+|[^\w\s]", re.sub(r"\d", "0", text.lower()))


def bucket(name: str) -> int:
    return zlib.crc32(name.encode()) % HASH_BUCKETS


@lru_cache(maxsize=2**16)  # the candidates of a line share the line above and the section
def context_hashes(prefix: str, text: str, keep: int, from_end: bool = True) -> tuple[int, ...]:
    """Hashed words (the last `keep`, or the first) and their character 4-grams, tagged with `prefix`."""
    words = [w for w in tokens(text) if w.isalpha() or w in ":#%"]
    words = words[-keep:] if from_end else words[:keep]
    grams = [w[i : i + 4] for w in words if len(w) > 4 for i in range(len(w) - 3)]
    return tuple([bucket(f"{prefix}:{w}") for w in words] + [bucket(f"{prefix}4:{g}") for g in grams])


def place(c: Candidate, lines: list[Line], heights: dict[int, float]) -> None:
    """Where the candidate sits and what surrounds it."""
    line = lines[c.line]
    x0, y0, x1, y1 = line.box
    words = list(line.words)
    chars = len(line.text) or 1
    left = line.text[: c.start]
    c.dense |= {
        "page": line.page,
        "y": y0 / line.height,
        "x_start": (x0 + (x1 - x0) * c.start / chars) / line.width,
        "x_end": (x0 + (x1 - x0) * c.end / chars) / line.width,
        "line_rank": c.line / max(len(lines) - 1, 1),
        "size": statistics.median(w.height for w in words) / heights[line.page],
        "line_words": len(words),
        "left_letters": sum(ch.isalpha() for ch in left),
        "right_letters": sum(ch.isalpha() for ch in line.text[c.end :]),
        "at_line_end": float(not line.text[c.end :].strip(" *:.-")),
        "confidence": min(w.confidence for w in words),
    }
    above = next((lines[i].text for i in range(c.line - 1, -1, -1) if lines[i].page == line.page), "")
    c.hashed += context_hashes("left", left, 4)
    c.hashed += context_hashes("above", above, 6)
    c.hashed += context_hashes("section", re.sub(r"\s+", "", section(lines, c.line)), 3)  # `Ver käufer` too
    c.hashed += context_hashes("right", line.text[c.end :], 3, from_end=False)


SECTION_LINES = 6  # how far above a candidate its section's heading may be


def section(lines: list[Line], number: int) -> str:
    """The heading of the section a line is in: the nearest line above it on its page, at most SECTION_LINES up,
    of at most three words, no digits and no legal form (`Bill to:`, `Verkäufer`, `Käufer/Leistungsempfänger`)."""
    for i in range(number - 1, max(number - 1 - SECTION_LINES, -1), -1):
        text = lines[i].text
        if lines[i].page != lines[number].page:
            break
        words, letters = len(text.split()), any(ch.isalpha() for ch in text)
        if words <= 3 and letters and not any(ch.isdigit() for ch in text) and not LEGAL_FORMS.search(text):
            return text
    return ""


def rank_features(found: list[Candidate], key) -> None:
    """What each candidate is among its kind: rank from the largest, share below it, how often its value recurs."""
    values = [key(c) for c in found]
    order = sorted(values, reverse=True)
    for c, v in zip(found, values):
        c.dense |= {
            "rank_desc": order.index(v) / max(len(values) - 1, 1),
            "is_max": float(v == order[0]),
            "recurs": values.count(v),
        }


TAX_SHARE = Decimal("0.3")  # a tax is at most this share of what it is levied on (the highest VAT rate is 27%)


def arithmetic_features(found: list[Candidate], lines: list[Line]) -> None:
    """How an amount adds up with the others, in any language: the sum of two others (net and tax), the larger or
    smaller part of such a sum, and whether the smaller part could be a tax on the larger (at most TAX_SHARE of it);
    the difference of two others (cash given less change); the sum of the amounts that end the lines just above it
    (the items)."""
    values = [abs(Decimal(c.value)) for c in found]
    present = set(values)
    line_end = {}
    for c, v in zip(found, values):
        if c.dense["at_line_end"]:
            line_end[c.line] = v  # the last amount of a line stands for the line
    for c, v in zip(found, values):
        others = [a for a in present if a and a != v]
        above, sums = Decimal(0), set()  # upwards from the line above: each run of lines that ends there
        for i in sorted((i for i in line_end if i < c.line and lines[i].page == lines[c.line].page), reverse=True):
            above += line_end[i]
            sums.add(above)
        parts = [(min(a, v - a), max(a, v - a)) for a in others if a < v and v - a in present and v - a != a]
        larger = [a for a in others if a < v and v + a in present]
        smaller = [a for a in others if a > v and v + a in present]
        c.dense |= {
            "sum_of_two": float(bool(parts)),
            "sum_with_a_tax_like_part": float(any(low <= TAX_SHARE * high for low, high in parts)),
            "larger_part": float(bool(larger)),
            "net_of_a_tax_like_part": float(any(a <= TAX_SHARE * v for a in larger)),
            "smaller_part": float(bool(smaller)),
            "tax_like_part": float(any(v <= TAX_SHARE * a for a in smaller)),
            "difference_of_two": float(any(a - v in present for a in others if a > v)),
            "sum_of_lines_above": float(bool(v) and v in sums),
        }


def document_candidates(lines: list[Line]) -> dict[str, list[Candidate]]:
    """Every candidate of the document by kind, with its features."""
    heights = {}
    for number in {line.page for line in lines}:
        sizes = [w.height for line in lines if line.page == number for w in line.words]
        heights[number] = statistics.median(sizes) if sizes else 1.0
    found: dict[str, list[Candidate]] = {"date": [], "amount": [], "identifier": [], "party": []}
    for i, line in enumerate(lines):
        text = line.text
        line_dates = dates(text)
        for f in line_dates:
            found["date"].append(value_candidate(f, text, i))
        for f in amounts(text):  # a piece of a date is no amount
            if not any(f.start < d.end and d.start < f.end for d in line_dates):
                found["amount"].append(value_candidate(f, text, i))
        for m in ID_LIKE.finditer(text):  # a number may be an identifier too; a date is not
            if not any(m.start() < d.end and d.start < m.end() for d in line_dates):
                found["identifier"].append(Candidate("identifier", m[0], m[0], i, m.start(), m.end()))
        names = set()  # the name in each block of the line, once each
        for a, b in line.blocks:
            name = party_name(text[a:b])
            if sum(ch.isalpha() for ch in name) >= 3 and not name.endswith(":"):
                names.add((a + text[a:b].find(name), name))
        for start, name in sorted(names):
            found["party"].append(Candidate("party", name, name, i, start, start + len(name)))
    for kind_found in found.values():
        for c in kind_found:
            place(c, lines, heights)
            c.dense |= value_features(c)
    if found["amount"]:
        rank_features(found["amount"], lambda c: abs(c.value))
        arithmetic_features(found["amount"], lines)
    if found["date"]:
        rank_features(found["date"], lambda c: c.value.toordinal())
    if found["party"]:
        rank_features(found["party"], lambda c: c.dense["size"])
        recurrence(found["party"], lines)
    return found


def recurrence(parties: list[Candidate], lines: list[Line]) -> None:
    """On how many other lines a party's name is printed again (a letterhead's name recurs in the footer, in the bank
    details or in a web address), and where it comes among the names printed after the same label (a form's first
    `Name:` is often the seller's, its second the buyer's)."""
    texts = [re.sub(r"[\W_]+", "", line.text.casefold()) for line in lines]
    labels = [" ".join(tokens(lines[c.line].text[: c.start])) for c in parties]
    for k, (c, label) in enumerate(zip(parties, labels)):
        name = re.sub(r"[\W_]+", "", c.value.casefold())
        c.dense["printed_again"] = sum(name in t for i, t in enumerate(texts) if i != c.line) if len(name) >= 4 else 0
        same = [i for i, other in enumerate(labels) if label and other == label]
        c.dense["same_label_order"] = same.index(k) if same else -1
        c.dense["same_label_count"] = len(same)


def value_candidate(f: Found, text: str, line: int) -> Candidate:
    return Candidate(f.kind, f.value, text[f.start : f.end], line, f.start, f.end, f.form, f.currency)


def party_name(text: str) -> str:
    """A line as a name: what follows its label (`Name: Lieferant GmbH` -> `Lieferant GmbH`), without the address or
    number after a comma when a legal form ends before it."""
    name = text.rsplit(":", 1)[-1].strip() if ":" in text and re.search(r"[^\W\d_]", text.rsplit(":", 1)[-1]) else text
    end = None
    for legal in LEGAL_FORMS.finditer(name):  # a run of legal forms is one: `Co., Ltd.`, `GmbH & Co. KG`
        if end is not None and not re.fullmatch(r"[\s,&]*", name[end : legal.start()]):
            break
        end = legal.end() + (name[legal.end() : legal.end() + 1] == ".")
    if end is not None and "," in name[end:]:
        name = name[:end]
    return " ".join(name.split())


def value_features(c: Candidate) -> dict:
    forms = ("iso", "day_first", "month_first", "month_name", "cjk", "decimal", "grouped", "integer", "spaced")
    features = {f"form_{f}": float(c.form == f) for f in forms}
    if c.kind == "amount":
        value = abs(Decimal(c.value))
        features |= {
            "log_value": math.log10(float(value) + 1),
            "negative": float(c.value < 0),
            "has_currency": float(c.currency is not None),
            "digits": sum(ch.isdigit() for ch in c.text),
        }
    elif c.kind == "date":
        features |= {"year": c.value.year, "month": c.value.month}
    elif c.kind == "party":
        letters = [ch for ch in c.text if ch.isalpha()]
        features |= {
            "legal_form": float(LEGAL_FORMS.search(c.text) is not None),
            "upper_share": sum(ch.isupper() for ch in letters) / max(len(letters), 1),
            "digit_share": sum(ch.isdigit() for ch in c.text) / max(len(c.text), 1),
            "name_words": len(c.text.split()),
            "domain": float(DOMAIN.search(c.text) is not None),
        }
        c.hashed += context_hashes("self", c.text, 6, from_end=False)
    elif c.kind == "identifier":
        features |= {
            "digits": sum(ch.isdigit() for ch in c.text),
            "letters": sum(ch.isalpha() for ch in c.text),
            "length": len(c.text),
        } | standard_number(c.text)
    return features


def standard_number(text: str) -> dict:
    """Which standard number an identifier is by its check digits (python-stdnum): an IBAN, a GS1 number (GTIN, GLN),
    a payment card (Luhn), a European VAT number. None of them numbers a document."""
    from stdnum import ean, iban, luhn
    from stdnum.eu import vat

    digits = text.isdigit()
    return {
        "iban": float(iban.is_valid(text)),
        "gs1": float(digits and len(text) in (8, 12, 13, 14) and ean.is_valid(text)),
        "card": float(digits and 13 <= len(text) <= 19 and luhn.is_valid(text)),
        "vat_number": float(text[:2].isalpha() and vat.is_valid(text)),
    }
