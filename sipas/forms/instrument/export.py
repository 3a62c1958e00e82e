"""Exports of an instrument: an XLSForm (KoBoToolbox / ODK Collect) and an Excel entry template for paper forms.

Both are written atomically and deterministically (fixed timestamps inside the .xlsx zip), and every
user-facing text comes from the instrument file or ``data/ui/template.yml``, never from code.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from sipas import io as sio
from sipas.forms.instrument import DATA_DIR, Instrument
from sipas.io import atomic_write_bytes

#: Rows of the entry template that carry validation lists (one per form).
TEMPLATE_ROWS = 5000


@lru_cache(maxsize=1)
def ui_text() -> dict[str, Any]:
    """User-facing texts of the exports (``data/ui/template.yml``)."""
    return yaml.safe_load((DATA_DIR / "ui" / "template.yml").read_text(encoding="utf-8"))


def _t(label: dict[str, str] | None, lang: str) -> str:
    if not label:
        return ""
    return label.get(lang) or label["vi"]


def _deterministic_xlsx(wb: Any) -> bytes:
    """Save an openpyxl workbook so the same content gives the same bytes (:func:`sipas.io.xlsx_bytes`)."""
    return sio.xlsx_bytes(wb)


def _record(inst: Instrument, *, absent: tuple[str, ...] = (),
            labels: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
    """The instrument's record columns without the ``absent`` unit levels, labels overridden by ``labels``."""
    from dataclasses import replace

    from sipas.forms.ingest import record_spec

    spec = record_spec(inst)
    if absent:
        spec = replace(spec, context=tuple(c for c in spec.context if c.id not in set(absent)))
    rec = inst.raw.get("record") or {}
    out = dict(rec.get("labels") or {})
    for c in rec.get("context") or []:
        if "label" in c:
            out[c["id"]] = c["label"]
    out.update({k: dict(v) for k, v in (labels or {}).items()})
    return {"spec": spec, "labels": out}


def _relevant(cond: dict[str, Any]) -> str:
    ref = "${" + cond["item"] + "}"
    if "equals" in cond:
        return f"{ref} = '{int(cond['equals'])}'"
    if "not_equals" in cond:
        return f"{ref} != '{int(cond['not_equals'])}'"
    return "(" + " or ".join(f"{ref} = '{int(v)}'" for v in cond["in"]) + ")"


def xlsform_rows(inst: Instrument, *, absent: tuple[str, ...] = (),
                 labels: Mapping[str, Mapping[str, str]] | None = None,
                 ) -> tuple[list[dict[str, str]], list[dict[str, str]], dict[str, str]]:
    """The survey, choices and settings rows of ``inst``'s XLSForm (column name -> cell text), without the
    unit levels the survey does not have (``absent``, :attr:`sipas.config.Hierarchy.absent_levels`) and with
    the survey kind's unit ``labels`` (:meth:`sipas.kinds.SurveyKind.unit_labels`)."""
    ui = ui_text()["xlsform"]
    langs = ui["languages"]
    rec = _record(inst, absent=absent, labels=labels)
    spec, labels = rec["spec"], rec["labels"]

    def lab(d: dict[str, str] | None, fallback: str) -> dict[str, str]:
        d = d or {"vi": fallback, "en": fallback}
        return {f"label::{langs[lg]}": _t(d, lg) for lg in langs}

    survey: list[dict[str, str]] = []
    survey.append({"type": "note", "name": "intro", **lab(ui["intro"], "")})
    survey.append({"type": "begin_group", "name": "grp_context", **lab(ui["context_group"], "")})
    survey.append({"type": "text", "name": spec.form_id, "required": "yes", **lab(labels.get(spec.form_id),
                                                                                   spec.form_id)})
    for c in spec.respondent_id:
        if c != spec.form_id:
            survey.append({"type": "text", "name": c, "required": "yes", **lab(labels.get(c), c)})
    for c in spec.context:
        if c.id in {p["id"] for p in inst.raw.get("profile", []) or []}:
            continue
        if c.id == "mode":
            survey.append({"type": "calculate", "name": "mode", "calculation": "'electronic'"})
            continue
        typ = {"string": "text", "date": "date", "integer": "integer"}[c.type]
        row = {"type": typ, "name": c.id, **lab(labels.get(c.id), c.id)}
        if c.required:
            row["required"] = "yes"
        if c.type == "date":
            row["default"] = "today()"
        survey.append(row)
    survey.append({"type": "end_group", "name": ""})
    survey.append({"type": "begin_group", "name": "grp_personal", **lab(ui["personal_group"], "")})
    for c in spec.personal:
        if c == "signature":
            continue
        survey.append({"type": "text", "name": c, **lab(labels.get(c), c)})
    survey.append({"type": "end_group", "name": ""})
    choices: list[dict[str, str]] = []
    profile = inst.raw.get("profile", []) or []
    if profile:
        survey.append({"type": "begin_group", "name": "grp_profile", **lab(ui["profile_group"], "")})
        for p in profile:
            if p.get("codes"):
                ln = f"p_{p['id']}"
                survey.append({"type": f"select_one {ln}", "name": p["id"], **lab(p["text"], p["id"])})
                for code, cl in p["codes"].items():
                    choices.append({"list_name": ln, "name": str(int(code)), **lab(cl, str(code))})
            else:
                row = {"type": "integer", "name": p["id"], **lab(p["text"], p["id"])}
                if p.get("min") is not None and p.get("max") is not None:
                    row["constraint"] = f". >= {int(p['min'])} and . <= {int(p['max'])}"
                survey.append(row)
        survey.append({"type": "end_group", "name": ""})
    for name, sc in inst.scales.items():
        for code, cl in sc["codes"].items():
            choices.append({"list_name": name, "name": str(int(code)), **lab(cl, str(code))})
        for code, cl in (sc.get("missing_labels") or {}).items():
            choices.append({"list_name": name, "name": str(int(code)), **lab(cl, str(code))})
    crit_aspect = {str(c["id"]): c["aspect"] for c in inst.raw["criteria"]}
    aspect_label = {a["id"]: a["label"] for a in inst.raw["aspects"]}
    current, used = None, {}
    for it in inst.raw["items"]:
        asp = crit_aspect.get(str(it["criterion"])) if it.get("criterion") is not None else "screening"
        if asp != current:
            if current is not None:
                survey.append({"type": "end_group", "name": ""})
            used[asp] = used.get(asp, 0) + 1
            gname = ui["aspect_group_prefix"] + asp + (f"_{used[asp]}" if used[asp] > 1 else "")
            glab = ui["screening_group"] if asp == "screening" else aspect_label[asp]
            survey.append({"type": "begin_group", "name": gname, **lab(glab, asp)})
            current = asp
        row = {"type": f"select_one {it['scale']}", "name": it["id"], "required": "yes",
               **lab(it["text"], it["id"])}
        if it.get("filter"):
            row["relevant"] = _relevant(inst.raw["filters"][it["filter"]])
        survey.append(row)
    if current is not None:
        survey.append({"type": "end_group", "name": ""})
    settings = {
        "form_title": _t(inst.raw["title"], "vi"),
        "form_id": f"sipas_{inst.id}_{inst.version.replace('.', '_')}",
        "version": inst.version,
        "default_language": langs["vi"],
    }
    return survey, choices, settings


def to_xlsform(inst: Instrument, path: str | Path, *, absent: tuple[str, ...] = (),
               labels: Mapping[str, Mapping[str, str]] | None = None) -> Path:
    """Write ``inst`` as an XLSForm (.xlsx) for KoBoToolbox / ODK Collect.

    Parameters
    ----------
    inst : Instrument
        The questionnaire.
    path : str or Path
        Output .xlsx file (written atomically).
    absent : tuple of str
        Unit levels the survey does not have (``district`` in a two-tier survey): no column for them.
    labels : mapping, optional
        Labels of unit columns replacing the instrument's (the survey kind's, per structure).

    Returns
    -------
    Path
    """
    import openpyxl

    survey, choices, settings = xlsform_rows(inst, absent=absent, labels=labels)
    wb = openpyxl.Workbook()
    for sheet, rows in (("survey", survey), ("choices", choices), ("settings", [settings])):
        ws = wb.active if sheet == "survey" else wb.create_sheet(sheet)
        ws.title = sheet
        cols: list[str] = []
        for r in rows:
            for k in r:
                if k not in cols:
                    cols.append(k)
        ws.append(cols)
        for r in rows:
            ws.append([r.get(c, "") for c in cols])
    return atomic_write_bytes(path, _deterministic_xlsx(wb))


def xlsform_to_xform(path: str | Path) -> str:
    """Convert an XLSForm file with pyxform and return the XForm XML (raises pyxform's errors)."""
    from pyxform.xls2xform import convert

    return convert(xlsform=str(path)).xform


def template_columns(inst: Instrument, *, language: str = "vi", absent: tuple[str, ...] = (),
                     labels: Mapping[str, Mapping[str, str]] | None = None,
                     ) -> list[tuple[str, str, list[int] | None]]:
    """Columns of the entry template: ``(id, header text, allowed codes or None)`` in order (``absent``,
    ``labels`` as :func:`xlsform_rows`)."""
    rec = _record(inst, absent=absent, labels=labels)
    spec, labels = rec["spec"], rec["labels"]
    cols: list[tuple[str, str, list[int] | None]] = []

    def head(cid: str, label: dict[str, str] | None) -> str:
        return f"{_t(label, language) or cid} [{cid}]"

    cols.append((spec.form_id, head(spec.form_id, labels.get(spec.form_id)), None))
    for c in spec.respondent_id:
        if c != spec.form_id:
            cols.append((c, head(c, labels.get(c)), None))
    prof = {p["id"]: p for p in inst.raw.get("profile", []) or []}
    for c in spec.context:
        if c.id not in prof:
            cols.append((c.id, head(c.id, labels.get(c.id)), None))
    for c in spec.personal:
        cols.append((c, head(c, labels.get(c)), None))
    for pid, p in prof.items():
        codes = [int(k) for k in p["codes"]] if p.get("codes") else None
        cols.append((pid, head(pid, p["text"]), codes))
    for it in inst.raw["items"]:
        codes = inst.valid_codes(it["id"]) + inst.missing_codes(it["id"])
        cols.append((it["id"], head(it["id"], it["text"]), codes))
    return cols


def to_entry_template(inst: Instrument, path: str | Path, *, language: str = "vi",
                      rows: int = TEMPLATE_ROWS, absent: tuple[str, ...] = (),
                      labels: Mapping[str, Mapping[str, str]] | None = None) -> Path:
    """Write the Excel data-entry template for paper forms of ``inst``.

    One row per form on the first sheet (headers ``"<label> [<column id>]"`` in ``language``), a
    validation list per coded column, whole-number and date checks, a codebook sheet and an instructions
    sheet.  :func:`sipas.forms.ingest.read_responses` reads it back.

    Parameters
    ----------
    inst : Instrument
    path : str or Path
        Output .xlsx (written atomically).
    language : {"vi", "en"}
        Language of headers and codebook.
    rows : int
        Number of rows that carry validation.
    absent, labels
        Unit levels the survey does not have and unit labels replacing the instrument's, as
        :func:`to_xlsform`.

    Returns
    -------
    Path
    """
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    ui = ui_text()["template"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = _t(ui["data_sheet"], language)
    cols = template_columns(inst, language=language, absent=absent, labels=labels)
    ws.append([h for _, h, _ in cols])
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    prof = {p["id"]: p for p in inst.raw.get("profile", []) or []}
    rec = _record(inst, absent=absent, labels=labels)
    date_cols = {c.id for c in rec["spec"].context if c.type == "date"}
    for j, (cid, _h, codes) in enumerate(cols, start=1):
        cell = ws.cell(row=1, column=j)
        cell.font = bold
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = 14 if codes else 22
        rng = f"{letter}2:{letter}{rows + 1}"
        if codes:
            dv = DataValidation(type="list", formula1='"' + ",".join(str(c) for c in codes) + '"',
                                allow_blank=True, showErrorMessage=True,
                                errorTitle=_t(ui["validation_error_title"], language),
                                error=_t(ui["validation_error"], language).format(codes=", ".join(map(str, codes))))
            dv.add(rng)
            ws.add_data_validation(dv)
        elif cid in prof and prof[cid].get("type") == "integer":
            lo, hi = prof[cid].get("min", 0), prof[cid].get("max", 150)
            dv = DataValidation(type="whole", operator="between", formula1=str(lo), formula2=str(hi),
                                allow_blank=True, showErrorMessage=True,
                                error=_t(ui["age_error"], language).format(min=lo, max=hi))
            dv.add(rng)
            ws.add_data_validation(dv)
        elif cid in date_cols:
            dv = DataValidation(type="date", operator="greaterThan", formula1="36526", allow_blank=True,
                                showErrorMessage=True, error=_t(ui["date_error"], language))
            dv.add(rng)
            ws.add_data_validation(dv)
            ws.column_dimensions[letter].number_format = "dd/mm/yyyy"
        else:
            ws.column_dimensions[letter].number_format = "@"
    ws.row_dimensions[1].height = 90
    ws.freeze_panes = "B2"

    cb = wb.create_sheet(_t(ui["codebook_sheet"], language))
    cb.append(list(ui["codebook_headers"][language]))
    for c in range(1, len(ui["codebook_headers"][language]) + 1):
        cb.cell(row=1, column=c).font = bold
    crit = {str(c["id"]): c for c in inst.raw["criteria"]}
    aspects = {a["id"]: a for a in inst.raw["aspects"]}
    yes, no = _t(ui["yes_text"], language), _t(ui["no_text"], language)
    file_conf = bool(inst.raw.get("confirmed", False))
    for cid, _h, codes in cols:
        it = next((x for x in inst.raw["items"] if x["id"] == cid), None)
        if it is None:
            if cid in prof and prof[cid].get("codes"):
                for code, lab in prof[cid]["codes"].items():
                    cb.append([cid, _t(prof[cid]["text"], language), "", "", "", no, int(code), _t(lab, language),
                               ""])
            continue
        c = crit.get(str(it.get("criterion"))) if it.get("criterion") is not None else None
        asp = aspects.get(c["aspect"]) if c else None
        cond = inst.filter_of(cid)
        cond_txt = "" if cond is None else _relevant(cond).replace("${", "").replace("}", "")
        conf = it.get("confirmed", file_conf)
        for code, lab in inst.labels(cid, language=language).items():
            cb.append([cid, inst.text(cid, language=language), "" if c is None else str(c["id"]),
                       "" if asp is None else _t(asp["label"], language), cond_txt,
                       yes if it.get("index") else no, code, lab, yes if conf else no])
    cb.freeze_panes = "A2"
    for letter, w in zip("ABCDEFGHI", (12, 60, 9, 30, 24, 9, 6, 28, 12)):
        cb.column_dimensions[letter].width = w

    rd = wb.create_sheet(_t(ui["readme_sheet"], language))
    rd.append([_t(inst.raw["title"], language)])
    rd.cell(row=1, column=1).font = bold
    rd.append([f"{inst.id} {inst.version} — {inst.raw.get('source', '')}"])
    for line in ui["instructions"][language]:
        rd.append([line])
    rd.column_dimensions["A"].width = 120
    return atomic_write_bytes(path, _deterministic_xlsx(wb))
