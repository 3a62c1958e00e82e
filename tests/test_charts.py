"""Charts: shared style, deterministic bytes, Vietnamese labels kept as text, benchmark line, group chart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sipas.report import charts


def _units() -> pd.DataFrame:
    return pd.DataFrame({"unit": ["Huyện Tam Đường", "Thành phố Lai Châu", "Huyện Mường Tè"],
                         "estimate": [0.88, 0.84, 0.73], "ci_low": [0.8, 0.7, 0.6], "ci_high": [0.93, 0.9, 0.83]})


def test_index_chart_bytes_are_deterministic_with_reference_and_benchmark(tmp_path):
    import matplotlib.pyplot as plt

    digests = []
    for k in range(2):
        fig = charts.index_by_unit(_units(), unit="unit", title="Hình 6.1. Chỉ số hài lòng chung theo huyện",
                                   xlabel="Chỉ số (%)", reference=0.81, reference_label="Toàn tỉnh: 81,3%",
                                   benchmark=0.8266, benchmark_label="Trung bình cả nước 2023: 82,66%")
        png, svg = charts.save(fig, tmp_path / f"f{k}")
        plt.close(fig)
        digests.append((png.read_bytes(), svg.read_bytes()))
    assert digests[0] == digests[1]
    svg = digests[0][1].decode("utf-8")
    assert "Trung bình cả nước 2023: 82,66%" in svg and "Huyện Mường Tè" in svg   # text, not paths
    assert "DejaVu Sans" in svg


def test_long_titles_are_wrapped_not_clipped():
    import matplotlib.pyplot as plt

    title = "Hình 6.2. Chỉ số theo tiêu chí, toàn tỉnh (khoảng tin cậy 95%) — " * 2
    t = pd.DataFrame({"label": ["1.1 Quan tâm", "2.6 Tiếp nhận, xử lý góp ý"], "estimate": [0.8, 0.66],
                      "ci_low": [0.75, 0.6], "ci_high": [0.85, 0.7]})
    fig = charts.criteria_profile(t, title=title, xlabel="Chỉ số (%)")
    shown = fig._suptitle.get_text()
    assert "\n" in shown and shown.replace("\n", " ").split() == title.split()
    fig.canvas.draw()
    bb = fig._suptitle.get_window_extent()
    assert bb.x0 >= 0 and bb.x1 <= fig.bbox.width + 1
    plt.close(fig)


def test_group_breakdown_skips_suppressed_cells():
    import matplotlib.pyplot as plt

    t = pd.DataFrame({"variable_label": ["Giới tính", "Giới tính", "Khu vực", "Khu vực"],
                      "level_label": ["Nam", "Nữ", "Thành thị", "Nông thôn"],
                      "estimate": [0.81, 0.80, np.nan, 0.82], "ci_low": [0.78, 0.77, np.nan, 0.79],
                      "ci_high": [0.84, 0.83, np.nan, 0.85]})
    fig = charts.group_breakdown(t, title="Hình 6.5", xlabel="Chỉ số (%)", reference=0.81, reference_label="Toàn tỉnh")
    ax = fig.axes[0]
    labels = [x.get_text() for x in ax.get_yticklabels()]
    assert labels == ["Giới tính · Nam", "Giới tính · Nữ", "Khu vực · Thành thị", "Khu vực · Nông thôn"]
    plt.close(fig)
