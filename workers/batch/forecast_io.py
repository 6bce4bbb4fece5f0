"""Reading `PAID.csv` and writing `FORECAST.json` / `RISK.json` (the batch forecast and risk files).

`PAID.csv` follows `csv_io`'s conventions: columns found by name in any order, a missing column or an
unreadable file raises `InputFileError` naming the file, and a bad row becomes a `RowError` (file, line,
column, what is wrong) and is skipped. A payment split over several invoices has one line per invoice, so a
line is identified by its payment and invoice together; the same pair twice is a bad row. A line naming an
invoice that is not in `INVOICES.csv` (or whose row there was skipped) is a bad row too.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from activities.forecasting.history import AppliedPayment
from workers.batch.csv_io import CsvLoad, _amount, _BadCell, _date, _read, _required

PAID_COLUMNS = ("payment_id", "invoice_id", "date", "amount")


def read_paid(
    path: str | os.PathLike[str], known_invoice_ids: Collection[str] | None = None
) -> CsvLoad[AppliedPayment]:
    """`PAID.csv`: the payments applied to invoices; lines for invoices outside `known_invoice_ids` are bad rows."""

    def build(cells: Sequence[str]) -> AppliedPayment:
        payment_id, invoice_id, paid_on, amount = cells
        payment = AppliedPayment(
            payment_id=_required(payment_id, "payment_id"),
            invoice_id=_required(invoice_id, "invoice_id"),
            date=_date(paid_on, "date"),
            amount=_amount(amount, "amount"),
        )
        if payment.amount <= 0:
            raise _BadCell("amount", f"{amount.strip()!r} is not positive (a refund or reversal is not a payment)")
        if known_invoice_ids is not None and payment.invoice_id not in known_invoice_ids:
            raise _BadCell("invoice_id", f"no invoice {payment.invoice_id!r} in the invoices file (or its row was bad)")
        return payment

    return _read(path, PAID_COLUMNS, build, lambda p: f"{p.payment_id} on {p.invoice_id}", "payment_id")


def write_paid(path: str | os.PathLike[str], payments: Iterable[AppliedPayment]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(PAID_COLUMNS)
        for p in payments:
            writer.writerow((p.payment_id, p.invoice_id, p.date.isoformat(), str(p.amount)))


def write_json(path: str | os.PathLike[str], document: dict[str, Any] | list[Any]) -> None:
    """Write the whole document or nothing: a reader never sees half a file."""
    target = Path(path)
    temporary = target.with_name(target.name + ".partial")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    os.replace(temporary, target)
