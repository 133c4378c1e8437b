"""`python -m evaluation.reader_dev [DATA]`: the reader's agreement on the development splits, cross-validated by
group (an issuer's documents are held out together), for tuning it without looking at a test split.

Each fold's field models learn from the other groups' development documents (and from simulated documents, when
`--simulated` is given); the held-out group is read with them. Prints per set and field the share read in agreement,
from the file alone and from the upstream OCR reading where the set has one.
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


def main(data: Path, simulated: bool, show_misses: bool = False) -> None:
    from jobs.documents import ranker
    from jobs.documents.read import read_lines

    docs = [d for s in SETS for d in documents(data, s, "dev")]
    group_of = {d.doc_id: groups(d.set_name)[d.doc_id] for d in docs}
    fold_of = {g: i % FOLDS for i, g in enumerate(sorted(set(group_of.values())))}
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
        train = [d for d in docs if fold_of[group_of[d.doc_id]] != fold]
        learnt = examples(train)
        models = {f: ranker.usable(m) for f, m in field_models(learnt, learnt_extra).items()}
        for doc in (d for d in docs if fold_of[group_of[d.doc_id]] == fold):
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
    a = parser.parse_args()
    main(Path(a.data), a.simulated, a.misses)
