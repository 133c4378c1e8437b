"""PageRank and connected components over edge DataFrames, in Spark SQL.

GraphFrames would be the field's library for these, but its JVM core (io.graphframes:graphframes-spark4_2.13) does
not resolve from the Maven repository this project fetches its jars from, so both are written here as iterations of
joins and aggregations. Each iteration is materialised (`localCheckpoint`) so its plan does not grow with the loop.

Edges are DataFrames of (src, dst[, weight]); vertices are the ids that appear in them.
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

DAMPING = 0.85
MAX_ITERATIONS = 100
TOLERANCE = 1e-4  # bound on the L1 error of the ranks when PageRank stops

log = logging.getLogger(__name__)


def vertices_of(edges: DataFrame) -> DataFrame:
    return edges.select(F.col("src").alias("id")).union(edges.select(F.col("dst").alias("id"))).distinct()


def transition_shares(edges: DataFrame) -> DataFrame:
    """(src, dst, share): each edge's share of its source's outgoing weight (weight 1 when there is no weight)."""
    weighted = edges.withColumn("weight", F.col("weight") if "weight" in edges.columns else F.lit(1.0))
    summed = weighted.groupBy("src", "dst").agg(F.sum("weight").cast("double").alias("weight"))
    out = summed.groupBy("src").agg(F.sum("weight").alias("out_weight"))
    return summed.join(out, "src").select("src", "dst", (F.col("weight") / F.col("out_weight")).alias("share"))


def pagerank(edges: DataFrame, damping: float = DAMPING, max_iterations: int = MAX_ITERATIONS) -> DataFrame:
    """(id, pagerank), the ranks summing to 1: a random surfer follows an outgoing edge in proportion to its weight
    with probability `damping`, else jumps to any vertex, and from a vertex without outgoing edges (a dangling one: a
    brand that buys from no one) jumps to any vertex. The same fixed point as networkx.pagerank.

    With dangling vertices jumping uniformly, the ranks are proportional to the solution of x = (1 - d) / N + d P'x
    (P the transition shares, dangling rows empty), so each step is one join and one aggregation with no global sum,
    and the ranks are x normalised at the end. On a graph without cycles (a supply chain, mostly) P' is nilpotent and
    the iteration is exact after its longest path."""
    vertices = vertices_of(edges).localCheckpoint()
    n = vertices.count()
    if n == 0:
        return vertices.withColumn("pagerank", F.lit(0.0))
    shares = transition_shares(edges).localCheckpoint()
    teleport = (1 - damping) / n
    x = vertices.withColumn("x", F.lit(teleport)).localCheckpoint()
    iterations = 0
    for _ in range(max_iterations):
        iterations += 1
        received = (
            x.join(shares, x["id"] == shares["src"])
            .groupBy(F.col("dst").alias("id"))
            .agg(F.sum(F.col("x") * F.col("share")).alias("received"))
        )
        step = (
            x.withColumnRenamed("x", "previous")
            .join(received, "id", "left")
            .select("id", "previous", (teleport + damping * F.coalesce("received", F.lit(0.0))).alias("x"))
            .localCheckpoint()
        )
        change, total = step.agg(F.sum(F.abs(F.col("x") - F.col("previous"))), F.sum("x")).first()
        x = step.drop("previous")
        if change * damping / (1 - damping) <= TOLERANCE * total:  # the error left is at most the change x d / (1 - d)
            break
    log.info("%s: %d vertices, %d iterations", "pagerank", n, iterations)
    total = x.agg(F.sum("x")).first()[0]
    return x.select("id", (F.col("x") / total).alias("pagerank"))


def connected_components(edges: DataFrame, max_iterations: int = MAX_ITERATIONS) -> DataFrame:
    """(id, component) of the undirected graph, by label propagation: every vertex takes the smallest id among
    itself and its neighbours until no label changes; a component is named by its smallest id."""
    links = edges.select("src", "dst").union(edges.select(F.col("dst").alias("src"), F.col("src").alias("dst")))
    links = links.distinct().localCheckpoint()
    labels = vertices_of(edges).withColumn("component", F.col("id")).localCheckpoint()
    iterations = 0
    for _ in range(max_iterations):
        iterations += 1
        offered = (
            labels.join(links, labels["id"] == links["src"])
            .groupBy(F.col("dst").alias("id"))
            .agg(F.min("component").alias("offered"))
        )
        step = (
            labels.join(offered, "id", "left")
            .select(
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
    return labels


def component_sizes(components: DataFrame) -> DataFrame:
    """(id, component_size): the number of vertices in each vertex's component."""
    sizes = components.groupBy("component").agg(F.count(F.lit(1)).alias("component_size"))
    return components.join(sizes, "component").select("id", "component_size")
