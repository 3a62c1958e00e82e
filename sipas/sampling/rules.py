"""Sample selection by the rules of the SIPAS survey plans (seed 000 §II.1.c).

Frames are ordered "theo vần abc" with ICU's Vietnamese collation (:func:`sipas.text.vi_sort_key`);
communes and villages are chosen by the plan's positional rules; households are drawn by seeded
systematic sampling covering every hamlet, with a reserve list of equal size (seed 001).
Probability designs are in :mod:`sipas.sampling.designs`, inclusion probabilities in
:mod:`sipas.sampling.probabilities`, allocation of forms in :mod:`sipas.sampling.allocation`, and
:func:`sipas.sampling.draw.draw_sample` runs the whole selection and writes the annexes Phụ lục 01–04.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sipas.errors import InputError
from sipas.sampling.allocation import allocate_largest_remainder
from sipas.sampling.checks import _as_bool, _no_missing, _order, _require
from sipas.text.collation import vi_sorted
from sipas.text.normalize import nfc


def select_communes(communes: pd.DataFrame, *, also_last: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
    """Choose the communes of each district by seed 000's rule (§II.1.c).

    Per district: the administrative centre (``is_admin_centre``) is taken by default.
    The communes are split into lists by legal class (``commune_class`` I, II, III) and
    each list ordered alphabetically (:func:`vi_sort_key`).  If the district has units
    of 3 classes, the two lists not holding the centre are used; otherwise every class
    list, with the centre left out.  From each list used the 2nd unit is taken (a list
    of one unit gives that unit); for districts in ``also_last`` the last unit of each
    list too (a list of two units gives only its 2nd, which is also its last).

    Parameters
    ----------
    communes : DataFrame
        Columns ``district``, ``commune``, ``commune_class``, ``is_admin_centre``.
    also_last : sequence of str
        Districts that also take the last unit of each list (seed 000: two districts).

    Returns
    -------
    DataFrame
        ``district``, ``commune``, ``commune_class``, ``reason`` in selection order:
        districts alphabetically, in each the centre first then the class lists.
        Reasons: ``admin_centre``, ``second_in_class_list``, ``only_unit_in_class_list``,
        ``last_in_class_list``.

    Raises
    ------
    InputError
        A column is missing or empty, a district has two centres, or a commune is listed twice.
    """
    _require(communes, ["district", "commune", "commune_class", "is_admin_centre"], "commune")
    _no_missing(communes, ["district", "commune", "commune_class"], "commune")
    df = communes.copy()
    df["district"] = df["district"].map(nfc)
    df["commune"] = df["commune"].map(nfc)
    dup = df.duplicated(["district", "commune"])
    if dup.any():
        pos = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"commune {df['commune'].iloc[pos]!r} is listed twice in district "
                         f"{df['district'].iloc[pos]!r}", row=pos + 2, column="commune")
    df["is_admin_centre"] = _as_bool(df["is_admin_centre"])
    also = {nfc(d) for d in also_last}
    rows = []
    for district in vi_sorted(df["district"].unique()):
        d = df[df["district"] == district]
        centre = d[d["is_admin_centre"]]
        if len(centre) > 1:
            raise InputError(f"district {district!r} has {len(centre)} administrative centres; expected at most one",
                             column="is_admin_centre")
        centre_name = nfc(centre["commune"].iloc[0]) if len(centre) else None
        centre_class = centre["commune_class"].iloc[0] if len(centre) else None
        if centre_name is not None:
            rows.append({"district": district, "commune": centre_name, "commune_class": centre_class,
                         "reason": "admin_centre"})
        classes = sorted(d["commune_class"].astype(str).unique())
        if len(classes) >= 3 and centre_class is not None:
            lists = [c for c in classes if c != str(centre_class)]
        else:
            lists = classes
        for cls in lists:
            lst = _order(d[(d["commune_class"].astype(str) == cls) & ~d["is_admin_centre"]], "commune")
            if lst.empty:
                continue
            picks = []
            if len(lst) == 1:
                picks.append((0, "only_unit_in_class_list"))
            else:
                picks.append((1, "second_in_class_list"))
            if district in also and len(lst) > 2:
                picks.append((len(lst) - 1, "last_in_class_list"))
            for pos, reason in picks:
                rows.append({"district": district, "commune": lst["commune"].iloc[pos],
                             "commune_class": lst["commune_class"].iloc[pos], "reason": reason})
    return pd.DataFrame(rows, columns=["district", "commune", "commune_class", "reason"])


#: How many villages the village rule takes per commune (seed 000: 3).
VILLAGES_PER_COMMUNE = 3


def select_villages(villages: pd.DataFrame) -> pd.DataFrame:
    """Choose 3 villages per commune by seed 000's rule (§II.1.c).

    The village holding the commune office (``has_commune_hq``) is taken by default,
    plus the 2nd and the last of the alphabetical (or numbered) list.  If the office
    village is itself the 2nd, the 3rd is taken; if it is the last, the one before it.
    When these positions collide in a short list (3 villages with the office 2nd or
    last) or no village holds the office, the first unused villages of the list are
    added until ``min(3, n)`` are chosen (reason ``fill_first_unused``).

    Parameters
    ----------
    villages : DataFrame
        Columns ``district``, ``commune``, ``village``, ``has_commune_hq``; usually only
        the villages of the selected communes.  In a 2-tier frame ``district`` is ``""``.

    Returns
    -------
    DataFrame
        ``district``, ``commune``, ``village``, ``reason``; communes in input order.
        Reasons: ``commune_office``, ``second_in_list``, ``third_in_list_office_is_second``,
        ``last_in_list``, ``before_last_office_is_last``, ``fill_first_unused``.
    """
    _require(villages, ["district", "commune", "village", "has_commune_hq"], "village")
    df = villages.copy()
    for c in ("district", "commune"):
        df[c] = df[c].map(nfc)
    df["has_commune_hq"] = _as_bool(df["has_commune_hq"])
    rows = []
    for (district, commune), g in df.groupby(["district", "commune"], sort=False):
        lst = _order(g, "village")
        n = len(lst)
        hq_pos = [i for i in range(n) if lst["has_commune_hq"].iloc[i]]
        if len(hq_pos) > 1:
            raise InputError(f"commune {commune!r} has {len(hq_pos)} villages marked has_commune_hq",
                             column="has_commune_hq")
        chosen: list[tuple[int, str]] = []
        if hq_pos:
            chosen.append((hq_pos[0], "commune_office"))
        taken = {p for p, _ in chosen}
        second = 1 if n > 1 else 0
        if second in taken:
            second = 2 if n > 2 else None
            reason2 = "third_in_list_office_is_second"
        else:
            reason2 = "second_in_list"
        if second is not None and second not in taken:
            chosen.append((second, reason2))
            taken.add(second)
        last = n - 1
        reason_last = "last_in_list"
        if last in taken:
            last = n - 2
            reason_last = "before_last_office_is_last"
        if last >= 0 and last not in taken:
            chosen.append((last, reason_last))
            taken.add(last)
        for pos in range(n):
            if len(chosen) >= min(VILLAGES_PER_COMMUNE, n):
                break
            if pos not in taken:
                chosen.append((pos, "fill_first_unused"))
                taken.add(pos)
        for pos, reason in chosen:
            rows.append({"district": district, "commune": commune, "village": lst["village"].iloc[pos],
                         "reason": reason})
    return pd.DataFrame(rows, columns=["district", "commune", "village", "reason"])


def systematic_indices(n: int, k: int, *, rng: np.random.Generator) -> np.ndarray:
    """Positions of a systematic sample of ``k`` from ``n`` with a random start.

    Fractional interval ``a = n / k``, start ``u ~ U[0, a)``; unit ``floor(u + j a)``,
    ``j = 0..k-1``.  Every unit has inclusion probability ``k / n`` exactly
    (Madow 1949; Särndal, Swensson & Wretman 1992, §3.7).  ``k >= n`` gives all
    units, ``k <= 0`` none (no random number is drawn in either case).
    """
    if k <= 0:
        return np.arange(0)
    if k >= n:
        return np.arange(n)
    step = n / k
    start = rng.uniform(0, step)
    return np.floor(start + step * np.arange(k)).astype(int)


def _draw_households(hh: pd.DataFrame, villages: pd.DataFrame, *, per_village: int, rng: np.random.Generator,
                     neighbours: pd.DataFrame | None, exclude: set | None = None,
                     roles: tuple[str, str, str] = ("selected", "all_households", "top_up_from_neighbour"),
                     ) -> list[pd.DataFrame]:
    """The household draw shared by the official and the reserve list (see :func:`select_households`).

    The frame is split by village once (positions per ``(district, commune, village)``, frame order kept), so
    each village's pool costs its own size, not the frame's: ``O(N + V m)`` for ``N`` households, ``V`` selected
    villages of ``m`` households, instead of ``O(V N)`` (a national frame of 426,000 households and 1,200
    villages took minutes).
    """
    used: set = set(exclude or ())
    selected_keys = {(nfc(v["district"]), nfc(v["commune"]), nfc(v["village"])) for _, v in villages.iterrows()}
    positions = hh.groupby(["district", "commune", "village"], sort=False, dropna=False).indices
    empty = hh.iloc[0:0]

    def village_pool(key: tuple[str, str, str]) -> pd.DataFrame:
        pos = positions.get(key)
        p = empty if pos is None else hh.iloc[pos]
        # set membership per pool row (Series.isin(set) re-reads the whole set on every call)
        return p[np.fromiter((h not in used for h in p["household_id"]), bool, len(p))] if used and len(p) else p

    if neighbours is not None:
        nb_district, nb_commune = neighbours["district"].map(nfc), neighbours["commune"].map(nfc)
    out = []
    for _, v in villages.iterrows():
        key = (nfc(v["district"]), nfc(v["commune"]), nfc(v["village"]))
        pool = village_pool(key)
        if len(pool) < per_village:
            take = pool.assign(hh_sampling_prob=1.0, role=roles[1])
            if neighbours is not None:
                nb = neighbours[(nb_district == key[0]) & (nb_commune == key[1])]
                nb = nb.sort_values("neighbour_order", kind="stable")
                names = list(nb["village"].map(nfc))
                if key[2] in names:
                    i = names.index(key[2])
                    for other in names[i + 1:] + names[:i]:
                        need = per_village - len(take)
                        if need <= 0:
                            break
                        if (key[0], key[1], other) in selected_keys:
                            continue  # a selected village's households stand for their own village
                        op = village_pool((key[0], key[1], other))
                        if op.empty:
                            continue
                        idx = systematic_indices(len(op), min(need, len(op)), rng=rng)
                        add = op.iloc[idx].assign(hh_sampling_prob=min(need, len(op)) / max(len(op), 1),
                                                  role=roles[2])
                        take = pd.concat([take, add])
            used.update(take["household_id"])
            out.append(take.assign(sample_village=key[2]))
            continue
        sizes = pool.groupby("hamlet", sort=False).size()
        alloc = allocate_largest_remainder(sizes, per_village, minimum=1 if len(sizes) <= per_village else 0,
                                           capacity=sizes)
        parts = []
        for hamlet, k in alloc.items():
            hp = pool[pool["hamlet"] == hamlet]
            idx = systematic_indices(len(hp), int(k), rng=rng)
            parts.append(hp.iloc[idx].assign(hh_sampling_prob=int(k) / len(hp), role=roles[0]))
        got = pd.concat(parts)
        used.update(got["household_id"])
        out.append(got.assign(sample_village=key[2]))
    return out


def _prep_households(households: pd.DataFrame) -> pd.DataFrame:
    _require(households, ["district", "commune", "village", "hamlet", "household_id"], "household")
    hh = households.copy()
    for c in ("district", "commune", "village", "hamlet"):
        hh[c] = hh[c].map(nfc)
    dup = hh["household_id"].duplicated()
    if dup.any():
        pos = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"household id {hh['household_id'].iloc[pos]!r} is listed twice", row=pos + 2,
                         column="household_id")
    return hh


def select_households(households: pd.DataFrame, villages: pd.DataFrame, *, per_village: int = 30,
                      seed: int, neighbours: pd.DataFrame | None = None) -> pd.DataFrame:
    """Draw ``per_village`` households in each selected village, every hamlet represented (seed 000 §II.1.c).

    The village's quota is split across hamlets in proportion to their size, at least
    one each and never more than a hamlet holds (:func:`allocate_largest_remainder`
    with ``capacity``), and each hamlet is drawn by systematic sampling with a seeded
    random start over its households in frame order (:func:`systematic_indices`), so a
    household of hamlet ``h`` is drawn with probability ``k_h / N_h``.

    A village with fewer households than the quota takes all (``role="all_households"``,
    probability 1) and is topped up from the next villages in ``neighbours`` order
    (columns ``district``, ``commune``, ``village``, ``neighbour_order``; the list wraps
    round), skipping villages that are themselves selected and households already
    drawn (``role="top_up_from_neighbour"``, probability ``k / N`` in that neighbour).

    Parameters
    ----------
    households : DataFrame
        ``district``, ``commune``, ``village``, ``hamlet``, ``household_id`` (unique);
        other columns are carried through.
    villages : DataFrame
        The selected villages (``district``, ``commune``, ``village``), e.g. from
        :func:`select_villages`; drawn in this order with one random stream.
    per_village : int, default 30
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed and inputs give the same list.
    neighbours : DataFrame, optional
        Neighbour order of the villages (the village frame has it).

    Returns
    -------
    DataFrame
        The selected households' frame rows plus ``hh_sampling_prob`` (within-village
        probability), ``role`` and ``sample_village`` (the selected village they stand for).
    """
    hh = _prep_households(households)
    rng = np.random.default_rng(seed)
    out = _draw_households(hh, villages, per_village=per_village, rng=rng, neighbours=neighbours)
    return pd.concat(out, ignore_index=True)


#: Stream number of the reserve draw: the reserve uses ``default_rng([seed, RESERVE_STREAM])``.
RESERVE_STREAM = 1


def select_reserve(households: pd.DataFrame, villages: pd.DataFrame, selected: pd.DataFrame, *,
                   per_village: int = 30, seed: int, neighbours: pd.DataFrame | None = None) -> pd.DataFrame:
    """A reserve list of equal size, drawn the same way from the households not selected (seed 001).

    The households of ``selected`` (the official list from :func:`select_households`)
    are removed from the frame and :func:`select_households`' procedure is run again on
    what remains, with the independent random stream ``default_rng([seed, 1])`` so the
    official list is unchanged whether or not a reserve is drawn.  A reserve household
    replaces a refusing or absent official household of the same ``sample_village``,
    in ``reserve_rank`` order.

    Returns
    -------
    DataFrame
        As :func:`select_households`, ``role`` prefixed with ``reserve_`` and a
        ``reserve_rank`` (1, 2, ... within ``sample_village``).  ``hh_sampling_prob``
        is the conditional draw probability among the remaining households; it is
        not a design probability (reserve households that are used keep the
        design weight of the household they replace).
    """
    hh = _prep_households(households)
    rng = np.random.default_rng([seed, RESERVE_STREAM])
    out = _draw_households(hh, villages, per_village=per_village, rng=rng, neighbours=neighbours,
                           exclude=set(selected["household_id"]),
                           roles=("reserve", "reserve_all_remaining", "reserve_top_up_from_neighbour"))
    res = pd.concat(out, ignore_index=True) if out else hh.iloc[:0].assign(
        hh_sampling_prob=[], role=[], sample_village=[])
    res["reserve_rank"] = res.groupby(["district", "commune", "sample_village"], sort=False).cumcount() + 1
    return res
