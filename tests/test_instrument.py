"""Tests of instruments: loading, schema, XLSForm and entry-template exports, labelled .sav/.dta, KoBo ingest."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from sipas.config import project_root
from sipas.errors import ConfigError
from sipas.forms.ingest import read_responses, write_dta, write_sav
from sipas.forms.instrument import DATA_DIR, available_instruments, load_instrument, read_instrument_file
from sipas.forms.instrument.export import template_columns, to_entry_template, to_xlsform, xlsform_rows, xlsform_to_xform
from sipas.forms.instrument.schema import instrument_problems

FORMS = Path(__file__).parent / "data" / "ingest" / "forms_small.csv"
INSTRUMENTS = [("household", "2023.1"), ("household", "2024.1"), ("service_user", "2017.1")]


@pytest.mark.parametrize("iid,ver", INSTRUMENTS)
def test_loads_and_validates(iid, ver):
    inst = load_instrument(iid, ver)
    assert instrument_problems(inst.raw) == []
    assert len(inst.items) > 10
    assert set(inst.items["criterion"].dropna()) <= set(inst.criteria["criterion"])
    for it in inst.index_items:
        assert inst.positive_codes(it)
        assert set(inst.positive_codes(it)) <= set(inst.valid_codes(it))
    assert inst.raw.get("source")


def test_service_user_has_five_criteria_and_overall():
    inst = load_instrument("service_user", "2017.1")
    crit = inst.criteria[inst.criteria.aspect == "service"]
    assert list(crit["criterion"]) == ["1", "2", "3", "4", "5"]
    assert any(it.get("overall") for it in inst.raw["items"])
    assert inst.filter_of("a5_3") == {"item": "q_gave_feedback", "equals": 1}


def test_household_ids_unchanged_for_other_modules():
    inst = load_instrument("household", "2023.1")
    assert {"q_used_admin", "p1_1a", "s2_8c", "n3_1d"} <= set(inst.item_ids)
    assert set(inst.scales) >= {"sat5", "agree5", "yesno_good_no", "yesno"}
    assert set(inst.raw["filters"]) == {"used_admin", "used_health", "has_pupil"}


def test_available():
    assert set(INSTRUMENTS) <= set(available_instruments())


def _broken(tmp_path, mutate):
    raw = yaml.safe_load((DATA_DIR / "household-2023.1.yml").read_text(encoding="utf-8"))
    mutate(raw)
    p = tmp_path / "household-9.9.yml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


@pytest.mark.parametrize("mutate,key,msg", [
    (lambda r: r["items"][5].update(scale="nope"), "items[p1_2a].scale", "unknown scale 'nope'"),
    (lambda r: r["items"][12].update(filter="ghost"), "items[p1_6].filter", "unknown filter 'ghost'"),
    (lambda r: r["items"][4].update(id="p1_1a"), "items[p1_1a]", "duplicate item id"),
    (lambda r: r["items"][3].update(criterion="7.7"), "items[p1_1a].criterion", "unknown criterion '7.7'"),
    (lambda r: r["scales"]["sat5"].update(positive=[6]), "scales[sat5].positive", "code 6 is not one"),
    (lambda r: r["items"][3]["text"].pop("vi"), "items[p1_1a].text", "non-empty 'vi'"),
    (lambda r: r["filters"].update(used_admin={"item": "q_used_admin", "equals": 3}), "filters[used_admin]",
     "value 3 is not a code"),
    (lambda r: r.pop("items"), "items", "required key missing"),
    (lambda r: r.update(colour="red"), "colour", "unknown key"),
    (lambda r: r["items"][3].update(id="1bad"), "items[1bad]", "id must start with a letter"),
])
def test_schema_errors_name_file_and_item(tmp_path, mutate, key, msg):
    p = _broken(tmp_path, mutate)
    with pytest.raises(ConfigError) as ei:
        read_instrument_file(p)
    assert ei.value.file == str(p)
    assert ei.value.key == key
    assert msg in str(ei.value)


def test_bad_yaml(tmp_path):
    p = tmp_path / "x-1.yml"
    p.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML at line"):
        read_instrument_file(p)


@pytest.mark.parametrize("iid,ver", INSTRUMENTS)
def test_xlsform_pyxform(tmp_path, iid, ver):
    inst = load_instrument(iid, ver)
    p = to_xlsform(inst, tmp_path / f"{iid}.xlsx")
    xml = xlsform_to_xform(p)
    assert "<h:html" in xml
    for it in inst.item_ids:
        assert f"/{it}" in xml
    survey, choices, settings = xlsform_rows(inst)
    assert any("relevant" in r for r in survey)
    first = p.read_bytes()
    assert to_xlsform(inst, p).read_bytes() == first  # deterministic bytes


@pytest.mark.parametrize("iid,ver", INSTRUMENTS)
def test_entry_template_reads_back(tmp_path, iid, ver):
    inst = load_instrument(iid, ver)
    p = to_entry_template(inst, tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(p)
    assert wb.sheetnames == ["Nhap_phieu", "Ma_hoa", "Huong_dan"]
    ws = wb["Nhap_phieu"]
    headers = [c.value for c in ws[1]]
    cols = template_columns(inst)
    assert headers == [h for _, h, _ in cols]
    assert headers[0] == "Mã phiếu [form_id]"
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert len(lists) == sum(1 for _, _, codes in cols if codes)
    cb = wb["Ma_hoa"]
    assert [c.value for c in cb[1]][:3] == ["Cột", "Câu hỏi", "Tiêu chí"]
    assert cb.max_row > len(inst.item_ids)


def _fill_template(inst, path, rows):
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    ids = [c for c, _, _ in template_columns(inst)]
    for rec in rows:
        out = []
        for c in ids:
            v = rec.get(c, "")
            out.append(int(v) if v.isdigit() and c not in ("phone", "household_id") else (v or None))
        ws.append(out)
    wb.save(path)


def test_template_roundtrip_equals_csv(tmp_path):
    inst = load_instrument("household", "2023.1")
    p = to_entry_template(inst, tmp_path / "t.xlsx")
    rows = list(csv.DictReader(FORMS.open(encoding="utf-8")))
    _fill_template(inst, p, rows)
    a = read_responses(p, instrument=inst, salt="s")
    b = read_responses(FORMS, instrument=inst, salt="s")
    pd.testing.assert_frame_equal(a.forms, b.forms)
    assert a.log.empty


def kobo_export(inst, src: Path, dst: Path, *, labels: bool = False, fmt: str = "csv") -> Path:
    """Write ``src`` (generator CSV) as KoBoToolbox would export it: group paths, metadata, ';' delimiter."""
    survey, _, _ = xlsform_rows(inst)
    path, group = {}, []
    for r in survey:
        if r["type"] == "begin_group":
            group.append(r["name"])
        elif r["type"] == "end_group":
            group.pop()
        elif r.get("name"):
            path[r["name"]] = "/".join([*group, r["name"]])
    rows = list(csv.DictReader(src.open(encoding="utf-8")))
    cols = ["start", "end", *[path.get(c, c) for c in rows[0]], "_id", "_uuid", "_submission_time", "_index"]
    out = []
    for i, r in enumerate(rows):
        rec = {"start": "2024-09-10T08:00:00.000+07:00", "end": "2024-09-10T08:20:00.000+07:00",
               "_id": str(1000 + i), "_uuid": f"uuid-{i}", "_submission_time": "2024-09-10T01:25:00",
               "_index": str(i + 1)}
        for c, v in r.items():
            if labels and c in inst.item_ids and v:
                v = inst.labels(c)[int(v)]
            rec[path.get(c, c)] = v
        out.append(rec)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, cols, delimiter=";", lineterminator="\r\n")
        w.writeheader()
        w.writerows(out)
        dst.write_bytes(("\ufeff" + buf.getvalue()).encode("utf-8"))
    else:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(cols)
        for rec in out:
            ws.append([rec[c] if rec[c] != "" else None for c in cols])
        wb.save(dst)
    return dst


@pytest.mark.parametrize("labels,fmt", [(False, "csv"), (True, "csv"), (False, "xlsx")])
def test_kobo_export_same_canonical_table(tmp_path, labels, fmt):
    inst = load_instrument("household", "2023.1")
    k = kobo_export(inst, FORMS, tmp_path / f"kobo.{fmt}", labels=labels, fmt=fmt)
    a = read_responses(k, instrument=inst, salt="s")
    b = read_responses(FORMS, instrument=inst, salt="s")
    pd.testing.assert_frame_equal(a.forms, b.forms)
    assert set(a.log["rule"]) >= {"rename_column", "extra_column_restricted"}
    assert "_uuid" in a.restricted.columns
    if labels:
        assert (a.log["rule"] == "label_to_code").any()


def _demo_forms() -> Path | None:
    raw = project_root() / "data" / "raw"
    found = sorted(raw.glob("demo-laichau-*/responses/forms.csv")) if raw.is_dir() else []
    return found[0] if found else None


def test_kobo_export_of_demo_data(tmp_path):
    src = _demo_forms()
    if src is None:
        pytest.skip("no demo data: data/raw/<survey-id>/responses/forms.csv not generated yet")
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    inst = load_instrument("household", "2024.1")
    k = kobo_export(inst, src, tmp_path / "kobo.csv")
    a = read_responses(k, instrument=inst, salt="s")
    b = read_responses(src, instrument=inst, salt="s")
    pd.testing.assert_frame_equal(a.forms, b.forms)
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before


@pytest.mark.parametrize("writer,reader", [(write_sav, "read_sav"), (write_dta, "read_dta")])
def test_labelled_stats_files(tmp_path, writer, reader):
    import pyreadstat

    inst = load_instrument("household", "2023.1")
    forms = read_responses(FORMS, instrument=inst, salt="s").forms
    ext = "sav" if writer is write_sav else "dta"
    p = writer(forms, tmp_path / f"x.{ext}", instrument=inst)
    first = p.read_bytes()
    assert writer(forms, p, instrument=inst).read_bytes() == first
    df, meta = getattr(pyreadstat, reader)(str(p))
    assert len(df) == len(forms)
    assert meta.variable_value_labels["s2_1a"][4] == "Hài lòng"
    if ext == "sav":
        assert meta.column_names_to_labels["s2_1a"].startswith("Hài lòng")
        back = read_responses(p, instrument=inst, salt="s")
        pd.testing.assert_frame_equal(back.forms, forms)


def test_stats_export_refuses_personal(tmp_path):
    from sipas.forms.pii import PrivacyError

    inst = load_instrument("household", "2023.1")
    forms = read_responses(FORMS, instrument=inst, salt="s").forms.assign(phone="0912345678")
    with pytest.raises(PrivacyError, match="phone"):
        write_sav(forms, tmp_path / "x.sav", instrument=inst)
