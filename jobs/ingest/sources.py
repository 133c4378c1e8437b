"""The landing sources this lakehouse ingests (one `jobs.ingest.<source>` module each, named by the contracts of the
tables it writes), in the order a nightly run loads them: the registry first, whose entity ids the others' rows are
checked against."""

import importlib

from jobs.catalog import ingest_sources

SOURCES = {name: importlib.import_module(f"jobs.ingest.{name}").SOURCE for name in ingest_sources()}
