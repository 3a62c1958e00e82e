"""Decode raw text files the way provinces actually produce them.

Excel and Vietnamese offices write CSV in many encodings: UTF-8 with or without a
byte-order mark, UTF-16 ("Unicode text" from Excel), Windows-1258 and, in old
files, text typed with the legacy TCVN3 (ABC) or VNI fonts, which is plain
Latin-1 looking text that only renders as Vietnamese with those fonts.

:func:`decode_bytes` turns bytes into NFC-normalised text and reports every
repair it made; legacy font encodings are detected and refused with a clear
message (converting whole files needs a human check).  :func:`decode_legacy` converts a text typed in
VNI or TCVN3 to Unicode; the cleaning stage uses it to recognise a unit name typed in a legacy font
(:func:`sipas.text.normalize.unit_names_match`).
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


# --- legacy font decoding ------------------------------------------------------------------------------------
#
# No maintained Python package converts these fonts (PyPI has none beyond input-method libraries and a
# RAG document loader), so the published tables are implemented here.
#
# TCVN3 (ABC, the ".Vn" fonts): TCVN 5712:1993, table VN3 -- one byte per letter, lower case in the
# normal fonts (".VnTime"); the capital fonts (".VnTimeH") draw the same bytes as capitals, which text
# cannot show, so those letters decode as lower case (names are compared ignoring case).
_TCVN3_LETTERS = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}
#: TCVN3 (ABC) text as read in Latin-1 / Windows-1252 -> Unicode letter.
TCVN3_TO_UNICODE: dict[str, str] = {bytes([b]).decode("latin-1"): u for b, u in _TCVN3_LETTERS.items()}

# VNI-Windows: a base letter followed by one sign typed as a Latin-1 letter (the sign's code also carries the
# circumflex or breve where the letter has both).  Signs are given by the combining marks they stand for.
_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT = "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"
_CIRC, _BREVE, _HORN = "\u0302", "\u0306", "\u031B"
_VNI_SIGNS = {  # lower-case sign letter -> combining marks (the capital sign is its upper case)
    "ù": _ACUTE, "ø": _GRAVE, "û": _HOOK, "õ": _TILDE, "ï": _DOT,
    "â": _CIRC, "á": _CIRC + _ACUTE, "à": _CIRC + _GRAVE, "å": _CIRC + _HOOK, "ã": _CIRC + _TILDE,
    "ä": _CIRC + _DOT,
    "ê": _BREVE, "é": _BREVE + _ACUTE, "è": _BREVE + _GRAVE, "ú": _BREVE + _HOOK, "ü": _BREVE + _TILDE,
    "ë": _BREVE + _DOT,
}
#: Which signs each VNI base takes (a: all; e, o: tones and circumflex; u, y and the horned o/u: tones).
_VNI_TONES = "ùøûõï"
_VNI_BASES = {"a": _VNI_TONES + "âáàåãäêéèúüë", "e": _VNI_TONES + "âáàåãä", "o": _VNI_TONES + "âáàåãä",
              "u": _VNI_TONES, "y": _VNI_TONES, "ô": _VNI_TONES, "ö": _VNI_TONES}
#: VNI letters written as one Latin-1 character (horned o and u, đ, the i tones, ỵ).
_VNI_SINGLE = {"ô": "o" + _HORN, "ö": "u" + _HORN, "ñ": "đ", "í": "i" + _ACUTE, "ì": "i" + _GRAVE,
               "æ": "i" + _HOOK, "ó": "i" + _TILDE, "ò": "i" + _DOT, "î": "y" + _DOT}


def _vni_table() -> dict[str, str]:
    out: dict[str, str] = {}
    for single, marks in _VNI_SINGLE.items():
        out[single] = unicodedata.normalize("NFC", marks)
        out[single.upper()] = unicodedata.normalize("NFC", marks.upper() if single != "ñ" else "Đ")
    for base, signs in _VNI_BASES.items():
        letter = _VNI_SINGLE.get(base, base)
        for sign in signs:
            for b, s, up in ((base, sign, False), (base.upper(), sign.upper(), True)):
                plain = letter.upper() if up else letter
                out[b + s] = unicodedata.normalize("NFC", plain + _VNI_SIGNS[sign])
    return out


#: VNI-Windows text (as read in Latin-1 / Windows-1252) -> Unicode: two-character letters and single ones.
VNI_TO_UNICODE: dict[str, str] = _vni_table()
_VNI_RE = re.compile("|".join(sorted(map(re.escape, VNI_TO_UNICODE), key=len, reverse=True)))
_TCVN3_RE = re.compile("[" + "".join(map(re.escape, TCVN3_TO_UNICODE)) + "]")


def decode_legacy(text: str, *, font: str | None = None) -> str:
    """Vietnamese typed in a legacy font, as Unicode (NFC).

    Parameters
    ----------
    text : str
        Text as read, the font's bytes shown as Latin-1 letters: ``"Xin chaøo caùc baïn"`` (VNI) or
        ``"B¶o Th¾ng"`` (TCVN3).
    font : {"VNI", "TCVN3 (ABC)"}, optional
        The font; default :func:`find_legacy_font`'s guess.  Text in no legacy font is returned as NFC.

    Returns
    -------
    str
        The Unicode text.  Letters of the TCVN3 capital fonts come out lower case (the bytes do not say).
    """
    font = font if font is not None else _legacy_font(text)
    if font == "VNI":
        out = _VNI_RE.sub(lambda m: VNI_TO_UNICODE[m.group(0)], text)
    elif font is not None and font.startswith("TCVN3"):
        out = _TCVN3_RE.sub(lambda m: TCVN3_TO_UNICODE[m.group(0)], text)
    else:
        out = text
    return unicodedata.normalize("NFC", out)
