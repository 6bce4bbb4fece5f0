"""QuickBooks Online behind the ledger port (Accounting API v3, minor version 75): `QuickBooksLedger`.

Each operation reads as its story here; the wire lives beside it: `auth` (OAuth 2.0 and token refresh),
`transport` (python-quickbooks on our session, `requestid`, limits, the one error mapping), `mapping` (JSON
<-> vocabulary, no I/O), `webhooks` (signature and payloads).

What only this ledger does
* Writes that change an object carry its SyncToken; a stale one (5010) is re-read and tried once more.
* Recording a payment for a bank line creates the Payment, then relinks that Deposit line to it; a retry
  finds the payment by the `duecourse <requestid>` marker in its PrivateNote and does not pay twice.
* A credit note for an invoice is a CreditMemo applied with a zero-total Payment (a retry finds it applied).
* changes_since uses Change Data Capture. The cursor is the server's `time` of the last answer (ISO 8601);
  each poll reaches back `cdc_overlap` before it, since LastUpdatedTime is stamped to the second, so an
  event may be announced twice (its `event_id` is stable). CDC looks back at most 30 days: an older cursor
  is clamped, with a warning. Webhooks name the Deposit only (entity "Deposit"): `bank_lines_of_deposit`
  expands one.
* aging_report reads the AgedReceivables report.
* Customers' time zones come from their billing address; when it gives none, from the company's zone:
  `company_time_zone` (DUECOURSE_COMPANY_TIME_ZONE) if set, else what CompanyInfo's address says (read once,
  only when a customer's address does not answer alone).
* QuickBooks has no draft or pending invoices (see mapping): `list_open_invoices` lists posted ones only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from adapters.ledger import (
    AgingRow,
    BankLine,
    BankLineStatus,
    ChangeBatch,
    CreditNote,
    CreditNoteDraft,
    Customer,
    CustomerDraft,
    Estimate,
    EstimateStatus,
    Invoice,
    InvoiceDraft,
    LedgerEvent,
    NotFound,
    Payment,
    PaymentRequest,
    PermanentLedgerError,
)
from adapters.ledgers.oauth import TokenStore
from adapters.ledgers.quickbooks import LEDGER
from adapters.ledgers.quickbooks import mapping as wire
from adapters.ledgers.quickbooks.auth import TOKEN_URL, RealmTokens
from adapters.ledgers.quickbooks.transport import (
    API_URL,
    MINOR_VERSION,
    PAGE_SIZE,
    THROTTLE_BACKOFF_SECONDS,
    Transport,
    quoted,
    request_id,
)
from adapters.ledgers.quickbooks.webhooks import parse_time
from adapters.ledgers.rate_limit import RateLimiter
from adapters.time_zones import CompanyZone

CDC_LOOKBACK = timedelta(days=30)
CDC_MAX_OBJECTS = 1000
CDC_ENTITIES = ("Customer", "Invoice", "Payment", "Estimate", "CreditMemo", "Deposit")

log = logging.getLogger(__name__)


class QuickBooksLedger:
    """One QuickBooks Online company (realm) behind `adapters.ledger.LedgerPort`. Thread-safe: each worker
    thread gets its own SDK client; tokens and the rate limiter are shared."""

    ledger = LEDGER

    def __init__(
        self,
        realm_id: str,
        client_id: str,
        client_secret: str,
        token_store: TokenStore,
        *,
        base_url: str = API_URL,
        token_url: str = TOKEN_URL,
        rate_limiter: RateLimiter | None = None,
        timeout: float = 30,
        minorversion: int = MINOR_VERSION,
        home_currency: str = "USD",
        item_id: str | None = None,
        page_size: int = PAGE_SIZE,
        throttle_backoff: float = THROTTLE_BACKOFF_SECONDS,
        cdc_overlap: timedelta = timedelta(seconds=60),
        cdc_max_objects: int = CDC_MAX_OBJECTS,
        default_terms_days: int = 30,
        unmatched_account_ids: Iterable[str] | None = None,
        company_time_zone: str | None = None,
    ) -> None:
        """`company_time_zone`: the IANA zone of the company (ValueError when it is none), for customers whose
        address gives no zone; unset, CompanyInfo's address is asked."""
        self.tenant = realm_id
        tokens = RealmTokens(realm_id, client_id, client_secret, token_store, token_url=token_url,
                             timeout=float(timeout))
        self._api = Transport(realm_id, tokens, base_url=base_url, rate_limiter=rate_limiter, timeout=timeout,
                              minorversion=minorversion, page_size=page_size, throttle_backoff=throttle_backoff)
        self._home = home_currency.upper()
        # None: leave ItemRef out and QuickBooks uses its default service item.
        self._item_id = item_id
        self._cdc_overlap = cdc_overlap
        self._cdc_max = cdc_max_objects
        self._default_terms = default_terms_days
        self._unmatched_accounts = None if unmatched_account_ids is None else frozenset(unmatched_account_ids)
        self._terms_lock = threading.Lock()
        self._terms: dict[str, int] | None = None
        self._configured_zone = CompanyZone.configured(company_time_zone, "company_time_zone")
        self._company: CompanyZone | None = None
        self._company_lock = threading.Lock()

    # --- customers -----------------------------------------------------------------------------------

    def _terms_days(self, refresh: bool = False) -> dict[str, int]:
        with self._terms_lock:
            if self._terms is None or refresh:
                self._terms = wire.terms_days_from_wire(self._api.query("Term"))
            return self._terms

    def _company_zone(self) -> CompanyZone:
        """The company's zone and country, from CompanyInfo (read once) and the configured zone."""
        with self._company_lock:
            if self._company is None:
                try:
                    info = self._api.get_path("reading CompanyInfo", f"companyinfo/{self.tenant}")
                except PermanentLedgerError as error:
                    log.warning("QuickBooks CompanyInfo of %s unreadable (%s): the company zone is %s", self.tenant,
                                error, self._configured_zone.zone if self._configured_zone else "unknown")
                    info = {}
                self._company = wire.company_zone_from_wire(info, self._configured_zone)
            return self._company

    def _customer(self, raw: dict[str, Any]) -> Customer:
        terms = self._terms_days()
        term = wire.ref_of(raw.get("SalesTermRef"))
        if term and term not in terms:
            terms = self._terms_days(refresh=True)
        company = None if wire.address_gives_zone(raw) else self._company_zone()
        return wire.customer_from_wire(raw, self._home, terms, self._default_terms, company)

    def get_customer(self, customer_id: str) -> Customer:
        return self._customer(self._api.get("Customer", customer_id))

    def list_customers(self) -> list[Customer]:
        return [self._customer(raw) for raw in self._api.query("Customer")]

    def create_customer(self, draft: CustomerDraft, idempotency_key: str) -> Customer:
        rid = request_id("customer", idempotency_key)
        body = wire.customer_to_wire(draft, self._home, self._term_for(draft.terms_days))
        return self._customer(self._api.create("Customer", body, rid, f"creating customer {draft.name!r}"))

    def _term_for(self, days: int) -> str:
        """The Term with these due days; created ("Net N") when the company has none."""
        for term_id, due in self._terms_days().items():
            if due == days:
                return term_id
        created = self._api.create("Term", wire.term_to_wire(days), request_id("term", f"net{days}"),
                                   f"creating payment terms Net {days}")
        self._terms_days(refresh=True)
        return str(created["Id"])

    # --- invoices and estimates ------------------------------------------------------------------------

    def get_invoice(self, invoice_id: str) -> Invoice:
        return wire.invoice_from_wire(self._api.get("Invoice", invoice_id), self._home)

    def _invoices(self, where: str) -> list[Invoice]:
        invoices = [wire.invoice_from_wire(raw, self._home) for raw in self._api.query("Invoice", where)]
        return sorted(invoices, key=lambda i: (i.due_date, i.id))

    def list_open_invoices(self, customer_id: str | None = None) -> list[Invoice]:
        return self._invoices("Balance > '0'" + (f" AND CustomerRef = {quoted(customer_id)}" if customer_id else ""))

    def list_overdue_invoices(self, as_of: date, customer_id: str | None = None) -> list[Invoice]:
        """Open invoices due before `as_of` (QuickBooks' own definition of overdue)."""
        where = f"Balance > '0' AND DueDate < {quoted(as_of.isoformat())}"
        return self._invoices(where + (f" AND CustomerRef = {quoted(customer_id)}" if customer_id else ""))

    def create_invoice(self, draft: InvoiceDraft, idempotency_key: str) -> Invoice:
        rid = request_id("invoice", idempotency_key)
        body = wire.invoice_to_wire(draft, self._home, self._item_id)
        return wire.invoice_from_wire(self._api.create("Invoice", body, rid, "creating an invoice"), self._home)

    def void_invoice(self, invoice_id: str, idempotency_key: str) -> Invoice:
        what = f"voiding invoice {invoice_id}"

        def post(body: dict[str, Any], rid: str) -> dict[str, Any]:
            return self._api.post("Invoice", "invoice", body, rid, what, params={"operation": "void"})

        voided = self._api.update(what, "void", idempotency_key, lambda: self._api.get("Invoice", invoice_id),
                                  wire.void_to_wire, post)
        return wire.invoice_from_wire(voided, self._home)

    def send_invoice(self, invoice_id: str, idempotency_key: str) -> bool:
        """QuickBooks mails the invoice itself (POST /invoice/{id}/send): always True."""
        rid = request_id("send", idempotency_key)
        invoice = self._api.get("Invoice", invoice_id)
        params: dict[str, str] = {}
        if not (invoice.get("BillEmail") or {}).get("Address"):
            customer = self.get_customer(str(wire.ref_of(invoice.get("CustomerRef"))))
            if not customer.email:
                number = invoice.get("DocNumber") or invoice_id
                raise PermanentLedgerError(f"invoice {number} has no billing email and neither has its customer")
            params["sendTo"] = customer.email
        self._api.post("Invoice", f"invoice/{invoice_id}/send", None, rid, f"emailing invoice {invoice_id}",
                       params=params)
        return True

    def get_estimate(self, estimate_id: str) -> Estimate:
        return wire.estimate_from_wire(self._api.get("Estimate", estimate_id), self._home)

    def list_estimates(self, status: EstimateStatus | None = None) -> list[Estimate]:
        # TxnStatus is not documented as filterable: filter here.
        estimates = [wire.estimate_from_wire(raw, self._home) for raw in self._api.query("Estimate")]
        return [e for e in estimates if status is None or e.status == status]

    def add_note(self, entity: str, entity_id: str, text: str, idempotency_key: str) -> None:
        """An Attachable note on the entity: visible in QuickBooks, changes none of its figures or SyncToken."""
        body = wire.note_to_wire(entity, entity_id, text)
        self._api.create("Attachable", body, request_id("note", idempotency_key),
                         f"adding a note to {entity} {entity_id}")

    # --- payments and bank lines --------------------------------------------------------------------------

    def list_payments(self, invoice_id: str | None = None) -> list[Payment]:
        if invoice_id is None:
            return [wire.payment_from_wire(raw, self._home) for raw in self._api.query("Payment")]
        invoice = self._api.get("Invoice", invoice_id)
        ids = sorted(set(wire.linked_ids(invoice, "Payment")))
        if not ids:
            return []
        rows = self._api.query("Payment", f"Id IN ({', '.join(quoted(i) for i in ids)})")
        return [wire.payment_from_wire(raw, self._home) for raw in rows]

    def record_payment(self, request: PaymentRequest, idempotency_key: str) -> Payment:
        rid = request_id("payment", idempotency_key)
        per_invoice = request.amounts_per_invoice()
        marker = f"duecourse {rid}"
        if request.bank_line_id is not None:
            earlier = self._earlier_payment_of_bank_line(request, marker)
            if earlier is not None:
                return wire.payment_from_wire(earlier, self._home)  # this very request already ran to the end
        body = wire.payment_to_wire(request, per_invoice, marker, self._home)
        payment = self._api.create("Payment", body, rid, f"recording a payment of {request.amount}")
        if request.bank_line_id is not None:
            self._match_bank_line(request.bank_line_id, payment, idempotency_key)
        return wire.payment_from_wire(payment, self._home)

    def _earlier_payment_of_bank_line(self, request: PaymentRequest, marker: str) -> dict[str, Any] | None:
        """The payment this request already recorded for its bank line, if any; refuses a line matched to
        another payment or smaller than the payment."""
        bank_line_id = str(request.bank_line_id)
        deposit, index = self._deposit_line(bank_line_id)
        line = deposit["Line"][index]
        linked = wire.linked_ids(line, "Payment")
        if linked:
            earlier = self._api.get("Payment", linked[0])
            if marker in str(earlier.get("PrivateNote") or ""):
                return earlier
            raise PermanentLedgerError(f"bank line {bank_line_id} is already matched to payment {linked[0]}")
        if request.amount.amount > wire.amount_of(line.get("Amount")):
            raise PermanentLedgerError(f"payment {request.amount} exceeds bank line {bank_line_id} "
                                       f"({wire.amount_of(line.get('Amount'))})")
        return None

    def _match_bank_line(self, bank_line_id: str, payment: dict[str, Any], idempotency_key: str) -> None:
        """Relinks the deposit line to the payment (money moves from the booked account to the payment)."""
        what = f"matching bank line {bank_line_id}"
        deposit_id = wire.split_bank_line_id(bank_line_id)[0]

        def change(deposit: dict[str, Any]) -> dict[str, Any] | None:
            return wire.bank_match_to_wire(deposit, bank_line_id, payment)

        def post(body: dict[str, Any], rid: str) -> dict[str, Any]:
            return self._api.update_object("Deposit", body, rid, what)

        self._api.update(what, "bank", idempotency_key, lambda: self._api.get("Deposit", deposit_id), change, post)

    def _deposit_line(self, bank_line_id: str) -> tuple[dict[str, Any], int]:
        deposit_id, line_id = wire.split_bank_line_id(bank_line_id)
        if not deposit_id or not line_id:
            raise NotFound(f"{bank_line_id!r} is not a QuickBooks bank line id (<deposit id>-<line id>)")
        deposit = self._api.get("Deposit", deposit_id)
        for index in range(len(deposit.get("Line") or [])):
            if wire.line_id(deposit, index) == line_id:
                return deposit, index
        raise NotFound(f"deposit {deposit_id} has no line {line_id}")

    def _bank_lines(self, deposits: list[dict[str, Any]]) -> list[BankLine]:
        wanted = wire.unnamed_payers(deposits)
        payers: dict[str, str] = {}
        if wanted:
            rows = self._api.query("Customer", f"Id IN ({', '.join(quoted(i) for i in wanted)})")
            payers = {str(row["Id"]): str(row.get("DisplayName") or "") for row in rows}
        return [line for raw in deposits
                for line in wire.bank_lines_from_wire(raw, self._home, self._unmatched_accounts, payers)]

    def get_bank_line(self, bank_line_id: str) -> BankLine:
        deposit, index = self._deposit_line(bank_line_id)
        return self._bank_lines([deposit])[index]

    def list_bank_lines(self, status: BankLineStatus | None = None) -> list[BankLine]:
        lines = self._bank_lines(self._api.query("Deposit"))
        return [line for line in lines if status is None or line.status == status]

    def bank_lines_of_deposit(self, deposit_id: str) -> list[BankLine]:
        """The bank lines a Deposit webhook event stands for."""
        return self._bank_lines([self._api.get("Deposit", deposit_id)])

    # --- credit notes ---------------------------------------------------------------------------------------

    def list_credit_notes(self, customer_id: str | None = None) -> list[CreditNote]:
        where = f"CustomerRef = {quoted(customer_id)}" if customer_id else ""
        memos = self._api.query("CreditMemo", where)
        invoices = wire.credit_invoices_from_wire(self._api.query("Payment", where)) if memos else {}
        return [wire.credit_note_from_wire(raw, self._home, invoices.get(str(raw["Id"]))) for raw in memos]

    def create_credit_note(self, draft: CreditNoteDraft, idempotency_key: str) -> CreditNote:
        body = wire.credit_note_to_wire(draft, self._home, self._item_id)
        memo = self._api.create("CreditMemo", body, request_id("credit", idempotency_key), "creating a credit memo")
        if draft.invoice_id is None:
            return wire.credit_note_from_wire(memo, self._home, None)
        memo = self._apply_credit(draft, self._api.get("CreditMemo", str(memo["Id"])), idempotency_key)
        return wire.credit_note_from_wire(memo, self._home, draft.invoice_id)

    def _apply_credit(self, draft: CreditNoteDraft, memo: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Applies the memo to the draft's invoice, as far as the invoice is open; the memo as it is after."""
        total, remaining = wire.amount_of(memo.get("TotalAmt")), wire.credit_remaining(memo)
        if remaining != total or remaining <= 0:
            return memo  # applied already (a retry)
        invoice_id = str(draft.invoice_id)
        invoice = self._api.get("Invoice", invoice_id)
        amount = min(remaining, wire.amount_of(invoice.get("Balance")))
        if amount <= 0:
            return memo
        body = wire.credit_application_to_wire(draft, memo, invoice, amount, self._home)
        self._api.create("Payment", body, request_id("apply", idempotency_key),
                         f"applying credit memo {memo['Id']} to invoice {invoice_id}")
        return self._api.get("CreditMemo", str(memo["Id"]))

    # --- reports and changes ------------------------------------------------------------------------------

    def aging_report(self, as_of: date) -> list[AgingRow] | None:
        query = {"report_date": as_of.isoformat(), "aging_period": "30", "num_periods": "4"}
        report = self._api.call("reading the AgedReceivables report",
                                lambda qb: qb.get_report("AgedReceivables", qs=dict(query)))
        return wire.aging_rows_from_wire(report, self._home)

    def changes_since(self, cursor: str | None) -> ChangeBatch:
        if cursor is None:
            company = self._api.get_path("reading CompanyInfo", f"companyinfo/{self.tenant}")
            return ChangeBatch(events=[], cursor=str(company["time"]))
        changed_since = self._cdc_window(cursor).isoformat(timespec="seconds")
        data = self._api.call("reading changes (CDC)",
                              lambda qb: qb.change_data_capture(",".join(CDC_ENTITIES), changed_since))
        events: list[LedgerEvent] = []
        next_cursor = str(data.get("time") or datetime.now(UTC).isoformat())
        capped: list[datetime] = []
        for response in data.get("CDCResponse") or []:
            for block in response.get("QueryResponse") or []:
                for entity in CDC_ENTITIES:
                    rows = block.get(entity) or []
                    for raw in rows:
                        events.extend(wire.events_from_wire(entity, raw, self.tenant, self._home,
                                                            self._unmatched_accounts, datetime.now(UTC)))
                    if len(rows) >= self._cdc_max and (newest := wire.newest_update(rows)) is not None:
                        capped.append(newest)
        if capped:
            # CDC answered with as many objects as it sends; resume from the newest one it did send.
            next_cursor = min(capped).isoformat()
        events.sort(key=lambda e: e.occurred_at)
        return ChangeBatch(events=events, cursor=next_cursor)

    def _cdc_window(self, cursor: str) -> datetime:
        """Where a poll from `cursor` starts: `cdc_overlap` before it, and never past CDC's 30 days."""
        try:
            since = parse_time(cursor, "cursor")
        except ValueError as error:
            raise PermanentLedgerError(f"QuickBooks change cursor {cursor!r} is not an ISO timestamp") from error
        oldest = datetime.now(UTC) - CDC_LOOKBACK + timedelta(minutes=5)
        if since < oldest:
            log.warning("QuickBooks CDC cursor %s is older than CDC's 30 days; changes before %s are not reported",
                        cursor, oldest.isoformat())
            since = oldest
        return max(since - self._cdc_overlap, oldest)
