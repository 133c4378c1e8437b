"""The product's own OCR: RapidOCR (PP-OCR models on ONNX Runtime, shipped inside its wheel; nothing is downloaded).

A photo is turned upright by its EXIF orientation, made grey, and scaled so that its long side is at most
MAX_SIDE pixels (the measured balance of characters read against seconds, `bench/results/ocr_engines.md`); a PDF
page without a text layer is rendered at SCAN_DPI first. The text detector searches the prepared image scaled to
DETECTION_SIDE (a receipt's lines are found as well, in less time), and the recogniser reads each
line found at its own width, one line at a time, in the prepared image's pixels (RECOGNITION): RapidOCR's default
pads every line to at least 320 pixels, and a batch of lines to its widest, so a receipt's short lines ("2,99 A")
cost as much as its long ones.

Lines are not turned one by one (RapidOCR's angle classifier misreads short upright lines as upside down); the page
is turned instead. Read as it stands, a page whose lines stand (most characters in boxes taller than wide) lies on its
side: it is turned a quarter round and read again. Then a page whose characters are read with less than
UPRIGHT_CONFIDENCE on average is read again turned half round, and the reading with the more confident characters is
kept: a page on its head reads far less confidently than upright.

Each line the OCR finds becomes one piece of text with its box (the smallest upright rectangle around its polygon)
and the OCR's confidence. The engine is loaded once per process, with one thread and ONNX Runtime's memory arena (the
same shapes recur page after page): Spark runs one task per core.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from jobs.documents.pages import Page, Word

MAX_SIDE = 1600
SCAN_DPI = 150
DETECTION_SIDE = 1024
DETECTION = {"Det.limit_type": "max", "Det.limit_side_len": DETECTION_SIDE}  # scaled down, never enlarged
# a line's height and the width it is padded to at least; one line at a time
RECOGNITION = {"Rec.rec_img_shape": [3, 48, 64], "Rec.rec_batch_num": 1}
ORIENTATION = {"Global.use_cls": False}  # pages are turned whole instead (`read_image`)
SETTINGS = DETECTION | RECOGNITION | ORIENTATION
UPRIGHT_CONFIDENCE = 0.85
THREADS = 1
# everything that changes the words read: a cache of readings keys on it
READING = repr((MAX_SIDE, SCAN_DPI, SETTINGS, UPRIGHT_CONFIDENCE))


def new_engine(settings: dict, arena: bool = True):
    """A RapidOCR engine with `settings` over its defaults, one thread, and its memory arena or not (its default)."""
    from rapidocr import RapidOCR

    ort = "EngineConfig.onnxruntime."
    params = {"Global.log_level": "error", "Global.max_side_len": 100_000, ort + "enable_cpu_mem_arena": arena}
    params |= {ort + "intra_op_num_threads": THREADS, ort + "inter_op_num_threads": 1}
    return RapidOCR(params=params | settings)


@cache
def engine():
    """The product's engine, one per process."""
    return new_engine(SETTINGS)


def prepared(image):
    """Upright, grey, and at most MAX_SIDE on its long side (a PIL image in, a numpy array out)."""
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image).convert("L")
    scale = MAX_SIDE / max(image.size)
    if scale < 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)))
    return np.asarray(image.convert("RGB"))


def lines_read(pixels) -> tuple[Word, ...]:
    """The lines the engine reads on prepared pixels, in their coordinates."""
    out = engine()(pixels)
    words = []
    if out.boxes is not None:
        for polygon, text, confidence in zip(out.boxes, out.txts, out.scores):
            xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
            if text.strip():
                words.append(Word(text.strip(), (min(xs), min(ys), max(xs), max(ys)), float(confidence)))
    return tuple(words)


def confidence(words: tuple[Word, ...]) -> float:
    """The mean confidence of the characters read (0 when none were)."""
    characters = sum(len(w.text) for w in words)
    return sum(w.confidence * len(w.text) for w in words) / characters if characters else 0.0


def on_its_side(words: tuple[Word, ...]) -> bool:
    """Whether most characters were read in boxes taller than wide: lines that stand, on a page lying on its side."""
    standing = sum(len(w.text) for w in words if w.height > w.width)
    return standing > sum(len(w.text) for w in words) / 2


def read_image(image) -> Page:
    """The lines an OCR reads on a PIL image, as one page in the prepared image's pixels: turned a quarter round
    when its lines stand, and half round when it reads better so."""
    pixels = prepared(image)
    words = lines_read(pixels)
    if on_its_side(words):
        pixels = np.ascontiguousarray(np.rot90(pixels))
        words = lines_read(pixels)
    sure = confidence(words)
    if sure < UPRIGHT_CONFIDENCE:
        turned = np.ascontiguousarray(pixels[::-1, ::-1])
        words_turned = lines_read(turned)
        if confidence(words_turned) > sure:
            pixels, words = turned, words_turned
    return Page(float(pixels.shape[1]), float(pixels.shape[0]), words, "ocr")


def image_page(path: Path) -> Page:
    from PIL import Image

    with Image.open(path) as image:
        return read_image(image)


def pdf_page_images(path: Path, numbers: list[int]) -> dict:
    """The pages `numbers` of a PDF rendered at SCAN_DPI, as PIL images."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return {i: pdf[i].render(scale=SCAN_DPI / 72).to_pil() for i in numbers}
    finally:
        pdf.close()
