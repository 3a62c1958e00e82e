"""How the committed hostile-input files were made (run from the repo root; see tests/test_hostile_input.py).

Most hostile cases are generated in ``tmp_path`` by the tests themselves; this folder holds only the files a
test cannot make with the project's own dependencies:

``password_protected.xlsx``
    The first three forms of tests/data/ingest/forms_small.csv on a sheet ``Nhap_phieu``, encrypted by Excel's
    "Encrypt with Password" scheme (agile encryption, password ``sipas``) with ``msoffcrypto-tool`` 6.x, which
    is not a dependency of sipas: install it in a throwaway virtual environment to rerun this script.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

HERE = Path(__file__).parent
BASE = HERE.parent.parent / "ingest" / "forms_small.csv"


def main() -> None:
    import msoffcrypto.format.ooxml as ooxml  # pip install msoffcrypto-tool (not a sipas dependency)

    rows = list(csv.reader(BASE.open(encoding="utf-8")))[:4]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Nhap_phieu"
    for r in rows:
        ws.append(r)
    plain = io.BytesIO()
    wb.save(plain)
    plain.seek(0)
    with open(HERE / "password_protected.xlsx", "wb") as out:
        ooxml.OOXMLFile(plain).encrypt("sipas", out)


if __name__ == "__main__":
    main()
