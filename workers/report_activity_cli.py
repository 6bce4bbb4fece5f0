"""`duecourse report activity [--as-of YYYY-MM-DD] [--days 90] [--within 7] [--json]`: collections activity, and
`duecourse report narrative [--as-of YYYY-MM-DD] [--json]`: the weekly AR narrative (the template's text, every
figure from the aging, KPI, forecast and worklist reports: `activities.reports.narrative`).

Reminders sent per dunning level, reply and payment rates after each level, approval turnaround and the cash
application straight-through rate, over the last `--days` days up to `--as-of` (default: the ledger's today).
It reads the running dev stack: its store (audit log, inbound mail) and its sandbox ledger (payments); the
figures are `activities.reports.activity`'s, the reading is `workers.report_activity`'s.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from workers.cli import EXIT_USAGE, emit, iso_date, json_flag


def add_activity_command(report: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from workers.report_cli import _whole

    activity = report.add_parser("activity", help="reminders per level, reply and payment rates, approval "
                                 "turnaround, cash application straight-through rate")
    activity.add_argument("--as-of", type=iso_date, metavar="YYYY-MM-DD",
                          help="the period's last day (default: the ledger's today)")
    activity.add_argument("--days", type=_whole(1, 3660), default=90,
                          help="the period: the last N days up to --as-of (default %(default)s)")
    activity.add_argument("--within", type=_whole(0, 365), default=7, help="a reply or payment counts for a "
                          "reminder when it came within N days after it (default %(default)s)")
    json_flag(activity)
    activity.set_defaults(run=cmd_report_activity)

    narrative = report.add_parser("narrative", help="the weekly AR narrative for finance leads")
    narrative.add_argument("--as-of", type=iso_date, metavar="YYYY-MM-DD",
                           help="as the books stood at the end of this day (default: the ledger's today)")
    json_flag(narrative)
    narrative.set_defaults(run=cmd_report_narrative)


def cmd_report_activity(args: argparse.Namespace) -> int:
    from workers.cli import _store
    from workers.report_activity import activity_report
    from workers.report_cli import _source

    args.invoices = args.payments = None  # the activity lives in the stack's store: no batch files
    source = _source(args, "activity")
    if source is None:
        return EXIT_USAGE
    since = source.as_of - timedelta(days=args.days - 1)
    report = activity_report(_store(), source.books, since, source.as_of, args.within)
    document = report.to_json()
    emit(args, {**document, "source": source.where}, "\n".join(activity_lines(document)))
    return 0


def _rate(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _hours(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1f} h"


def activity_lines(document: dict[str, Any]) -> list[str]:
    lines = [f"Collections activity {document['since']} .. {document['as_of']} "
             f"(a reply or payment within {document['within_days']} days of a reminder counts for it)",
             f"reminders sent: {document['reminders_sent']}"]
    if document["levels"]:
        lines.append(f"  {'level':<7}{'sent':>6}{'replied':>9}{'reply rate':>12}{'paid':>6}{'payment rate':>14}")
        lines += [f"  {row['level']:<7}{row['sent']:>6}{row['replied']:>9}{_rate(row['reply_rate']):>12}"
                  f"{row['paid']:>6}{_rate(row['payment_rate']):>14}" for row in document["levels"]]
    approvals = document["approvals"]
    lines.append(f"approvals decided: {approvals['decisions']}; turnaround median {_hours(approvals['median_hours'])}"
                 f", mean {_hours(approvals['mean_hours'])}, 90th percentile {_hours(approvals['p90_hours'])}")
    cash = document["cash_application"]
    lines.append(f"cash application: {cash['deposits']} deposits decided, {cash['auto_applied']} applied "
                 f"automatically, {cash['by_person']} by a person: straight-through "
                 f"{_rate(cash['straight_through_rate'])} (shadow suggestions apart: {cash['shadow_suggestions']})")
    return lines


def cmd_report_narrative(args: argparse.Namespace) -> int:
    from activities.reports.aging import aging
    from activities.reports.cash_in import cash_forecast
    from activities.reports.kpis import kpi_report
    from activities.reports.narrative import choose_narrative, narrative_facts
    from activities.reports.worklist import worklist
    from workers.report_cli import _source

    args.invoices = args.payments = None
    source = _source(args, "narrative")
    if source is None:
        return EXIT_USAGE
    books, as_of = source.books, source.as_of
    facts = narrative_facts(aging(books, as_of, source.names).to_json(), kpi_report(books, as_of).to_json(),
                            cash_forecast(books, as_of).to_json(), worklist(books, as_of, names=source.names).to_json())
    chosen = choose_narrative(facts)
    emit(args, {"as_of": as_of.isoformat(), **chosen.to_json(), "facts": facts, "source": source.where}, chosen.text)
    return 0
