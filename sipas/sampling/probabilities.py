"""Inclusion probabilities of the seed rules at every stage (commune, village, household); see docs/sampling.md."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sipas.sampling.checks import _as_bool, _require
from sipas.text.normalize import nfc


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
