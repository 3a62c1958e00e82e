"""Sample selection by the rules of the SIPAS survey plans (seed 000 §II.1.c).

Frames are ordered "theo vần abc" with ICU's Vietnamese collation (:func:`vi_sort_key`);
communes and villages are chosen by the plan's positional rules; households are
drawn by seeded systematic sampling covering every hamlet.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np
import pandas as pd

from sipas.errors import InputError

#: Unit-type prefixes left out of the sort key (longest first so "Thị trấn" wins over "Thị").
UNIT_PREFIXES = (
    "thành phố", "thị xã", "thị trấn", "tổ dân phố", "quận", "huyện", "phường", "xã", "thôn", "bản",
    "tổ", "khu phố", "khu", "ấp", "làng", "xóm", "buôn", "plei", "sóc", "đội", "khối", "tiểu khu",
)
_PREFIX_RE = re.compile(
    r"^(?:" + "|".join(re.escape(p) for p in sorted(UNIT_PREFIXES, key=len, reverse=True)) + r")\s+",
    re.IGNORECASE,
)
_NUM_RE = re.compile(r"^(?:số\s*)?(\d+)\b", re.IGNORECASE)


def nfc(text: str) -> str:
    """Unicode NFC form of ``text`` (Vietnamese input often arrives decomposed, NFD)."""
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

    The unit-type prefix is left out, the name is NFC-normalised and compared with
    ICU's collation for locale ``vi`` (A < Ă < Â < B ... D < Đ ... O < Ô < Ơ ... U < Ư,
    tones after base letters).  Numbered units sort by number ("Tổ dân phố số 2"
    before "số 10") and before named units.
    """
    core = strip_unit_prefix(name)
    m = _NUM_RE.match(core)
    if m:
        return (0, int(m.group(1)), bytes(_collator().getSortKey(core)))
    return (1, 0, bytes(_collator().getSortKey(core)))


def vi_sorted(names) -> list[str]:
    """Names in Vietnamese alphabetical order (see :func:`vi_sort_key`)."""
    return sorted((nfc(n) for n in names), key=vi_sort_key)


def _require(df: pd.DataFrame, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{what} frame lacks column(s) {', '.join(missing)}; has {', '.join(map(str, df.columns))}",
                         column=missing[0])


def _as_bool(s: pd.Series) -> pd.Series:
    return s.map(lambda v: str(v).strip().lower() in ("1", "true", "yes", "có", "x")).astype(bool)


def _order(df: pd.DataFrame, col: str) -> pd.DataFrame:
    out = df.copy()
    out[col] = out[col].map(nfc)
    keys = out[col].map(vi_sort_key)
    return out.iloc[sorted(range(len(out)), key=lambda i: keys.iloc[i])].reset_index(drop=True)


def select_communes(communes: pd.DataFrame, *, also_last: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
    """Choose the communes of each district by seed 000's rule.

    Per district: the administrative centre (``is_admin_centre``) is taken by default.
    The communes are split into lists by legal class (``commune_class`` I, II, III) and
    each list ordered alphabetically.  If the district has units of 3 classes, the two
    lists not holding the centre are used; otherwise every class list, with the centre
    left out.  From each list used the 2nd unit is taken (a list of one unit gives that
    unit); for districts in ``also_last`` the last unit of each list too.

    Parameters
    ----------
    communes : DataFrame
        Columns ``district``, ``commune``, ``commune_class``, ``is_admin_centre``.
    also_last : sequence of str
        Districts that also take the last unit of each list (seed 000: two districts).

    Returns
    -------
    DataFrame
        ``district``, ``commune``, ``commune_class``, ``reason`` in selection order.
    """
    _require(communes, ["district", "commune", "commune_class", "is_admin_centre"], "commune")
    df = communes.copy()
    df["district"] = df["district"].map(nfc)
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


def select_villages(villages: pd.DataFrame) -> pd.DataFrame:
    """Choose 3 villages per commune by seed 000's rule.

    The village holding the commune office (``has_commune_hq``) is taken by default,
    plus the 2nd and the last of the alphabetical (or numbered) list.  If the office
    village is itself the 2nd, the 3rd is taken; if it is the last, the one before it.

    Returns
    -------
    DataFrame
        ``district``, ``commune``, ``village``, ``reason``.
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
        for pos, reason in chosen:
            rows.append({"district": district, "commune": commune, "village": lst["village"].iloc[pos],
                         "reason": reason})
    return pd.DataFrame(rows, columns=["district", "commune", "village", "reason"])


def systematic_indices(n: int, k: int, *, rng: np.random.Generator) -> np.ndarray:
    """Positions of a systematic sample of ``k`` from ``n`` with a random start.

    Interval ``n / k`` (fractional), start ``u ~ U[0, n/k)``; unit ``floor(u + j n/k)``.
    """
    if k >= n:
        return np.arange(n)
    step = n / k
    start = rng.uniform(0, step)
    return np.floor(start + step * np.arange(k)).astype(int)


def allocate_largest_remainder(sizes: pd.Series, total: int, *, minimum: int = 0) -> pd.Series:
    """Allocate ``total`` proportionally to ``sizes`` keeping the sum (largest remainder).

    Each unit first gets ``minimum``; the rest is shared in proportion to size,
    remainders broken by size then position (deterministic).
    """
    sizes = sizes.astype(float)
    base = pd.Series(minimum, index=sizes.index, dtype=int)
    rest = total - int(base.sum())
    if rest < 0:
        raise ValueError(f"minimum {minimum} x {len(sizes)} units exceeds total {total}")
    quota = sizes / sizes.sum() * rest
    floor = np.floor(quota).astype(int)
    left = rest - int(floor.sum())
    rema = (quota - floor)
    order = sorted(range(len(sizes)), key=lambda i: (-rema.iloc[i], -sizes.iloc[i], i))
    bump = pd.Series(0, index=sizes.index, dtype=int)
    for i in order[:left]:
        bump.iloc[i] = 1
    return base + floor + bump


def select_households(households: pd.DataFrame, villages: pd.DataFrame, *, per_village: int = 30,
                      seed: int, neighbours: pd.DataFrame | None = None) -> pd.DataFrame:
    """Draw ``per_village`` households in each selected village, every hamlet represented.

    The village's quota is split across hamlets in proportion to their size, at least
    one each (largest remainder), and each hamlet drawn by systematic sampling with a
    seeded random start over households in frame order.  A village with fewer
    households than the quota takes all and is topped up from the next village in
    ``neighbours`` order (columns ``district``, ``commune``, ``village``, ``neighbour_order``).

    Returns
    -------
    DataFrame
        The selected households' frame rows plus ``sample_village`` (the selected
        village they stand for), ``hh_sampling_prob`` (within-village probability) and ``role``.
    """
    _require(households, ["district", "commune", "village", "hamlet", "household_id"], "household")
    rng = np.random.default_rng(seed)
    hh = households.copy()
    for c in ("district", "commune", "village", "hamlet"):
        hh[c] = hh[c].map(nfc)
    out = []
    for _, v in villages.iterrows():
        key = (nfc(v["district"]), nfc(v["commune"]), nfc(v["village"]))
        pool = hh[(hh["district"] == key[0]) & (hh["commune"] == key[1]) & (hh["village"] == key[2])]
        if len(pool) < per_village:
            take = pool.assign(hh_sampling_prob=1.0, role="all_households")
            if neighbours is not None:
                nb = neighbours[(neighbours["district"].map(nfc) == key[0]) & (neighbours["commune"].map(nfc) == key[1])]
                nb = nb.sort_values("neighbour_order")
                names = list(nb["village"].map(nfc))
                if key[2] in names:
                    i = names.index(key[2])
                    for other in names[i + 1:] + names[:i]:
                        need = per_village - len(take)
                        if need <= 0:
                            break
                        op = hh[(hh["district"] == key[0]) & (hh["commune"] == key[1]) & (hh["village"] == other)]
                        idx = systematic_indices(len(op), min(need, len(op)), rng=rng)
                        add = op.iloc[idx].assign(hh_sampling_prob=min(need, len(op)) / max(len(op), 1),
                                                  role="top_up_from_neighbour")
                        take = pd.concat([take, add])
            out.append(take.assign(sample_village=key[2]))
            continue
        sizes = pool.groupby("hamlet", sort=False).size()
        alloc = allocate_largest_remainder(sizes, per_village, minimum=1 if len(sizes) <= per_village else 0)
        parts = []
        for hamlet, k in alloc.items():
            hp = pool[pool["hamlet"] == hamlet]
            idx = systematic_indices(len(hp), int(k), rng=rng)
            parts.append(hp.iloc[idx].assign(hh_sampling_prob=int(k) / len(hp), role="selected"))
        out.append(pd.concat(parts).assign(sample_village=key[2]))
    return pd.concat(out, ignore_index=True)


def inclusion_probabilities(communes: pd.DataFrame, villages: pd.DataFrame, selected_communes: pd.DataFrame,
                            selected_villages: pd.DataFrame, selected_households: pd.DataFrame) -> pd.DataFrame:
    """Inclusion probabilities for a sample drawn by seed 000's purposive rules.

    The rules are purposive above the household stage, so probabilities there are
    *assigned*, by the convention documented in the methodology appendix:

    * stage 1 (commune): a certainty unit (the administrative centre) has
      ``pi1 = 1``; a commune chosen from a class list of total size ``M_list``
      households, ``m`` communes chosen from that list, has ``pi1 = m * M_i / M_list``
      (as if drawn with probability proportional to size), capped at 1;
    * stage 2 (village): the office village is a certainty unit (``pi2 = 1``); the
      other chosen villages represent the remaining villages of the commune,
      ``pi2 = m_v * M_v / M_rest``, capped at 1;
    * stage 3 (household): ``pi3`` = the within-village probability of the
      systematic draw (``k / N_hamlet``), from :func:`select_households`.

    The overall probability is ``pi = pi1 * pi2 * pi3``; the design weight is ``1 / pi``.

    Returns
    -------
    DataFrame
        ``household_id`` with ``pi_commune``, ``pi_village``, ``pi_household``, ``pi``,
        ``commune_certainty`` and ``village_certainty``.
    """
    com = communes.copy()
    for c in ("district", "commune"):
        com[c] = com[c].map(nfc)
    com["is_admin_centre"] = _as_bool(com["is_admin_centre"])
    vil = villages.copy()
    for c in ("district", "commune", "village"):
        vil[c] = vil[c].map(nfc)
    vil_hh = vil.groupby(["district", "commune"])["households"].sum()
    com = com.assign(households=[vil_hh.get((d, c), np.nan) for d, c in zip(com["district"], com["commune"])])

    pi1 = {}
    for _, r in selected_communes.iterrows():
        key = (nfc(r["district"]), nfc(r["commune"]))
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

    pi2 = {}
    for (d, c), g in selected_villages.groupby(["district", "commune"], sort=False):
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
