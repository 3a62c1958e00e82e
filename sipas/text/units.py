"""Vocabulary of administrative units as frames spell them (commune types counted as urban or rural, class lists)."""

from __future__ import annotations

from typing import Any

#: Commune types counted as urban; every other known type (``Xã``) is rural.
URBAN_TYPES = ("Phường", "Thị trấn")


RURAL_TYPES = ("Xã",)

#: The word a commune frame may put before a class list's number (``commune_class``: "Loại I", "I" or "1").
CLASS_WORD = "LOẠI "
#: A class list's number, Roman or Arabic, to its rank.
_CLASS_RANKS = {"I": 1, "II": 2, "III": 3, "1": 1, "2": 2, "3": 3}


def class_rank(value: Any) -> int:
    """The rank of a commune class list as a frame spells it: "Loại I", "I" and "1" are 1, ... (9 when unknown)."""
    return _CLASS_RANKS.get(str(value).strip().upper().replace(CLASS_WORD, ""), 9)
