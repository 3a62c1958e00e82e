"""Seeded generator of the embedded demo survey (a synthetic province).

The demo is built the way seed 000 (Lai Châu 2024) builds its sample: 8 districts;
3 communes per district and 5 in two named districts; 3 villages per commune;
30 households per village (2,520 households).  The whole province's household
population is simulated, so the *true* satisfaction rates per district and
criterion are known; they are written beside the data (``truth/``) so tests can
check that the pipeline recovers them within their confidence intervals.

Answer model (one household h, criterion c, item i of c)::

    eta[h, c] = mu[c] + year + district[d, c] + commune[k] + person[h] + e[h, c]
    code[h, i] = 1 + #{ thresholds below eta[h, c] + noise[h, i] }   (5-point items)
    code[h, i] = positive if eta[h, c] + noise[h, i] > 0              (yes/no items)

so items are correlated within a criterion (shared ``e[h, c]``), criteria are
correlated through ``person[h]``, and districts and communes differ.  Item
nonresponse, "don't know" answers, unreturned forms, a few invalid forms and
duplicate entries are added on purpose.  Only the drawn sample's answers are
written; the population answers are used for the truth and then discarded.

Fieldwork quality assurance (seed 000 §III.1, seed 001 tasks 9-11) is simulated too, from
streams of their own so that the files above do not change: ``fieldwork/recheck.csv``, the
recheck (phúc tra) visits of 20% of the returned forms (form id and answers only; three
forms planted as filled in without a visit, ``truth/recheck_planted.csv``), and
``responses/forms_second_entry.csv``, a second data entry of 10% of the paper forms with
planted keying faults (every differing cell in ``truth/double_entry_planted.csv``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sipas import io as sio
from sipas import sampling
from sipas.errors import SipasError
from sipas.forms.instrument import load_instrument

DISTRICTS = (
    # name, kind, number of communes, latent district shift
    ("Thành phố Lai Châu", "city", 7, 0.35),
    ("Huyện Tam Đường", "rural", 13, 0.10),
    ("Huyện Phong Thổ", "rural", 17, -0.20),
    ("Huyện Sơn Hòa", "rural", 16, -0.30),
    ("Huyện Mường Tè", "rural", 13, -0.45),
    ("Huyện Nậm Nhùn", "rural", 10, -0.15),
    ("Huyện Than Uyên", "rural", 12, 0.20),
    ("Huyện Tân Uyên", "rural", 10, 0.05),
)
#: Districts that also take the last unit of each class list (seed 000 §II.1.c).
ALSO_LAST = ("Huyện Sơn Hòa", "Huyện Phong Thổ")

_SYL1 = ("Mường", "Nậm", "Pa", "Tà", "Khun", "Ka", "Lăng", "Sìn", "Tủa", "Phìn", "Hua", "Bum", "Dào", "San",
         "Thèn", "Ma", "Lùng", "Chăn", "Hố", "Nà", "Bản", "Pú", "Sì", "Làng", "Ăng", "Âu", "Đông", "Ơn", "Ưng",
         "Bình", "Khổng", "Mù", "Trung", "Vàng", "Tung", "Hồng", "Phúc", "Thân", "Căn", "Ẳng")
_SYL2 = ("Tè", "Hồ", "Chải", "Lèng", "Cang", "Lư", "Tở", "Khoa", "Sáng", "Tăm", "Pì", "Lếch", "Xe", "Hon",
         "Kim", "Than", "Mít", "Dế", "Chà", "Bo", "Cuổi", "Ban", "Hăn", "Nhé", "Tông", "Sì", "Thàng", "Chản",
         "Hạ", "Thượng", "Phong", "Lâm", "Đa", "Ơn", "Uyên", "Vai", "Bó", "Hưng")
_FAMILY = ("Lò", "Lường", "Tòng", "Vàng", "Giàng", "Sùng", "Tẩn", "Phàn", "Lý", "Hoàng", "Đỗ", "Trần", "Nguyễn",
           "Lê", "Điêu", "Lù", "Pờ", "Chang", "Đèo", "Vũ")
_MIDDLE_M = ("Văn", "A", "Seo", "Chà", "Đức", "Quang")
_MIDDLE_F = ("Thị", "Thị", "Mẩy", "Xuân")
_GIVEN = ("Minh", "Hùng", "Dung", "Páo", "Sính", "Xuân", "Thắng", "Mai", "Lan", "Dếnh", "Chư", "Pử", "Tiến",
          "Hương", "Ánh", "Ơn", "Ước", "Đạt", "Sáu", "Nhìa", "Lả", "Khánh", "Phương", "Thu")

#: Latent shift per criterion (higher = more positive answers).
_CRIT_MU = {"1.1": 0.9, "2A.1": 1.2, "2A.2": 1.0, "2A.3": 1.3, "2A.4": 1.2,
            "2B.1": 1.2, "2B.2": 1.1, "2B.3": 1.3, "2B.4": 1.3, "2B.5": 0.7}
#: The instrument the demos are written with.
DEMO_INSTRUMENT = ("household", "2024.1")
#: Answer shares of the demo's categorical (nominal) questions, by scale, codes in order.
_NOMINAL_P = {"channel7": (0.22, 0.30, 0.12, 0.10, 0.14, 0.10, 0.02),
              "willing5": (0.10, 0.05, 0.35, 0.25, 0.25),
              "trouble3": (0.90, 0.09, 0.01), "payment3": (0.92, 0.07, 0.01),
              "mode3": (0.55, 0.15, 0.30), "ever2": (0.45, 0.55)}
#: Answer shares of the priorities question (very much, much, little), shifted per row.
_PRIORITY_P = (0.35, 0.40, 0.25)
_THRESHOLDS = np.array([-1.6, -0.9, 0.0, 1.6])  # 5-point: code 4+ iff eta + noise > 0


@dataclass(frozen=True)
class SynthResult:
    """What :func:`synthesize` wrote."""

    survey_dir: Path
    n_households_population: int
    n_sampled: int
    n_forms: int
    files: tuple[Path, ...]


def _unique_names(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    out = []
    while len(out) < n:
        name = f"{rng.choice(_SYL1)} {rng.choice(_SYL2)}"
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def build_frames(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Commune, village and household frames of the whole synthetic province."""
    com_rows, vil_rows, hh_rows = [], [], []
    hh_counter = 0
    for d_idx, (district, kind, n_com, _shift) in enumerate(DISTRICTS):
        taken: set[str] = set()
        names = _unique_names(rng, n_com, taken)
        for k, base in enumerate(names):
            if kind == "city":
                urban = k < 4
                prefix = "Phường" if urban else "Xã"
                cls = ("I", "II", "II", "III", "III", "II", "III")[k % 7]
                centre = k == 0
            else:
                centre = k == 0
                urban = centre
                prefix = "Thị trấn" if centre else "Xã"
                cls = "II" if centre else ("I" if k % 2 == 1 else "II")
            commune = f"{prefix} {base}"
            n_vil = int(rng.integers(5, 11))
            numbered = urban
            vnames = ([f"Tổ dân phố số {j + 1}" for j in range(n_vil)] if numbered
                      else [f"Bản {v}" for v in _unique_names(rng, n_vil, set())])
            hq = int(rng.integers(0, n_vil))
            order = rng.permutation(n_vil)
            com_hh = 0
            for j, vname in enumerate(vnames):
                size = int(np.clip(rng.lognormal(np.log(75 if urban else 60), 0.45), 12, 300))
                if rng.random() < 0.04:
                    size = int(rng.integers(14, 29))
                n_ham = int(rng.integers(1, 5))
                vil_rows.append({"district": district, "commune": commune, "village": vname,
                                 "has_commune_hq": int(j == hq), "households": size,
                                 "neighbour_order": int(order[j]) + 1})
                ham_names = [f"Xóm {chr(ord('A') + h)}" for h in range(n_ham)]
                ham = np.sort(rng.integers(0, n_ham, size))
                ham[:n_ham] = np.arange(n_ham)  # every hamlet has at least one household
                ham = np.sort(ham)
                for h in range(size):
                    hh_counter += 1
                    hh_rows.append((f"H{hh_counter:06d}", district, commune, vname, ham_names[ham[h]], d_idx))
                com_hh += size
            com_rows.append({"district": district, "commune": commune, "commune_type": prefix,
                             "commune_class": cls, "is_admin_centre": int(centre), "households": com_hh})
    communes = pd.DataFrame(com_rows)
    villages = pd.DataFrame(vil_rows)
    households = pd.DataFrame(hh_rows, columns=["household_id", "district", "commune", "village", "hamlet",
                                                "district_index"])
    return communes, villages, households


def _simulate_answers(rng: np.random.Generator, households: pd.DataFrame, communes: pd.DataFrame,
                      instrument, *, year_shift: float) -> pd.DataFrame:
    """Answers of every household of the province (population), codes without nonresponse."""
    n = len(households)
    items = instrument.items
    crits = sorted(_CRIT_MU)
    c_index = {c: i for i, c in enumerate(crits)}
    d_shift = np.array([s for *_x, s in DISTRICTS])
    d_crit = rng.normal(0.0, 0.25, size=(len(DISTRICTS), len(crits)))
    com_keys = list(zip(communes["district"], communes["commune"]))
    com_eff = dict(zip(com_keys, rng.normal(0.0, 0.22, size=len(com_keys))))
    hh_com = np.array([com_eff[k] for k in zip(households["district"], households["commune"])])
    di = households["district_index"].to_numpy()
    person = rng.normal(0.0, 0.6, size=n)
    mu = np.array([_CRIT_MU[c] for c in crits])
    eta = (mu[None, :] + year_shift + d_shift[di][:, None] + d_crit[di] + hh_com[:, None] + person[:, None]
           + rng.normal(0.0, 0.55, size=(n, len(crits))))

    urban = households["commune"].str.startswith(("Phường", "Thị trấn")).to_numpy()
    out = {}
    out["sex"] = rng.integers(1, 3, size=n)
    out["age"] = np.clip(rng.normal(44, 14, size=n).round(), 18, 90).astype(int)
    p_minority = np.where(urban, 0.35, 0.85)
    out["ethnicity"] = np.where(rng.random(n) < p_minority, 2, 1)
    edu_p = rng.random(n) + np.where(urban, 0.35, 0.0)
    out["education"] = np.digitize(edu_p, [0.3, 0.6, 0.85, 1.05, 1.33]) + 1
    out["occupation"] = 1 + np.searchsorted(np.cumsum([0.08, 0.12, 0.45, 0.03, 0.14, 0.15, 0.03]),
                                            rng.random(n), side="right").clip(0, 6)
    out["residence"] = np.where(urban, 1, 2)
    out["terrain"] = np.ones(n, dtype=int)  # Lai Châu is mountainous throughout
    for src in sorted({f["item"] for f in (instrument.raw.get("filters") or {}).values()}):
        # routing questions: "did you carry out an administrative procedure" and the like
        p = np.where(urban, 0.62, 0.5) if src in ("q8_4", "q_used_admin") else \
            np.clip(1.1 - out["age"] / 60, 0.05, 0.7) if src == "q_has_pupil" else 0.7
        out[src] = np.where(rng.random(n) < p, 1, 2)
    scales = instrument.scales
    for _, it in items.iterrows():
        item = it["item"]
        if item in out:
            continue
        crit = it["criterion"]
        scale = scales[it["scale"]]
        codes = sorted(int(c) for c in scale["codes"])
        if scale.get("nominal"):
            p = np.asarray(_NOMINAL_P.get(it["scale"], np.full(len(codes), 1 / len(codes))), dtype=float)
            val = np.asarray(codes)[np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right")
                                    .clip(0, len(codes) - 1)]
        elif crit in c_index:
            z = eta[:, c_index[crit]] + rng.normal(0.0, 0.6, size=n)
            positive = [int(c) for c in scale["positive"]]
            if len(codes) == 5:
                val = 1 + (z[:, None] > _THRESHOLDS[None, :]).sum(axis=1)
            elif len(codes) == 3:   # e.g. interest: not / a little (z > 0) / very (z > 1.2)
                val = 1 + (z > 0).astype(int) + (z > 1.2).astype(int)
            else:
                neg = [c for c in codes if c not in positive][0]
                val = np.where(z > 0, positive[0], neg)
        else:  # needs and expectations: independent answers, the shares shifted per row
            p = np.roll(np.asarray(_PRIORITY_P), int(rng.integers(0, 3))) if len(codes) == 3 else \
                np.array([0.35, 0.65])
            val = np.asarray(codes)[np.searchsorted(np.cumsum(p), rng.random(n), side="right")
                                    .clip(0, len(codes) - 1)]
        cond = instrument.filter_of(item)
        if cond is not None:
            val = np.where(out[cond["item"]] == cond["equals"], val, 0)  # 0 = skipped (blank)
        out[item] = val
    return pd.DataFrame(out)


def true_values(pop: pd.DataFrame, households: pd.DataFrame, instrument, *, unit: str = "district",
                units: list[str] | None = None) -> pd.DataFrame:
    """Population item, criterion, content and overall indices per unit (district or commune) and for the province.

    Item index = share of positive codes among eligible households (routing applied); the
    other levels combine the items by the instrument's default index rule
    (:func:`sipas.forms.instrument.rules.resolve_rule`, evaluated by
    :func:`sipas.indices.aggregation.evaluate_rule` on unweighted population counts).  Returned
    long: ``level`` (item, criterion, content, overall), ``id``, ``<unit>`` ("" for the
    province), ``value`` (a proportion).

    Parameters
    ----------
    unit : str
        Column of ``households`` naming the unit: ``district`` (three-tier demos) or ``commune``.
    units : list of str, optional
        Units in output order; default the districts of :data:`DISTRICTS`.
    """
    from sipas.forms.instrument.rules import resolve_rule
    from sipas.indices.aggregation import evaluate_rule

    rule = resolve_rule(instrument.raw)
    items = instrument.items
    item_ids = items.loc[items["index"] & items["criterion"].notna(), "item"].tolist()
    V = pop[item_ids].to_numpy()
    valid = np.column_stack([np.isin(V[:, j], instrument.valid_codes(i)) for j, i in enumerate(item_ids)])
    pos = np.column_stack([np.isin(V[:, j], instrument.positive_codes(i)) for j, i in enumerate(item_ids)])
    rows = []
    groups = [("", np.ones(len(pop), dtype=bool))]
    names = [d for d, *_ in DISTRICTS] if units is None else list(units)
    groups += [(d, (households[unit] == d).to_numpy()) for d in names]
    for dname, mask in groups:
        num = (pos & valid & mask[:, None]).sum(axis=0).astype(float)[:, None]
        den = (valid & mask[:, None]).sum(axis=0).astype(float)[:, None]
        rv = evaluate_rule(rule, num, den, item_ids)
        for (lvl, ident), v in zip(rv.labels, rv.values[:, 0]):
            rows.append({"level": lvl, "id": ident, unit: dname, "value": float(v)})
    return pd.DataFrame(rows)


def _person_names(rng: np.random.Generator, sex: np.ndarray) -> list[str]:
    return [f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE_M if s == 1 else _MIDDLE_F)} {rng.choice(_GIVEN)}"
            for s in sex]


#: Items the recheck (phúc tra) visit asks again; ``age_group`` is derived from the form's age.
RECHECK_ITEMS = ("q8_4", "q4", "q5", "q9_01", "q9_12", "q9_23", "sex", "age_group")
#: Lower edges of the age groups the recheck records (18-29, 30-44, 45-59, 60+).
AGE_GROUP_EDGES = (18, 30, 45, 60)
#: Share of returned forms rechecked (seed 000 §III.1) and of paper forms keyed twice (seed 001 task 11).
RECHECK_FRACTION = 0.2
DOUBLE_ENTRY_FRACTION = 0.1
_SCREEN = "q8_4"             # "carried out an administrative procedure": routes the services part
_ADMIN_ROUTED = ("q9_23",)   # asked only when q8_4 == 1
_UNROUTED = ("q4", "q5", "q9_01", "q9_12")


def _code_text(v: object) -> str:
    return "" if v is None or pd.isna(v) else str(int(v))


def _other_code(rng: np.random.Generator, codes: list[int], current: object) -> int:
    """A code of ``codes`` different from ``current`` (any code when ``current`` is blank)."""
    pool = [c for c in codes if pd.isna(current) or c != int(current)]
    return int(rng.choice(pool))


def _recheck_visits(distribution: pd.DataFrame, given: pd.DataFrame, *, seed: int,
                    keys: tuple[str, ...] = ("district", "commune")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 20% recheck sample of returned forms and what the recheck visit recorded.

    The sample is drawn with :func:`sipas.sampling.fieldwork.recheck_sample` (strata ``keys``: district x
    commune, or commune in a two-tier survey; seed ``seed + 10``).  The visit re-asks :data:`RECHECK_ITEMS`; answers agree
    with the form except for small, item-specific disagreement (test-retest changes of
    opinion, a misremembered service use, a neighbouring age group), stream
    ``default_rng(seed + 12)``.  Three forms are planted as "not visited": the household
    says nobody came (``visit_confirmed = 2``) and its answers differ on every item.
    Returns ``(recheck, planted)``; neither holds personal data.
    """
    from sipas.sampling.fieldwork import recheck_sample
    from sipas.stages.cleaning import age_groups

    returned = distribution.loc[distribution["returned"] == 1,
                                ["form_id", *keys, "returned_date"]]
    chosen = recheck_sample(returned, fraction=RECHECK_FRACTION, strata=list(keys),
                            seed=seed + 10)
    rng = np.random.default_rng(seed + 12)
    orig = given.set_index("form_id").loc[chosen["form_id"]]
    n = len(chosen)
    ans = {it: orig[it].astype("Int64").to_numpy(dtype=object, na_value=pd.NA)
           for it in RECHECK_ITEMS if it != "age_group"}
    edges = list(AGE_GROUP_EDGES)
    labels = age_groups(orig["age"], edges=edges).to_numpy(dtype=object)
    group_names = age_groups(pd.Series(edges), edges=edges).tolist()

    def flip(v: object, p: float) -> object:
        if pd.isna(v) or int(v) == 9 or rng.random() >= p:
            return v
        return 3 - int(v)

    def shift(v: object, p: float, top: int = 5) -> object:
        if pd.isna(v) or int(v) == 9 or rng.random() >= p:
            return v
        v = int(v)
        return v + 1 if v == 1 else v - 1 if v == top else v + int(rng.choice([-1, 1]))

    def top(it: str) -> int:
        return 3 if it in ("q4", "q5") else 5

    rec: dict[str, list] = {it: [] for it in RECHECK_ITEMS}
    for i in range(n):
        sex = flip(ans["sex"][i], 0.004)
        g = labels[i]
        if g and rng.random() < 0.015:
            j = group_names.index(g)
            g = group_names[j + 1] if j == 0 else group_names[j - 1] if j == len(group_names) - 1 \
                else group_names[j + int(rng.choice([-1, 1]))]
        used = flip(ans[_SCREEN][i], 0.012)
        row = {"sex": sex, "age_group": g, _SCREEN: used}
        for it in _ADMIN_ROUTED:
            v = ans[it][i]
            if pd.isna(used) or used == ans[_SCREEN][i]:
                row[it] = shift(v, 0.03)
            elif int(used) == 1:   # now says it used a procedure: the routed items are asked
                row[it] = int(rng.integers(1, 6))
            else:                  # now says it did not: routed items skipped
                row[it] = pd.NA
        for it in _UNROUTED:
            row[it] = shift(ans[it][i], 0.02 if top(it) == 3 else 0.03, top(it))
        for it in RECHECK_ITEMS:
            rec[it].append(row[it])
    visit = np.ones(n, dtype=int)
    # forms filled in without visiting the household
    fake = np.sort(rng.choice(n, size=3, replace=False))
    for i in fake:
        visit[i] = 2
        rec["sex"][i] = 3 - int(ans["sex"][i])
        rec["age_group"][i] = [x for x in group_names if x != labels[i]][int(rng.integers(len(group_names) - 1))]
        used = 2 if pd.isna(ans[_SCREEN][i]) else 3 - int(ans[_SCREEN][i])
        if int(ans[_SCREEN][i] if not pd.isna(ans[_SCREEN][i]) else 9) == 9:
            used = int(rng.integers(1, 3))
        rec[_SCREEN][i] = used
        for it in _ADMIN_ROUTED:
            rec[it][i] = _other_code(rng, [1, 2, 3, 4, 5], ans[it][i]) if used == 1 else pd.NA
        for it in _UNROUTED:
            rec[it][i] = _other_code(rng, list(range(1, top(it) + 1)), ans[it][i])
    ret_day = pd.to_datetime(chosen["returned_date"])
    recheck = pd.DataFrame({
        "form_id": chosen["form_id"].to_numpy(),
        "recheck_date": (ret_day + pd.to_timedelta(rng.integers(2, 15, n), unit="D")).dt.strftime("%Y-%m-%d"),
        "visit_confirmed": visit,
    })
    for it in RECHECK_ITEMS:
        recheck[it] = pd.Series(rec[it], dtype="string" if it == "age_group" else "Int64")
    planted = pd.DataFrame({"form_id": recheck["form_id"].iloc[fake].to_numpy(), "kind": "not_visited"})
    return recheck, planted


def _double_entry_ids(keyed: pd.DataFrame, *, seed: int) -> np.ndarray:
    """Form ids of the paper forms keyed a second time: the first draw of :func:`_second_entry`'s stream."""
    rng = np.random.default_rng(seed + 11)
    paper = keyed.loc[keyed["mode"] == "paper", "form_id"].sort_values().to_numpy()
    k = int(np.ceil(DOUBLE_ENTRY_FRACTION * len(paper) - 1e-9))
    return np.sort(rng.choice(paper, size=k, replace=False))


def _second_entry(given: pd.DataFrame, keyed: pd.DataFrame, instrument, *,
                  seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A second, independent data entry of 10% of the paper forms, with a few keying faults.

    The second clerk keys the forms as the respondents wrote them (``given``), with
    planted faults: codes of two neighbouring cells transposed, cells missed, a wrong
    key (the neighbouring code), the two digits of an age swapped; stream
    ``default_rng(seed + 11)``.  The faults of the first entry (out-of-range codes)
    show up as well wherever they fall in the sample.  Returns ``(second_entry,
    planted)``; ``planted`` lists every cell where the two entries differ
    (``form_id, column, first, second, entry_at_fault, kind``).  No personal column is
    keyed twice.
    """
    rng = np.random.default_rng(seed + 11)
    items = list(instrument.items["item"])
    cols = [p["id"] for p in instrument.raw.get("profile", [])] + items
    paper = keyed.loc[keyed["mode"] == "paper", "form_id"].sort_values().to_numpy()
    k = int(np.ceil(DOUBLE_ENTRY_FRACTION * len(paper) - 1e-9))
    ids = np.sort(rng.choice(paper, size=k, replace=False))
    second = given.set_index("form_id").loc[ids, cols].reset_index()
    first = keyed.set_index("form_id").loc[ids, cols]
    planted: list[dict[str, str]] = []
    used: set[tuple[str, str]] = set()
    for fid in ids:  # faults of the first entry
        for c in cols:
            a, b = _code_text(first.at[fid, c]), _code_text(second.loc[second["form_id"] == fid, c].iloc[0])
            if a != b:
                planted.append({"form_id": fid, "column": c, "first": a, "second": b,
                                "entry_at_fault": "first", "kind": "out_of_range_code"})
                used.add((fid, c))
    pos = {fid: i for i, fid in enumerate(second["form_id"])}

    def free(fid: str, c: str) -> bool:
        return (fid, c) not in used and not pd.isna(second.at[pos[fid], c])

    def plant(fid: str, c: str, new: object, kind: str) -> None:
        i = pos[fid]
        planted.append({"form_id": fid, "column": c, "first": _code_text(second.at[i, c]),
                        "second": _code_text(new), "entry_at_fault": "second", "kind": kind})
        used.add((fid, c))
        second.at[i, c] = new

    n_swap = n_miss = n_wrong = n_age = 0
    while n_swap < 3:  # transposed codes of two neighbouring cells
        fid = str(rng.choice(ids))
        j = int(rng.integers(len(items) - 1))
        c1, c2 = items[j], items[j + 1]
        if free(fid, c1) and free(fid, c2) and second.at[pos[fid], c1] != second.at[pos[fid], c2]:
            v1, v2 = second.at[pos[fid], c1], second.at[pos[fid], c2]
            plant(fid, c1, v2, "transposed")
            plant(fid, c2, v1, "transposed")
            n_swap += 1
    while n_miss < 5:  # a cell left blank
        fid, c = str(rng.choice(ids)), str(rng.choice(items))
        if free(fid, c):
            plant(fid, c, pd.NA, "missed_cell")
            n_miss += 1
    while n_wrong < 3:  # the neighbouring key
        fid, c = str(rng.choice(ids)), str(rng.choice(items))
        if free(fid, c) and int(second.at[pos[fid], c]) != 9:
            v = int(second.at[pos[fid], c])
            top = len(instrument.valid_codes(c))
            plant(fid, c, v + 1 if v < top else v - 1, "wrong_key")
            n_wrong += 1
    while n_age < 1:  # the digits of an age swapped
        fid = str(rng.choice(ids))
        age = second.at[pos[fid], "age"]
        if free(fid, "age") and age % 10 != 0 and age // 10 != age % 10:
            plant(fid, "age", int(f"{age % 10}{age // 10}"), "transposed_digits")
            n_age += 1
    for c in cols:
        second[c] = second[c].astype("Int64")
    out = pd.DataFrame(planted, columns=["form_id", "column", "first", "second", "entry_at_fault", "kind"])
    order = {c: i for i, c in enumerate(cols)}
    out = out.assign(_o=out["column"].map(order)).sort_values(["form_id", "_o"], kind="stable")
    return second, out.drop(columns="_o").reset_index(drop=True)


def synthesize(out_dir: str | Path, *, survey_id: str, year: int, seed: int, frame_seed: int = 2024,
               year_shift: float = 0.0, previous_survey: str | None = None) -> SynthResult:
    """Write a complete demo survey under ``out_dir/<survey_id>``.

    Parameters
    ----------
    out_dir : path
        Usually ``data/raw``.
    survey_id, year : str, int
        Identity of the survey-year.
    seed : int
        Seed of the answers, the household draw and the fieldwork events.
    frame_seed : int
        Seed of the province (names, sizes); keep it fixed across years so that
        successive survey-years describe the same province.
    year_shift : float
        Added to every latent satisfaction (a year effect).
    previous_survey : str, optional
        Survey id of last year's survey, written into the config.
    """
    instrument = load_instrument(*DEMO_INSTRUMENT)
    communes, villages, households = build_frames(np.random.default_rng(frame_seed))
    rng = np.random.default_rng(seed)
    pop = _simulate_answers(rng, households, communes, instrument, year_shift=year_shift)

    sel_c = sampling.select_communes(communes, also_last=ALSO_LAST)
    sel_keys = set(zip(sel_c["district"], sel_c["commune"]))
    vil_sel_c = villages[[k in sel_keys for k in zip(villages["district"], villages["commune"])]]
    sel_v = sampling.select_villages(vil_sel_c)
    hh_frame = households[[k in sel_keys for k in zip(households["district"], households["commune"])]]
    sel_h = sampling.select_households(hh_frame.drop(columns="district_index"), sel_v, per_village=30,
                                       seed=seed, neighbours=vil_sel_c)
    probs = sampling.inclusion_probabilities(communes, villages, sel_c, sel_v, sel_h)
    sample = sel_h.drop(columns=["hh_sampling_prob"]).merge(probs, on="household_id", how="left")

    keys = ("district", "commune")
    config = _base_config(survey_id=survey_id, year=year, seed=seed, keys=keys)
    config["structure"] = "three_tier"
    config["sampling"] = {"households_per_village": 30, "also_last_districts": list(ALSO_LAST),
                          "sample_file": "sample/households_selected.csv"}
    if previous_survey:
        config["previous_survey"] = previous_survey
    truth = true_values(pop, households, instrument)
    return _write_survey(Path(out_dir) / survey_id, survey_id=survey_id, year=year, seed=seed,
                         instrument=instrument, communes=communes, villages=villages, households=households,
                         hh_frame=hh_frame, sample=sample, pop=pop, truth=truth, config=config, keys=keys)


def _base_config(*, survey_id: str, year: int, seed: int, keys: tuple[str, ...]) -> dict:
    """The survey.yml of a demo, in key order (structure and sampling filled in by the caller)."""
    return {
        "survey_id": survey_id,
        "description": {"vi": "Khảo sát mô phỏng (dữ liệu tổng hợp) theo Kế hoạch đo lường SIPAS của tỉnh Lai Châu "
                              "năm 2024; không phải số liệu thật.",
                        "en": "Synthetic demo survey built like Lai Chau's 2024 SIPAS plan; not real data."},
        "province": {"vi": "Tỉnh Lai Châu (dữ liệu mô phỏng)", "en": "Lai Chau province (synthetic data)"},
        "year": year,
        "instrument": {"id": DEMO_INSTRUMENT[0], "version": DEMO_INSTRUMENT[1]},
        "structure": None,
        "frames": {"communes": "frames/communes.csv", "villages": "frames/villages.csv",
                   "households": "frames/households.csv"},
        "responses": ["responses/forms.csv"],
        "seed": seed,
        "language": "vi",
        "min_cell_size": 30,
        "sampling": None,
        "fieldwork": {"distribution_log": "fieldwork/distribution.csv",
                      "recheck": "fieldwork/recheck.csv",
                      "recheck_items": list(RECHECK_ITEMS),
                      "recheck_age_groups": list(AGE_GROUP_EDGES),
                      "recheck_fail_min_items": 2,
                      "double_entry": "responses/forms_second_entry.csv"},
        "restricted": {"contacts": "restricted/household_contacts.csv", "salt_file": "restricted/salt.txt"},
        "weighting": {"nonresponse_cells": list(keys)},
        "truth": "truth/true_values.csv",
    }


def _write_survey(base: Path, *, survey_id: str, year: int, seed: int, instrument, communes: pd.DataFrame,
                  villages: pd.DataFrame, households: pd.DataFrame, hh_frame: pd.DataFrame, sample: pd.DataFrame,
                  pop: pd.DataFrame, truth: pd.DataFrame, config: dict, keys: tuple[str, ...]) -> SynthResult:
    """Write frames, sample, fieldwork, forms, truth and survey.yml of one demo survey under ``base``.

    ``keys`` are the columns identifying a commune (``district, commune`` or ``commune``);
    ``households`` is the whole province's household frame (rows aligned with ``pop``),
    ``hh_frame`` the households of the selected communes, as a commune would send them.
    """
    files: list[Path] = []

    # --- frames (households only for the selected communes, as a commune would send them)
    files.append(sio.write_csv(communes, base / "frames" / "communes.csv"))
    files.append(sio.write_csv(villages, base / "frames" / "villages.csv"))
    files.append(sio.write_csv(hh_frame.drop(columns="district_index", errors="ignore"),
                               base / "frames" / "households.csv"))
    contact_rng = np.random.default_rng(seed + 1)
    hh_sex = contact_rng.integers(1, 3, size=len(hh_frame))
    contacts = pd.DataFrame({
        "household_id": hh_frame["household_id"].to_numpy(),
        "head_name": _person_names(contact_rng, hh_sex),
        "phone": [f"09{x:08d}" for x in contact_rng.integers(0, 10**8, size=len(hh_frame))],
        "address": [", ".join(parts) for parts in zip(hh_frame["hamlet"], hh_frame["village"],
                                                       *(hh_frame[k] for k in reversed(keys)))],
    })
    files.append(sio.write_csv(contacts, base / "restricted" / "household_contacts.csv"))
    files.append(sio.atomic_write_text(base / "restricted" / "salt.txt",
                                       f"demo-salt-{survey_id}-not-secret\n"))
    files.append(sio.write_csv(sample, base / "sample" / "households_selected.csv"))

    # --- fieldwork: distribution and return; about 6% of forms are not returned
    n_s = len(sample)
    frng = np.random.default_rng(seed + 2)
    returned = frng.random(n_s) > 0.06
    form_ids = [f"{survey_id.split('-')[-1]}-{i + 1:05d}" for i in range(n_s)]
    day0 = pd.Timestamp(f"{year}-09-05")
    dist_day = day0 + pd.to_timedelta(frng.integers(0, 10, n_s), unit="D")
    ret_day = dist_day + pd.to_timedelta(frng.integers(1, 12, n_s), unit="D")
    distribution = pd.DataFrame({
        "form_id": form_ids, "household_id": sample["household_id"], **{k: sample[k] for k in keys},
        "village": sample["sample_village"],
        "distributed_date": dist_day.strftime("%Y-%m-%d"), "returned": returned.astype(int),
        "returned_date": np.where(returned, ret_day.strftime("%Y-%m-%d"), ""),
    })
    files.append(sio.write_csv(distribution, base / "fieldwork" / "distribution.csv"))

    # --- the returned forms, with nonresponse and entry faults
    pos = households.reset_index(drop=True).reset_index().set_index("household_id")["index"]
    rows = pop.iloc[pos.loc[sample["household_id"]].to_numpy()].reset_index(drop=True)
    item_cols = [c for c in instrument.items["item"]]
    answers = rows[item_cols].astype("Int64")
    answers = answers.mask(answers == 0)  # skipped by routing -> blank
    for c in item_cols:
        r = frng.random(n_s)
        answers.loc[(r < 0.02) & answers[c].notna(), c] = pd.NA           # item nonresponse
        answers.loc[(r >= 0.02) & (r < 0.04) & answers[c].notna(), c] = 9  # don't know
    resp_sex = rows["sex"].to_numpy()
    forms = pd.DataFrame({
        "form_id": form_ids, "household_id": sample["household_id"], **{k: sample[k] for k in keys},
        "village": sample["sample_village"],
        "mode": np.where(frng.random(n_s) < 0.25, "electronic", "paper"),
        "interview_date": ret_day.strftime("%Y-%m-%d"),
        "respondent_name": _person_names(frng, resp_sex),
        "phone": [f"09{x:08d}" for x in frng.integers(0, 10**8, size=n_s)],
        "address": contacts.set_index("household_id").loc[sample["household_id"], "address"].to_numpy(),
        **{p["id"]: (resp_sex if p["id"] == "sex" else rows[p["id"]]) for p in instrument.raw.get("profile", [])},
    })
    forms = pd.concat([forms, answers], axis=1)[returned].reset_index(drop=True)
    # a few forms with most answers missing (invalid by the methodology's rule)
    bad = frng.choice(len(forms), size=8, replace=False)
    idx_items = instrument.items.loc[instrument.items["index"], "item"].tolist()
    for b in bad:
        keep = frng.choice(idx_items, size=3, replace=False)
        forms.loc[b, [c for c in idx_items if c not in keep]] = pd.NA
    given = forms.copy()  # what the respondents wrote on the forms (before keying faults)
    # out-of-range codes keyed by mistake; the first in a form that is keyed twice, so that the
    # double-entry check has a first-entry fault to find
    twice_keyed = set(_double_entry_ids(forms, seed=seed))
    first_rows = [i for i, f in enumerate(forms["form_id"]) if f in twice_keyed]
    for k in range(5):
        r = int(first_rows[int(frng.integers(len(first_rows)))]) if k == 0 and first_rows else \
            int(frng.integers(len(forms)))
        c = str(frng.choice(idx_items))
        forms.loc[r, c] = 7
    keyed = forms.copy()  # the first data entry, one row per form
    # forms keyed twice (exact duplicates) and one household answering twice
    dups = forms.iloc[frng.choice(len(forms), size=4, replace=False)]
    twice = forms.iloc[[int(frng.integers(len(forms)))]].copy()
    twice["form_id"] = twice["form_id"] + "b"
    forms = pd.concat([forms, dups, twice], ignore_index=True)
    forms = forms.sort_values("form_id", kind="stable").reset_index(drop=True)
    files.append(sio.write_csv(forms, base / "responses" / "forms.csv"))

    # --- the truth
    files.append(sio.write_csv(truth, base / "truth" / "true_values.csv"))

    # --- fieldwork quality assurance (independent streams: the files above are unchanged)
    recheck, recheck_planted = _recheck_visits(distribution, given, seed=seed, keys=keys)
    files.append(sio.write_csv(recheck, base / "fieldwork" / "recheck.csv"))
    files.append(sio.write_csv(recheck_planted, base / "truth" / "recheck_planted.csv"))
    second, entry_planted = _second_entry(given, keyed, instrument, seed=seed)
    files.append(sio.write_csv(second, base / "responses" / "forms_second_entry.csv"))
    files.append(sio.write_csv(entry_planted, base / "truth" / "double_entry_planted.csv"))

    text = ("# Survey-year configuration (see sipas/config.py). Written by `sipas synth`.\n"
            + yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    files.append(sio.atomic_write_text(base / "survey.yml", text))
    return SynthResult(survey_dir=base, n_households_population=len(households), n_sampled=n_s,
                       n_forms=len(forms), files=tuple(files))


#: The two-tier demo's sample design (2025: no districts): communes stratified by type and drawn by
#: systematic PPS on households, 3 villages per commune by systematic PPS, 30 households per village.
TWO_TIER_COMMUNES = {"design": "pps_systematic", "strata": "commune_type", "n": {"Phường": 2, "Xã": 26},
                     "size": "households"}
TWO_TIER_VILLAGES = {"design": "pps_systematic", "n": 3, "size": "households"}


def two_tier_frames(communes: pd.DataFrame, villages: pd.DataFrame,
                    households: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The synthetic province's frames after 1/7/2025: districts dropped, communes named uniquely.

    Former towns (Thị trấn) become communes (Xã), wards (Phường) stay wards; a commune name
    that repeats once the district no longer tells them apart gets a number (``"Xã Hua Cang 2"``,
    in frame order).  Returns ``(communes, villages, households)`` without ``district``
    (``households`` keeps ``district_index`` for the answer model).
    """
    new_names: dict[tuple[str, str], str] = {}
    seen: dict[str, int] = {}
    types = []
    for d, c, t in zip(communes["district"], communes["commune"], communes["commune_type"]):
        t2 = "Xã" if t == "Thị trấn" else t
        name = f"{t2} {c[len(t) + 1:]}"  # the commune is named "<commune_type> <name>"
        seen[name] = seen.get(name, 0) + 1
        new_names[(d, c)] = name if seen[name] == 1 else f"{name} {seen[name]}"
        types.append(t2)

    def rename(df: pd.DataFrame) -> pd.DataFrame:
        out = df.copy()
        out["commune"] = [new_names[k] for k in zip(df["district"], df["commune"])]
        return out.drop(columns="district")

    com = rename(communes).assign(commune_type=types)
    com["is_admin_centre"] = 0  # the district centres are ordinary communes now
    return com, rename(villages), rename(households)


def synthesize_two_tier(out_dir: str | Path, *, survey_id: str, year: int, seed: int, frame_seed: int = 2024,
                        year_shift: float = 0.0) -> SynthResult:
    """Write a two-tier demo survey (province -> commune -> village, since 1/7/2025) under ``out_dir/<survey_id>``.

    The same synthetic province as the three-tier demos (``frame_seed``; households, villages and
    the answer model, whose former-district effects remain as geography), with the districts
    dropped (:func:`two_tier_frames`).  The sample is a probability design made with
    :mod:`sipas.sampling` exactly as ``sipas sample`` (:func:`sipas.sampling.draw_sample`) makes it:
    communes stratified by type (Phường / Xã) and drawn by systematic PPS on households
    (:data:`TWO_TIER_COMMUNES`, Madow 1949: ``pi_i = n_h x_i / X_h``), 3 villages per commune by
    systematic PPS (:data:`TWO_TIER_VILLAGES`), 30 households per village by systematic
    sampling within hamlets; ``pi = pi_commune * pi_village * pi_household``.  The truth
    (``truth/true_values.csv``) holds the population indices per commune (column ``commune``)
    and for the province (``commune == ""``).
    """
    instrument = load_instrument(*DEMO_INSTRUMENT)
    communes3, villages3, households3 = build_frames(np.random.default_rng(frame_seed))
    rng = np.random.default_rng(seed)
    pop = _simulate_answers(rng, households3, communes3, instrument, year_shift=year_shift)
    communes, villages, households = two_tier_frames(communes3, villages3, households3)

    flat = ("", )  # the selection functions key communes by (district, commune); "" = no district
    com_d = communes.assign(district=flat[0])
    sel_c = sampling.select_communes_design(com_d, design=TWO_TIER_COMMUNES, seed=seed)
    sel_keys = set(sel_c["commune"])
    vil_d = villages.assign(district=flat[0])
    vil_sel_c = vil_d[vil_d["commune"].isin(sel_keys)]
    sel_v = sampling.select_villages_design(vil_sel_c, design=TWO_TIER_VILLAGES, seed=seed)
    hh_frame = households[households["commune"].isin(sel_keys)]
    sel_h = sampling.select_households(hh_frame.drop(columns="district_index").assign(district=flat[0]), sel_v,
                                       per_village=30, seed=seed, neighbours=vil_sel_c)
    probs = sampling.inclusion_probabilities(com_d, vil_d, sel_c, sel_v, sel_h)
    sample = (sel_h.drop(columns=["hh_sampling_prob", "district"]).merge(probs, on="household_id", how="left"))

    keys = ("commune",)
    config = _base_config(survey_id=survey_id, year=year, seed=seed, keys=keys)
    config["description"] = {
        "vi": "Khảo sát mô phỏng (dữ liệu tổng hợp) sau sắp xếp đơn vị hành chính từ 1/7/2025 (không còn cấp "
              "huyện): chọn xã, phường theo xác suất tỷ lệ với số hộ; không phải số liệu thật.",
        "en": "Synthetic demo survey after the 1 July 2025 reorganisation (no districts): communes drawn with "
              "probability proportional to households; not real data."}
    config["structure"] = "two_tier"
    config = {**{k: v for k, v in config.items() if k != "sampling"},
              "design": {"strata": "commune_type", "psu": "commune", "report_unit": "commune"},
              "sampling": {"households_per_village": 30, "communes": dict(TWO_TIER_COMMUNES),
                           "villages": dict(TWO_TIER_VILLAGES), "sample_file": "sample/households_selected.csv"}}
    order = list(_base_config(survey_id=survey_id, year=year, seed=seed, keys=keys))
    order.insert(order.index("sampling"), "design")
    config = {k: config[k] for k in order}
    truth = true_values(pop, households, instrument, unit="commune", units=list(communes["commune"]))
    return _write_survey(Path(out_dir) / survey_id, survey_id=survey_id, year=year, seed=seed,
                         instrument=instrument, communes=communes, villages=villages, households=households,
                         hh_frame=hh_frame, sample=sample, pop=pop, truth=truth, config=config, keys=keys)


#: The demo surveys: (survey id, year, seed, latent year shift, previous survey id).

DEMO_SURVEYS = (
    ("demo-laichau-2023", 2023, 20230905, -0.12, None),
    ("demo-laichau-2024", 2024, 20240905, 0.0, "demo-laichau-2023"),
    ("demo-laichau-2025", 2025, 20250905, 0.08, None),
)
#: Demo surveys in the two-tier structure (since 1/7/2025), written by :func:`synthesize_two_tier`.
TWO_TIER_DEMOS = ("demo-laichau-2025",)


def synthesize_demo(out_dir: str | Path, *, survey_id: str | None = None) -> list[SynthResult]:
    """Write the embedded demo surveys (or only ``survey_id``) under ``out_dir``."""
    out = []
    for sid, year, seed, shift, prev in DEMO_SURVEYS:
        if survey_id is None or sid == survey_id:
            if sid in TWO_TIER_DEMOS:
                out.append(synthesize_two_tier(out_dir, survey_id=sid, year=year, seed=seed, year_shift=shift))
            else:
                out.append(synthesize(out_dir, survey_id=sid, year=year, seed=seed, year_shift=shift,
                                      previous_survey=prev))
    if not out:
        raise ValueError(f"unknown demo survey {survey_id!r}; known: {', '.join(s[0] for s in DEMO_SURVEYS)}")
    return out


#: Files of a demo survey that :func:`grow_survey` copies with renamed units and ids (the truth is dropped).
_GROWN_FILES = ("frames/communes.csv", "frames/villages.csv", "frames/households.csv",
                "sample/households_selected.csv", "responses/forms.csv", "responses/forms_second_entry.csv",
                "fieldwork/distribution.csv", "fieldwork/recheck.csv", "restricted/household_contacts.csv")


def grow_survey(raw_dir: str | Path, out_dir: str | Path, *, copies: int, survey_id: str) -> Path:
    """Write ``copies`` copies of a demo survey's raw files as one larger survey (for benchmarks).

    Copy ``j = 2..copies`` of every unit is a new unit named ``"<name> ~<j>"``: the districts in a
    three-tier survey (so the province has ``copies`` times as many strata of the same size, the
    way a national survey has more districts), the communes in a two-tier one (strata are commune
    types, so each stratum has ``copies`` times as many communes); form and household ids get the
    suffix ``-<j>``.  Frames, sample list, forms, second entry, fieldwork logs and contacts are
    copied together, so every stage runs on the grown survey as on the demo, with
    ``copies`` times the forms.  The sample's inclusion probabilities are kept: the grown sample
    is not a draw from the grown frame (the weights, post-stratified to the frame, still add up to
    it).  ``previous_survey`` and the truth are dropped.

    Parameters
    ----------
    raw_dir : path
        ``data/raw/<demo>`` written by :func:`synthesize_demo`.
    out_dir : path
        ``data/raw`` of the root to write to; the survey goes to ``out_dir/<survey_id>``.
    copies : int
        Number of copies (1 = the demo itself under a new id).
    survey_id : str
        Id of the grown survey.

    Returns
    -------
    Path
        The grown survey's folder.
    """
    raw_dir = Path(raw_dir)
    if copies < 1:
        raise SipasError(f"copies must be >= 1, got {copies}")
    cfg = yaml.safe_load((raw_dir / "survey.yml").read_text(encoding="utf-8"))
    unit = "commune" if cfg.get("structure") == "two_tier" else "district"
    base = Path(out_dir) / survey_id
    for rel in _GROWN_FILES:
        src = raw_dir / rel
        if not src.is_file():
            continue
        t = pd.read_csv(src, dtype=str, keep_default_na=False)
        parts = []
        for j in range(1, copies + 1):
            c = t.copy()
            if j > 1:
                if unit in c.columns:
                    c[unit] = c[unit] + f" ~{j}"
                for col in ("form_id", "household_id"):
                    if col in c.columns:
                        c[col] = c[col].where(c[col] == "", c[col] + f"-{j}")
            parts.append(c)
        sio.write_csv(pd.concat(parts, ignore_index=True), base / rel)
    salt = raw_dir / "restricted" / "salt.txt"
    if salt.is_file():
        sio.atomic_write_text(base / "restricted" / "salt.txt", salt.read_text(encoding="utf-8"))
    cfg["survey_id"] = survey_id
    cfg.pop("previous_survey", None)
    cfg.pop("truth", None)
    sio.atomic_write_text(base / "survey.yml", yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))
    return base
