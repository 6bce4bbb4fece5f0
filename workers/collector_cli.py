"""Collector actions from the CLI (issue 9): `dispute open|resolve`, `promise`, `hold`, `assign`, `note`,
`handback`, `plan propose` (issue 12), and `invoice show`.

An invoice is found by its id alone, through Temporal visibility (running or closed); when several
ledgers or companies hold the same id, `--ledger` / `--tenant` pick one. The work is done by
`workers.collector_actions` and `workers.invoice_story`, the same code the web app runs.
`duecourse pause` is the kill switch, so pausing one invoice's dunning is `duecourse hold`.
Exit 1: the invoice cannot take the action (unknown, closed, no open dispute); exit 2: bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from workers.cli import EXIT_USAGE, amount, iso_date, json_flag
from workers.exit import finish

if TYPE_CHECKING:
    from temporalio.client import Client

    from adapters.store import Store
    from workers.cli import Commands
    from workers.collector_actions import CollectorAction
    from workflows.calendar import LedgerClock


def _clock() -> LedgerClock | None:
    from workers.settings import read_stack

    stack = read_stack()
    return stack.clock if stack else None


def _run(args: argparse.Namespace,
         action: Callable[[Client, Store], Awaitable[tuple[dict[str, Any], str]]]) -> int:
    from workers.cli import _store
    from workers.client import connect
    from workers.invoice_story import StoryError
    from workers.settings import Settings

    settings = Settings.load()

    async def main() -> tuple[dict[str, Any], str]:
        try:
            client = await connect(settings.temporal_address, settings.namespace)
        except Exception as error:  # the SDK raises RuntimeError subclasses for an unreachable server
            raise StoryError(f"cannot reach Temporal at {settings.temporal_address} ({error}); is "
                             "`duecourse dev` running, or TEMPORAL_ADDRESS set?", EXIT_USAGE) from error
        return await action(client, _store())

    try:
        payload, human = asyncio.run(main())
    except StoryError as error:
        print(f"duecourse: {error.message}", file=sys.stderr)
        return finish(error.code)
    if args.json:
        print(json.dumps(payload, default=str))
    else:
        print(human)
    return finish(0)


def _act(args: argparse.Namespace, request: CollectorAction) -> int:
    from workers.collector_actions import check_input, done_text, perform
    from workers.invoice_story import StoryError, find_invoice

    try:
        request = check_input(request)  # bad input is refused before anything is looked up
    except StoryError as error:
        print(f"duecourse: {error.message}", file=sys.stderr)
        return error.code
    by: str = args.by or os.environ.get("USER") or "operator"

    async def action(client: Client, store: Store) -> tuple[dict[str, Any], str]:
        found = await find_invoice(client, args.invoice_id, args.ledger, args.tenant)
        result = await perform(client, store, found, request, by=by, source="cli", clock=_clock())
        return result, done_text(result)

    return _run(args, action)


def _request(**fields: Any) -> CollectorAction:
    from workers.collector_actions import CollectorAction

    return CollectorAction.model_validate(fields)


def cmd_dispute_open(args: argparse.Namespace) -> int:
    return _act(args, _request(action="dispute", reason=args.reason))


def cmd_dispute_resolve(args: argparse.Namespace) -> int:
    return _act(args, _request(action="resolve", reject=args.reject, reason=args.reason or "",
                               credit_note=args.credit_note, write_off=args.write_off))


def cmd_promise(args: argparse.Namespace) -> int:
    return _act(args, _request(action="promise", until=args.until, note=args.note or ""))


def cmd_hold(args: argparse.Namespace) -> int:
    return _act(args, _request(action="pause", until=args.until, reason=args.reason or ""))


def cmd_assign(args: argparse.Namespace) -> int:
    return _act(args, _request(action="assign", collector=args.collector))


def cmd_note(args: argparse.Namespace) -> int:
    return _act(args, _request(action="note", text=args.text))


def cmd_handback(args: argparse.Namespace) -> int:
    return _act(args, _request(action="handback", note=args.note or ""))


def cmd_plan_propose(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    try:
        request = _request(action="plan", instalments=args.instalments, every_days=args.every_days,
                           first=args.first, note=args.note or "")
    except ValidationError as error:
        flags = {"instalments": "--instalments", "every_days": "--every-days"}
        for problem in error.errors(include_url=False):
            flag = flags.get(str(problem["loc"][0]), str(problem["loc"][0]))
            print(f"duecourse: {flag}: {problem['msg']} (got {problem.get('input')!r})", file=sys.stderr)
        return EXIT_USAGE
    return _act(args, request)


def cmd_invoice_show(args: argparse.Namespace) -> int:
    from workers.invoice_story import find_invoice, invoice_story, story_text

    async def action(client: Client, store: Store) -> tuple[dict[str, Any], str]:
        found = await find_invoice(client, args.invoice_id, args.ledger, args.tenant)
        story = await invoice_story(client, store, found, _clock())
        return story, story_text(story)

    return _run(args, action)


# --- parser ------------------------------------------------------------------------------------------------


def _target(p: argparse.ArgumentParser, acts: bool = True) -> None:
    p.add_argument("invoice_id", metavar="INVOICE_ID")
    p.add_argument("--ledger", help="the ledger, when several hold an invoice with this id")
    p.add_argument("--tenant", help="the company (tenant), when several hold an invoice with this id")
    if acts:
        p.add_argument("--by", help="who does it (default: $USER)")
    json_flag(p)


def add_collector_commands(commands: Commands) -> None:
    """`dispute open|resolve`, `promise`, `hold`, `assign`, `note`, `handback`, `invoice show`."""
    dispute = commands.add_parser("dispute", help="open or resolve a dispute on an invoice (pauses dunning)")
    actions = dispute.add_subparsers(dest="dispute_command", required=True)
    open_ = actions.add_parser("open", help="the customer disputes the invoice: dunning pauses")
    _target(open_)
    open_.add_argument("--reason", required=True)
    open_.set_defaults(run=cmd_dispute_open)
    resolve = actions.add_parser("resolve", help="the dispute is settled: dunning resumes")
    _target(resolve)
    outcome = resolve.add_mutually_exclusive_group()
    outcome.add_argument("--credit-note", type=amount, metavar="AMOUNT",
                         help="settle by a credit note of AMOUNT: a `credit_note` item, posted once approved")
    outcome.add_argument("--write-off", action="store_true",
                         help="settle by writing the balance off: a `write_off` item, posted once approved")
    outcome.add_argument("--reject", action="store_true", help="reject the customer's claim (needs --reason)")
    resolve.add_argument("--reason")
    resolve.set_defaults(run=cmd_dispute_resolve)

    promise = commands.add_parser("promise", help="the customer promised to pay by a date: dunning pauses until then")
    _target(promise)
    promise.add_argument("--until", type=iso_date, required=True, metavar="YYYY-MM-DD")
    promise.add_argument("--note")
    promise.set_defaults(run=cmd_promise)

    hold = commands.add_parser("hold", help="pause dunning on one invoice until a date (`pause` is the kill switch)")
    _target(hold)
    hold.add_argument("--until", type=iso_date, required=True, metavar="YYYY-MM-DD")
    hold.add_argument("--reason")
    hold.set_defaults(run=cmd_hold)

    assign = commands.add_parser("assign", help="give an invoice to a collector (shown on the worklist)")
    _target(assign)
    assign.add_argument("collector", metavar="COLLECTOR")
    assign.set_defaults(run=cmd_assign)

    note = commands.add_parser("note", help="add a note to an invoice (also written to the ledger)")
    _target(note)
    note.add_argument("text", metavar="TEXT")
    note.set_defaults(run=cmd_note)

    handback = commands.add_parser("handback", help="hand an escalated, paused or disputed invoice back to automation")
    _target(handback)
    handback.add_argument("--note")
    handback.set_defaults(run=cmd_handback)

    plan = commands.add_parser("plan", help="payment plans").add_subparsers(dest="plan_command", required=True)
    propose = plan.add_parser("propose", help="propose a payment plan: a `payment_plan` item; once approved, dunning "
                                              "follows the instalments' dates until one is missed")
    _target(propose)
    propose.add_argument("--instalments", type=int, required=True, metavar="N", help="2 to 60 instalments")
    propose.add_argument("--every-days", type=int, default=30, metavar="D", help="days between instalments (30)")
    propose.add_argument("--first", type=iso_date, metavar="YYYY-MM-DD",
                         help="the first instalment's date (default: --every-days from today)")
    propose.add_argument("--note")
    propose.set_defaults(run=cmd_plan_propose)

    invoice = commands.add_parser("invoice", help="an invoice's whole story").add_subparsers(
        dest="invoice_command", required=True)
    show = invoice.add_parser("show", help="stage, figures, reminders, audit log and ledger notes of an invoice")
    _target(show, acts=False)
    show.set_defaults(run=cmd_invoice_show)


__all__ = ["add_collector_commands"]
