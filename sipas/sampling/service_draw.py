"""The sample of a service-user survey-year (``sipas sample`` of ``kind: service_user``).

Reads the unit frame and the transaction records of survey.yml, counts the transactions returned inside
``sampling.window`` per unit, allocates forms per unit (``sampling.allocation``: ``fixed`` with named
overrides, ``proportional``, ``minimum_plus_proportional`` or ``neyman``; sizes = transactions in the window)
and writes the allocation annex (seed 002's appendix).  In list mode (``sampling.mode: list``, seed 001) it
also draws the official and reserve lists with :func:`sipas.sampling.transactions.select_transactions`
(``sampling.reserve_ratio``, default 1) and writes them without personal data (the applicant id is left
out); the printable list with names ("Danh sách người cung cấp thông tin") goes only to ``restricted/``.
In exit mode (seed 002) there is no sample list: the desks hand out their allocated forms, and ``sipas sample``
writes the same list blank, one printable sheet per unit with a numbered row per allocated form
(:func:`sipas.sampling.annexes.exit_list_xlsx_bytes`), beside the allocation annex.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sipas import io as sio
from sipas.errors import ConfigError

#: Modes of a service-user survey.
MODES = ("exit", "list")


@dataclass(frozen=True)
class ServiceSampleResult:
    """What :func:`draw_service_sample` allocated, drew and wrote."""

    allocation: pd.DataFrame
    selection: pd.DataFrame
    shortfall: pd.DataFrame
    files: tuple[Path, ...] = field(default_factory=tuple)
    restricted_files: tuple[Path, ...] = field(default_factory=tuple)

    def summary_line(self, survey_id: str) -> str:
        """One line for the command line."""
        n_off = int((self.selection["list"] == "official").sum()) if len(self.selection) else 0
        n_res = len(self.selection) - n_off
        text = f"{survey_id}: {len(self.allocation)} units, {int(self.allocation['forms'].sum())} forms allocated"
        if len(self.selection):
            text += f"; lists: {n_off} official + {n_res} reserve"
        if len(self.shortfall):
            text += f"; {len(self.shortfall)} unit(s) short of eligible applicants (see shortfall.csv)"
        return text


def _allocation_options(cfg: Any) -> dict[str, Any]:
    a = (cfg.extra.get("sampling") or {}).get("allocation")
    if not isinstance(a, dict) or "method" not in a:
        raise ConfigError("must be a mapping with 'method' (fixed, proportional, minimum_plus_proportional, "
                          "neyman) and its numbers", file=cfg.path, key="sampling.allocation")
    return dict(a)


def _previous_unit_index(cfg: Any, frame: pd.DataFrame, *, processed: Path) -> pd.Series:
    """Last year's overall index of each unit (``previous_survey``'s ``indices.csv``), for a Neyman
    allocation with ``S_h = sqrt(p_h (1 - p_h))``; a unit new this year takes the mean of the others."""
    prev = cfg.extra.get("previous_survey")
    path = processed / str(prev) / "indices.csv" if prev else None
    if path is None or not path.is_file():
        raise ConfigError("a Neyman allocation needs last year's unit SDs: give 'sd' or 'proportion' (a column of "
                          "the unit frame) or a processed previous_survey", file=cfg.path, key="sampling.allocation")
    idx = sio.read_csv(path)
    o = idx[(idx["level"] == "overall") & (idx["domain_type"] == "unit")].set_index("domain")["estimate"]
    p = frame["unit"].map(o)
    return p.fillna(float(o.mean()))


def draw_service_sample(cfg: Any, *, restricted_dir: Path, out_dir: Path) -> ServiceSampleResult:
    """Allocate forms per unit and, in list mode, draw the official and reserve lists.

    ``sampling.allocation`` passes its keys to :func:`sipas.sampling.allocate_forms` with sizes = the units'
    transactions in the window; ``method: neyman`` without ``sd``/``proportion`` takes
    ``S_h = sqrt(p_h (1 - p_h))`` from last year's unit indices (``previous_survey``).

    Writes ``allocation.csv`` and ``phu_luc_phan_bo_phieu.xlsx`` (seed 002's table) to ``out_dir``; in exit
    mode also the desks' blank list (:data:`~sipas.sampling.annexes.EXIT_LIST_FILE`, no personal data); in
    list mode also ``sample_transactions.csv`` (unit, transaction_id, list, position, procedure field,
    date, ``pi``; no applicant id or name) and ``shortfall.csv``, and the printable list with names to
    ``restricted_dir``.

    Raises
    ------
    ConfigError
        ``sampling.mode``, ``sampling.window`` or ``sampling.allocation`` missing or wrong.
    InputError
        Naming file, row and column of a bad unit frame or transaction file.
    """
    from sipas.config import sampling_window
    from sipas.sampling.allocation import allocate_forms
    from sipas.sampling.annexes import (EXIT_LIST_FILE, exit_list_xlsx_bytes, informant_list,
                                        service_allocation_annex, service_annex_xlsx_bytes,
                                        write_service_allocation_annex)
    from sipas.sampling.transactions import (read_transactions, read_unit_frame, select_transactions,
                                             split_personal_columns, transaction_shortfall)

    samp = cfg.extra.get("sampling") or {}
    mode = samp.get("mode", "exit")
    if mode not in MODES:
        raise ConfigError(f"must be one of {', '.join(MODES)}, got {mode!r}", file=cfg.path, key="sampling.mode")
    window = sampling_window(cfg)
    units = read_unit_frame(cfg.frames["units"])
    tx = read_transactions(cfg.frames["transactions"], units=units)
    public, restricted = split_personal_columns(tx)
    first, last = pd.Timestamp(window[0]), pd.Timestamp(window[1])
    inside = public[(public["returned_on"] >= first) & (public["returned_on"] <= last)]
    counts = inside.groupby("unit").size()
    frame = units.assign(transactions=units["unit_id"].map(counts).fillna(0).astype(int))
    opts = _allocation_options(cfg)
    method = opts.pop("method")
    if "overrides" in opts:   # overrides name units; the unit frame's names
        opts["overrides"] = {str(k): int(v) for k, v in opts["overrides"].items()}
    if method == "neyman" and "sd" not in opts and "proportion" not in opts:
        frame = frame.assign(proportion=_previous_unit_index(cfg, frame, processed=Path(out_dir).parent.parent))
        opts["proportion"] = "proportion"
    alloc = allocate_forms(frame, method=method, unit="unit", size="transactions", **opts)
    files: list[Path] = []
    out_dir = Path(out_dir)
    files.append(sio.write_csv(alloc[["unit_id", "unit", "level", "transactions", "forms"]], out_dir / "allocation.csv"))
    lang = cfg.language   # the annexes are written in the survey's language
    annex = service_allocation_annex(alloc.assign(note=""), unit="unit", note="note", lang=lang)
    files += write_service_allocation_annex(annex, xlsx_path=out_dir / "phu_luc_phan_bo_phieu.xlsx", year=cfg.year,
                                            lang=lang)
    if mode == "exit":   # the desks' blank list of seed 002, one sheet per unit, a row per allocated form
        files.append(sio.atomic_write_bytes(out_dir / EXIT_LIST_FILE,
                                            exit_list_xlsx_bytes(alloc, year=cfg.year, lang=lang)))
    selection = pd.DataFrame(columns=["unit", "transaction_id", "list", "position"])
    shortfall = pd.DataFrame()
    rfiles: list[Path] = []
    if mode == "list":
        a = alloc[["unit_id", "forms"]].rename(columns={"unit_id": "unit"})
        ratio = float(samp.get("reserve_ratio", 1.0))
        selection = select_transactions(public, allocation=a, window=window, reserve_ratio=ratio, seed=cfg.seed)
        shortfall = transaction_shortfall(public, allocation=a, window=window, reserve_ratio=ratio)
        names = dict(zip(units["unit_id"], units["unit"]))
        pub = selection.assign(unit_id=selection["unit"], unit=selection["unit"].map(names))
        pub = pub.assign(returned_on=pd.to_datetime(pub["returned_on"]).dt.strftime("%Y-%m-%d"))
        files.append(sio.write_csv(pub[["unit_id", "unit", "transaction_id", "list", "position", "procedure_field",
                                        "returned_on", "applicant_type", "eligible", "pi"]],
                                   out_dir / "sample_transactions.csv"))
        files.append(sio.write_csv(shortfall, out_dir / "shortfall.csv"))
        listing = informant_list(selection, restricted if len(restricted.columns) > 1 else None, units=units,
                                 lang=lang)
        rfiles.append(sio.atomic_write_bytes(Path(restricted_dir) / "danh_sach_nguoi_cung_cap_thong_tin.xlsx",
                                             service_annex_xlsx_bytes(listing, kind="informants", year=cfg.year,
                                                                      lang=lang)))
    return ServiceSampleResult(allocation=alloc, selection=selection, shortfall=shortfall, files=tuple(files),
                               restricted_files=tuple(rfiles))
