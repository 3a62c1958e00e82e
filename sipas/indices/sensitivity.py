"""How much the (unconfirmed) index rule matters: the overall index under each rule, side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd


def rule_sensitivity(table: pd.DataFrame, *, used: str, unit: str, total: str = "province") -> pd.DataFrame:
    """The whole area's overall index under each rule and what changes for the report units.

    For each rule ``r`` with province index ``I_r`` and unit indices ``I_{r,u}``::

        diff_r          = I_r - I_used                         (index points as a proportion)
        max_unit_diff_r = max_u |I_{r,u} - I_{used,u}|
        rank_changes_r  = #{u : rank_r(u) != rank_used(u)}     (ranks by estimate, 1 = highest)

    over the units with an estimate under both rules (published tables: small cells are blank and
    left out).  The CIs are those of each rule's own estimate; the rules share one sample, so the
    differences are not independent of one another.

    Parameters
    ----------
    table : DataFrame
        ``index_sensitivity`` rows (``rule``, ``domain_type``, ``domain``, ``level``, ``id``,
        ``estimate``, ``se``, ``ci_low``, ``ci_high``).
    used : str
        Id of the rule the survey used.
    unit : str
        The report unit's ``domain_type`` (``district``, ``commune``; ``province`` in a national survey).
    total : str
        The whole area's ``domain_type`` (:attr:`sipas.kinds.SurveyKind.total_domain`: ``province``, or
        ``country`` in a national survey).

    Returns
    -------
    DataFrame
        One row per rule, the used rule first: ``rule``, ``used``, ``estimate``, ``se``, ``ci_low``,
        ``ci_high``, ``diff``, ``max_unit_diff``, ``max_unit``, ``rank_changes``, ``units``.
    """
    o = table[table["level"] == "overall"]
    prov = o[o["domain_type"] == total].set_index("rule")
    units = o[o["domain_type"] == unit].pivot(index="domain", columns="rule", values="estimate")
    rules = [used] + [r for r in dict.fromkeys(o["rule"]) if r != used]
    rows = []
    for r in rules:
        p = prov.loc[r]
        row = {"rule": r, "used": r == used, "estimate": p["estimate"], "se": p["se"], "ci_low": p["ci_low"],
               "ci_high": p["ci_high"], "diff": p["estimate"] - prov.loc[used, "estimate"],
               "max_unit_diff": np.nan, "max_unit": "", "rank_changes": 0, "units": 0}
        if r in units.columns and used in units.columns:
            both = pd.DataFrame({used: units[used], r: units[r]}).dropna() if r != used else \
                units[[used]].dropna()
            if len(both) and r == used:
                row.update(max_unit_diff=0.0, units=len(both))
            elif len(both):
                d = (both[r] - both[used]).abs()
                row["max_unit_diff"] = float(d.max())
                row["max_unit"] = str(d.idxmax())
                rank_u = both[used].rank(ascending=False, method="min")
                rank_r = both[r].rank(ascending=False, method="min")
                row["rank_changes"] = int((rank_u != rank_r).sum())
                row["units"] = len(both)
        rows.append(row)
    return pd.DataFrame(rows)
