"""A document's type read from its content, so that a declared type the content disagrees with is flagged.

The types are the taxonomy's; two types printed alike, one party's purchase invoice being the other's sales invoice,
are one form (the taxonomy's `same_form_as`). The model is an XGBoost softmax over the hashed words of the document
(its titles, its labels and the words they hold, each word and its character 4-grams) and the type names it prints,
learnt from documents of every type (`python -m evaluation.reader_training`) and shipped in
`models/document_type.ubj`.

A type's names are the taxonomy's `names`, in many languages. A name found in the text is read as its form, whatever
its language (`Rechnung`, `FACTUUR`, `发票` are all the invoice's), and its words leave the hashed ones: the model
learns what a name means from documents in a few languages and reads it in all the others.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np

from jobs.documents.candidates import HASH_BUCKETS, context_hashes
from jobs.documents.ranker import MODELS
from jobs.documents.taxonomy import load_taxonomy

MODEL = MODELS / "document_type.ubj"  # not .json: the field models are the folder's JSON files
PARAMS = {"objective": "multi:softprob", "tree_method": "hist", "max_depth": 4, "eta": 0.3, "nthread": 1, "seed": 11}
ROUNDS = 60
WORDS = 400  # the first words of a document that are read for its type: titles and labels come first
TITLE_LINES = 12  # a type's name on one of the first lines is likely the document's title
COMPOUND_LETTERS = 6  # a one-word name this long is also read as the end of a compound word (Miet|rechnung)
NAME_FEATURES = ("named", "titled", "first")  # per form: a name of it anywhere, in the title lines, the first name


def form_of(voucher_type: str) -> str:
    """The form a type is printed in: its `same_form_as`, else itself."""
    return load_taxonomy()["types"][voucher_type].get("same_form_as", voucher_type)


@cache
def forms() -> list[str]:
    return sorted({form_of(t) for t in load_taxonomy()["types"]})


def fold(text: str) -> str:
    """Lower case without accents: `Relevé` -> `releve`, `Straße` -> `strasse`."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")  # a word, with its inner hyphens and apostrophes (d'avoir)


@dataclass(frozen=True)
class TypeNames:
    """The taxonomy's names, folded, each with its form: those written with spaces by their words (the longest
    first under each first word), and those in scripts written without spaces as one pattern (the longest first)."""

    by_first_word: dict[str, list[tuple[tuple[str, ...], str]]]
    compound_ends: dict[str, str]  # one-word names of COMPOUND_LETTERS or more, also read at the end of a word
    unspaced: re.Pattern | None
    form_of_unspaced: dict[str, str]


@cache
def type_names() -> TypeNames:
    names = {fold(n): form_of(t) for t, spec in load_taxonomy()["types"].items() for n in spec.get("names", [])}
    by_first_word: dict = {}
    for name in sorted((n for n in names if n.isascii()), key=lambda n: -len(n.split())):
        words = tuple(name.split())
        by_first_word.setdefault(words[0], []).append((words, names[name]))
    ends = {n: form for n, form in names.items() if n.isascii() and " " not in n and len(n) >= COMPOUND_LETTERS}
    unspaced = sorted((n for n in names if not n.isascii()), key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, unspaced))) if unspaced else None
    return TypeNames(by_first_word, ends, pattern, {n: names[n] for n in unspaced})


def names_on_line(line: str, names: TypeNames) -> list[tuple[int, int, str]]:
    """(start, end, form) of each type name on a folded line: at each word, the longest name that starts there, else
    the longest name its end is (`mietrechnung` ends with `rechnung`); and the names of unspaced scripts anywhere."""
    words = [(m.group(), m.start(), m.end()) for m in WORD.finditer(line)]
    found, j = [], 0
    while j < len(words):
        word, start, _ = words[j]
        starting = names.by_first_word.get(word, [])
        hit = next(((len(n), form) for n, form in starting if tuple(w for w, _, _ in words[j : j + len(n)]) == n), None)
        if hit is None:
            end = next(
                (word[k:] for k in range(1, len(word) - COMPOUND_LETTERS + 1) if word[k:] in names.compound_ends), None
            )
            hit = (1, names.compound_ends[end]) if end else None
        if hit:
            found.append((start, words[j + hit[0] - 1][2], hit[1]))
        j += hit[0] if hit else 1
    if names.unspaced is not None:
        found += [(m.start(), m.end(), names.form_of_unspaced[m.group()]) for m in names.unspaced.finditer(line)]
    return sorted(found)


def read_names(text: str) -> tuple[list[tuple[str, int]], str]:
    """(form, line) of each type name the text prints, in order, and the folded text without them."""
    names = type_names()
    found, rest = [], []
    for i, line in enumerate(fold(text).splitlines()):
        kept, at = [], 0
        for start, end, form in names_on_line(line, names):
            found.append((form, i))
            kept.append(line[at:start])
            at = max(at, end)
        rest.append(" ".join(kept + [line[at:]]))
    return found, "\n".join(rest)


def features(text: str):
    """The document's presence row: per form NAME_FEATURES, then its other words hashed. The names come first: of two
    features that split the learning documents equally well, XGBoost takes the first, and a name reads in every
    language where a word reads in its own."""
    from scipy.sparse import csr_matrix

    found, rest = read_names(text)
    named = len(NAME_FEATURES) * len(forms())
    columns = {named + h for h in context_hashes("word", rest, WORDS, from_end=False)}
    first = {form: len(NAME_FEATURES) * k for k, form in enumerate(forms())}
    for n, (form, line) in enumerate(found):
        columns.add(first[form])
        if line < TITLE_LINES:
            columns.add(first[form] + 1)
        if n == 0:
            columns.add(first[form] + 2)
    columns = sorted(columns)
    return csr_matrix((np.ones(len(columns)), ([0] * len(columns), columns)), shape=(1, named + HASH_BUCKETS))


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
    booster.set_param({"nthread": 1})  # one reader per core, as the ranker's
    return booster


def classify(text: str, model=None) -> tuple[str, float]:
    """(form, probability) the document's text reads as."""
    import xgboost as xgb

    booster = model or shipped()
    names = booster.attr("forms").split(",")
    probabilities = booster.predict(xgb.DMatrix(features(text), nthread=1))[0]
    best = int(np.argmax(probabilities))
    return names[best], round(float(probabilities[best]), 3)
