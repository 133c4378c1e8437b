"""Pieces of text with boxes -> lines, in reading order: pieces whose vertical extents overlap by at least half the
smaller one sit on one line, left to right; lines run top to bottom, page after page."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.documents.pages import Page, Word


@dataclass(frozen=True)
class Line:
    page: int
    words: tuple[Word, ...]
    width: float  # the page's, to place the line on it
    height: float

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (
            min(w.box[0] for w in self.words),
            min(w.box[1] for w in self.words),
            max(w.box[2] for w in self.words),
            max(w.box[3] for w in self.words),
        )


def same_line(a: tuple[float, float], b: Word) -> bool:
    overlap = min(a[1], b.box[3]) - max(a[0], b.box[1])
    return overlap >= 0.5 * min(a[1] - a[0], b.height)


def page_lines(page: Page, number: int) -> list[Line]:
    rows: list[tuple[list[float], list[Word]]] = []
    for word in sorted(page.words, key=lambda w: (w.middle, w.box[0])):
        row = next((r for r in reversed(rows[-3:]) if same_line(r[0], word)), None)
        if row is None:
            rows.append(([word.box[1], word.box[3]], [word]))
        else:
            row[1].append(word)
            row[0][0], row[0][1] = min(row[0][0], word.box[1]), max(row[0][1], word.box[3])
    return [
        Line(number, tuple(sorted(words, key=lambda w: w.box[0])), page.width, page.height)
        for _, words in sorted(rows, key=lambda r: r[0][0])
    ]


def lines(pages: list[Page]) -> list[Line]:
    return [line for number, page in enumerate(pages) for line in page_lines(page, number)]
