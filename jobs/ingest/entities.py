"""The entity registry: typing to silver.entities."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.ingest.identity import judged_ids
from jobs.ingest.source import Source, blank, reject_reasons


def typed_entities(bronze: DataFrame) -> DataFrame:
    """Bronze text rows (their ID numbers judged by `judged_ids` before they were tokenised) -> silver.entities
    columns, with `_reject_reason` where a field cannot be typed."""
    typed = bronze.withColumn("registered_date", F.try_to_date(F.col("registered_date"), "yyyy-MM-dd")).withColumns(
        {
            "country": F.when(~blank("country"), F.upper(F.trim("country"))),
            "owner_name_token": F.col("owner_name"),  # tokens by now: personal data leaves bronze only tokenised
            "owner_id_token": F.col("owner_id_number"),
            "owner_phone_token": F.col("owner_phone"),
        }
    )
    checked = reject_reasons(
        typed,
        {
            "malformed line": F.col("_corrupt_record").isNotNull(),
            "missing entity_id": blank("entity_id"),
            "missing segment": blank("segment"),
            "unparseable registered_date": F.col("registered_date").isNull(),
        },
    )
    reason = F.concat_ws("; ", "_reject_reason", "_id_problem")
    return checked.withColumn("_reject_reason", F.when(reason != "", reason)).drop("_id_problem")


SOURCE = Source(name="entities", silver="silver.entities", typed=typed_entities, before_tokens=judged_ids)
