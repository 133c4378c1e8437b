"""Which candidate is each key field: one XGBoost model per field scores every candidate of the field's kind, and the
highest-scoring one is the field's value, its score the confidence.

The models are learnt from documents whose fields are known (simulated documents, whose truth is what the simulator
drew, and the development split of the real labelled sets: `python -m evaluation.reader_training`) and shipped with
the package (`jobs/documents/models/`). A field a document may not print (a recipient, a due date, a tax) has no
candidate above MIN_SCORE; the fields every document prints (ALWAYS_PRINTED) are read whatever the best score, which
is then a low confidence.
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
ALWAYS_PRINTED = {"issuer", "issue_date", "total"}
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
# What a field's score may only rise or fall with, all else equal: an issuer heads its document (its letterhead or
# logo, above the recipient and the items) and is printed large.
MONOTONE = {"issuer": {"y": -1, "line_rank": -1, "size": 1}}


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


def fit(
    field_name: str, documents: list[tuple[list[Candidate], list[int]]], weights: list[float] | None = None
) -> dict:
    """A field's model from documents: (candidates of the field's kind, 0/1 labels), each document weighing its
    weight (1 by default). Returns the saved form."""
    import xgboost as xgb

    names = sorted({n for candidates, _ in documents for c in candidates for n in c.dense})
    candidates = [c for cs, _ in documents for c in cs]
    labels = np.array([y for _, ys in documents for y in ys], dtype=float)
    weights = weights or [1.0] * len(documents)
    weight = np.array([w for (cs, _), w in zip(documents, weights) for _ in cs], dtype=float)
    shape = MONOTONE.get(field_name)
    params = PARAMS | (
        {"monotone_constraints": "(" + ",".join(str(shape.get(n, 0)) for n in names) + ")"} if shape else {}
    )
    booster = xgb.train(params, xgb.DMatrix(matrix(candidates, names), label=labels, weight=weight), ROUNDS)
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
    booster.set_param({"nthread": 1})  # a saved model forgets it; two readers on two cores would fight over both
    return saved["features"], booster


@cache
def shipped() -> dict:
    """The field models shipped with the package, by field."""
    return {p.stem: usable(json.loads(p.read_text(encoding="utf-8"))) for p in sorted(MODELS.glob("*.json"))}


DISTINCT = [("issuer", "recipient")]  # fields that never name the same thing: a document's two parties


def choose(candidates: dict[str, list[Candidate]], models: dict | None = None) -> dict[str, tuple[Candidate, float]]:
    """Each field's best candidate and its score, for the fields ALWAYS_PRINTED and those with one above MIN_SCORE
    (the shipped models, or `models`: field -> (feature names, booster)). The fields of one kind score one matrix of
    its candidates. Two DISTINCT fields take the pair of different values with the highest joint score."""
    import xgboost as xgb

    models = shipped() if models is None else models
    scored, matrices = {}, {}
    for field_name, kind in FIELD_KINDS.items():
        found = candidates.get(kind, [])
        if not found or field_name not in models:
            continue
        names, booster = models[field_name]
        key = (kind, tuple(names))
        if key not in matrices:
            matrices[key] = xgb.DMatrix(matrix(found, names), nthread=1)
        scored[field_name] = (found, booster.predict(matrices[key]))
    chosen = {}
    for field_name, (found, score) in scored.items():
        best = int(np.argmax(score))
        if score[best] >= MIN_SCORE or field_name in ALWAYS_PRINTED:
            chosen[field_name] = (found[best], float(score[best]))
    for a, b in DISTINCT:
        if a in chosen and b in chosen and chosen[a][0].value == chosen[b][0].value:
            for name in (a, b):
                chosen.pop(name)
            chosen |= distinct_pair(a, b, scored)
    return chosen


def distinct_pair(a: str, b: str, scored: dict) -> dict[str, tuple[Candidate, float]]:
    """The fields `a` and `b` set to the two different values, among each one's five best, whose scores multiply
    highest; either is left unread below MIN_SCORE unless always printed."""
    (found_a, score_a), (found_b, score_b) = scored[a], scored[b]
    pairs = [(score_a[i] * score_b[j], i, j) for i in np.argsort(-score_a)[:5] for j in np.argsort(-score_b)[:5]]
    pairs = [p for p in pairs if found_a[p[1]].value != found_b[p[2]].value]
    if not pairs:
        return {}
    _, i, j = max(pairs, key=lambda p: p[0])
    chosen = {a: (found_a[i], float(score_a[i])), b: (found_b[j], float(score_b[j]))}
    return {name: pick for name, pick in chosen.items() if pick[1] >= MIN_SCORE or name in ALWAYS_PRINTED}
