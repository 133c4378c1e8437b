"""The night profile's measures: the Spark queries a step ran, by where they were called from, and its Delta commits."""

from __future__ import annotations

from bench.night_profile import commits, finished_queries


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
