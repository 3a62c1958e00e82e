"""Seeded generator of the national demo surveys (seed 003): every province at once, before and after the merger.

``demo-national-2024`` has the 63 provinces of 2024, ``demo-national-2025`` the 34 provinces since
1/7/2025 (Resolution 202/2025/QH15; names as ``vietnam-provinces`` spells them,
:func:`sipas.indices.merger.new_provinces`).  One synthetic country underlies both: each old province has
:data:`COMMUNES_PER_OLD_PROVINCE` communes (2 wards, the rest communes), 4-7 villages each and ~60
households per village (about 420,000 households); a new province is the union of the old provinces it
merged (communes keep their names, made unique within the new province).  No districts are simulated:
both years are two-tier (province -> commune -> village), so the design is the same.

Answers follow the household demo's model (:func:`sipas.synth._simulate_answers`) per old province with a
province effect ``u_p ~ N(0, 0.3^2)`` (fixed across years) and, in 2025, a province-specific change
``d_p ~ N(0.08, 0.1^2)``: the year-over-year change differs by province.  The population is simulated one
old province at a time (memory stays small); only the sampled households' answers are written, and the
population counts give the truth (``truth/true_values.csv``: item, criterion, content and overall indices per
province, and the country where ``province == ""``).

Sample (a stratified three-stage probability design, strata = provinces, PSU = communes):
communes by systematic PPS on households within each province (Madow 1949: ``pi_i = n_h x_i / X_h``),
3 villages per commune by systematic PPS, households by systematic sampling within hamlets
(:func:`sipas.sampling.select_households`).  2025: 12 communes x 3 villages x 30 households in each of the
34 provinces (36,720 households, as the national survey's ~37,000); 2024: 4 communes x 3 villages x 25
households in each of the 63 (18,900).  About 6% of forms are not returned; 8 forms are invalid.  The
household frame is not written (the Ministry holds none; the national kind does not require it), nor
fieldwork logs or contacts: the demo stays small on disk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sipas import io as sio
from sipas import sampling
from sipas.forms.instrument import load_instrument
from sipas.synth import _SYL1, _SYL2, DEMO_INSTRUMENT, SynthResult, _simulate_answers

__all__ = ["NATIONAL_DEMOS", "build_country", "synthesize_national"]

#: Seed of the synthetic country (names, sizes, province effects): the same in both years.
FRAME_SEED = 2025
COMMUNES_PER_OLD_PROVINCE = 20
#: The national demos: survey id -> (year, seed, provinces "old"/"new", communes per province, villages per
#: commune, households per village, previous survey).
NATIONAL_DEMOS = {
    "demo-national-2024": (2024, 20240910, "old", 4, 3, 25, None),
    "demo-national-2025": (2025, 20250910, "new", 12, 3, 30, "demo-national-2024"),
}


def build_country(rng: np.random.Generator, *, communes_per_old_province: int = COMMUNES_PER_OLD_PROVINCE,
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Communes, villages and households of the synthetic country, and the province effects.

    ``communes_per_old_province`` (default :data:`COMMUNES_PER_OLD_PROVINCE`) sizes the country: the
    pipeline benchmark (``benchmarks/national.py``) takes more to draw ~150k households with the same
    provinces.

    Returns
    -------
    communes : DataFrame
        ``province_old, province (new), commune, commune_type, commune_class, is_admin_centre, households``.
    villages : DataFrame
        ``province_old, province, commune, village, has_commune_hq, households, neighbour_order``.
    households : DataFrame
        ``household_id, province_old, province, commune, village, hamlet, district_index`` (the answer
        model's local shift, :data:`sipas.synth.DISTRICTS`).
    effects : DataFrame
        ``province_old, effect, change_2025`` (latent shifts).
    """
    from sipas.indices.merger import merger_table

    mt = merger_table().sort_values(["new_code", "old_code"], kind="stable")
    com_rows, vil_rows, hh_rows = [], [], []
    n_hh = 0
    taken: dict[str, set[str]] = {}
    for old, new in zip(mt["province_old"], mt["province"]):
        names = taken.setdefault(new, set())
        for k in range(communes_per_old_province):
            while True:
                base = f"{rng.choice(_SYL1)} {rng.choice(_SYL2)}"
                if base not in names:
                    names.add(base)
                    break
            ward = k < 2
            commune = f"{'Phường' if ward else 'Xã'} {base}"
            n_vil = int(rng.integers(4, 8))
            hq = int(rng.integers(0, n_vil))
            order = rng.permutation(n_vil)
            size_c = 0
            local = k % 8
            for j in range(n_vil):
                village = f"Tổ dân phố {j + 1}" if ward else f"Thôn {j + 1}"
                size = int(np.clip(rng.lognormal(np.log(70 if ward else 55), 0.4), 15, 250))
                n_ham = int(rng.integers(1, 4))
                ham = np.sort(np.concatenate([np.arange(n_ham), rng.integers(0, n_ham, size - n_ham)]))
                vil_rows.append((old, new, commune, village, int(j == hq), size, int(order[j]) + 1))
                for h in range(size):
                    n_hh += 1
                    hh_rows.append((f"N{n_hh:07d}", old, new, commune, village, f"Xóm {chr(65 + ham[h])}", local))
                size_c += size
            com_rows.append((old, new, commune, "Phường" if ward else "Xã", "I" if ward else "II", int(k == 0),
                             size_c))
    communes = pd.DataFrame(com_rows, columns=["province_old", "province", "commune", "commune_type",
                                               "commune_class", "is_admin_centre", "households"])
    villages = pd.DataFrame(vil_rows, columns=["province_old", "province", "commune", "village", "has_commune_hq",
                                               "households", "neighbour_order"])
    households = pd.DataFrame(hh_rows, columns=["household_id", "province_old", "province", "commune", "village",
                                                "hamlet", "district_index"])
    olds = mt["province_old"].tolist()
    effects = pd.DataFrame({"province_old": olds, "effect": rng.normal(0.0, 0.3, len(olds)),
                            "change_2025": rng.normal(0.08, 0.1, len(olds))})
    return communes, villages, households, effects


def _counts(pop: pd.DataFrame, instrument, item_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Positive and valid answers per item over ``pop`` (the truth's population counts)."""
    V = pop[item_ids].to_numpy()
    valid = np.column_stack([np.isin(V[:, j], instrument.valid_codes(i)) for j, i in enumerate(item_ids)])
    pos = np.column_stack([np.isin(V[:, j], instrument.positive_codes(i)) for j, i in enumerate(item_ids)])
    return (pos & valid).sum(axis=0).astype(float), valid.sum(axis=0).astype(float)


#: The demo's file of other indices, inside the survey folder.
OTHER_FILE = "other_indices/chi_so_khac_mo_phong.csv"
#: Source written in the demo's file of other indices: it must never be taken for real values.
OTHER_SOURCE = "Dữ liệu mô phỏng (sipas synth), không phải số liệu thật / synthetic, not real data"
#: Indicators of the demo's file of other indices: (name, year offset, intercept, slope on the true index,
#: noise SD), all on a 0-100 scale.
OTHER_INDICATORS = (
    ("PAR INDEX (mô phỏng)", -1, -50.0, 150.0, 3.0),
    ("Chỉ số phục vụ người dân, doanh nghiệp theo QĐ 766/QĐ-TTg (mô phỏng)", 0, 0.0, 100.0, 4.0),
    ("PAPI tổng hợp (mô phỏng)", -1, 40.0, 10.0, 4.0),
)


def synthetic_other_indices(truth: pd.DataFrame, *, year: int, seed: int) -> pd.DataFrame:
    """A file of other indices for the national demo, clearly synthetic (:data:`OTHER_SOURCE`).

    Each indicator of :data:`OTHER_INDICATORS` is ``a + b * theta_p + e_p``, ``theta_p`` the province's true
    overall index (``truth``), ``e_p ~ N(0, sd^2)``, clipped to [0, 100] and rounded to 2 decimals: PAR INDEX and
    the Decision 766 score follow the truth, PAPI barely (rank correlations with the 2025 demo's estimates about
    0.8, 0.6 and 0.1).  Provinces are named
    "Tỉnh <name>" where the survey writes "<name>", so that matching names is exercised
    (:func:`sipas.indices.other_indices.unit_key`).

    Returns
    -------
    DataFrame
        ``unit, year, indicator, value, source`` (the long layout of :mod:`sipas.indices.other_indices`).
    """
    rng = np.random.default_rng(seed + 766)
    t = truth[(truth["level"] == "overall") & (truth["province"] != "")].sort_values("province", kind="stable")
    names = [p if p.startswith("Thành phố") else f"Tỉnh {p}" for p in t["province"]]
    theta = t["value"].to_numpy(float)
    parts = []
    for name, offset, a, b, sd in OTHER_INDICATORS:
        v = np.round(np.clip(a + b * theta + rng.normal(0.0, sd, len(theta)), 0.0, 100.0), 2)
        parts.append(pd.DataFrame({"unit": names, "year": year + offset, "indicator": name, "value": v,
                                   "source": OTHER_SOURCE}))
    return pd.concat(parts, ignore_index=True)


#: Forms per response file: a national survey's forms are entered centrally in batches, and one file per
#: batch keeps every file of the demo small enough to keep in the repository (< 5 MiB).
FORMS_PER_FILE = 15_000


def response_batches(forms: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(responses/forms_NN.csv, forms of that batch)`` in form order, :data:`FORMS_PER_FILE` per file."""
    return [(f"responses/forms_{k + 1:02d}.csv", forms.iloc[start:start + FORMS_PER_FILE])
            for k, start in enumerate(range(0, max(len(forms), 1), FORMS_PER_FILE))]


def synthesize_national(out_dir: str | Path, *, survey_id: str,
                        communes_per_old_province: int = COMMUNES_PER_OLD_PROVINCE,
                        sample: tuple[int, int, int] | None = None) -> SynthResult:
    """Write the national demo ``survey_id`` (a key of :data:`NATIONAL_DEMOS`) under ``out_dir/<survey_id>``.

    Parameters
    ----------
    out_dir : path
        Usually ``data/raw``.
    survey_id : str
        ``demo-national-2024`` (63 provinces) or ``demo-national-2025`` (34 provinces).
    communes_per_old_province : int
        Size of the synthetic country (:func:`build_country`); the demos take the default.
    sample : (communes per province, villages per commune, households per village), optional
        In place of the demo's (:data:`NATIONAL_DEMOS`): the benchmark's sizes (``benchmarks/national.py``).
        Provinces, years, seeds and the previous survey stay the demo's.

    Returns
    -------
    SynthResult
    """
    from sipas.forms.instrument.rules import resolve_rule
    from sipas.indices.aggregation import evaluate_rule

    year, seed, which, n_com, n_vil, per_village, previous = NATIONAL_DEMOS[survey_id]
    if sample is not None:
        n_com, n_vil, per_village = sample
    instrument = load_instrument(*DEMO_INSTRUMENT)
    communes, villages, households, effects = build_country(np.random.default_rng(FRAME_SEED),
                                                            communes_per_old_province=communes_per_old_province)
    unit = "province_old" if which == "old" else "province"
    # the frames as the survey sees them: `province` is this year's province
    com = communes.drop(columns="province").rename(columns={"province_old": "province"}) if which == "old" \
        else communes.drop(columns="province_old")
    vil = villages.drop(columns="province").rename(columns={"province_old": "province"}) if which == "old" \
        else villages.drop(columns="province_old")
    hh = households.assign(province=households[unit])

    # --- the sample (frames only; answers come after)
    design_c = {"design": "pps_systematic", "strata": "district", "n": n_com, "size": "households"}
    design_v = {"design": "pps_systematic", "n": n_vil, "size": "households"}
    com_d = com.assign(district=com["province"])
    sel_c = sampling.select_communes_design(com_d, design=design_c, seed=seed)
    vil_d = vil.assign(district=vil["province"])
    keys_c = set(zip(sel_c["district"], sel_c["commune"]))
    vil_sel_c = vil_d[[k in keys_c for k in zip(vil_d["district"], vil_d["commune"])]]
    sel_v = sampling.select_villages_design(vil_sel_c, design=design_v, seed=seed)
    keys_v = set(zip(sel_v["district"], sel_v["commune"], sel_v["village"]))
    hh_frame = hh[[k in keys_c for k in zip(hh["province"], hh["commune"])]]
    sel_h = sampling.select_households(
        hh_frame.drop(columns=["district_index", "province_old"]).assign(district=hh_frame["province"]), sel_v,
        per_village=per_village, seed=seed, neighbours=vil_sel_c)
    probs = sampling.inclusion_probabilities(com_d, vil_d, sel_c, sel_v, sel_h)
    sample = (sel_h.drop(columns=["hh_sampling_prob", "district"]).merge(probs, on="household_id", how="left"))
    sample = sample[["household_id", "province", "commune", "village", "hamlet", "role", "sample_village", "pi"]]
    del keys_v

    # --- the population, one old province at a time: truth counts and the sampled households' answers
    rule = resolve_rule(instrument.raw)
    items = instrument.items
    item_ids = items.loc[items["index"] & items["criterion"].notna(), "item"].tolist()
    rng = np.random.default_rng(seed)
    sampled = set(sample["household_id"])
    eff = effects.set_index("province_old")
    counts: dict[str, list[np.ndarray]] = {}
    answers = []
    for old, g in households.groupby("province_old", sort=False):
        shift = eff.at[old, "effect"] + (eff.at[old, "change_2025"] if year >= 2025 else 0.0)
        g = g.reset_index(drop=True).assign(district=old)
        c = communes[communes["province_old"] == old].assign(district=old)
        pop = _simulate_answers(rng, g, c, instrument, year_shift=float(shift))
        num, den = _counts(pop, instrument, item_ids)
        target = old if which == "old" else g["province"].iat[0]
        acc = counts.setdefault(target, [np.zeros_like(num), np.zeros_like(den)])
        acc[0] += num
        acc[1] += den
        keep = g["household_id"].isin(sampled).to_numpy()
        answers.append(pop[keep].assign(household_id=g.loc[keep, "household_id"].to_numpy()))
    pop_s = pd.concat(answers, ignore_index=True).set_index("household_id")

    rows = []
    total = [sum(v[0] for v in counts.values()), sum(v[1] for v in counts.values())]
    for name, (num, den) in [("", total), *counts.items()]:
        rv = evaluate_rule(rule, num[:, None], den[:, None], item_ids)
        rows += [{"level": lvl, "id": ident, "province": name, "value": float(v)}
                 for (lvl, ident), v in zip(rv.labels, rv.values[:, 0])]
    truth = pd.DataFrame(rows)

    # --- forms: ~6% not returned, item nonresponse and "don't know", a few invalid forms
    base = Path(out_dir) / survey_id
    frng = np.random.default_rng(seed + 2)
    n_s = len(sample)
    returned = frng.random(n_s) > 0.06
    form_ids = [f"{year}-{i + 1:06d}" for i in range(n_s)]
    day = pd.Timestamp(f"{year}-09-10") + pd.to_timedelta(frng.integers(0, 25, n_s), unit="D")
    rows_s = pop_s.loc[sample["household_id"]].reset_index(drop=True)
    item_cols = list(instrument.items["item"])
    ans = rows_s[item_cols].astype("Int64")
    ans = ans.mask(ans == 0)
    for col in item_cols:
        r = frng.random(n_s)
        ans.loc[(r < 0.02) & ans[col].notna(), col] = pd.NA
        ans.loc[(r >= 0.02) & (r < 0.04) & ans[col].notna(), col] = 9
    forms = pd.DataFrame({
        "form_id": form_ids, "household_id": sample["household_id"], "province": sample["province"],
        "commune": sample["commune"], "village": sample["sample_village"],
        "mode": np.where(frng.random(n_s) < 0.25, "electronic", "paper"),
        "interview_date": day.strftime("%Y-%m-%d"),
        **{p["id"]: rows_s[p["id"]] for p in instrument.raw.get("profile", [])},
    })
    forms = pd.concat([forms, ans], axis=1)[returned].reset_index(drop=True)
    idx_items = items.loc[items["index"], "item"].tolist()
    for b in frng.choice(len(forms), size=8, replace=False):
        keep = frng.choice(idx_items, size=3, replace=False)
        forms.loc[b, [c for c in idx_items if c not in keep]] = pd.NA

    files = [sio.write_csv(com, base / "frames" / "communes.csv"),
             sio.write_csv(vil, base / "frames" / "villages.csv"),
             sio.write_csv(sample, base / "sample" / "households_selected.csv"),
             *[sio.write_csv(part, base / name) for name, part in response_batches(forms)],
             sio.write_csv(truth, base / "truth" / "true_values.csv"),
             sio.atomic_write_text(base / "restricted" / "salt.txt", f"demo-salt-{survey_id}-not-secret\n")]
    if which == "new":   # other indices beside SIPAS (synthetic, labelled so in every row)
        files.append(sio.write_csv(synthetic_other_indices(truth, year=year, seed=seed),
                                   base / OTHER_FILE))
    n_prov = com["province"].nunique()
    config = {
        "survey_id": survey_id,
        "description": {
            "vi": f"Khảo sát quốc gia mô phỏng (dữ liệu tổng hợp), {n_prov} tỉnh, thành phố"
                  + (" sau sắp xếp từ 1/7/2025 (Nghị quyết 202/2025/QH15)" if which == "new" else "")
                  + "; không phải số liệu thật.",
            "en": f"Synthetic national survey, {n_prov} provinces"
                  + (" after the 1 July 2025 merger (Resolution 202/2025/QH15)" if which == "new" else "")
                  + "; not real data."},
        "kind": "national",
        "province": {"vi": "Toàn quốc (dữ liệu mô phỏng)", "en": "Viet Nam (synthetic data)"},
        "year": year,
        "instrument": {"id": DEMO_INSTRUMENT[0], "version": DEMO_INSTRUMENT[1]},
        "structure": "two_tier",
        "frames": {"communes": "frames/communes.csv", "villages": "frames/villages.csv"},
        "responses": [name for name, _ in response_batches(forms)],
        "seed": seed,
        "language": "vi",
        "min_cell_size": 30,
        "design": {"strata": "province", "psu": "commune", "report_unit": "province"},
        "sampling": {"households_per_village": per_village,
                     "communes": {"design": "pps_systematic", "strata": "province", "n": n_com, "size": "households"},
                     "villages": dict(design_v), "sample_file": "sample/households_selected.csv"},
        "restricted": {"salt_file": "restricted/salt.txt"},
        "weighting": {"nonresponse_cells": ["province", "commune"]},
        "report": {"top_k": 10 if which == "new" else 20},
        "truth": "truth/true_values.csv",
    }
    if previous:
        config["previous_survey"] = previous
    if which == "new":
        config["other_indices"] = [OTHER_FILE]
    text = ("# Survey-year configuration (see sipas/config.py). Written by `sipas synth`.\n"
            + yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    files.append(sio.atomic_write_text(base / "survey.yml", text))
    return SynthResult(survey_dir=base, n_households_population=len(households), n_sampled=n_s,
                       n_forms=len(forms), files=tuple(files))
