"""The landing sources this lakehouse ingests, in the order a nightly run loads them."""

from jobs.ingest import entities, outcomes, transactions

SOURCES = {s.name: s for s in (entities.SOURCE, transactions.SOURCE, outcomes.SOURCE)}
