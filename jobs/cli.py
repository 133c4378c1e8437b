"""The `helicopter` command line. Every command does real work on the lakehouse; bad input gets a one-line reason
and a non-zero exit. Heavy modules (Spark, XGBoost, GX) are imported only by the commands that need them, so a
lookup answers in milliseconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path

from jobs.errors import HelicopterError, UsageError
from jobs.settings import load_settings


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def int_at_least(least: int):
    """An argparse type: an integer of at least `least`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}: {value}")
        return value

    return parse


positive_int = int_at_least(1)


def existing_dir(text: str) -> str:
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"folder {text!r} does not exist")
    return str(Path(text).resolve())


ADAPTERS = {
    "online_retail": ("jobs.adapt.online_retail", "adapt_online_retail"),
    "satellite": ("jobs.adapt.satellite", "adapt_satellite"),
    "invoices": ("jobs.adapt.invoices", "adapt_invoices"),
}


def cmd_adapt(a) -> int:
    import importlib

    written = {}
    for name in [a.source] if a.source else ADAPTERS:
        module, function = ADAPTERS[name]
        written[name] = getattr(importlib.import_module(module), function)(Path(a.data), Path(a.out))
    print(json.dumps(written, indent=2))
    if not any(n for counts in written.values() for n in counts.values()):
        print(f"helicopter: nothing to adapt under {a.data}", file=sys.stderr)
        return 1
    return 0


def cmd_ingest(a) -> int:
    from jobs import pipeline
    from jobs.errors import BatchRefused

    try:
        batches = pipeline.ingest(a.landing, [a.source] if a.source else None, through=a.through)
    except BatchRefused as e:
        print_batches(e.batches)
        raise
    print_batches(batches)
    return 0


def print_batches(batches: list[dict]) -> None:
    """Each batch's counts as a JSON line; its quarantine's top reasons, with an example's file and line, on stderr."""
    for counts in batches:
        print(json.dumps(counts))
        for reason, rows, example in counts["top_reasons"]:
            print(f"{counts['source']}: quarantined {rows:,} x {reason} (e.g. {example})", file=sys.stderr)


def cmd_features(a) -> int:
    from jobs import pipeline

    for table, rows in pipeline.features(a.as_of).items():
        print(f"{table} as of {a.as_of}: {rows:,} rows")
    return 0


def cmd_train(a) -> int:
    if a.table:
        return cmd_train_own_table(a)
    from jobs import pipeline

    if a.rollback:
        restored = pipeline.rollback_model()
        print(f"rolled back: {restored['model_version']} (trained as of {restored['trained_as_of']}) scores again")
        return 0
    if not a.as_of:
        raise UsageError("train needs --as-of (or --rollback, or --table FILE --label COLUMN for your own table)")
    print(json.dumps(pipeline.train(a.as_of)))
    return 0


def cmd_train_own_table(a) -> int:
    from jobs.model import own_table  # light: pandas and XGBoost come after the checks on the file and its header

    if not a.label:
        raise UsageError("--table needs --label COLUMN: the column that says which rows went bad")
    columns, separator = own_table.table_columns(a.table)
    if a.label not in columns:
        raise UsageError(own_table.no_column(a.label, columns))
    if separator not in (None, ","):
        print(f"helicopter: {Path(a.table).name} is read as separated by {separator!r}", file=sys.stderr)
    result = own_table.cross_validate(own_table.read_table(a.table, separator), a.label, a.positive, a.folds)
    for warning in result["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(json.dumps(result, indent=2) if a.json else own_table.render(result, Path(a.table).name))
    return 0


def cmd_score(a) -> int:
    from jobs import pipeline

    print(f"gold.preapproved_limits as of {a.as_of}: {pipeline.score(a.as_of)} entities scored")
    return 0


def cmd_publish(a) -> int:
    from jobs.serve import store

    if a.rollback:
        published = store.rollback(store.engine(load_settings().serving_url))
        print(f"rolled back: serving the limits as of {published.as_of_date} ({published.rows} rows)")
        return 0
    if a.as_of is None:
        raise UsageError("publish needs --as-of DATE (or --rollback)")
    from jobs import pipeline

    published = pipeline.publish(a.as_of)
    print(
        f"published {published['rows']} limits as of {published['as_of_date']} (checksum {published['checksum'][:12]})"
    )
    return 0


def announce(step: str) -> None:
    from jobs import pipeline

    doing = getattr(pipeline, step).__doc__.split(".")[0].strip()
    print(f"[{dt.datetime.now():%H:%M:%S}] {doing[0].lower()}{doing[1:]}", file=sys.stderr, flush=True)


def cmd_run(a) -> int:
    from jobs import pipeline, report

    result = pipeline.nightly(a.landing, a.as_of, on_step=announce)
    print(report.render(report.summary(a.as_of), result))
    return 0


def print_limit(limit: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(limit))
        return
    reasons = ", ".join(limit["reason_codes"]) or "-"
    print(
        f"{limit['entity_id']} ({limit['segment']}): {limit['decision']}, limit {limit['limit_amount']:,.2f} "
        f"{limit['currency']}, PD {limit['pd']:.2%}, as of {limit['as_of_date']}\n"
        f"  reasons: {reasons}\n  model {limit['model_version']}, policy {limit['policy_version']}"
    )


def cmd_lookup(a) -> int:
    from jobs.serve import store

    print_limit(store.lookup(store.engine(load_settings().serving_url), a.entity_id), a.json)
    return 0


def cmd_apply(a) -> int:
    from jobs.serve.application import Document, apply

    documents = [Document(Path(path), declared_type) for declared_type, path in a.document]
    decided = apply(load_settings(), a.entity_id, documents)
    if a.json:
        print(json.dumps(decided))
        return 0
    print(
        f"{decided['entity_id']}: {decided['decision']}, limit {decided['limit_amount']:,.2f} {decided['currency']}, "
        f"PD {decided['pd']:.2%}, decided on demand at {decided['decided_at']} (the night of "
        f"{decided['previous_as_of_date']}: {decided['previous_limit_amount']:,.2f})\n"
        f"  reasons: {', '.join(decided['reason_codes']) or '-'}"
    )
    for d in decided["documents"]:
        why = f": {'; '.join(d['reasons'])}" if d["reasons"] else ""
        print(f"  {d['file']} ({d['declared_type']}): {d['status']}{why}")
    return 0


def cmd_serve(a) -> int:
    import uvicorn

    from jobs.serve.api import create_app

    uvicorn.run(create_app(load_settings()), host=a.host, port=a.port, log_level="info", access_log=a.access_log)
    return 0


def cmd_report(a) -> int:
    from jobs import pipeline, report

    print(report.render(report.summary(a.as_of)))
    print(f"  report            {pipeline.night_report(a.as_of)}")
    return 0


def cmd_status(a) -> int:
    from jobs import status

    print(status.render(load_settings()))
    return 0


def cmd_sql(a) -> int:
    from jobs.catalog import register_all
    from jobs.spark_session import get_spark

    settings = load_settings()
    spark = get_spark(settings)
    register_all(spark, settings)
    spark.sql(a.query).show(a.limit, truncate=False)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="helicopter", description=__doc__.split("\n\n")[0])
    p.add_argument("-v", "--verbose", action="store_true", help="log what each step does")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, fn, help_):
        s = sub.add_parser(name, help=help_, description=help_)
        s.set_defaults(fn=fn)
        return s

    s = command("adapt", cmd_adapt, "turn the real public data (../shared/data) into landing files")
    s.add_argument("--data", type=existing_dir, required=True, help="folder of the real data (its README names it)")
    s.add_argument("--out", required=True, help="output folder (landing/ and, for invoices, truth/ go under it)")
    s.add_argument("--source", choices=sorted(ADAPTERS), help="one adapter only (default: all)")

    s = command("ingest", cmd_ingest, "load new landing files into bronze and silver")
    s.add_argument("--landing", type=existing_dir, required=True, help="landing folder (<source>/dt=YYYY-MM-DD/...)")
    s.add_argument("--source", help="one source only (default: all)")
    s.add_argument("--through", type=iso_date, help="only dt= folders up to this day, YYYY-MM-DD (default: all)")

    for name, fn, help_ in (
        ("features", cmd_features, "compute every feature family and the feature vectors as of a date"),
        ("score", cmd_score, "score every entity and apply the limit policy as of a date"),
        ("report", cmd_report, "summarise a night and write its HTML report (plots, drift, model, data quality)"),
    ):
        command(name, fn, help_).add_argument("--as-of", type=iso_date, required=True, help="YYYY-MM-DD")

    train_help = "train and register a PD model as of a date, or cross-validate it on your own labelled table"
    s = command("train", cmd_train, train_help)
    s.add_argument("--as-of", type=iso_date, help="YYYY-MM-DD: train on the lakehouse's loans known then")
    s.add_argument("--table", help="a labelled CSV or Parquet table to cross-validate on instead")
    s.add_argument("--label", help="with --table: the outcome column (two values)")
    s.add_argument(
        "--positive", help="with --table: the label value that means bad, in any case (default: bad/default/yes/1)"
    )
    s.add_argument("--folds", type=int_at_least(2), default=5, help="with --table: cross-validation folds (2 or more)")
    s.add_argument("--json", action="store_true", help="with --table: print the metrics as JSON")
    s.add_argument("--rollback", action="store_true", help="withdraw the newest champion; the one before scores again")

    s = command("publish", cmd_publish, "publish a date's limits to the serving store (atomic swap)")
    s.add_argument("--as-of", type=iso_date, help="YYYY-MM-DD")
    s.add_argument("--rollback", action="store_true", help="swap the previous version back in")

    s = command("run", cmd_run, "the whole nightly chain: ingest, features, model, score, publish")
    s.add_argument("--landing", type=existing_dir, required=True)
    s.add_argument("--as-of", type=iso_date, required=True, help="YYYY-MM-DD")

    s = command("lookup", cmd_lookup, "the published limit of one entity")
    s.add_argument("entity_id")
    s.add_argument("--json", action="store_true", help="print one JSON object")

    s = command("apply", cmd_apply, "hand over documents for one entity and get its new limit at once")
    s.add_argument("entity_id")
    s.add_argument(
        "--document", nargs=2, action="append", required=True, metavar=("TYPE", "FILE"),
        help="a document (PDF, JPEG or PNG) and its type in the voucher taxonomy; repeat for several",
    )  # fmt: skip
    s.add_argument("--json", action="store_true", help="print one JSON object")

    s = command("serve", cmd_serve, "serve lookups over HTTP (FastAPI; API keys from SERVING_API_KEYS)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--access-log", action="store_true", help="log every request (off: it costs latency)")

    command("status", cmd_status, "table versions and freshness, last ingest runs and gates, the published night")

    s = command("sql", cmd_sql, "run Spark SQL over the registered tables, e.g. SELECT * FROM gold.preapproved_limits")
    s.add_argument("query")
    s.add_argument("--limit", type=int, default=20, help="rows to show")

    for plugin in entry_points(group="helicopter.commands"):  # e.g. the simulator's `simulate` and `demo`
        plugin.load()(command)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("jobs").setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # one line for the person at the terminal; the traceback on demand
        if os.environ.get("HELICOPTER_DEBUG"):
            raise
        # what the product explains, and Spark's own word on a query (`helicopter sql`)
        expected = isinstance(e, HelicopterError) or type(e).__module__.startswith("pyspark.errors")
        label = "" if expected else f"unexpected {type(e).__name__}: "
        message = str(e).strip().splitlines()[0][:400] if str(e).strip() else type(e).__name__
        print(
            f"error: {label}{message}" + ("" if expected else " (HELICOPTER_DEBUG=1 shows the traceback)"),
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
