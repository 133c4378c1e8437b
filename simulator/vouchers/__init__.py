"""Vouchers: the business documents small-business owners hand over to the lender, as PDFs, with their truth.

`names` (who the documents name), `drawers` (the field values of each type), `render` (layouts, formats, PDF, the
upstream OCR's reading of photos), `tamper` (what worse entities change), `write` (who hands over what and when, the
files and the truth).
"""

from simulator.vouchers.tamper import TAMPER_KINDS
from simulator.vouchers.write import BAD_KINDS, TRUTH_SCHEMA, fields_json, write_vouchers

__all__ = ["BAD_KINDS", "TAMPER_KINDS", "TRUTH_SCHEMA", "fields_json", "write_vouchers"]
