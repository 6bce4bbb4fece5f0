"""`duecourse report aging|kpis|forecast|worklist [--as-of YYYY-MM-DD] [--json]`: the finance lead's reports.

They read the running dev stack's sandbox ledger (a clear error, exit 2, when no stack is running), or, with
`--invoices INVOICES.csv --payments PAID.csv --as-of D`, the batch files `duecourse forecast` reads. `--as-of`
means as the books stood at the end of that day (default: the ledger's today): invoices issued after it are
not there and payments after it have not happened. The figures are `activities.reports`'; this file reads the
sources, and prints a table for people or, with `--json`, exactly one JSON object on stdout. Warnings (bad
rows, lifecycles not reachable) go to stderr; a file that cannot be used at all exits 2.

- `aging`: AR by bucket (current, 1-30, 31-60, 61-90, 90+ days past due), overall and per customer;
- `kpis [--days 90] [--months 12]`: DSO, best-possible DSO, ADD, CEI over the last N days, monthly trend;
- `forecast [--weeks 13] [--backtest N]`: cash-in per week with a range and in 30/60/90 days; with `--backtest`
  also forecast-vs-actual as of the last N month-ends;
- `worklist [--owner O] [--stage S] [--grade G] [--limit N]`: open invoices ranked by expected loss and urgency,
  with stage and owner from the lifecycles when the stack's Temporal answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workers.cli import EXIT_USAGE, CliError, iso_date, json_flag

if TYPE_CHECKING:
    from activities.forecasting.backtest import Backtest
    from activities.reports.books import Books
    from workers.batch.csv_io import RowError

_SHOWN_ROW_ERRORS = 50
_NAME_WIDTH = 28
_MODEL_NAMES = {"model": "model", "due_date": "due-date baseline", "customer_average": "customer-average baseline"}


def add_report_commands(report: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The four report subcommands, under `duecourse report`."""
    aging = report.add_parser("aging", help="AR aging by bucket, overall and per customer, per currency")
    _common(aging)
    aging.set_defaults(run=cmd_report_aging)

    kpis = report.add_parser("kpis", help="DSO, best-possible DSO, ADD and CEI, with the monthly trend")
    _common(kpis)
    kpis.add_argument("--days", type=_whole(1, 3660), default=90, help="the headline period: the last N days "
                      "up to --as-of (default %(default)s)")
    kpis.add_argument("--months", type=_whole(0, 120), default=12, help="months of trend (default %(default)s)")
    kpis.set_defaults(run=cmd_report_kpis)

    forecast = report.add_parser("forecast", help="cash-in forecast: 13 weeks with a range, 30/60/90 days")
    _common(forecast)
    forecast.add_argument("--weeks", type=_whole(1, 104), default=13, help="weeks to forecast (default %(default)s)")
    forecast.add_argument("--backtest", type=_whole(1, 36), metavar="N",
                          help="also forecast as of each of the last N month-ends and compare with what arrived")
    forecast.set_defaults(run=cmd_report_forecast)

    worklist = report.add_parser("worklist", help="open invoices ranked by expected loss and urgency")
    _common(worklist)
    worklist.add_argument("--owner", help="only this collector's invoices ('-': nobody's yet)")
    worklist.add_argument("--stage", help="only invoices whose lifecycle is in this stage (e.g. paused, escalated)")
    worklist.add_argument("--grade", action="append", default=[], choices=list("ABCDE"),
                          help="only customers of this risk grade (repeatable)")
    worklist.add_argument("--limit", type=_whole(1, 100_000), default=25,
                          help="rows per currency in the table (default %(default)s; --json lists all)")
    worklist.set_defaults(run=cmd_report_worklist)
    from workers.report_activity_cli import add_activity_command

    add_activity_command(report)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", type=iso_date, metavar="YYYY-MM-DD",
                        help="as the books stood at the end of this day (default: the ledger's today)")
    parser.add_argument("--invoices", metavar="INVOICES.csv", help="read these invoices instead of the dev stack")
    parser.add_argument("--payments", metavar="PAID.csv", help="payments applied to the invoices (with --invoices)")
    json_flag(parser)


def _whole(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}: {text!r}")
        return value

    return parse


# --- where the figures come from ---------------------------------------------------------------------


@dataclass
class _Source:
    books: Books
    as_of: date
    names: dict[str, str]
    where: str
    stack: Any = None  # the dev stack's StackInfo when reading its ledger


def _source(args: argparse.Namespace, command: str) -> _Source | None:
    """The books to report on; None (after saying why on stderr) when they cannot be read at all."""
    if args.invoices is not None or args.payments is not None:
        return _from_files(args, command)
    from workers.cli import _ledger_today, _sandbox

    ledger, stack = _sandbox()
    if not Path(stack.sandbox_db).exists():
        raise CliError(f"the dev stack's ledger {stack.sandbox_db} is missing (restart `duecourse dev`)")
    from workers.report_books import books_from_ledger

    today = _ledger_today(stack)
    books = books_from_ledger(ledger, today)
    names = {customer.id: customer.name for customer in ledger.list_customers()}
    return _Source(books, args.as_of or today, names, f"the dev stack's sandbox ledger ({stack.company_name})",
                   stack)


def _from_files(args: argparse.Namespace, command: str) -> _Source | None:
    missing = [flag for flag, value in (("--invoices", args.invoices), ("--payments", args.payments),
                                        ("--as-of", args.as_of)) if value is None]
    if missing:
        print(f"duecourse report {command}: error: reading files needs --invoices, --payments and --as-of "
              f"({', '.join(missing)} missing)", file=sys.stderr)
        return None
    from workers.batch.csv_io import InputFileError
    from workers.report_books import books_from_files

    try:
        loaded = books_from_files(args.invoices, args.payments, args.as_of)
    except InputFileError as error:
        print(f"duecourse report {command}: error: {error}", file=sys.stderr)
        return None
    _row_errors(loaded.errors)
    day = args.as_of.isoformat()
    if loaded.ignored_invoices:
        print(f"{args.invoices}: {_count(loaded.ignored_invoices, 'invoice')} issued after {day} ignored",
              file=sys.stderr)
    if loaded.ignored_payments:
        print(f"{args.payments}: {_count(loaded.ignored_payments, 'payment line')} dated after {day} ignored",
              file=sys.stderr)
    return _Source(loaded.books, args.as_of, {}, f"{args.invoices} and {args.payments}")


def _row_errors(errors: Sequence[RowError]) -> None:
    for error in errors[:_SHOWN_ROW_ERRORS]:
        print(f"{error} (row skipped)", file=sys.stderr)
    if len(errors) > _SHOWN_ROW_ERRORS:
        print(f"... and {len(errors) - _SHOWN_ROW_ERRORS} more bad rows, all skipped", file=sys.stderr)


def _print(args: argparse.Namespace, document: dict[str, Any], lines: list[str]) -> None:
    print(json.dumps(document, default=str) if args.json else "\n".join(line.rstrip() for line in lines))


# --- aging -------------------------------------------------------------------------------------------------


def cmd_report_aging(args: argparse.Namespace) -> int:
    source = _source(args, "aging")
    if source is None:
        return EXIT_USAGE
    from activities.reports.aging import aging

    report = aging(source.books, source.as_of, source.names)
    _print(args, {**report.to_json(), "source": source.where}, aging_table(report.to_json(), source.where))
    return 0


def aging_table(document: dict[str, Any], where: str) -> list[str]:
    labels = document["buckets"]
    lines = [f"AR aging as of {document['as_of']} ({where}); days past due"]
    if not document["currencies"]:
        return [*lines, "nothing open"]
    header = f"{'':<{_NAME_WIDTH}}{'invoices':>9}" + "".join(f"{label:>15}" for label in labels) + f"{'total':>16}"
    for currency in document["currencies"]:
        lines += ["", f"{currency['currency']}", header,
                  _aging_line("all customers", currency["open_invoices"], currency["buckets"], currency["total"]),
                  f"{'  share':<{_NAME_WIDTH + 9}}" + "".join(
                      f"{'-' if currency['shares'][label] is None else str(currency['shares'][label]) + '%':>15}"
                      for label in labels)]
        lines += [_aging_line("  " + c["customer_name"], c["open_invoices"], c["buckets"], c["total"])
                  for c in currency["customers"]]
    return lines


def _aging_line(name: str, invoices: int, buckets: dict[str, str], total: str) -> str:
    return (f"{_cut(name):<{_NAME_WIDTH}}{invoices:>9}" + "".join(f"{_grouped(v):>15}" for v in buckets.values())
            + f"{_grouped(total):>16}")


# --- KPIs ----------------------------------------------------------------------------------------------------


def cmd_report_kpis(args: argparse.Namespace) -> int:
    source = _source(args, "kpis")
    if source is None:
        return EXIT_USAGE
    from activities.reports.kpis import kpi_report

    report = kpi_report(source.books, source.as_of, days=args.days, months=args.months)
    _print(args, {**report.to_json(), "source": source.where}, kpi_table(report.to_json(), source.where))
    return 0


def kpi_table(document: dict[str, Any], where: str) -> list[str]:
    period = document["period"]
    lines = [f"Collection KPIs as of {document['as_of']} ({where})",
             f"period {period['from']} .. {period['to']} ({period['days']} days)"]
    lines += [f"  {name.replace('_', ' ')} = {formula}" for name, formula in document["formulas"].items()]
    if not document["currencies"]:
        return [*lines, "", "no receivables and no sales in the period"]
    for currency in document["currencies"]:
        code = currency["currency"]
        lines += ["", f"{code}: DSO {_figure(currency['dso'])} days · best possible "
                  f"{_figure(currency['best_possible_dso'])} · ADD {_figure(currency['add'])} · "
                  f"CEI {_figure(currency['cei'], '%')}",
                  f"  opening AR {_grouped(currency['opening_ar'])} · credit sales {_grouped(currency['sales'])} · "
                  f"closing AR {_grouped(currency['closing_ar'])} (current {_grouped(currency['closing_current_ar'])})"
                  f" · collected {_grouped(currency['collected'])}"]
        if currency["trend"]:
            lines.append(f"  {'month':<9}{'sales':>16}{'closing AR':>16}{'DSO':>8}{'best':>8}{'ADD':>8}{'CEI':>8}")
            lines += [f"  {m['month']:<9}{_grouped(m['sales']):>16}{_grouped(m['closing_ar']):>16}"
                      f"{_figure(m['dso']):>8}{_figure(m['best_possible_dso']):>8}{_figure(m['add']):>8}"
                      f"{_figure(m['cei'], '%'):>8}" for m in currency["trend"]]
    return lines


# --- forecast ------------------------------------------------------------------------------------------------


def cmd_report_forecast(args: argparse.Namespace) -> int:
    source = _source(args, "forecast")
    if source is None:
        return EXIT_USAGE
    from activities.reports.cash_in import cash_forecast, forecast_against_actual, month_ahead

    forecast = cash_forecast(source.books, source.as_of, weeks=args.weeks)
    document: dict[str, Any] = {
        "as_of": source.as_of.isoformat(), "weeks": args.weeks, "source": source.where,
        "open_invoices": len(forecast.invoices),
        "currencies": [f.to_json() for f in forecast.forecasts],
        "invoices": [{**i.to_json(), "customer_id": i.customer_id, "currency": i.currency,
                      "balance": str(i.balance)} for i in forecast.invoices],
    }
    checked: Backtest | None = None
    if args.backtest is not None:
        checked = forecast_against_actual(source.books, source.as_of, months=args.backtest, weeks=args.weeks)
        if checked is None:
            print(f"duecourse report forecast: not enough history for a backtest: no month-end before "
                  f"{source.as_of} has {max(7 * args.weeks, 90)} days of payments after it", file=sys.stderr)
            document["backtest"] = None
        else:
            document["backtest"] = {**checked.to_json(),
                                    "month_ahead": [m.to_json() for m in month_ahead(checked)]}
    _print(args, document, forecast_table(document, checked))
    return 0


def forecast_table(document: dict[str, Any], checked: Backtest | None) -> list[str]:
    lines = [f"Cash-in forecast as of {document['as_of']} ({document['source']}): "
             f"{_count(document['open_invoices'], 'open invoice')}; week 1 starts the day after"]
    if not document["currencies"]:
        lines.append("nothing open: nothing to forecast")
    for currency in document["currencies"]:
        lines += ["", f"{currency['currency']}: expected in 30 days {_grouped(currency['days_30'])} · 60 days "
                  f"{_grouped(currency['days_60'])} · 90 days {_grouped(currency['days_90'])}",
                  f"  {'week':<6}{'from':<12}{'to':<12}{'expected':>16}{'low (p10)':>16}{'high (p90)':>16}"]
        lines += [f"  {n:<6}{w['start']:<12}{w['end']:<12}{_grouped(w['expected']):>16}{_grouped(w['low']):>16}"
                  f"{_grouped(w['high']):>16}" for n, w in enumerate(currency["weeks"], start=1)]
    if checked is not None:
        lines += ["", *backtest_lines(checked)]
    return lines


def backtest_lines(checked: Backtest) -> list[str]:
    """The backtest's error table: one row per currency and model (WAPE and bias pooled over the month-ends)."""
    ends = checked.month_ends
    lines = [f"Forecast against actual: as of {len(ends)} month-ends {ends[0]} .. {ends[-1]}, cash arriving on "
             "the invoices open then",
             f"  {'currency':<9}{'model':<27}{'weekly WAPE':>12}{'30d WAPE':>10}{'60d WAPE':>10}{'90d WAPE':>10}"
             f"{'30d bias':>10}"]
    for currency in checked.currencies:
        for errors in currency.models:
            lines.append(f"  {currency.currency:<9}{_MODEL_NAMES[errors.model]:<27}{_percent(errors.weekly_wape):>12}"
                         + "".join(f"{_percent(errors.window_wape[d]):>10}" for d in (30, 60, 90))
                         + f"{_percent(errors.window_bias[30], signed=True):>10}")
    lines.append(f"  the 10th-90th percentile range held the actual week in {_percent(checked.band_coverage)} of weeks")
    return lines


# --- worklist --------------------------------------------------------------------------------------------------


def cmd_report_worklist(args: argparse.Namespace) -> int:
    source = _source(args, "worklist")
    if source is None:
        return EXIT_USAGE
    from activities.reports.worklist import WorklistFilter, worklist

    facts, note = _lifecycles(source)
    if note:
        print(f"duecourse report worklist: stage and owner not shown: {note}", file=sys.stderr)
    if (args.owner or args.stage) and note:
        print("duecourse report worklist: --owner and --stage need the lifecycles; nothing matches without them",
              file=sys.stderr)
    which = WorklistFilter(owner=args.owner, stage=args.stage, grades=frozenset(args.grade))
    result = worklist(source.books, source.as_of, facts, which, source.names)
    document = {**result.to_json(), "source": source.where, "lifecycles": note is None, "lifecycles_note": note}
    _print(args, document, worklist_table(document, args.limit))
    return _finish(source)


def _lifecycles(source: _Source) -> tuple[dict[str, Any], str | None]:
    stack = source.stack
    if stack is None:
        return {}, "read from files, which hold no lifecycles"
    if not _alive(stack.pid):
        return {}, f"the dev stack (pid {stack.pid}) is not running"
    from workers.cli import _store
    from workers.client import connect
    from workers.report_books import read_lifecycles

    facts, note = asyncio.run(read_lifecycles(lambda: connect(stack.temporal_address, stack.namespace), "sandbox",
                                              stack.tenant, _store(), stack.clock))
    return dict(facts), note


def _finish(source: _Source) -> int:
    if source.stack is None:
        return 0
    from workers.exit import finish

    return finish(0)  # the Temporal client's threads must not outlive the answer


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but running
    return True


def worklist_table(document: dict[str, Any], limit: int) -> list[str]:
    where = "stage and owner from the lifecycles" if document["lifecycles"] else "ledger only"
    lines = [f"Collector worklist as of {document['as_of']} ({document['source']}; {where})",
             f"  {document['ranking']}"]
    if not document["currencies"]:
        return [*lines, "", "nobody to chase: nothing overdue, promised or disputed"]
    for currency in document["currencies"]:
        rows = currency["invoices"]
        lines += ["", f"{currency['currency']} ({_count(len(rows), 'invoice')}"
                  + (f", the first {limit} shown)" if len(rows) > limit else ")"),
                  f"  {'#':>3} {'invoice':<12}{'customer':<{_NAME_WIDTH}}{'due':<11}{'days':>5}{'amount due':>14}"
                  f"{'risk':>6}{'at stake':>14}{'priority':>14} {'stage':<12}{'owner':<20}"]
        for row in rows[:limit]:
            lines.append(f"  {row['rank']:>3} {_cut(row['invoice_number'], 11):<12}"
                         f"{_cut(row['customer_name']):<{_NAME_WIDTH}}{row['due_date']:<11}{row['days_overdue']:>5}{_grouped(row['amount_due']):>14}"
                         f"{row['risk_score']:>6.2f}{_grouped(row['at_stake']):>14}{row['priority']:>14,.0f} "
                         f"{row['stage'] or '-':<12}{_cut(row['owner'] or '-', 19):<20}")
            lines.append(f"      {'; '.join(row['why'])}")
    return lines


# --- words and numbers ---------------------------------------------------------------------------------------


def _grouped(amount: str) -> str:
    return f"{Decimal(amount):,}"


def _figure(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.1f}{unit}"


def _percent(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _cut(text: str, width: int = _NAME_WIDTH - 1) -> str:
    """One line of at most `width` characters: a customer's name may hold anything, newlines included."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
