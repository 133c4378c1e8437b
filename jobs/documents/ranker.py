"""Which candidate is each key field: one XGBoost model per field scores every candidate of the field's kind, and the
highest-scoring one is the field's value, its score the confidence.

The models are learnt from documents whose fields are known (simulated documents, whose truth is what the simulator
drew, and the development split of the real labelled sets: `python -m evaluation.reader_training`) and shipped with
the package (`jobs/documents/models/`). A field a document does not print has no candidate above MIN_SCORE.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from jobs.documents.candidates import HASH_BUCKETS, Candidate

MODELS = Path(__file__).with_name("models")
FIELD_KINDS = {
    "issuer": "party",
    "recipient": "party",
    "issue_date": "date",
    "due_date": "date",
    "period_start": "date",
    "period_end": "date",
    "document_number": "identifier",
    "total": "amount",
    "net": "amount",
    "tax": "amount",
}
MIN_SCORE = 0.01  # the best candidate is the reading, its score the confidence; below this, none is
PARAMS = {
    "objective": "binary:logistic",
    "tree_method": "hist",
    "max_depth": 6,
    "eta": 0.1,
    "min_child_weight": 2,
    "subsample": 0.9,
    "colsample_bytree": 0.5,
    "eval_metric": "logloss",
    "nthread": 1,
    "seed": 11,
}
ROUNDS = 300


def matrix(candidates: list[Candidate], names: list[str]):
    """Candidates as a sparse matrix: the dense features in `names`' order, then the hashed context buckets."""
    from scipy.sparse import csr_matrix

    rows, columns, values = [], [], []
    index = {n: i for i, n in enumerate(names)}
    for r, c in enumerate(candidates):
        for name, value in c.dense.items():
            if name in index and value:
                rows.append(r), columns.append(index[name]), values.append(float(value))
        for b in set(c.hashed):
            rows.append(r), columns.append(len(names) + b), values.append(1.0)
    return csr_matrix((values, (rows, columns)), shape=(len(candidates), len(names) + HASH_BUCKETS))


def fit(field_name: str, documents: list[tuple[list[Candidate], list[int]]]) -> dict:
    """A field's model from documents: (candidates of the field's kind, 0/1 labels). Returns the saved form."""
    import xgboost as xgb

    names = sorted({n for candidates, _ in documents for c in candidates for n in c.dense})
    candidates = [c for cs, _ in documents for c in cs]
    labels = np.array([y for _, ys in documents for y in ys], dtype=float)
    booster = xgb.train(PARAMS, xgb.DMatrix(matrix(candidates, names), label=labels), ROUNDS)
    return {"field": field_name, "features": names, "booster": booster.save_raw("json").decode()}


def save(model: dict) -> Path:
    MODELS.mkdir(exist_ok=True)
    path = MODELS / f"{model['field']}.json"
    path.write_text(json.dumps(model, separators=(",", ":")), encoding="utf-8")
    return path


def usable(saved: dict):
    """(feature names, booster) of a model in its saved form."""
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(bytearray(saved["booster"].encode()))
    return saved["features"], booster


@cache
def shipped() -> dict:
    """The field models shipped with the package, by field."""
    return {p.stem: usable(json.loads(p.read_text(encoding="utf-8"))) for p in sorted(MODELS.glob("*.json"))}


def scores(model, candidates: list[Candidate]) -> np.ndarray:
    import xgboost as xgb

    names, booster = model
    return booster.predict(xgb.DMatrix(matrix(candidates, names)))


def choose(candidates: dict[str, list[Candidate]], models: dict | None = None) -> dict[str, tuple[Candidate, float]]:
    """Each field's best candidate and its score, for the fields with one above MIN_SCORE (the shipped models, or
    `models`: field -> (feature names, booster))."""
    models = shipped() if models is None else models
    chosen = {}
    for field_name, kind in FIELD_KINDS.items():
        found = candidates.get(kind, [])
        if not found or field_name not in models:
            continue
        score = scores(models[field_name], found)
        best = int(np.argmax(score))
        if score[best] >= MIN_SCORE:
            chosen[field_name] = (found[best], float(score[best]))
    return chosen
