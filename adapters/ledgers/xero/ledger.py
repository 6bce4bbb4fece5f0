"""Xero (Accounting API 2.0) behind `LedgerPort`, through xero-python.

Each operation reads as its story: the calls it makes (`transport`), the records it maps (`mapping`), and
what only Xero needs: invoicing an accepted quote marks it INVOICED; voiding deletes a draft and voids an
authorised invoice; a payment of one invoice is a Payment, of several a BatchPayment, and money beyond the
allocations a RECEIVE-OVERPAYMENT bank transaction. Xero's API does not expose bank statement lines, so a
payment recorded for a bank line lands in that line's bank account and is noted in its history. Aging is
Reports/AgedReceivablesByContact, one call per customer with an open balance, so it is used only up to
`aging_contact_limit` customers (else None: callers compute it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from xero_python.accounting.models import Account as XAccount
from xero_python.accounting.models import LineAmountTypes as XLineAmountTypes
from xero_python.accounting.models import RequestEmpty as XRequestEmpty

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
    NotFound,
    Payment,
    PaymentRequest,
    PermanentLedgerError,
    RetryableLedgerError,
)
from adapters.ledgers.oauth import TokenStore
from adapters.ledgers.rate_limit import RateLimiter
from adapters.ledgers.xero import mapping
from adapters.ledgers.xero.auth import IDENTITY_BASE, XeroTokens
from adapters.ledgers.xero.mapping import amount_from_wire, date_from_wire, kind_of, status_of
from adapters.ledgers.xero.transport import API_BASE, LEDGER, XeroTransport, idempotency_header

log = logging.getLogger("duecourse.xero")

NOTE_RESOURCES = {"Invoice": "create_invoice_history", "Customer": "create_contact_history",
                  "Payment": "create_payment_history", "BankLine": "create_bank_transaction_history_record",
                  "Estimate": "create_quote_history", "CreditNote": "create_credit_note_history"}


class XeroLedger:
    """One Xero organisation (tenant) behind `LedgerPort`. Thread-safe: a worker's activities share it."""

    ledger = LEDGER

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        token_store: TokenStore,
        *,
        api_base: str = API_BASE,
        identity_base: str = IDENTITY_BASE,
        rate_limiter: RateLimiter | None = None,
        timeout: float = 30,
        sales_account_code: str = "200",
        bank_account_code: str = "090",
        line_amount_types: str = "Inclusive",
        page_size: int = 100,
        refresh_margin_seconds: float = 300,
        change_overlap_seconds: float = 60,
        aging_contact_limit: int = 25,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenant = tenant_id
        self._clock = clock or (lambda: datetime.now(UTC))
        tokens = XeroTokens(tenant_id, client_id, client_secret, token_store, identity_base=identity_base,
                            timeout=timeout, refresh_margin_seconds=refresh_margin_seconds, clock=self._clock)
        self._transport = XeroTransport(tenant_id, tokens, api_base=api_base, rate_limiter=rate_limiter,
                                        timeout=timeout, page_size=page_size)
        self._api = self._transport.api
        self._call = self._transport.call
        self._pages = self._transport.pages
        self._sales_account = sales_account_code
        self._bank_account = bank_account_code
        self._amount_types = XLineAmountTypes(line_amount_types)
        self._overlap = timedelta(seconds=change_overlap_seconds)
        self._aging_contact_limit = aging_contact_limit
        self._organisation: mapping.Organisation | None = None

    def close(self) -> None:
        self._transport.close()

    def _org(self) -> mapping.Organisation:
        """The organisation's base currency, country and time zone, read once."""
        if self._organisation is None:
            found = self._call("reading the organisation", self._api.get_organisations).organisations or []
            if not found:
                raise RetryableLedgerError("Xero returned no organisation")
            self._organisation = mapping.organisation_from_wire(found[0])
        return self._organisation

    def _base(self) -> str:
        return self._org().base_currency

    def _currency_of(self, record: Any) -> str:
        """The record's currency; the organisation's base currency (read then) when it names none."""
        return mapping.currency_of(record) or self._base()

    # --- LedgerPort: customers ---------------------------------------------------------------------

    def get_customer(self, customer_id: str) -> Customer:
        contacts = self._call(f"reading contact {customer_id}", self._api.get_contact, customer_id).contacts or []
        if not contacts:
            raise NotFound(f"Xero has no contact {customer_id}")
        return mapping.customer_from_wire(contacts[0], self._org())

    def list_customers(self) -> list[Customer]:
        contacts = self._pages("listing contacts", self._api.get_contacts, lambda r: r.contacts,
                               where='ContactStatus=="ACTIVE"', order="Name ASC")
        # Suppliers that never bought anything are not customers.
        return [mapping.customer_from_wire(c, self._org()) for c in contacts
                if not (c.is_supplier and not c.is_customer)]

    def create_customer(self, draft: CustomerDraft, idempotency_key: str) -> Customer:
        created = self._call(f"creating contact {draft.name!r}", self._api.create_contacts,
                             mapping.customer_to_wire(draft), idempotency_key=idempotency_header(idempotency_key))
        return mapping.customer_from_wire(created.contacts[0], self._org())

    # --- LedgerPort: invoices ----------------------------------------------------------------------

    def _raw_invoice(self, invoice_id: str) -> Any:
        invoices = self._call(f"reading invoice {invoice_id}", self._api.get_invoice, invoice_id, unitdp=4).invoices
        if not invoices or kind_of(invoices[0]) != "ACCREC":
            raise NotFound(f"Xero has no sales invoice {invoice_id}")
        return invoices[0]

    def get_invoice(self, invoice_id: str) -> Invoice:
        invoice = self._raw_invoice(invoice_id)
        return mapping.invoice_from_wire(invoice, self._currency_of(invoice))

    def list_open_invoices(self, customer_id: str | None = None) -> list[Invoice]:
        """ACCREC invoices with money due: AUTHORISED ones, and DRAFT / SUBMITTED ones (status DRAFT: their
        lifecycle waits for approval), soonest due first."""
        query: dict[str, Any] = {"where": 'Type=="ACCREC" AND AmountDue>0',
                                 "statuses": list(mapping.OPEN_OR_DRAFT_STATUSES), "order": "DueDate ASC",
                                 "unitdp": 4}
        if customer_id is not None:
            query["contact_i_ds"] = [mapping.guid(customer_id, "customer")]
        invoices = self._pages("listing open invoices", self._api.get_invoices, lambda r: r.invoices, **query)
        return [mapping.invoice_from_wire(invoice, self._currency_of(invoice)) for invoice in invoices]

    def _raw_quote(self, quote_id: str) -> Any:
        quotes = self._call(f"reading quote {quote_id}", self._api.get_quote, quote_id).quotes
        if not quotes:
            raise NotFound(f"Xero has no quote {quote_id}")
        return quotes[0]

    def create_invoice(self, draft: InvoiceDraft, idempotency_key: str) -> Invoice:
        mapping.check_lines(draft.lines, "an invoice")
        if draft.due_date < draft.issue_date:
            raise PermanentLedgerError(f"due date {draft.due_date} is before the issue date {draft.issue_date}")
        quote = self._raw_quote(draft.estimate_id) if draft.estimate_id is not None else None
        wire = mapping.invoice_to_wire(draft, self._sales_account, self._amount_types,
                                       quote.quote_number if quote is not None else None)
        created = self._call(f"creating an invoice for {draft.customer_id}", self._api.create_invoices, wire,
                             unitdp=4, idempotency_key=idempotency_header(idempotency_key))
        if quote is not None and status_of(quote) == "ACCEPTED":
            # Invoicing an accepted quote closes it, as Xero's own "Create invoice" does.
            self._call(f"marking quote {quote.quote_number} invoiced", self._api.update_quote, quote.quote_id,
                       mapping.quote_invoiced_to_wire(quote),
                       idempotency_key=idempotency_header(idempotency_key, "quote-invoiced"))
        return mapping.invoice_from_wire(created.invoices[0], self._currency_of(created.invoices[0]))

    def void_invoice(self, invoice_id: str, idempotency_key: str) -> Invoice:
        current = self._raw_invoice(invoice_id)
        status = status_of(current)
        if status in ("VOIDED", "DELETED"):
            return mapping.invoice_from_wire(current, self._currency_of(current))
        # Xero voids AUTHORISED invoices and deletes DRAFT / SUBMITTED ones; both leave nothing owed.
        target = "DELETED" if status in ("DRAFT", "SUBMITTED") else "VOIDED"
        updated = self._call(f"voiding invoice {current.invoice_number}", self._api.update_invoice, invoice_id,
                             mapping.invoice_status_to_wire(invoice_id, target), unitdp=4,
                             idempotency_key=idempotency_header(idempotency_key))
        return mapping.invoice_from_wire(updated.invoices[0], self._currency_of(updated.invoices[0]))

    def send_invoice(self, invoice_id: str, idempotency_key: str) -> bool:
        """Xero mails the invoice itself (POST /Invoices/{id}/Email, 204) to the contact's address."""
        self._call(f"emailing invoice {invoice_id}", self._api.email_invoice, invoice_id, XRequestEmpty(),
                   idempotency_key=idempotency_header(idempotency_key))
        return True

    # --- LedgerPort: estimates ---------------------------------------------------------------------

    def get_estimate(self, estimate_id: str) -> Estimate:
        quote = self._raw_quote(estimate_id)
        return mapping.estimate_from_wire(quote, self._currency_of(quote))

    def list_estimates(self, status: EstimateStatus | None = None) -> list[Estimate]:
        wanted = [None] if status is None else [s for s, mapped in mapping.QUOTE_STATUSES.items() if mapped == status]
        estimates: list[Estimate] = []
        for xero_status in wanted:
            query = {} if xero_status is None else {"status": xero_status}
            for quote in self._pages("listing quotes", self._api.get_quotes, lambda r: r.quotes, sized=False,
                                     order="Date ASC", **query):
                estimates.append(mapping.estimate_from_wire(quote, self._currency_of(quote)))
        return estimates

    # --- LedgerPort: payments and bank lines -------------------------------------------------------

    def record_payment(self, request: PaymentRequest, idempotency_key: str) -> Payment:
        """One allocation: a Payment; several: a BatchPayment (one bank line, as the customer paid); money left
        over: a RECEIVE-OVERPAYMENT bank transaction the customer can be credited from later."""
        per_invoice = request.amounts_per_invoice()
        applied = sum(per_invoice.values(), Decimal(0))
        account = XAccount(code=self._deposit_account(request))
        payment_id: str | None = None
        if len(per_invoice) == 1:
            (invoice_id, amount), = per_invoice.items()
            created = self._call(f"recording a payment of {amount} on invoice {invoice_id}", self._api.create_payments,
                                 mapping.payment_to_wire(request, invoice_id, amount, account),
                                 idempotency_key=idempotency_header(idempotency_key))
            payment_id = created.payments[0].payment_id
        elif per_invoice:
            created = self._call(f"recording a batch payment of {applied} on {len(per_invoice)} invoices",
                                 self._api.create_batch_payment,
                                 mapping.batch_payment_to_wire(request, per_invoice, account),
                                 idempotency_key=idempotency_header(idempotency_key))
            payment_id = created.batch_payments[0].batch_payment_id
        unapplied = request.amount.amount - applied
        if unapplied > 0:
            created = self._call(f"recording {unapplied} unapplied as an overpayment",
                                 self._api.create_bank_transactions,
                                 mapping.overpayment_to_wire(request, unapplied, account),
                                 idempotency_key=idempotency_header(idempotency_key, "overpayment"))
            txn = created.bank_transactions[0]
            payment_id = payment_id or txn.overpayment_id or txn.bank_transaction_id
        assert payment_id is not None
        if request.bank_line_id is not None:
            self._note("BankLine", request.bank_line_id, f"duecourse: applied as payment {payment_id}",
                       idempotency_header(idempotency_key, "bank-line-note"))
        return mapping.payment_from_request(request, payment_id, per_invoice)

    def _deposit_account(self, request: PaymentRequest) -> str:
        """The bank account the payment lands in: its bank line's, checked to hold the payment, else ours."""
        if request.bank_line_id is None:
            return self._bank_account
        currency = request.amount.currency
        line = self._raw_bank_transaction(request.bank_line_id)
        if status_of(line) != "AUTHORISED":
            raise PermanentLedgerError(f"bank line {request.bank_line_id} is {status_of(line)}")
        line_currency = self._currency_of(line)
        if line_currency != currency:
            raise PermanentLedgerError(f"bank line {request.bank_line_id} is in {line_currency}, the payment in "
                                       f"{currency}")
        deposit = amount_from_wire(line.total)
        if request.amount.amount > deposit:
            raise PermanentLedgerError(f"payment {request.amount} exceeds the deposit {deposit} of bank "
                                       f"line {request.bank_line_id}")
        return str(line.bank_account.code or self._bank_account)

    def list_payments(self, invoice_id: str | None = None) -> list[Payment]:
        where = 'Status=="AUTHORISED" AND PaymentType=="ACCRECPAYMENT"'
        if invoice_id is not None:
            where += f' AND Invoice.InvoiceID==Guid("{mapping.guid(invoice_id, "invoice")}")'
        found = list(self._pages("listing payments", self._api.get_payments, lambda r: r.payments, where=where,
                                 order="Date ASC"))
        return self._payments(found, whole_batches=invoice_id is not None)

    def _payments(self, found: list[Any], *, whole_batches: bool) -> list[Payment]:
        """Xero payments as ours, after reading what the listing left out: the invoices it did not describe,
        and (filtered by invoice, the listing shows only this invoice's share) each batch in full."""
        facts = self._invoice_facts(mapping.invoices_to_describe(found))
        batches: dict[str, Any] = {}
        if whole_batches:
            for batch_id in mapping.batch_ids_of(found):
                full = self._call(f"reading batch payment {batch_id}", self._api.get_batch_payment, batch_id)
                batches[batch_id] = full.batch_payments[0]
        return mapping.payments_from_wire(found, facts, self._base, batches)

    def _invoice_facts(self, invoice_ids: list[str]) -> dict[str, tuple[str, str]]:
        """Contact and currency of invoices a payment listing did not describe: one IDs= listing per 40."""
        unique = sorted(set(invoice_ids))
        facts: dict[str, tuple[str, str]] = {}
        for start in range(0, len(unique), 40):
            facts.update(mapping.invoice_facts_from_wire(self._pages(
                "reading the invoices of payments", self._api.get_invoices, lambda r: r.invoices,
                i_ds=unique[start:start + 40], summary_only=True)))
        return facts

    def _raw_bank_transaction(self, bank_line_id: str) -> Any:
        found = self._call(f"reading bank transaction {bank_line_id}", self._api.get_bank_transaction,
                           bank_line_id, unitdp=4).bank_transactions
        if not found or kind_of(found[0]) != "RECEIVE":
            raise NotFound(f"Xero has no money received with id {bank_line_id}")
        return found[0]

    def get_bank_line(self, bank_line_id: str) -> BankLine:
        txn = self._raw_bank_transaction(bank_line_id)
        return mapping.bank_line_from_wire(txn, self._currency_of(txn))

    def list_bank_lines(self, status: BankLineStatus | None = None) -> list[BankLine]:
        where = 'Type=="RECEIVE"'
        if status == BankLineStatus.UNMATCHED:
            where += ' AND Status=="AUTHORISED" AND IsReconciled==false'
        elif status == BankLineStatus.MATCHED:
            where += ' AND Status=="AUTHORISED" AND IsReconciled==true'
        elif status == BankLineStatus.IGNORED:
            where += ' AND Status!="AUTHORISED"'
        lines = self._pages("listing bank transactions", self._api.get_bank_transactions,
                            lambda r: r.bank_transactions, where=where, order="Date ASC")
        return [mapping.bank_line_from_wire(txn, self._currency_of(txn)) for txn in lines]

    # --- LedgerPort: notes -------------------------------------------------------------------------

    def add_note(self, entity: str, entity_id: str, text: str, idempotency_key: str) -> None:
        self._note(entity, entity_id, text, idempotency_header(idempotency_key))

    def _note(self, entity: str, entity_id: str, text: str, key: str) -> None:
        if entity not in NOTE_RESOURCES:
            raise PermanentLedgerError(f"cannot add a note to {entity!r}: one of {', '.join(NOTE_RESOURCES)} expected")
        if not text.strip():
            raise PermanentLedgerError("a note needs some text")
        records = mapping.note_to_wire(text)
        try:
            self._call(f"adding a note to {entity} {entity_id}", getattr(self._api, NOTE_RESOURCES[entity]),
                       entity_id, records, idempotency_key=key)
        except NotFound:
            if entity != "Payment":
                raise
            # A payment of several invoices is a BatchPayment: its history lives there.
            self._call(f"adding a note to batch payment {entity_id}", self._api.create_batch_payment_history_record,
                       entity_id, records, idempotency_key=key)

    # --- LedgerPort: credit notes ------------------------------------------------------------------

    def _raw_credit_note(self, credit_note_id: str) -> Any:
        return self._call(f"reading credit note {credit_note_id}", self._api.get_credit_note, credit_note_id,
                          unitdp=4).credit_notes[0]

    def create_credit_note(self, draft: CreditNoteDraft, idempotency_key: str) -> CreditNote:
        """An AUTHORISED ACCRECCREDIT note; allocated to `draft.invoice_id` (up to what it still owes)."""
        mapping.check_lines(draft.lines, "a credit note")
        created = self._call(f"creating a credit note for {draft.customer_id}", self._api.create_credit_notes,
                             mapping.credit_note_to_wire(draft, self._sales_account, self._amount_types), unitdp=4,
                             idempotency_key=idempotency_header(idempotency_key)).credit_notes[0]
        if draft.invoice_id is None:
            return mapping.credit_note_from_wire(created, self._currency_of(created))
        # Read both again: a replayed create answers with the credit as it was before its allocation.
        current = self._raw_credit_note(created.credit_note_id)
        invoice = self._raw_invoice(draft.invoice_id)
        amount = min(amount_from_wire(current.remaining_credit), amount_from_wire(invoice.amount_due))
        if amount > 0 and status_of(invoice) == "AUTHORISED" and status_of(current) == "AUTHORISED":
            when = max(draft.issue_date, date_from_wire(invoice.date) or draft.issue_date)
            self._call(f"allocating credit note {current.credit_note_number} to invoice {invoice.invoice_number}",
                       self._api.create_credit_note_allocation, current.credit_note_id,
                       mapping.allocation_to_wire(draft.invoice_id, amount, when),
                       idempotency_key=idempotency_header(idempotency_key, "allocation"))
            current = self._raw_credit_note(created.credit_note_id)
        return mapping.credit_note_from_wire(current, self._currency_of(current), invoice_hint=draft.invoice_id)

    def list_credit_notes(self, customer_id: str | None = None) -> list[CreditNote]:
        where = 'Type=="ACCRECCREDIT"'
        if customer_id is not None:
            where += f' AND Contact.ContactID==Guid("{mapping.guid(customer_id, "customer")}")'
        notes = self._pages("listing credit notes", self._api.get_credit_notes, lambda r: r.credit_notes,
                            where=where, order="Date ASC", unitdp=4)
        return [mapping.credit_note_from_wire(note, self._currency_of(note)) for note in notes]

    # --- LedgerPort: polling -----------------------------------------------------------------------

    def changes_since(self, cursor: str | None) -> ChangeBatch:
        """Records whose UpdatedDateUTC is after the cursor (If-Modified-Since), one event per record version.

        The cursor is the ISO UTC time of the newest UpdatedDateUTC seen. Each query asks from
        `change_overlap_seconds` before it, because six listings are not one snapshot (an invoice paid while
        the payments are being listed must not fall between two cursors); event ids are stable per record
        version, so the overlap repeats ids consumers already dedupe, never new work."""
        if cursor is None:
            return ChangeBatch(events=[], cursor=self._clock().astimezone(UTC).isoformat())
        try:
            since = datetime.fromisoformat(cursor)
        except ValueError:
            raise PermanentLedgerError(f"{cursor!r} is not a Xero change cursor (an ISO timestamp)") from None
        since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
        listing: dict[str, Any] = {"if_modified_since": (since - self._overlap).replace(microsecond=0),
                                   "order": "UpdatedDateUTC ASC"}
        api = self._api
        listings = [
            ("Invoice", self._pages("listing changed invoices", api.get_invoices, lambda r: r.invoices,
                                    where='Type=="ACCREC"', summary_only=True, **listing)),
            ("Customer", self._pages("listing changed contacts", api.get_contacts, lambda r: r.contacts,
                                     include_archived=True, summary_only=True, **listing)),
            ("Payment", self._pages("listing changed payments", api.get_payments, lambda r: r.payments,
                                    where='PaymentType=="ACCRECPAYMENT"', **listing)),
            ("CreditNote", self._pages("listing changed credit notes", api.get_credit_notes,
                                       lambda r: r.credit_notes, where='Type=="ACCRECCREDIT"', **listing)),
            ("Estimate", self._pages("listing changed quotes", api.get_quotes, lambda r: r.quotes, sized=False,
                                     **listing)),
            ("BankLine", self._pages("listing changed bank transactions", api.get_bank_transactions,
                                     lambda r: r.bank_transactions, where='Type=="RECEIVE"', **listing)),
        ]
        return mapping.changes_from_wire(self.tenant, since, listings)

    # --- LedgerPort: aging -------------------------------------------------------------------------

    def aging_report(self, as_of: date) -> list[AgingRow] | None:
        """Xero's Aged Receivables By Contact, bucketed per customer and currency as of `as_of` (payments after
        it ignored). The report is per contact, so with more than `aging_contact_limit` customers owing money
        this answers None and callers compute the aging from open invoices (cheaper on the 60/min budget)."""
        day = mapping.where_date(as_of)
        where = (f'Type=="ACCREC" AND Date<={day} AND (Status=="AUTHORISED" OR '
                 f'(Status=="PAID" AND FullyPaidOnDate>{day}))')
        invoices = list(self._pages("listing invoices open on the aging date", self._api.get_invoices,
                                    lambda r: r.invoices, where=where, summary_only=True, order="Date ASC"))
        contacts: dict[str, str] = {}
        currencies: dict[str, str] = {}
        for invoice in invoices:
            contacts.setdefault(invoice.contact.contact_id, invoice.contact.name or "")
            currencies[invoice.invoice_id] = mapping.currency_of(invoice)
        if len(contacts) > self._aging_contact_limit:
            log.info("Xero aging: %d customers owe money, over the %d-report limit; callers compute it",
                     len(contacts), self._aging_contact_limit)
            return None
        reports = [(contact_id, name, self._call(f"reading the aged receivables of {name}",
                                                 self._api.get_report_aged_receivables_by_contact,
                                                 contact_id=contact_id, date=as_of))
                   for contact_id, name in contacts.items()]
        return mapping.aging_rows_from_wire(reports, currencies, as_of, self._base)


__all__ = ["LEDGER", "XeroLedger"]
