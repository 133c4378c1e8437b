"""Feature tables: gold.feat_<family>, one row per (entity_id, as_of_date)."""
