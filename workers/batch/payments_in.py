"""The payments of a `--payments` file, whichever it is: PAYMENTS.csv or a CAMT.053, BAI2, MT940 or OFX statement.

The format is recognised from the content (`adapters.bank_files.detect`). A CSV goes through
`csv_io.read_payments` unchanged. A statement's credits become payments: `payment_id` is the line's stable
key, `date` its booking date, `reference` its remittance text followed by the structured references the
matching engine can read (creditor reference, the account owner's reference, end-to-end id). Debits and
entries the bank has not booked are not payments: they are counted, not matched. A line the statement
reader had to skip is a `RowError` naming the file, line and field, like a bad CSV row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from activities.cash_matching.model import IncomingPayment
from adapters.bank_files import (
    BankFileError,
    FileFormat,
    StatementFile,
    StatementLine,
    detect_format,
    read_file_bytes,
    read_statement,
)
from workers.batch.csv_io import CsvLoad, InputFileError, RowError, read_payments

_FORMAT_NAMES = {"csv": "PAYMENTS.csv", "camt.053": "CAMT.053", "bai2": "BAI2", "mt940": "MT940", "ofx": "OFX"}
_HEAD_BYTES = 8192


@dataclass(frozen=True, slots=True)
class StatementRowError(RowError):
    """A statement line that was skipped: a statement has fields, not columns."""

    def __str__(self) -> str:
        return f"{self.file}: line {self.row_number}, field {self.column}: {self.message}"


@dataclass(slots=True)
class PaymentFile:
    format: FileFormat
    load: CsvLoad[IncomingPayment]
    statements: int = 0
    skipped_debits: int = 0  # debits (and zero amounts): money out is not a payment to match
    skipped_unbooked: int = 0  # pending or information-only entries, and test or deletion groups
    line_of: dict[str, int] = field(default_factory=dict)  # payment_id -> where its statement line starts

    @property
    def format_name(self) -> str:
        return _FORMAT_NAMES[self.format]

    def describe(self) -> str:
        """One line for stderr about what a statement held besides payments."""
        unbooked = f", {self.skipped_unbooked} not booked by the bank" if self.skipped_unbooked else ""
        return (
            f"{counted(self.load.rows_read, 'statement line')} in {counted(self.statements, 'statement')} "
            f"({self.format_name}): {counted(len(self.load.records), 'credit')} read as payments, "
            f"{counted(self.skipped_debits, 'debit')} skipped{unbooked}, {len(self.load.errors)} unreadable"
        )


def counted(number: int, noun: str) -> str:
    """Says "1 credit", "2 credits"."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def payment_of(line: StatementLine) -> IncomingPayment:
    return IncomingPayment(
        payment_id=line.key,
        date=line.booking_date,
        amount=line.amount,
        currency=line.currency,
        payer_name=line.payer_name,
        reference=line.matching_reference(),
    )


def payments_of(statement: StatementFile) -> PaymentFile:
    load: CsvLoad[IncomingPayment] = CsvLoad()
    load.rows_read = len(statement.lines) + len(statement.problems)
    load.errors = [StatementRowError(p.file, p.line or 0, p.field, p.message) for p in statement.problems]
    read = PaymentFile(statement.format, load, statements=statement.statements)
    for line in statement.lines:
        if not line.booked:
            read.skipped_unbooked += 1
        elif not line.is_credit:
            read.skipped_debits += 1
        else:
            load.records.append(payment_of(line))
            read.line_of[line.key] = line.line
    return read


def read_payment_file(path: str | os.PathLike[str]) -> PaymentFile:
    """The payments in `path`; `InputFileError` (naming file, line and field) when the file cannot be used."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise InputFileError(f"{name}: cannot read: {exc.strerror or exc}") from None
    fmt = detect_format(head)
    if fmt is None or fmt == "csv":
        return PaymentFile("csv", read_payments(name))
    try:
        return payments_of(read_statement(read_file_bytes(name), name, fmt))
    except BankFileError as exc:
        raise InputFileError(str(exc)) from None
