"""`python -m bench.documents [DATA]`: how well the document reader reads real documents it never learnt from, and
how fast.

For each real labelled set in DATA (`../shared/data`): the `test` split only (`evaluation/splits/`, fixed before any
tuning), per key field, the share of documents whose reading agrees with the label (`evaluation.document_sets.agrees`),
for:
- the reader, from the file alone (text layer; the product's own OCR for photos and scans);
- the reader from the upstream OCR's reading the set ships (the receipts' AWS Textract blocks);
- a regular-expression baseline of twenty lines, on the same text the reader saw;
- the reader as it was before this one (`jobs/vouchers/extract.py` at TODAY), on the same files: a photo it could
  not read at all, so the receipts are given to it as it was measured then, their upstream lines rendered into a
  text-layer PDF.
Then seconds per page: text-layer PDFs, and photos through the OCR, read one after another in one process; and pages
per second on the machine's two cores: the same files read by two processes at once, as the night's two Spark tasks
read them (each process loads its OCR engine before the clock starts); and the OCR engine alone with RapidOCR's
defaults beside the product's settings, on the same photos in turns, the anchor of this noisy machine. Then the
document types read from content (`jobs.documents.classify`), per type, on every voucher of a simulated world of a
seed the type model never learnt from (TYPES_SEED), and on the real test documents whose type is known.
Writes bench/results/documents.{json,md}.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

from bench.common import machine, record
from evaluation.document_sets import KEY_FIELDS, SETS, Document, agrees, documents
from evaluation.reader_training import typed_texts, world_texts

TODAY = "194613b"  # the commit before the reader was rebuilt
TYPES_SEED = 43  # never used in development
BASELINE_DATE = re.compile(
    r"(?<!\d)(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})(?!\d)|(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"
)
BASELINE_AMOUNT = re.compile(r"-?\d{1,3}(?:[.,]\d{3})*[.,]\d{2}(?!\d)")
BASELINE_TOTAL = re.compile(r"total|summe|betrag|zahlen|gesamt|montant|totaal|amount|due", re.I)


def baseline(text: str) -> dict:
    """Twenty lines of regular expressions: the first date (day first), the largest amount on a line naming a total
    (else the largest), the first line as the issuer."""
    import datetime as dt

    lines = [line for line in text.splitlines() if line.strip()]
    found = {"issuer": lines[0].strip()} if lines else {}
    for m in BASELINE_DATE.finditer(text):
        d, mo, y = (m[1], m[2], m[3]) if m[1] else (m[6], m[5], m[4])
        try:
            found["issue_date"] = dt.date(int(y) + (2000 if len(y) == 2 else 0), int(mo), int(d))
            break
        except ValueError:
            continue

    def number(s: str) -> Decimal:
        return Decimal(re.sub(r"[.,](?=\d{3})", "", s).replace(",", "."))

    totals = [number(a) for line in lines if BASELINE_TOTAL.search(line) for a in BASELINE_AMOUNT.findall(line)]
    every = [number(a) for a in BASELINE_AMOUNT.findall(text)]
    if totals or every:
        found["total"] = max(totals or every)
    return found


def old_reader():
    """The reader as it was at TODAY, loaded from git (it is no longer in the product)."""
    source = subprocess.run(
        ["git", "show", f"{TODAY}:jobs/vouchers/extract.py"], capture_output=True, text=True, check=True
    ).stdout
    taxonomy = subprocess.run(
        ["git", "show", f"{TODAY}:schemas/vouchers/taxonomy.yaml"], capture_output=True, text=True, check=True
    ).stdout
    work = Path(tempfile.mkdtemp(prefix="helicopter-old-reader-"))
    (work / "taxonomy.yaml").write_text(taxonomy, encoding="utf-8")
    source = source.replace("from jobs.vouchers.taxonomy import field_specs, load_taxonomy", "")
    source += (
        "\nimport yaml as _yaml\n"
        f"_TAX = _yaml.safe_load(open({str(work / 'taxonomy.yaml')!r}, encoding='utf-8'))\n"
        "def load_taxonomy():\n    return _TAX\n"
        "def field_specs(t):\n    return _TAX['types'][t]['fields']\n"
    )
    (work / "old_extract.py").write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_extract", work / "old_extract.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module, work


OLD_NAMES = {"issuer": "issuer", "issue_date": "issue_date", "document_number": "document_number"}
OLD_NAMES |= {"amount_total": "total", "amount_untaxed": "net", "amount_tax": "tax", "currency": "currency"}


def old_reading(module, work: Path, doc: Document) -> dict:
    """The old reader's key fields: a PDF through its text layer; a photo as its upstream lines in a text-layer PDF."""
    path = doc.path
    if path.suffix.lower() != ".pdf":
        if doc.upstream is None:
            return {}
        path = lines_pdf(doc, work)
    read = module.extract_voucher(path, None, "purchase_invoice")
    return {OLD_NAMES[k]: f["value"] for k, f in read.fields.items() if k in OLD_NAMES}


def lines_pdf(doc: Document, work: Path) -> Path:
    """The upstream OCR's lines written into a one-page text PDF, each where the OCR saw it."""
    from fpdf import FPDF

    from jobs.documents import layout
    from jobs.documents.read import document_pages

    pdf = FPDF(format=(210, 297), unit="mm")
    pdf.add_page()
    pdf.add_font("dejavu", "", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    pdf.set_font("dejavu", size=7)
    for line in layout.lines(document_pages(doc.path, doc.upstream, own_ocr=False)):
        pdf.set_xy(line.box[0] * 210, line.box[1] * 297)
        pdf.cell(text=line.text)
    path = work / f"{doc.doc_id}.pdf"
    pdf.output(str(path))
    return path


def score(readings: list[tuple[Document, dict]]) -> dict:
    """Per key field labelled in the set: documents labelled, and the share read in agreement."""
    out = {}
    for field in KEY_FIELDS:
        labelled = [(doc, read) for doc, read in readings if field in doc.labels]
        if labelled:
            right = sum(agrees(field, r.get(field), doc.labels[field], doc.issuer_is_brand) for doc, r in labelled)
            out[field] = {"documents": len(labelled), "right": right, "share": right / len(labelled)}
    return out


def reader_fields(reading) -> dict:
    return {k: f["value"] for k, f in reading.fields.items()}


def pages_read(path: Path) -> int:
    from jobs.documents.read import read_document

    return read_document(path).pages


def two_process_rate(paths: list[Path], processes: int = 2) -> float:
    """Pages per second when `processes` processes read `paths` at once. Each reads the first file before the clock
    starts, so that its imports, the reader's models and the OCR engine are loaded, as in a night's warm worker."""
    spawn = multiprocessing.get_context("spawn")  # not fork: the parent has ONNX Runtime's threads running
    with ProcessPoolExecutor(processes, mp_context=spawn, initializer=pages_read, initargs=(paths[0],)) as pool:
        list(pool.map(time.sleep, [1.0] * processes))  # every process started and warm
        start = time.perf_counter()
        pages = sum(pool.map(pages_read, paths))
        return pages / (time.perf_counter() - start)


def ocr_anchor(paths: list[Path]) -> dict:
    """Median seconds per page of the OCR engine alone, RapidOCR as it ships (its defaults, one thread) beside the
    product's settings, on the same prepared photos, taken in turns in one process: the two are measured on the same
    machine at the same moments, whatever else it is doing."""
    from PIL import Image

    from jobs.documents import ocr

    engines = {"rapidocr_defaults": ocr.new_engine({}, arena=False), "product": ocr.engine()}
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    for path in paths:
        with Image.open(path) as image:
            pixels = ocr.prepared(image)
        for name, engine in engines.items():
            start = time.perf_counter()
            engine(pixels)
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) for name, s in seconds.items()}


def evaluate(data: Path) -> dict:
    from jobs.documents.read import read_document

    module, work = old_reader()
    results, timings, paths = {}, {"text_layer": [], "ocr": []}, {"text_layer": [], "ocr": []}
    for set_name in SETS:
        docs = documents(data, set_name, "test")
        ways: dict[str, list] = {"reader": [], "baseline": [], "before": []}
        for doc in docs:
            start = time.perf_counter()
            reading = read_document(doc.path)
            seconds = time.perf_counter() - start
            kind = "ocr" if "ocr" in reading.source else "text_layer"
            timings[kind].append(seconds / max(reading.pages, 1))
            paths[kind].append(doc.path)
            ways["reader"].append((doc, reader_fields(reading)))
            ways["baseline"].append((doc, baseline(reading.text)))
            ways["before"].append((doc, old_reading(module, work, doc)))
            if doc.upstream is not None:
                upstream = read_document(doc.path, doc.upstream, own_ocr=False)
                ways.setdefault("reader, upstream OCR", []).append((doc, reader_fields(upstream)))
                ways.setdefault("baseline, upstream OCR", []).append((doc, baseline(upstream.text)))
        results[set_name] = {"documents": len(docs), **{way: score(r) for way, r in ways.items()}}
    speed = {
        k: {"pages": len(v), "median_seconds_per_page": statistics.median(v), "two_cores": two_process_rate(paths[k])}
        for k, v in timings.items()
        if v
    }
    if paths["ocr"]:
        speed["ocr"]["engine_alone"] = ocr_anchor(paths["ocr"])
    real = typed_texts([d for set_name in SETS for d in documents(data, set_name, "test")])
    return {"sets": results, "speed": speed, "types": types_read(real)}


def types_read(real: list[tuple[str, str]]) -> dict:
    """Per type, the documents of a fresh simulated world and how many read as their type's form; the same for the
    real documents whose type is known."""
    from jobs.documents.classify import classify, form_of

    with tempfile.TemporaryDirectory(prefix="helicopter-bench-types-") as work:
        drawn = world_texts(Path(work) / "world", seed=TYPES_SEED)
    out = {}
    for way, texts in (("simulated", drawn), ("real", real)):
        for text, vtype in texts:
            counts = out.setdefault(way, {}).setdefault(vtype, {"documents": 0, "right": 0})
            counts["documents"] += 1
            counts["right"] += int(classify(text)[0] == form_of(vtype))
    return out


def markdown(result: dict) -> str:
    lines = ["# Document reader on real documents it never learnt from (test splits)", ""]
    for set_name, r in result["sets"].items():
        ways = [w for w in r if w != "documents"]
        fields = sorted({f for w in ways for f in r[w]}, key=KEY_FIELDS.index)
        lines += [f"## {set_name} ({r['documents']} test documents)", "", "| field | " + " | ".join(ways) + " |"]
        lines.append("|---|" + "---|" * len(ways))
        for f in fields:
            cells = [
                f"{r[w][f]['share']:.0%} ({r[w][f]['right']}/{r[w][f]['documents']})" if f in r[w] else "-"
                for w in ways
            ]
            lines.append(f"| {f} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Speed", "", "| input | pages | median seconds per page | pages per second, one process | "]
    lines[-1] += "pages per second, two processes on the 2 cores |"
    lines += ["|---|---|---|---|---|"]
    for kind, s in result["speed"].items():
        per = s["median_seconds_per_page"]
        lines.append(f"| {kind} | {s['pages']} | {per:.3f} | {1 / per:.2f} | {s['two_cores']:.2f} |")
    if "engine_alone" in result["speed"].get("ocr", {}):
        alone = result["speed"]["ocr"]["engine_alone"]
        lines += ["", "The OCR engine alone on the same photos, in turns in one process (median seconds per page): "]
        lines[-1] += f"RapidOCR with its defaults {alone['rapidocr_defaults']:.3f}, with the product's settings "
        lines[-1] += f"{alone['product']:.3f} ({alone['product'] / alone['rapidocr_defaults']:.2f} of the time)."
    lines += ["", "## Document types read from content", ""]
    lines += [f"Simulated: every voucher of a world of seed {TYPES_SEED}, never learnt from; a sales invoice read as"]
    lines += ["its form, a purchase invoice, is right. Real: the test documents whose type is known.", ""]
    lines += ["| documents | type | documents | right |", "|---|---|---|---|"]
    for way, per_type in result["types"].items():
        total = {"documents": 0, "right": 0}
        for vtype, c in sorted(per_type.items()):
            lines.append(f"| {way} | {vtype} | {c['documents']} | {c['right'] / c['documents']:.0%} ({c['right']}) |")
            total = {k: total[k] + c[k] for k in total}
        lines.append(f"| {way} | all | {total['documents']} | {total['right'] / total['documents']:.0%} |")
    return "\n".join(lines) + "\n"


def main(data: Path) -> None:
    result = evaluate(data) | {"machine": machine()}
    record("documents", result, markdown(result))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
