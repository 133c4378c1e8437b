"""The landing sources this lakehouse ingests, in the order a nightly run loads them (the registry first: the other
sources' entity ids are checked against it)."""

from jobs.ingest import entities, outcomes, parcels, tiles, trade, transactions, vouchers

SOURCES = {
    s.name: s
    for s in (
        entities.SOURCE,
        transactions.SOURCE,
        trade.SOURCE,
        parcels.SOURCE,
        tiles.SOURCE,
        vouchers.SOURCE,
        outcomes.SOURCE,
    )
}
