"""Seeded demo generator of service-user (exit) surveys: seeds 002 (Thuận Nam 2023) and 001 (Huế 2019).

Each demo is a finite population of transactions -- every procedure whose result a unit returned in the
survey window, with the answers its applicant would give -- and a sample from it, written as a province or
district would hold the files:

* ``frames/units.csv`` (unit_id, unit, level, parent_unit) and ``frames/transactions.csv`` (the one-stop
  system's export: transaction_id, unit, procedure_field, returned_on, applicant_type, applicant_id; a few
  weeks before and after the window too, as an export holds);
* ``responses/forms.csv`` (names, phones, addresses in the columns the form has for them: the cleaning stage
  moves them to ``restricted/``), ``responses/forms_second_entry.csv`` (10% keyed twice, faults planted);
* ``fieldwork/distribution.csv`` (forms handed out / returned per unit), ``fieldwork/recheck.csv`` (a 20%
  call-back re-asking five questions, seed 001 task 9);
* ``truth/true_values.csv``: the population's indices (overall and criteria, by unit and in all) under the
  instrument's default rule -- what a perfect census of the window's applicants would give.

``demo-thuannam-2023`` is the exit mode of seed 002: the allocation table of the seed (70 forms at the
district one-stop desk, 50 at each of 8 commune desks = 470), forms handed out at the desk; the generator
hands them to a simple random sample of the unit's transactions, which a real desk does not guarantee.
``demo-hue-2019`` is seed 001's list mode: the lists are drawn by ``sipas sample`` from the transaction
records, and the generator writes the forms of the official list, with reserve substitutes where an official
applicant could not be reached (the substitution is recorded in the distribution log).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sipas import io as sio

#: Instrument of the demos.
SERVICE_INSTRUMENT = ("service_user", "2017.1")
_THRESHOLDS = np.array([-1.7, -1.0, -0.1, 1.5])  # 5-point: code 4+ iff eta + noise > 0.1 ... (see _answers)
_CRIT_MU = {"1": 0.95, "2": 1.15, "3": 1.05, "4": 1.25, "5": 0.75}
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Phan", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương",
           "Lý", "Châu", "Đàng", "Thuận", "Quảng")
_GIVEN = ("An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Hoa", "Hùng", "Lan", "Long", "Mai", "Minh", "Nam", "Ngọc",
          "Phúc", "Quang", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy")


@dataclass(frozen=True)
class ServiceDemo:
    """A service-user demo: units, fields, window, allocation, mode."""

    survey_id: str
    year: int
    seed: int
    area: dict
    description: dict
    units: tuple[tuple[str, str, str, str, int, float], ...]   # id, name, level, parent, transactions, effect
    fields: dict[str, tuple[tuple[str, float, float], ...]]  # level -> (field, share, effect)
    window: tuple[str, str]
    mode: str                                                   # "exit" or "list"
    allocation: dict


_TN_COMMUNES = ("Xã Phước Nam", "Xã Phước Ninh", "Xã Phước Minh", "Xã Cà Ná", "Xã Phước Diêm", "Xã Phước Dinh",
                "Xã Nhị Hà", "Xã Phước Hà")
_TN_EFFECT = (0.25, -0.15, 0.1, -0.45, 0.3, 0.0, -0.3, 0.45)
_TN_SIZE = (640, 410, 380, 720, 560, 450, 330, 300)
_DISTRICT_FIELDS = (("Đất đai", 0.34, -0.35), ("Hộ tịch", 0.18, 0.25), ("Xây dựng", 0.14, -0.2),
                    ("Đăng ký kinh doanh", 0.14, 0.15), ("Lao động - Thương binh và Xã hội", 0.2, 0.1))
_COMMUNE_FIELDS = (("Hộ tịch", 0.42, 0.25), ("Chứng thực", 0.33, 0.3), ("Đất đai", 0.12, -0.3),
                   ("Lao động - Thương binh và Xã hội", 0.13, 0.0))
_PROVINCE_FIELDS = (("Đầu tư", 0.2, -0.1), ("Đất đai", 0.25, -0.4), ("Xây dựng", 0.2, -0.2),
                    ("Tư pháp", 0.15, 0.2), ("Y tế", 0.2, 0.05))

THUANNAM = ServiceDemo(
    survey_id="demo-thuannam-2023", year=2023, seed=20230701,
    area={"vi": "Huyện Thuận Nam, tỉnh Ninh Thuận (dữ liệu mô phỏng)",
          "en": "Thuan Nam district, Ninh Thuan province (synthetic data)"},
    description={"vi": "Khảo sát mô phỏng (dữ liệu tổng hợp) theo Kế hoạch khảo sát mức độ hài lòng của huyện Thuận "
                       "Nam năm 2023: phát phiếu tại Bộ phận một cửa ngay sau khi trả kết quả; không phải số liệu thật.",
                 "en": "Synthetic demo built like Thuan Nam district's 2023 exit-survey plan: forms handed out at the "
                       "one-stop desk after the result is returned; not real data."},
    units=(("TN00", "Bộ phận Một cửa huyện", "district", "", 1900, 0.0),)
    + tuple((f"TN{i + 1:02d}", n, "commune", "TN00", s, e)
            for i, (n, s, e) in enumerate(zip(_TN_COMMUNES, _TN_SIZE, _TN_EFFECT))),
    fields={"district": _DISTRICT_FIELDS, "commune": _COMMUNE_FIELDS},
    window=("2023-07-01", "2023-09-30"), mode="exit",
    allocation={"method": "fixed", "per_unit": 50, "overrides": {"Bộ phận Một cửa huyện": 70}},
)

_HUE_UNITS = (
    ("H00", "Trung tâm Phục vụ hành chính công tỉnh", "province", "", 5200, 0.2),
    ("H10", "Bộ phận Một cửa thành phố Huế", "district", "H00", 3800, -0.1),
    ("H11", "Phường Phú Hội", "commune", "H10", 900, 0.35),
    ("H12", "Phường Vĩnh Ninh", "commune", "H10", 780, 0.05),
    ("H20", "Bộ phận Một cửa thị xã Hương Thủy", "district", "H00", 2100, -0.35),
    ("H21", "Phường Thủy Dương", "commune", "H20", 620, -0.2),
    ("H22", "Xã Thủy Thanh", "commune", "H20", 540, 0.3),
    ("H30", "Bộ phận Một cửa huyện Phú Vang", "district", "H00", 1700, 0.1),
    ("H31", "Thị trấn Thuận An", "commune", "H30", 700, -0.4),
    ("H32", "Xã Phú Thuận", "commune", "H30", 480, 0.0),
)

HUE = ServiceDemo(
    survey_id="demo-hue-2019", year=2019, seed=20190801,
    area={"vi": "Tỉnh Thừa Thiên Huế (dữ liệu mô phỏng)", "en": "Thua Thien Hue province (synthetic data)"},
    description={"vi": "Khảo sát mô phỏng (dữ liệu tổng hợp) theo kế hoạch đo lường sự hài lòng của tỉnh Thừa Thiên "
                       "Huế năm 2019: danh sách chính thức và dự phòng rút từ hồ sơ đã trả kết quả; không phải số liệu "
                       "thật.",
                 "en": "Synthetic demo built like Thua Thien Hue's 2019 plan: official and reserve lists drawn from "
                       "the records of returned results; not real data."},
    units=_HUE_UNITS,
    fields={"province": _PROVINCE_FIELDS, "district": _DISTRICT_FIELDS, "commune": _COMMUNE_FIELDS},
    window=("2018-11-01", "2019-07-31"), mode="list",
    allocation={"method": "minimum_plus_proportional", "total": 700, "minimum": 40},
)

SERVICE_DEMOS = (THUANNAM, HUE)


def _days(first: str, last: str) -> np.ndarray:
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return np.array([a + dt.timedelta(days=i) for i in range((b - a).days + 1)], dtype=object)


def transaction_population(demo: ServiceDemo, *, rng: np.random.Generator) -> pd.DataFrame:
    """Every transaction of the export: inside the window (the population) and 3 weeks either side.

    Columns: transaction_id, unit, unit_id, level, procedure_field, returned_on, applicant_type,
    applicant_id, eta (the applicant's latent satisfaction), in_window.
    """
    first = dt.date.fromisoformat(demo.window[0])
    last = dt.date.fromisoformat(demo.window[1])
    inside = _days(demo.window[0], demo.window[1])
    before = _days(str(first - dt.timedelta(days=21)), str(first - dt.timedelta(days=1)))
    after = _days(str(last + dt.timedelta(days=1)), str(last + dt.timedelta(days=21)))
    rows = []
    n_people = sum(u[4] for u in demo.units)
    for uid, name, level, _parent, size, effect in demo.units:
        fields = demo.fields[level]
        names = [f[0] for f in fields]
        share = np.array([f[1] for f in fields]) / sum(f[1] for f in fields)
        feff = np.array([f[2] for f in fields])
        n_out = max(1, size // 12)
        for part, days, n in (("in", inside, size), ("before", before, n_out), ("after", after, n_out)):
            k = rng.choice(len(names), size=n, p=share)
            day = np.sort(rng.choice(days, size=n))
            org = rng.random(n) < 0.12
            # repeat applicants: a quarter of a unit's transactions come from people with an earlier one
            who = rng.integers(0, int(0.8 * n_people), size=n)
            eta = 0.9 + effect + feff[k] + rng.normal(0, 0.55, n)
            rows.append(pd.DataFrame({"unit": name, "unit_id": uid, "level": level,
                                      "procedure_field": [names[j] for j in k], "returned_on": day,
                                      "applicant_type": np.where(org, "organisation", "person"),
                                      "applicant_id": [f"{'TC' if o else 'CN'}{w:07d}" for o, w in zip(org, who)],
                                      "eta": eta, "in_window": part == "in"}))
    pop = pd.concat(rows, ignore_index=True).sort_values(["returned_on", "unit_id"], kind="stable")
    pop = pop.reset_index(drop=True)
    pop.insert(0, "transaction_id", [f"{demo.survey_id[5:8].upper()}-{i + 1:06d}" for i in range(len(pop))])
    return pop


def _answers(eta: np.ndarray, instrument, *, rng: np.random.Generator) -> pd.DataFrame:
    """Answers of each applicant to every item (5-point: thresholds on eta + criterion shift + noise)."""
    items = instrument.items
    n = len(eta)
    out = {}
    for _, it in items.iterrows():
        if it["scale"] != "sat5":
            continue
        mu = _CRIT_MU.get(str(it["criterion"]), 1.0)
        z = eta + (mu - 1.0) + rng.normal(0, 0.75, n)
        out[it["item"]] = 1 + np.searchsorted(_THRESHOLDS, z).astype(int)
    ans = pd.DataFrame(out)
    gave = rng.random(n) < 0.22
    ans.insert(list(ans.columns).index("a5_3"), "q_gave_feedback", np.where(gave, 1, 2))
    for c in ("a5_3", "a5_4"):
        ans[c] = ans[c].where(gave)
    return ans


def true_unit_values(pop: pd.DataFrame, answers: pd.DataFrame, instrument) -> pd.DataFrame:
    """The population's overall and criterion indices under the default rule, by unit and in all.

    Evaluated with the same rule evaluator as the estimates (weights 1: a census of the window's
    transactions), ``level, id, unit, value``; ``unit`` blank for the whole area.
    """
    from sipas.forms.instrument.rules import resolve_rule
    from sipas.indices.aggregation import evaluate_rule

    rule = resolve_rule(instrument.raw)
    items = instrument.items
    item_ids = items.loc[items["index"] & items["criterion"].notna(), "item"].tolist()
    V = answers[item_ids].to_numpy(dtype=float, na_value=np.nan)
    valid = np.column_stack([np.isin(V[:, j], instrument.valid_codes(i)) for j, i in enumerate(item_ids)])
    pos = np.column_stack([np.isin(V[:, j], instrument.positive_codes(i)) for j, i in enumerate(item_ids)])
    unit = pop["unit"].to_numpy()
    rows = []
    for name in [""] + sorted(set(unit), key=_order):
        mask = np.ones(len(unit), dtype=bool) if name == "" else unit == name
        num = (pos & valid & mask[:, None]).sum(axis=0).astype(float)[:, None]
        den = (valid & mask[:, None]).sum(axis=0).astype(float)[:, None]
        rv = evaluate_rule(rule, num, den, item_ids)
        for (lvl, ident), v in zip(rv.labels, rv.values[:, 0]):
            rows.append({"level": lvl, "id": ident, "unit": name, "value": float(v)})
    return pd.DataFrame(rows)


def _order(name: str) -> tuple:
    from sipas.text.collation import vi_sort_key

    return vi_sort_key(name)


def _people(rng: np.random.Generator, n: int) -> tuple[list[str], list[str], list[str]]:
    names = [f"{_FAMILY[a]} {'Văn' if b else 'Thị'} {_GIVEN[c]}" for a, b, c in
             zip(rng.integers(0, len(_FAMILY), n), rng.random(n) < 0.5, rng.integers(0, len(_GIVEN), n))]
    phones = [f"09{d:08d}" for d in rng.integers(0, 10 ** 8, n)]
    return names, phones, [f"Thôn {k}" for k in rng.integers(1, 12, n)]


def _forms(sel: pd.DataFrame, answers: pd.DataFrame, *, rng: np.random.Generator, year: int) -> pd.DataFrame:
    n = len(sel)
    names, phones, addresses = _people(rng, n)
    f = pd.DataFrame({"form_id": [f"{year}-{i + 1:05d}" for i in range(n)], "unit": sel["unit"].to_numpy(),
                      "procedure_field": sel["procedure_field"].to_numpy(), "mode": "paper",
                      "interview_date": [str(d) for d in sel["returned_on"]],
                      "respondent_name": names, "phone": phones,
                      "address": addresses,
                      "sex": rng.integers(1, 3, n), "age_group": rng.choice([1, 2, 3, 4, 5], n, p=[.1, .25, .3, .25, .1]),
                      "education": rng.choice([1, 2, 3, 4], n, p=[.15, .3, .35, .2]),
                      "respondent_type": np.where(sel["applicant_type"].to_numpy() == "organisation", 2, 1)})
    a = answers.loc[sel.index].reset_index(drop=True)
    miss = rng.random(a.shape) < 0.015   # item nonresponse: "no answer" (9)
    a = a.mask(miss & a.notna().to_numpy(), 9)
    f = pd.concat([f, a.astype("Int64")], axis=1)
    return f


def _recheck(forms: pd.DataFrame, *, rng: np.random.Generator) -> pd.DataFrame:
    """A 20% telephone call-back re-asking five questions (small disagreement; two forms not confirmed)."""
    k = int(np.ceil(0.2 * len(forms)))
    pick = np.sort(rng.choice(len(forms), size=k, replace=False))
    r = forms.iloc[pick][["form_id", "a3_1", "a4_1", "o_overall", "sex", "respondent_type"]].copy()
    for c in ("a3_1", "a4_1", "o_overall"):
        v = r[c].astype("Int64")
        move = (rng.random(len(r)) < 0.08) & v.notna().to_numpy() & (v != 9).fillna(False).to_numpy()
        r[c] = v.where(~move, (v.clip(2, 4) + rng.choice([-1, 1], len(r))).astype("Int64"))
    r["visit_confirmed"] = 1
    bad = r.index[:2]
    r.loc[bad, "visit_confirmed"] = 2
    for c in ("a3_1", "a4_1", "o_overall"):
        r.loc[bad, c] = 1
    r.loc[bad, "respondent_type"] = 3 - r.loc[bad, "respondent_type"].astype(int)
    return r.reset_index(drop=True)


def _second_entry(forms: pd.DataFrame, instrument, *, rng: np.random.Generator) -> pd.DataFrame:
    """10% of the forms keyed again, with three keying faults (neighbouring code)."""
    items = [i for i in instrument.items["item"]]
    cols = ["form_id", "sex", "age_group", "education", "respondent_type", *items]
    k = int(np.ceil(0.1 * len(forms)))
    pick = np.sort(rng.choice(len(forms), size=k, replace=False))
    s = forms.iloc[pick][cols].copy().reset_index(drop=True)
    for j in range(3):
        c = items[(5 * j + 2) % len(items)]
        v = s.at[j, c]
        if pd.notna(v) and int(v) != 9:
            s.at[j, c] = int(v) - 1 if int(v) > 1 else 2
    return s


def _list_fieldwork(demo: ServiceDemo, pop: pd.DataFrame, export: pd.DataFrame, alloc: pd.DataFrame, *,
                    rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Seed 001's fieldwork: lists drawn by :func:`sipas.sampling.select_transactions` (the survey's seed),
    10% of the official applicants not reached (refused, not reachable, wrong address), each replaced by
    the next reserve of the unit (:func:`sipas.sampling.transaction_substitutions`).  Returns the
    transactions that got a form (official who responded, then substitutes), whether each was returned, and
    the substitution log."""
    from sipas.sampling import select_transactions, transaction_substitutions

    ids = dict(zip(pop["unit"], pop["unit_id"]))
    a = pd.DataFrame({"unit": alloc["unit"].map(ids).to_numpy(), "forms": alloc["forms"].to_numpy()})
    tx = export.assign(returned_on=pd.to_datetime(export["returned_on"]))
    sel = select_transactions(tx, allocation=a, window=demo.window, reserve_ratio=1.0, seed=demo.seed)
    off = sel[sel["list"] == "official"]
    u = rng.random(len(off))
    outcome = np.where(u < 0.05, "not_reachable", np.where(u < 0.08, "refused", np.where(u < 0.1, "wrong_address",
                                                                                             "responded")))
    outcomes = pd.DataFrame({"transaction_id": off["transaction_id"].to_numpy(), "outcome": outcome})
    subs = transaction_substitutions(sel, outcomes=outcomes)
    ok = set(off.loc[outcome == "responded", "transaction_id"]) | set(subs["substitute_id"][subs["substitute_id"] != ""])
    handed = pop[pop["transaction_id"].isin(ok)].sort_values(["unit_id", "returned_on"], kind="stable")
    returned = rng.random(len(handed)) >= 0.02
    return handed, returned, subs


def _csv(df: pd.DataFrame, path: Path) -> Path:
    return sio.write_csv(df, path, for_people=False)


def synthesize_service(out_dir: str | Path, demo: ServiceDemo) -> Path:
    """Write one service-user demo under ``out_dir/<survey_id>``; returns its folder."""
    from sipas.forms.instrument import load_instrument
    from sipas.sampling import allocate_forms

    base = Path(out_dir) / demo.survey_id
    rng = np.random.default_rng(demo.seed)
    inst = load_instrument(*SERVICE_INSTRUMENT)
    pop = transaction_population(demo, rng=rng)
    answers = _answers(pop["eta"].to_numpy(), inst, rng=np.random.default_rng(demo.seed + 1))
    units = pd.DataFrame([{"unit_id": u[0], "unit": u[1], "level": u[2], "parent_unit": u[3]} for u in demo.units])
    _csv(units, base / "frames" / "units.csv")
    export = pop[["transaction_id", "unit_id", "procedure_field", "returned_on", "applicant_type", "applicant_id"]]
    export = export.rename(columns={"unit_id": "unit"}).assign(returned_on=[str(d) for d in pop["returned_on"]])
    _csv(export, base / "frames" / "transactions.csv")
    inside = pop[pop["in_window"]]
    truth = true_unit_values(inside, answers.loc[inside.index].reset_index(drop=True), inst)
    _csv(truth, base / "truth" / "true_values.csv")

    counts = inside.groupby("unit").size().rename("transactions").reset_index()
    alloc_cfg = dict(demo.allocation)
    alloc = allocate_forms(counts, unit="unit", size="transactions", **alloc_cfg)
    srng = np.random.default_rng(demo.seed + 2)
    config: dict = {
        "survey_id": demo.survey_id, "kind": "service_user", "description": demo.description,
        "province": demo.area, "year": demo.year,
        "instrument": {"id": SERVICE_INSTRUMENT[0], "version": SERVICE_INSTRUMENT[1]},
        "structure": "units",
        "frames": {"units": "frames/units.csv", "transactions": "frames/transactions.csv"},
        "responses": ["responses/forms.csv"], "seed": demo.seed, "language": "vi", "min_cell_size": 30,
        "sampling": {"mode": demo.mode, "window": [demo.window[0], demo.window[1]], "allocation": alloc_cfg},
        "fieldwork": {"distribution_log": "fieldwork/distribution.csv", "recheck": "fieldwork/recheck.csv",
                      "recheck_items": ["a3_1", "a4_1", "o_overall", "sex", "respondent_type"],
                      "recheck_fail_min_items": 2, "double_entry": "responses/forms_second_entry.csv"},
        "restricted": {"salt_file": "restricted/salt.txt"},
        "truth": "truth/true_values.csv",
    }
    subs = None
    if demo.mode == "exit":   # the desk hands the unit's forms to (here: a random sample of) its applicants
        rows = []
        for _, a in alloc.iterrows():
            cand = inside[inside["unit"] == a["unit"]]
            take = np.sort(srng.choice(cand.index.to_numpy(), size=int(a["forms"]), replace=False))
            rows.append(pop.loc[take])
        handed = pd.concat(rows).sort_values(["unit_id", "returned_on"], kind="stable")
        returned = srng.random(len(handed)) >= 0.035
    else:   # seed 001: official and reserve lists from the records; reserve replaces who cannot be reached
        handed, returned, subs = _list_fieldwork(demo, pop, export, alloc, rng=srng)
    forms_all = _forms(handed, answers, rng=np.random.default_rng(demo.seed + 3), year=demo.year)
    dist = pd.DataFrame({"form_id": forms_all["form_id"], "unit": forms_all["unit"],
                         "distributed_date": forms_all["interview_date"], "returned": returned.astype(int)})
    if subs is not None:
        dist.insert(1, "transaction_id", handed["transaction_id"].to_numpy())
        _csv(subs, base / "fieldwork" / "substitutions.csv")
        config["sampling"]["reserve_ratio"] = 1.0
        config["fieldwork"]["substitutions"] = "fieldwork/substitutions.csv"
    forms = forms_all[returned].reset_index(drop=True)
    _csv(forms, base / "responses" / "forms.csv")
    _csv(dist, base / "fieldwork" / "distribution.csv")
    _csv(_recheck(forms, rng=np.random.default_rng(demo.seed + 4)), base / "fieldwork" / "recheck.csv")
    _csv(_second_entry(forms, inst, rng=np.random.default_rng(demo.seed + 5)),
         base / "responses" / "forms_second_entry.csv")
    sio.atomic_write_text(base / "restricted" / "salt.txt",
                          "".join(f"{b:02x}" for b in np.random.default_rng(demo.seed + 6).integers(0, 256, 16)) + "\n")
    head = "# Survey-year configuration (see sipas/config.py). Written by `sipas synth`.\n"
    sio.atomic_write_text(base / "survey.yml", head + yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return base
