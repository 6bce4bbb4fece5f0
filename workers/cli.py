"""The `duecourse` command line.

Every command that creates or reports something takes `--json` and then prints exactly one JSON object.
Commands that act on the embedded stack find it through the data dir (`$DUECOURSE_HOME/stack.json`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from adapters.ledger import LedgerError

EXIT_USAGE = 2


class CliError(Exception):
    pass


def emit(args: argparse.Namespace, payload: dict[str, Any], human: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(payload, default=str))
    else:
        print(human)


def amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount: {text!r} (write it like 1250.00)") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"the amount must be positive: {text!r}")
    return value


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (write it as YYYY-MM-DD)") from None


# --- the embedded stack ------------------------------------------------------------------------------


def cmd_dev(args: argparse.Namespace) -> int:
    from workers.dev import DevOptions, StackError, run_dev
    from workers.settings import data_dir

    options = DevOptions(
        home=data_dir(), day_seconds=args.day_seconds, seed=not args.no_seed, temporal_port=args.temporal_port,
        ui_port=args.ui_port, web_port=args.web_port, smtp_port=args.smtp_port,
    )
    try:
        return asyncio.run(run_dev(options))
    except StackError as error:
        raise CliError(str(error)) from error


def _stack() -> Any:
    from workers.settings import data_dir, read_stack

    stack = read_stack()
    if stack is None:
        raise CliError(f"no running dev stack found in {data_dir()} (start one with `duecourse dev`, "
                       "or point DUECOURSE_HOME at its data dir)")
    return stack


def _sandbox() -> tuple[Any, Any]:
    from adapters.ledgers.sandbox import SandboxLedger

    stack = _stack()
    return SandboxLedger(stack.sandbox_db, tenant=stack.tenant), stack


def _ledger_today(stack: Any) -> date:
    today: date = stack.clock.today(datetime.now(UTC), "UTC")
    return today


def cmd_sandbox_customer_add(args: argparse.Namespace) -> int:
    ledger, _ = _sandbox()
    customer = ledger.add_customer(args.name, email=args.email, terms_days=args.terms_days,
                                   time_zone=args.time_zone, country=args.country, currency=args.currency,
                                   alternate_emails=args.alternate_email, credit_limit=args.credit_limit)
    emit(args, {"customer_id": customer.id, "name": customer.name, "email": customer.email,
                "alternate_emails": customer.alternate_emails,
                "credit_limit": None if customer.credit_limit is None else str(customer.credit_limit.amount)},
         customer.id)
    return 0


def cmd_sandbox_invoice_add(args: argparse.Namespace) -> int:
    ledger, stack = _sandbox()
    today = _ledger_today(stack)
    due = args.due if args.due is not None else today + timedelta(days=args.due_in_days)
    customer = ledger.get_customer(args.customer)
    issue = min(today, due - timedelta(days=customer.terms_days))
    invoice = ledger.add_invoice(args.customer, args.amount, due_date=due, issue_date=issue,
                                 description=args.description, as_draft=args.draft)
    emit(args, {"invoice_id": invoice.id, "invoice_number": invoice.number, "customer_id": invoice.customer_id,
                "amount": str(invoice.total.amount), "currency": invoice.currency,
                "due_date": invoice.due_date.isoformat(), "status": invoice.status.value},
         f"{invoice.id} {invoice.number}")
    return 0


def cmd_sandbox_invoice_post(args: argparse.Namespace) -> int:
    ledger, _ = _sandbox()
    invoice = ledger.post_invoice(args.invoice_id)
    emit(args, {"invoice_id": invoice.id, "status": invoice.status.value}, f"{invoice.number} posted")
    return 0


def cmd_sandbox_pay(args: argparse.Namespace) -> int:
    ledger, stack = _sandbox()
    payment = ledger.pay(args.invoice_id, args.amount, on=_ledger_today(stack), reference=args.reference)
    invoice = ledger.get_invoice(args.invoice_id)
    emit(args, {"payment_id": payment.id, "invoice_id": invoice.id, "amount": str(payment.amount.amount),
                "balance": str(invoice.balance.amount), "status": invoice.status.value},
         f"{payment.id} applied {payment.amount} to {invoice.number}; balance {invoice.balance}")
    return 0


def cmd_sandbox_receive(args: argparse.Namespace) -> int:
    ledger, stack = _sandbox()
    line = ledger.receive(args.amount, args.payer, on=_ledger_today(stack), reference=args.reference or "",
                          currency=args.currency)
    emit(args, {"bank_line_id": line.id, "amount": str(line.amount.amount), "currency": line.amount.currency,
                "payer_name": line.payer_name, "reference": line.reference}, line.id)
    return 0


# --- people and switches -------------------------------------------------------------------------------


def _store() -> Any:
    from adapters.store import Store
    from workers.settings import Settings

    settings = Settings.load()
    settings.home.mkdir(parents=True, exist_ok=True)
    return Store(settings.database_url)


def _web_url() -> str:
    from workers.settings import read_stack

    stack = read_stack()
    return os.environ.get("DUECOURSE_PUBLIC_URL") or (stack.web_url if stack else "http://127.0.0.1:8000")


def cmd_approver_add(args: argparse.Namespace) -> int:
    try:
        credentials = _store().upsert_approver(args.email, args.limit, role=args.role, currency=args.currency)
    except ValueError as error:
        raise CliError(str(error)) from error
    sign_in_url = f"{_web_url().rstrip('/')}/signin/{credentials.signin_token}"
    limit = f"{credentials.limit} {credentials.currency or '(any currency)'}"
    emit(args, {"email": credentials.email, "role": credentials.role, "limit": str(credentials.limit),
                "currency": credentials.currency, "token": credentials.token, "sign_in_url": sign_in_url},
         f"approver {credentials.email} (limit {limit}, role {credentials.role})\n"
         f"  sign-in link (one use): {sign_in_url}\n  API token: {credentials.token}")
    return 0


def cmd_approver_disable(args: argparse.Namespace) -> int:
    if not _store().disable_approver(args.email):
        raise CliError(f"no approver {args.email.strip().lower()!r} (add one with `duecourse approver add`)")
    email = args.email.strip().lower()
    emit(args, {"email": email, "disabled": True},
         f"approver {email} disabled: their API token, sign-in link and session no longer work")
    return 0


def cmd_connect(args: argparse.Namespace) -> int:
    import time

    from workers.connect import ConnectError, begin, token_store
    from workers.settings import Settings

    store = _store()
    try:
        authorization = begin(store, args.ledger, _web_url(), company=args.company)
    except ConnectError as error:
        raise CliError(str(error)) from error
    payload = {"ledger": args.ledger, "authorize_url": authorization.url, "redirect_uri": authorization.redirect_uri,
               "state": authorization.state}
    if args.no_wait:
        emit(args, payload, f"Open this link and sign in to {args.ledger}:\n  {authorization.url}")
        return 0
    if not args.json:
        print(f"Open this link and sign in to {args.ledger}:\n  {authorization.url}\n"
              f"(the ledger redirects to {authorization.redirect_uri}; waiting up to {args.wait} s)", flush=True)
    tokens = token_store(store, Settings.load().home)
    before = {(c.ledger, c.tenant) for c in tokens.connections()}
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        new = [c for c in tokens.connections() if c.ledger == args.ledger and (c.ledger, c.tenant) not in before]
        if new:
            emit(args, {**payload, "tenant": new[0].tenant, "connected": True},
                 f"connected {args.ledger} company {new[0].tenant}")
            return 0
        time.sleep(1)
    raise CliError(f"no {args.ledger} connection arrived within {args.wait} s; run `duecourse connect` again")


def cmd_pause(args: argparse.Namespace) -> int:
    store = _store()
    store.set_paused(True, by=os.environ.get("USER"))
    emit(args, {"paused": True}, "outbound actions are held (kill switch on); `duecourse resume` releases them")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    store = _store()
    store.set_paused(False, by=os.environ.get("USER"))
    emit(args, {"paused": False}, "outbound actions resume")
    return 0


def cmd_report_shadow_cash(args: argparse.Namespace) -> int:
    from workers.reports import shadow_cash_report

    ledger, _ = _sandbox()
    report = shadow_cash_report(_store(), ledger)
    rate = "n/a" if report.match_rate is None else f"{report.match_rate:.1%}"
    lines = [f"shadow suggestions {report.suggestions}; decided by people {report.decided_by_people}; "
             f"agreed {report.agreed} (match rate {rate}); still open {report.pending}"]
    lines += [f"  disagree on {d.bank_line_id}: engine {d.suggested} vs people {d.people_did}"
              for d in report.disagreements]
    emit(args, report.model_dump(mode="json"), "\n".join(lines))
    return 0


# --- production processes ----------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> int:
    from workers.client import connect
    from workers.settings import Settings
    from workers.worker import run_worker

    async def main() -> None:
        import signal

        settings = Settings.load()
        client = await connect(settings.temporal_address, settings.namespace)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"worker on task queue {settings.task_queue} at {settings.temporal_address}", flush=True)
        await run_worker(settings, client, stop)

    asyncio.run(main())
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    from adapters.store import Store
    from workers.client import connect
    from workers.intake import defaults_from_settings
    from workers.settings import Settings, read_stack
    from workers.web.app import create_app
    from workers.web.config import WebConfig

    settings = Settings.load()
    stack = read_stack(settings.home)
    defaults = defaults_from_settings(settings)
    secret = os.environ.get("DUECOURSE_SANDBOX_WEBHOOK_SECRET") or (stack.sandbox_webhook_secret if stack else None)
    app = create_app(WebConfig(
        connect=lambda: connect(settings.temporal_address, settings.namespace), store=Store(settings.database_url),
        defaults=defaults, sandbox_webhook_secret=secret, public_url=_web_url(), namespace=settings.namespace,
        open_reads=False, home=settings.home,
    ))
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    """Register the search attributes on a Temporal cluster (the dev stack registers its own)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest

    from workers.client import connect
    from workers.settings import Settings
    from workflows.search_attributes import REGISTRY

    kinds = {"Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
             "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE, "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
             "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
             "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME}

    async def main() -> dict[str, Any]:
        settings = Settings.load()
        client = await connect(settings.temporal_address, settings.namespace)
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=settings.namespace))
        missing = {name: kinds[kind] for name, kind in REGISTRY.items() if name not in existing.custom_attributes}
        if missing:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=settings.namespace, search_attributes=missing))
        return {"namespace": settings.namespace, "added": sorted(missing), "present": sorted(REGISTRY)}

    result = asyncio.run(main())
    added = ", ".join(result["added"]) or "none"
    emit(args, result, f"search attributes ready in {result['namespace']} (added: {added})")
    return 0


# --- parser --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="duecourse", description="Accounts receivable on Temporal, quote to cash.")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_processes(commands)
    _add_approver(commands)
    _add_sandbox(commands)
    _add_connection_and_reports(commands)
    from workers.collector_cli import add_collector_commands

    add_collector_commands(commands)
    from workers.policy_cli import add_policy_commands

    add_policy_commands(commands)
    from workers.backfill_cli import add_sync_commands

    add_sync_commands(commands)
    from workers.bank_cli import add_bank_commands
    from workers.batch.fees_cli import add_fees_commands
    from workers.batch.forecast_cli import add_forecast_commands
    from workers.replies_cli import add_replies_commands

    add_fees_commands(commands)
    add_forecast_commands(commands)
    add_replies_commands(commands)
    add_bank_commands(commands)
    from workers.statement_cli import add_statement_commands

    add_statement_commands(commands)
    # `match` and `bench` parse their own arguments.
    commands.add_parser("match", help="batch cash application (see --help)", add_help=False)
    commands.add_parser("bench", help="benchmarks: `bench match`, `bench drafts`, `bench lifecycle`", add_help=False)
    return parser


if TYPE_CHECKING:  # what `add_subparsers` returns: argparse names the class privately, typeshed types it
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")


def _add_processes(commands: Commands) -> None:
    """`dev`, `worker`, `web`, `setup`: the processes and the cluster set-up."""
    dev = commands.add_parser("dev", help="start the whole embedded stack")
    dev.add_argument("--day-seconds", type=int, default=None, help="one ledger day lasts N seconds (demo pace)")
    dev.add_argument("--no-seed", action="store_true", help="start with an empty company")
    dev.add_argument("--temporal-port", type=int, default=7233)
    dev.add_argument("--ui-port", type=int, default=8233)
    dev.add_argument("--web-port", type=int, default=8000)
    dev.add_argument("--smtp-port", type=int, default=1025)
    dev.set_defaults(run=cmd_dev)

    commands.add_parser("worker", help="run a worker against TEMPORAL_ADDRESS").set_defaults(run=cmd_worker)
    web = commands.add_parser("web", help="run the web app")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    web.set_defaults(run=cmd_web)
    setup = commands.add_parser("setup", help="register the search attributes on a Temporal cluster")
    json_flag(setup)
    setup.set_defaults(run=cmd_setup)


# adapters.store.ROLES, repeated so that building the parser does not load the database layer.
APPROVER_ROLES = ("viewer", "collector", "approver", "admin")


def _add_approver(commands: Commands) -> None:
    approver = commands.add_parser("approver", help="approvers").add_subparsers(dest="approver_command", required=True)
    add = approver.add_parser("add", help="create or update an approver; prints a sign-in link and an API token")
    add.add_argument("email")
    add.add_argument("--limit", type=amount, required=True, help="largest amount this approver may decide")
    add.add_argument("--currency", type=currency_code, default=None,
                     help="the limit's currency (ISO 4217); items in other currencies need an admin")
    add.add_argument("--role", default="approver", choices=APPROVER_ROLES)
    json_flag(add)
    add.set_defaults(run=cmd_approver_add)
    disable = approver.add_parser("disable", help="disable an approver: token, link and session stop working")
    disable.add_argument("email")
    json_flag(disable)
    disable.set_defaults(run=cmd_approver_disable)


def currency_code(text: str) -> str:
    code = text.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise argparse.ArgumentTypeError(f"not a currency code: {text!r} (three letters, ISO 4217, e.g. USD)")
    return code


def _add_sandbox(commands: Commands) -> None:
    """`sandbox ...`: drive the embedded sandbox ledger as someone working in it would."""
    from workers.sandbox_documents_cli import add_document_commands, credit_limit

    sandbox = commands.add_parser("sandbox", help="drive the embedded sandbox ledger").add_subparsers(
        dest="sandbox_command", required=True)
    customer = sandbox.add_parser("customer").add_subparsers(dest="customer_command", required=True)
    c_add = customer.add_parser("add", help="add a customer; prints its id")
    c_add.add_argument("name")
    c_add.add_argument("--email")
    c_add.add_argument("--terms-days", type=int, default=30)
    c_add.add_argument("--time-zone", default="UTC")
    c_add.add_argument("--country", default="US")
    c_add.add_argument("--currency", default="USD")
    c_add.add_argument("--credit-limit", type=credit_limit, metavar="A",
                       help="most this customer may owe (open invoices and new ones) before a credit review")
    c_add.add_argument("--alternate-email", action="append", default=[], metavar="E",
                       help="another contact, tried in order when mail to the first bounces (repeatable)")
    json_flag(c_add)
    c_add.set_defaults(run=cmd_sandbox_customer_add)
    invoice = sandbox.add_parser("invoice").add_subparsers(dest="invoice_command", required=True)
    i_add = invoice.add_parser("add", help="add an invoice; prints its id and number")
    i_add.add_argument("--customer", required=True)
    i_add.add_argument("--amount", type=amount, required=True)
    due = i_add.add_mutually_exclusive_group(required=True)
    due.add_argument("--due", type=iso_date)
    due.add_argument("--due-in-days", type=int)
    i_add.add_argument("--description", default="Professional services")
    i_add.add_argument("--draft", action="store_true", help="a draft, not posted yet: never dunned until posted")
    json_flag(i_add)
    i_add.set_defaults(run=cmd_sandbox_invoice_add)
    i_post = invoice.add_parser("post", help="post a draft invoice, as approving it in the ledger does")
    i_post.add_argument("invoice_id")
    json_flag(i_post)
    i_post.set_defaults(run=cmd_sandbox_invoice_post)
    pay = sandbox.add_parser("pay", help="record a payment in the ledger, as if someone applied it there")
    pay.add_argument("invoice_id")
    pay.add_argument("--amount", type=amount)
    pay.add_argument("--reference", default="")
    json_flag(pay)
    pay.set_defaults(run=cmd_sandbox_pay)
    receive = sandbox.add_parser("receive", help="add a bank line (a deposit cash application must match)")
    receive.add_argument("--amount", type=amount, required=True)
    receive.add_argument("--payer", required=True)
    receive.add_argument("--reference", default="")
    receive.add_argument("--currency", default="USD")
    json_flag(receive)
    receive.set_defaults(run=cmd_sandbox_receive)
    add_document_commands(sandbox)


def _add_connection_and_reports(commands: Commands) -> None:
    """`connect`, the kill switch and the reports."""
    connect = commands.add_parser("connect", help="connect a QuickBooks Online, Xero or Sage Intacct company")
    connect.add_argument("ledger", choices=["quickbooks", "xero", "intacct"])
    connect.add_argument("--company", help="Sage Intacct company id")
    connect.add_argument("--wait", type=int, default=300, help="seconds to wait for the sign-in to finish")
    connect.add_argument("--no-wait", action="store_true", help="print the link and return at once")
    json_flag(connect)
    connect.set_defaults(run=cmd_connect)

    for name, handler, text in (("pause", cmd_pause, "kill switch: hold every outbound action"),
                                ("resume", cmd_resume, "release the kill switch")):
        p = commands.add_parser(name, help=text)
        json_flag(p)
        p.set_defaults(run=handler)

    report = commands.add_parser("report", help="reports").add_subparsers(dest="report_command", required=True)
    shadow = report.add_parser("shadow-cash", help="cash application in shadow mode: suggestions vs what people did")
    json_flag(shadow)
    shadow.set_defaults(run=cmd_report_shadow_cash)
    from workers.report_cli import add_report_commands

    add_report_commands(report)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["match"]:
            from workers.batch.match_cli import match_main

            return match_main(argv[1:])
        if argv[:1] == ["bench"]:
            return _bench(argv[1:])
        args = build_parser().parse_args(argv)
        return int(args.run(args))
    except CliError as error:
        print(f"duecourse: {error}", file=sys.stderr)
        return EXIT_USAGE
    except LedgerError as error:
        print(f"duecourse: the ledger refused: {error}", file=sys.stderr)
        return EXIT_USAGE


def _bench(argv: list[str]) -> int:
    if argv[:1] == ["match"]:
        from workers.bench.match import bench_match_main

        return bench_match_main(argv[1:])
    if argv[:1] == ["drafts"]:
        from workers.bench.drafts import bench_drafts_main

        return bench_drafts_main(argv[1:])
    if argv[:1] == ["lifecycle"]:
        from workers.bench.lifecycle import bench_lifecycle_main

        return bench_lifecycle_main(argv[1:])
    print("usage: duecourse bench {match,drafts,lifecycle} [options]", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["main"]
