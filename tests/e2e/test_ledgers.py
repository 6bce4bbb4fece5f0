"""The skeleton's end-to-end test with each ledger emulator in place of the sandbox ledger.

For QuickBooks Online, Xero and Sage Intacct: the emulator serves real HTTP on 127.0.0.1, a real
`duecourse dev` stack (its own data dir and ports, `--no-seed`) is pointed at it through the environment,
and the company is connected through the real OAuth flow (`duecourse connect` -> the emulator's consent
redirect -> the web app's `/oauth/<ledger>/callback`). Then one invoice goes from quote to cash: the
emulator's signed webhook starts one workflow, the first reminder waits for approval, an approver approves
it over the HTTP API, the mail goes out through SMTP, a replayed webhook starts nothing, and a payment
recorded in the emulator (plus its webhook) closes the workflow.

The same flow runs again with every tenth ledger API call failing the way the ledger fails: a 429 with
the ledger's own headers (Retry-After 1 s), a 500 before anything is written, or a 500 after the write was
applied (the answer got lost). Everything still completes, and the emulator's write counters show no
idempotency key (QuickBooks: requestid) applied twice.
"""

from __future__ import annotations

import base64
import email
import email.message
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import httpx
import jwt
import pytest
from temporalio.client import WorkflowExecutionStatus

from adapters.ledger import (
    Allocation,
    CustomerDraft,
    InvoiceDraft,
    InvoiceLine,
    Money,
    PaymentRequest,
    RateLimited,
    RetryableLedgerError,
)
from adapters.ledgers.intacct.ledger import IntacctLedger
from adapters.ledgers.quickbooks.webhooks import sign as intuit_sign
from tests.adapters.ledgers.intacct.connected import connected_ledger as intacct_ledger
from tests.emulators.intacct import ATTACHMENT, INVOICE, IntacctEmulator, pick
from tests.emulators.kit import Faults
from tests.emulators.quickbooks import QuickBooksEmulator
from tests.emulators.xero import XeroEmulator
from workers.settings import read_stack

from .stack import DevStack, outbox_for, pending_for, status, wait_until, workflows_for

pytestmark = pytest.mark.e2e

LEDGERS = ("quickbooks", "xero", "intacct")
AMOUNT = "1250.00"
T = TypeVar("T")


# --- one rig per ledger: the emulator, the stack's environment, and what a person does in the ledger --------


class Rig(Protocol):
    ledger: str
    tenant: str
    connect_args: tuple[str, ...]

    @property
    def faults(self) -> Faults:
        """The emulator's own switches; the test arms the kit's periodic plan (`every`)."""
        ...

    def stop(self) -> None: ...
    def env(self) -> dict[str, str]: ...
    def new_invoice(self, name: str, to: str, amount: str, issued: date, due: date) -> tuple[str, str, str]: ...
    def announce_invoice(self, web: str, invoice_id: str) -> int: ...
    def replay_invoice_webhook(self, web: str, invoice_id: str) -> int: ...
    def forged_webhook(self, web: str, invoice_id: str) -> int: ...
    def pay(self, web: str, customer_id: str, invoice_id: str, amount: str, on: date) -> int: ...
    def notes(self, invoice_id: str) -> list[str]: ...
    def writes(self) -> Counter[str]: ...
    def unkeyed_writes(self) -> int: ...
    def repeated_keys(self) -> int: ...


def retrying(call: Callable[..., T], *args: Any) -> T:
    """What a person's own script would do when the ledger is having a bad day (same idempotency key)."""
    for _ in range(30):
        try:
            return call(*args)
        except RateLimited as error:
            time.sleep(error.retry_after_seconds or 1)
        except RetryableLedgerError:
            time.sleep(0.3)
    return call(*args)


class QuickBooksRig:
    ledger = "quickbooks"
    connect_args: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.emulator = QuickBooksEmulator()
        # Intuit's 429 carries no Retry-After by default (LEDGER_APIS.md E2); a short one keeps the run fast.
        self.emulator.faults.retry_after = 1.0
        self.emulator.start()
        self.faults = self.emulator.faults
        self.tenant = self.emulator.realm_id

    def stop(self) -> None:
        self.emulator.stop()

    def env(self) -> dict[str, str]:
        e = self.emulator
        return {"DUECOURSE_QBO_CLIENT_ID": e.client_id, "DUECOURSE_QBO_CLIENT_SECRET": e.client_secret,
                "DUECOURSE_QBO_BASE_URL": e.base_url, "DUECOURSE_QBO_TOKEN_URL": e.token_url,
                "DUECOURSE_QBO_AUTHORIZE_URL": e.authorize_url, "DUECOURSE_QBO_VERIFIER_TOKEN": e.verifier_token}

    def new_invoice(self, name: str, to: str, amount: str, issued: date, due: date) -> tuple[str, str, str]:
        customer = self.emulator.seed("Customer", {"DisplayName": name, "CompanyName": name,
                                                   "PrimaryEmailAddr": {"Address": to}})
        invoice = self.emulator.seed("Invoice", {
            "CustomerRef": {"value": customer["Id"]}, "TxnDate": issued.isoformat(), "DueDate": due.isoformat(),
            "Line": [{"Amount": Decimal(amount), "DetailType": "SalesItemLineDetail", "Description": "Consulting",
                      "SalesItemLineDetail": {"Qty": 1, "UnitPrice": Decimal(amount)}}]})
        return str(customer["Id"]), str(invoice["Id"]), str(invoice["DocNumber"])

    def _url(self, web: str) -> str:
        return f"{web}/webhooks/quickbooks"

    def _created(self, invoice_id: str) -> Any:
        return next(c for c in self.emulator.changes() if c.entity == "Invoice" and c.entity_id == invoice_id
                    and c.operation == "Create")

    def announce_invoice(self, web: str, invoice_id: str) -> int:
        return self.emulator.send_webhook(self._url(web)).status_code  # every change not announced yet

    def replay_invoice_webhook(self, web: str, invoice_id: str) -> int:
        return self.emulator.send_webhook(self._url(web), changes=[self._created(invoice_id)]).status_code

    def forged_webhook(self, web: str, invoice_id: str) -> int:
        body = self.emulator.webhook_body("classic", [self._created(invoice_id)])
        return httpx.post(self._url(web), content=body, timeout=10,
                          headers={"intuit-signature": intuit_sign("not-the-verifier", body),
                                   "content-type": "application/json"}).status_code

    def pay(self, web: str, customer_id: str, invoice_id: str, amount: str, on: date) -> int:
        self.emulator.seed("Payment", {
            "CustomerRef": {"value": customer_id}, "TotalAmt": Decimal(amount), "TxnDate": on.isoformat(),
            "Line": [{"Amount": Decimal(amount), "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}]})
        return self.emulator.send_webhook(self._url(web)).status_code  # Payment Create + Invoice Update

    def notes(self, invoice_id: str) -> list[str]:
        with self.emulator._lock:
            attachables = list(self.emulator.realms[self.tenant].entities["Attachable"].values())
        return [str(a.get("Note")) for a in attachables
                if any(ref["EntityRef"] == {"type": "Invoice", "value": invoice_id} for ref in a["AttachableRef"])]

    def writes(self) -> Counter[str]:
        return Counter({rid: n for rid, n in self.emulator.writes.items() if rid})

    def unkeyed_writes(self) -> int:
        return self.emulator.writes.get("", 0)

    def repeated_keys(self) -> int:
        return sum(1 for n in self.emulator.requestid_arrivals.values() if n > 1)


class XeroRig:
    ledger = "xero"
    connect_args: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.emulator = XeroEmulator()
        self.emulator.start()
        # The kit's periodic plan (`faults.every`) arms the faults and tallies the answers.
        self.faults = self.emulator.faults
        self.tenant = self.emulator.tenant_id
        self.deliveries: dict[str, bytes] = {}  # invoice id -> the first delivery that announced it

    def stop(self) -> None:
        self.emulator.stop()

    def env(self) -> dict[str, str]:
        e = self.emulator
        return {"DUECOURSE_XERO_CLIENT_ID": e.client_id, "DUECOURSE_XERO_CLIENT_SECRET": e.client_secret,
                "DUECOURSE_XERO_API_URL": e.api_base, "DUECOURSE_XERO_IDENTITY_URL": e.identity_base,
                "DUECOURSE_XERO_LOGIN_URL": e.base_url, "DUECOURSE_XERO_CONNECTIONS_URL": e.base_url,
                "DUECOURSE_XERO_WEBHOOK_KEY": e.webhook_key}

    def new_invoice(self, name: str, to: str, amount: str, issued: date, due: date) -> tuple[str, str, str]:
        contact = self.emulator.add_contact(name, to)
        invoice = self.emulator.add_invoice(contact, [("Consulting", "1", amount)], issued=issued, due=due,
                                            amount_types="NoTax")
        return contact, invoice, str(self.emulator.invoice(invoice)["InvoiceNumber"])

    def _url(self, web: str) -> str:
        return f"{web}/webhooks/xero"

    def announce_invoice(self, web: str, invoice_id: str) -> int:
        status = self.emulator.send_webhook(self._url(web))
        self.deliveries.setdefault(invoice_id, self.emulator.webhook_deliveries[-1]["body"])
        return status

    def replay_invoice_webhook(self, web: str, invoice_id: str) -> int:
        body = self.deliveries[invoice_id]
        return httpx.post(self._url(web), content=body, timeout=10, headers={
            "Content-Type": "application/json", "x-xero-signature": self.emulator.sign(body)}).status_code

    def forged_webhook(self, web: str, invoice_id: str) -> int:
        body = self.deliveries[invoice_id]
        return httpx.post(self._url(web), content=body, timeout=10, headers={
            "Content-Type": "application/json", "x-xero-signature": self.emulator.sign(body, "wrong")}).status_code

    def pay(self, web: str, customer_id: str, invoice_id: str, amount: str, on: date) -> int:
        self.emulator.pay(invoice_id, amount, on=on)
        return self.emulator.send_webhook(self._url(web))  # INVOICE UPDATE

    def notes(self, invoice_id: str) -> list[str]:
        return [str(h["Details"]) for h in self.emulator.history("Invoices", invoice_id)
                if h["User"] == "duecourse (API)"]

    def writes(self) -> Counter[str]:
        return Counter(self.emulator.writes)

    def unkeyed_writes(self) -> int:
        return self.emulator.unkeyed_writes

    def repeated_keys(self) -> int:
        return len(self.emulator.replays)


class IntacctRig:
    ledger = "intacct"

    def __init__(self) -> None:
        self.emulator = IntacctEmulator()
        self.emulator.faults.retry_after = 1.0
        self.emulator.start()
        # The kit's periodic plan (`faults.every`) arms the faults and tallies the answers.
        self.faults = self.emulator.faults
        self.tenant = self.emulator.company_id
        self.connect_args: tuple[str, ...] = ("--company", self.tenant)
        # The company's own back office (a Web Services user), keying every write like duecourse does.
        self.books: IntacctLedger = intacct_ledger(self.emulator)
        self.deliveries: dict[str, Any] = {}

    def stop(self) -> None:
        self.books.close()
        self.emulator.stop()

    def env(self) -> dict[str, str]:
        e = self.emulator
        return {"DUECOURSE_INTACCT_CLIENT_ID": e.client_id, "DUECOURSE_INTACCT_CLIENT_SECRET": e.client_secret,
                "DUECOURSE_INTACCT_BASE_URL": e.base_url,
                # RS256: the receiver holds the public key of the key the deliveries are signed with.
                "DUECOURSE_INTACCT_WEBHOOK_KEY": e.webhook_verification_key}

    def new_invoice(self, name: str, to: str, amount: str, issued: date, due: date) -> tuple[str, str, str]:
        key = name.lower().replace(" ", "-")
        customer = retrying(self.books.create_customer, CustomerDraft(name=name, email=to), f"{key}:customer")
        line = InvoiceLine(description="Consulting", unit_price=Decimal(amount), amount=Decimal(amount))
        invoice = retrying(self.books.create_invoice, InvoiceDraft(
            customer_id=customer.id, currency="USD", lines=[line], issue_date=issued, due_date=due), f"{key}:invoice")
        return customer.id, invoice.id, invoice.number

    def _url(self, web: str) -> str:
        return f"{web}/webhooks/intacct"

    def announce_invoice(self, web: str, invoice_id: str) -> int:
        statuses = self.emulator.send_webhook(self._url(web), "Invoice", invoice_id, "create")
        self.deliveries.setdefault(invoice_id, self.emulator.webhook_deliveries[-1])
        return statuses[-1]

    def replay_invoice_webhook(self, web: str, invoice_id: str) -> int:
        delivery = self.deliveries[invoice_id]  # the same bytes, token and delivery idempotency key
        return httpx.post(self._url(web), content=delivery.body, headers=delivery.headers, timeout=10).status_code

    def forged_webhook(self, web: str, invoice_id: str) -> int:
        delivery = self.deliveries[invoice_id]
        claims = {"iss": "https://api.intacct.com", "exp": int(time.time()) + 300, "companyId": self.tenant}
        forged = jwt.encode(claims, "a guessed shared secret, 32 bytes+", algorithm="HS256")
        headers = {**delivery.headers, "Authorization": f"Bearer {forged}"}
        return httpx.post(self._url(web), content=delivery.body, headers=headers, timeout=10).status_code

    def pay(self, web: str, customer_id: str, invoice_id: str, amount: str, on: date) -> int:
        money = Money.of(amount, "USD")
        retrying(self.books.record_payment, PaymentRequest(
            customer_id=customer_id, date=on, amount=money,
            allocations=[Allocation(invoice_id=invoice_id, amount=money)]), f"{invoice_id}:paid")
        # The trigger on the invoice fires (its state and amount due changed).
        return self.emulator.send_webhook(self._url(web), "Invoice", invoice_id, "update")[-1]

    def notes(self, invoice_id: str) -> list[str]:
        with self.emulator._lock:
            invoice = self.emulator.objects[INVOICE][invoice_id]
            attachment = self.emulator.objects[ATTACHMENT].get(str(pick(invoice, "attachment.key")))
            files = list((attachment or {}).get("files") or [])
        return [base64.b64decode(f["data"]).decode() for f in files]

    def writes(self) -> Counter[str]:
        return Counter(self.emulator.writes)

    def unkeyed_writes(self) -> int:
        return len(self.emulator.unkeyed_writes)

    def repeated_keys(self) -> int:
        header = self.emulator.idempotency_header.lower()
        with self.emulator._lock:
            keys = Counter(r.headers[header] for r in self.emulator.requests if header in r.headers)
        return sum(1 for n in keys.values() if n > 1)


RIGS: dict[str, Callable[[], Rig]] = {"quickbooks": QuickBooksRig, "xero": XeroRig, "intacct": IntacctRig}


# --- the stack ---------------------------------------------------------------------------------------------


@dataclass
class Connected:
    rig: Rig
    stack: DevStack


@pytest.fixture(scope="module", params=LEDGERS)
def connected(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connected]:
    started = time.monotonic()
    rig = RIGS[request.param]()
    dev = DevStack(home=tmp_path_factory.mktemp(f"duecourse-{rig.ledger}"), day_seconds=4, extra_env=rig.env())
    try:
        dev.start()
        ready = time.monotonic()
        # The real connect flow: the CLI's link, the ledger's consent (the emulator consents at once and
        # redirects), the web app's callback trading the code for tokens.
        begun = dev.cli("connect", rig.ledger, *rig.connect_args, "--no-wait")
        assert begun["ledger"] == rig.ledger
        assert begun["redirect_uri"] == f"{dev.web}/oauth/{rig.ledger}/callback"
        consent = httpx.get(begun["authorize_url"], follow_redirects=True, timeout=30)
        assert consent.status_code == 200, f"{consent.status_code}: {consent.text}\n{dev.log()}"
        assert f"Connected {rig.ledger}" in consent.text and rig.tenant in consent.text
        assert str(consent.url).startswith(begun["redirect_uri"])
        # The state is used up: the same callback again connects nothing.
        again = httpx.get(str(consent.url), timeout=30)
        assert again.status_code == 400 and "already used" in again.text
        print(f"\n[{rig.ledger}] stack ready in {ready - started:.1f} s, connected in {time.monotonic() - ready:.1f} s")
        yield Connected(rig, dev)
    finally:
        try:
            code = dev.stop()
        finally:
            rig.stop()
        assert code == 0, f"duecourse dev did not stop cleanly ({code}):\n{dev.log()}"












def ledger_today(stack: DevStack) -> date:
    info = read_stack(stack.home)
    assert info is not None, "the dev stack wrote no stack.json"
    return info.clock.today(datetime.now(UTC), "UTC")


# --- the test ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("faults", [False, True], ids=["clean", "faults"])
def test_one_invoice_quote_to_cash(connected: Connected, faults: bool) -> None:
    rig, stack = connected.rig, connected.stack
    started = time.monotonic()
    answered_before = Counter(rig.faults.answered)
    rig.faults.every = 10 if faults else 0
    try:
        # One invoice makes a dozen or two ledger calls; the fault run takes two in turn, so that every
        # kind of fault comes up at a 10% rate.
        reminders = [_quote_to_cash(rig, stack, run) for run in (["faults-1", "faults-2"] if faults else ["clean"])]
    finally:
        rig.faults.every = 0
    answered = rig.faults.answered - answered_before
    if faults:
        assert answered[429] >= 1 and answered[500] >= 1, f"no faults answered: {dict(answered)}"
        assert rig.faults.armed["lost"] >= 1
    # No write applied twice, whatever was retried (the emulator counts per idempotency key / requestid).
    written = rig.writes()
    assert written, "the emulator saw no keyed writes"
    assert {key: n for key, n in written.items() if n > 1} == {}
    assert rig.unkeyed_writes() == 0
    print(f"\n[{rig.ledger}/{'faults' if faults else 'clean'}] {time.monotonic() - started:.1f} s; API answers "
          f"{dict(sorted(answered.items()))}; faults armed so far {dict(rig.faults.armed)}; keyed writes "
          f"{sum(written.values())} over {len(written)} keys, {rig.repeated_keys()} keys sent again; "
          f"reminders {reminders}")


def _quote_to_cash(rig: Rig, stack: DevStack, run: str) -> list[str]:
    """One invoice from quote to cash; returns its reminders as `L<level>:<outcome>`."""
    approver_email = f"ar.{rig.ledger}.{run}@northwind.example"
    approver = stack.cli("approver", "add", approver_email, "--limit", "5000")
    token = approver["token"]

    # Due in one ledger day: the pre-due reminder (3 days before) is already due, and it is the first one.
    name = f"Globex {rig.ledger.title()} {run.title()}"
    to = f"ap.{run}@globex-{rig.ledger}.example"
    today = ledger_today(stack)
    customer_id, invoice_id, number = rig.new_invoice(name, to, AMOUNT, today, today + timedelta(days=1))
    assert rig.announce_invoice(stack.web, invoice_id) == 200

    # The ledger's webhook started exactly one workflow, visible with its search attributes.
    found = wait_until(lambda: workflows_for(stack, invoice_id), what="the invoice workflow")
    assert len(found) == 1
    workflow_id = found[0].id
    assert workflow_id == f"invoice:{rig.ledger}:{rig.tenant}:{invoice_id}"
    item = wait_until(lambda: pending_for(stack, invoice_id), what="the first reminder to await approval")
    assert item["kind"] == "reminder" and item["workflow_id"] == workflow_id and item["reminder_number"] == 1
    assert Decimal(item["amount"]) == Decimal(AMOUNT) and item["currency"] == "USD"
    assert item["invoice_number"] == number and item["customer_name"] == name and item["to"] == to
    assert number in item["draft"]["body"] and "1,250.00" in item["draft"]["body"]

    def attributes() -> dict[str, Any] | None:
        values = {pair.key.name: pair.value for pair in workflows_for(stack, invoice_id)[0].typed_search_attributes}
        return values if values.get("AwaitingApproval") else None

    values = wait_until(attributes, what="AwaitingApproval in visibility")
    assert values["Stage"] == "awaiting_approval"
    assert values["InvoiceNumber"] == number and values["Ledger"] == rig.ledger
    assert values["AmountDue"] == 1250.0 and values["CustomerName"] == name

    # A decision needs a token; approved once, a second approval of the same item is stale.
    url = f"{stack.web}/api/approvals/{workflow_id}"
    assert httpx.post(url, json={"decision": "approve"}, timeout=10).status_code == 401
    approved = httpx.post(url, json={"decision": "approve", "item_id": item["item_id"]},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert approved.status_code == 200, approved.text
    again = httpx.post(url, json={"decision": "approve", "item_id": item["item_id"]},
                       headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert again.status_code == 409

    # The approved reminder went through SMTP: in the outbox and as an .eml file in the data dir.
    level_key = f":reminder:L{item['level']}"
    sent = wait_until(lambda: [m for m in outbox_for(stack, invoice_id) if m["idempotency_key"].endswith(level_key)],
                      what="the approved reminder in the outbox")
    assert len(sent) == 1 and sent[0]["to"] == to and sent[0]["approved_by"] == approver_email

    def captured() -> list[email.message.Message]:
        messages = [email.message_from_bytes(path.read_bytes()) for path in sorted((stack.home / "mail").glob("*.eml"))]
        return [m for m in messages if number in str(m["Subject"]) and m["To"] == to]

    mails = wait_until(lambda: [m for m in captured() if m["Message-ID"] == sent[0]["message_id"]],
                       what="the captured .eml")
    assert len(mails) == 1

    # A replayed webhook (the ledger's own delivery, signed again) starts nothing new; a forged one is refused.
    assert rig.replay_invoice_webhook(stack.web, invoice_id) == 200
    assert rig.forged_webhook(stack.web, invoice_id) == 401
    runs = workflows_for(stack, invoice_id)
    assert len(runs) == 1 and runs[0].run_id == found[0].run_id

    # Paid in the ledger (and announced by its webhook) -> the workflow closes.
    assert rig.pay(stack.web, customer_id, invoice_id, AMOUNT, ledger_today(stack)) == 200

    def closed() -> bool:
        return bool(workflows_for(stack, invoice_id)[0].status == WorkflowExecutionStatus.COMPLETED)

    wait_until(closed, what="the workflow to close")
    final = status(stack, workflow_id)
    assert final.stage.value == "closed" and final.closed_reason == "paid in full"
    assert len(workflows_for(stack, invoice_id)) == 1
    # The approved level was sent once. (With 4-second ledger days the next level, which goes out without
    # approval, may fall due before the payment lands; each level is still decided exactly once.)
    levels = [r.level for r in final.reminders]
    assert len(levels) == len(set(levels)), final.reminders
    sent_levels = [r.level for r in final.reminders if r.outcome == "sent"]
    assert item["level"] in sent_levels
    mailed = outbox_for(stack, invoice_id)
    assert sorted(m["idempotency_key"].rpartition(":L")[2] for m in mailed) == sorted(str(n) for n in sent_levels)
    # The audit trail was written back to the ledger as notes, once each.
    notes = rig.notes(invoice_id)
    assert len(notes) == len(set(notes)), notes
    assert len([n for n in notes if "reminder sent" in n]) == len(sent_levels), notes
    assert len([n for n in notes if "reminder approve" in n and approver_email in n]) == 1, notes
    assert len([n for n in notes if "invoice closed" in n]) == 1, notes
    return [f"L{r.level}:{r.outcome}" for r in final.reminders]
