"""A document's type read from its content, so that a declared type the content disagrees with is flagged.

The types are the taxonomy's; two types printed alike, one party's purchase invoice being the other's sales invoice,
are one form (the taxonomy's `same_form_as`). The model is an XGBoost softmax over the hashed words of the document
(its titles, its labels and the words they hold, each word and its character 4-grams), learnt from documents of every
type (`python -m evaluation.reader_training`) and shipped in `models/document_type.ubj`.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from jobs.documents.candidates import HASH_BUCKETS, context_hashes
from jobs.documents.ranker import MODELS
from jobs.documents.taxonomy import load_taxonomy

MODEL = MODELS / "document_type.ubj"  # not .json: the field models are the folder's JSON files
PARAMS = {"objective": "multi:softprob", "tree_method": "hist", "max_depth": 4, "eta": 0.3, "nthread": 1, "seed": 11}
ROUNDS = 60
WORDS = 400  # the first words of a document that are read for its type: titles and labels come first


def form_of(voucher_type: str) -> str:
    """The form a type is printed in: its `same_form_as`, else itself."""
    return load_taxonomy()["types"][voucher_type].get("same_form_as", voucher_type)


def forms() -> list[str]:
    return sorted({form_of(t) for t in load_taxonomy()["types"]})


def features(text: str):
    """The document's words as a sparse row of hashed presence."""
    from scipy.sparse import csr_matrix

    buckets = sorted(set(context_hashes("word", text, WORDS, from_end=False)))
    return csr_matrix((np.ones(len(buckets)), ([0] * len(buckets), buckets)), shape=(1, HASH_BUCKETS))


def fit(texts: list[str], types: list[str]):
    """A type model learnt from documents' texts and their types."""
    import xgboost as xgb
    from scipy.sparse import vstack

    names = forms()
    labels = [names.index(form_of(t)) for t in types]
    data = xgb.DMatrix(vstack([features(t) for t in texts]), label=labels)
    booster = xgb.train(PARAMS | {"num_class": len(names)}, data, ROUNDS)
    booster.set_attr(forms=",".join(names))
    return booster


@cache
def shipped():
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(MODEL)
    return booster


def classify(text: str, model=None) -> tuple[str, float]:
    """(form, probability) the document's text reads as."""
    import xgboost as xgb

    booster = model or shipped()
    names = booster.attr("forms").split(",")
    probabilities = booster.predict(xgb.DMatrix(features(text)))[0]
    best = int(np.argmax(probabilities))
    return names[best], round(float(probabilities[best]), 3)
