"""`duecourse forecast` and `duecourse risk`: the cash-in forecast and the risk score on files (issue 11).

`duecourse forecast --invoices INVOICES.csv --payments PAID.csv --as-of YYYY-MM-DD [--weeks 13] --out FORECAST.json`
`duecourse risk --invoices INVOICES.csv --payments PAID.csv --as-of YYYY-MM-DD --out RISK.json`
`duecourse forecast --backtest N [--invoices ... --payments ... --as-of ...] [--weeks 13] [--json] [--out F]`

Both run the product's models (`activities.forecasting`) on the files and use nothing dated after `--as-of`:
invoices issued after it and payments dated after it are ignored, counted on stderr, and change nothing.
Every bad row is reported on stderr (file, line, column, what is wrong) and skipped. Exit status 2 when a
file cannot be used at all (missing, unreadable, a required column absent, output not writable) or the
arguments are incomplete, 0 otherwise. With `--json` exactly one summary object is printed on stdout.

`--backtest N` forecasts as of each of the last N month-ends that have a full window of payments after them
and prints the error table of the model and its two baselines; without files it runs on the seeded synthetic
two-year history (`activities.forecasting.synthetic`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TextIO

from workers.cli import EXIT_USAGE, iso_date, json_flag

if TYPE_CHECKING:
    from activities.cash_matching.model import OpenInvoice
    from activities.forecasting.backtest import Backtest
    from activities.forecasting.history import AppliedPayment, Book
    from workers.batch.csv_io import CsvLoad, RowError
    from workers.cli import Commands

_SHOWN_ROW_ERRORS = 50
_MODEL_NAMES = {"model": "model", "due_date": "due date", "customer_average": "customer average"}


def add_forecast_commands(commands: Commands) -> None:
    """`forecast` and `risk`: the models on INVOICES.csv and PAID.csv."""
    forecast = commands.add_parser(
        "forecast",
        help="cash-in forecast (13 weeks, 30/60/90 days) from INVOICES.csv and PAID.csv, or --backtest N",
        description="Cash-in forecast per currency from invoice-level payment-date predictions.",
    )
    _file_arguments(forecast, required=False)
    forecast.add_argument("--weeks", type=_weeks, default=13, help="weeks to forecast (default %(default)s)")
    forecast.add_argument("--out", metavar="FORECAST.json", help="where to write the forecast")
    forecast.add_argument(
        "--backtest",
        type=_positive,
        metavar="N",
        help="forecast as of each of the last N month-ends and compare with what arrived "
        "(on the files, or without them on the synthetic demo history)",
    )
    forecast.add_argument("--seed", type=int, default=7, help="seed of the synthetic history for --backtest")
    json_flag(forecast)
    forecast.set_defaults(run=cmd_forecast)

    risk = commands.add_parser(
        "risk",
        help="risk score per customer from INVOICES.csv and PAID.csv",
        description="Risk score (0..1, 1 = most likely to pay late), grade A..E and reasons per customer.",
    )
    _file_arguments(risk, required=True)
    risk.add_argument("--out", required=True, metavar="RISK.json", help="where to write the scores")
    json_flag(risk)
    risk.set_defaults(run=cmd_risk)


def _file_arguments(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--invoices", required=required, metavar="INVOICES.csv", help="invoices, open and paid")
    parser.add_argument("--payments", required=required, metavar="PAID.csv", help="payments applied to invoices")
    parser.add_argument("--as-of", type=iso_date, required=required, metavar="YYYY-MM-DD", help="the day to stand on")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _weeks(text: str) -> int:
    value = _positive(text)
    if value > 104:
        raise argparse.ArgumentTypeError(f"at most 104 weeks (two years): {text!r}")
    return value


@dataclass(slots=True)
class _Inputs:
    invoices: CsvLoad[OpenInvoice]
    payments: CsvLoad[AppliedPayment]

    @property
    def errors(self) -> list[RowError]:
        return [*self.invoices.errors, *self.payments.errors]


def _load(command: str, args: argparse.Namespace) -> _Inputs | None:
    """Both files, bad rows reported on stderr; None (after saying why) when a file cannot be used at all."""
    from workers.batch.csv_io import InputFileError, read_invoices
    from workers.batch.forecast_io import read_paid

    try:
        invoices = read_invoices(args.invoices)
        payments = read_paid(args.payments, {i.invoice_id for i in invoices.records})
    except InputFileError as exc:
        print(f"duecourse {command}: error: {exc}", file=sys.stderr)
        return None
    inputs = _Inputs(invoices, payments)
    _report_row_errors(inputs.errors, sys.stderr)
    return inputs


def _book(args: argparse.Namespace, inputs: _Inputs) -> Book:
    from activities.forecasting.history import build_book

    book = build_book(inputs.invoices.records, inputs.payments.records, args.as_of)
    day = args.as_of.isoformat()
    if book.invoices_after_as_of:
        print(f"{args.invoices}: {_count(book.invoices_after_as_of, 'invoice')} issued after {day} ignored",
              file=sys.stderr)
    if book.payments_after_as_of:
        print(f"{args.payments}: {_count(book.payments_after_as_of, 'payment line')} dated after {day} "
              "(or on invoices issued after it) ignored", file=sys.stderr)
    if book.not_receivables:
        print(f"{args.invoices}: {_count(book.not_receivables, 'invoice')} with a total of zero or less ignored "
              "(a credit note is nothing to collect)", file=sys.stderr)
    return book


def cmd_forecast(args: argparse.Namespace) -> int:
    if args.backtest is not None:
        return _backtest(args)
    missing = [flag for flag, value in (("--invoices", args.invoices), ("--payments", args.payments),
                                        ("--as-of", args.as_of), ("--out", args.out)) if value is None]
    if missing:
        print(f"duecourse forecast: error: {', '.join(missing)} required (or --backtest N)", file=sys.stderr)
        return EXIT_USAGE
    inputs = _load("forecast", args)
    if inputs is None:
        return EXIT_USAGE
    from activities.forecasting.forecast import forecast_cash
    from workers.batch.forecast_io import write_json

    book = _book(args, inputs)
    forecast = forecast_cash(book, weeks=args.weeks)
    try:
        write_json(args.out, forecast.to_json())
    except OSError as exc:
        print(f"duecourse forecast: error: {args.out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    windows = "; ".join(f"{f.currency} {f.days_30:,} / {f.days_60:,} / {f.days_90:,}" for f in forecast.forecasts)
    print(f"{_count(len(forecast.invoices), 'open invoice')} as of {args.as_of}; expected in 30/60/90 days: "
          f"{windows or 'nothing open'} -> {args.out}", file=sys.stderr)
    if args.json:
        print(json.dumps({
            "out": str(args.out),
            "as_of": args.as_of.isoformat(),
            "open_invoices": len(forecast.invoices),
            "currencies": [f.currency for f in forecast.forecasts],
            "days_30": {f.currency: str(f.days_30) for f in forecast.forecasts},
            "days_60": {f.currency: str(f.days_60) for f in forecast.forecasts},
            "days_90": {f.currency: str(f.days_90) for f in forecast.forecasts},
            **_file_summary(inputs, book),
        }))
    return 0


def cmd_risk(args: argparse.Namespace) -> int:
    inputs = _load("risk", args)
    if inputs is None:
        return EXIT_USAGE
    from activities.forecasting.risk import risk_scores
    from workers.batch.forecast_io import write_json

    book = _book(args, inputs)
    scores = risk_scores(book)
    try:
        write_json(args.out, [s.to_json() for s in scores])
    except OSError as exc:
        print(f"duecourse risk: error: {args.out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    grades = Counter(s.grade for s in scores)
    shown = ", ".join(f"{grades[g]} {g}" for g in "ABCDE")
    print(f"{_count(len(scores), 'customer')} scored as of {args.as_of}: {shown} -> {args.out}", file=sys.stderr)
    if args.json:
        print(json.dumps({
            "out": str(args.out),
            "as_of": args.as_of.isoformat(),
            "customers": len(scores),
            "grades": {g: grades[g] for g in "ABCDE"},
            **_file_summary(inputs, book),
        }))
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from activities.forecasting.backtest import NotEnoughHistory, backtest

    if args.invoices is None and args.payments is None:
        from activities.forecasting.synthetic import synthetic_history

        history = synthetic_history(seed=args.seed)
        invoices: Sequence[OpenInvoice] = history.invoices
        payments: Sequence[AppliedPayment] = history.payments
        as_of: date = args.as_of or history.as_of
        source = f"the synthetic demo history (seed {args.seed})"
    elif args.invoices is None or args.payments is None or args.as_of is None:
        print("duecourse forecast: error: --backtest on files needs --invoices, --payments and --as-of "
              "(or none of them, for the synthetic history)", file=sys.stderr)
        return EXIT_USAGE
    else:
        inputs = _load("forecast", args)
        if inputs is None:
            return EXIT_USAGE
        invoices, payments, as_of = inputs.invoices.records, inputs.payments.records, args.as_of
        source = f"{args.invoices} and {args.payments}"
    try:
        result = backtest(invoices, payments, as_of, args.backtest, weeks=args.weeks)
    except NotEnoughHistory as exc:
        print(f"duecourse forecast: error: not enough history to backtest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    document = {"source": source, **result.to_json()}
    if args.out is not None:
        from workers.batch.forecast_io import write_json

        try:
            write_json(args.out, document)
        except OSError as exc:
            print(f"duecourse forecast: error: {args.out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
    if args.json:
        print(json.dumps(document))
    else:
        print("\n".join(backtest_table(result, source)))
    return 0


def backtest_table(result: Backtest, source: str) -> list[str]:
    """The backtest as a finance lead reads it: one row per currency and model."""
    ends = result.month_ends
    lines = [
        f"backtest as of {result.as_of} on {source}",
        f"{len(ends)} month-ends {ends[0]} .. {ends[-1]}, {result.weeks} weeks each; cash arriving on the invoices "
        "open at each month-end",
        "WAPE = sum |forecast - actual| / sum actual, pooled over the month-ends; bias = sum (forecast - actual) / "
        "sum actual",
        "",
        f"{'currency':<9}{'model':<18}{'weekly WAPE':>12}{'30d WAPE':>10}{'60d WAPE':>10}{'90d WAPE':>10}"
        f"{'30d bias':>10}{'60d bias':>10}{'90d bias':>10}",
    ]
    for currency in result.currencies:
        for errors in currency.models:
            lines.append(
                f"{currency.currency:<9}{_MODEL_NAMES[errors.model]:<18}{_percent(errors.weekly_wape):>12}"
                + "".join(f"{_percent(errors.window_wape[d]):>10}" for d in (30, 60, 90))
                + "".join(f"{_percent(errors.window_bias[d], signed=True):>10}" for d in (30, 60, 90))
            )
    weeks = len(result.outcomes)
    lines.append("")
    lines.append(f"the model's 10th-90th percentile range held the actual in {_percent(result.band_coverage)} "
                 f"of {weeks} weeks (an honest range: about 80%)")
    auc = "n/a" if result.risk_auc is None else f"{result.risk_auc:.3f}"
    lines.append(f"risk score AUC for \"paid more than 30 days after due\": {auc} "
                 f"({result.risk_cases} invoices falling due after the month-ends)")
    return lines


def _percent(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _file_summary(inputs: _Inputs, book: Book) -> dict[str, Any]:
    return {
        "ignored_after_as_of": {"invoices": book.invoices_after_as_of, "payments": book.payments_after_as_of},
        "not_receivables": book.not_receivables,
        "rows_read": {"invoices": inputs.invoices.rows_read, "payments": inputs.payments.rows_read},
        "skipped_rows": inputs.invoices.rows_skipped + inputs.payments.rows_skipped,
        "row_errors": [
            {"file": e.file, "row": e.row_number, "column": e.column, "message": e.message} for e in inputs.errors
        ],
    }


def _report_row_errors(errors: Sequence[RowError], stream: TextIO) -> None:
    for error in errors[:_SHOWN_ROW_ERRORS]:
        print(f"{error} (row skipped)", file=stream)
    if len(errors) > _SHOWN_ROW_ERRORS:
        print(f"... and {len(errors) - _SHOWN_ROW_ERRORS} more bad rows, all skipped", file=stream)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
