"""Validation guardrails and the credit review of a new invoice: pure rules, each finding with a clear reason.

Before duecourse asks a ledger to post an invoice it checks the draft against its source and the customer's
books: the lines add up (each is quantity x unit price, together the source's total); the currency is the
customer's; it is not a probable duplicate (the same source billed already, or an open invoice of the same
customer and amount issued within `DUPLICATE_WINDOW_DAYS`). The credit review weighs exposure (open AR + this
invoice) against the customer's credit limit and its payment history, and writes its rationale from those
figures only. Nothing here decides alone: a finding sends the invoice to a human, a review is a human's call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from adapters.ledger import Customer, InvoiceDraft, InvoiceStatus, Money, minor_unit

RULES_VERSION = "invoice-guardrails/1"
DUPLICATE_WINDOW_DAYS = 7
# Paying later than this on average, or having an invoice overdue now, makes an over-limit order a decline.
LATE_PAYER_DAYS = Decimal("15")

FindingCode = Literal["lines_do_not_add_up", "currency_mismatch", "already_billed", "probable_duplicate"]


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: FindingCode
    reason: str


class OpenInvoice(BaseModel):
    """What the guardrails need of one of the customer's invoices in the ledger."""

    id: str
    number: str
    total: Money
    balance: Money
    issue_date: date
    due_date: date
    status: InvoiceStatus


class SettledInvoice(BaseModel):
    """A paid invoice of the customer: when it was due and when its last payment came."""

    id: str
    due_date: date
    paid_on: date


class CreditAssessment(BaseModel):
    needed: bool  # a human must review credit before this invoice is posted
    why: str  # why a review is (or is not) needed
    recommendation: Literal["approve", "decline"]
    exposure: Money
    open_ar: Money
    limit: Money | None
    rationale: str


def shown(money: Money) -> str:
    """`USD 1,250.00`, `JPY 125,000`: the amount at its currency's own decimals."""
    exact = money.amount.quantize(minor_unit(money.currency), rounding=ROUND_HALF_UP)
    return f"{money.currency} {exact:,}"


def line_findings(draft: InvoiceDraft, source_total: Money) -> list[Finding]:
    """Each line is quantity x unit price (rounded half-up to the minor unit); together they are the source's total."""
    findings = []
    unit = minor_unit(draft.currency)
    for position, line in enumerate(draft.lines, start=1):
        expected = (line.quantity * line.unit_price).quantize(unit, rounding=ROUND_HALF_UP)
        if expected != line.amount:
            findings.append(Finding(code="lines_do_not_add_up", reason=(
                f"line {position} ({line.description!r}) says {line.amount}, but {line.quantity} x "
                f"{line.unit_price} is {expected}")))
    total = sum((line.amount for line in draft.lines), Decimal("0"))
    if not draft.lines:
        findings.append(Finding(code="lines_do_not_add_up", reason="the draft has no lines"))
    elif total != source_total.amount:
        findings.append(Finding(code="lines_do_not_add_up", reason=(
            f"the lines add up to {total}, the source's total is {source_total.amount}")))
    return findings


def currency_findings(source_currency: str, customer: Customer) -> list[Finding]:
    if source_currency.upper() == customer.currency.upper():
        return []
    return [Finding(code="currency_mismatch", reason=(
        f"the source is in {source_currency.upper()}, but {customer.name} is billed in {customer.currency}"))]


def duplicate_findings(draft: InvoiceDraft, total: Money, open_invoices: Sequence[OpenInvoice],
                       source_billed: str | None) -> list[Finding]:
    """The same source billed before (`source_billed` says how), or an open invoice of the same customer for
    the same amount issued within DUPLICATE_WINDOW_DAYS of this one."""
    findings = []
    if source_billed:
        findings.append(Finding(code="already_billed", reason=source_billed))
    for invoice in open_invoices:
        days_apart = abs((invoice.issue_date - draft.issue_date).days)
        if invoice.total == total and days_apart <= DUPLICATE_WINDOW_DAYS:
            findings.append(Finding(code="probable_duplicate", reason=(
                f"open invoice {invoice.number} ({invoice.id}) is for the same {shown(total)}, issued "
                f"{invoice.issue_date.isoformat()} ({days_apart} day{'s' if days_apart != 1 else ''} apart)")))
    return findings


def open_ar(open_invoices: Sequence[OpenInvoice], currency: str) -> Money:
    """The customer's open balance in `currency`: posted invoices only (a draft asks nobody to pay yet)."""
    posted = [i for i in open_invoices if i.status != InvoiceStatus.DRAFT and i.balance.currency == currency]
    return Money(amount=sum((i.balance.amount for i in posted), Decimal("0")), currency=currency)


def average_days_late(settled: Sequence[SettledInvoice]) -> Decimal | None:
    """Mean days between due date and last payment (early counts as 0), one decimal; None without history."""
    if not settled:
        return None
    late = sum((max(0, (s.paid_on - s.due_date).days) for s in settled), 0)
    return (Decimal(late) / len(settled)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def history_text(settled: Sequence[SettledInvoice], overdue: int) -> str:
    if not settled and not overdue:
        return "no payment history (a new customer)"
    parts = []
    if settled:
        parts.append(f"{len(settled)} invoice{'s' if len(settled) != 1 else ''} paid, on average "
                     f"{average_days_late(settled)} days late")
    parts.append(f"{overdue} open invoice{'s' if overdue != 1 else ''} overdue now")
    return "; ".join(parts)


def assess_credit(customer: Customer, total: Money, open_invoices: Sequence[OpenInvoice],
                  settled: Sequence[SettledInvoice], today: date) -> CreditAssessment:
    """Whether this invoice needs a credit review (the customer is new, or over its limit after it), and the
    recommendation with a rationale naming the exposure, the limit and the payment history."""
    ar = open_ar(open_invoices, total.currency)
    exposure = ar + total
    overdue = sum(1 for i in open_invoices if i.status != InvoiceStatus.DRAFT and i.due_date < today)
    new = not settled and not open_invoices
    limit = customer.credit_limit if customer.credit_limit and customer.credit_limit.currency == total.currency \
        else None
    over = limit is not None and exposure > limit
    history = history_text(settled, overdue)
    days = average_days_late(settled)
    late_payer = overdue > 0 or (days is not None and days > LATE_PAYER_DAYS)
    figures = f"exposure {shown(exposure)} (open AR {shown(ar)} + this invoice {shown(total)})"
    if limit is None:
        against = "no credit limit is set" + (
            f" in {total.currency} (the limit is in {customer.credit_limit.currency})" if customer.credit_limit else "")
    elif over:
        against = f"over the credit limit of {shown(limit)} by {shown(exposure - limit)}"
    else:
        against = f"within the credit limit of {shown(limit)}"
    recommendation: Literal["approve", "decline"] = "decline" if over and (late_payer or new) else "approve"
    why = " and ".join(part for part in (
        "the customer is new" if new else "", f"the invoice takes it {against}" if over else "") if part)
    rationale = (f"{customer.name}: {figures}, {against}. Payment history: {history}. Recommendation: "
                 f"{recommendation}" + (" unless the limit is raised" if recommendation == "decline" else "") + ".")
    return CreditAssessment(needed=new or over, why=why or "within limit with a payment history",
                            recommendation=recommendation, exposure=exposure, open_ar=ar, limit=limit,
                            rationale=rationale)


def needs_invoice_approval(total: Money, findings: Sequence[Finding], invoices_over: Decimal) -> str | None:
    """Why a human must approve the invoice before it is posted (over the policy's threshold, or any finding);
    None when it may be posted on its own."""
    reasons = [finding.reason for finding in findings]
    if total.amount > invoices_over:
        reasons.insert(0, f"the total {shown(total)} is over the approval threshold of {invoices_over}")
    return "; ".join(reasons) or None
