"""Questionnaires as versioned data.

The instrument files in ``sipas/instrument/data/<id>-<version>.yml`` hold every
item with its vi/en text, criterion, aspect, answer scale, which codes count as
positive ("satisfied"), skip logic (``filter``) and whether it enters an index.
Code never hard-codes an item: scoring, synthesis, cleaning and the report all
read the instrument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from sipas.errors import ConfigError

DATA_DIR = Path(str(resources.files("sipas.instrument") / "data"))


@dataclass(frozen=True)
class Instrument:
    """A loaded questionnaire.

    Attributes
    ----------
    id, version : str
        Identity of the instrument file.
    raw : dict
        The parsed YAML, as written.
    items : pandas.DataFrame
        One row per item: ``item``, ``criterion``, ``aspect``, ``scale``, ``index``,
        ``filter``, ``text_vi``, ``text_en``.
    criteria : pandas.DataFrame
        One row per criterion: ``criterion``, ``aspect``, ``label_vi``, ``label_en``.
    aspects : pandas.DataFrame
        One row per aspect: ``aspect``, ``label_vi``, ``label_en``.
    """

    id: str
    version: str
    raw: dict[str, Any] = field(repr=False)
    path: Path = field(repr=False)

    @property
    def scales(self) -> dict[str, dict[str, Any]]:
        return self.raw["scales"]

    @property
    def items(self):  # -> pd.DataFrame
        import pandas as pd

        crit_aspect = {c["id"]: c["aspect"] for c in self.raw["criteria"]}
        rows = []
        for it in self.raw["items"]:
            crit = it.get("criterion")
            rows.append({
                "item": it["id"],
                "criterion": crit,
                "aspect": crit_aspect.get(crit) if crit else None,
                "scale": it["scale"],
                "index": bool(it.get("index", False)),
                "filter": it.get("filter"),
                "text_vi": it["text"]["vi"],
                "text_en": it["text"].get("en", it["text"]["vi"]),
            })
        return pd.DataFrame(rows)

    @property
    def criteria(self):
        import pandas as pd

        return pd.DataFrame([
            {"criterion": c["id"], "aspect": c["aspect"], "label_vi": c["label"]["vi"],
             "label_en": c["label"].get("en", c["label"]["vi"])}
            for c in self.raw["criteria"]
        ])

    @property
    def aspects(self):
        import pandas as pd

        return pd.DataFrame([
            {"aspect": a["id"], "label_vi": a["label"]["vi"], "label_en": a["label"].get("en", a["label"]["vi"])}
            for a in self.raw["aspects"]
        ])

    def positive_codes(self, item: str) -> list[int]:
        """Codes of ``item`` that count as positive ("satisfied")."""
        return [int(c) for c in self.scales[self._item(item)["scale"]]["positive"]]

    def valid_codes(self, item: str) -> list[int]:
        """Substantive answer codes of ``item`` (missing codes excluded)."""
        return sorted(int(c) for c in self.scales[self._item(item)["scale"]]["codes"])

    def missing_codes(self, item: str) -> list[int]:
        """Codes of ``item`` that mean "don't know / no answer"."""
        return [int(c) for c in self.scales[self._item(item)["scale"]].get("missing", [])]

    def filter_of(self, item: str) -> dict[str, Any] | None:
        """The skip-logic condition under which ``item`` is asked, or None if always asked."""
        name = self._item(item).get("filter")
        return None if name is None else self.raw["filters"][name]

    def _item(self, item: str) -> dict[str, Any]:
        for it in self.raw["items"]:
            if it["id"] == item:
                return it
        raise KeyError(f"instrument {self.id} {self.version} has no item {item!r}")


def load_instrument(instrument_id: str, version: str, *, directory: Path | None = None) -> Instrument:
    """Load ``<directory>/<instrument_id>-<version>.yml``.

    Raises
    ------
    ConfigError
        If the file does not exist or is not the instrument it claims to be.
    """
    d = directory or DATA_DIR
    path = d / f"{instrument_id}-{version}.yml"
    if not path.is_file():
        avail = sorted(p.stem for p in d.glob("*.yml"))
        raise ConfigError(f"no instrument {instrument_id!r} version {version!r}; available: {', '.join(avail)}",
                          file=path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if raw.get("id") != instrument_id or str(raw.get("version")) != version:
        raise ConfigError(f"file declares id={raw.get('id')!r} version={raw.get('version')!r}", file=path)
    return Instrument(id=instrument_id, version=version, raw=raw, path=path)
