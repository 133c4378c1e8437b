"""The serving store (SQLite by default, PostgreSQL when SERVING_URL says so) and its atomic publish.

A publish bulk-loads the night's limits into a new table, verifies row count and checksum against the Delta
source, then swaps it in with the previous version kept, in one transaction: a lookup sees the old night or the
new one, never a mix, never a gap. `rollback` swaps them back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from dataclasses import dataclass

import sqlalchemy as sa

from jobs.errors import ServingError, UnknownEntity

CURRENT, PREVIOUS = "preapproved_limits", "preapproved_limits_previous"
FIELDS = (
    "as_of_date",
    "entity_id",
    "segment",
    "pd",
    "limit_amount",
    "currency",
    "decision",
    "reason_codes",
    "model_version",
    "policy_version",
)  # what a night publishes from gold.preapproved_limits
DECIDED_AT = "decided_at"  # when an application decided the row on demand; null for the night's rows
SERVED = (*FIELDS, DECIDED_AT)


MISSING_TABLE = (sa.exc.OperationalError, sa.exc.ProgrammingError)  # SQLite, PostgreSQL


@dataclass(frozen=True)
class Published:
    as_of_date: str
    model_version: str
    rows: int
    checksum: str
    published_at: str


def engine(url: str, **options) -> sa.Engine:
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    eng = sa.create_engine(url, **options)
    if eng.dialect.name == "sqlite":
        # pysqlite opens transactions only before DML, so a RENAME would commit on its own: take over BEGIN so
        # that the swap's DDL sits in one transaction; WAL lets lookups read while a publish writes
        @sa.event.listens_for(eng, "connect")
        def _connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None
            dbapi_conn.execute("PRAGMA journal_mode=WAL")

        @sa.event.listens_for(eng, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN")

    return eng


def checksum(rows: list[dict]) -> str:
    """Order-independent digest of the served fields, computed the same way on the source and the loaded table."""
    lines = sorted(
        f"{r['entity_id']}|{r['as_of_date']}|{float(r['limit_amount']):.2f}|{float(r['pd']):.10f}|{r['decision']}"
        f"|{r['reason_codes']}|{r['model_version']}"
        for r in rows
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _limits_table(name: str, metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("entity_id", sa.String(64), primary_key=True),
        sa.Column("as_of_date", sa.String(10), nullable=False),
        sa.Column("segment", sa.String(32), nullable=False),
        sa.Column("pd", sa.Float, nullable=False),
        sa.Column("limit_amount", sa.Numeric(18, 2, asdecimal=False), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason_codes", sa.Text, nullable=False),  # JSON array
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column(DECIDED_AT, sa.String(32), nullable=True),
    )


def _meta_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "serving_meta",
        metadata,
        sa.Column("slot", sa.String(64), primary_key=True),  # the table name it describes
        sa.Column("as_of_date", sa.String(10), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("published_at", sa.String(32), nullable=False),
    )


def publish(eng: sa.Engine, rows: list[dict], source_rows: int, source_checksum: str) -> Published:
    """Load `rows` (reason_codes as JSON text) into a new table, verify it against the source, swap it in."""
    if not rows:
        raise ServingError("nothing to publish: no limits for that date")
    as_of = {r["as_of_date"] for r in rows}
    if len(as_of) != 1:
        raise ServingError(f"a publish holds one as-of date, got {sorted(as_of)}")
    now = dt.datetime.now(dt.UTC)
    staging_name = f"limits_staging_{now:%Y%m%d%H%M%S%f}"
    metadata = sa.MetaData()
    staging, meta = _limits_table(staging_name, metadata), _meta_table(metadata)
    metadata.create_all(eng, tables=[staging, meta])
    try:
        with eng.begin() as conn:
            _bulk_load(conn, staging, rows)
        with eng.connect() as conn:
            loaded = [dict(r._mapping) for r in conn.execute(sa.select(*[staging.c[f] for f in FIELDS]))]
        if len(loaded) != source_rows or checksum(loaded) != source_checksum:
            raise ServingError(
                f"verification failed: loaded {len(loaded)} rows, checksum {checksum(loaded)[:12]}; "
                f"the Delta source has {source_rows} rows, checksum {source_checksum[:12]}"
            )
        published = Published(as_of.pop(), rows[0]["model_version"], len(loaded), source_checksum, now.isoformat())
        with eng.begin() as conn:  # the swap: one transaction
            inspector_names = sa.inspect(conn).get_table_names()
            if PREVIOUS in inspector_names:
                conn.exec_driver_sql(f"DROP TABLE {PREVIOUS}")
            conn.execute(meta.delete().where(meta.c.slot == PREVIOUS))
            if CURRENT in inspector_names:
                conn.exec_driver_sql(f"ALTER TABLE {CURRENT} RENAME TO {PREVIOUS}")
                conn.execute(meta.update().where(meta.c.slot == CURRENT).values(slot=PREVIOUS))
            conn.exec_driver_sql(f"ALTER TABLE {staging_name} RENAME TO {CURRENT}")
            conn.execute(meta.insert().values(slot=CURRENT, **published.__dict__))
    except Exception:
        with eng.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {staging_name}")
        raise
    return published


def _bulk_load(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """COPY on PostgreSQL, one executemany of tuples on SQLite: the fast path of each driver."""
    columns = [c.name for c in table.columns if c.name != DECIDED_AT]  # a night's rows are decided by the night
    tuples = [tuple(r[c] for c in columns) for r in rows]
    cursor = conn.connection.dbapi_connection.cursor()
    if conn.dialect.name == "postgresql":
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for t in tuples:
                copy.write_row(t)
    else:
        marks = ", ".join("?" for _ in columns)
        cursor.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", tuples)


def rollback(eng: sa.Engine) -> Published:
    """Swap the previous version back in (the current one becomes the previous), in one transaction."""
    meta = _meta_table(sa.MetaData())
    with eng.begin() as conn:
        names = sa.inspect(conn).get_table_names()
        if PREVIOUS not in names or CURRENT not in names:
            raise ServingError("nothing to roll back to: no previous version is kept")
        conn.exec_driver_sql(f"ALTER TABLE {CURRENT} RENAME TO limits_rollback_swap")
        conn.exec_driver_sql(f"ALTER TABLE {PREVIOUS} RENAME TO {CURRENT}")
        conn.exec_driver_sql(f"ALTER TABLE limits_rollback_swap RENAME TO {PREVIOUS}")
        conn.execute(meta.update().where(meta.c.slot == CURRENT).values(slot="swap"))
        conn.execute(meta.update().where(meta.c.slot == PREVIOUS).values(slot=CURRENT))
        conn.execute(meta.update().where(meta.c.slot == "swap").values(slot=PREVIOUS))
    return current(eng)


def current(eng: sa.Engine) -> Published:
    meta = _meta_table(sa.MetaData())
    try:
        with eng.connect() as conn:
            row = conn.execute(sa.select(meta).where(meta.c.slot == CURRENT)).first()
    except MISSING_TABLE:
        row = None
    if row is None:
        raise ServingError("no limits have been published yet: run `helicopter publish --as-of DATE`")
    data = dict(row._mapping)
    data.pop("slot")
    return Published(**data)


def decided_on_demand(eng: sa.Engine, row: dict) -> None:
    """Replace one business's served limit with an application's decision (`row`: the FIELDS, reason_codes as a
    list, and DECIDED_AT), in one transaction: a lookup sees the old row or the new one. The next night's publish
    replaces it with the night's."""
    table = _limits_table(CURRENT, sa.MetaData())
    values = {f: row[f] for f in SERVED if f != "entity_id"} | {"reason_codes": json.dumps(list(row["reason_codes"]))}
    try:
        with eng.begin() as conn:
            updated = conn.execute(table.update().where(table.c.entity_id == row["entity_id"]).values(**values))
            if updated.rowcount == 0:
                conn.execute(table.insert().values(entity_id=row["entity_id"], **values))
    except MISSING_TABLE:
        raise ServingError(NOT_PUBLISHED) from None


def _limit(row) -> dict:
    found = dict(zip(SERVED, row, strict=True))
    found["reason_codes"] = json.loads(found["reason_codes"])
    found["limit_amount"] = float(found["limit_amount"])  # NUMERIC arrives as Decimal from PostgreSQL's driver
    return found


def _lookup_sql(dialect: str) -> str:
    mark = "%s" if dialect == "postgresql" else "?"
    return f"SELECT {', '.join(SERVED)} FROM {CURRENT} WHERE entity_id = {mark}"


NOT_PUBLISHED = "no limits have been published yet: run `helicopter publish --as-of DATE`"


def lookup(eng: sa.Engine, entity_id: str) -> dict:
    """The published limit of one entity, with its as-of date, model and policy versions."""
    try:
        with eng.connect() as conn:
            row = conn.exec_driver_sql(_lookup_sql(eng.dialect.name), (entity_id,)).first()
    except MISSING_TABLE:
        raise ServingError(NOT_PUBLISHED) from None
    if row is None:
        raise UnknownEntity(f"unknown entity {entity_id!r}: it has no published limit")
    return _limit(row)


class Reader:
    """The hot path of lookups: one raw driver connection per thread, in autocommit, so each lookup is a single
    indexed read of whichever version is current at that instant (a swap is atomic, so never a mix)."""

    def __init__(self, eng: sa.Engine):
        # connections of its own, outside the engine's bounded pool: one per thread, kept for the thread's life
        self.eng = engine(eng.url.render_as_string(hide_password=False), poolclass=sa.pool.NullPool)
        self.sql = _lookup_sql(eng.dialect.name)
        self.local = threading.local()

    def _cursor(self):
        cursor = getattr(self.local, "cursor", None)
        if cursor is None:
            raw = self.eng.raw_connection()
            if self.eng.dialect.name == "postgresql":
                raw.dbapi_connection.autocommit = True
            self.local.raw, self.local.cursor = raw, raw.cursor()
            cursor = self.local.cursor
        return cursor

    def get(self, entity_id: str) -> dict:
        cursor = self._cursor()
        try:
            cursor.execute(self.sql, (entity_id,))
            row = cursor.fetchone()
        except self.eng.dialect.loaded_dbapi.Error as e:
            if "preapproved_limits" in str(e) or "no such table" in str(e):
                raise ServingError(NOT_PUBLISHED) from None
            raise
        if row is None:
            raise UnknownEntity(f"unknown entity {entity_id!r}: it has no published limit")
        return _limit(row)


def first_entity(eng: sa.Engine, decision: str = "approved") -> str:
    """The first published entity (by id) with that decision: an example for the demo and smoke checks."""
    table = _limits_table(CURRENT, sa.MetaData())
    with eng.connect() as conn:
        found = conn.execute(
            sa.select(table.c.entity_id).where(table.c.decision == decision).order_by(table.c.entity_id).limit(1)
        ).scalar()
    if found is None:
        raise ServingError(f"no published entity is {decision}")
    return found
