"""The table catalog: contracts in `schemas/<layer>/<name>.yaml` are the single source of every schema.

A contract lists columns (type in Spark DDL, nullability, description, PII flag, feature metadata), keys and
partitioning, and names what produces the table (`produced_by`: the pipeline step and the module whose `run` writes
it) and what it is computed from (`reads`). Every list of tables or steps is derived from them: the pipeline's
steps, the DAGs' outlets, the reports. `columns_from` pulls in the columns of other contracts (landing columns,
shared lineage), and `families` (name -> feature table) appends the feature columns of those tables, so nothing is
written twice.
Tables live at `$LAKEHOUSE_ROOT/<layer>/<name>`, and `helicopter sql` knows them as `<layer>.<name>`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from functools import cache
from graphlib import TopologicalSorter
from pathlib import Path

import yaml

from jobs.errors import ContractError
from jobs.settings import Settings

log = logging.getLogger(__name__)
SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
LAYERS = ("bronze", "silver", "gold", "quarantine")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    description: str = ""
    pii: bool = False
    feature: dict | None = None


@dataclass(frozen=True)
class Contract:
    layer: str
    name: str
    description: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    step: str = ""  # the pipeline step that writes it (ingest, features, train, score)
    module: str = ""  # the module whose `run` writes it
    reads: tuple[str, ...] = ()  # the tables (and landing sources) it is computed from
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def fqn(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def features(self) -> list[Column]:
        return [c for c in self.columns if c.feature is not None]

    def path(self, settings: Settings) -> str:
        return settings.table_path(self.layer, self.name)

    def arrow_schema(self):
        import pyarrow as pa

        return pa.schema([pa.field(c.name, arrow_type(c.type), c.nullable) for c in self.columns])

    def struct_type(self):
        from pyspark.sql.types import StructField, StructType

        return StructType([StructField(c.name, spark_type(c.type), c.nullable) for c in self.columns])


@cache
def spark_type(ddl: str):
    """The Spark type a contract's type string names (parsed by the JVM once per string)."""
    from pyspark.sql.types import DataType

    return DataType.fromDDL(ddl)


def arrow_type(ddl: str):
    """The Arrow type of a contract's type string, without Spark (for writers that run without it, such as an
    application's decision): the primitive types, decimals and arrays of them; timestamps in UTC."""
    import pyarrow as pa

    primitive = {
        "string": pa.string(), "double": pa.float64(), "long": pa.int64(), "bigint": pa.int64(), "int": pa.int32(),
        "integer": pa.int32(), "boolean": pa.bool_(), "date": pa.date32(), "timestamp": pa.timestamp("us", "UTC"),
        "binary": pa.binary(),
    }  # fmt: skip
    ddl = ddl.strip().lower()
    if ddl in primitive:
        return primitive[ddl]
    if decimal := re.fullmatch(r"decimal\((\d+),\s*(\d+)\)", ddl):
        return pa.decimal128(int(decimal[1]), int(decimal[2]))
    if ddl.startswith("array<") and ddl.endswith(">"):
        return pa.list_(arrow_type(ddl[len("array<") : -1]))
    raise ContractError(f"no Arrow type for the contract type {ddl!r}")


def contract_file(folder: Path, fqn: str, suffix: str) -> Path:
    """`<folder>/<layer>/<name><suffix>`: where a table's contract, suite or other side file lives."""
    layer, name = fqn.split(".", 1)
    path = folder / layer / f"{name}{suffix}"
    if not path.exists():
        raise ContractError(f"nothing for {fqn} in {folder.name}/ (expected {path})")
    return path


@cache
def _read(fqn: str) -> dict:
    """A contract file as written (parsed once a process: every step asks for its contracts many times)."""
    return yaml.load(contract_file(SCHEMAS_DIR, fqn, ".yaml").read_text(), Loader=yaml.CSafeLoader)


@cache
def contract(fqn: str) -> Contract:
    """The contract of `<layer>.<name>`, with `columns_from` expanded."""
    doc = _read(fqn)
    columns: list[Column] = []
    for other in doc.get("columns_from", []):
        inherited = contract(other).columns
        if other.startswith("landing."):  # stored as landed: any field may be missing
            inherited = tuple(replace(c, nullable=True) for c in inherited)
        columns.extend(inherited)
    columns.extend(Column(**c) for c in doc.get("columns", []))
    for family in doc.get("families", {}).values():  # null where the business lacks the family
        columns.extend(replace(c, nullable=True) for c in contract(family).features)
    names = [c.name for c in columns]
    if len(names) != len(set(names)):
        raise ContractError(f"contract {fqn} repeats a column: {names}")
    known = {"name", "layer", "description", "columns", "columns_from", "keys", "partition_by", "fragment"}
    known |= {"produced_by", "reads", "file_from", "file"}
    producer = doc.get("produced_by", {})
    file_rules = {}  # a landing file's rules: its fragments', then its own
    for other in doc.get("file_from", []):
        file_rules |= contract(other).extra["file"]
    file_rules |= doc.get("file", {})
    return Contract(
        layer=doc["layer"],
        name=doc["name"],
        description=" ".join(doc.get("description", "").split()),
        columns=tuple(columns),
        keys=tuple(doc.get("keys", ())),
        partition_by=tuple(doc.get("partition_by", ())),
        step=producer.get("step", ""),
        module=producer.get("module", ""),
        reads=tuple(doc.get("reads", ())),
        extra={k: v for k, v in doc.items() if k not in known} | ({"file": file_rules} if file_rules else {}),
    )


def all_contracts(layers: tuple[str, ...] = LAYERS) -> list[Contract]:
    """Every table contract of the given layers (fragments excluded)."""
    found = []
    for layer in layers:
        for path in sorted((SCHEMAS_DIR / layer).glob("*.yaml")):
            if not _read(f"{layer}.{path.stem}").get("fragment"):
                found.append(contract(f"{layer}.{path.stem}"))
    return found


def tables_of(step: str) -> list[str]:
    """The tables a pipeline step writes."""
    return [c.fqn for c in all_contracts() if c.step == step]


# each step's own record of its runs, written by the module that runs the step: not one of the step's producers
STEP_RECORDERS = {"ingest": "jobs.ingest.source", "features": "jobs.features.step"}


def producers(step: str) -> list[str]:
    """The modules that write the tables of `step`, each once, ordered so that a table is written after the tables
    it reads (a module reading its own earlier snapshots is no dependency); the step's recorder is not one."""
    written = [c for c in all_contracts() if c.step == step and c.module != STEP_RECORDERS.get(step)]
    module_of = {c.fqn: c.module for c in written}
    graph: dict[str, set[str]] = {m: set() for m in sorted({c.module for c in written})}
    for c in written:
        graph[c.module] |= {module_of[t] for t in c.reads if t in module_of and module_of[t] != c.module}
    return list(TopologicalSorter(graph).static_order())


def ingest_sources() -> list[str]:
    """The landing sources, in the order a night loads them (a source whose rows name businesses after the registry):
    the `jobs.ingest.<source>` modules that produce tables."""
    prefix = "jobs.ingest."
    return [m.removeprefix(prefix) for m in producers("ingest") if m.startswith(prefix)]


def source_tables(source: str, layer: str = "silver") -> list[str]:
    """The tables of `layer` that ingesting `source` writes."""
    return [c.fqn for c in all_contracts((layer,)) if c.module == f"jobs.ingest.{source}"]


_ensured: dict[str, str] = {}  # fqn -> location this process created or checked it at


def add_new_columns(spark, c: Contract, location: str) -> None:
    """Bring a table created under an older contract up to it: the contract's columns it lacks are added, null in the
    rows written before. A new column that may not be null cannot be added so: the table has to be rebuilt."""

    def missing() -> list[Column]:
        have = {name.lower() for name in spark.read.format("delta").load(location).columns}
        return [col for col in c.columns if col.name.lower() not in have]

    if not (new := missing()):
        return
    if required := [col.name for col in new if not col.nullable]:
        raise ContractError(f"{c.fqn}: the table lacks its contract's non-null columns {required}; rebuild it")
    table = "delta.`" + location.replace("`", "``") + "`"
    try:
        spark.sql(f"ALTER TABLE {table} ADD COLUMNS ({', '.join(f'`{col.name}` {col.type}' for col in new)})")
    except Exception:
        if missing():  # unless another job added them first
            raise
    log.warning(
        "%s: the contract's new columns %s are added (null in rows written before)", c.fqn, [n.name for n in new]
    )


def ensure_table(spark, settings: Settings, fqn: str) -> Contract:
    """Create the Delta table from its contract if it does not exist yet (or add the columns the contract gained
    since). Its name in Spark SQL is `register_all`'s concern: the night reads and writes tables by path."""
    from delta.tables import DeltaTable

    c = contract(fqn)
    location = c.path(settings)
    if _ensured.get(fqn) == location:
        return c
    builder = DeltaTable.createIfNotExists(spark).location(location).addColumns(c.struct_type()).comment(c.description)
    if c.partition_by:
        builder = builder.partitionedBy(*c.partition_by)
    builder.execute()
    add_new_columns(spark, c, location)
    _ensured[fqn] = location
    return c


def register_all(spark, settings: Settings) -> list[str]:
    """Create (where missing) every table of the lakehouse and register it in Spark SQL as `<layer>.<name>` at its
    location (re-pointed if this process registered it elsewhere before); returns their names."""
    for layer in sorted({c.layer for c in all_contracts()}):
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {layer}")
    names = []
    for c in all_contracts():
        ensure_table(spark, settings, c.fqn)
        spark.sql(f"DROP TABLE IF EXISTS {c.fqn}")  # an external table: only the name goes
        spark.sql(f"CREATE TABLE {c.fqn} USING DELTA LOCATION '{c.path(settings)}'")
        names.append(c.fqn)
    return names


def conform(df, fqn: str):
    """Select and cast `df` to the contract's columns, in order; a missing column is an error, extras are dropped.
    One SQL projection: built column by column, the casts would cost three calls into the JVM a column."""
    c = contract(fqn)
    present = set(df.columns)
    missing = [n for n in c.column_names if n not in present]
    if missing:
        raise ContractError(f"{fqn}: the data lacks contract columns {missing}")
    return df.selectExpr(*[f"CAST(`{k.name}` AS {spark_type(k.type).simpleString()}) AS `{k.name}`" for k in c.columns])


def tables_page() -> str:
    """docs/tables.md: every table of the lakehouse, by layer, with what produces it, what it reads and what it holds
    (`python -m jobs.catalog > docs/tables.md`; a test keeps the page equal to the contracts)."""
    lines = [
        "# Tables",
        "",
        "Generated from the contracts in `schemas/` by `python -m jobs.catalog > docs/tables.md`: do not edit by hand.",
        "Each table lives at `$LAKEHOUSE_ROOT/<layer>/<name>`, and `helicopter sql` knows it as `<layer>.<name>`; its",
        "columns, keys and partitioning are in `schemas/<layer>/<name>.yaml`, its quality suite (when gated) in",
        "`expectations/<layer>/<name>.json`.",
    ]
    for layer in LAYERS:
        lines += ["", f"## {layer}", "", "| table | written by (step: module) | reads | holds |", "|---|---|---|---|"]
        for c in all_contracts((layer,)):
            reads = ", ".join(f"`{t}`" for t in c.reads) or "-"
            lines.append(f"| `{c.fqn}` | {c.step}: `{c.module}` | {reads} | {c.description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(tables_page(), end="")
