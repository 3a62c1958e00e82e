"""Vietnamese text normalisation: Unicode NFC and administrative-unit prefixes (Xã, Phường, Thôn, ...)."""

from __future__ import annotations

import re
import unicodedata

#: Unit-type prefixes left out of the sort key (longest first so "Thị trấn" wins over "Thị").
UNIT_PREFIXES = (
    "thành phố", "thị xã", "thị trấn", "tổ dân phố", "quận", "huyện", "phường", "xã", "thôn", "bản",
    "tổ", "khu phố", "khu", "ấp", "làng", "xóm", "buôn", "plei", "sóc", "đội", "khối", "tiểu khu",
    "đặc khu", "khu dân cư", "tổ dân cư", "điểm bản", "tỉnh",
)


_PREFIX_RE = re.compile(
    r"^(?:" + "|".join(re.escape(p) for p in sorted(UNIT_PREFIXES, key=len, reverse=True)) + r")\s+",
    re.IGNORECASE,
)


_NUM_RE = re.compile(r"^(?:số\s*)?(\d+)\b", re.IGNORECASE)


def nfc(text: str) -> str:
    """Unicode NFC form of ``text`` (Vietnamese input often arrives decomposed, NFD).

    Non-text values (numbers, missing values) are returned unchanged.
    """
    if not isinstance(text, str):
        return text
    return unicodedata.normalize("NFC", text)


def strip_unit_prefix(name: str) -> str:
    """``"Xã Nậm Tăm"`` -> ``"Nậm Tăm"``; a name that is only a prefix is kept as is."""
    name = nfc(name).strip()
    stripped = _PREFIX_RE.sub("", name, count=1)
    return stripped if stripped else name


def unit_key(name: str) -> str:
    """A unit name reduced for comparison: NFC, unit prefix removed, spaces collapsed, case folded
    (``"  xã  Bình Minh"`` and ``"Bình Minh"`` have the same key)."""
    return " ".join(strip_unit_prefix(str(name)).split()).casefold()


def unit_names_match(typed: str, reference: str) -> bool:
    """Whether ``typed`` names the unit ``reference``: the same :func:`unit_key` as typed, or once decoded
    from the VNI or TCVN3 font (:func:`sipas.text.encodings.decode_legacy`).

    Examples
    --------
    >>> unit_names_match("Bình Minh", "Xã Bình Minh"), unit_names_match("Xaõ Bình Minh", "Xã Bình Minh")
    (True, True)
    >>> unit_names_match("Xã Bình An", "Xã Bình Minh")
    False
    """
    from sipas.text.encodings import decode_legacy

    want = unit_key(reference)
    typed = str(typed)
    return any(unit_key(t) == want for t in (typed, decode_legacy(typed, font="VNI"),
                                               decode_legacy(typed, font="TCVN3 (ABC)")))
