"""Questionnaires as versioned data.

The instrument files in ``sipas/forms/instrument/data/<id>-<version>.yml`` hold every
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

DATA_DIR = Path(str(resources.files("sipas.forms.instrument") / "data"))


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
        return [int(c) for c in self.scales[self._item(item)["scale"]].get("positive") or []]

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

    @property
    def item_ids(self) -> list[str]:
        """Item ids in questionnaire order."""
        return [it["id"] for it in self.raw["items"]]

    @property
    def index_items(self) -> list[str]:
        """Ids of the items that enter an index."""
        return [it["id"] for it in self.raw["items"] if it.get("index")]

    def labels(self, item: str, *, language: str = "vi", with_missing: bool = True) -> dict[int, str]:
        """Code -> label of ``item``'s scale in ``language`` (missing codes included by default)."""
        sc = self.scales[self._item(item)["scale"]]
        out = {int(c): lab.get(language, lab["vi"]) for c, lab in sc["codes"].items()}
        if with_missing:
            for c, lab in (sc.get("missing_labels") or {}).items():
                out[int(c)] = lab.get(language, lab["vi"])
        return out

    def profile_labels(self, question: str, *, language: str = "vi") -> dict[int, str]:
        """Code -> label of the coded profile question ``question`` (e.g. ``age_group``) in ``language``;
        empty when the instrument has no such coded question."""
        for p in self.raw.get("profile") or []:
            if p.get("id") == question and isinstance(p.get("codes"), dict):
                return {int(c): lab.get(language, lab["vi"]) for c, lab in p["codes"].items()}
        return {}

    def text(self, item: str, *, language: str = "vi") -> str:
        """Question text of ``item`` in ``language``."""
        t = self._item(item)["text"]
        return t.get(language, t["vi"])

    def _item(self, item: str) -> dict[str, Any]:
        for it in self.raw["items"]:
            if it["id"] == item:
                return it
        raise KeyError(f"instrument {self.id} {self.version} has no item {item!r}")


def available_instruments(*, directory: Path | None = None) -> list[tuple[str, str]]:
    """``(id, version)`` of every instrument file in ``directory`` (default: the package's data folder)."""
    d = directory or DATA_DIR
    out = []
    for p in sorted(d.glob("*-*.yml")):
        iid, _, ver = p.stem.partition("-")
        out.append((iid, ver))
    return out


def read_instrument_file(path: str | Path, *, validate: bool = True) -> Instrument:
    """Load and validate any instrument YAML file.

    Parameters
    ----------
    path : str or Path
        The YAML file.
    validate : bool, default True
        Check it against :mod:`sipas.forms.instrument.schema`.

    Raises
    ------
    ConfigError
        Naming the file (and the key, e.g. ``items[p1_5].filter``) for unreadable YAML or a schema violation.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"invalid YAML{where}: {getattr(exc, 'problem', exc)}", file=path) from exc
    if validate:
        from sipas.forms.instrument.schema import validate_instrument

        validate_instrument(raw, file=path)
    if not isinstance(raw, dict):
        raise ConfigError("must be a YAML mapping", file=path)
    return Instrument(id=str(raw.get("id")), version=str(raw.get("version")), raw=raw, path=path)


def load_instrument(instrument_id: str, version: str, *, directory: Path | None = None,
                    validate: bool = True) -> Instrument:
    """Load ``<directory>/<instrument_id>-<version>.yml``.

    Parameters
    ----------
    instrument_id, version : str
        E.g. ``"household"``, ``"2023.1"``.
    directory : Path, optional
        Folder of instrument files (default: ``sipas/forms/instrument/data``).
    validate : bool, default True
        Check the file against the schema of :mod:`sipas.forms.instrument.schema`.

    Raises
    ------
    ConfigError
        If the file does not exist, violates the schema, or is not the instrument it claims to be.
    """
    d = directory or DATA_DIR
    path = d / f"{instrument_id}-{version}.yml"
    if not path.is_file():
        avail = sorted(p.stem for p in d.glob("*-*.yml"))
        raise ConfigError(f"no instrument {instrument_id!r} version {version!r}; available: {', '.join(avail)}",
                          file=path)
    inst = read_instrument_file(path, validate=validate)
    if inst.raw.get("id") != instrument_id or str(inst.raw.get("version")) != version:
        raise ConfigError(f"file declares id={inst.raw.get('id')!r} version={inst.raw.get('version')!r}", file=path)
    return Instrument(id=instrument_id, version=version, raw=inst.raw, path=path)
