"""`duecourse sandbox estimate add|accept` and `duecourse sandbox time add`: billable work in the sandbox ledger.

They act on the running dev stack's sandbox ledger as someone working in it would; each change is announced
through the ledger's webhook outbox, so accepting an estimate starts its quote-to-invoice workflow exactly as a
real ledger's webhook would. With `--json` each prints exactly one JSON object.
"""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from workers.cli import _ledger_today, _sandbox, amount, emit, iso_date, json_flag

if TYPE_CHECKING:
    from workers.cli import Commands


def hours(text: str) -> Decimal:
    """Hours worked on one day: more than 0, at most 24 (1.5 is an hour and a half)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number of hours: {text!r} (write it like 1.5)") from None
    if not value.is_finite() or value <= 0 or value > 24:
        raise argparse.ArgumentTypeError(f"hours must be more than 0 and at most 24: {text!r}")
    return value


def credit_limit(text: str) -> Decimal:
    """A customer's credit limit: zero or more (zero: every new invoice goes to a credit review)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount: {text!r} (write it like 5000.00)") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"a credit limit must be zero or more: {text!r}")
    return value


def cmd_estimate_add(args: argparse.Namespace) -> int:
    ledger, stack = _sandbox()
    estimate = ledger.add_estimate(args.customer, args.amount, issue_date=_ledger_today(stack),
                                   description=args.description)
    emit(args, {"estimate_id": estimate.id, "estimate_number": estimate.number, "customer_id": estimate.customer_id,
                "amount": str(estimate.total.amount), "currency": estimate.currency,
                "status": estimate.status.value}, f"{estimate.id} {estimate.number}")
    return 0


def cmd_estimate_accept(args: argparse.Namespace) -> int:
    ledger, _ = _sandbox()
    estimate = ledger.accept_estimate(args.estimate_id)
    emit(args, {"estimate_id": estimate.id, "estimate_number": estimate.number, "status": estimate.status.value},
         f"{estimate.number} accepted")
    return 0


def cmd_time_add(args: argparse.Namespace) -> int:
    ledger, stack = _sandbox()
    entry = ledger.add_time_entry(args.customer, args.hours, args.rate, args.description,
                                  on=args.date or _ledger_today(stack))
    emit(args, {"time_entry_id": entry.id, "customer_id": entry.customer_id, "date": entry.date.isoformat(),
                "hours": str(entry.hours), "rate": str(entry.rate.amount), "currency": entry.rate.currency},
         entry.id)
    return 0


def add_document_commands(sandbox: Commands) -> None:
    """`sandbox estimate add|accept` and `sandbox time add`, under the `sandbox` command group."""
    estimate = sandbox.add_parser("estimate", help="quotes (estimates)").add_subparsers(
        dest="estimate_command", required=True)
    e_add = estimate.add_parser("add", help="add a pending estimate; prints its id and number")
    e_add.add_argument("--customer", required=True)
    e_add.add_argument("--amount", type=amount, required=True)
    e_add.add_argument("--description", default="Professional services")
    json_flag(e_add)
    e_add.set_defaults(run=cmd_estimate_add)
    e_accept = estimate.add_parser("accept", help="the customer accepts the estimate (starts its invoicing)")
    e_accept.add_argument("estimate_id")
    json_flag(e_accept)
    e_accept.set_defaults(run=cmd_estimate_accept)

    time = sandbox.add_parser("time", help="billable time entries").add_subparsers(dest="time_command", required=True)
    t_add = time.add_parser("add", help="add a billable time entry; prints its id")
    t_add.add_argument("--customer", required=True)
    t_add.add_argument("--hours", type=hours, required=True)
    t_add.add_argument("--rate", type=amount, required=True, help="per hour, in the customer's currency")
    t_add.add_argument("--description", required=True)
    t_add.add_argument("--date", type=iso_date, help="the day worked (default: the ledger's today)")
    json_flag(t_add)
    t_add.set_defaults(run=cmd_time_add)
