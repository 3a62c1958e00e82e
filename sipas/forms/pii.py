"""Pseudonymous keys for respondents, and personal data typed where it does not belong.

A respondent is identified in processed data only by a salted SHA-256 key: the
salt is a per-survey secret kept outside the repository, so the key cannot be
reversed by hashing a list of household codes.

:func:`personal_data_kind` recognises personal data in any cell (a phone number typed in
the village column...): Vietnamese phone numbers, 12-digit citizen identity (CCCD) numbers and
e-mail addresses.  The ingest moves such values to the restricted file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

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


#: Kinds of personal data :func:`personal_data_kind` recognises, in the order they are tried.
PERSONAL_DATA_KINDS = ("email", "citizen_id", "phone")

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
#: A 12-digit citizen identity number (CCCD), digits possibly grouped by spaces or dots.
_CITIZEN_ID = re.compile(r"(?<![\d+])\d(?:[ .]?\d){11}(?![\d])")
#: A phone number: 0 or +84 (also "(+84)", "84" after "+"), then 9 digits (mobile) or 10 (landline),
#: grouped by spaces, dots or dashes.
_PHONE = re.compile(r"(?<![\d+])(?:\(\+?84\)|\+\s?84|0)[\s.\-]?\d(?:[\s.\-]?\d){8,9}(?!\d)")


def personal_data_kind(value: Any) -> str | None:
    """The kind of personal data ``value`` holds: ``"email"``, ``"citizen_id"``, ``"phone"`` or None.

    Text is searched anywhere (``"gọi 0912 345 678"`` is a phone): e-mail addresses; 12-digit citizen
    identity numbers (CCCD); phone numbers written ``0`` or ``+84`` followed by 9 digits (mobile) or 10
    (landline), grouped by spaces, dots or dashes.  A whole number of 9 to 12 digits (a cell Excel stored
    as a number, dropping the leading 0) counts as a phone number (9-10 digits, or 11 starting with 84)
    or a citizen identity number (11-12 digits): no code, age or date of a form has that many digits.

    Parameters
    ----------
    value : object
        A cell as read (text, number, date...).

    Returns
    -------
    str or None
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if value != value or not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int):
        value = str(abs(value))
    if not isinstance(value, str):
        return None
    s = value.strip()
    if s.isdigit() and 9 <= len(s) <= 12:
        if len(s) <= 10 or (len(s) == 11 and s.startswith("84")):
            return "phone"
        return "citizen_id"
    if "@" in s and _EMAIL.search(s):
        return "email"
    if _CITIZEN_ID.search(s):
        return "citizen_id"
    if _PHONE.search(s):
        return "phone"
    return None


def redact(value: Any) -> Any:
    """``value``, or ``"[<kind>]"`` when it holds personal data (:func:`personal_data_kind`)."""
    kind = personal_data_kind(value)
    return value if kind is None else f"[{kind}]"
