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


def context_hashes(prefix: str, text: str, keep: int, from_end: bool = True) -> list[int]:
    """Hashed words (the last `keep`, or the first) and their character 4-grams, tagged with `prefix`."""
    words = [w for w in tokens(text) if w.isalpha() or w in ":#%"]
    words = words[-keep:] if from_end else words[:keep]
    grams = [w[i : i + 4] for w in words if len(w) > 4 for i in range(len(w) - 3)]
    return [bucket(f"{prefix}:{w}") for w in words] + [bucket(f"{prefix}4:{g}") for g in grams]


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
    c.hashed += context_hashes("right", line.text[c.end :], 3, from_end=False)


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


def arithmetic_features(found: list[Candidate], lines: list[Line]) -> None:
    """How an amount adds up with the others, in any language: the sum of two others (net and tax), the difference of
    two others (cash given less change), the sum of the amounts that end the lines just above it (the items)."""
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
        c.dense |= {
            "sum_of_two": float(any(v - a in present and v - a != a for a in others if a < v)),
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
        if sum(ch.isalpha() for ch in text) >= 3:
            name = party_name(text)
            start = text.find(name)
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
    return found


def value_candidate(f: Found, text: str, line: int) -> Candidate:
    return Candidate(f.kind, f.value, text[f.start : f.end], line, f.start, f.end, f.form, f.currency)


def party_name(text: str) -> str:
    """A line as a name: what follows its label (`Name: Lieferant GmbH` -> `Lieferant GmbH`), without the address or
    number after a comma when a legal form ends before it."""
    name = text.rsplit(":", 1)[-1].strip() if ":" in text and re.search(r"[^\W\d_]", text.rsplit(":", 1)[-1]) else text
    legal = LEGAL_FORMS.search(name)
    if legal and "," in name[legal.end() :]:
        name = name[: legal.end()]
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
        }
    return features
