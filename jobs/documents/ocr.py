"""The product's own OCR: RapidOCR (PP-OCR models on ONNX Runtime, shipped inside its wheel; nothing is downloaded).

A photo is turned upright by its EXIF orientation, made grey, and scaled so that its long side is at most
MAX_SIDE pixels (the measured balance of characters read against seconds, `bench/results/ocr_engines.md`); a PDF
page without a text layer is rendered at SCAN_DPI first. The text detector sees the prepared image as it is
(DETECTION): RapidOCR's default enlarges its short side to 736 pixels, so a narrow receipt is searched at 2,500 pixels
long, a quarter slower for no more lines. The recogniser reads each line at its own width (RECOGNITION): RapidOCR's
default pads every line to at least 320 pixels, so a receipt's short lines ("2,99 A") cost as much as its long ones.
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
DETECTION = {"Det.limit_type": "max", "Det.limit_side_len": MAX_SIDE}  # never enlarged
RECOGNITION = {"Rec.rec_img_shape": [3, 48, 64]}  # a line's height, and the width it is padded to at least
SETTINGS = DETECTION | RECOGNITION  # what changes the words read (a cache of readings keys on it, with MAX_SIDE)
THREADS = 1


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


def read_image(image) -> Page:
    """The lines an OCR reads on a PIL image, as one page in the prepared image's pixels."""
    pixels = prepared(image)
    out = engine()(pixels)
    words = []
    if out.boxes is not None:
        for polygon, text, confidence in zip(out.boxes, out.txts, out.scores):
            xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
            if text.strip():
                words.append(Word(text.strip(), (min(xs), min(ys), max(xs), max(ys)), float(confidence)))
    return Page(float(pixels.shape[1]), float(pixels.shape[0]), tuple(words), "ocr")


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
