"""Respondent groups of the breakdown tables: a coded age group (service-user form) and an age in years (household).

Before this test the indices stage read only ``age``, so the service-user form's coded ``age_group`` (codes 1-5 of
the instrument's profile question) gave no age breakdown at all.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from sipas.forms.instrument import load_instrument
from sipas.report.context import ReportContext, group_label
from sipas.stages.indices import respondent_groups
from sipas.text.labels import texts

SERVICE = load_instrument("service_user", "2017.1")
HOUSEHOLD = load_instrument("household", "2024.1")
CFG = SimpleNamespace(frames={}, design=SimpleNamespace(report_unit="unit"))


def test_profile_labels_come_from_the_instrument():
    vi = SERVICE.profile_labels("age_group")
    assert sorted(vi) == [1, 2, 3, 4, 5]
    assert vi[1] == "Dưới 25 tuổi"
    assert SERVICE.profile_labels("age_group", language="en")[5] == "Over 60"
    assert SERVICE.profile_labels("no_such_question") == {}


def test_coded_age_group_is_kept_where_it_is_a_profile_code():
    df = pd.DataFrame({"sex": [1, 2, 2, 1], "age_group": [1, 5, 9, None]})
    g, read = respondent_groups(df, CFG, instrument=SERVICE)
    assert read == []
    assert g["age_group"].tolist()[:2] == ["1", "5"]
    assert all(isinstance(v, float) and np.isnan(v) for v in g["age_group"].tolist()[2:])   # 9: not a code


def test_age_in_years_still_gives_the_report_age_bands():
    df = pd.DataFrame({"age": [20, 35, 50, 70, 15], "age_group": [9, 9, 9, 9, 9]})
    g, _ = respondent_groups(df, CFG, instrument=HOUSEHOLD)
    assert g["age_group"].tolist()[:4] == ["18-29", "30-44", "45-59", "60+"]


def test_without_instrument_a_coded_age_group_is_not_guessed():
    g, _ = respondent_groups(pd.DataFrame({"age_group": [1, 2]}), CFG)
    assert "age_group" not in g.columns


def test_group_label_reads_the_texts_then_the_instrument():
    for lang, first in (("vi", "Dưới 25 tuổi"), ("en", "Under 25")):
        ctx = ReportContext(cfg=CFG, lang=lang, t=texts(), tables={}, instrument=SERVICE, processed=None,
                            reports=None)
        assert group_label(ctx, "age_group", "1") == first
        assert group_label(ctx, "age_group", 3) == SERVICE.profile_labels("age_group", language=lang)[3]
        assert group_label(ctx, "sex", "2") == ("Nữ" if lang == "vi" else "Female")        # the report texts
        assert group_label(ctx, "age_group", "18-29") == ("18–29 tuổi" if lang == "vi" else "18–29")
        assert group_label(ctx, "age_group", "7") == "7"                                    # unknown: as typed
