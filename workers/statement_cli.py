"""`duecourse statement send CUSTOMER_ID [--period YYYY-MM] [--json]`: a customer's statement on request, and
the daily Temporal Schedule that starts the monthly ones.

`send` starts the `StatementRun` of one customer and month (id `statement:<ledger>:<tenant>:<customer>:<YYYY-MM>`)
and returns at once: what happens next is the policy's `[statements]` mode (shadow, draft: a `statement`
approval item, auto). Without `--period`, the ledger's current month to date. Exit 1: that run already exists or
the customer is unknown; exit 2: bad input or no Temporal.
`ensure_statement_schedule` creates the schedule `statements:<ledger>:<tenant>` (one `StatementSchedule` run a
ledger day; the workflow acts on the policy's day of the month).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from workers.cli import EXIT_USAGE, json_flag
from workers.exit import finish

if TYPE_CHECKING:
    from temporalio.client import Client

    from workers.cli import Commands
    from workflows.calendar import LedgerClock

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def period_arg(text: str) -> str:
    if not PERIOD.match(text):
        raise argparse.ArgumentTypeError(f"not a month: {text!r} (write it as YYYY-MM, e.g. 2026-03)")
    return text


async def ensure_statement_schedule(client: Client, ledger: str, tenant: str, task_queue: str,
                                    company_name: str, clock: LedgerClock) -> str:
    """Create the statements schedule of a ledger company, once: a run every ledger day (a demo day in the dev
    stack), each of which acts only on the policy's day of the month."""
    from temporalio.client import (
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleAlreadyRunningError,
        ScheduleIntervalSpec,
        ScheduleOverlapPolicy,
        SchedulePolicy,
        ScheduleSpec,
    )

    from workflows.statements import StatementSchedule, StatementScheduleInput, statement_schedule_id

    identifier = statement_schedule_id(ledger, tenant)
    every = timedelta(seconds=clock.day_seconds) if clock.day_seconds else timedelta(days=1)
    try:
        await client.create_schedule(identifier, Schedule(
            action=ScheduleActionStartWorkflow(
                StatementSchedule.run,
                StatementScheduleInput(ledger=ledger, tenant=tenant, company_name=company_name, clock=clock),
                id=identifier, task_queue=task_queue),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP)))
    except ScheduleAlreadyRunningError:
        pass
    return identifier


def cmd_statement_send(args: argparse.Namespace) -> int:
    from temporalio.exceptions import WorkflowAlreadyStartedError

    from workers.client import connect
    from workers.settings import Settings, read_stack
    from workflows.statements import StatementRun, StatementRunInput, statement_workflow_id

    settings = Settings.load()
    stack = read_stack(settings.home)
    tenant = args.tenant or (stack.tenant if stack else "demo")
    values: dict[str, Any] = {"ledger": args.ledger, "tenant": tenant, "customer_id": args.customer_id}
    if stack is not None:
        values |= {"company_name": stack.company_name, "clock": stack.clock}
        if args.ledger == "sandbox":
            problem = _unknown_customer(stack.sandbox_db, tenant, args.customer_id)
            if problem:
                print(f"duecourse: {problem}", file=sys.stderr)
                return 1
    request = StatementRunInput.model_validate({**values, "period": "2000-01"})
    today = request.clock.today(datetime.now(UTC), "UTC")
    request.period = args.period or f"{today.year:04d}-{today.month:02d}"
    if request.period > f"{today.year:04d}-{today.month:02d}":
        print(f"duecourse: period {request.period} has not started yet (ledger today is {today})", file=sys.stderr)
        return EXIT_USAGE
    workflow_id = statement_workflow_id(args.ledger, tenant, args.customer_id, request.period)

    async def start() -> int:
        try:
            client = await connect(settings.temporal_address, settings.namespace)
        except Exception as error:  # the SDK raises RuntimeError subclasses for an unreachable server
            print(f"duecourse: cannot reach Temporal at {settings.temporal_address} ({error}); is `duecourse dev` "
                  "running, or TEMPORAL_ADDRESS set?", file=sys.stderr)
            return EXIT_USAGE
        try:
            await client.start_workflow(StatementRun.run, request, id=workflow_id, task_queue=settings.task_queue)
        except WorkflowAlreadyStartedError:
            print(f"duecourse: the {request.period} statement of {args.customer_id} was already started "
                  f"({workflow_id})", file=sys.stderr)
            return 1
        payload = {"workflow_id": workflow_id, "customer_id": args.customer_id, "period": request.period}
        print(json.dumps(payload) if args.json else f"statement started: {workflow_id}")
        return 0

    return finish(asyncio.run(start()))


def _unknown_customer(sandbox_db: str, tenant: str, customer_id: str) -> str | None:
    from adapters.ledger import NotFound
    from adapters.ledgers.sandbox import SandboxLedger

    try:
        SandboxLedger(sandbox_db, tenant=tenant).get_customer(customer_id)
    except NotFound:
        return f"no customer {customer_id!r} in the sandbox ledger"
    return None


def add_statement_commands(commands: Commands) -> None:
    """`statement send`: a customer's statement on request."""
    statement = commands.add_parser("statement", help="customer statements").add_subparsers(
        dest="statement_command", required=True)
    send = statement.add_parser("send", help="start a customer's statement for a month (the policy's mode applies)")
    send.add_argument("customer_id")
    send.add_argument("--period", type=period_arg, help="YYYY-MM (default: the ledger's current month to date)")
    send.add_argument("--ledger", default="sandbox")
    send.add_argument("--tenant", help="the ledger company (default: the dev stack's)")
    json_flag(send)
    send.set_defaults(run=cmd_statement_send)
