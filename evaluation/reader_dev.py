"""`python -m evaluation.reader_dev [DATA]`: the reader's agreement on the development splits, cross-validated by
group (an issuer's documents are held out together), for tuning it without looking at a test split.

Each fold's field models learn from the other groups' development documents (and from simulated documents, when
`--simulated` is given); the held-out group is read with them. Prints per set and field the share read in agreement,
from the file alone and from the upstream OCR reading where the set has one.

With `--types`, the document type instead: each fold's type model learns from every voucher of a simulated world
and the generated receipts and invoices (the training's), and the other groups' development documents whose type is
known; prints per set the share of the held-out documents read as their type's form, and what each miss read as.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from evaluation.document_sets import KEY_FIELDS, SETS, SPLITS, agrees, documents
from evaluation.reader_training import examples, field_models, readings

FOLDS = 4


def groups(set_name: str) -> dict[str, str]:
    with open(SPLITS / f"{set_name}.csv", encoding="utf-8") as f:
        return {row["doc_id"]: f"{set_name}:{row['group']}" for row in csv.DictReader(f)}


def folds(docs: list) -> dict[str, int]:
    """Each document's fold: its group's, the groups dealt round the folds in order."""
    group_of = {d.doc_id: groups(d.set_name)[d.doc_id] for d in docs}
    fold_of = {g: i % FOLDS for i, g in enumerate(sorted(set(group_of.values())))}
    return {d.doc_id: fold_of[group_of[d.doc_id]] for d in docs}


def types(data: Path) -> None:
    import tempfile

    from evaluation.reader_training import REAL_TYPES, TYPES_SEED, generated_documents, typed_texts, world_texts
    from jobs.documents import classify

    docs = [d for s in REAL_TYPES for d in documents(data, s, "dev")]
    fold = folds(docs)
    texts = dict(zip([d.doc_id for d in docs], typed_texts(docs), strict=True))
    with tempfile.TemporaryDirectory(prefix="helicopter-reader-dev-") as work:
        simulated = world_texts(Path(work) / "types-world", seed=TYPES_SEED)
        simulated += typed_texts(generated_documents(Path(work) / "generated"))
    tally: dict = {}
    for k in range(FOLDS):
        learnt = simulated + [texts[d.doc_id] for d in docs if fold[d.doc_id] != k]
        model = classify.fit(*zip(*learnt))
        for doc in (d for d in docs if fold[d.doc_id] == k):
            text, vtype = texts[doc.doc_id]
            form, p = classify.classify(text, model)
            right = form == classify.form_of(vtype)
            if not right:
                print(f"miss {doc.doc_id} ({doc.set_name}): read as {form} ({p}), is {vtype}")
            cell = tally.setdefault(doc.set_name, [0, 0])
            cell[0] += right
            cell[1] += 1
    for set_name, (right, n) in sorted(tally.items()):
        print(f"{set_name:18} type {right:3}/{n:<3} {right / n:.0%}")


def main(data: Path, simulated: bool, show_misses: bool = False) -> None:
    from jobs.documents import ranker
    from jobs.documents.read import read_lines

    docs = [d for s in SETS for d in documents(data, s, "dev")]
    fold_of = folds(docs)
    read = {d.doc_id: readings(d) for d in docs}
    extra = []
    if simulated:
        import tempfile

        from evaluation.reader_training import generated_documents, simulated_documents

        work = Path(tempfile.mkdtemp(prefix="helicopter-reader-dev-"))
        extra = simulated_documents(work / "world") + generated_documents(work / "generated")
    learnt_extra = examples(extra)
    tally: dict = {}
    for fold in range(FOLDS):
        train = [d for d in docs if fold_of[d.doc_id] != fold]
        learnt = examples(train)
        models = {f: ranker.usable(m) for f, m in field_models(learnt, learnt_extra).items()}
        for doc in (d for d in docs if fold_of[d.doc_id] == fold):
            for way, lines in read[doc.doc_id]:
                chosen = read_lines(lines, models)
                for field in KEY_FIELDS:
                    if field in doc.labels:
                        value = chosen[field]["value"] if field in chosen else None
                        right = agrees(field, value, doc.labels[field], doc.issuer_is_brand)
                        if show_misses and not right:
                            print(f"miss {doc.doc_id} {way} {field}: read {value!r}, label {doc.labels[field]!r}")
                        cell = tally.setdefault((doc.set_name, way, field), [0, 0])
                        cell[0] += right
                        cell[1] += 1
    for (set_name, way, field), (right, n) in sorted(tally.items()):
        print(f"{set_name:18} {way:9} {field:16} {right:3}/{n:<3} {right / n:.0%}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", default="../shared/data")
    parser.add_argument("--simulated", action="store_true")
    parser.add_argument("--misses", action="store_true", help="print every reading that disagrees with its label")
    parser.add_argument("--types", action="store_true", help="the document type read from content, not the fields")
    a = parser.parse_args()
    if a.types:
        types(Path(a.data))
    else:
        main(Path(a.data), a.simulated, a.misses)
