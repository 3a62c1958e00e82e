"""Forms: the questionnaire as data, ingest of entered forms, the personal-data split, cleaning.
"""

from __future__ import annotations
from sipas.forms.ingest import MAX_BYTES, LOG_COLUMNS, HEADER_SEARCH_ROWS, ColumnSpec, RecordSpec, IngestResult, normalise_header, record_spec, item_ids, read_responses, empty_forms, write_restricted, personal_columns, value_labels, column_labels, write_sav, write_dta  # noqa: F401
from sipas.forms.pii import KEY_LENGTH, PrivacyError, pseudonym, pseudonyms  # noqa: F401
from sipas.forms.cleaning import RULES, AUDIT_COLUMNS, CleaningResult, clean_forms  # noqa: F401

__all__ = [
    "MAX_BYTES",
    "LOG_COLUMNS",
    "HEADER_SEARCH_ROWS",
    "ColumnSpec",
    "RecordSpec",
    "IngestResult",
    "normalise_header",
    "record_spec",
    "item_ids",
    "read_responses",
    "empty_forms",
    "write_restricted",
    "personal_columns",
    "value_labels",
    "column_labels",
    "write_sav",
    "write_dta",
    "KEY_LENGTH",
    "PrivacyError",
    "pseudonym",
    "pseudonyms",
    "RULES",
    "AUDIT_COLUMNS",
    "CleaningResult",
    "clean_forms",
]
