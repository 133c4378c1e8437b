"""The night profile's measures: the Spark queries a step ran, by where they were called from, and its Delta commits."""

from __future__ import annotations

from bench.night_profile import ROUND_TRIPS, anchors, commits, finished_queries


def test_the_queries_since_a_point_are_counted_with_their_caller_and_the_commits_from_the_log(spark, tmp_path):
    _, since = finished_queries(spark, 0)
    lakehouse = tmp_path / "lakehouse"
    table = str(lakehouse / "silver" / "example")
    spark.range(5).write.format("delta").save(table)
    spark.range(5, 8).write.format("delta").mode("append").save(table)
    assert spark.read.format("delta").load(table).count() == 8

    queries, after = finished_queries(spark, since)
    callers = [where for where, _ in queries]
    assert after > since and all(seconds >= 0 for _, seconds in queries)
    assert sum(c.startswith("save at ") for c in callers) == 2  # the two writes, their nested queries not again
    assert any(c.startswith("count at ") for c in callers)
    assert finished_queries(spark, after)[0] == []  # nothing since
    assert commits(lakehouse) == 2


def test_the_anchors_time_a_plain_append_of_the_payment_files_and_the_smallest_delta_round_trip(spark, tmp_path):
    day = tmp_path / "landing" / "transactions" / "dt=2025-01-01"
    day.mkdir(parents=True)
    (day / "transactions.csv").write_text(
        "txn_id,entity_id,ts,amount,currency,channel,payer_token,status\n"
        "T1,E1,2025-01-01T10:00:00,12.50,CNY,qr,P1,settled\n"
    )
    found = anchors(spark, tmp_path / "landing", tmp_path)
    assert found["plain_append"] > 0 and found["round_trip"] > 0
    assert spark.read.format("delta").load(str(tmp_path / "anchor-round-trip")).count() == ROUND_TRIPS
