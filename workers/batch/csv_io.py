"""Reading `INVOICES.csv` and `PAYMENTS.csv` and writing `MATCHES.json` (the batch cash-application files).

Columns are found by name (extra columns are ignored, order does not matter). A missing column or an
unreadable file raises `InputFileError`, naming the file. A bad row is never dropped silently: it becomes a
`RowError` naming the file, the line, the column and what is wrong, and the row is skipped; `rows_read`
counts every data row, good or bad.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Generic, TypeVar

from activities.cash_matching.model import IncomingPayment, MatchResult, OpenInvoice, paused_gc

INVOICE_COLUMNS = (
    "invoice_id",
    "invoice_number",
    "customer_id",
    "customer_name",
    "currency",
    "total",
    "balance",
    "issue_date",
    "due_date",
)
PAYMENT_COLUMNS = ("payment_id", "date", "amount", "currency", "payer_name", "reference")

_AMOUNT = re.compile(r"-?\d+(?:\.\d{1,3})?")  # three decimals: KWD, BHD, OMR, ...
_CURRENCY = re.compile(r"[A-Za-z]{3}")

Record = TypeVar("Record")


class InputFileError(Exception):
    """The file cannot be used at all: missing, unreadable, not CSV, or a required column is absent."""


@dataclass(slots=True, frozen=True)
class RowError:
    file: str
    row_number: int  # the line in the file where the row starts; the header is line 1
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: line {self.row_number}, column {self.column}: {self.message}"


@dataclass(slots=True)
class CsvLoad(Generic[Record]):
    records: list[Record] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0

    @property
    def rows_skipped(self) -> int:
        return self.rows_read - len(self.records)


class _BadCell(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _amount(value: str, column: str) -> Decimal:
    text = value.strip()
    if not _AMOUNT.fullmatch(text):
        raise _BadCell(column, f"{value!r} is not a decimal amount like 1250.00")
    return Decimal(text)


def _date(value: str, column: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise _BadCell(column, f"{value!r} is not a date YYYY-MM-DD") from None


def _required(value: str, column: str) -> str:
    text = value.strip()
    if not text:
        raise _BadCell(column, "is empty")
    return text


def _currency(value: str, column: str) -> str:
    text = value.strip()
    if not _CURRENCY.fullmatch(text):
        raise _BadCell(column, f"{value!r} is not a three-letter currency code")
    return text.upper()


def _invoice(cells: Sequence[str]) -> OpenInvoice:
    (invoice_id, number, customer_id, customer_name, currency, total, balance, issue, due) = cells
    balance_amount = _amount(balance, "balance")
    if balance_amount < 0:
        raise _BadCell("balance", f"{balance!r} is negative (a credit note is not an open invoice)")
    return OpenInvoice(
        invoice_id=_required(invoice_id, "invoice_id"),
        invoice_number=_required(number, "invoice_number"),
        customer_id=_required(customer_id, "customer_id"),
        customer_name=customer_name.strip(),
        currency=_currency(currency, "currency"),
        total=_amount(total, "total"),
        balance=balance_amount,
        issue_date=_date(issue, "issue_date"),
        due_date=_date(due, "due_date"),
    )


def _payment(cells: Sequence[str]) -> IncomingPayment:
    (payment_id, paid_on, amount, currency, payer_name, reference) = cells
    return IncomingPayment(
        payment_id=_required(payment_id, "payment_id"),
        date=_date(paid_on, "date"),
        amount=_amount(amount, "amount"),
        currency=_currency(currency, "currency"),
        payer_name=payer_name.strip(),
        reference=reference.strip(),
    )


def _column_positions(name: str, header: Sequence[str], columns: Sequence[str]) -> list[int]:
    """Where each wanted column is in the file's header (found by name, any order, any case)."""
    positions = {column.strip().lower(): i for i, column in enumerate(header)}
    missing = [c for c in columns if c not in positions]
    if missing:
        raise InputFileError(
            f"{name}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(header is {','.join(h.strip() for h in header)})"
        )
    return [positions[c] for c in columns]


def _read(
    path: str | os.PathLike[str],
    columns: Sequence[str],
    build: Callable[[Sequence[str]], Record],
    identity: Callable[[Record], str],
    id_column: str,
) -> CsvLoad[Record]:
    name = os.fspath(path)
    load: CsvLoad[Record] = CsvLoad()
    try:
        handle = open(name, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputFileError(f"{name}: cannot read: {exc.strerror or exc}") from None
    with handle, paused_gc():
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise InputFileError(f"{name}: file is empty; expected the header {','.join(columns)}")
            index = _column_positions(name, header, columns)
            width = max(index) + 1
            seen: set[str] = set()
            line = reader.line_num
            for row in reader:
                start, line = line + 1, reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                load.rows_read += 1
                if len(row) < width:
                    missing_column = next(columns[k] for k, i in enumerate(index) if i >= len(row))
                    load.errors.append(
                        RowError(name, start, missing_column, f"row has {len(row)} fields, header has {len(header)}")
                    )
                    continue
                try:
                    record = build([row[i] for i in index])
                except _BadCell as bad:
                    load.errors.append(RowError(name, start, bad.column, bad.message))
                    continue
                key = identity(record)
                if key in seen:
                    load.errors.append(RowError(name, start, id_column, f"duplicate {id_column} {key!r}"))
                    continue
                seen.add(key)
                load.records.append(record)
        except UnicodeDecodeError as exc:
            raise InputFileError(f"{name}: not UTF-8 text near line {reader.line_num + 1}: {exc.reason}") from None
        except csv.Error as exc:
            raise InputFileError(f"{name}: line {reader.line_num}: malformed CSV: {exc}") from None
    return load


def read_invoices(path: str | os.PathLike[str]) -> CsvLoad[OpenInvoice]:
    """`INVOICES.csv`, the open invoices: every batch command that takes the file reads it through here."""
    return _read(path, INVOICE_COLUMNS, _invoice, lambda i: i.invoice_id, "invoice_id")


def read_payments(path: str | os.PathLike[str]) -> CsvLoad[IncomingPayment]:
    """`PAYMENTS.csv`, the bank lines and receipts to match."""
    return _read(path, PAYMENT_COLUMNS, _payment, lambda p: p.payment_id, "payment_id")


def read_aliases(path: str | os.PathLike[str]) -> CsvLoad[tuple[str, str]]:
    """Learned payer aliases: a CSV with `payer_name,customer_id`."""

    def build(cells: Sequence[str]) -> tuple[str, str]:
        return _required(cells[0], "payer_name"), _required(cells[1], "customer_id")

    return _read(path, ("payer_name", "customer_id"), build, lambda a: a[0].lower(), "payer_name")


def write_invoices(path: str | os.PathLike[str], invoices: Iterable[OpenInvoice]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(INVOICE_COLUMNS)
        for i in invoices:
            writer.writerow(
                (
                    i.invoice_id,
                    i.invoice_number,
                    i.customer_id,
                    i.customer_name,
                    i.currency,
                    f"{i.total:.2f}",
                    f"{i.balance:.2f}",
                    i.issue_date.isoformat(),
                    i.due_date.isoformat(),
                )
            )


def write_payments(path: str | os.PathLike[str], payments: Iterable[IncomingPayment]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(PAYMENT_COLUMNS)
        for p in payments:
            writer.writerow(
                (p.payment_id, p.date.isoformat(), f"{p.amount:.2f}", p.currency, p.payer_name, p.reference)
            )


def write_matches(path: str | os.PathLike[str], results: Iterable[MatchResult]) -> None:
    """`MATCHES.json`: a JSON list, one object per payment, written whole or not at all."""
    target = Path(path)
    temporary = target.with_name(target.name + ".partial")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump([r.to_json() for r in results], handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    os.replace(temporary, target)
