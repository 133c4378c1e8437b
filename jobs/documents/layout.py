"""Pieces of text with boxes -> lines, in reading order: pieces whose vertical extents overlap by at least half the
smaller one sit on one line, left to right; lines run top to bottom, page after page. A line's blocks are its runs of
pieces set close together: a wide gap parts a letterhead from the address beside it, or two columns."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from jobs.documents.pages import Page, Word

BLOCK_GAP = 1.0  # a gap between two pieces wider than this many times their height parts two blocks of a line


@dataclass(frozen=True)
class Line:
    page: int
    words: tuple[Word, ...]
    width: float  # the page's, to place the line on it
    height: float

    @cached_property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @cached_property
    def cells(self) -> list[tuple[Word, ...]]:
        """The line's blocks, each as its words."""
        cells: list[list[Word]] = []
        for before, word in zip((None, *self.words), self.words):
            parted = before is None or word.box[0] - before.box[2] > BLOCK_GAP * max(word.height, before.height)
            if parted:
                cells.append([])
            cells[-1].append(word)
        return [tuple(cell) for cell in cells]

    @cached_property
    def blocks(self) -> list[tuple[int, int]]:
        """The character spans of the line's blocks in its text."""
        spans, start = [], 0
        for cell in self.cells:
            end = start + sum(len(w.text) for w in cell) + len(cell) - 1
            spans.append((start, end))
            start = end + 1
        return spans

    @cached_property
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
