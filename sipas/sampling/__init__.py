"""Sampling: frames, the seed rules, probability designs, allocation, annexes, fieldwork QA.

:mod:`~sipas.sampling.frames` reads frame files; :mod:`~sipas.sampling.rules` selects communes, villages and
households by the plans' positional rules; :mod:`~sipas.sampling.designs` by PPS/SRS/stratified designs;
:mod:`~sipas.sampling.probabilities` gives inclusion probabilities; :mod:`~sipas.sampling.allocation` allocates
forms; :mod:`~sipas.sampling.annexes` writes Phụ lục 01-04; :mod:`~sipas.sampling.draw` runs the whole
selection of a survey-year; :mod:`~sipas.sampling.fieldwork` holds recheck and double-entry QA;
:mod:`~sipas.sampling.transactions` reads service units and transaction records and draws service users.
"""

from __future__ import annotations
from sipas.sampling.frames import REQUIRED, INTEGER_COLUMNS, FLAG_COLUMNS, read_table, read_frame, communes_2025  # noqa: F401
from sipas.sampling.rules import select_communes, VILLAGES_PER_COMMUNE, select_villages, systematic_indices, select_households, RESERVE_STREAM, select_reserve  # noqa: F401
from sipas.sampling.allocation import allocate_largest_remainder, neyman_allocation, ALLOCATION_METHODS, allocate_forms, THUANNAM_2023_RESOURCE, allocation_thuannam_2023  # noqa: F401
from sipas.sampling.probabilities import stage_probabilities, inclusion_probabilities  # noqa: F401
from sipas.sampling.designs import pps_systematic, srs_select, stratified_select, select_communes_design, select_villages_design  # noqa: F401
from sipas.sampling.annexes import selection_reasons, annex_title, annex_subtitle, ANNEX_HEADER_ROW, PUBLIC_HOUSEHOLD_COLUMNS, annex_01, annex_02, CONTACT_COLUMNS, annex_03, annex_04, annex_xlsx_bytes, read_annex_xlsx, write_annex, SERVICE_ANNEXES, SERVICE_ALLOCATION_COLUMNS, service_annex_columns, service_allocation_annex, INFORMANT_COLUMNS, informant_list, service_annex_xlsx_bytes, EXIT_LIST_FILE, EXIT_LIST_HEADER_ROW, EXIT_LIST_COLUMNS, exit_list_xlsx_bytes, write_service_allocation_annex  # noqa: F401
from sipas.sampling.draw import SampleResult, draw_sample  # noqa: F401
from sipas.sampling.fieldwork import response_rates, recheck_sample, cohen_kappa, recheck_agreement, double_entry_discrepancies  # noqa: F401
from sipas.sampling.transactions import UNIT_FRAME_COLUMNS, UNIT_LEVELS, TRANSACTION_COLUMNS, APPLICANT_TYPES, PERSONAL_COLUMN_NAMES, INFORMANT_CONTACT_COLUMNS, is_personal_column, split_personal_columns, read_unit_frame, parse_date, read_transactions, SELECTION_COLUMNS, SHORTFALL_COLUMNS, unit_stream, reserve_size, select_transactions, transaction_shortfall, OUTCOMES, TRANSACTION_SUBSTITUTION_COLUMNS, transaction_substitutions  # noqa: F401
from sipas.text import nfc, strip_unit_prefix, vi_sort_key, vi_sorted, UNIT_PREFIXES  # noqa: F401

__all__ = [
    "REQUIRED",
    "INTEGER_COLUMNS",
    "FLAG_COLUMNS",
    "read_table",
    "read_frame",
    "communes_2025",
    "select_communes",
    "VILLAGES_PER_COMMUNE",
    "select_villages",
    "systematic_indices",
    "select_households",
    "RESERVE_STREAM",
    "select_reserve",
    "allocate_largest_remainder",
    "ALLOCATION_METHODS",
    "allocate_forms",
    "stage_probabilities",
    "inclusion_probabilities",
    "pps_systematic",
    "srs_select",
    "stratified_select",
    "select_communes_design",
    "select_villages_design",
    "selection_reasons",
    "annex_title",
    "annex_subtitle",
    "ANNEX_HEADER_ROW",
    "PUBLIC_HOUSEHOLD_COLUMNS",
    "annex_01",
    "annex_02",
    "CONTACT_COLUMNS",
    "annex_03",
    "annex_04",
    "annex_xlsx_bytes",
    "read_annex_xlsx",
    "write_annex",
    "SERVICE_ANNEXES",
    "SERVICE_ALLOCATION_COLUMNS",
    "service_annex_columns",
    "service_allocation_annex",
    "INFORMANT_CONTACT_COLUMNS",
    "INFORMANT_COLUMNS",
    "informant_list",
    "service_annex_xlsx_bytes",
    "write_service_allocation_annex",
    "EXIT_LIST_FILE",
    "EXIT_LIST_HEADER_ROW",
    "EXIT_LIST_COLUMNS",
    "exit_list_xlsx_bytes",
    "SampleResult",
    "draw_sample",
    "response_rates",
    "recheck_sample",
    "cohen_kappa",
    "recheck_agreement",
    "double_entry_discrepancies",
    "neyman_allocation",
    "THUANNAM_2023_RESOURCE",
    "allocation_thuannam_2023",
    "UNIT_FRAME_COLUMNS",
    "UNIT_LEVELS",
    "TRANSACTION_COLUMNS",
    "APPLICANT_TYPES",
    "PERSONAL_COLUMN_NAMES",
    "is_personal_column",
    "split_personal_columns",
    "read_unit_frame",
    "parse_date",
    "read_transactions",
    "SELECTION_COLUMNS",
    "SHORTFALL_COLUMNS",
    "unit_stream",
    "reserve_size",
    "select_transactions",
    "transaction_shortfall",
    "OUTCOMES",
    "TRANSACTION_SUBSTITUTION_COLUMNS",
    "transaction_substitutions",
    "nfc",
    "strip_unit_prefix",
    "vi_sort_key",
    "vi_sorted",
    "UNIT_PREFIXES",
]
