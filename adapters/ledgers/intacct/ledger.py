"""Sage Intacct (REST API v1) behind `LedgerPort`: each operation as a story of calls and mappings.

`auth` holds the company's tokens, `transport` makes the calls and maps failures, `mapping` turns objects
into the vocabulary and back; this file says which objects each operation reads and writes, and in what
order. Everything is configurable where LEDGER_APIS.md marks a fact as unconfirmed (Part E, Intacct items
16-23); the knobs are this class's keyword arguments.

* Writes are replay-safe: every create goes through `transport.create` (the idempotency header plus a
  marker lookup); a `Conflict` on a workflow action means an earlier attempt under the same key did it.
* Unapplied cash (a payment larger than its allocations) becomes an AR **advance** for the remainder,
  under the key `<idempotency key>:advance` (LEDGER_APIS.md D4).
* #21 quotes: `quote_object` (default `order-entry/document::Sales Quote`; None = the company has no
  quotes: empty lists, NotFound). Bank lines: `bank_line_object` (default `cash-management/bank-txn`;
  None = no bank feed).
* #20 notes: one attachment record per transaction, in folder `attachment_folder`, linked through the
  transaction's `attachment` reference.
* Customers' zones come from their mailing address, else `company_time_zone` (DUECOURSE_COMPANY_TIME_ZONE),
  else UTC with `time_zone_source` saying so. Draft invoices are listed by `list_open_invoices` (status
  DRAFT), never by `list_overdue_invoices`.
* #23 no REST email and no aging service: `send_invoice` answers False (duecourse mails the invoice) and
  `aging_report` answers None (callers compute aging from open invoices).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from adapters.ledger import (
    AgingRow,
    Allocation,
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
    InvoiceStatus,
    LedgerEvent,
    Money,
    NotFound,
    Payment,
    PaymentRequest,
    PermanentLedgerError,
)
from adapters.ledgers.intacct import mapping as wire
from adapters.ledgers.intacct.auth import IntacctAuth
from adapters.ledgers.intacct.mapping import (
    ADJUSTMENT,
    ADVANCE,
    ATTACHMENT,
    CUSTOMER,
    INVOICE,
    PAYMENT,
    PAYMENT_DETAIL,
    PostingDefaults,
)
from adapters.ledgers.intacct.transport import DEFAULT_BASE_URL, Conflict, IntacctTransport
from adapters.ledgers.intacct.webhooks import LEDGER
from adapters.ledgers.oauth import OAuthTokens, TokenStore
from adapters.ledgers.rate_limit import RateLimiter
from adapters.time_zones import CompanyZone

REVERSE_INVOICE_PATH = "/workflows/accounts-receivable/invoice/reverse"

# The records a note can be added to, and the letter of their attachment id (`DC-<letter>-<key>`).
_NOTE_OBJECTS = {"Customer": (CUSTOMER, "C"), "Invoice": (INVOICE, "I"), "Payment": (PAYMENT, "P"),
                 "CreditNote": (ADJUSTMENT, "A")}


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _require_key(idempotency_key: str, what: str) -> None:
    if not idempotency_key or not idempotency_key.strip():
        raise PermanentLedgerError(f"{what} needs an idempotency key")


class IntacctLedger:
    """One Intacct company (and optionally one entity of it) behind `LedgerPort`. Thread-safe: activities
    share one instance; the rate limiter caps concurrent calls (Intacct answers 429 above its tier's
    concurrency, 2 on base tiers)."""

    ledger = LEDGER

    def __init__(
        self,
        company_id: str,
        client_id: str,
        client_secret: str,
        token_store: TokenStore,
        *,
        base_url: str = DEFAULT_BASE_URL,
        idempotency_header: str = "Idempotency-Key",
        rate_limiter: RateLimiter | None = None,
        timeout: float = 30,
        http: httpx.Client | None = None,
        username: str | None = None,
        entity_id: str | None = None,
        revenue_gl_account: str = "4000",
        credit_gl_account: str | None = None,
        advance_gl_account: str = "2400",
        payment_method: str = "eft",
        bank_account_id: str | None = None,
        undeposited_gl_account: str = "1050",
        receipt_date_field: str = "paymentSummary.receiptDate",
        quote_object: str | None = wire.DEFAULT_QUOTE_OBJECT,
        bank_line_object: str | None = wire.DEFAULT_BANK_LINE_OBJECT,
        attachment_folder: str | None = "duecourse",
        lookup_before_create: bool = True,
        page_size: int = 1000,
        refresh_margin_seconds: float = 300,
        change_settle_seconds: float = 30,
        default_currency: str = "USD",
        term_name: str | None = "Net {days}",
        clock: Callable[[], datetime] = _utc_now,
        company_time_zone: str | None = None,
    ) -> None:
        """`company_time_zone`: the company's IANA zone (ValueError when it is none), for customers whose
        address gives no zone."""
        self.tenant = company_id
        self.company_zone = CompanyZone.configured(company_time_zone, "company_time_zone")
        client = http or httpx.Client(timeout=timeout)
        self.auth = IntacctAuth(tenant=company_id, client_id=client_id, client_secret=client_secret,
                                token_store=token_store, base_url=base_url, http=client, timeout=timeout,
                                username=username, refresh_margin_seconds=refresh_margin_seconds, clock=clock)
        self.transport = IntacctTransport(
            base_url=base_url, tokens=self.auth, tenant=company_id, http=client, owns_http=http is None,
            timeout=timeout,
            # Intacct bills transactions instead of capping them per minute; concurrency is what it refuses.
            rate_limiter=rate_limiter or RateLimiter(per_minute=100_000, concurrent=2),
            idempotency_header=idempotency_header, entity_id=entity_id, page_size=page_size,
            lookup_before_create=lookup_before_create)
        self.posting = PostingDefaults(
            revenue_gl_account=revenue_gl_account, credit_gl_account=credit_gl_account or revenue_gl_account,
            advance_gl_account=advance_gl_account, payment_method=payment_method, bank_account_id=bank_account_id,
            undeposited_gl_account=undeposited_gl_account, receipt_date_field=receipt_date_field,
            term_name=term_name, attachment_folder=attachment_folder)
        self.quote_object = quote_object
        self.bank_line_object = bank_line_object
        self.change_settle_seconds = change_settle_seconds
        self.default_currency = default_currency
        self._clock = clock

    def close(self) -> None:
        self.transport.close()

    # --- connecting ----------------------------------------------------------------------------------

    def connect_with_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> OAuthTokens:
        """Exchange an authorization code (from `auth.authorization_url`'s redirect) and store the tokens."""
        return self.auth.connect_with_code(code, redirect_uri, code_verifier)

    def connect_with_client_credentials(self, username: str | None = None) -> OAuthTokens:
        """Server-to-server: tokens for a Web Services user (`user@company`), stored."""
        return self.auth.connect_with_client_credentials(username)

    # --- LedgerPort: customers -----------------------------------------------------------------------

    def get_customer(self, customer_id: str) -> Customer:
        return wire.customer_from_wire(self.transport.get(CUSTOMER, customer_id),
                                       default_currency=self.default_currency, company=self.company_zone)

    def list_customers(self) -> list[Customer]:
        rows = self.transport.query(CUSTOMER, wire.CUSTOMER_FIELDS, order_by=[{"key": "asc"}])
        return [wire.customer_from_wire(row, default_currency=self.default_currency, company=self.company_zone)
                for row in rows]

    def create_customer(self, draft: CustomerDraft, idempotency_key: str) -> Customer:
        _require_key(idempotency_key, "create_customer")
        body = wire.customer_to_wire(draft, idempotency_key, self.posting)
        return self.get_customer(self.transport.create(CUSTOMER, body, idempotency_key, "notes"))

    # --- LedgerPort: invoices --------------------------------------------------------------------------

    def get_invoice(self, invoice_id: str) -> Invoice:
        return wire.invoice_from_wire(self.transport.get(INVOICE, invoice_id), default_currency=self.default_currency)

    def list_open_invoices(self, customer_id: str | None = None) -> list[Invoice]:
        """Invoices with money still due (posted, partially paid or selected for payment) and drafts (status
        DRAFT: their lifecycle waits for them to be posted), soonest due first. Lines are not part of query
        rows: `get_invoice` has them."""
        return self._open_invoices(customer_id, states=wire.OPEN_OR_DRAFT_STATES)

    def list_overdue_invoices(self, as_of: date, customer_id: str | None = None) -> list[Invoice]:
        """Posted invoices with money due before `as_of` (a draft is never overdue)."""
        return self._open_invoices(customer_id, [{"$lt": {"dueDate": as_of.isoformat()}}])

    def _open_invoices(self, customer_id: str | None, extra: Sequence[Mapping[str, Any]] = (),
                       states: Sequence[str] = wire.OPEN_INVOICE_STATES) -> list[Invoice]:
        filters: list[Mapping[str, Any]] = [{"$gt": {"totalTxnAmountDue": "0"}},
                                            {"$in": {"state": list(states)}}, *extra]
        if customer_id is not None:
            filters.append({"$eq": {"customer.key": customer_id}})
        rows = self.transport.query(INVOICE, wire.INVOICE_FIELDS, filters,
                                    order_by=[{"dueDate": "asc"}, {"key": "asc"}])
        return [wire.invoice_from_wire(row, default_currency=self.default_currency) for row in rows]

    def create_invoice(self, draft: InvoiceDraft, idempotency_key: str) -> Invoice:
        _require_key(idempotency_key, "create_invoice")
        body = wire.invoice_to_wire(draft, idempotency_key, self.posting)
        return self.get_invoice(self.transport.create(INVOICE, body, idempotency_key, "description"))

    def void_invoice(self, invoice_id: str, idempotency_key: str) -> Invoice:
        """Intacct reverses instead of voiding: the invoice becomes `reversed` and owes nothing. An invoice
        with payments applied is refused by the ledger (reverse the payments first)."""
        _require_key(idempotency_key, "void_invoice")
        invoice = self.get_invoice(invoice_id)
        if invoice.status == InvoiceStatus.VOID:
            return invoice
        body = wire.reversal_to_wire(invoice_id, max(self._clock().date(), invoice.issue_date))
        try:
            self.transport.call("POST", REVERSE_INVOICE_PATH, body=body, idempotency_key=idempotency_key)
        except Conflict:
            pass  # an earlier attempt under this key reversed it; the read below says so
        return self.get_invoice(invoice_id)

    def send_invoice(self, invoice_id: str, idempotency_key: str) -> bool:
        """Intacct's REST API has no email delivery (only the read-only delivery history): duecourse sends."""
        return False

    # --- LedgerPort: estimates ---------------------------------------------------------------------------

    def get_estimate(self, estimate_id: str) -> Estimate:
        if self.quote_object is None:
            raise NotFound(f"estimate {estimate_id!r}: quotes are not configured for this Intacct company")
        return wire.estimate_from_wire(self.transport.get(self.quote_object, estimate_id),
                                       default_currency=self.default_currency)

    def list_estimates(self, status: EstimateStatus | None = None) -> list[Estimate]:
        if self.quote_object is None:
            return []
        # Quote documents need their lines for a total: read each one (quotes are few).
        rows = self.transport.query(self.quote_object, ["key"], order_by=[{"key": "asc"}])
        estimates = [self.get_estimate(key) for key in wire.keys(rows)]
        return [e for e in estimates if status is None or e.status == status]

    # --- LedgerPort: payments ----------------------------------------------------------------------------

    def record_payment(self, request: PaymentRequest, idempotency_key: str) -> Payment:
        """One receipt applied to one or several invoices (in part or in full). Money beyond the allocations
        becomes an AR advance (unapplied cash) under the key `<idempotency key>:advance`."""
        _require_key(idempotency_key, "record_payment")
        per_invoice = request.amounts_per_invoice()
        # Intacct takes amounts in cents whatever the currency's own minor unit.
        wire.wire_amount(request.amount.amount, "payment amount")
        remainder = request.amount.amount - sum(per_invoice.values(), Decimal("0"))
        advance_key = f"{idempotency_key}:advance"
        # Both bodies are built before either is written, so a refused figure writes nothing.
        payment = wire.payment_to_wire(request, per_invoice, idempotency_key, self.posting) if per_invoice else None
        advance = wire.advance_to_wire(request, remainder, advance_key, self.posting) if remainder > 0 else None
        payment_id = self.transport.create(PAYMENT, payment, idempotency_key, "description") if payment else None
        advance_id = self.transport.create(ADVANCE, advance, advance_key, "description") if advance else None
        currency = request.amount.currency
        return Payment(
            id=payment_id or advance_id or "",
            customer_id=request.customer_id,
            date=request.date,
            amount=request.amount,
            allocations=[Allocation(invoice_id=i, amount=Money(amount=v, currency=currency))
                         for i, v in per_invoice.items()],
            unapplied=Money(amount=remainder, currency=currency),
            reference=request.reference,
        )

    def list_payments(self, invoice_id: str | None = None) -> list[Payment]:
        """Payments (with their allocations) applied to one invoice, or every payment and every advance
        (unapplied cash) when no invoice is named. Reversed payments are left out."""
        fields = self.posting.payment_header_fields()
        if invoice_id is not None:
            self.transport.get(INVOICE, invoice_id)  # NotFound for an unknown invoice, as the port expects
            details = self.transport.query(PAYMENT_DETAIL, ["arPayment.key"],
                                           [{"$eq": {"arInvoice.key": invoice_id}}])
            paying = wire.keys(details, "arPayment.key")
            headers = self.transport.query_in(PAYMENT, fields, "key", paying) if paying else []
        else:
            headers = self.transport.query(PAYMENT, fields, order_by=[{"key": "asc"}])
        payments = self._with_details([h for h in headers if wire.is_active_receipt(h)])
        if invoice_id is None:
            payments += self._advances()
        return sorted(payments, key=lambda p: int(p.id) if p.id.isdigit() else 0)

    def _with_details(self, headers: Sequence[Mapping[str, Any]]) -> list[Payment]:
        if not headers:
            return []
        details = self.transport.query_in(PAYMENT_DETAIL, wire.PAYMENT_DETAIL_FIELDS, "arPayment.key",
                                          wire.keys(headers))
        return wire.payments_from_wire(headers, details, posting=self.posting, default_currency=self.default_currency)

    def _advances(self) -> list[Payment]:
        rows = self.transport.query(ADVANCE, self.posting.advance_fields(), order_by=[{"key": "asc"}])
        return [wire.advance_from_wire(row, posting=self.posting, default_currency=self.default_currency)
                for row in rows if wire.is_active_receipt(row)]

    # --- LedgerPort: bank lines ----------------------------------------------------------------------------

    def get_bank_line(self, bank_line_id: str) -> BankLine:
        if self.bank_line_object is None:
            raise NotFound(f"bank line {bank_line_id!r}: no bank feed is configured for this Intacct company")
        return wire.bank_line_from_wire(self.transport.get(self.bank_line_object, bank_line_id),
                                        default_currency=self.default_currency)

    def list_bank_lines(self, status: BankLineStatus | None = None) -> list[BankLine]:
        """Deposits on the company's bank feed (withdrawals are not receivables' business)."""
        if self.bank_line_object is None:
            return []
        rows = self.transport.query(self.bank_line_object, wire.BANK_LINE_FIELDS,
                                    order_by=[{"postingDate": "asc"}, {"key": "asc"}])
        lines = [wire.bank_line_from_wire(row, default_currency=self.default_currency)
                 for row in rows if wire.is_deposit(row)]
        return [line for line in lines if status is None or line.status == status]

    # --- LedgerPort: credit notes ----------------------------------------------------------------------------

    def create_credit_note(self, draft: CreditNoteDraft, idempotency_key: str) -> CreditNote:
        """A credit memo: an AR adjustment with negative lines, naming the invoice it credits (if any)."""
        _require_key(idempotency_key, "create_credit_note")
        if not draft.lines:
            raise PermanentLedgerError("a credit note needs at least one line")
        number = None
        if draft.invoice_id is not None:
            invoice = self.get_invoice(draft.invoice_id)
            if invoice.customer_id != draft.customer_id:
                raise PermanentLedgerError(f"invoice {invoice.number} ({invoice.id}) belongs to customer "
                                           f"{invoice.customer_id}, not {draft.customer_id}")
            number = invoice.number
        body = wire.credit_note_to_wire(draft, number, idempotency_key, self.posting)
        key = self.transport.create(ADJUSTMENT, body, idempotency_key, "description")
        return wire.credit_note_from_wire(self.transport.get(ADJUSTMENT, key), default_currency=self.default_currency)

    def list_credit_notes(self, customer_id: str | None = None) -> list[CreditNote]:
        filters = [] if customer_id is None else [{"$eq": {"customer.key": customer_id}}]
        rows = self.transport.query(ADJUSTMENT, wire.ADJUSTMENT_FIELDS, filters, order_by=[{"key": "asc"}])
        return [wire.credit_note_from_wire(row, default_currency=self.default_currency)
                for row in rows if wire.is_credit(row)]

    # --- LedgerPort: notes -----------------------------------------------------------------------------------

    def add_note(self, entity: str, entity_id: str, text: str, idempotency_key: str) -> None:
        """An audit-trail note: a text file in the record's supporting-document attachment (one attachment
        record per transaction, created on first use and linked through `attachment`)."""
        _require_key(idempotency_key, "add_note")
        if entity not in _NOTE_OBJECTS:
            raise PermanentLedgerError(f"cannot add a note to {entity!r} in Intacct: one of "
                                       f"{', '.join(_NOTE_OBJECTS)} expected")
        if not text.strip():
            raise PermanentLedgerError("a note needs some text")
        obj, letter = _NOTE_OBJECTS[entity]
        record = self.transport.get(obj, entity_id)
        file = wire.note_to_wire(text, idempotency_key)
        linked = wire.text(wire.pick(record, "attachment.key"))
        attachment_key = linked or self._attachment(f"DC-{letter}-{entity_id}", entity, entity_id, file,
                                                    idempotency_key)
        attachment = self.transport.get(ATTACHMENT, attachment_key)
        if file["name"] not in wire.file_names(attachment):
            self.transport.patch(ATTACHMENT, attachment_key, {"files": [file]}, idempotency_key)
        if not linked:
            self.transport.patch(obj, entity_id, {"attachment": {"key": attachment_key}}, f"{idempotency_key}:link")

    def _attachment(self, attachment_id: str, entity: str, entity_id: str, file: Mapping[str, str],
                    idempotency_key: str) -> str:
        """The key of the record's attachment, created (holding this first note) if it has none yet."""
        found = self.transport.first_key(ATTACHMENT, "id", attachment_id)
        if found:
            return found
        create_key = f"{idempotency_key}:attachment"
        body = wire.attachment_to_wire(attachment_id, entity, entity_id, file, create_key, self.posting)
        try:
            return self.transport.create(ATTACHMENT, body, create_key, "description")
        except Conflict:
            # Another note created this record's attachment first (the id is unique): use it.
            found = self.transport.first_key(ATTACHMENT, "id", attachment_id)
            if not found:
                raise
            return found

    # --- LedgerPort: polling backstop and reports ------------------------------------------------------------

    def _change_sources(self) -> list[tuple[str, str]]:
        sources = [("Customer", CUSTOMER), ("Invoice", INVOICE), ("Payment", PAYMENT), ("Payment", ADVANCE),
                   ("CreditNote", ADJUSTMENT)]
        if self.quote_object:
            sources.append(("Estimate", self.quote_object))
        if self.bank_line_object:
            sources.append(("BankLine", self.bank_line_object))
        return sources

    def changes_since(self, cursor: str | None) -> ChangeBatch:
        """Records modified at or after `cursor` (an ISO UTC timestamp), from the query service. Intacct
        audit times have one-second resolution, so the cursor moves past a second only once that second is
        `change_settle_seconds` old; until then its changes are reported again, with the same event ids.
        Deletions are invisible to polling (webhooks announce them)."""
        settled = self._clock() - timedelta(seconds=self.change_settle_seconds)
        if cursor is None:
            return ChangeBatch(events=[], cursor=wire.iso_utc(settled))
        since = wire.parse_timestamp(cursor)
        if since is None:
            raise PermanentLedgerError(f"Intacct change cursor {cursor!r} is not an ISO timestamp")
        events = [event for entity, obj in self._change_sources() for event in self._changes_of(entity, obj, since)]
        newest = max([since, *(e.occurred_at for e in events)])
        following = newest + timedelta(seconds=1) if events and newest <= settled else newest
        events.sort(key=lambda e: (e.occurred_at, e.entity, e.entity_id))
        return ChangeBatch(events=events, cursor=wire.iso_utc(following))

    def _changes_of(self, entity: str, obj: str, since: datetime) -> list[LedgerEvent]:
        modified_since = [{"$gte": {"audit.modifiedDateTime": wire.iso_utc(since)}}]
        rows = self.transport.query(obj, wire.CHANGE_FIELDS, modified_since,
                                    order_by=[{"audit.modifiedDateTime": "asc"}, {"key": "asc"}])
        events = (wire.event_from_wire(row, entity=entity, obj=obj, tenant=self.tenant) for row in rows)
        return [event for event in events if event is not None]

    def aging_report(self, as_of: date) -> list[AgingRow] | None:
        """Intacct's REST API has no AR aging service (reports run stored custom reports only): callers
        compute aging from `list_open_invoices`, leaving out status DRAFT (a draft owes nothing yet)."""
        return None
