"""Write `src/opmetrics/bank_holidays.csv`: England & Wales bank holidays from the `holidays`
package, for the years the reporting calendar is read for most (2015-2040). The years a table covers
are the years of its dates (every year has eight bank holidays or more).

`opmetrics calendar` and the deadlines read that table rather than importing `holidays`, whose
import loads every calendar it knows (about 0.15 s of the command's start-up); years outside it
fall back to the package. `tests/test_bank_holidays.py` fails when the package (a newer
version, with a new one-off day) and the table disagree: then run this script again.

    uv run python scripts/bank_holidays.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import holidays

from opmetrics.workdays import holidays_from_package

FIRST, LAST = 2015, 2040
OUT = Path(__file__).resolve().parent.parent / "src" / "opmetrics" / "bank_holidays.csv"


def main() -> None:
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["date", "name"])
        for year in range(FIRST, LAST + 1):
            w.writerows((d.isoformat(), n) for d, n in holidays_from_package(year).items())
    print(f"wrote {OUT} (holidays {holidays.__version__})")


if __name__ == "__main__":
    main()
