"""A small ledger the cash-matching tests share: a few customers with invoices of distinct amounts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from activities.cash_matching import IncomingPayment, MatchingEngine, MatchResult, OpenInvoice

TODAY = date(2025, 3, 31)


ACME = ("C-ACME", "Acme Corporation Inc")


GLOBEX = ("C-GLOBEX", "Globex GmbH")


INDUSTRIAL = ("C-IND", "Acme Industrial Supplies LLC")


OBRIEN = ("C-OBR", "O'Brien & Sons, Ltd.")


MULLER = ("C-MUL", "Müller Maschinenbau GmbH")


ZENITH = ("C-ZEN", "Zenith Dental PLC")


def invoice(
    number: str,
    balance: str,
    customer: tuple[str, str] = ACME,
    *,
    currency: str = "USD",
    due_in: int = 0,
    total: str | None = None,
    issued_days_ago: int = 45,
) -> OpenInvoice:
    issue = TODAY - timedelta(days=issued_days_ago)
    return OpenInvoice(
        invoice_id=f"id-{number}",
        invoice_number=number,
        customer_id=customer[0],
        customer_name=customer[1],
        currency=currency,
        total=Decimal(total or balance),
        balance=Decimal(balance),
        issue_date=issue,
        due_date=issue + timedelta(days=30 + due_in),
    )


def payment(
    amount: str,
    payer: str = "ACME CORP",
    reference: str = "",
    *,
    currency: str = "USD",
    payment_id: str = "p1",
    on: date = TODAY,
) -> IncomingPayment:
    return IncomingPayment(payment_id, on, Decimal(amount), currency, payer, reference)


def allocated(result: MatchResult) -> dict[str, str]:
    return {a.invoice_id: str(a.amount) for a in result.allocations}


def ledger() -> list[OpenInvoice]:
    """A small ledger: a few customers with invoices of distinct amounts."""
    return [
        invoice("INV-001042", "1250.00", due_in=0),
        invoice("INV-001043", "310.50", due_in=5),
        invoice("INV-001044", "99.99", due_in=10),
        invoice("INV-001050", "4800.00", GLOBEX, currency="EUR"),
        invoice("INV-001051", "730.25", GLOBEX),
        invoice("INV-001060", "2200.00", INDUSTRIAL),
        invoice("INV-001070", "560.40", OBRIEN),
        invoice("INV-001080", "1999.00", MULLER, currency="EUR"),
        invoice("INV-001090", "845.10", ZENITH, currency="GBP"),
    ]


def match_one(pay: IncomingPayment, invoices: list[OpenInvoice] | None = None, **kwargs: object) -> MatchResult:
    engine = MatchingEngine(invoices if invoices is not None else ledger(), **kwargs)  # type: ignore[arg-type]
    return engine.match(pay)
