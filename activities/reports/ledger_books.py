"""A ledger's books read through its port: every posted invoice (drafts and void ones are nobody's debt) with
today's balance, and every payment allocation. The sandbox lists all its invoices at once; a ledger whose port
lists only the open ones gives the rest through the invoices its payments and credit notes name.

Read by the reports (workers/report_books.py) and by the risk refresh (activities/risk.py).
"""

from __future__ import annotations

from datetime import date

from activities.cash_matching.model import OpenInvoice
from activities.forecasting.history import AppliedPayment
from activities.reports.books import Books
from adapters.ledger import Invoice, InvoiceStatus, LedgerPort, NotFound

NOT_RECEIVABLE = (InvoiceStatus.DRAFT, InvoiceStatus.VOID)


def open_invoice(invoice: Invoice) -> OpenInvoice:
    return OpenInvoice(
        invoice_id=invoice.id, invoice_number=invoice.number, customer_id=invoice.customer_id,
        customer_name=invoice.customer_name, currency=invoice.currency, total=invoice.total.amount,
        balance=invoice.balance.amount, issue_date=invoice.issue_date, due_date=invoice.due_date,
    )


def ledger_invoices(ledger: LedgerPort, named: set[str]) -> list[Invoice]:
    """Every invoice the ledger holds: all at once where it can list them, else the open ones and those `named`."""
    listing = getattr(ledger, "list_invoices", None)
    if callable(listing):
        everything: list[Invoice] = listing()
        return everything
    found = {invoice.id: invoice for invoice in ledger.list_open_invoices()}
    for invoice_id in sorted(named - found.keys()):
        try:
            found[invoice_id] = ledger.get_invoice(invoice_id)
        except NotFound:
            continue  # deleted in the ledger since it was paid: its payment says nothing about a receivable
    return list(found.values())


def books_from_ledger(ledger: LedgerPort, today: date) -> Books:
    """The ledger's receivables with their balances as they stand today."""
    payments = [
        AppliedPayment(payment_id=payment.id, invoice_id=allocation.invoice_id, date=payment.date,
                       amount=allocation.amount.amount)
        for payment in ledger.list_payments()
        for allocation in payment.allocations
    ]
    named = {p.invoice_id for p in payments}
    named |= {note.invoice_id for note in ledger.list_credit_notes() if note.invoice_id}
    invoices = [open_invoice(i) for i in ledger_invoices(ledger, named) if i.status not in NOT_RECEIVABLE]
    # A payment the ledger already holds is reflected in today's balances, even one dated ahead.
    balances_on = max([today, *(p.date for p in payments)])
    return Books.of(invoices, payments, balances_on)


__all__ = ["NOT_RECEIVABLE", "books_from_ledger", "ledger_invoices", "open_invoice"]
