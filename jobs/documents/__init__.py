"""The business documents owners hand over, read and verified: the taxonomy of document types, the reader of each
file, and the rules that check a document against itself and against what the lakehouse holds. A library: no table
is written here (`jobs.silver.vouchers` keeps what the documents say)."""
