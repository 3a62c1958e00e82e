"""Vocabulary of administrative units as frames spell them (commune types counted as urban or rural)."""

from __future__ import annotations

#: Commune types counted as urban; every other known type (``Xã``) is rural.
URBAN_TYPES = ("Phường", "Thị trấn")


RURAL_TYPES = ("Xã",)
