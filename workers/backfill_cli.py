"""`duecourse sync --full LEDGER TENANT [--json]`: every open invoice of a connected company gets its lifecycle.

Starts the company's Backfill workflow, or attaches to the one already running, and follows it: a progress
bar on a terminal, a plain line per step otherwise, and with `--json` one object at the end (the summary).
The sandbox's tenant is `demo` (the dev stack's). Exit 0 when the backfill finished, 1 when it failed,
2 on bad input (an unknown ledger, a company not connected, Temporal not reachable).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from workers.cli import EXIT_USAGE, json_flag
from workers.exit import finish

if TYPE_CHECKING:
    from workers.cli import Commands
    from workers.settings import Settings
    from workflows.backfill import BackfillSummary

LEDGERS = ("sandbox", "quickbooks", "xero", "intacct")
POLL_SECONDS = 0.5
BAR_WIDTH = 30


class SyncError(Exception):
    pass


def add_sync_commands(commands: Commands) -> None:
    sync = commands.add_parser("sync", help="sync --full LEDGER TENANT: start a lifecycle for every open invoice")
    sync.add_argument("--full", action="store_true", required=True,
                      help="list every open invoice and start its lifecycle (resumable; attaches to a running one)")
    sync.add_argument("ledger", choices=LEDGERS)
    sync.add_argument("tenant", help="the company: QuickBooks realm id, Xero tenant id, Intacct company id; "
                                     "`demo` for the sandbox")
    json_flag(sync)
    sync.set_defaults(run=cmd_sync_full)


def connected_tenants(settings: Settings, ledger: str) -> list[str]:
    """The companies of `ledger` this installation can reach: the dev stack's sandbox, or the connections."""
    from workers.settings import DEFAULT_TENANT, read_stack

    if ledger == "sandbox":
        stack = read_stack(settings.home)
        return [stack.tenant if stack else DEFAULT_TENANT]
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError
    from sqlmodel import Session, select

    from adapters.store import ConnectionRow, make_engine

    try:
        engine = make_engine(settings.database_url)
        if not inspect(engine).has_table(ConnectionRow.__tablename__):
            return []
        with Session(engine) as session:
            rows = session.exec(select(ConnectionRow).where(ConnectionRow.ledger == ledger)).all()
    except SQLAlchemyError as error:
        reason = getattr(error, "orig", None) or error
        raise SyncError(f"cannot read the connected companies from {settings.database_url} ({reason}); is "
                        "DUECOURSE_HOME or DUECOURSE_DATABASE_URL set?") from error
    return sorted(row.tenant for row in rows)


def cmd_sync_full(args: argparse.Namespace) -> int:
    from workers.settings import Settings

    settings = Settings.load()
    try:
        tenants = connected_tenants(settings, args.ledger)
        if args.tenant not in tenants:
            known = ", ".join(tenants) or "none"
            hint = "" if args.ledger == "sandbox" else f"; connect one with `duecourse connect {args.ledger}`"
            raise SyncError(f"{args.ledger} company {args.tenant!r} is not connected (connected: {known}){hint}")
        summary = asyncio.run(_follow(settings, args.ledger, args.tenant, quiet=args.json))
    except SyncError as error:
        print(f"duecourse: {error}", file=sys.stderr)
        return finish(EXIT_USAGE)
    except _Failed as failed:
        print(f"duecourse: the backfill of {args.ledger} ({args.tenant}) failed: {failed}", file=sys.stderr)
        return finish(1)
    if args.json:
        print(json.dumps(summary.model_dump(mode="json")))
    else:
        print(f"backfill of {args.ledger} ({args.tenant}) done: {summary.line()}")
    return finish(0)


class _Failed(Exception):
    pass


async def _follow(settings: Settings, ledger: str, tenant: str, *, quiet: bool) -> BackfillSummary:
    from temporalio.client import WorkflowFailureError

    from workers.backfill import start_backfill
    from workers.client import connect
    from workflows.backfill import Backfill, BackfillInput

    try:
        client = await connect(settings.temporal_address, settings.namespace)
    except Exception as error:  # the SDK raises RuntimeError subclasses for an unreachable server
        raise SyncError(f"cannot reach Temporal at {settings.temporal_address} ({error}); is `duecourse dev` "
                        "running, or TEMPORAL_ADDRESS set?") from error
    handle = await start_backfill(client, BackfillInput(ledger=ledger, tenant=tenant), settings.task_queue)
    display = Progress(sys.stdout, tty=sys.stdout.isatty(), quiet=quiet)
    result = asyncio.ensure_future(handle.result())
    try:
        while not result.done():
            try:
                display.show(await handle.query(Backfill.progress))
            except Exception:  # no worker has picked it up yet, or it just finished: ask again
                pass
            await asyncio.wait({result}, timeout=POLL_SECONDS)
        summary: BackfillSummary = result.result()
    except WorkflowFailureError as error:
        raise _Failed(str(error.cause or error)) from error
    finally:
        if not result.done():
            result.cancel()
    display.finish()
    return summary


class Progress:
    """A bar redrawn in place on a terminal; elsewhere a line each time the count moves."""

    def __init__(self, out: TextIO, *, tty: bool, quiet: bool) -> None:
        self.out = out
        self.tty = tty
        self.quiet = quiet
        self.last = ""
        self.started = time.monotonic()
        self.drawn = False

    def show(self, summary: Any) -> None:
        if self.quiet or not summary.ledger:
            return
        text = summary.line()
        if text == self.last:
            return
        self.last = text
        if self.tty:
            total = summary.total or 0
            filled = BAR_WIDTH * summary.done // total if total else 0
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.out.write(f"\r[{bar}] {text}  ({time.monotonic() - self.started:.0f} s)\x1b[K")
            self.drawn = True
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def finish(self) -> None:
        if self.drawn:
            self.out.write("\n")
            self.out.flush()


__all__ = ["add_sync_commands", "cmd_sync_full"]
