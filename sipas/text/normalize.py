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
