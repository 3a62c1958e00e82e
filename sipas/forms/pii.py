"""Pseudonymous keys for respondents.

A respondent is identified in processed data only by a salted SHA-256 key: the
salt is a per-survey secret kept outside the repository, so the key cannot be
reversed by hashing a list of household codes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sipas.errors import SipasError

#: Hex characters kept from the digest (64 bits: collisions are negligible for survey sizes).
KEY_LENGTH = 16


class PrivacyError(SipasError):
    """Personal data would be exposed (no salt given, personal column in a processed table...)."""


def pseudonym(value: str | Iterable[str], *, salt: str) -> str:
    """Salted SHA-256 pseudonym of one identifier.

    Parameters
    ----------
    value : str or iterable of str
        The identifier (a household code), or several parts (name, phone) joined with a separator.
    salt : str
        The survey's secret salt; must be non-empty.

    Returns
    -------
    str
        The first :data:`KEY_LENGTH` hex characters of ``sha256(salt + "\\x1f" + value)``.

    Raises
    ------
    PrivacyError
        If ``salt`` is empty.
    """
    if not isinstance(salt, str) or not salt:
        raise PrivacyError("a non-empty salt is required to pseudonymise respondents")
    text = value if isinstance(value, str) else "\x1e".join(str(v) for v in value)
    digest = hashlib.sha256(f"{salt}\x1f{text.strip()}".encode("utf-8")).hexdigest()
    return digest[:KEY_LENGTH]


def pseudonyms(values: Iterable[str], *, salt: str) -> list[str]:
    """:func:`pseudonym` of each value (e.g. the sampled household ids, to build ``sample_keys``)."""
    return [pseudonym(str(v), salt=salt) for v in values]
