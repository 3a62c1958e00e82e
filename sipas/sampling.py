"""Sample selection by the rules of the SIPAS survey plans (seed 000 §II.1.c) and by probability designs.

Frames are ordered "theo vần abc" with ICU's Vietnamese collation (:func:`vi_sort_key`);
communes and villages are chosen by the plan's positional rules (or, configurably,
by PPS systematic / SRS / stratified designs, e.g. for the 2-tier structure in force
since 1/7/2025); households are drawn by seeded systematic sampling covering every
hamlet, with a reserve list of equal size (seed 001).  Inclusion probabilities are
given at every stage (see ``docs/sampling.md``).  Forms are allocated to units with
the largest-remainder rule (seed 002).  :func:`draw_sample` runs the whole selection
for a survey configuration and writes the annexes Phụ lục 01–04.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sipas import io as sio
from sipas.errors import ConfigError, DesignError, InputError

#: Unit-type prefixes left out of the sort key (longest first so "Thị trấn" wins over "Thị").
UNIT_PREFIXES = (
    "thành phố", "thị xã", "thị trấn", "tổ dân phố", "quận", "huyện", "phường", "xã", "thôn", "bản",
    "tổ", "khu phố", "khu", "ấp", "làng", "xóm", "buôn", "plei", "sóc", "đội", "khối", "tiểu khu",
    "đặc khu", "khu dân cư", "tổ dân cư", "điểm bản", "tỉnh",
)
_PREFIX_RE = re.compile(
    r"^(?:" + "|".join(re.escape(p) for p in sorted(UNIT_PREFIXES, key=len, reverse=True)) + r")\s+",
    re.IGNORECASE,
)
_NUM_RE = re.compile(r"^(?:số\s*)?(\d+)\b", re.IGNORECASE)


def nfc(text: str) -> str:
    """Unicode NFC form of ``text`` (Vietnamese input often arrives decomposed, NFD).

    Non-text values (numbers, missing values) are returned unchanged.
    """
    if not isinstance(text, str):
        return text
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=1)
def _collator():
    import icu

    coll = icu.Collator.createInstance(icu.Locale("vi"))
    coll.setStrength(icu.Collator.TERTIARY)
    return coll


def strip_unit_prefix(name: str) -> str:
    """``"Xã Nậm Tăm"`` -> ``"Nậm Tăm"``; a name that is only a prefix is kept as is."""
    name = nfc(name).strip()
    stripped = _PREFIX_RE.sub("", name, count=1)
    return stripped if stripped else name


def vi_sort_key(name: str) -> tuple:
    """Sort key for Vietnamese alphabetical order ("theo vần abc").

    The unit-type prefix (:data:`UNIT_PREFIXES`) is left out, the name is
    NFC-normalised and compared with ICU's collation for locale ``vi``
    (A < Ă < Â < B ... D < Đ ... O < Ô < Ơ ... U < Ư, tones after base letters).
    Numbered units sort by number ("Tổ dân phố số 2" before "số 10") and before
    named units.  Names equal once the prefix is removed ("Xã Tân Phong",
    "Phường Tân Phong") are ordered by their full name, so the order never
    depends on the input order.
    """
    coll = _collator()
    full = nfc(name).strip()
    core = strip_unit_prefix(full)
    m = _NUM_RE.match(core)
    tie = bytes(coll.getSortKey(full))
    if m:
        return (0, int(m.group(1)), bytes(coll.getSortKey(core)), tie)
    return (1, 0, bytes(coll.getSortKey(core)), tie)


def vi_sorted(names: Iterable[str]) -> list[str]:
    """Names (NFC) in Vietnamese alphabetical order (see :func:`vi_sort_key`)."""
    return sorted((nfc(n) for n in names), key=vi_sort_key)


def _require(df: pd.DataFrame, cols: Sequence[str], what: str, *, file: str | Path | None = None) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{what} frame lacks column(s) {', '.join(missing)}; has {', '.join(map(str, df.columns))}",
                         file=file, column=missing[0])


def _no_missing(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    """Raise :class:`InputError` naming the first empty cell of ``cols`` (row as a spreadsheet counts)."""
    for c in cols:
        bad = df[c].isna() | (df[c].astype(str).str.strip() == "")
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{what} frame has an empty value", row=pos + 2, column=c)


_TRUE = ("1", "1.0", "true", "yes", "có", "x", "co")


def _as_bool(s: pd.Series) -> pd.Series:
    return s.map(lambda v: str(v).strip().lower() in _TRUE).astype(bool)


def _order(df: pd.DataFrame, col: str) -> pd.DataFrame:
    out = df.copy()
    out[col] = out[col].map(nfc)
    keys = out[col].map(vi_sort_key)
    return out.iloc[sorted(range(len(out)), key=lambda i: keys.iloc[i])].reset_index(drop=True)


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


def _largest_remainder(quota: pd.Series, sizes: pd.Series, left: int) -> pd.Series:
    floor = np.floor(quota).astype(int)
    rema = quota - floor
    order = sorted(range(len(quota)), key=lambda i: (-rema.iloc[i], -sizes.iloc[i], i))
    bump = pd.Series(0, index=quota.index, dtype=int)
    for i in order[:left]:
        bump.iloc[i] = 1
    return floor + bump


def allocate_largest_remainder(sizes: pd.Series, total: int, *, minimum: int = 0,
                               capacity: pd.Series | None = None) -> pd.Series:
    """Allocate ``total`` proportionally to ``sizes`` keeping the sum (largest remainder).

    Each unit first gets ``minimum``; the rest ``R = total - minimum * K`` is shared
    as quotas ``q_i = R * s_i / sum(s)``; every unit gets ``floor(q_i)`` and the
    ``R - sum(floor(q))`` units with the largest remainders ``q_i - floor(q_i)`` get
    one more (Hamilton's method), ties broken by size then position (deterministic).

    With ``capacity`` (e.g. the hamlet sizes), no unit gets more than its capacity:
    the excess of capped units is shared again among the others by the same rule,
    until none exceeds (the result is unchanged when no unit exceeds).

    Raises
    ------
    DesignError
        ``minimum * K > total``, or ``total`` exceeds the total capacity.
    """
    sizes = sizes.astype(float)
    base = pd.Series(minimum, index=sizes.index, dtype=int)
    rest = total - int(base.sum())
    if rest < 0:
        raise DesignError(f"minimum {minimum} x {len(sizes)} units exceeds total {total}")
    if len(sizes) == 0:
        return base
    ssum = sizes.sum()
    quota = sizes / ssum * rest if ssum > 0 else pd.Series(rest / len(sizes), index=sizes.index)
    left = rest - int(np.floor(quota).astype(int).sum())
    alloc = base + _largest_remainder(quota, sizes, left)
    if capacity is None:
        return alloc
    cap = capacity.reindex(sizes.index).astype(int)
    if int(cap.sum()) < total:
        raise DesignError(f"cannot allocate {total} to units with total capacity {int(cap.sum())}")
    while (alloc > cap).any():
        over = alloc > cap
        excess = int((alloc - cap)[over].sum())
        alloc = alloc.where(~over, cap)
        room = (cap - alloc).clip(lower=0)
        open_ = room > 0
        s = sizes[open_]
        q = s / s.sum() * excess if s.sum() > 0 else pd.Series(excess / len(s), index=s.index)
        add = _largest_remainder(q, s, excess - int(np.floor(q).astype(int).sum()))
        alloc = alloc.add(add, fill_value=0).astype(int)
    return alloc


def _village_mask(hh: pd.DataFrame, key: tuple[str, str, str]) -> pd.Series:
    return (hh["district"] == key[0]) & (hh["commune"] == key[1]) & (hh["village"] == key[2])


def _draw_households(hh: pd.DataFrame, villages: pd.DataFrame, *, per_village: int, rng: np.random.Generator,
                     neighbours: pd.DataFrame | None, exclude: set | None = None,
                     roles: tuple[str, str, str] = ("selected", "all_households", "top_up_from_neighbour"),
                     ) -> list[pd.DataFrame]:
    """The household draw shared by the official and the reserve list (see :func:`select_households`)."""
    used: set = set(exclude or ())
    selected_keys = {(nfc(v["district"]), nfc(v["commune"]), nfc(v["village"])) for _, v in villages.iterrows()}
    out = []
    for _, v in villages.iterrows():
        key = (nfc(v["district"]), nfc(v["commune"]), nfc(v["village"]))
        pool = hh[_village_mask(hh, key) & ~hh["household_id"].isin(used)]
        if len(pool) < per_village:
            take = pool.assign(hh_sampling_prob=1.0, role=roles[1])
            if neighbours is not None:
                nb = neighbours[(neighbours["district"].map(nfc) == key[0]) & (neighbours["commune"].map(nfc) == key[1])]
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
                        op = hh[_village_mask(hh, (key[0], key[1], other)) & ~hh["household_id"].isin(used)]
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


def _pi_communes(com: pd.DataFrame, selected_communes: pd.DataFrame) -> dict[tuple[str, str], float]:
    pi1: dict[tuple[str, str], float] = {}
    has_pi = "pi_commune" in selected_communes.columns
    for _, r in selected_communes.iterrows():
        key = (nfc(r["district"]), nfc(r["commune"]))
        if has_pi and pd.notna(r["pi_commune"]):
            pi1[key] = float(r["pi_commune"])
            continue
        if r["reason"] == "admin_centre":
            pi1[key] = 1.0
            continue
        cls = str(r["commune_class"])
        lst = com[(com["district"] == key[0]) & (com["commune_class"].astype(str) == cls) & ~com["is_admin_centre"]]
        m = int(((selected_communes["district"].map(nfc) == key[0])
                 & (selected_communes["commune_class"].astype(str) == cls)
                 & (selected_communes["reason"] != "admin_centre")).sum())
        mi = float(lst.loc[lst["commune"] == key[1], "households"].iloc[0])
        pi1[key] = min(1.0, m * mi / float(lst["households"].sum()))
    return pi1


def _pi_villages(vil: pd.DataFrame, selected_villages: pd.DataFrame) -> dict[tuple[str, str, str], float]:
    pi2: dict[tuple[str, str, str], float] = {}
    has_pi = "pi_village" in selected_villages.columns
    for (d, c), g in selected_villages.groupby(["district", "commune"], sort=False):
        if has_pi and g["pi_village"].notna().all():
            for v, p in zip(g["village"], g["pi_village"]):
                pi2[(nfc(d), nfc(c), nfc(v))] = float(p)
            continue
        allv = vil[(vil["district"] == nfc(d)) & (vil["commune"] == nfc(c))]
        office = g[g["reason"] == "commune_office"]["village"].map(nfc).tolist()
        others = g[g["reason"] != "commune_office"]["village"].map(nfc).tolist()
        rest = allv[~allv["village"].isin(office)]
        m_rest = float(rest["households"].sum())
        for v in office:
            pi2[(nfc(d), nfc(c), v)] = 1.0
        for v in others:
            mv = float(allv.loc[allv["village"] == v, "households"].iloc[0])
            pi2[(nfc(d), nfc(c), v)] = min(1.0, len(others) * mv / m_rest)
    return pi2


def _prep_prob_frames(communes: pd.DataFrame, villages: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    _require(villages, ["district", "commune", "village", "households"], "village")
    com = communes.copy()
    for c in ("district", "commune"):
        com[c] = com[c].map(nfc)
    com["is_admin_centre"] = _as_bool(com["is_admin_centre"]) if "is_admin_centre" in com else False
    vil = villages.copy()
    for c in ("district", "commune", "village"):
        vil[c] = vil[c].map(nfc)
    vil_hh = vil.groupby(["district", "commune"])["households"].sum()
    com = com.assign(households=[vil_hh.get((d, c), np.nan) for d, c in zip(com["district"], com["commune"])])
    return com, vil


def stage_probabilities(communes: pd.DataFrame, villages: pd.DataFrame, selected_communes: pd.DataFrame,
                        selected_villages: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """First- and second-stage inclusion probabilities of the selected units.

    Same convention as :func:`inclusion_probabilities` (a ``pi_commune`` /
    ``pi_village`` column already present, as from a probability design, is used as is).

    Returns
    -------
    (DataFrame, DataFrame)
        ``selected_communes`` with ``pi_commune`` and ``commune_certainty``;
        ``selected_villages`` with ``pi_village``, ``village_certainty`` and the overall
        unit probability ``pi_commune_village = pi_commune * pi_village``.
    """
    com, vil = _prep_prob_frames(communes, villages)
    pi1 = _pi_communes(com, selected_communes)
    pi2 = _pi_villages(vil, selected_villages)
    sc = selected_communes.copy()
    sc["pi_commune"] = [pi1[(nfc(d), nfc(c))] for d, c in zip(sc["district"], sc["commune"])]
    sc["commune_certainty"] = sc["pi_commune"] >= 1.0
    sv = selected_villages.copy()
    sv["pi_village"] = [pi2[(nfc(d), nfc(c), nfc(v))] for d, c, v in zip(sv["district"], sv["commune"], sv["village"])]
    sv["village_certainty"] = sv["pi_village"] >= 1.0
    sv["pi_commune_village"] = [pi1[(nfc(d), nfc(c))] * p for d, c, p in zip(sv["district"], sv["commune"],
                                                                              sv["pi_village"])]
    return sc, sv


def inclusion_probabilities(communes: pd.DataFrame, villages: pd.DataFrame, selected_communes: pd.DataFrame,
                            selected_villages: pd.DataFrame, selected_households: pd.DataFrame) -> pd.DataFrame:
    """Inclusion probabilities for a sample drawn by seed 000's purposive rules (or a probability design).

    The rules are purposive above the household stage, so probabilities there are
    *assigned*, by the convention documented in ``docs/sampling.md``:

    * stage 1 (commune): a certainty unit (the administrative centre) has
      ``pi1 = 1``; a commune chosen from a class list of total size ``M_list``
      households, ``m`` communes chosen from that list, has ``pi1 = m * M_i / M_list``
      (as if drawn with probability proportional to size), capped at 1;
    * stage 2 (village): the office village is a certainty unit (``pi2 = 1``); the
      other chosen villages represent the remaining villages of the commune,
      ``pi2 = m_v * M_v / M_rest``, capped at 1;
    * stage 3 (household): ``pi3`` = the within-village probability of the
      systematic draw (``k / N_hamlet``), from :func:`select_households`.

    When ``selected_communes`` has a ``pi_commune`` column or ``selected_villages`` a
    ``pi_village`` column (true probability designs: :func:`pps_systematic`,
    :func:`srs_select`, :func:`stratified_select`), those probabilities are used.

    The overall probability is ``pi = pi1 * pi2 * pi3``; the design weight is ``1 / pi``.

    Parameters
    ----------
    communes, villages : DataFrame
        The full frames; ``villages`` needs ``households`` (the commune sizes are the
        sums over its villages).
    selected_communes, selected_villages, selected_households : DataFrame
        Outputs of :func:`select_communes`, :func:`select_villages`, :func:`select_households`.

    Returns
    -------
    DataFrame
        ``household_id`` with ``pi_commune``, ``pi_village``, ``pi_household``, ``pi``,
        ``commune_certainty`` and ``village_certainty``.
    """
    com, vil = _prep_prob_frames(communes, villages)
    pi1 = _pi_communes(com, selected_communes)
    pi2 = _pi_villages(vil, selected_villages)
    sh = selected_households
    keys_c = list(zip(sh["district"].map(nfc), sh["commune"].map(nfc)))
    keys_v = list(zip(sh["district"].map(nfc), sh["commune"].map(nfc), sh["sample_village"].map(nfc)))
    out = pd.DataFrame({
        "household_id": sh["household_id"].to_numpy(),
        "pi_commune": [pi1[k] for k in keys_c],
        "pi_village": [pi2[k] for k in keys_v],
        "pi_household": sh["hh_sampling_prob"].astype(float).to_numpy(),
    })
    out["pi"] = out["pi_commune"] * out["pi_village"] * out["pi_household"]
    out["commune_certainty"] = out["pi_commune"] >= 1.0
    out["village_certainty"] = out["pi_village"] >= 1.0
    return out


# --------------------------------------------------------------------------- probability designs

def _rng(seed: int | None, rng: np.random.Generator | None) -> np.random.Generator:
    if rng is not None:
        return rng
    if seed is None:
        raise DesignError("a seed (or a numpy Generator) is required for a random selection")
    return np.random.default_rng(seed)


def pps_systematic(frame: pd.DataFrame, *, size: str, n: int, seed: int | None = None,
                   rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Systematic sampling with probability proportional to size (PPS), with certainty units.

    Units whose expected hits ``n x_i / X`` reach 1 are taken with certainty
    (``pi = 1``) and removed, repeatedly; on the rest (``n'`` draws, total ``X'``)
    the interval is ``a = X' / n'``, the start ``u ~ U[0, a)`` and the unit whose
    cumulative size interval ``(C_{i-1}, C_i]`` holds ``u + j a`` is taken, so
    ``pi_i = n' x_i / X'`` (Madow 1949; Cochran 1977 §9A.8; Särndal et al. 1992 §3.6).
    The frame order is kept (sort it first, e.g. alphabetically or geographically,
    for implicit stratification).  Units of size 0 are never selected.

    Parameters
    ----------
    frame : DataFrame
    size : str
        Column of the size measure (e.g. ``households``); non-negative numbers.
    n : int
        Sample size; at most the number of units of positive size.
    seed, rng
        Seed of ``numpy.random.default_rng``, or a Generator to continue a stream.

    Returns
    -------
    DataFrame
        The selected rows (frame order) with ``pi`` and ``certainty``.
    """
    x = pd.to_numeric(frame[size], errors="coerce")
    if x.isna().any() or (x < 0).any():
        pos = int(np.flatnonzero((x.isna() | (x < 0)).to_numpy())[0])
        raise InputError("size measure must be a non-negative number", row=pos + 2, column=size)
    x = x.to_numpy(dtype=float)
    npos = int((x > 0).sum())
    if n < 0 or n > npos:
        raise DesignError(f"cannot draw {n} units by PPS from {npos} units of positive size")
    g = _rng(seed, rng)
    cert = np.zeros(len(x), dtype=bool)
    while True:
        rest = ~cert & (x > 0)
        n_rest = n - int(cert.sum())
        tot = x[rest].sum()
        new = rest & (n_rest * x / tot >= 1.0) if n_rest > 0 and tot > 0 else np.zeros(len(x), dtype=bool)
        if not new.any():
            break
        cert |= new
    pi = np.where(cert, 1.0, 0.0)
    chosen = cert.copy()
    n_rest = n - int(cert.sum())
    if n_rest > 0:
        rest = ~cert & (x > 0)
        xr = np.where(rest, x, 0.0)
        tot = xr.sum()
        pi = np.where(rest, n_rest * xr / tot, pi)
        step = tot / n_rest
        points = g.uniform(0, step) + step * np.arange(n_rest)
        hit = np.searchsorted(np.cumsum(xr), points, side="right")
        chosen[hit] = True
    out = frame.loc[chosen].copy()
    out["pi"] = pi[chosen]
    out["certainty"] = cert[chosen]
    return out


def srs_select(frame: pd.DataFrame, *, n: int, seed: int | None = None,
               rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Simple random sampling without replacement of ``n`` units; ``pi = n / N``.

    Returns the selected rows in frame order with ``pi`` and ``certainty`` (``n == N``).
    """
    N = len(frame)
    if n < 0 or n > N:
        raise DesignError(f"cannot draw {n} units by SRS from {N}")
    g = _rng(seed, rng)
    idx = np.sort(g.choice(N, size=n, replace=False)) if n else np.arange(0)
    out = frame.iloc[idx].copy()
    out["pi"] = n / N if N else 0.0
    out["certainty"] = n == N
    return out


def stratified_select(frame: pd.DataFrame, *, strata: str, n: int | Mapping[str, int], method: str = "srs",
                      size: str | None = None, order_by: str | None = None, seed: int) -> pd.DataFrame:
    """Stratified selection: an independent SRS or PPS systematic draw in each stratum.

    Strata are processed in Vietnamese alphabetical order with one random stream
    ``default_rng(seed)``; within a stratum the frame is ordered by ``order_by``
    (Vietnamese order, e.g. the unit name) before a PPS systematic draw.
    ``pi_hi = n_h / N_h`` (SRS) or ``n_h x_hi / X_h`` (PPS, certainty units 1).

    Parameters
    ----------
    strata : str
        Stratum column (e.g. ``commune_type``: Xã / Phường / Đặc khu, or ``district``).
    n : int or mapping
        Units per stratum, the same for all or per stratum name; a stratum smaller
        than its ``n_h`` is taken whole (``pi = 1``).
    method : {"srs", "pps_systematic"}
    size : str, optional
        Size column, required for PPS.

    Returns
    -------
    DataFrame
        Selected rows with ``stratum``, ``pi``, ``certainty`` and ``reason`` (the method).
    """
    if method not in ("srs", "pps_systematic"):
        raise DesignError(f"unknown selection method {method!r}; use 'srs' or 'pps_systematic'")
    if method == "pps_systematic" and not size:
        raise DesignError("PPS selection needs a size column")
    _require(frame, [strata] + ([size] if size else []) + ([order_by] if order_by else []), "sampling")
    g = np.random.default_rng(seed)
    parts = []
    for h in vi_sorted(frame[strata].astype(str).unique()):
        fh = frame[frame[strata].astype(str).map(nfc) == h]
        if order_by:
            fh = _order(fh, order_by)
        nh = int(n[h]) if isinstance(n, Mapping) else int(n)
        if isinstance(n, Mapping) and h not in n:
            raise DesignError(f"no sample size given for stratum {h!r}")
        if method == "pps_systematic":
            npos = int((pd.to_numeric(fh[size], errors="coerce") > 0).sum())
            sel = pps_systematic(fh, size=size, n=min(nh, npos), rng=g)
        else:
            sel = srs_select(fh, n=min(nh, len(fh)), rng=g)
        parts.append(sel.assign(stratum=h, reason=np.where(sel["certainty"], f"{method}_certainty", method)))
    return pd.concat(parts, ignore_index=True) if parts else frame.iloc[:0].assign(
        stratum=[], pi=[], certainty=[], reason=[])


def select_communes_design(communes: pd.DataFrame, *, design: Mapping[str, Any], seed: int) -> pd.DataFrame:
    """Communes by a probability design (the configurable 2-tier rule set, or an alternative for 3-tier).

    ``design`` is the ``sampling.communes`` section of survey.yml, e.g. for a 2-tier
    province (no districts; strata by commune type, systematic PPS by households)::

        communes: {design: pps_systematic, strata: commune_type, n: {Xã: 8, Phường: 3, Đặc khu: 1},
                   size: households}

    Keys: ``design`` (``pps_systematic`` or ``srs``), ``n`` (int or per stratum),
    ``strata`` (column, optional: none = one stratum), ``size`` (default ``households``).

    Returns
    -------
    DataFrame
        ``district`` (``""`` in a 2-tier frame), ``commune``, ``commune_class`` (if in the
        frame), ``stratum``, ``reason``, ``pi_commune``, ``commune_certainty``.
    """
    method = design.get("design", "pps_systematic")
    if "n" not in design:
        raise ConfigError("sampling.communes needs 'n' (communes per stratum)", key="sampling.communes.n")
    df = communes.copy()
    if "district" not in df:
        df["district"] = ""
    strata = design.get("strata")
    if strata is None:
        df["_all"] = "all"
        strata = "_all"
    size = design.get("size", "households") if method == "pps_systematic" else None
    sel = stratified_select(df, strata=strata, n=design["n"], method=method, size=size, order_by="commune",
                            seed=seed)
    sel = sel.rename(columns={"pi": "pi_commune", "certainty": "commune_certainty"})
    cols = ["district", "commune"] + (["commune_class"] if "commune_class" in sel else []) + [
        "stratum", "reason", "pi_commune", "commune_certainty"]
    return sel[cols].reset_index(drop=True)


def select_villages_design(villages: pd.DataFrame, *, design: Mapping[str, Any], seed: int) -> pd.DataFrame:
    """Villages by a probability design in every commune (strata = communes), e.g.
    ``villages: {design: pps_systematic, n: 3, size: households}``.

    Returns ``district``, ``commune``, ``village``, ``reason``, ``pi_village``.
    """
    method = design.get("design", "pps_systematic")
    df = villages.copy()
    df["_commune_key"] = df["district"].astype(str).map(nfc) + "\x1f" + df["commune"].astype(str).map(nfc)
    size = design.get("size", "households") if method == "pps_systematic" else None
    sel = stratified_select(df, strata="_commune_key", n=int(design.get("n", VILLAGES_PER_COMMUNE)),
                            method=method, size=size, order_by="village", seed=seed)
    sel = sel.rename(columns={"pi": "pi_village"})
    return sel[["district", "commune", "village", "reason", "pi_village"]].reset_index(drop=True)


# --------------------------------------------------------------------------- allocation of forms

ALLOCATION_METHODS = ("fixed", "proportional", "minimum_plus_proportional")


def allocate_forms(units: pd.DataFrame, *, method: str = "fixed", per_unit: int | None = None,
                   total: int | None = None, minimum: int = 0, size: str = "households",
                   overrides: Mapping[str, int] | None = None, unit: str = "commune") -> pd.DataFrame:
    """Number of forms per unit (Phụ lục 04; seed 002's table).

    * ``fixed``: ``per_unit`` forms each, ``overrides`` for named units (seed 002:
      70 at the district one-stop unit + 50 in each of 8 communes = 470); the total
      is the sum.
    * ``proportional``: ``total`` shared in proportion to ``size`` (largest remainder,
      :func:`allocate_largest_remainder`, so the sum is exactly ``total``).
    * ``minimum_plus_proportional``: ``minimum`` each, the rest proportional to ``size``.

    Parameters
    ----------
    units : DataFrame
        One row per unit; ``unit`` names its column.
    overrides : mapping, optional
        Unit name -> forms, for ``fixed``; names are compared in NFC.

    Returns
    -------
    DataFrame
        ``units`` with a ``forms`` column (int).
    """
    if method not in ALLOCATION_METHODS:
        raise ConfigError(f"unknown allocation method {method!r}; use one of {', '.join(ALLOCATION_METHODS)}",
                          key="sampling.allocation.method")
    out = units.copy().reset_index(drop=True)
    if method == "fixed":
        if per_unit is None:
            raise ConfigError("fixed allocation needs per_unit", key="sampling.allocation.per_unit")
        ov = {nfc(k): int(v) for k, v in (overrides or {}).items()}
        names = out[unit].map(nfc)
        unknown = sorted(set(ov) - set(names))
        if unknown:
            raise ConfigError(f"allocation override for unknown unit(s): {', '.join(unknown)}",
                              key="sampling.allocation.overrides")
        out["forms"] = [ov.get(nm, int(per_unit)) for nm in names]
        return out
    if total is None:
        raise ConfigError(f"{method} allocation needs total", key="sampling.allocation.total")
    _require(out, [size], "allocation")
    mn = minimum if method == "minimum_plus_proportional" else 0
    out["forms"] = allocate_largest_remainder(out[size], int(total), minimum=mn).astype(int).to_numpy()
    return out


# --------------------------------------------------------------------------- annexes (Phụ lục 01-04)

#: Vietnamese wording of the selection reasons printed in the annexes.
REASON_VI = {
    "admin_centre": "Trung tâm hành chính (chọn mặc định)",
    "second_in_class_list": "Số thứ tự thứ hai của danh sách",
    "only_unit_in_class_list": "Đơn vị duy nhất của danh sách",
    "last_in_class_list": "Số thứ tự cuối cùng của danh sách",
    "commune_office": "Có trụ sở chính quyền cấp xã (chọn mặc định)",
    "second_in_list": "Số thứ tự thứ hai của danh sách",
    "third_in_list_office_is_second": "Số thứ tự thứ ba (thứ hai là nơi có trụ sở)",
    "last_in_list": "Số thứ tự cuối cùng của danh sách",
    "before_last_office_is_last": "Liền trước cuối danh sách (cuối danh sách là nơi có trụ sở)",
    "fill_first_unused": "Bổ sung đơn vị đầu tiên chưa chọn (danh sách ngắn)",
    "pps_systematic": "Chọn hệ thống theo xác suất tỷ lệ với quy mô (PPS)",
    "pps_systematic_certainty": "Chọn chắc chắn (quy mô lớn, PPS)",
    "srs": "Chọn ngẫu nhiên đơn giản",
    "srs_certainty": "Chọn toàn bộ",
    "selected": "Chọn hệ thống, khởi đầu ngẫu nhiên",
    "all_households": "Lấy toàn bộ hộ (thôn/bản không đủ số hộ)",
    "top_up_from_neighbour": "Bổ sung từ thôn/bản bên cạnh",
    "reserve": "Dự phòng",
    "reserve_all_remaining": "Dự phòng (toàn bộ hộ còn lại)",
    "reserve_top_up_from_neighbour": "Dự phòng, bổ sung từ thôn/bản bên cạnh",
}
#: Row of the column headers in the XLSX annexes (rows 1-2: title, row 3: blank).
ANNEX_HEADER_ROW = 4
#: Annex titles.
ANNEX_TITLES = {
    "01": "DANH SÁCH ĐƠN VỊ HÀNH CHÍNH CẤP XÃ THEO LOẠI, SẮP XẾP THEO VẦN ABC VÀ ĐƠN VỊ ĐƯỢC CHỌN KHẢO SÁT",
    "02": "DANH SÁCH THÔN, BẢN, TỔ DÂN PHỐ CỦA CÁC XÃ ĐƯỢC CHỌN VÀ ĐƠN VỊ ĐƯỢC CHỌN KHẢO SÁT",
    "03": "DANH SÁCH HỘ GIA ĐÌNH ĐƯỢC CHỌN KHẢO SÁT (CHÍNH THỨC VÀ DỰ PHÒNG) - TÀI LIỆU HẠN CHẾ",
    "04": "PHÂN BỔ SỐ LƯỢNG PHIẾU KHẢO SÁT",
}
#: Columns of the households tables that may leave the restricted folder.
PUBLIC_HOUSEHOLD_COLUMNS = (
    "district", "commune", "village", "hamlet", "household_id", "sample_village", "list", "role", "reserve_rank",
    "hh_sampling_prob", "pi_commune", "pi_village", "pi_household", "pi", "commune_certainty", "village_certainty",
)


def _reason_vi(code: Any) -> str:
    if not isinstance(code, str) or not code:
        return ""
    return REASON_VI.get(code, code)


def _class_sort(values: Iterable[Any]) -> list[str]:
    roman = {"I": 1, "II": 2, "III": 3, "1": 1, "2": 2, "3": 3}
    return sorted({str(v) for v in values}, key=lambda v: (roman.get(v.strip().upper().replace("LOẠI ", ""), 9), v))


def annex_01(communes: pd.DataFrame, selected: pd.DataFrame) -> pd.DataFrame:
    """Phụ lục 01: every commune, by district and class list in Vietnamese order, selected ones marked.

    ``selected`` is :func:`select_communes` or :func:`select_communes_design` output,
    optionally with ``pi_commune`` (:func:`stage_probabilities`).  In a 2-tier frame
    (all districts ``""``) the district column is left out and the list is by
    ``commune_type`` when the frame has it.
    """
    com = communes.copy()
    if "district" not in com:
        com["district"] = ""
    for c in ("district", "commune"):
        com[c] = com[c].map(nfc)
    two_tier = bool((com["district"] == "").all())
    list_col = "commune_class" if "commune_class" in com and com["commune_class"].notna().all() else "commune_type"
    sel = {(nfc(d), nfc(c)): r for d, c, r in zip(selected["district"], selected["commune"],
                                                     selected.to_dict("records"))}
    rows = []
    for district in vi_sorted(com["district"].unique()):
        d = com[com["district"] == district]
        for cls in _class_sort(d[list_col]):
            lst = _order(d[d[list_col].astype(str) == cls], "commune")
            for i, r in enumerate(lst.to_dict("records"), start=1):
                s = sel.get((district, r["commune"]))
                row = {} if two_tier else {"Huyện, thị xã, thành phố": district}
                row.update({
                    ("Loại đơn vị hành chính" if list_col == "commune_class" else "Loại đơn vị"): cls,
                    "Số thứ tự trong danh sách": i,
                    "Tên đơn vị hành chính cấp xã": r["commune"],
                    "Trung tâm hành chính": "x" if bool(r.get("is_admin_centre", False)) else "",
                    "Số hộ gia đình": r.get("households", pd.NA),
                    "Được chọn": "x" if s is not None else "",
                    "Lý do chọn": _reason_vi(s["reason"]) if s is not None else "",
                    "Xác suất chọn": s.get("pi_commune", pd.NA) if s is not None else pd.NA,
                })
                rows.append(row)
    out = pd.DataFrame(rows)
    out.insert(0, "STT", range(1, len(out) + 1))
    return out


def annex_02(villages: pd.DataFrame, selected: pd.DataFrame, *, communes_order: pd.DataFrame) -> pd.DataFrame:
    """Phụ lục 02: the villages of each selected commune in Vietnamese (or numbered) order, selected ones marked.

    ``communes_order`` gives the communes (``district``, ``commune``) in the order to print.
    """
    vil = villages.copy()
    for c in ("district", "commune", "village"):
        vil[c] = vil[c].map(nfc)
    sel = {(nfc(d), nfc(c), nfc(v)): r for d, c, v, r in zip(selected["district"], selected["commune"],
                                                              selected["village"], selected.to_dict("records"))}
    two_tier = bool((vil["district"] == "").all())
    rows = []
    for d, c in zip(communes_order["district"].map(nfc), communes_order["commune"].map(nfc)):
        lst = _order(vil[(vil["district"] == d) & (vil["commune"] == c)], "village")
        for i, r in enumerate(lst.to_dict("records"), start=1):
            s = sel.get((d, c, r["village"]))
            row = {} if two_tier else {"Huyện, thị xã, thành phố": d}
            row.update({
                "Xã, phường, thị trấn": c,
                "Số thứ tự trong danh sách": i,
                "Tên thôn, bản, tổ dân phố": r["village"],
                "Có trụ sở chính quyền cấp xã": "x" if bool(r.get("has_commune_hq", False)) else "",
                "Số hộ gia đình": r.get("households", pd.NA),
                "Được chọn": "x" if s is not None else "",
                "Lý do chọn": _reason_vi(s["reason"]) if s is not None else "",
                "Xác suất chọn": s.get("pi_village", pd.NA) if s is not None else pd.NA,
            })
            rows.append(row)
    out = pd.DataFrame(rows)
    out.insert(0, "STT", range(1, len(out) + 1))
    return out


#: Personal columns looked for (in the household frame or the restricted contacts file) for Phụ lục 03.
CONTACT_COLUMNS = {"head_name": "Họ và tên chủ hộ", "address": "Địa chỉ", "phone": "Số điện thoại"}


def annex_03(households: pd.DataFrame, *, contacts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Phụ lục 03 (restricted): the official and reserve household lists with names and phones.

    ``households`` is the official list followed by the reserve (a ``list`` column
    ``official`` / ``reserve``); ``contacts`` (``household_id`` + ``head_name``,
    ``address``, ``phone``) is merged when given.  Write it only under the restricted folder.
    """
    hh = households.copy()
    if contacts is not None:
        extra = [c for c in contacts.columns if c != "household_id" and c not in hh.columns]
        hh = hh.merge(contacts[["household_id"] + extra], on="household_id", how="left")
    two_tier = "district" in hh and bool((hh["district"].fillna("") == "").all())
    out = pd.DataFrame({"STT": range(1, len(hh) + 1)})
    if not two_tier:
        out["Huyện, thị xã, thành phố"] = hh["district"].to_numpy()
    out["Xã, phường, thị trấn"] = hh["commune"].to_numpy()
    out["Thôn, bản, tổ dân phố được chọn"] = hh["sample_village"].to_numpy()
    out["Thôn, bản, tổ dân phố của hộ"] = hh["village"].to_numpy()
    out["Phố, đội, xóm, điểm bản"] = hh["hamlet"].to_numpy()
    out["Mã hộ"] = hh["household_id"].astype(str).to_numpy()
    for c, label in CONTACT_COLUMNS.items():
        out[label] = hh[c].to_numpy() if c in hh else ""
    out["Danh sách"] = np.where(hh.get("list", pd.Series("official", index=hh.index)) == "reserve",
                                "Dự phòng", "Chính thức")
    out["Thứ tự dự phòng"] = hh["reserve_rank"].to_numpy() if "reserve_rank" in hh else pd.NA
    out["Ghi chú"] = [_reason_vi(r) for r in hh["role"]]
    return out


def annex_04(allocation: pd.DataFrame) -> pd.DataFrame:
    """Phụ lục 04: forms per unit with a total row ("Tổng cộng").

    ``allocation`` is :func:`allocate_forms` output with ``commune`` (and ``district``,
    ``villages`` when known).
    """
    al = allocation.reset_index(drop=True)
    two_tier = "district" not in al or bool((al["district"].fillna("") == "").all())
    out = pd.DataFrame({"STT": [str(i) for i in range(1, len(al) + 1)]})
    if not two_tier:
        out["Huyện, thị xã, thành phố"] = al["district"].to_numpy()
    out["Đơn vị"] = al["commune"].to_numpy()
    if "villages" in al:
        out["Số thôn, bản, tổ dân phố được chọn"] = al["villages"].astype(int).to_numpy()
    out["Số phiếu phân bổ"] = al["forms"].astype(int).to_numpy()
    total = {c: "" for c in out.columns}
    total[out.columns[1]] = "Tổng cộng"
    if "Số thôn, bản, tổ dân phố được chọn" in out:
        total["Số thôn, bản, tổ dân phố được chọn"] = int(out["Số thôn, bản, tổ dân phố được chọn"].sum())
    total["Số phiếu phân bổ"] = int(out["Số phiếu phân bổ"].sum())
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def _xlsx_value(v: Any) -> Any:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def annex_xlsx_bytes(table: pd.DataFrame, *, number: str, title: str | None = None,
                     subtitle: str = "") -> bytes:
    """The XLSX bytes of one annex, ready to print (A4 landscape, fit to width, header row repeated).

    Row 1: "PHỤ LỤC <number>", row 2: the title, row 3: ``subtitle``, row
    :data:`ANNEX_HEADER_ROW`: the Vietnamese column headers, then the data.  Fixed
    document properties and zip timestamps make the bytes deterministic.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = f"Phu luc {number}"
    ncol = max(len(table.columns), 1)
    ws.cell(row=1, column=1, value=f"PHỤ LỤC {number}").font = Font(bold=True)
    ws.cell(row=2, column=1, value=title or ANNEX_TITLES.get(number, "")).font = Font(bold=True)
    if subtitle:
        ws.cell(row=3, column=1, value=subtitle).font = Font(italic=True)
    for r in (1, 2):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncol)
        ws.cell(row=r, column=1).alignment = Alignment(horizontal="center", wrap_text=True)
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for j, col in enumerate(table.columns, start=1):
        cell = ws.cell(row=ANNEX_HEADER_ROW, column=j, value=str(col))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = border
        width = max([len(str(col))] + [len(str(v)) for v in table[col].head(200)])
        ws.column_dimensions[get_column_letter(j)].width = min(max(6, width + 2), 45)
    for i, rec in enumerate(table.itertuples(index=False), start=ANNEX_HEADER_ROW + 1):
        for j, v in enumerate(rec, start=1):
            ws.cell(row=i, column=j, value=_xlsx_value(v)).border = border
    ws.print_title_rows = f"{ANNEX_HEADER_ROW}:{ANNEX_HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.freeze_panes = ws.cell(row=ANNEX_HEADER_ROW + 1, column=1)
    return sio.xlsx_bytes(wb)


def read_annex_xlsx(path: str | Path) -> pd.DataFrame:
    """Read the table of an annex written by :func:`write_annex` (headers at :data:`ANNEX_HEADER_ROW`)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(min_row=ANNEX_HEADER_ROW, values_only=True))
    wb.close()
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows[1:], columns=list(rows[0]))


def write_annex(table: pd.DataFrame, *, number: str, xlsx_path: str | Path, csv_path: str | Path,
                title: str | None = None, subtitle: str = "") -> tuple[Path, Path]:
    """Write one annex as XLSX (printable) and CSV (same table, same Vietnamese headers), atomically.

    The CSV is the exact record (floats to 17 significant digits, :data:`sipas.io.FLOAT_FORMAT`);
    openpyxl stores floats in the XLSX with 16 significant digits (``"%.16g"``), which is the
    only difference a round trip can show.
    """


    x = sio.atomic_write_bytes(xlsx_path, annex_xlsx_bytes(table, number=number, title=title, subtitle=subtitle))
    c = sio.write_csv(table, csv_path)
    return x, c


# --------------------------------------------------------------------------- the whole draw for a survey

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
    :mod:`sipas.frames`) and the options in ``config.extra["sampling"]``:

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
    ``phu_luc_03_households.xlsx/.csv``.

    Raises
    ------
    ConfigError
        Bad sampling options, or ``restricted_dir`` inside ``out_dir``, ``data/processed`` or ``reports``.
    InputError
        A frame is missing, unreadable or malformed (file, row, column named).
    """
    from sipas import frames as fr


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
        sel_c = select_communes_design(communes, design=com_design, seed=seed)
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

    sub = f"{config.province.get('vi', '')} - năm {config.year} - hạt giống ngẫu nhiên (seed) {seed}"
    files: list[Path] = []
    vil_all_sel_c = villages[[k in keys for k in zip(villages["district"], villages["commune"])]]
    files += write_annex(annex_01(communes, sc), number="01", subtitle=sub,
                         xlsx_path=out_dir / "phu_luc_01_communes.xlsx", csv_path=out_dir / "phu_luc_01_communes.csv")
    files += write_annex(annex_02(vil_all_sel_c, sv, communes_order=sc), number="02", subtitle=sub,
                         xlsx_path=out_dir / "phu_luc_02_villages.xlsx", csv_path=out_dir / "phu_luc_02_villages.csv")
    files += write_annex(annex_04(allocation), number="04", subtitle=sub,
                         xlsx_path=out_dir / "phu_luc_04_allocation.xlsx",
                         csv_path=out_dir / "phu_luc_04_allocation.csv")
    public = all_hh[[c for c in PUBLIC_HOUSEHOLD_COLUMNS if c in all_hh.columns]]
    files.append(sio.write_csv(public, out_dir / "sample_households.csv"))
    restricted = write_annex(annex_03(all_hh, contacts=contacts), number="03", subtitle=sub,
                             xlsx_path=restricted_dir / "phu_luc_03_households.xlsx",
                             csv_path=restricted_dir / "phu_luc_03_households.csv")
    return SampleResult(communes=sc, villages=sv, households=public.reset_index(drop=True), allocation=allocation,
                        files=tuple(files), restricted_files=tuple(restricted))
