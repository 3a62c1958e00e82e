"""Vietnamese alphabetical order ("theo vần abc") with ICU's ``vi`` collation (PyICU, ``icu`` module)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from sipas.text.normalize import _NUM_RE, nfc, strip_unit_prefix


@lru_cache(maxsize=1)
def _collator():
    import icu

    coll = icu.Collator.createInstance(icu.Locale("vi"))
    coll.setStrength(icu.Collator.TERTIARY)
    return coll


def vi_sort_key(name: str) -> tuple:
    """Sort key for Vietnamese alphabetical order ("theo vần abc").

    The unit-type prefix (:data:`UNIT_PREFIXES`) is left out, the name is
    NFC-normalised and compared with ICU's collation for locale ``vi``
    (A < Ă < Â < B ... D < Đ ... O < Ô < Ơ ... U < Ư, tones after base letters).
    Numbered units sort by number ("Tổ dân phố số 2" before "số 10") and before
    named units.  Names equal once the prefix is removed ("Xã Tân Phong",
    "Phường Tân Phong") are ordered by their full name, so the order never
    depends on the input order.
    """
    coll = _collator()
    full = nfc(name).strip()
    core = strip_unit_prefix(full)
    m = _NUM_RE.match(core)
    tie = bytes(coll.getSortKey(full))
    if m:
        return (0, int(m.group(1)), bytes(coll.getSortKey(core)), tie)
    return (1, 0, bytes(coll.getSortKey(core)), tie)


def vi_sorted(names: Iterable[str]) -> list[str]:
    """Names (NFC) in Vietnamese alphabetical order (see :func:`vi_sort_key`)."""
    return sorted((nfc(n) for n in names), key=vi_sort_key)
