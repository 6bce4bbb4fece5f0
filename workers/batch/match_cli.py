"""`duecourse match`: batch cash application from files.

`duecourse match --invoices INVOICES.csv --payments PAYMENTS.csv --out MATCHES.json` reads the two files
(`--payments` may also be a CAMT.053, BAI2, MT940 or OFX statement, recognised by its content: its credits are
the payments, see `workers.batch.payments_in`), reports every bad row on stderr (file, line, column, what is
wrong) and skips it, matches the rest and writes `MATCHES.json`, one object per payment read. A progress bar
is drawn only when stderr is a terminal. Exit status 2 when a file cannot be used at all (missing, unreadable,
a required column absent, a malformed statement, output not writable), 0 otherwise.

Its benchmark, `duecourse bench match`, is `workers.bench.match`; `python -m workers.batch.match_cli bench ...`
runs it too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TextIO

from activities.cash_matching.engine import MatchingEngine
from activities.cash_matching.model import IncomingPayment, MatchConfig, MatchResult, OpenInvoice
from workers.batch.csv_io import (
    CsvLoad,
    InputFileError,
    RowError,
    read_aliases,
    read_invoices,
    write_matches,
)
from workers.batch.payments_in import PaymentFile, read_payment_file

_SHOWN_ROW_ERRORS = 50


def _threshold(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


class _ProgressBar:
    """A one-line bar on a terminal's stderr; nothing at all when stderr is a file or a pipe."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.started = time.perf_counter()

    def __call__(self, done: int) -> None:
        width = 30
        filled = width * done // self.total
        rate = done / max(time.perf_counter() - self.started, 1e-9)
        self.stream.write(
            f"\rmatching [{'#' * filled}{'.' * (width - filled)}] {done:,}/{self.total:,} payments {rate:,.0f}/s"
        )
        if done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def _report_row_errors(errors: Sequence[RowError], stream: TextIO) -> None:
    for error in errors[:_SHOWN_ROW_ERRORS]:
        print(f"{error} (row skipped)", file=stream)
    if len(errors) > _SHOWN_ROW_ERRORS:
        print(f"... and {len(errors) - _SHOWN_ROW_ERRORS} more bad rows, all skipped", file=stream)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="duecourse match",
        description="Batch cash application: match bank payments to open invoices.",
    )
    parser.add_argument("--invoices", required=True, metavar="INVOICES.csv", help="open invoices")
    parser.add_argument("--payments", required=True, metavar="PAYMENTS.csv",
                        help="incoming payments: PAYMENTS.csv or a CAMT.053, BAI2, MT940 or OFX statement")
    parser.add_argument("--out", required=True, metavar="MATCHES.json", help="where to write the decisions")
    parser.add_argument("--aliases", metavar="ALIASES.csv", help="learned payer aliases: payer_name,customer_id")
    parser.add_argument(
        "--auto-threshold",
        type=_threshold,
        default=MatchConfig().auto_threshold,
        help="confidence from which a safe match is applied without review (default %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on stdout")
    return parser.parse_args(argv)


def match_main(argv: list[str]) -> int:
    args = _arguments(argv)
    try:
        invoices = read_invoices(args.invoices)
        payment_file = read_payment_file(args.payments)
        aliases: CsvLoad[tuple[str, str]] = read_aliases(args.aliases) if args.aliases else CsvLoad()
    except InputFileError as exc:
        print(f"duecourse match: error: {exc}", file=sys.stderr)
        return 2
    payments = payment_file.load
    errors = [*invoices.errors, *payments.errors, *aliases.errors]
    _report_row_errors(errors, sys.stderr)
    if payment_file.format != "csv":
        print(f"{args.payments}: {payment_file.describe()}", file=sys.stderr)

    config = replace(MatchConfig(), auto_threshold=args.auto_threshold)
    engine = MatchingEngine(invoices.records, dict(aliases.records), config)
    progress: Callable[[int], None] | None = (
        _ProgressBar(len(payments.records), sys.stderr) if sys.stderr.isatty() else None
    )
    results = engine.match_all(payments.records, progress)
    try:
        write_matches(args.out, results)
    except OSError as exc:
        print(f"duecourse match: error: {args.out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 2
    _report_summary(args, invoices, payment_file, results, errors)
    return 0


def _report_summary(
    args: argparse.Namespace,
    invoices: CsvLoad[OpenInvoice],
    payment_file: PaymentFile,
    results: Sequence[MatchResult],
    errors: Sequence[RowError],
) -> None:
    """One line on stderr, and with `--json` one summary object on stdout."""
    payments: CsvLoad[IncomingPayment] = payment_file.load
    decisions = Counter(r.decision for r in results)
    skipped = invoices.rows_skipped + payments.rows_skipped
    print(
        f"{args.payments}: {payments.rows_read} rows read, {payments.rows_skipped} skipped; "
        f"{args.invoices}: {invoices.rows_read} rows read, {invoices.rows_skipped} skipped; "
        f"{len(results)} payments matched: {decisions['auto']} auto, {decisions['review']} review, "
        f"{decisions['unmatched']} unmatched -> {args.out}",
        file=sys.stderr,
    )
    if args.json:
        summary = {
            "payments": len(results),
            "auto": decisions["auto"],
            "review": decisions["review"],
            "unmatched": decisions["unmatched"],
            "skipped_rows": skipped,
            "out": str(args.out),
            "invoices": len(invoices.records),
            "rows_read": {"payments": payments.rows_read, "invoices": invoices.rows_read},
            "row_errors": [
                {"file": e.file, "row": e.row_number, "column": e.column, "message": e.message} for e in errors
            ],
        }
        if payment_file.format != "csv":
            summary["payments_format"] = payment_file.format
            summary["skipped_debits"] = payment_file.skipped_debits
            summary["skipped_unbooked"] = payment_file.skipped_unbooked
        print(json.dumps(summary))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["bench"]:
        from workers.bench.match import bench_match_main

        sys.exit(bench_match_main(arguments[1:]))
    sys.exit(match_main(arguments))
