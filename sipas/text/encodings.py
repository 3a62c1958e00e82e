"""Decode raw text files the way provinces actually produce them.

Excel and Vietnamese offices write CSV in many encodings: UTF-8 with or without a
byte-order mark, UTF-16 ("Unicode text" from Excel), Windows-1258 and, in old
files, text typed with the legacy TCVN3 (ABC) or VNI fonts, which is plain
Latin-1 looking text that only renders as Vietnamese with those fonts.

:func:`decode_bytes` turns bytes into NFC-normalised text and reports every
repair it made; legacy font encodings are detected and refused with a clear
message (converting them needs a table per font and a human check).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from sipas.errors import InputError

#: Characters typical of the TCVN3 (ABC, ".VnTime") font encoding and absent from Vietnamese Unicode text.
TCVN3_MARKERS = frozenset("¸µ¶·¹¨©ª«¬®§¾½¼ÆÇËÏÑÖ×ØÜÞßåæçîïñö÷øüþ")
#: Letter pairs typical of VNI-Windows text (base vowel followed by a tone or hat sign typed as a Latin-1 letter).
VNI_PATTERN = re.compile(r"[aeiouyAEIOUY][øûïù]|[ñÑöÖ]")

#: Characters that never occur in Vietnamese written in Unicode (used to tell VNI from real text).
_NOT_VIETNAMESE = frozenset("ñÑöÖøØïÏûÛåÅäÄæÆçÇëËîÎþÞßðÐ÷×¸µ¶·¹¨©ª«¬®§¾½¼")


@dataclass(frozen=True)
class Decoded:
    """Result of :func:`decode_bytes`.

    Attributes
    ----------
    text : str
        The decoded, NFC-normalised text with ``\\n`` line ends.
    encoding : str
        The encoding the bytes were read as (``utf-8``, ``utf-8-sig``, ``utf-16``, ``cp1258``).
    repairs : list of str
        Plain-language notes of what was changed (empty if nothing).
    """

    text: str
    encoding: str
    repairs: list[str] = field(default_factory=list)


def _legacy_font(text: str) -> str | None:
    """Name the legacy font encoding ``text`` seems typed in, or None."""
    letters = sum(ch.isalpha() for ch in text)
    if letters == 0:
        return None
    odd = [ch for ch in text if ch in _NOT_VIETNAMESE]
    if not odd:
        return None
    tcvn = sum(ch in TCVN3_MARKERS for ch in odd)
    vni = len(VNI_PATTERN.findall(text))
    if vni >= 2 and vni >= tcvn / 2:
        return "VNI"
    if tcvn >= 2:
        return "TCVN3 (ABC)"
    if vni >= 1:
        return "VNI"
    return None


def find_legacy_font(text: str) -> str | None:
    """Return ``"TCVN3 (ABC)"`` or ``"VNI"`` if ``text`` looks typed in a legacy font, else None.

    Parameters
    ----------
    text : str
        Any text (a cell, a line or a whole file).
    """
    return _legacy_font(text)


def decode_bytes(data: bytes, *, file: str | Path | None = None) -> Decoded:
    """Decode a text file's bytes, detecting its encoding.

    Parameters
    ----------
    data : bytes
        The raw file content.
    file : str or Path, optional
        Used in error messages only.

    Returns
    -------
    Decoded

    Raises
    ------
    InputError
        If the bytes are in no supported encoding (binary data).
    """
    repairs: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        enc = "utf-8-sig"
        try:
            text = data.decode(enc)
        except UnicodeDecodeError as exc:
            raise InputError(f"starts with a UTF-8 byte-order mark but byte {exc.start} is not UTF-8",
                             file=file) from exc
        repairs.append("removed UTF-8 byte-order mark")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
        try:
            text = data.decode(enc)
        except UnicodeDecodeError as exc:
            raise InputError(f"UTF-16 file is truncated or damaged at byte {exc.start}", file=file) from exc
        repairs.append("converted UTF-16 (Excel 'Unicode text') to UTF-8")
    elif len(data) >= 4 and data[1:2] == b"\x00" and data[3:4] == b"\x00" and data[0:1] != b"\x00":
        enc = "utf-16-le"
        try:
            text = data.decode(enc)
        except UnicodeDecodeError as exc:
            raise InputError(f"UTF-16 file is truncated or damaged at byte {exc.start}", file=file) from exc
        repairs.append("converted UTF-16 without byte-order mark to UTF-8")
    else:
        if b"\x00" in data[:4096]:
            raise InputError("binary data, not a text file (NUL bytes)", file=file)
        try:
            text = data.decode("utf-8")
            enc = "utf-8"
        except UnicodeDecodeError as exc:
            partial = data.decode("utf-8", errors="replace")
            if any(ord(ch) > 127 and ch != "\ufffd" for ch in partial):
                line = data[:exc.start].count(b"\n") + 1
                raise InputError(
                    f"mixed encodings: the file is mostly UTF-8 but byte {exc.start} (0x{data[exc.start]:02x}) is "
                    "not; a part was pasted from a file in another encoding", file=file, row=line) from exc
            try:
                text = data.decode("cp1258")
            except UnicodeDecodeError as exc2:
                raise InputError(
                    f"not UTF-8 (byte {exc.start}) nor Windows-1258 (byte {exc2.start}); "
                    "save the file as 'CSV UTF-8'", file=file) from exc2
            enc = "cp1258"
            repairs.append("converted Windows-1258 (cp1258) to UTF-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    nfc = unicodedata.normalize("NFC", text)
    if nfc != text:
        repairs.append("normalised Unicode to NFC (composed characters)")
    return Decoded(text=nfc, encoding=enc, repairs=repairs)
