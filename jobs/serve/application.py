"""An application: a business hands over documents and gets its new limit at once (`helicopter apply`).

The night's code, for one business, without Spark (its tables are read with delta-rs, that business's rows only):
- each document is landed for the night like any other (landing/vouchers/dt=<day>/, the landing contract's files;
  the same file from the same business is the same voucher, landed and counted once);
- it is read and verified against the business's sales as the night does (`silver.vouchers.read_document`), and
  made suspicious when another business handed it over first (the rule of `silver.vouchers.flag_reuse`);
- the voucher features are recomputed from the business's documents, stored, landed earlier and new
  (`feat_voucher.features_of`); every other family is the last night's snapshot (gold.feature_vector);
- the model that scored the business last night and the limit policy decide (`score.decide`), with its overdue
  as the last night knew it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd

from jobs.catalog import contract
from jobs.documents.taxonomy import load_taxonomy
from jobs.errors import FileProblem, UsageError
from jobs.features.feat_voucher import features_of
from jobs.features.feature_vector import families
from jobs.ingest.vouchers import DOCUMENT_SUFFIXES, read_pdf_facts, read_photo_facts
from jobs.landing_writers import voucher_sidecar
from jobs.model import pd_model
from jobs.model.limit_policy import load_policy
from jobs.model.score import decide
from jobs.registry import RegisteredModel
from jobs.settings import Settings
from jobs.silver.vouchers import SALES_HISTORY_DAYS, Rates, flag_reason, read_document

VOUCHER_FAMILY = "vouchers"  # gold.feature_vector's family of gold.feat_voucher
ENTITY_ID = r"^[A-Za-z0-9_-]{1,64}$"  # the contract's entity ids; anything else is refused before any file or query


class ApplicationError(UsageError):
    """An application that cannot be decided now, with the reason (its documents stay landed for the night)."""


@dataclass(frozen=True)
class Document:
    path: Path
    declared_type: str


class Lake:
    """One business's rows of the lakehouse's tables, read with delta-rs, each table at one version (recorded in
    `versions`, for the decision's audit)."""

    def __init__(self, settings: Settings):
        self.settings, self.versions, self.tables = settings, {}, {}

    def rows(self, fqn: str, column: str, values) -> pd.DataFrame:
        """The rows whose `column` is one of `values` (none when the table does not exist yet)."""
        import pyarrow.compute as pc
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        if fqn not in self.tables:
            try:
                self.tables[fqn] = DeltaTable(contract(fqn).path(self.settings))
                self.versions[fqn] = self.tables[fqn].version()
            except TableNotFoundError:
                self.tables[fqn] = None
        table, values = self.tables[fqn], list(values)
        if table is None or not values:
            return pd.DataFrame(columns=contract(fqn).column_names)
        return table.to_pyarrow_dataset().to_table(filter=pc.field(column).isin(values)).to_pandas()


def voucher_id(entity_id: str, content: bytes) -> str:
    """An application's document id: its business and a digest of its bytes."""
    digest = hashlib.sha256(entity_id.encode() + b"\0" + content).hexdigest()
    return f"APP-{entity_id}-{digest[:16]}"


def land(settings: Settings, entity_id: str, doc: Document, submitted_at: dt.datetime) -> dict:
    """Put one document and its sidecar in the landing zone (each file written whole, then renamed into place), once
    however often it is sent; returns the voucher_documents row the night will make of it. A file that is no
    readable PDF or photo, or too large, is refused with the reason and lands nowhere."""
    suffix = doc.path.suffix.lower()
    if doc.declared_type not in load_taxonomy()["types"]:
        raise FileProblem(f"{doc.path.name}: {doc.declared_type!r} is not a type of the voucher taxonomy")
    if suffix not in DOCUMENT_SUFFIXES:
        raise FileProblem(f"{doc.path.name}: not a document the landing takes ({', '.join(DOCUMENT_SUFFIXES)})")
    if doc.path.stat().st_size > settings.application_max_file_bytes:
        raise FileProblem(f"{doc.path.name}: larger than APPLICATION_MAX_FILE_MB")
    _, has_text = read_pdf_facts(doc.path) if suffix == ".pdf" else read_photo_facts(doc.path)
    content = doc.path.read_bytes()
    vid, day = voucher_id(entity_id, content), submitted_at.date()
    vouchers = Path(settings.landing_dir) / "vouchers"
    if landed := sorted(vouchers.glob(f"dt=*/{vid}.json")):  # sent before, on this day or another: that voucher
        return document_row(landed[0])
    folder = vouchers / f"dt={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{vid}{suffix}"
    submitted = submitted_at.isoformat(timespec="seconds")
    sidecar = voucher_sidecar(vid, entity_id, doc.declared_type, submitted, not has_text, target.name, None)
    for path, data in ((target, content), (folder / f"{vid}.json", sidecar.encode())):
        if not path.exists():
            part = path.with_name(f".{path.name}.part")  # the landing's lister skips dot files
            part.write_bytes(data)
            os.replace(part, path)
    return document_row(folder / f"{vid}.json")


def document_row(sidecar: Path) -> dict:
    """The silver.voucher_documents columns the reading needs, of a landed document, from its sidecar."""
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    path = sidecar.with_name(meta["file_name"])
    return {
        "voucher_id": meta["voucher_id"],
        "entity_id": meta["entity_id"],
        "voucher_type": meta["declared_type"],
        "submitted_date": dt.date.fromisoformat(meta["submitted_at"][:10]),
        "arrived_date": dt.date.fromisoformat(sidecar.parent.name.removeprefix("dt=")),
        "image": meta["image"],
        "pdf_path": str(path),
        "ocr_path": None,
        "pdf_checksum": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


def landed_earlier(settings: Settings, entity_id: str, stored: set[str]) -> list[dict]:
    """The business's application documents in the landing zone that no night has read yet (not in `stored`)."""
    pattern = re.compile(rf"APP-{re.escape(entity_id)}-[0-9a-f]{{16}}")
    found = Path(settings.landing_dir).glob(f"vouchers/dt=*/APP-{entity_id}-*.json")
    return [document_row(p) for p in sorted(found) if pattern.fullmatch(p.stem) and p.stem not in stored]


def with_context(doc: dict, sales: pd.DataFrame, registered: dt.date | None) -> dict:
    """A document with what its verification needs (`silver.vouchers.with_context`, for one business): the sales of
    the SALES_HISTORY_DAYS up to its submission, the first sale seen and the registration date."""
    submitted = doc["submitted_date"]
    within = sales[(sales["day"] <= submitted) & (sales["day"] > submitted - dt.timedelta(days=SALES_HISTORY_DAYS))]
    first = sales["day"].min() if len(sales) else None
    return doc | {"sales": within.to_dict("records"), "first_sale": first, "registered": registered}


def sales_of(lake: Lake, entity_id: str) -> pd.DataFrame:
    """(day, sales) of what the lakehouse saw the business sell: its payments by day and its sales orders."""
    daily = lake.rows("silver.txn_daily", "entity_id", [entity_id])
    orders = lake.rows("silver.trade_records", "payee_id", [entity_id])
    orders = orders[orders["record_type"] == "order"]
    return pd.concat(
        [
            pd.DataFrame({"day": daily["txn_date"], "sales": daily["gmv"].astype("float64")}),
            pd.DataFrame({"day": orders["trade_date"], "sales": orders["amount"].astype("float64")}),
        ],
        ignore_index=True,
    )


def reused(read: list[dict], held: pd.DataFrame) -> list[dict]:
    """The new documents with those another business handed over first (among `held`, the stored documents of the
    same reuse keys) made suspicious, as `silver.vouchers.flag_reuse` decides at night."""
    columns = ["voucher_id", "entity_id", "submitted_date", "reuse_key"]
    everyone = pd.concat([held[columns], pd.DataFrame(read, columns=columns)], ignore_index=True)
    first = everyone.dropna(subset=["reuse_key"]).sort_values(["submitted_date", "voucher_id"])
    first = first.drop_duplicates("reuse_key").set_index("reuse_key")
    out = []
    for row in read:
        holder = first.loc[row["reuse_key"]] if row["reuse_key"] in first.index else None
        if holder is not None and holder["entity_id"] != row["entity_id"]:
            row = row | flag_reason(row["status"], row["reasons"], holder["voucher_id"])
        out.append(row)
    return out


def last_night(lake: Lake, entity_id: str) -> tuple[pd.Series, pd.Series]:
    """The business's latest limit and its feature vector of that night."""
    limits = lake.rows("gold.preapproved_limits", "entity_id", [entity_id])
    if limits.empty:
        raise ApplicationError(f"{entity_id} has no limit yet: a business is decided on demand once a night knows it")
    limit = limits.sort_values("as_of_date").iloc[-1]
    vectors = lake.rows(pd_model.FEATURE_TABLE, "entity_id", [entity_id])
    vector = vectors[vectors["as_of_date"] == limit["as_of_date"]]
    return limit, vector.iloc[0]


def decide_row(lake: Lake, vector: pd.Series, model_version: str) -> pd.Series:
    """One business's feature vector (with `overdue`) scored by a registered model and sized by the limit policy, by
    the function the night maps over its batches (`score.decide`)."""
    model = RegisteredModel.from_row(lake.rows(pd_model.REGISTRY, "model_version", [model_version]).iloc[0].to_dict())
    booster = bytearray(Path(model.artifact_path).read_bytes())
    decided = decide(booster, pd_model.model_spec(model), pd_model.rounds(model), load_policy())
    frame = pd.DataFrame([vector])  # one row of mixed values: each column typed as the night's batches have it
    numbers = [c.name for c in contract(pd_model.FEATURE_TABLE).columns if c.type in ("double", "int", "long")]
    frame[numbers] = frame[numbers].astype("float64")
    return next(decided(iter([frame]))).iloc[0]


def contribution(doc: Document, landed: dict | str, by_id: dict) -> dict:
    """What one document of an application came to: refused (not landed) with the reason, or read with its status."""
    told = {"file": doc.path.name, "declared_type": doc.declared_type}
    if isinstance(landed, str):
        return told | {"status": "refused", "reasons": [landed]}
    row = by_id[landed["voucher_id"]]
    return told | {"voucher_id": row["voucher_id"], "status": row["status"], "reasons": list(row["reasons"])}


@contextmanager
def one_at_a_time(settings: Settings, entity_id: str):
    """Hold the business's application lock (a file lock: across the threads and processes of this machine), so
    that its applications are decided one after another while other businesses' go on."""
    folder = Path(settings.lakehouse_root) / "_applications"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{entity_id}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def apply(settings: Settings, entity_id: str, documents: list[Document], now: dt.datetime | None = None) -> dict:
    """Land, read and verify the documents, then decide the business's limit as of today (one application of a
    business at a time); returns the decision (a gold.decisions row, dates as ISO text) with what each document
    contributed."""
    if not re.fullmatch(ENTITY_ID, entity_id):
        raise UsageError(f"{entity_id!r} is not an entity id (letters, digits, _ and -, at most 64)")
    with one_at_a_time(settings, entity_id):
        decision = decided(settings, entity_id, documents, now)
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in decision.items()}  # dates as ISO text


def decided(settings: Settings, entity_id: str, documents: list[Document], now: dt.datetime | None) -> dict:
    from jobs.pii import token_key
    from jobs.serve import store

    now = now or dt.datetime.now().astimezone()
    day, lake = now.date(), Lake(settings)
    limit, vector = last_night(lake, entity_id)
    stored = lake.rows("silver.vouchers", "entity_id", [entity_id])
    landed: list[dict | str] = []  # per document: its voucher_documents row, or why it was refused
    for doc in documents:
        try:
            landed.append(land(settings, entity_id, doc, now))
        except FileProblem as e:
            landed.append(str(e))
    unread = landed_earlier(settings, entity_id, set(stored["voucher_id"]))  # these and any landed before

    sales = sales_of(lake, entity_id)
    entity = lake.rows("silver.entities", "entity_id", [entity_id])
    registered = entity["registered_date"].iloc[0] if len(entity) else None
    rates = Rates(settings.reporting_currency, {})  # documents in another currency are decided at night
    key = token_key(settings)
    read = [read_document(with_context(d, sales, registered), key, rates) for d in unread]
    held = lake.rows("silver.vouchers", "reuse_key", {r["reuse_key"] for r in read if r["reuse_key"]})
    read = reused(read, held[~held["voucher_id"].isin([r["voucher_id"] for r in read])])

    vouchers = pd.concat([stored, pd.DataFrame(read)], ignore_index=True)
    foreign = set(vouchers["currency"].dropna()) - {settings.reporting_currency}
    if foreign:
        raise ApplicationError(
            f"{entity_id}'s documents state amounts in {', '.join(sorted(foreign))}: amounts in another currency "
            "are converted at night, and the documents are landed for it"
        )
    features = features_of(vouchers.assign(as_of_date=day))
    voucher_columns = [c.name for c in contract(families()[VOUCHER_FAMILY]).features]
    row = vector.copy()
    row["as_of_date"] = day
    row["days_registered"] = float((day - registered).days) if registered is not None else row["days_registered"]
    row[voucher_columns] = features[voucher_columns].iloc[0] if len(features) else None
    row[f"has_{VOUCHER_FAMILY}"] = int(len(features) > 0)
    row["overdue"] = "ACTIVE_OVERDUE" in list(limit["reason_codes"])
    result = decide_row(lake, row, limit["model_version"])

    by_id = {r["voucher_id"]: r for r in read} | {r["voucher_id"]: r for r in stored.to_dict("records")}
    decision = {
        "decision_id": uuid.uuid4().hex,
        "entity_id": entity_id,
        "decided_at": now,
        "as_of_date": day,
        "documents": [contribution(doc, d, by_id) for doc, d in zip(documents, landed, strict=True)],
        "input_versions": lake.versions,
        "voucher_features": {c: (None if pd.isna(row[c]) else float(row[c])) for c in voucher_columns},
        "model_version": limit["model_version"],
        "policy_version": result["policy_version"],
        "pd": float(result["pd"]),
        "decision": result["decision"],
        "limit_amount": float(result["limit_amount"]),
        "currency": result["currency"],
        "reason_codes": list(result["reason_codes"]),
        "previous_as_of_date": limit["as_of_date"],
        "previous_limit_amount": float(limit["limit_amount"]),
    }
    record(settings, decision)
    served = {f: decision[f] for f in store.FIELDS if f in decision} | {"segment": vector["segment"]}
    served |= {"as_of_date": day.isoformat(), store.DECIDED_AT: now.isoformat(timespec="seconds")}
    store.decided_on_demand(store.engine(settings.serving_url), served)
    return decision


def record(settings: Settings, decision: dict) -> None:
    """Append a decision to gold.decisions (delta-rs), its nested parts as JSON."""
    import pyarrow as pa
    from deltalake import write_deltalake

    c = contract("gold.decisions")
    as_json = {k: json.dumps(decision[k]) for k in ("documents", "input_versions", "voucher_features")}
    amounts = {k: Decimal(f"{decision[k]:.2f}") for k in ("limit_amount", "previous_limit_amount")}
    row = decision | as_json | amounts | {"decided_at": decision["decided_at"].astimezone(dt.UTC)}
    table = pa.Table.from_pylist([row], schema=c.arrow_schema())
    write_deltalake(c.path(settings), table, mode="append")
