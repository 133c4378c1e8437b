"""The fields a declared type names (`schemas/vouchers/taxonomy.yaml`), read where the document prints them after
the labels the taxonomy gives them.

A block of a line (`layout.Line.cells`) that starts with a field's label holds the value in the rest of the block
and the blocks after it, up to the next label; a label standing alone heads a column, its value the block under it.
The value parses by the field's type with the reader's parsers (`jobs.documents.values`); its confidence is that of
the words it was read from (1.0 for a text layer, the OCR's for a photo). An ambiguous numeric date (03/02/2025)
is read in the order the document's unambiguous dates use, day first when none tells.

These are the fields a type's rules are checked on (a bill's charges, a payroll's deductions). The key fields any
document carries are also the ranker's, which reads documents without such labels (`jobs.documents.read`).
"""

from __future__ import annotations

import re
from collections import Counter

from jobs.documents.layout import Line
from jobs.documents.taxonomy import field_specs, load_taxonomy
from jobs.documents.values import amounts, currencies, dates

DOCUMENT_NUMBER = re.compile(r"^(#?)\s*([A-Za-z0-9][\w/.-]*)")
LETTERS_IN_A_NUMBER_CELL = 3  # a cell under a label with more letters than this is a line of words, not a number


def label_rest(text: str, label: str) -> str | None:
    """The rest of `text` when it starts with `label` (case-insensitive, a whole word, or words glued to a number
    as an overflowing cell or an OCR prints them: `per Year33,000.00`), else None."""
    if text[: len(label)].casefold() != label.casefold():
        return None
    rest = text[len(label) :]
    glued = label[-1:].isalpha() and rest[:1].isdigit()
    if label[-1:].isalnum() and rest and rest[0] not in " :#\u00a0" and not glued:
        return None
    return rest.lstrip(" :\u00a0").strip()


def date_order(lines: list[Line]) -> str:
    """day_first or month_first: the order of the document's numeric dates that only one order reads."""
    votes: Counter = Counter()
    for line in lines:
        readings: dict[tuple[int, int], set] = {}
        for f in dates(line.text):
            readings.setdefault((f.start, f.end), set()).add(f.form)
        votes.update(next(iter(forms)) for forms in readings.values() if forms in ({"day_first"}, {"month_first"}))
    return "month_first" if votes["month_first"] > votes["day_first"] else "day_first"


def parse(text: str, kind: str, name: str, order: str):
    """A printed value as its field's type, or None: a date that starts the text, the last amount (a row's total
    is its last column), the first whole number, a currency named, an identifier with a digit, or the words."""
    if kind == "date":
        found = [f for f in dates(text) if f.start <= 1]
        found.sort(key=lambda f: (f.start, f.form != order))
        return found[0].value if found else None
    if kind == "amount":
        found = amounts(text)  # a rate (followed by %) is no amount there
        return float(max(found, key=lambda f: (f.end, f.end - f.start)).value) if found else None
    if kind == "integer":
        m = re.search(r"-?\d[\d,]*", text)
        return int(m[0].replace(",", "")) if m else None
    if kind == "currency":
        named = currencies(text) or ([text.strip().upper()] if re.fullmatch(r"\s*[A-Za-z]{3}\s*", text) else [])
        return named[0] if named else None
    if name == "document_number":
        m = DOCUMENT_NUMBER.match(text.strip())
        return m[1] + m[2] if m and re.search(r"\d", m[2]) else None
    return " ".join(text.split()) or None


def cell_text(cell) -> str:
    return " ".join(w.text for w in cell)


def confidence(cells) -> float:
    return round(min(w.confidence for cell in cells for w in cell), 3)


def labels_of(voucher_type: str) -> list[tuple[str, str, str]]:
    """(field, type, label) for every label of the type, longest label first."""
    found = [(s["name"], s["type"], label) for s in field_specs(voucher_type) for label in s["labels"]]
    return sorted(found, key=lambda f: -len(f[2]))


def starts_with_label(cell, labels: list) -> bool:
    return any(label_rest(cell_text(cell), label) is not None for _, _, label in labels)


def values_after(lines: list[Line], i: int, j: int, rest: str, labels: list) -> list[tuple[str, list, bool]]:
    """The texts a label in cell j of line i may introduce, best first, each with the cells it was read from and
    whether it lies under the label: the rest of its cell and the next cells up to another label; else the next
    cell whatever it starts with (a value may begin with a label's word: `Bank of China`); else the cell under it
    on the next line (the same column of a table row, else the nearest)."""
    cells = lines[i].cells
    parts, used = ([rest], [cells[j]]) if rest else ([], [])
    for cell in cells[j + 1 :]:
        if starts_with_label(cell, labels):
            break
        parts.append(cell_text(cell))
        used.append(cell)
    if parts:
        return [(" ".join(parts), used, False)]
    texts = [(cell_text(cells[j + 1]), [cells[j + 1]], False)] if j + 1 < len(cells) else []
    if i + 1 < len(lines) and lines[i + 1].page == lines[i].page:
        row, x = lines[i + 1].cells, cells[j][0].box[0]
        below = row[j] if len(row) == len(cells) else min(row, key=lambda c: abs(c[0].box[0] - x))
        texts.append((cell_text(below), [below], True))
    return texts


def labelled_fields(lines: list[Line], voucher_type: str) -> dict:
    """{field: {value, confidence, evidence}} for the type's fields printed after one of their labels; per field,
    the longest label whose value parses wins, the first such cell among equals."""
    labels = labels_of(voucher_type)
    titles = {t.casefold() for t in load_taxonomy()["types"][voucher_type]["titles"]}
    order = date_order(lines)
    found: dict = {}
    for i, line in enumerate(lines):
        if line.text.casefold() in titles:
            continue  # BANK STATEMENT is a title, not the bank
        for j, cell in enumerate(line.cells):
            text = cell_text(cell)
            for name, kind, label in labels:
                rest = label_rest(text, label)
                if rest is None:
                    continue
                if rest and kind == "string" and name != "document_number" and ":" not in text[len(label) :][:3]:
                    break  # free text after a label in the same cell needs a colon: `Bank of China` is a name
                for value_text, used, under in values_after(lines, i, j, rest, labels):
                    letters = len(re.findall(r"[^\W\d_]", value_text))
                    if under and kind in ("amount", "integer") and letters > LETTERS_IN_A_NUMBER_CELL:
                        continue
                    value = parse(value_text, kind, name, order)
                    if value is None:
                        continue
                    if name not in found or len(label) > len(found[name]["label"]):
                        evidence = {"page": line.page, "line": line.text, "box": [round(v, 1) for v in line.box]}
                        found[name] = {"value": value, "confidence": confidence(used), "evidence": evidence}
                        found[name]["label"] = label
                    break
                break  # the longest label of the cell names it
    return {name: {k: v for k, v in f.items() if k != "label"} for name, f in found.items()}
