"""Silver tables derived from other silver tables, not from landing files: the documents read
(`silver.vouchers`), the trade edges between businesses (`silver.trade_edges`) and the satellite observations of
each parcel (`silver.parcel_observations`)."""
