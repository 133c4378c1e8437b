"""A document as pages of words with their boxes, whatever it was handed over as.

- a PDF with a text layer: its characters and their boxes (pdfium), joined into words;
- a scan or a photo (JPEG, PNG, or a PDF page without a text layer): the product's own OCR (`jobs.documents.ocr`);
- an upstream OCR's reading, when one comes with the document: the generic format below, or AWS Textract's blocks.

Every box is (x0, y0, x1, y1) in page units with the origin at the top left, y growing down; a word carries the
confidence of whoever read it (1.0 for a text layer). The upstream reading is one more input: the reader reads the
document itself and compares (see `jobs.documents.read`).

The generic upstream format (`<document>.ocr.json`):

    {"engine": "any name", "pages": [{"width": 1240, "height": 1754,
      "words": [{"text": "Total", "box": [812, 1502, 880, 1530], "confidence": 0.98}, ...]}]}

`lines` may stand for `words` (each line one piece of text with its box); confidence is in [0, 1].
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
MIN_TEXT_CHARACTERS = 20  # a PDF page with fewer characters in its text layer is read as a scan


@dataclass(frozen=True)
class Word:
    text: str
    box: tuple[float, float, float, float]
    confidence: float = 1.0

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def middle(self) -> float:
        return (self.box[1] + self.box[3]) / 2


@dataclass(frozen=True)
class Page:
    width: float
    height: float
    words: tuple[Word, ...]
    source: str  # text_layer, ocr or upstream


def pdf_text_pages(path: Path) -> list[Page | None]:
    """Each page of a PDF as the words of its text layer, or None for a page whose text layer is (nearly) empty."""
    import pypdfium2 as pdfium

    pages: list[Page | None] = []
    pdf = pdfium.PdfDocument(str(path))
    try:
        for page in pdf:
            width, height = page.get_size()
            text_page = page.get_textpage()
            words = characters_to_words(text_page, height)
            text_page.close()
            page.close()
            enough = sum(len(w.text) for w in words) >= MIN_TEXT_CHARACTERS
            pages.append(Page(width, height, tuple(words), "text_layer") if enough else None)
    finally:
        pdf.close()
    return pages


def characters_to_words(text_page, page_height: float) -> list[Word]:
    """The text layer's characters joined into words: a word ends at a space, a line break, or a gap wider than a
    third of the character height."""
    words, text, box = [], "", None
    count = text_page.count_chars()
    characters = text_page.get_text_range(0, count)  # one character per index, generated breaks included
    for i, char in enumerate(characters[:count]):
        left, bottom, right, top = text_page.get_charbox(i, loose=True)
        x0, y0, x1, y1 = left, page_height - top, right, page_height - bottom
        gap = box is not None and (x0 - box[2] > (y1 - y0) / 3 or abs(y0 - box[1]) > (y1 - y0) / 2)
        if not char.strip() or gap:
            if text:
                words.append(Word(text, box))
            text, box = "", None
            if not char.strip():
                continue
        text += char
        box = (x0, y0, x1, y1) if box is None else (min(box[0], x0), min(box[1], y0), max(box[2], x1), max(box[3], y1))
    if text:
        words.append(Word(text, box))
    return words


def upstream_pages(reading: dict) -> list[Page]:
    """An upstream OCR's reading as pages: the generic format, or Textract's blocks (a list, or {"Blocks": [...]})."""
    if isinstance(reading, list) or "Blocks" in reading:
        return textract_pages(reading if isinstance(reading, list) else reading["Blocks"])
    pages = []
    for page in reading.get("pages", []):
        pieces = page.get("words") or page.get("lines") or []
        words = tuple(
            Word(str(p["text"]), tuple(float(v) for v in p["box"]), float(p.get("confidence", 1.0)))
            for p in pieces
            if str(p.get("text", "")).strip()
        )
        pages.append(Page(float(page["width"]), float(page["height"]), words, "upstream"))
    return pages


def textract_pages(blocks: list[dict]) -> list[Page]:
    """AWS Textract's PAGE and LINE blocks as pages on a unit square (Textract's boxes are fractions of the page);
    each of its lines is one piece of text, as an OCR's line is."""
    pages, page_of = [], {}
    for block in blocks:
        if block["BlockType"] == "PAGE":
            page_of.update({child: len(pages) for r in block.get("Relationships", []) for child in r["Ids"]})
            pages.append([])
    pages = pages or [[]]
    for block in blocks:
        if block["BlockType"] != "LINE" or not block.get("Text", "").strip():
            continue
        b = block["Geometry"]["BoundingBox"]
        box = (b["Left"], b["Top"], b["Left"] + b["Width"], b["Top"] + b["Height"])
        pages[page_of.get(block["Id"], 0)].append(Word(block["Text"], box, block.get("Confidence", 100.0) / 100))
    return [Page(1.0, 1.0, tuple(words), "upstream") for words in pages]


def read_upstream(path: Path) -> list[Page]:
    return upstream_pages(json.loads(Path(path).read_text(encoding="utf-8")))
