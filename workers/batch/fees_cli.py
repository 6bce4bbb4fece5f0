"""`duecourse fees`: late fees and statutory interest on the overdue invoices of a file (issue 12).

`duecourse fees --invoices INVOICES.csv --rates RATES.csv --jurisdiction GB|EU|NONE --as-of YYYY-MM-DD
--out FEES.json` writes a JSON list with one object per invoice whose balance is overdue on `--as-of`
(due before it, balance above zero): `{"invoice_id", "currency", "days_late", "rate_percent", "interest",
"compensation"}`, figures as decimal strings rounded half up to the currency's minor unit. The computation is
`workflows.late_fees.statutory_interest`, the one the product's lifecycle proposes as `late_fee` items; its
docstring cites the law applied. Objects come in due-date order, oldest debt first, then by invoice id.

Bad rows in either file go to stderr (file, line, column, what is wrong) and are skipped. Exit status 2, and
no FEES.json written, when a file cannot be used at all (missing, unreadable, a column absent, one date given
two rates, no output written) or when a rate the law needs precedes RATES.csv (GB/EU): a rate is never
guessed. `--rates` is needed for GB and EU and ignored for NONE. With `--json`, one summary object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from workers.batch.csv_io import InputFileError, RowError, read_invoices
from workers.batch.rates_csv import RateLoad, read_rates
from workers.cli import iso_date, json_flag
from workflows.late_fees import (
    JURISDICTIONS,
    Jurisdiction,
    LateCharge,
    LateFeeError,
    RateNotKnown,
    ReferenceRates,
    UnpaidDebt,
    statutory_interest,
)

if TYPE_CHECKING:
    from activities.cash_matching.model import OpenInvoice
    from workers.cli import Commands

EXIT_UNUSABLE = 2
_SHOWN_ROW_ERRORS = 50
REFERENCE_RATE_NAMES = {"GB": "Bank of England Bank Rate", "EU": "ECB main refinancing rate"}


@dataclass(slots=True)
class FeeRun:
    """What one run found: the charges to write, and what the person running it must be told."""

    charges: list[tuple[OpenInvoice, LateCharge]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing_rates: list[str] = field(default_factory=list)


def cmd_fees(args: argparse.Namespace) -> int:
    jurisdiction: Jurisdiction = args.jurisdiction
    if jurisdiction != "NONE" and args.rates is None:
        return _unusable(f"--rates RATES.csv is required for {jurisdiction} "
                         f"(the {REFERENCE_RATE_NAMES[jurisdiction]}'s history: effective_date,rate_percent)")
    try:
        invoices = read_invoices(args.invoices)
        rates = read_rates(args.rates, REFERENCE_RATE_NAMES[jurisdiction]) if jurisdiction != "NONE" else None
    except InputFileError as unusable:
        return _unusable(str(unusable))
    row_errors = [*invoices.errors, *(rates.errors if rates else [])]
    _report_row_errors(row_errors, sys.stderr)
    if rates is not None:
        first = rates.rates.first_date
        if first is None or args.as_of < first:
            known = f"its first rate is dated {first.isoformat()}" if first else "it holds no usable rate"
            return _unusable(f"{args.rates}: no {rates.rates.name} is known for --as-of {args.as_of.isoformat()} "
                             f"({known}); add the rates in force back to then")

    run = charge_invoices(invoices.records, args.as_of, jurisdiction, rates.rates if rates else None, args.invoices)
    for warning in run.warnings:
        print(warning, file=sys.stderr)
    if run.missing_rates:
        for missing in run.missing_rates:
            print(f"duecourse fees: error: {missing}", file=sys.stderr)
        return _unusable(f"{args.rates} does not reach back far enough for {len(run.missing_rates)} invoice(s); "
                         f"nothing written")
    try:
        write_fees(args.out, run.charges)
    except OSError as exc:
        return _unusable(f"{args.out}: cannot write: {exc.strerror or exc}")
    _report_summary(args, run, invoices.rows_read, invoices.rows_skipped, rates, row_errors)
    return 0


def charge_invoices(invoices: Sequence[OpenInvoice], as_of: date, jurisdiction: Jurisdiction,
                    rates: ReferenceRates | None, source: str) -> FeeRun:
    """The charge on every invoice overdue on `as_of`, oldest due date first, then by invoice id."""
    run = FeeRun()
    for invoice in sorted(invoices, key=lambda i: (i.due_date, i.invoice_id)):
        debt = UnpaidDebt(currency=invoice.currency, amount=invoice.balance, due_date=invoice.due_date)
        try:
            charge = statutory_interest(debt, as_of, jurisdiction, rates)
        except RateNotKnown as unknown:
            run.missing_rates.append(f"{source}: invoice {invoice.invoice_id} (due {invoice.due_date.isoformat()}) "
                                     f"needs the rate in force on {unknown.day.isoformat()}, but {unknown}")
            continue
        except LateFeeError as refused:
            run.warnings.append(f"{source}: invoice {invoice.invoice_id}: {refused} (invoice skipped)")
            continue
        if charge is None:
            continue  # not overdue on as_of: nothing to charge, nothing to list
        if charge.compensation_note:
            run.warnings.append(f"{source}: invoice {invoice.invoice_id} ({invoice.currency}): "
                                f"{charge.compensation_note}")
        run.charges.append((invoice, charge))
    return run


def fee_object(invoice: OpenInvoice, charge: LateCharge) -> dict[str, Any]:
    """One FEES.json object, exactly the fields PRODUCT.md fixes."""
    return {
        "invoice_id": invoice.invoice_id,
        "currency": charge.currency,
        "days_late": charge.days_late,
        "rate_percent": _decimal_text(charge.rate_percent),
        "interest": _decimal_text(charge.interest),
        "compensation": _decimal_text(charge.compensation),
    }


def write_fees(path: str | os.PathLike[str], charges: Sequence[tuple[OpenInvoice, LateCharge]]) -> None:
    """FEES.json, written whole or not at all."""
    target = Path(path)
    temporary = target.with_name(target.name + ".partial")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump([fee_object(invoice, charge) for invoice, charge in charges], handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    os.replace(temporary, target)


def _decimal_text(value: Decimal) -> str:
    return format(value, "f")  # never exponent notation ("0E-2", "1E+1") in a money or rate field


def _unusable(message: str) -> int:
    print(f"duecourse fees: error: {message}", file=sys.stderr)
    return EXIT_UNUSABLE


def _report_row_errors(errors: Sequence[RowError], stream: TextIO) -> None:
    for error in errors[:_SHOWN_ROW_ERRORS]:
        print(f"{error} (row skipped)", file=stream)
    if len(errors) > _SHOWN_ROW_ERRORS:
        print(f"... and {len(errors) - _SHOWN_ROW_ERRORS} more bad rows, all skipped", file=stream)


def _totals(charges: Sequence[tuple[OpenInvoice, LateCharge]]) -> list[dict[str, Any]]:
    by_currency: dict[str, list[LateCharge]] = {}
    for _, charge in charges:
        by_currency.setdefault(charge.currency, []).append(charge)
    return [{"currency": currency, "invoices": len(group),
             "interest": _decimal_text(sum((c.interest for c in group), Decimal(0))),
             "compensation": _decimal_text(sum((c.compensation for c in group), Decimal(0)))}
            for currency, group in sorted(by_currency.items())]


def _report_summary(args: argparse.Namespace, run: FeeRun, rows_read: int, rows_skipped: int,
                    rates: RateLoad | None, row_errors: Sequence[RowError]) -> None:
    """One line on stderr, and with `--json` one summary object on stdout."""
    totals = _totals(run.charges)
    owed = "; ".join(f"{t['currency']} interest {t['interest']} + compensation {t['compensation']}" for t in totals)
    rate_part = (f"{args.rates}: {rates.rows_read} rows read, {len(rates.errors)} skipped, "
                 f"{rates.repeats} repeated; " if rates else "")
    print(f"{args.invoices}: {rows_read} rows read, {rows_skipped} skipped; {rate_part}"
          f"{len(run.charges)} overdue on {args.as_of.isoformat()} ({args.jurisdiction})"
          f"{': ' + owed if owed else ''} -> {args.out}", file=sys.stderr)
    if args.json:
        print(json.dumps({
            "out": str(args.out),
            "jurisdiction": args.jurisdiction,
            "as_of": args.as_of.isoformat(),
            "overdue": len(run.charges),
            "totals": totals,
            "rows_read": {"invoices": rows_read, "rates": rates.rows_read if rates else 0},
            "skipped_rows": rows_skipped + (len(rates.errors) if rates else 0),
            "row_errors": [{"file": e.file, "row": e.row_number, "column": e.column, "message": e.message}
                           for e in row_errors],
            "warnings": run.warnings,
        }))


def add_fees_commands(commands: Commands) -> None:
    """`fees`: statutory interest and fixed compensation on overdue invoices, from files."""
    fees = commands.add_parser(
        "fees", help="late fees and statutory interest on overdue invoices, from files",
        description="Statutory interest and fixed compensation on every invoice overdue on --as-of "
                    "(GB: Late Payment of Commercial Debts (Interest) Act 1998; EU: Directive 2011/7/EU).")
    fees.add_argument("--invoices", required=True, metavar="INVOICES.csv", help="invoices; balance as of --as-of")
    fees.add_argument("--rates", metavar="RATES.csv",
                      help="effective_date,rate_percent: the reference rate's history (required for GB and EU)")
    fees.add_argument("--jurisdiction", required=True, type=str.upper, choices=JURISDICTIONS,
                      help="whose late-payment law applies")
    fees.add_argument("--as-of", required=True, type=iso_date, metavar="YYYY-MM-DD", help="the day to charge to")
    fees.add_argument("--out", required=True, metavar="FEES.json", help="where to write the charges")
    json_flag(fees)
    fees.set_defaults(run=cmd_fees)
