"""`python -m evaluation.reader_training [DATA]`: learn the document reader's field models and ship them.

Learns from documents whose fields are known, never from a test split:
- simulated documents (a simulated world's vouchers with a text layer; their truth is what the simulator drew);
- generated documents (`simulator.vouchers.documents`: receipts and invoices in eight languages and varied layouts,
  as text-layer PDFs and as photos);
- the development split of each real labelled set in DATA (`../shared/data`): the receipts read by the product's
  OCR and, apart, through their upstream OCR reading; the e-invoices and invoices through their text layer.
The few real documents together weigh as much as the many drawn ones (REAL_SHARE).

Each candidate of a field's kind is labelled by whether its value agrees with the known one
(`evaluation.document_sets.agrees`); a document whose known value no candidate holds teaches nothing for that field.
Writes `jobs/documents/models/<field>.json`, and the document type model (`jobs.documents.classify`), learnt from
every voucher of another simulated world and the development documents whose type is known.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.document_sets import SETS, Document, agrees, documents

SIMULATED_ENTITIES = 400
SIMULATED_DAYS = 400
TYPES_SEED = 13  # the world the type model learns from (the benchmark's is another)
SIMULATED_DOCUMENTS = 200  # of the world's ~1,400 text vouchers, evenly spaced: more drowned the real layouts on dev
KEY_OF_TAXONOMY = {  # the simulator's taxonomy names -> the reader's key fields (a type's headline amount is its total)
    "issuer": "issuer",
    "recipient": "recipient",
    "issue_date": "issue_date",
    "document_number": "document_number",
    "amount_untaxed": "net",
    "amount_tax": "tax",
    "period_start": "period_start",
    "period_end": "period_end",
    "due_date": "due_date",
    "currency": "currency",
}


def simulated_documents(out: Path, seed: int = 3) -> list[Document]:
    """SIMULATED_DOCUMENTS text-layer vouchers of a small simulated world, with the key fields of what the simulator
    drew."""
    import pyarrow.parquet as pq

    from simulator.vouchers.taxonomy import load_taxonomy
    from simulator.world import WorldSpec, simulate

    simulate(WorldSpec(SIMULATED_ENTITIES, SIMULATED_DAYS, dt.date(2025, 1, 1), seed, 0.0), out)
    truth = pq.read_table(out / "truth" / "vouchers.parquet").to_pandas()
    headline = {name: spec["headline"] for name, spec in load_taxonomy()["types"].items()}
    docs = []
    text_layer = truth[~truth["image"]]
    step = max(len(text_layer) // SIMULATED_DOCUMENTS, 1)
    for row in text_layer.iloc[::step].head(SIMULATED_DOCUMENTS).itertuples():
        fields = json.loads(row.fields)
        labels = {KEY_OF_TAXONOMY[k]: v for k, v in fields.items() if k in KEY_OF_TAXONOMY}
        if headline[row.voucher_type]:
            labels["total"] = fields.get(headline[row.voucher_type])
        for k, v in list(labels.items()):
            if k in ("issue_date", "period_start", "period_end", "due_date"):
                labels[k] = dt.date.fromisoformat(v)
            elif k in ("total", "net", "tax") and v is not None:
                labels[k] = Decimal(str(v))
        docs.append(Document("simulated", row.voucher_id, out / row.path, {k: v for k, v in labels.items() if v}))
    return docs


def world_texts(out: Path, seed: int) -> list[tuple[str, str]]:
    """(text, type) of every voucher of a simulated world, read as the night reads it: a text layer, or a photo's
    upstream reading."""
    import pyarrow.parquet as pq

    from jobs.documents import layout
    from jobs.documents.read import document_pages
    from simulator.world import WorldSpec, simulate

    simulate(WorldSpec(SIMULATED_ENTITIES, SIMULATED_DAYS, dt.date(2025, 1, 1), seed, 0.0), out)
    truth = pq.read_table(out / "truth" / "vouchers.parquet").to_pandas()
    texts = []
    for row in truth.itertuples():
        path = out / row.path
        upstream = path.with_suffix(".ocr.json") if row.image else None
        lines = layout.lines(document_pages(path, upstream, own_ocr=upstream is None))
        texts.append(("\n".join(line.text for line in lines), row.voucher_type))
    return texts


REAL_TYPES = {  # sets whose type is known: the set's, or (None) each document's own (`Document.voucher_type`)
    "invoices": "purchase_invoice",
    "einvoices_zugferd": None,
    "receipts_de": "retail_receipt",
}


def typed_texts(docs: list[Document]) -> list[tuple[str, str]]:
    """(text, type) of the documents whose type is known (their own, or their set's), read as the night reads them
    (photos by our OCR)."""
    from jobs.documents import layout

    return [
        ("\n".join(line.text for line in layout.lines(cached_pages(d, own_ocr=True))), vtype)
        for d in docs
        if (vtype := d.voucher_type or REAL_TYPES.get(d.set_name))
    ]


CACHE = Path(tempfile.gettempdir()) / "helicopter-reader-pages"


def cached_pages(doc: Document, own_ocr: bool) -> list:
    """The document's pages as the product reads them, kept on disk between runs of the studies (keyed by the file's
    content and the OCR's settings): the OCR of a photo takes seconds."""
    import hashlib
    import pickle

    from jobs.documents import ocr
    from jobs.documents.read import document_pages

    key = hashlib.sha256(doc.path.read_bytes() + repr((own_ocr, ocr.READING)).encode()).hexdigest()
    path = CACHE / f"{key}.pickle"
    if path.exists():
        return pickle.loads(path.read_bytes())
    found = document_pages(doc.path, None if own_ocr else doc.upstream, own_ocr)
    CACHE.mkdir(exist_ok=True)
    path.write_bytes(pickle.dumps(found))
    return found


GENERATED = 600  # documents drawn by simulator.vouchers.documents; a third of them photographed
GENERATED_TYPES = {"receipt": "retail_receipt", "invoice": "purchase_invoice"}  # what each kind drawn is
PHOTO_SHARE = 1 / 3


def generated_documents(out: Path, n: int = GENERATED, seed: int = 5) -> list[Document]:
    """Receipts and invoices in several languages and layouts, as text-layer PDFs or photos, with what they print."""
    from simulator.vouchers.documents import draw_document, photo, text_pdf

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    docs = []
    for i in range(n):
        day = dt.date(2018, 1, 1) + dt.timedelta(days=int(rng.integers(0, 2900)))
        drawn = draw_document(rng, day)
        is_photo = rng.random() < PHOTO_SHARE
        path = out / f"G{i:05d}.{'jpg' if is_photo else 'pdf'}"
        path.write_bytes(photo(drawn, rng) if is_photo else text_pdf(drawn, rng))
        docs.append(Document("generated", path.stem, path, drawn.truth, voucher_type=GENERATED_TYPES[drawn.kind]))
    return docs


def readings(doc: Document) -> list[tuple[str, list]]:
    """The document's lines, once per way the product can read it."""
    from jobs.documents import layout

    ways = [("own", cached_pages(doc, own_ocr=True))]
    if doc.upstream is not None:
        ways.append(("upstream", cached_pages(doc, own_ocr=False)))
    return [(way, layout.lines(pages)) for way, pages in ways]


def examples(docs: list[Document]) -> dict[str, list]:
    """Per field: (candidates of its kind, labels) of every document reading whose known value a candidate holds."""
    from jobs.documents.candidates import document_candidates
    from jobs.documents.ranker import FIELD_KINDS

    found: dict[str, list] = {f: [] for f in FIELD_KINDS}
    for doc in docs:
        for _, lines in readings(doc):
            candidates = document_candidates(lines)
            for field, kind in FIELD_KINDS.items():
                if field not in doc.labels or not candidates[kind]:
                    continue
                labels = [int(agrees(field, c.value, doc.labels[field], doc.issuer_is_brand)) for c in candidates[kind]]
                if any(labels):
                    found[field].append((candidates[kind], labels))
    return found


REAL_SHARE = 0.5  # the real documents of a field weigh this share of its examples, however few they are


def field_models(real: dict[str, list], drawn: dict[str, list]) -> dict[str, dict]:
    """Each field's model, in its saved form, from the examples of real documents and of drawn ones (simulated and
    generated), the real ones together weighing REAL_SHARE of the whole."""
    from jobs.documents import ranker

    models = {}
    for field in real:
        if not real[field] + drawn[field]:
            continue
        each = 1.0
        if real[field] and drawn[field]:
            each = max(1.0, REAL_SHARE / (1 - REAL_SHARE) * len(drawn[field]) / len(real[field]))
        weights = [each] * len(real[field]) + [1.0] * len(drawn[field])
        models[field] = ranker.fit(field, real[field] + drawn[field], weights)
    return models


def main(data: Path) -> None:
    from jobs.documents import classify, ranker

    with tempfile.TemporaryDirectory(prefix="helicopter-reader-") as work:
        generated = generated_documents(Path(work) / "generated")
        drawn = simulated_documents(Path(work) / "world") + generated
        real = [d for set_name in SETS for d in documents(data, set_name, "dev")]
        learnt_real, learnt_drawn = examples(real), examples(drawn)
        typed = world_texts(Path(work) / "types-world", seed=TYPES_SEED) + typed_texts(generated + real)
    classify.fit(*zip(*typed)).save_model(classify.MODEL)
    print(f"document types: {len(typed)} documents -> {classify.MODEL}")
    summary = {}
    for field, model in field_models(learnt_real, learnt_drawn).items():
        path = ranker.save(model)
        summary[field] = {"real": len(learnt_real[field]), "drawn": len(learnt_drawn[field]), "model": str(path)}
    print(pd.DataFrame(summary).T.to_string())


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
