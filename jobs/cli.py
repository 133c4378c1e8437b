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
from pathlib import Path

from jobs.settings import load_settings

DEMO = {"entities": 1000, "days": 500, "start": dt.date(2025, 5, 1), "seed": 42, "bad_rate": 0.002}


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def existing_dir(text: str) -> str:
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"folder {text!r} does not exist")
    return str(Path(text).resolve())


def _simulate(out: Path, entities: int, days: int, start: dt.date, seed: int, bad_rate: float) -> dict:
    from rich.progress import Progress

    from jobs.simulate.world import WorldSpec, simulate

    spec = WorldSpec(entities=entities, days=days, start=start, seed=seed, bad_rate=bad_rate)
    with Progress(transient=True) as bar:
        task = bar.add_task("simulating days", total=days)
        return simulate(spec, out, progress=lambda i, n: bar.update(task, completed=i + 1))


def cmd_simulate(a) -> int:
    summary = _simulate(Path(a.out), a.entities, a.days, a.start, a.seed, a.bad_rate)
    print(json.dumps(summary, indent=2, default=str))
    return 0


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

    for counts in pipeline.ingest(a.landing, [a.source] if a.source else None, through=a.through):
        print(json.dumps(counts))
    return 0


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
        raise ValueError("train needs --as-of (or --rollback, or --table FILE --label COLUMN for your own table)")
    row = pipeline.train(a.as_of)
    shown = ("model_version", "status", "decision", "train_rows", "valid_rows", "valid_auc", "valid_ks", "valid_brier")
    print(json.dumps({k: row[k] for k in shown}))
    return 0


def cmd_train_own_table(a) -> int:
    from jobs.model import own_table

    if not a.label:
        raise ValueError("--table needs --label COLUMN: the column that says which rows went bad")
    result = own_table.cross_validate(own_table.read_table(a.table), a.label, a.positive, a.folds)
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
        raise SystemExit("error: publish needs --as-of DATE (or --rollback)")
    from jobs import pipeline

    published = pipeline.publish(a.as_of)
    print(
        f"published {published['rows']} limits as of {published['as_of_date']} (checksum {published['checksum'][:12]})"
    )
    return 0


STEP_NAMES = {
    "ingest": "ingesting landing files into bronze and silver",
    "features": "computing features",
    "model_version": "finding (or training) the PD model",
    "scored": "scoring and applying the limit policy",
    "published": "publishing to the serving store",
    "report": "writing the night report",
}


def _announce(step: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {STEP_NAMES[step]}", file=sys.stderr, flush=True)


def cmd_run(a) -> int:
    from jobs import pipeline, report

    result = pipeline.nightly(a.landing, a.as_of, on_step=_announce)
    print(report.render(report.summary(a.as_of), result))
    return 0


def _print_limit(limit: dict, as_json: bool) -> None:
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

    _print_limit(store.lookup(store.engine(load_settings().serving_url), a.entity_id), a.json)
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


def cmd_demo(a) -> int:
    """Simulate a world, run the nightly chain on it as of its last day, print the summary and one lookup."""
    from jobs import pipeline, report
    from jobs.serve import store

    out = Path(a.out)
    world = _simulate(out, a.entities, a.days, DEMO["start"], DEMO["seed"], DEMO["bad_rate"])
    as_of = dt.date.fromisoformat(world["end"])
    segments = ", ".join(f"{n:,} {s.replace('_', ' ')}s" for s, n in world["segments"].items())
    print(
        f"simulated {world['entities']:,} entities ({segments}) over {world['days']} days into {out}/landing: "
        f"{world['transactions']:,} payments, {world['trade']:,} trade records, {world['parcels']:,} parcels, "
        f"{world['vouchers']:,} vouchers, {world['loans']:,} loans"
    )
    result = pipeline.nightly(str(out / "landing"), as_of, on_step=_announce)
    print(report.render(report.summary(as_of), result))
    eng = store.engine(load_settings().serving_url)
    approved = store.first_entity(eng)
    print(f"\n$ helicopter lookup {approved} --json")
    _print_limit(store.lookup(eng, approved), as_json=True)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="helicopter", description=__doc__.split("\n\n")[0])
    p.add_argument("-v", "--verbose", action="store_true", help="log what each step does")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, fn, help_):
        s = sub.add_parser(name, help=help_, description=help_)
        s.set_defaults(fn=fn)
        return s

    s = command("simulate", cmd_simulate, "write a simulated world: landing files and, apart, its truth")
    s.add_argument("--out", required=True, help="output folder (landing/ and truth/ go under it)")
    s.add_argument("--entities", type=positive_int, required=True)
    s.add_argument("--days", type=positive_int, required=True)
    s.add_argument("--start", type=iso_date, required=True, help="first day, YYYY-MM-DD")
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--bad-rate", type=float, default=0.0, help="share of deliberately broken rows and files")

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
    s.add_argument("--positive", help="with --table: the label value that means bad (default: bad/default/yes/1)")
    s.add_argument("--folds", type=positive_int, default=5, help="with --table: cross-validation folds")
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

    s = command("serve", cmd_serve, "serve lookups over HTTP (FastAPI; API keys from SERVING_API_KEYS)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--access-log", action="store_true", help="log every request (off: it costs latency)")

    command("status", cmd_status, "table versions and freshness, last ingest runs and gates, the published night")

    s = command("sql", cmd_sql, "run Spark SQL over the registered tables, e.g. SELECT * FROM gold.preapproved_limits")
    s.add_argument("query")
    s.add_argument("--limit", type=int, default=20, help="rows to show")

    s = command("demo", cmd_demo, "simulate a world, run the nightly chain on it, print the summary and a lookup")
    s.add_argument("--out", default="demo-world", help="where the simulated world goes")
    s.add_argument("--entities", type=positive_int, default=DEMO["entities"])
    s.add_argument("--days", type=positive_int, default=DEMO["days"])
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
        expected = type(e).__module__.startswith(("jobs.", "pyspark.errors")) or isinstance(
            e, (ValueError, LookupError)
        )
        label = "" if expected else f"unexpected {type(e).__name__}: "
        message = str(e).strip().splitlines()[0][:400] if str(e).strip() else type(e).__name__
        print(
            f"error: {label}{message}" + ("" if expected else " (HELICOPTER_DEBUG=1 shows the traceback)"),
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
