"""Split each real labelled document set into development and test, once, before any tuning of the reader.

Groups stay whole, so that no issuer's layout is seen in both halves: a chain's receipts (`merchant_slug`), an
e-invoice seller's documents (`seller_name`, which also keeps each `scenario_group` together), an invoice issuer's
documents. Whole groups are drawn at random (seeded) into test until it holds half the documents.

    python -m evaluation.split_documents ../shared/data    # writes evaluation/splits/<set>.csv

The files are committed before the reader is tuned; rerunning on the same data gives the same split.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path

SPLITS = Path(__file__).resolve().parent / "splits"
SEED = 20261203
TEST_SHARE = 0.5


def receipts_de(data: Path) -> list[tuple[str, str]]:
    rows = csv.DictReader(open(data / "documents" / "receipts_de" / "labels.csv", encoding="utf-8"))
    return [(Path(r["file"]).stem, r["merchant_slug"]) for r in rows]


def einvoices_zugferd(data: Path) -> list[tuple[str, str]]:
    rows = list(csv.DictReader(open(data / "documents" / "einvoices_zugferd" / "labels.csv", encoding="utf-8")))
    seller_of_scenario = {}
    for r in rows:  # a scenario printed by two sellers' names would join their groups
        seller_of_scenario.setdefault(r["scenario_group"], r["seller_name"].strip().lower())
    return [(r["doc_id"], seller_of_scenario[r["scenario_group"]]) for r in rows]


def invoices(data: Path) -> list[tuple[str, str]]:
    """The real invoices with a PDF (the README names two demo documents, which are left out)."""
    demo = {"AzureInterior", "SammyMaystoneLinesTest"}
    found = []
    for label in sorted((data / "invoices").glob("*.json")):
        if label.stem in demo or not label.with_suffix(".pdf").exists():
            continue
        issuer = json.loads(label.read_text(encoding="utf-8"))[0]["issuer"]
        found.append((label.stem, issuer.strip().lower()))
    return found


SETS = {"receipts_de": receipts_de, "einvoices_zugferd": einvoices_zugferd, "invoices": invoices}


def split(items: list[tuple[str, str]], rng: random.Random) -> dict[str, str]:
    """doc id -> 'test' or 'dev': whole groups, in a seeded random order, into test until half the documents."""
    groups: dict[str, list[str]] = {}
    for doc_id, group in items:
        groups.setdefault(group, []).append(doc_id)
    order = sorted(groups)
    rng.shuffle(order)
    assigned, in_test = {}, 0
    for group in order:
        part = "test" if in_test + len(groups[group]) / 2 <= TEST_SHARE * len(items) else "dev"
        in_test += len(groups[group]) if part == "test" else 0
        assigned.update(dict.fromkeys(groups[group], part))
    return assigned


def main(data: Path) -> None:
    SPLITS.mkdir(exist_ok=True)
    for name, items_of in SETS.items():
        items = items_of(data)
        assigned = split(items, random.Random(f"{SEED}-{name}"))
        with open(SPLITS / f"{name}.csv", "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["doc_id", "group", "split"])
            writer.writerows(sorted((d, g, assigned[d]) for d, g in items))
        test = sum(v == "test" for v in assigned.values())
        print(f"{name}: {len(items)} documents, {test} test, {len(items) - test} dev")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
