"""SIPAS values the Ministry of Home Affairs published, as data with their source addresses.

``sipas/resources/published_sipas.yml`` lists national and provincial values by survey year
(overall, the two contents, the provincial range), each with the page it was read on and
``verified`` (read on that page) or not.  A report compares with verified values only.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sipas.errors import ConfigError

#: The data file (inside the package).
PUBLISHED_FILE = Path(str(resources.files("sipas") / "resources" / "published_sipas.yml"))
COLUMNS = ("year", "scope", "province", "indicator", "value", "verified", "url", "note_vi", "note_en")
INDICATORS = ("overall", "policy", "services", "province_min", "province_max")
#: ``country``: the whole country's value (the national SIPAS); ``province``: one province's value.
SCOPES = ("country", "province")


@functools.lru_cache(maxsize=4)
def _read(path: str) -> tuple[dict[str, Any], ...]:
    raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    vals = raw.get("values") if isinstance(raw, dict) else None
    if not isinstance(vals, list):
        raise ConfigError("must hold a list 'values'", file=path, key="values")
    out = []
    for i, v in enumerate(vals):
        key = f"values[{i}]"
        if not isinstance(v, dict):
            raise ConfigError("must be a mapping", file=path, key=key)
        for k in ("year", "scope", "indicator", "value", "verified", "url"):
            if k not in v:
                raise ConfigError(f"needs '{k}'", file=path, key=key)
        if v["indicator"] not in INDICATORS:
            raise ConfigError(f"indicator must be one of {', '.join(INDICATORS)}", file=path, key=f"{key}.indicator")
        if not (isinstance(v["value"], float) and 0 < v["value"] <= 1):
            raise ConfigError("value must be a proportion in (0, 1], e.g. 0.8394", file=path, key=f"{key}.value")
        if v["scope"] not in SCOPES or (v["scope"] == "province" and not v.get("province")):
            raise ConfigError("scope must be 'country', or 'province' with a 'province'", file=path, key=key)
        note = v.get("note") or {}
        out.append({"year": int(v["year"]), "scope": v["scope"], "province": v.get("province") or "",
                    "indicator": v["indicator"], "value": float(v["value"]), "verified": bool(v["verified"]),
                    "url": str(v["url"]), "note_vi": note.get("vi", ""), "note_en": note.get("en", note.get("vi", ""))})
    return tuple(out)


def published_values(*, verified_only: bool = True, path: str | Path | None = None) -> pd.DataFrame:
    """Published SIPAS values, one row per (year, scope, province, indicator).

    Parameters
    ----------
    verified_only : bool, default True
        Keep only values read on their source page.
    path : path, optional
        Another data file of the same form (default :data:`PUBLISHED_FILE`).

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`, sorted by year, scope, province, indicator.

    Raises
    ------
    ConfigError
        Naming the file and entry when the data file is malformed.
    """
    t = pd.DataFrame(list(_read(str(path or PUBLISHED_FILE))), columns=list(COLUMNS))
    if verified_only:
        t = t[t["verified"]]
    return t.sort_values(["year", "scope", "province", "indicator"], kind="stable").reset_index(drop=True)


def national_value(year: int, *, indicator: str = "overall") -> dict[str, Any] | None:
    """The verified national value of ``year`` (a row of :func:`published_values` as a dict), or None."""
    t = published_values()
    t = t[(t["scope"] == "country") & (t["year"] == year) & (t["indicator"] == indicator)]
    return None if t.empty else t.iloc[0].to_dict()


def comparison_values(*, year: int, province: str) -> pd.DataFrame:
    """Verified values a survey-year's report shows beside its estimates.

    The national values of ``year - 1`` (the latest published when a province reports on ``year``)
    and of ``year`` (when already published, e.g. a report re-run later), and the province's own
    values of those years when ``province`` equals a published province name exactly.
    """
    t = published_values()
    keep = t["year"].isin([year - 1, year]) & ((t["scope"] == "country") | (t["province"] == province))
    return t[keep].reset_index(drop=True)
