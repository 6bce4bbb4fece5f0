"""The demo company: Northwind Studio, a design studio billing about three dozen customers in USD.

Each customer has a payment habit (early, on_time, late, very_late, disputer, short_payer) that shaped
its history (paid invoices, partial payments, short payments that left a deduction open, disputes noted
on invoices) and shapes what is open today: invoices sit in every aging bucket relative to `today`.
A few bank deposits wait to be matched, and a few quotes wait for a credit decision.

Behind today's books lie two years of settled invoices (`PAST_DAYS`), written as the ledger's past
(`SandboxLedger.record_past`: announced to nobody, so no lifecycle starts for them) for the risk score, the
forecast and its backtest to learn from. In that past each customer keeps a payment pattern
(`PAST_HABITS`): most keep their habit, but two of the on-time payers are seasonal (late over the summer and
the year-end holidays) and two of the very late payers got worse over the two years.

Deterministic: the same `seed` and `today` give the same company, ids and amounts included.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from adapters.ledger import CENT, Customer, Invoice, InvoiceDraft, InvoiceLine
from adapters.ledger import aging_bucket as port_aging_bucket
from adapters.ledgers.sandbox.ledger import PastInvoice, SandboxLedger

COMPANY_NAME = "Northwind Studio"
# The summary's label of each `AgingRow` bucket, youngest first.
_BUCKET_LABELS = {
    "current": "current",
    "days_1_30": "1-30",
    "days_31_60": "31-60",
    "days_61_90": "61-90",
    "days_91_plus": "91+",
}
BUCKETS = tuple(_BUCKET_LABELS.values())
HABITS = ("early", "on_time", "late", "very_late", "disputer", "short_payer")


@dataclass(frozen=True)
class _Profile:
    name: str
    country: str
    time_zone: str


_CUSTOMERS = (
    _Profile("Acme Corporation Inc", "US", "America/New_York"),
    _Profile("Bluebird Cafe LLC", "US", "America/Chicago"),
    _Profile("Müller & Söhne GmbH", "DE", "Europe/Berlin"),
    _Profile("O'Brien Plumbing", "IE", "Europe/Dublin"),
    _Profile("Harbourview Dental Group Pty Ltd", "AU", "Australia/Sydney"),
    _Profile("Sakura Design KK", "JP", "Asia/Tokyo"),
    _Profile("Thames Valley Logistics Ltd", "GB", "Europe/London"),
    _Profile("Pinecrest Veterinary Clinic", "US", "America/Denver"),
    _Profile("Redwood Analytics Inc", "US", "America/Los_Angeles"),
    _Profile("Greenleaf Organic Market", "US", "America/Chicago"),
    _Profile("Brightwater Marketing Co", "US", "America/New_York"),
    _Profile("Kangaroo Point Brewing Co", "AU", "Australia/Brisbane"),
    _Profile("Café Lumière SARL", "FR", "Europe/Paris"),
    _Profile("Van der Berg Architecten BV", "NL", "Europe/Amsterdam"),
    _Profile("Northern Lights Outfitters", "CA", "America/Toronto"),
    _Profile("Summit Legal Partners LLP", "US", "America/New_York"),
    _Profile("Blue Ridge Construction LLC", "US", "America/New_York"),
    _Profile("Osaka Precision Tools Co Ltd", "JP", "Asia/Tokyo"),
    _Profile("Fischer Maschinenbau AG", "DE", "Europe/Berlin"),
    _Profile("Coastal Breeze Property Management", "US", "America/Los_Angeles"),
    _Profile("Maple & Oak Furniture Ltd", "CA", "America/Vancouver"),
    _Profile("Golden Gate Bakery", "US", "America/Los_Angeles"),
    _Profile("St Albans Dental Practice", "GB", "Europe/London"),
    _Profile("Riverside Community Theatre", "US", "America/Chicago"),
    _Profile("Silverline Software GmbH", "DE", "Europe/Berlin"),
    _Profile("Outback Adventure Tours", "AU", "Australia/Perth"),
    _Profile("Lakeside Family Medicine PC", "US", "America/Chicago"),
    _Profile("Ironclad Security Services Inc", "US", "America/Phoenix"),
    _Profile("Willow & Sage Florists", "GB", "Europe/London"),
    _Profile("Zenith Aerospace Components", "US", "America/Los_Angeles"),
    _Profile("Nakamura Trading Co", "JP", "Asia/Tokyo"),
    _Profile("Desert Sun Solar LLC", "US", "America/Phoenix"),
    _Profile("Evergreen Landscaping & Snow Removal", "US", "America/New_York"),
    _Profile("Bayside Yacht Club", "AU", "Australia/Melbourne"),
    _Profile("Hudson & Park Realty", "US", "America/New_York"),
    _Profile("Copper Kettle Catering", "GB", "Europe/London"),
)

# How many customers pay which way (36 in all).
_HABIT_COUNTS = {"early": 6, "on_time": 10, "late": 8, "very_late": 5, "disputer": 3, "short_payer": 4}

# Days after the due date a habit pays (negative: before it).
_PAYS_AFTER_DUE = {
    "early": (-12, -3),
    "on_time": (-2, 3),
    "late": (8, 28),
    "very_late": (35, 80),
    "disputer": (20, 60),
    "short_payer": (-2, 8),
}

# The settled past behind today's books: how far back it goes, and the pattern each customer paid by.
PAST_DAYS = 730
PAST_HABITS = ("early", "on_time", "seasonal", "steady_late", "chronic_late", "worsening", "disputer",
               "short_payer")
# Customers of a habit whose past has a shape of its own (the first ones of that habit, in customer order).
_PAST_VARIANTS = {"on_time": ("seasonal", 2), "very_late": ("worsening", 2)}
_PAST_OF_HABIT = {"early": "early", "on_time": "on_time", "late": "steady_late", "very_late": "chronic_late",
                  "disputer": "disputer", "short_payer": "short_payer"}
_HOLIDAY_MONTHS = (7, 8, 12, 1)

_LEGAL_SUFFIXES = {"inc", "llc", "ltd", "gmbh", "co", "pty", "kk", "sarl", "bv", "ag", "llp", "pc"}

_DISPUTES = (
    "Customer disputes the invoice: says the second round of revisions was included in the quote.",
    "Customer disputes the hours billed for the photo shoot; asked for the timesheets.",
    "Customer says the deliverables arrived late and wants a discount before paying.",
)
_DEDUCTIONS = (
    (Decimal("15.00"), "bank fee deducted"),
    (Decimal("25.00"), "wire fee deducted"),
    (None, "2% early-payment discount taken"),
)


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    """A random amount between `low` and `high` dollars, with cents."""
    return (Decimal(rng.randrange(low * 100, high * 100)) / 100).quantize(CENT)


def _lines(rng: random.Random) -> list[InvoiceLine]:
    hourly = Decimal(rng.choice((85, 95, 110, 125, 140, 150))).quantize(CENT)
    services: list[tuple[str, Decimal, Decimal]] = [
        ("Design hours", Decimal(rng.randrange(4, 41)), hourly),
        ("Copywriting hours", Decimal(rng.randrange(2, 21)), Decimal(rng.choice((65, 80, 95))).quantize(CENT)),
        ("Website maintenance retainer (monthly)", Decimal(1), _money(rng, 450, 2400)),
        ("Photography: product shoot (half day)", Decimal(rng.randrange(1, 3)), _money(rng, 650, 1200)),
        ("Motion graphics (per finished minute)", Decimal(rng.randrange(1, 4)), _money(rng, 900, 2200)),
        ("UX research workshop", Decimal(1), _money(rng, 1200, 3500)),
        ("Print production management", Decimal(1), _money(rng, 250, 900)),
        ("Stock image licences", Decimal(rng.randrange(3, 16)), _money(rng, 12, 49)),
    ]
    chosen = rng.sample(services, rng.choice((1, 1, 2, 2, 3)))
    lines = [
        InvoiceLine(
            description=description,
            quantity=quantity,
            unit_price=price,
            amount=(quantity * price).quantize(CENT, rounding=ROUND_HALF_UP),
        )
        for description, quantity, price in chosen
    ]
    if rng.random() < 0.3:
        expenses = _money(rng, 18, 340)
        lines.append(InvoiceLine(description="Reimbursable expenses", unit_price=expenses, amount=expenses))
    return lines


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = [w for w in re.findall(r"[a-z0-9]+", ascii_name.replace("'", "")) if w not in _LEGAL_SUFFIXES]
    return "-".join(words)


def aging_bucket(due_date: date, today: date) -> str:
    """The AR aging bucket of an open invoice: current (not yet due), 1-30, 31-60, 61-90, 91+ days past due.

    The port's buckets (`adapters.ledger.aging_bucket`) under the labels the demo summary prints."""
    return _BUCKET_LABELS[port_aging_bucket((today - due_date).days)]


@dataclass
class _Planned:
    customer: int  # index into the customers created
    due_date: date
    issue_date: date
    lines: list[InvoiceLine]
    # (payment date, amount or None for the rest of the balance), applied in date order
    payments: list[tuple[date, Decimal | None, str]] = field(default_factory=list)
    dispute: str | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))


def _plan(rng: random.Random, habit: str, customer: int, terms: int, today: date) -> list[_Planned]:
    def invoice(days_past_due: int) -> _Planned:
        due = today - timedelta(days=days_past_due)
        return _Planned(customer, due, due - timedelta(days=terms), _lines(rng))

    def paid_on(planned: _Planned) -> date:
        low, high = _PAYS_AFTER_DUE[habit]
        return min(today, planned.due_date + timedelta(days=rng.randint(low, high)))

    planned: list[_Planned] = []
    # History: invoices long enough ago that this habit has settled them.
    history_count = {"early": rng.choice((1, 2)), "on_time": rng.choice((1, 1, 2)), "late": rng.choice((1, 2))}.get(
        habit, 1
    )
    for _ in range(history_count):
        old = invoice(rng.randint(_PAYS_AFTER_DUE[habit][1] + 15, 200))
        if habit == "disputer":
            half = (old.total / 2).quantize(Decimal("1"))
            old.payments.append((min(today, old.due_date + timedelta(days=rng.randint(20, 35))), half, "partial"))
            old.payments.append((min(today, old.due_date + timedelta(days=rng.randint(50, 70))), None, "settled"))
        elif habit == "short_payer":
            old.payments.append((paid_on(old), _short(rng, old.total), "short"))
        else:
            old.payments.append((paid_on(old), None, "paid"))
        planned.append(old)

    # What is open today.
    if habit == "early":
        planned.append(invoice(rng.randint(-40, -1)))
        if rng.random() < 0.5:
            planned.append(invoice(rng.randint(-20, -1)))
    elif habit == "on_time":
        planned.append(invoice(rng.randint(-45, -1)))
        if rng.random() < 0.35:
            planned.append(invoice(rng.randint(1, 12)))
    elif habit == "late":
        planned.append(invoice(rng.randint(1, 30)))
        if rng.random() < 0.5:
            planned.append(invoice(rng.randint(-30, -1)))
        if rng.random() < 0.2:
            planned.append(invoice(rng.randint(31, 45)))
    elif habit == "very_late":
        planned.append(invoice(rng.randint(31, 60)))
        planned.append(invoice(rng.randint(61, 90)))
        if rng.random() < 0.7:
            planned.append(invoice(rng.randint(91, 160)))
    elif habit == "disputer":
        disputed = invoice(rng.randint(31, 75))
        disputed.dispute = rng.choice(_DISPUTES)
        planned.append(disputed)
        planned.append(invoice(rng.randint(-25, 10)))
    elif habit == "short_payer":
        shorted = invoice(rng.randint(10, 75))
        shorted.payments.append((paid_on(shorted), _short(rng, shorted.total), "short"))
        planned.append(shorted)
        planned.append(invoice(rng.randint(-30, -1)))
    return planned


def _short(rng: random.Random, total: Decimal) -> Decimal:
    fixed, _reason = rng.choice(_DEDUCTIONS)
    deduction = fixed if fixed is not None else (total * Decimal("0.02")).quantize(CENT, rounding=ROUND_HALF_UP)
    return max(Decimal("1.00"), total - deduction)


def past_habits(habits: list[str]) -> list[str]:
    """The pattern each customer (in order) paid by over the last two years: its habit's, or a variant's."""
    patterns = [_PAST_OF_HABIT[habit] for habit in habits]
    for habit, (variant, count) in _PAST_VARIANTS.items():
        for index in [i for i, h in enumerate(habits) if h == habit][:count]:
            patterns[index] = variant
    return patterns


@dataclass(frozen=True)
class _Past:
    customer: int  # index into the customers created
    invoice: PastInvoice


def _past(rng: random.Random, pattern: str, customer: int, terms: int, today: date) -> list[_Past]:
    """About one invoice a month over `PAST_DAYS`, each settled by yesterday the way `pattern` pays; an
    invoice this customer would not have settled by now is left out (today's open books speak for those)."""
    start = today - timedelta(days=PAST_DAYS - rng.randint(0, 45))
    lateness = {"steady_late": rng.uniform(12, 22), "chronic_late": rng.uniform(40, 70)}.get(pattern, 0.0)
    found: list[_Past] = []
    issued = start
    while True:
        issued += timedelta(days=rng.randint(12, 40))
        due = issued + timedelta(days=terms)
        if due >= today:
            return found
        lines = _lines(rng)
        total = sum((line.amount for line in lines), Decimal("0"))
        settled = _settlement(rng, pattern, lateness, total, issued, due, (due - start).days / PAST_DAYS)
        payments, credit = settled
        last = max([on for on, _, _ in payments] + ([credit[2]] if credit else []))
        if last >= today:
            continue
        draft = InvoiceDraft(customer_id="", currency="USD", lines=lines, issue_date=issued, due_date=due)
        found.append(_Past(customer, PastInvoice(draft, tuple(payments), credit)))


def _settlement(
    rng: random.Random, pattern: str, lateness: float, total: Decimal, issued: date, due: date, progress: float
) -> tuple[list[tuple[date, Decimal, str]], tuple[Decimal, str, date] | None]:
    """When and how an invoice of this pattern was paid: (date, amount, reference) parts and a closing credit."""

    def on(days_after_due: float) -> date:
        return max(issued, due + timedelta(days=round(days_after_due)))

    if pattern == "disputer" and rng.random() < 0.25:
        half = (total / 2).quantize(CENT, rounding=ROUND_HALF_UP)
        return [(on(rng.uniform(20, 35)), half, "partial payment, rest disputed"),
                (on(rng.uniform(50, 90)), total - half, "settled after dispute")], None
    if pattern == "short_payer" and rng.random() < 0.45:
        kept = _short(rng, total)
        paid_on = on(rng.gauss(1, 2))
        return [(paid_on, kept, "ACH less deduction")], (total - kept, "deduction accepted", paid_on + timedelta(7))
    days = {
        "early": lambda: -rng.uniform(3, 12),
        "on_time": lambda: rng.uniform(4, 10) if rng.random() < 0.05 else rng.gauss(0, 1.5),
        "seasonal": lambda: rng.gauss(35, 6) if due.month in _HOLIDAY_MONTHS else rng.gauss(2, 3),
        "steady_late": lambda: lateness + rng.gauss(0, 3),
        "chronic_late": lambda: lateness * math.exp(rng.gauss(0, 0.35)),
        "worsening": lambda: 2 + 60 * progress + rng.gauss(0, 4),
    }.get(pattern, lambda: rng.gauss(2, 3))()
    return [(on(days), total, "ACH payment")], None


def _payer(name: str) -> str:
    """How a bank feed shows a payer: upper case, ASCII, legal suffix dropped, cut at 22 characters."""
    return _slug(name).replace("-", " ").upper()[:22]


def seed_demo_company(ledger: SandboxLedger, today: date, seed: int = 7) -> dict[str, object]:
    """Fills an empty sandbox ledger with Northwind Studio's customers and books; a ledger that already
    has customers is left alone. Returns a summary of what the ledger holds (`seeded` says which)."""
    if ledger.list_customers():
        return _summary(ledger, today, seeded=False)
    rng = random.Random(seed)
    habits = [habit for habit, count in _HABIT_COUNTS.items() for _ in range(count)]
    rng.shuffle(habits)
    customers = _add_customers(ledger, rng, habits)
    planned: list[_Planned] = []
    for index, (customer, habit) in enumerate(zip(customers, habits, strict=True)):
        planned.extend(_plan(rng, habit, index, customer.terms_days, today))
    _fill_every_bucket(planned, rng, today, customers, habits)
    # The past draws from its own generator, so today's books are the same with or without it.
    history = random.Random(f"past:{seed}")
    past = [
        item
        for index, (customer, pattern) in enumerate(zip(customers, past_habits(habits), strict=True))
        for item in _past(history, pattern, index, customer.terms_days, today)
    ]
    _write_books(ledger, planned, past, customers)
    _deposits(ledger, rng, today)
    _quotes(ledger, rng, today, customers, habits)
    return _summary(ledger, today, seeded=True)


def _add_customers(ledger: SandboxLedger, rng: random.Random, habits: list[str]) -> list[Customer]:
    customers = []
    for profile, habit in zip(_CUSTOMERS, habits, strict=True):
        slug = _slug(profile.name)
        limit = rng.choice((None, None, Decimal("5000.00"), Decimal("10000.00"), Decimal("25000.00")))
        customers.append(
            ledger.add_customer(
                profile.name,
                email=f"ap@{slug}.example",
                alternate_emails=[f"billing@{slug}.example"] if rng.random() < 0.3 else [],
                terms_days=rng.choice((15, 30, 30, 30, 45, 60)),
                time_zone=profile.time_zone,
                country=profile.country,
                credit_limit=limit,
                habit=habit,
            )
        )
    return customers


def _fill_every_bucket(planned: list[_Planned], rng: random.Random, today: date, customers: list[Customer],
                       habits: list[str]) -> None:
    """Whatever the draw, every aging bucket holds something: top up from the slowest payers."""
    slow = [i for i, habit in enumerate(habits) if habit == "very_late"]
    ranges = {"current": (-30, -1), "1-30": (1, 30), "31-60": (31, 60), "61-90": (61, 90), "91+": (91, 150)}
    for bucket in BUCKETS:
        if not any(p.total - _paid(p) > 0 and aging_bucket(p.due_date, today) == bucket for p in planned):
            index = rng.choice(slow)
            due = today - timedelta(days=rng.randint(*ranges[bucket]))
            terms = customers[index].terms_days
            planned.append(_Planned(index, due, due - timedelta(days=terms), _lines(rng)))


def _write_books(ledger: SandboxLedger, planned: list[_Planned], past: list[_Past],
                 customers: list[Customer]) -> None:
    """Books are written in the order things happened: invoices by issue date (a run of settled past ones in
    one quiet transaction, so numbers follow dates), then today's payments by date."""
    planned.sort(key=lambda p: (p.issue_date, p.customer))
    past.sort(key=lambda p: (p.invoice.draft.issue_date, p.customer))
    created: list[tuple[_Planned, Invoice]] = []
    waiting = 0
    for item in planned:
        run = []
        while waiting < len(past) and past[waiting].invoice.draft.issue_date < item.issue_date:
            run.append(past[waiting])
            waiting += 1
        _record_past(ledger, run, customers)
        customer = customers[item.customer]
        invoice = ledger.add_invoice(
            customer.id, item.total, due_date=item.due_date, issue_date=item.issue_date, lines=item.lines
        )
        created.append((item, invoice))
        if item.dispute:
            ledger.add_note("Invoice", invoice.id, item.dispute, f"seed:dispute:{invoice.id}")
    _record_past(ledger, past[waiting:], customers)
    payments = sorted(
        ((on, amount, kind, invoice) for item, invoice in created for on, amount, kind in item.payments),
        key=lambda p: (p[0], p[3].id),
    )
    for on, amount, kind, invoice in payments:
        reference = f"ACH {invoice.number}" if kind != "short" else f"{invoice.number} less deduction"
        ledger.pay(invoice.id, amount, on=on, reference=reference)


def _record_past(ledger: SandboxLedger, run: list[_Past], customers: list[Customer]) -> None:
    if run:
        ledger.record_past([
            replace(item.invoice, draft=item.invoice.draft.model_copy(
                update={"customer_id": customers[item.customer].id, "currency": customers[item.customer].currency}))
            for item in run
        ])


def _paid(planned: _Planned) -> Decimal:
    if any(amount is None for _, amount, _ in planned.payments):
        return planned.total
    return sum((amount for _, amount, _ in planned.payments if amount is not None), Decimal("0"))


def _deposits(ledger: SandboxLedger, rng: random.Random, today: date) -> None:
    """Bank deposits of the last few days for cash application: an easy one (invoice number in the
    memo), a name-only one, one paying two invoices, a short wire, and one nobody can place."""
    open_invoices = [i for i in ledger.list_open_invoices() if i.balance == i.total]
    by_customer: dict[str, list[Invoice]] = {}
    for invoice in open_invoices:
        by_customer.setdefault(invoice.customer_id, []).append(invoice)
    pairs = sorted((invs for invs in by_customer.values() if len(invs) >= 2), key=lambda invs: invs[0].id)
    used: set[str] = set()
    if pairs:
        pair = rng.choice(pairs)[:2]
        used.update(i.id for i in pair)
        ledger.receive(
            sum((i.balance.amount for i in pair), Decimal("0")),
            _payer(pair[0].customer_name),
            on=today - timedelta(days=1),
            reference=f"REMIT {pair[0].number} {pair[1].number}",
        )
    exact, by_name, short = rng.sample([i for i in open_invoices if i.id not in used], 3)
    ledger.receive(
        exact.balance.amount,
        _payer(exact.customer_name),
        on=today - timedelta(days=2),
        reference=f"ACH CREDIT {exact.number}",
    )
    ledger.receive(by_name.balance.amount, _payer(by_name.customer_name), on=today - timedelta(days=1))
    ledger.receive(
        short.balance.amount - Decimal("25.00"),
        _payer(short.customer_name),
        on=today,
        reference=f"WIRE TRF {short.number.replace('-', '')}",
    )
    ledger.receive(_money(rng, 120, 900), "J SMITH", on=today - timedelta(days=3), reference="DEPOSIT")


def _quotes(
    ledger: SandboxLedger, rng: random.Random, today: date, customers: list[Customer], habits: list[str]
) -> None:
    """Quotes waiting for a credit decision: from a prompt payer, a slow payer and a steady one."""
    for habit in ("early", "very_late", "on_time"):
        index = habits.index(habit)
        lines = _lines(rng)
        ledger.add_estimate(
            customers[index].id,
            sum((line.amount for line in lines), Decimal("0")),
            issue_date=today - timedelta(days=rng.randint(0, 3)),
            lines=lines,
        )


def _summary(ledger: SandboxLedger, today: date, *, seeded: bool) -> dict[str, object]:
    everything = ledger.list_invoices()
    past = ledger.past_invoice_ids()
    invoices = [i for i in everything if i.id not in past]  # today's books: each one is, or was, a lifecycle
    open_invoices = [i for i in invoices if i.status in ("open", "partially_paid")]
    by_bucket = dict.fromkeys(BUCKETS, 0)
    for invoice in open_invoices:
        by_bucket[aging_bucket(invoice.due_date, today)] += 1
    return {
        "company": COMPANY_NAME,
        "seeded": seeded,
        "customers": len(ledger.list_customers()),
        "invoices": len(invoices),
        "past_invoices": len(past),
        "open_invoices": len(open_invoices),
        "open_balance": str(sum((i.balance.amount for i in open_invoices), Decimal("0.00"))),
        "by_bucket": by_bucket,
        "payments": len(ledger.list_payments()),
        "bank_lines": len(ledger.list_bank_lines()),
        "estimates": len(ledger.list_estimates()),
    }
