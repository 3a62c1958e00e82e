"""Draw a survey-year's whole sample from its configuration and write the annexes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sipas import io as sio
from sipas.errors import ConfigError
from sipas.sampling.allocation import allocate_forms
from sipas.sampling.annexes import (
    PUBLIC_HOUSEHOLD_COLUMNS,
    annex_01,
    annex_02,
    annex_03,
    annex_04,
    annex_subtitle,
    write_annex,
)
from sipas.sampling.designs import select_communes_design, select_villages_design
from sipas.sampling.probabilities import inclusion_probabilities, stage_probabilities
from sipas.sampling.rules import (
    select_communes,
    select_households,
    select_reserve,
    select_villages,
)


@dataclass(frozen=True)
class SampleResult:
    """What :func:`draw_sample` selected and wrote.

    Attributes
    ----------
    communes, villages : DataFrame
        Selected units with ``reason`` and ``pi_commune`` / ``pi_village``.
    households : DataFrame
        Official list then reserve (``list`` = ``official`` / ``reserve``), only the
        columns of :data:`PUBLIC_HOUSEHOLD_COLUMNS` (no personal data), with
        ``pi_commune``, ``pi_village``, ``pi_household``, ``pi`` for the official list.
    allocation : DataFrame
        Forms per selected commune (Phụ lục 04).
    files : tuple of Path
        Files written under ``out_dir``.
    restricted_files : tuple of Path
        Files written under ``restricted_dir`` (Phụ lục 03).
    """

    communes: pd.DataFrame
    villages: pd.DataFrame
    households: pd.DataFrame
    allocation: pd.DataFrame
    files: tuple[Path, ...] = field(default_factory=tuple)
    restricted_files: tuple[Path, ...] = field(default_factory=tuple)


def _check_restricted_dir(restricted_dir: Path, out_dir: Path) -> None:
    from sipas.config import project_root

    r = Path(restricted_dir).resolve()
    root = project_root().resolve()
    forbidden = [Path(out_dir).resolve(), root / "data" / "processed", root / "reports"]
    for f in forbidden:
        if r == f or f in r.parents:
            raise ConfigError(f"restricted lists (names, phones) may not be written under {f}; "
                              f"use restricted/<survey-id>/ at the project root", key="restricted_dir")
    if Path(out_dir).resolve() in r.parents or r in Path(out_dir).resolve().parents:
        raise ConfigError("restricted_dir and out_dir must be separate folders", key="restricted_dir")


def draw_sample(config: Any, *, restricted_dir: Path, out_dir: Path) -> SampleResult:
    """Draw the whole sample of a survey from its frames and write the annexes Phụ lục 01–04.

    Reads ``config.frames["communes"|"villages"|"households"]`` (CSV or XLSX, see
    :mod:`sipas.sampling.frames`) and the options in ``config.extra["sampling"]``:

    ``households_per_village`` (30), ``also_last_districts`` ([]), ``reserve`` (true),
    ``communes`` (design mapping; default ``{design: rules}`` for ``three_tier``; for
    ``two_tier`` a probability design is required, e.g. ``{design: pps_systematic,
    strata: commune_type, n: {...}, size: households}``, see
    :func:`select_communes_design`), ``villages`` (default ``{design: rules}``, or e.g.
    ``{design: pps_systematic, n: 3}``), ``allocation`` (default: forms = households
    drawn per commune; else :func:`allocate_forms` arguments: ``method``, ``per_unit``,
    ``total``, ``minimum``, ``overrides``).  Personal data for Phụ lục 03 is taken from
    the household frame's ``head_name``/``address``/``phone`` columns and from
    ``config.extra["restricted"]["contacts"]`` (relative to the survey folder) if set.

    The random steps use ``config.seed``; calls are made exactly as the demo generator
    (:mod:`sipas.synth`) makes them, so the demo's sample is reproduced.

    Writes to ``out_dir``: ``phu_luc_01_communes``, ``phu_luc_02_villages``,
    ``phu_luc_04_allocation`` (``.xlsx`` + ``.csv``) and ``sample_households.csv``
    (ids and probabilities only); to ``restricted_dir`` only:
    ``phu_luc_03_households.xlsx/.csv``.  The annexes are written in the survey's ``language``
    (``config.language``; their texts are ``labels.annexes`` of ``resources/report_text.yml``).

    Raises
    ------
    ConfigError
        Bad sampling options, or ``restricted_dir`` inside ``out_dir``, ``data/processed`` or ``reports``.
    InputError
        A frame is missing, unreadable or malformed (file, row, column named).
    """
    from sipas.sampling import frames as fr


    restricted_dir, out_dir = Path(restricted_dir), Path(out_dir)
    _check_restricted_dir(restricted_dir, out_dir)
    opts = dict(config.extra.get("sampling") or {})
    for k in ("communes", "villages", "households"):
        if k not in config.frames:
            raise ConfigError(f"frames.{k} is required to draw the sample", file=config.path, key=f"frames.{k}")
    structure = config.structure
    communes = fr.read_frame(config.frames["communes"], kind="communes", structure=structure)
    villages = fr.read_frame(config.frames["villages"], kind="villages", structure=structure)
    households = fr.read_frame(config.frames["households"], kind="households", structure=structure)
    per_village = int(opts.get("households_per_village", 30))
    seed = int(config.seed)

    com_design = dict(opts.get("communes") or {"design": "rules" if structure == "three_tier" else None})
    if com_design.get("design") in (None, "rules"):
        if structure == "two_tier":
            raise ConfigError("two_tier surveys need sampling.communes with a probability design "
                              "(e.g. {design: pps_systematic, strata: commune_type, n: ..., size: households})",
                              file=config.path, key="sampling.communes")
        sel_c = select_communes(communes, also_last=tuple(opts.get("also_last_districts", ())))
    else:
        try:
            sel_c = select_communes_design(communes, design=com_design, seed=seed)
        except ConfigError as exc:  # name the survey.yml
            if exc.file is not None:
                raise
            msg = str(exc).split(": ", 1)[1] if exc.key else str(exc)
            raise ConfigError(msg, file=config.path, key=exc.key) from exc
    keys = set(zip(sel_c["district"], sel_c["commune"]))
    vil_sel_c = villages[[k in keys for k in zip(villages["district"], villages["commune"])]]
    vil_design = dict(opts.get("villages") or {"design": "rules"})
    if vil_design.get("design", "rules") == "rules":
        sel_v = select_villages(vil_sel_c)
    else:
        sel_v = select_villages_design(vil_sel_c, design=vil_design, seed=seed)
    hh_frame = households[[k in keys for k in zip(households["district"], households["commune"])]]
    neighbours = vil_sel_c if "neighbour_order" in vil_sel_c.columns else None
    sel_h = select_households(hh_frame, sel_v, per_village=per_village, seed=seed, neighbours=neighbours)

    if "households" not in villages.columns:
        counts = households.groupby(["district", "commune", "village"]).size().rename("households").reset_index()
        villages = villages.merge(counts, on=["district", "commune", "village"], how="left")
        villages["households"] = villages["households"].fillna(0).astype(int)
    sc, sv = stage_probabilities(communes, villages, sel_c, sel_v)
    probs = inclusion_probabilities(communes, villages, sel_c, sel_v, sel_h)
    official = sel_h.merge(probs.drop(columns=[]), on="household_id", how="left").assign(list="official")
    parts = [official]
    if opts.get("reserve", True):
        parts.append(select_reserve(hh_frame, sel_v, sel_h, per_village=per_village, seed=seed,
                                    neighbours=neighbours).assign(list="reserve"))
    all_hh = pd.concat(parts, ignore_index=True)

    counts = official.groupby(["district", "commune"], sort=False).size()
    nvil = sv.groupby(["district", "commune"], sort=False).size()
    units = sc[["district", "commune"]].copy()
    units["villages"] = [int(nvil.get((d, c), 0)) for d, c in zip(units["district"], units["commune"])]
    units["sampled_households"] = [int(counts.get((d, c), 0)) for d, c in zip(units["district"], units["commune"])]
    com_sizes = villages.groupby(["district", "commune"])["households"].sum()
    units["households"] = [int(com_sizes.get((d, c), 0)) for d, c in zip(units["district"], units["commune"])]
    alloc_opts = dict(opts.get("allocation") or {})
    if alloc_opts:
        allocation = allocate_forms(units, **{k: v for k, v in alloc_opts.items()
                                              if k in ("method", "per_unit", "total", "minimum", "overrides")})
    else:
        allocation = units.assign(forms=units["sampled_households"])

    contacts = None
    cpath = (config.extra.get("restricted") or {}).get("contacts") if isinstance(
        config.extra.get("restricted"), dict) else None
    if cpath:
        contacts = fr.read_table(config.raw_path(cpath))

    lang = config.language   # the annexes are written in the survey's language
    province = config.province.get(lang) or config.province.get("vi", "")
    sub = annex_subtitle(province=province, year=config.year, seed=seed, lang=lang)
    files: list[Path] = []
    vil_all_sel_c = villages[[k in keys for k in zip(villages["district"], villages["commune"])]]
    files += write_annex(annex_01(communes, sc, lang=lang), number="01", subtitle=sub, lang=lang,
                         xlsx_path=out_dir / "phu_luc_01_communes.xlsx", csv_path=out_dir / "phu_luc_01_communes.csv")
    files += write_annex(annex_02(vil_all_sel_c, sv, communes_order=sc, lang=lang), number="02", subtitle=sub,
                         lang=lang, xlsx_path=out_dir / "phu_luc_02_villages.xlsx",
                         csv_path=out_dir / "phu_luc_02_villages.csv")
    files += write_annex(annex_04(allocation, lang=lang), number="04", subtitle=sub, lang=lang,
                         xlsx_path=out_dir / "phu_luc_04_allocation.xlsx",
                         csv_path=out_dir / "phu_luc_04_allocation.csv")
    absent = set(config.design.absent_levels)  # no district column in a two-tier survey's list
    public = all_hh[[c for c in PUBLIC_HOUSEHOLD_COLUMNS if c in all_hh.columns and c not in absent]]
    files.append(sio.write_csv(public, out_dir / "sample_households.csv"))
    restricted = write_annex(annex_03(all_hh, contacts=contacts, lang=lang), number="03", subtitle=sub, lang=lang,
                             xlsx_path=restricted_dir / "phu_luc_03_households.xlsx",
                             csv_path=restricted_dir / "phu_luc_03_households.csv")
    return SampleResult(communes=sc, villages=sv, households=public.reset_index(drop=True), allocation=allocation,
                        files=tuple(files), restricted_files=tuple(restricted))
