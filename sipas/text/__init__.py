"""Vietnamese text at the ground floor of the package, used by every other folder.

NFC normalisation and unit prefixes (:mod:`~sipas.text.normalize`), ICU ``vi`` collation
(:mod:`~sipas.text.collation`), legacy encodings and fonts (:mod:`~sipas.text.encodings`), the vocabulary of
administrative units (:mod:`~sipas.text.units`) and the texts a reader sees (:mod:`~sipas.text.labels`).
"""

from __future__ import annotations
from sipas.text.normalize import UNIT_PREFIXES, nfc, strip_unit_prefix  # noqa: F401
from sipas.text.collation import vi_sort_key, vi_sorted  # noqa: F401
from sipas.text.encodings import TCVN3_MARKERS, VNI_PATTERN, Decoded, find_legacy_font, decode_bytes  # noqa: F401
from sipas.text.units import URBAN_TYPES, RURAL_TYPES  # noqa: F401

__all__ = [
    "UNIT_PREFIXES",
    "nfc",
    "strip_unit_prefix",
    "vi_sort_key",
    "vi_sorted",
    "TCVN3_MARKERS",
    "VNI_PATTERN",
    "Decoded",
    "find_legacy_font",
    "decode_bytes",
    "URBAN_TYPES",
    "RURAL_TYPES",
]
