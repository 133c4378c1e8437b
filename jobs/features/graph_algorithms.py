"""PageRank and connected components over edge DataFrames, in Spark SQL, for one graph or for many at once.

GraphFrames would be the field's library for these, but its JVM core (io.graphframes:graphframes-spark4_2.13) does
not resolve from the Maven repository this project fetches its jars from, so both are written here as iterations of
joins and aggregations. Each iteration is materialised (`localCheckpoint`) so its plan does not grow with the loop.

Edges are DataFrames of (src, dst[, weight]), plus the columns `by` that name a graph when they hold several (the
graph of each snapshot date, say); vertices are the ids that appear in a graph's edges. Many graphs at once cost the
iterations of the slowest, not one Spark job per iteration and graph, and each graph's result is what it would be
alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import reduce

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

DAMPING = 0.85
MAX_ITERATIONS = 100
TOLERANCE = 1e-4  # bound on the L1 error of the ranks when PageRank stops
ONE_GRAPH = "_graph"  # the key of the single graph, when the edges name none

log = logging.getLogger(__name__)


def _keyed(edges: DataFrame, by: Sequence[str]) -> tuple[DataFrame, list[str]]:
    """The edges with their graph key columns: `by`, or one constant key when it is empty."""
    return (edges, list(by)) if by else (edges.withColumn(ONE_GRAPH, F.lit(0)), [ONE_GRAPH])


def vertices_of(edges: DataFrame, by: Sequence[str] = ()) -> DataFrame:
    ends = [edges.select(*by, F.col(end).alias("id")) for end in ("src", "dst")]
    return ends[0].union(ends[1]).distinct()


def transition_shares(edges: DataFrame, by: Sequence[str] = ()) -> DataFrame:
    """(by..., src, dst, share): each edge's share of its source's outgoing weight (1 each when unweighted)."""
    weighted = edges.withColumn("weight", F.col("weight") if "weight" in edges.columns else F.lit(1.0))
    summed = weighted.groupBy(*by, "src", "dst").agg(F.sum("weight").cast("double").alias("weight"))
    out = summed.groupBy(*by, "src").agg(F.sum("weight").alias("out_weight"))
    share = (F.col("weight") / F.col("out_weight")).alias("share")
    return summed.join(out, [*by, "src"]).select(*by, "src", "dst", share)


def pagerank(
    edges: DataFrame, damping: float = DAMPING, max_iterations: int = MAX_ITERATIONS, by: Sequence[str] = ()
) -> DataFrame:
    """(by..., id, pagerank), each graph's ranks summing to 1: a random surfer follows an outgoing edge in proportion to
    its weight with probability `damping`, else jumps to any vertex, and from a vertex without outgoing edges (a
    dangling one: a brand that buys from no one) jumps to any vertex. The same fixed point as networkx.pagerank.

    With dangling vertices jumping uniformly, the ranks are proportional to the solution of x = (1 - d) / N + d P'x
    (P the transition shares, dangling rows empty), so each step is one join and one aggregation with no global sum,
    and the ranks are x normalised at the end. On a graph without cycles (a supply chain, mostly) P' is nilpotent and
    the iteration is exact after its longest path. A graph stops iterating when its own error bound is met."""
    edges, keys = _keyed(edges, by)
    vertices = vertices_of(edges, keys)
    teleport = F.lit(1 - damping) / F.count(F.lit(1)).over(Window.partitionBy(*keys))
    active = vertices.withColumn("teleport", teleport).withColumn("x", F.col("teleport")).localCheckpoint()
    shares = transition_shares(edges, keys).localCheckpoint()
    settled, iterations = [], 0
    while iterations < max_iterations and not active.isEmpty():
        iterations += 1
        received = (
            active.withColumnRenamed("id", "src")
            .join(shares, [*keys, "src"])
            .groupBy(*keys, F.col("dst").alias("id"))
            .agg(F.sum(F.col("x") * F.col("share")).alias("received"))
        )
        step = (
            active.withColumnRenamed("x", "previous")
            .join(received, [*keys, "id"], "left")
            .withColumn("x", F.col("teleport") + damping * F.coalesce("received", F.lit(0.0)))
            .drop("received")
        )
        # a graph is done when the error left, at most its change x d / (1 - d), is within the tolerance
        change, total = F.sum(F.abs(F.col("x") - F.col("previous"))), F.sum("x")
        done = (change * damping / (1 - damping) <= TOLERANCE * total).alias("_done")
        step = step.join(step.groupBy(*keys).agg(done), keys).drop("previous").localCheckpoint()
        settled.append(step.where("_done" if iterations < max_iterations else "true"))
        active = step.where("NOT _done").drop("_done")
    log.info("%s: %d iterations", "pagerank", iterations)
    x = reduce(DataFrame.unionByName, settled or [active])
    ranks = x.select(*keys, "id", (F.col("x") / F.sum("x").over(Window.partitionBy(*keys))).alias("pagerank"))
    return ranks if by else ranks.drop(ONE_GRAPH)


def connected_components(edges: DataFrame, max_iterations: int = MAX_ITERATIONS, by: Sequence[str] = ()) -> DataFrame:
    """(by..., id, component) of each undirected graph, by label propagation: every vertex takes the smallest id among
    itself and its neighbours until no label changes; a component is named by its smallest id."""
    edges, keys = _keyed(edges, by)
    reversed_edges = edges.select(*keys, F.col("dst").alias("src"), F.col("src").alias("dst"))
    links = edges.select(*keys, "src", "dst").union(reversed_edges).distinct().localCheckpoint()
    labels = vertices_of(edges, keys).withColumn("component", F.col("id")).localCheckpoint()
    iterations = 0
    for _ in range(max_iterations):
        iterations += 1
        offered = (
            labels.withColumnRenamed("id", "src")
            .join(links, [*keys, "src"])
            .groupBy(*keys, F.col("dst").alias("id"))
            .agg(F.min("component").alias("offered"))
        )
        step = (
            labels.join(offered, [*keys, "id"], "left")
            .select(
                *keys,
                "id",
                F.least("component", F.coalesce("offered", "component")).alias("component"),
                (F.col("offered") < F.col("component")).alias("changed"),
            )
            .localCheckpoint()
        )
        labels = step.drop("changed")
        if step.where("changed").isEmpty():
            break
    log.info("%s: %d iterations", "connected_components", iterations)
    return labels if by else labels.drop(ONE_GRAPH)


def component_sizes(components: DataFrame, by: Sequence[str] = ()) -> DataFrame:
    """(by..., id, component_size): the number of vertices in each vertex's component."""
    sizes = components.groupBy(*by, "component").agg(F.count(F.lit(1)).alias("component_size"))
    return components.join(sizes, [*by, "component"]).select(*by, "id", "component_size")
