"""`duecourse bank import FILE [--json]`: a bank statement file's credits become bank lines in the ledger.

FILE is a CAMT.053, BAI2, MT940 or OFX statement or a PAYMENTS.csv, recognised by its content. Each credit is
booked in the running dev stack's sandbox ledger as a deposit (`SandboxLedger.receive_statement_line`), so the
ledger announces it by webhook and cash application matches it, exactly as with `duecourse sandbox receive`.
A line is booked once: the ledger keeps every imported line's stable key, so importing the same file again,
or a statement that overlaps an earlier one, adds only what is new and says how many were already there.
Debits and entries the bank has not booked are counted, never booked. A line the reader or the ledger
refuses is reported on stderr (file, line, field) and the rest is imported; a file that cannot be used at
all exits 2 and books nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from workers.cli import EXIT_USAGE, json_flag

if TYPE_CHECKING:
    from adapters.ledger import BankLine
    from workers.batch.csv_io import RowError
    from workers.batch.payments_in import PaymentFile
    from workers.cli import Commands

# The sandbox ledger wants a payer on every deposit; some statement lines (a BAI2 deposit, a cash lodgement)
# name none, and cash application then goes by amount and reference alone.
NO_PAYER = "(no payer named on the statement)"


class StatementLedger(Protocol):
    """What an import needs of a ledger: book a deposit at most once per statement line."""

    def receive_statement_line(
        self, key: str, amount: Decimal, payer_name: str, *, on: date, reference: str = "", currency: str = "USD"
    ) -> tuple[BankLine, bool]: ...


@dataclass(slots=True)
class ImportReport:
    file: str
    format: str  # "camt.053", "bai2", "mt940", "ofx" or "csv"
    format_name: str  # as people write it: "CAMT.053", "PAYMENTS.csv"
    lines: int
    credits: int = 0
    imported: int = 0
    already_imported: int = 0
    skipped_debits: int = 0
    skipped_unbooked: int = 0
    bank_line_ids: list[str] = field(default_factory=list)  # new ones, in file order
    problems: list[RowError] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "lines": self.lines,
            "credits": self.credits,
            "imported": self.imported,
            "already_imported": self.already_imported,
            "skipped_debits": self.skipped_debits,
            "skipped_unbooked": self.skipped_unbooked,
            "bad_lines": len(self.problems),
            "bank_line_ids": self.bank_line_ids,
            "problems": [{"line": p.row_number, "field": p.column, "message": p.message} for p in self.problems],
        }

    def summary(self) -> str:
        from workers.batch.payments_in import counted

        unbooked = f", {self.skipped_unbooked} not booked by the bank" if self.skipped_unbooked else ""
        bad = f", {counted(len(self.problems), 'line')} skipped (see above)" if self.problems else ""
        return (
            f"{self.file} ({self.format_name}): {counted(self.lines, 'line')}, {counted(self.credits, 'credit')}: "
            f"{self.imported} new, {self.already_imported} already imported; "
            f"{counted(self.skipped_debits, 'debit')} not imported{unbooked}{bad}"
        )



def import_statement(ledger: StatementLedger, payments: PaymentFile, file: str) -> ImportReport:
    """Books every credit of `payments` that the ledger has not booked before; the core of `bank import`."""
    from adapters.ledger import LedgerError
    from workers.batch.payments_in import StatementRowError

    load = payments.load
    report = ImportReport(file=file, format=payments.format, format_name=payments.format_name, lines=load.rows_read,
                          skipped_debits=payments.skipped_debits, skipped_unbooked=payments.skipped_unbooked,
                          problems=list(load.errors))
    for payment in load.records:
        if payment.amount <= 0:  # a PAYMENTS.csv may hold refunds and fees as negative amounts
            report.skipped_debits += 1
            continue
        report.credits += 1
        # A CSV's payment_id is unique in its own file only; a statement's key already names format and account.
        key = f"csv:{payment.payment_id}" if payments.format == "csv" else payment.payment_id
        try:
            line, new = ledger.receive_statement_line(
                key, payment.amount, payment.payer_name or NO_PAYER, on=payment.date,
                reference=payment.reference, currency=payment.currency,
            )
        except LedgerError as refused:
            line_number = payments.line_of.get(payment.payment_id, 0)
            report.problems.append(StatementRowError(file, line_number, f"payment {payment.payment_id}",
                                                     f"the ledger refused it: {refused}"))
            continue
        if new:
            report.imported += 1
            report.bank_line_ids.append(line.id)
        else:
            report.already_imported += 1
    return report


def cmd_bank_import(args: argparse.Namespace) -> int:
    # imported here: every `duecourse` command builds the parser, few of them read statements
    from adapters.bank_files import detect_format
    from workers.batch.csv_io import InputFileError
    from workers.batch.payments_in import read_payment_file
    from workers.cli import _sandbox

    try:
        with open(args.file, "rb") as handle:
            head = handle.read(8192)
        if detect_format(head) is None:
            raise InputFileError(f"{args.file}: line 1, field format: not a CAMT.053, BAI2, MT940 or OFX statement "
                                 "nor a PAYMENTS.csv (payment_id,date,amount,currency,payer_name,reference)")
        payments = read_payment_file(args.file)
    except OSError as exc:
        print(f"duecourse bank import: error: {args.file}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except InputFileError as exc:
        print(f"duecourse bank import: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ledger, _ = _sandbox()
    try:
        report = import_statement(ledger, payments, args.file)
    finally:
        ledger.close()
    for problem in report.problems:
        print(f"{problem} (line skipped)", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(report.summary())
    return 0


def add_bank_commands(commands: Commands) -> None:
    """`bank import FILE`: bank statement files into the dev stack's ledger."""
    bank = commands.add_parser("bank", help="bank statement files").add_subparsers(dest="bank_command", required=True)
    imports = bank.add_parser(
        "import",
        help="book a statement's credits as bank lines (CAMT.053, BAI2, MT940, OFX or PAYMENTS.csv; never twice)",
    )
    imports.add_argument("file", metavar="FILE")
    json_flag(imports)
    imports.set_defaults(run=cmd_bank_import)
