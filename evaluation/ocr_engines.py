"""Which OCR engine reads photographed business documents: RapidOCR (ONNX Runtime) against Tesseract.

Only the `dev` receipts of receipts_de are read (evaluation/splits/receipts_de.csv; `test` is held out for the reader).
Each engine's text is compared with AWS Textract's reading shipped with the data (a cloud OCR, not ground truth):
1 - normalised edit distance of the whole page, lines put in one reading order for both (rows top to bottom, left to
right within a row), and recall of Textract's words of confidence >= 90. Textract's reading has no umlauts (ä as a),
so both sides lose their diacritics before comparing; the umlauts, ß and € an engine emits are counted instead. Also
whether the labelled total ("24,23") and date ("02.03.2020" or "02.03.20") occur verbatim, seconds per page (median,
engine call only, after one warm-up call) at 1 and 2 threads and at native or capped long side, the worker's peak
memory, and two synthetic images: German with umlauts and €, Chinese (when fc-list finds a CJK font).

Each engine x size x threads runs in a process of its own, its thread limits set before the libraries load. Engines
whose package is missing are skipped. Models come from the packages: RapidOCR's ONNX files inside its wheel,
Tesseract's traineddata from Debian's tesseract-ocr-{deu,eng,chi-sim}.

    python evaluation/ocr_engines.py ../shared/data/documents/receipts_de    # writes bench/results/ocr_engines.*
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime as dt
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
import unicodedata
from importlib import metadata
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SPLIT = ROOT / "evaluation" / "splits" / "receipts_de.csv"
TESSDATA = "/usr/share/tesseract-ocr/5/tessdata/"
ENGINES = ("rapidocr", "rapidocr_onnxruntime", "tesserocr", "pytesseract")
PACKAGES = ("rapidocr", "rapidocr_onnxruntime", "onnxruntime", "tesserocr", "pytesseract", "numpy", "pillow")
DEBIAN = ("tesseract-ocr", "tesseract-ocr-deu", "tesseract-ocr-eng", "tesseract-ocr-chi-sim")
UMLAUTS = re.compile("[äöüÄÖÜß€]")
GERMAN = ["Käse Brötchen Süßwaren 12,99 €", "Größe Äpfel Öl Übertrag", "Summe 24,23 EUR  Datum 02.03.2020"]
CHINESE = ["发票号码 12345678", "开票日期 2024年03月15日", "合计金额 ¥1,234.56", "北京市海淀区中关村大街1号"]


# ---- engines (run inside a worker process) ---------------------------------------------------------------------
# Each returns a function: PIL image -> lines [(text, confidence 0..1, (x0, y0, x1, y1) in pixels)].


def rapidocr(threads: int, lang: str):
    from rapidocr import RapidOCR

    ort = "EngineConfig.onnxruntime."
    params = {"Global.max_side_len": 100_000, "Global.log_level": "warning"}
    engine = RapidOCR(params={**params, ort + "intra_op_num_threads": threads, ort + "inter_op_num_threads": 1})

    def read(img):
        out = engine(img)
        if out.boxes is None:
            return []
        return [(t, float(s), polygon_box(b)) for b, t, s in zip(out.boxes, out.txts, out.scores)]

    return read


def rapidocr_onnxruntime(threads: int, lang: str):
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR(max_side_len=100_000, intra_op_num_threads=threads, inter_op_num_threads=1)

    def read(img):
        result, _ = engine(img)
        return [(t, float(s), polygon_box(b)) for b, t, s in result or []]

    return read


def tesserocr(threads: int, lang: str):
    import tesserocr as tr

    api = tr.PyTessBaseAPI(path=TESSDATA, lang=lang)
    level = tr.RIL.TEXTLINE

    def read(img):
        api.SetImage(img)
        api.Recognize()
        lines = []
        for r in tr.iterate_level(api.GetIterator(), level):
            text = (r.GetUTF8Text(level) or "").strip()
            if text:
                lines.append((text, r.Confidence(level) / 100, r.BoundingBox(level)))
        return lines

    return read


def pytesseract(threads: int, lang: str):
    import pytesseract as pt

    def read(img):
        d = pt.image_to_data(img, lang=lang, output_type=pt.Output.DICT)
        lines = collections.defaultdict(list)
        for i, word in enumerate(d["text"]):
            if word.strip() and float(d["conf"][i]) >= 0:
                x, y = d["left"][i], d["top"][i]
                key = d["block_num"][i], d["par_num"][i], d["line_num"][i]
                lines[key].append((word, float(d["conf"][i]) / 100, (x, y, x + d["width"][i], y + d["height"][i])))
        return [merge(words) for words in lines.values()]

    return read


def merge(words: list) -> tuple:
    """One line from its words: texts joined, mean confidence, the boxes' union."""
    boxes = np.array([b for _, _, b in words])
    return (
        " ".join(w for w, _, _ in words),
        statistics.mean(c for _, c, _ in words),
        (*boxes[:, :2].min(0), *boxes[:, 2:].max(0)),
    )


def polygon_box(points) -> tuple[float, float, float, float]:
    xs, ys = [float(p[0]) for p in points], [float(p[1]) for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def capped(img: Image.Image, size: str) -> Image.Image:
    """The image with its long side at most `size` pixels ('native': unchanged)."""
    if size == "native" or max(img.size) <= int(size):
        return img
    scale = int(size) / max(img.size)
    return img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)


def worker(spec: dict) -> dict:
    """Read every page with one engine setting; lines in boxes normalised to the page, seconds per engine call."""
    lang = "deu+eng"
    read = globals()[spec["engine"]](spec["threads"], lang)
    pages, load = [], [os.getloadavg()[0]]
    for i, path in enumerate(spec["pages"]):
        img = capped(Image.open(path).convert("RGB"), spec["size"])
        if i == 0:
            read(img)  # warm-up: sessions, model load
        start = time.perf_counter()
        lines = read(img)
        seconds = time.perf_counter() - start
        w, h = img.size
        norm = [(t, round(c, 4), [b[0] / w, b[1] / h, b[2] / w, b[3] / h]) for t, c, b in lines]
        pages.append({"page": Path(path).stem, "seconds": seconds, "lines": norm, "pixels": [w, h]})
    load.append(os.getloadavg()[0])
    synthetic = {}
    if spec["synthetic"]:
        synthetic["german"] = [t for t, _, _ in read(render(GERMAN, find_font("de")))]
        if cjk := find_font("zh"):
            chinese = read if spec["engine"].startswith("rapidocr") else globals()[spec["engine"]](1, "chi_sim+eng")
            synthetic["chinese"] = [t for t, _, _ in chinese(render(CHINESE, cjk))]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"pages": pages, "load1": load, "peak_rss_mb": round(peak_mb), "synthetic": synthetic}


def find_font(lang: str) -> str | None:
    try:
        out = subprocess.run(["fc-list", f":lang={lang}", "file"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    files = sorted(line.split(":")[0] for line in out.splitlines() if line.strip())
    return next((f for f in files if "DejaVuSans.ttf" in f), files[0] if files else None)


def render(lines: list[str], font_path: str) -> Image.Image:
    font = ImageFont.truetype(font_path, 40)
    img = Image.new("RGB", (1200, 80 * len(lines) + 60), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((40, 40 + 80 * i), line, font=font, fill="black")
    return img


# ---- metrics -------------------------------------------------------------------------------------------------------


def reading_order(lines: list[tuple[str, list[float]]]) -> str:
    """Rows top to bottom (a line joins a row when its centre lies within the row's first line), left to right."""
    rows: list[list[tuple[str, list[float]]]] = []
    for text, box in sorted(lines, key=lambda tb: (tb[1][1] + tb[1][3]) / 2):
        if rows and (box[1] + box[3]) / 2 <= rows[-1][0][1][3]:
            rows[-1].append((text, box))
        else:
            rows.append([(text, box)])
    return "\n".join(" ".join(t for t, _ in sorted(row, key=lambda tb: tb[1][0])) for row in rows)


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    codes = np.array([ord(c) for c in b])
    offsets = np.arange(len(b) + 1)
    row = offsets.copy()
    for i, c in enumerate(a, 1):
        new = np.empty_like(row)
        new[0] = i
        new[1:] = np.minimum(row[:-1] + (codes != ord(c)), row[1:] + 1)
        row = np.minimum.accumulate(new - offsets) + offsets  # insertions
    return int(row[-1])


def fold(text: str) -> str:
    """Without diacritics (ä -> a), as Textract reads them."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def agreement(a: str, b: str) -> float:
    a, b = " ".join(a.split()), " ".join(b.split())
    return 1 - levenshtein(a, b) / max(len(a), len(b), 1)


def recall(words: list[str], text: str) -> tuple[int, int]:
    have = collections.Counter(text.split())
    want = collections.Counter(words)
    return sum(min(n, have[w]) for w, n in want.items()), len(words)


def german_total(total: str) -> str:
    return f"{float(total):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def score_page(text: str, truth: dict, lines: list = ()) -> dict:
    flat = " ".join(text.split())
    found, n = recall(truth["words"], fold(text))
    return {
        "agreement": agreement(fold(text), truth["text"]),
        "words_found": found,
        "words": n,
        "umlauts": len(UMLAUTS.findall(text)),
        "total_found": german_total(truth["total"]) in flat,
        "date_found": any(truth["date"].strftime(f) in flat for f in ("%d.%m.%Y", "%d.%m.%y")),
        "boxes": all(len(b) == 4 and 0 <= c <= 1 for _, c, b in lines),
    }


def textract(path: Path) -> tuple[str, list[str]]:
    blocks = json.loads(path.read_text(encoding="utf-8"))
    lines = [(b["Text"], box(b)) for b in blocks if b["BlockType"] == "LINE"]
    words = [b["Text"] for b in blocks if b["BlockType"] == "WORD" and b["Confidence"] >= 90]
    return reading_order(lines), words


def box(block: dict) -> list[float]:
    bb = block["Geometry"]["BoundingBox"]
    return [bb["Left"], bb["Top"], bb["Left"] + bb["Width"], bb["Top"] + bb["Height"]]


def synthetic_scores(read: dict) -> dict:
    out = {}
    for name, truth in (("german", GERMAN), ("chinese", CHINESE)):
        if name in read:
            text, want = "".join("".join(read[name]).split()), "".join("".join(truth).split())  # spacing aside
            missing = sorted({c for c in want if c not in text})
            out[name] = {"agreement": round(agreement(text, want), 3), "read": read[name], "missing": missing}
    return out


# ---- the study -----------------------------------------------------------------------------------------------------


def dev_pages(data: Path) -> dict[str, dict]:
    split = {r["doc_id"]: r["split"] for r in csv.DictReader(open(SPLIT, encoding="utf-8"))}
    pages = {}
    for row in csv.DictReader(open(data / "labels.csv", encoding="utf-8")):
        stem = Path(row["file"]).stem
        if split[stem] != "dev":
            continue
        text, words = textract(data / "ocr_textract" / f"{stem}_blocks.json")
        date = dt.date.fromisoformat(row["date"])
        pages[stem] = {
            "image": str(data / row["file"]),
            "text": text,
            "words": words,
            "total": row["total"],
            "date": date,
        }
    return pages


def run_worker(spec: dict) -> dict:
    n = str(spec["threads"])
    env = {**os.environ, "OMP_THREAD_LIMIT": n, "OMP_NUM_THREADS": n}
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode:
        raise RuntimeError(f"{spec['engine']} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.splitlines()[-1])


def installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def shell(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kb = int(next(line.split()[1] for line in meminfo if line.startswith("MemTotal")))
    tesseract = {"tesserocr (bundled libtesseract)": None, "tesseract CLI": shell("tesseract", "--version")[:15]}
    if installed("tesserocr"):
        import tesserocr as tr

        tesseract["tesserocr (bundled libtesseract)"] = tr.tesseract_version().split("\n")[0]
    models = {}
    for pkg in ("rapidocr", "rapidocr_onnxruntime"):
        if installed(pkg):
            folder = Path(metadata.distribution(pkg).locate_file(pkg))
            models[pkg] = {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*.onnx"))}
    return {
        "cpu": next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), ""),
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "packages": {p: installed(p) for p in PACKAGES},
        "debian": {p: shell("dpkg-query", "-W", "-f", "${Version}", p) or None for p in DEBIAN},
        "tesseract": tesseract,
        "models_in_wheel": models,
        "cjk_font": find_font("zh"),
    }


def summarise(pages: dict, run: dict) -> dict:
    scores = [
        score_page(reading_order([(t, b) for t, _, b in p["lines"]]), pages[p["page"]], p["lines"])
        for p in run["pages"]
    ]
    cropped = [s["agreement"] for p, s in zip(run["pages"], scores) if p["page"].startswith("A__")]
    uncropped = [s["agreement"] for p, s in zip(run["pages"], scores) if not p["page"].startswith("A__")]
    return {
        "pages": len(scores),
        "agreement": statistics.mean(s["agreement"] for s in scores),
        "agreement_cropped": statistics.mean(cropped) if cropped else None,
        "agreement_page": statistics.mean(uncropped) if uncropped else None,
        "word_recall": sum(s["words_found"] for s in scores) / sum(s["words"] for s in scores),
        "umlauts": sum(s["umlauts"] for s in scores),
        "totals_found": sum(s["total_found"] for s in scores),
        "dates_found": sum(s["date_found"] for s in scores),
        "boxes_with_confidence": all(s["boxes"] for s in scores),
        "seconds_median": statistics.median(p["seconds"] for p in run["pages"]),
        "seconds_cropped": statistics.median(p["seconds"] for p in run["pages"] if p["page"].startswith("A__")),
        "seconds_page": statistics.median(p["seconds"] for p in run["pages"] if not p["page"].startswith("A__")),
        "peak_rss_mb": run["peak_rss_mb"],
        "load1": run["load1"],
        "per_page": {p["page"]: {**s, "seconds": round(p["seconds"], 3)} for p, s in zip(run["pages"], scores)},
    }


def markdown(result: dict) -> str:
    m, runs = result["machine"], result["runs"]
    tx = result["textract"]
    lines = [
        "# OCR engines on the dev receipts (receipts_de)",
        "",
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python {m['python']}; commit `{result['commit'][:12]}`; "
        f"recorded {result['recorded']}. Load average at the start: {result['uptime']}.",
        "",
        "Packages: "
        + ", ".join(f"{k} {v}" for k, v in {**m["packages"], **m["debian"]}.items() if v)
        + ". "
        + "; ".join(f"{k}: {v}" for k, v in m["tesseract"].items() if v)
        + ".",
        "",
        f"{tx['pages']} dev receipts ({tx['cropped']} cropped, {tx['pages'] - tx['cropped']} whole A4 pages at "
        "2552x3508). Agreement = 1 - normalised edit distance to Textract's LINE text (both in the same row order); "
        "word recall = share of Textract's WORDs of confidence >= 90 found as whitespace tokens (diacritics stripped "
        "on both sides: Textract reads ä as a); umlauts = äöüÄÖÜß€ characters emitted on all pages; "
        "total/date = labelled total ('24,23') / date ('02.03.20[20]') found verbatim. Seconds: "
        "median engine call per page; the load average (1 min) at each run's start and end is in the JSON. "
        f"Textract itself finds {tx['totals_found']} totals and {tx['dates_found']} dates.",
        "",
        "| engine | long side | threads | agreement (cropped / page) | word recall | umlauts | totals | dates "
        "| s/page (cropped / page) | peak MB | load |",
        "|---|---|---:|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in runs:
        s = r["summary"]
        lines.append(
            f"| {r['engine']} | {r['size']} | {r['threads']} | {s['agreement']:.3f} ({s['agreement_cropped']:.3f} / "
            f"{s['agreement_page']:.3f}) | {s['word_recall']:.3f} | {s['umlauts']} "
            f"| {s['totals_found']}/{s['pages']} | {s['dates_found']}/{s['pages']} | {s['seconds_median']:.2f} "
            f"({s['seconds_cropped']:.2f} / {s['seconds_page']:.2f}) | {s['peak_rss_mb']} "
            f"| {s['load1'][0]:.1f}-{s['load1'][1]:.1f} |"
        )
    same = all(r["same_text"] for r in runs)
    boxed = sorted({r["engine"] for r in runs if r["summary"]["boxes_with_confidence"]})
    lines += [
        "",
        f"Same text at 1 and 2 threads in every setting: {'yes' if same else 'no'}. Every line with a box and a "
        f"confidence in 0..1: {', '.join(boxed) or 'none'}.",
        "",
        "Synthetic images (agreement with the rendered text, spacing aside; characters not read):",
        "",
    ]
    for engine, synth in result["synthetic"].items():
        for name, s in synth.items():
            lines.append(f"- {engine}, {name}: {s['agreement']:.3f}; missing {''.join(s['missing']) or 'none'}")
    if not m["cjk_font"]:
        lines.append("- no CJK font found by fc-list: Chinese not tested")
    lines += ["", "Models shipped inside the wheels: " + json.dumps(m["models_in_wheel"]), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", nargs="?", type=Path, help="the receipts_de folder")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--sizes", default="native,2000,1600", help="long side caps in pixels, or 'native'")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    pages = dev_pages(args.data)
    textract_scores = [score_page(p["text"], p) for p in pages.values()]
    result = {
        "recorded": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": shell("git", "-C", str(ROOT), "rev-parse", "HEAD"),
        "uptime": shell("uptime"),
        "machine": machine(),
        "textract": {
            "pages": len(pages),
            "cropped": sum(p.startswith("A__") for p in pages),
            "totals_found": sum(s["total_found"] for s in textract_scores),
            "dates_found": sum(s["date_found"] for s in textract_scores),
        },
        "runs": [],
        "synthetic": {},
    }
    engines = [e for e in args.engines.split(",") if installed(e)]
    for engine in engines:
        threads = [1] if engine == "tesserocr" else [int(t) for t in args.threads.split(",")]  # its wheel: no OpenMP
        for size in args.sizes.split(","):
            texts = None
            for n in threads:
                spec = {"engine": engine, "size": size, "threads": n, "pages": [p["image"] for p in pages.values()]}
                spec["synthetic"] = n == 1 and size == "native"
                run = run_worker(spec)
                same = texts is None or texts == [[t for t, _, _ in p["lines"]] for p in run["pages"]]
                texts = [[t for t, _, _ in p["lines"]] for p in run["pages"]]
                if run["synthetic"]:
                    result["synthetic"][engine] = synthetic_scores(run["synthetic"])
                summary = summarise(pages, run)
                result["runs"].append(
                    {"engine": engine, "size": size, "threads": n, "same_text": same, "summary": summary}
                )
                print(f"{engine} {size} {n}: {json.dumps({k: v for k, v in summary.items() if k != 'per_page'})}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ocr_engines.json").write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    (RESULTS / "ocr_engines.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
