"""Reading `RATES.csv`, a reference rate's history: `effective_date,rate_percent` (for `duecourse fees`).

The conventions of `workers.batch.csv_io`: columns found by name in any order and case (extra columns
ignored); a file that cannot be used at all raises `InputFileError`; a bad row becomes a `RowError` naming
file, line and column, and is skipped. Rows may come in any order. A date given twice with the same rate is
one change (a pasted-twice row); a date given two different rates raises `ConflictingRateRows` naming both
lines, since no rule can say which is right.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from workers.batch.csv_io import InputFileError, RowError
from workflows.late_fees import RateChange, ReferenceRates

RATE_COLUMNS = ("effective_date", "rate_percent")

# A percentage as written in a rate table: 5.25, 0.1, -0.5, 4.75% (a trailing per cent sign is tolerated).
_RATE = re.compile(r"(-?\d+(?:\.\d+)?)\s*%?")


class ConflictingRateRows(InputFileError):
    """One effective date carries two different rates: the table cannot be used."""


@dataclass(slots=True)
class RateLoad:
    rates: ReferenceRates
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0
    repeats: int = 0  # rows that repeat an earlier row exactly (same date, same rate), counted once


def read_rates(path: str | os.PathLike[str], name: str = "reference rate") -> RateLoad:
    """The table in `path`, sorted by date. Raises `InputFileError` when it cannot be used at all."""
    file = os.fspath(path)
    try:
        handle = open(file, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputFileError(f"{file}: cannot read: {exc.strerror or exc}") from None
    errors: list[RowError] = []
    found: dict[date, tuple[int, Decimal]] = {}  # effective date -> (line, rate) of its first row
    rows_read = repeats = 0
    with handle:
        reader = csv.reader(handle)
        try:
            date_at, rate_at = _header(file, next(reader, None))
            line = reader.line_num
            for row in reader:
                start, line = line + 1, reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                rows_read += 1
                parsed = _row(file, start, row, date_at, rate_at)
                if isinstance(parsed, RowError):
                    errors.append(parsed)
                    continue
                day, rate = parsed
                if day in found:
                    first_line, first_rate = found[day]
                    if first_rate != rate:
                        raise ConflictingRateRows(
                            f"{file}: line {start}, column rate_percent: {day.isoformat()} is given {rate} here "
                            f"and {first_rate} on line {first_line}; keep the right one")
                    repeats += 1
                    continue
                found[day] = (start, rate)
        except UnicodeDecodeError as exc:
            raise InputFileError(f"{file}: not UTF-8 text near line {reader.line_num + 1}: {exc.reason}") from None
        except csv.Error as exc:
            raise InputFileError(f"{file}: line {reader.line_num}: malformed CSV: {exc}") from None
    rates = ReferenceRates.from_changes(
        (RateChange(effective_date=day, rate_percent=rate) for day, (_, rate) in found.items()), name=name)
    return RateLoad(rates=rates, errors=errors, rows_read=rows_read, repeats=repeats)


def _header(file: str, header: list[str] | None) -> tuple[int, int]:
    if header is None:
        raise InputFileError(f"{file}: file is empty; expected the header {','.join(RATE_COLUMNS)}")
    positions = {column.strip().lower(): i for i, column in enumerate(header)}
    missing = [column for column in RATE_COLUMNS if column not in positions]
    if missing:
        raise InputFileError(f"{file}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                             f"(header is {','.join(h.strip() for h in header)})")
    return positions["effective_date"], positions["rate_percent"]


def _row(file: str, line: int, row: list[str], date_at: int, rate_at: int) -> tuple[date, Decimal] | RowError:
    if len(row) <= max(date_at, rate_at):
        column = "effective_date" if len(row) <= date_at else "rate_percent"
        return RowError(file, line, column, f"row has {len(row)} fields, the header has more")
    try:
        day = date.fromisoformat(row[date_at].strip())
    except ValueError:
        return RowError(file, line, "effective_date", f"{row[date_at]!r} is not a date YYYY-MM-DD")
    matched = _RATE.fullmatch(row[rate_at].strip())
    if matched is None:
        return RowError(file, line, "rate_percent", f"{row[rate_at]!r} is not a percentage like 5.25")
    return day, Decimal(matched.group(1))
