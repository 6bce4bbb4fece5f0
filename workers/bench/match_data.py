"""A seeded, labelled cash-application data set: customers, open invoices, and bank payments with the truth.

Every payment carries a `noise_kind` (what makes it hard), the allocations a careful clerk would make
(`truth`; empty for a payer who is no customer), and `safe_to_auto`: whether the safety rules allow the
payment to be applied without a human at all. The generator follows the same conventions the ledger
would: with no reference, equal balances are paid oldest due first; a fee within tolerance is the
payment amount applied to the invoice; an overpayment applies the balance and leaves the rest unapplied.

Where the evidence cannot tell invoices apart the truth says so (`interchangeable`): a payment that names
no invoice, from a customer with several open invoices of the same balance none of which any payment's
reference names, pays "one of those"; which one a clerk books depends only on the order in which the
clerk works through the batch (oldest due first within that order), and no order is more right than
another. So each such allocation lists the equal invoices it may go to instead, and the benchmark counts
an allocation to any of them as right, each invoice taken by one payment at most.

Payments are planned in date order (then payment id) and each consumes the invoices it pays, so no
invoice is paid twice within the batch, as in the engine.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import ClassVar

from activities.cash_matching.model import IncomingPayment, MatchAllocation, MatchConfig, OpenInvoice
from activities.cash_matching.names import normalise_name

# share of each noise kind among the payments
NOISE_KINDS: dict[str, float] = {
    "reference": 16,
    "bank_memo": 8,
    "reference_list": 6,
    "remittance": 5,
    "no_reference": 10,
    "name_variant": 10,
    "fee": 6,
    "rounding": 3,
    "recurring": 6,
    "partial": 3,
    "overpayment": 3,
    "alias": 4,
    "multi_no_reference": 4,
    "short_deduction": 5,
    "other_customer_reference": 3,
    "reference_typo": 3,
    "reference_ocr": 2,
    "foreign_currency": 3,
    "stranger": 5,
    # the noise real bank data carries that the kinds above do not
    "fee_no_reference": 3,
    "equal_amounts": 3,
    "structured_reference": 5,
    "payer_parent": 3,
    "legal_form": 3,
}
# kinds whose truth the safety rules allow to be applied automatically; some makers decide per payment (a
# mistyped reference is safe only when the typo is no invoice at all and the payer is recognised, a fee or a
# rounding difference only with a reference)
SAFE_KINDS = frozenset(
    {
        "reference",
        "bank_memo",
        "reference_list",
        "remittance",
        "no_reference",
        "name_variant",
        "fee",
        "rounding",
        "recurring",
        "partial",
        "overpayment",
        "alias",
        "equal_amounts",
        "structured_reference",
        "legal_form",
        "payer_parent",
    }
)

_BRANDS = (
    "Acme Globex Initech Vandelay Zenith Apex Nimbus Umbrella Stark Wayne Wonka Soylent Cyberdyne Tyrell Hooli "
    "Pied Piper Dunder Sterling Cooper Oscorp Gringotts Monarch Aperture Vortex Quantum Summit Pinnacle "
    "Horizon Evergreen Silverline Bluewater Redwood Ironclad Copperfield Goldleaf Blackstone Whitehall Greenfield "
    "Brightwater Clearview Crestwood Fairmont Highland Lakeside Meadowbrook Northgate Oakridge Parkside "
    "Riverside Southport Westbrook Eastwind Harbor Beacon Lighthouse Anchor Compass Keystone Cornerstone "
    "Milestone Landmark Frontier Pioneer Voyager Atlas Titan Orion Phoenix Falcon Eagle Hawk Condor Raven "
    "Sparrow Kestrel Osprey Pelican Heron Anderson Baker Carter Dawson Ellis Fletcher Garrison Hamilton "
    "Irving Jensen Kowalski Lindqvist Morrison Nakamura Okafor Patel Quinn Ramirez Schneider Thompson Underwood "
    "Valdez Whitaker Yamamoto Zimmerman Müller Dubois García Rossi Novak Søndergaard Łukasz Ødegaard Ferreira "
    "Kaufmann Lefèvre Bianchi Costa Nilsson Virtanen Kovač Horváth Dvořák O'Brien McAllister FitzGerald "
    "D'Angelo St. Clair Van der Berg De Vries Al-Farsi Chen Wong Kim Singh Gupta Sato Tanaka Pacific Atlantic "
    "Northern Southern Western Eastern Central Coastal Alpine Prairie Desert Tundra Cascade Sierra Granite "
    "Marble Slate Cobalt Indigo Crimson Amber Ivory Onyx Jade Ruby Sapphire Emerald Topaz Opal Meridian Zephyr "
    "Aurora Solstice Equinox Helix Vertex Matrix Nexus Vector Axiom Catalyst Fusion Synergy Momentum Velocity "
    "Kinetic Dynamo Sentinel Guardian Paragon Sovereign Regal Imperial Royal Crown Liberty Heritage Legacy "
    "Tradition Premier Prime Elite Select Precision Integrity Trinity Unity Harmony Serenity Tranquil Bramble "
    "Thistle Juniper Willow Aspen Birch Maple Cedar Spruce Hemlock Sequoia Magnolia Lotus Orchid"
).split()
_TWO_WORD_BRANDS = ("Pied Piper", "St. Clair", "Van der Berg", "De Vries", "Blue River", "Red Rock", "Silver Lake")
_STRANGER_BRANDS = (
    "Quokka Wombat Narwhal Axolotl Pangolin Okapi Tapir Capybara Manatee Platypus Lemur Meerkat Ocelot Caracal "
    "Serval Margay Dingo Kiwi Kakapo Tuatara Gecko Iguana Marmot Vole Shrew Dormouse Ermine Sable Mink Otter "
    "Badger Wolverine Lynx Puma Jaguar Cheetah Leopard Hyena Jackal Coyote"
).split()
_ALIAS_BRANDS = (
    "Albatross Bison Chinchilla Dugong Echidna Fennec Gazelle Hartebeest Ibex Jerboa Kinkajou Loris Mongoose "
    "Numbat Oryx Pika Quoll Roadrunner Saiga Tamarin Uakari Vicuna Wallaby Xerus Yak Zorilla"
).split()
_INDUSTRIES = (
    "Logistics|Foods|Supplies|Industrial Supplies|Manufacturing|Technologies|Consulting|Partners|Holdings|"
    "Services|Construction|Engineering|Systems|Solutions|Trading|Distribution|Pharmaceuticals|Medical|Dental|"
    "Bakery|Brewing|Textiles|Furniture|Electric|Plumbing|Roofing|Marketing|Media|Labs|Software|Robotics|"
    "Analytics|Outfitters|Motors|Farms|Design|Interiors|Printing|Packaging|Chemicals|Metals|Plastics|Energy|"
    "Solar|Water|Freight|Transport|Travel|Hospitality|Catering|Realty|Properties|Capital|Insurance|Security|"
    "Staffing|Education|Health|Fitness|Apparel|Footwear|Jewelry|Optics|Aerospace|Marine|Agriculture|Seeds|"
    "Coffee|Tea|Wines|Spirits|Dairy|Produce|Seafood|International Trading|Building Products|Office Supply"
).split("|")
_SUFFIXES = {
    "USD": ("Inc", "Inc.", "LLC", "Corp", "Corporation", "Co.", "Company", "", "Incorporated", "L.L.C."),
    "EUR": ("GmbH", "AG", "B.V.", "S.A.", "SRL", "SARL", "S.p.A.", "Oy", "AB", "N.V."),
    "GBP": ("Ltd", "Limited", "PLC", "LLP", "Ltd."),
}
_FIRST_NAMES = (
    "John Maria James Linda Robert Patricia Michael Barbara William Elizabeth David Jennifer Richard Susan "
    "Joseph Jessica Thomas Sarah Charles Karen Ahmed Fatima Wei Mei Hiroshi Yuki Carlos Sofia Lars Ingrid"
).split()
_LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Clark Lewis Walker Hall Allen Young King "
    "Wright Scott Green Adams Nelson Hill Campbell Mitchell Roberts Turner Phillips Parker Evans Edwards"
).split()
_ABBREVIATE = {
    "international": "INTL",
    "manufacturing": "MFG",
    "services": "SVCS",
    "technologies": "TECH",
    "associates": "ASSOC",
    "brothers": "BROS",
    "holdings": "HLDGS",
    "industrial": "IND",
    "distribution": "DIST",
    "engineering": "ENG",
    "construction": "CONSTR",
    "and": "&",
    "&": "AND",
}
_DEDUCTIONS = (
    "less {x} damaged goods",
    "deduction {x} promo allowance",
    "short paid {x} - pricing dispute",
    "net of {x} early payment discount",
    "less {x} returned items",
    "chargeback {x} late delivery",
    "withholding tax {x}",
    "less credit memo {x}",
)
_PARTIAL_WORDS = (
    "partial payment",
    "installment 1 of 3",
    "part payment",
    "on account, balance to follow",
    "instalment",
)
_GENERIC_MEMOS = ("", "", "", "PAYMENT", "THANK YOU", "ACH PAYMENT", "ONLINE PAYMENT", "BILL PAY", "SUPPLIER PAYMENT")
_STRANGER_MEMOS = ("", "REFUND", "INTEREST", "TRANSFER", "SALARY", "RENT MARCH", "DEPOSIT", "CASH DEPOSIT")
_CURRENCY_RATES = {
    ("USD", "EUR"): Decimal("0.92"),
    ("USD", "GBP"): Decimal("0.79"),
    ("EUR", "USD"): Decimal("1.09"),
    ("EUR", "GBP"): Decimal("0.86"),
    ("GBP", "USD"): Decimal("1.27"),
    ("GBP", "EUR"): Decimal("1.17"),
}


# how an OCR reading or a hurried typist confuses a digit with a letter
_OCR_LETTERS = {"0": "O", "1": "I", "5": "S"}
_LEGAL_WORDS = frozenset(
    "inc llc corp corporation co company ltd limited gmbh plc ag incorporated l.l.c b.v s.a srl sarl s.p.a oy ab "
    "n.v llp".split()
)
_LEGAL_FORMS = {
    "USD": ("INC", "INC.", "INCORPORATED", "CORP", "LLC", "CO", ""),
    "EUR": ("GMBH", "G.M.B.H.", "AG", "BV", "SA", "NV", ""),
    "GBP": ("LTD", "LTD.", "LIMITED", "PLC", ""),
}


def creditor_reference(body: str) -> str:
    """An ISO 11649 creditor reference (`RF`, two check digits, the body): the check digits make the
    reference, moved behind `RF00` with letters as numbers, leave 1 modulo 97."""
    numeric = "".join(str(int(ch, 36)) for ch in body.upper() + "RF00")
    return f"RF{98 - int(numeric) % 97:02d}{body.upper()}"


@dataclass(slots=True, frozen=True)
class LabelledPayment:
    payment: IncomingPayment
    noise_kind: str
    truth: tuple[MatchAllocation, ...]
    safe_to_auto: bool
    # per allocation of `truth`, the other invoice ids the evidence cannot tell from its own (same customer,
    # same balance, open on the payment date, named by no reference in the batch); empty when it is named
    interchangeable: tuple[tuple[str, ...], ...] = ()


@dataclass(slots=True, frozen=True)
class LabelledDataset:
    invoices: list[OpenInvoice]
    payments: list[LabelledPayment]
    aliases: dict[str, str]
    seed: int


@dataclass(slots=True)
class _Customer:
    customer_id: str
    name: str
    currency: str
    recurring_cents: int | None
    alias: str | None
    invoices: list[OpenInvoice]


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _decimal(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _money(cents: int, thousands: bool = True) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}" if thousands else f"{cents // 100}.{cents % 100:02d}"


# a payment and the allocations a careful clerk would make of it
_Made = tuple[IncomingPayment, tuple[MatchAllocation, ...]]
# ... and whether the safety rules allow applying it unattended
_Labelled = tuple[IncomingPayment, tuple[MatchAllocation, ...], bool]


@dataclass(slots=True)
class _Draft:
    """A payment being made up: its noise kind, who pays and in which currency (a maker may change both)."""

    kind: str
    payment_id: str
    on: date
    customer: _Customer
    payer: str
    currency: str
    # set by a maker that decides safety per payment (None: the kind's own, `SAFE_KINDS`)
    safe: bool | None = None

    def payment(self, amount: int, reference: str) -> IncomingPayment:
        return IncomingPayment(self.payment_id, self.on, _decimal(amount), self.currency, self.payer, reference)


class _Builder:
    def __init__(self, seed: int, invoice_count: int, as_of: date) -> None:
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.invoice_count = invoice_count
        self.customers: list[_Customer] = []
        self.invoices: list[OpenInvoice] = []
        self.aliases: dict[str, str] = {}
        self.alias_keys: set[str] = set()
        self.available: dict[str, list[OpenInvoice]] = {}
        self.by_number: dict[str, OpenInvoice] = {}
        # invoices some payment's reference names (exactly, mistyped or in a structured reference): the
        # evidence sets them apart from their equal-balance siblings
        self.named: set[str] = set()
        self.by_id: dict[str, OpenInvoice] = {}
        self.by_balance: dict[tuple[str, Decimal], list[OpenInvoice]] = {}
        self.window_days = 20

    # ---------------------------------------------------------------- customers and invoices

    def customer_name(self, currency: str, taken: set[str]) -> str:
        rng = self.rng
        while True:
            brand = rng.choice(_TWO_WORD_BRANDS) if rng.random() < 0.05 else rng.choice(_BRANDS)
            industry = rng.choice(_INDUSTRIES)
            suffix = rng.choice(_SUFFIXES[currency])
            shape = rng.random()
            if shape < 0.62:
                name = f"{brand} {industry} {suffix}"
            elif shape < 0.72:
                name = f"{brand} & {rng.choice(_BRANDS)} {suffix}"
            elif shape < 0.85:
                name = f"{brand} {rng.choice(_BRANDS)} {industry} {suffix}"
            elif shape < 0.9:
                name = f"{brand} & Sons {suffix}"
            elif shape < 0.95:
                name = f"The {brand} {industry} Company"
            else:
                name = f"{brand} International {industry} {suffix}"
            name = " ".join(name.split())
            key = normalise_name(name).core
            if key not in taken:
                taken.add(key)
                return name

    def build_ledger(self) -> None:
        rng = self.rng
        customer_count = max(8, self.invoice_count // 15)
        taken: set[str] = set()
        for n in range(customer_count):
            currency = rng.choices(("USD", "EUR", "GBP"), (80, 12, 8))[0]
            recurring = (
                rng.choice((9900, 24900, 49900, 50000, 75000, 120000, 19900, 150000)) if rng.random() < 0.18 else None
            )
            customer = _Customer(f"C{n + 1:05d}", self.customer_name(currency, taken), currency, recurring, None, [])
            if rng.random() < 0.08:
                customer.alias = self.alias_name(customer)
                self.aliases[customer.alias] = customer.customer_id
            self.customers.append(customer)
        # a few big accounts hold many open invoices, most hold a handful
        weights = [rng.paretovariate(1.6) for _ in self.customers]
        owners = rng.choices(self.customers, weights, k=self.invoice_count)
        number = 100_000
        for customer in owners:
            number += 1
            issue = self.as_of - timedelta(days=rng.randint(1, 180))
            terms = rng.choice((14, 30, 30, 30, 45, 60))
            if customer.recurring_cents is not None and rng.random() < 0.8:
                total = customer.recurring_cents
            elif rng.random() < 0.2:
                total = rng.choice((50, 100, 250, 500, 1000)) * rng.randint(1, 20) * 100
            else:
                total = max(500, int(rng.lognormvariate(7.0, 1.1) * 100))
            balance = total
            if rng.random() < 0.08 and total > 2000:
                balance = total - rng.randint(1, total // 100) * 50
            invoice = OpenInvoice(
                invoice_id=f"inv_{number - 100_000:06d}",
                invoice_number=f"INV-{number}",
                customer_id=customer.customer_id,
                customer_name=customer.name,
                currency=customer.currency,
                total=_decimal(total),
                balance=_decimal(balance),
                issue_date=issue,
                due_date=issue + timedelta(days=terms),
            )
            customer.invoices.append(invoice)
            self.invoices.append(invoice)
        for customer in self.customers:
            # equal balances are paid by due date, then invoice number (all numbers have the same length)
            customer.invoices.sort(key=lambda i: (i.due_date, i.invoice_number))
            self.available[customer.customer_id] = list(customer.invoices)
        self.by_number = {i.invoice_number: i for i in self.invoices}
        self.by_id = {i.invoice_id: i for i in self.invoices}
        for customer in self.customers:
            for invoice in customer.invoices:  # in due order
                self.by_balance.setdefault((customer.customer_id, invoice.balance), []).append(invoice)

    def alias_name(self, customer: _Customer) -> str:
        """A parent company, an owner or a treasury vehicle that pays for the customer; never a stranger's
        name and never another customer's alias."""
        rng = self.rng
        while True:
            shape = rng.random()
            if shape < 0.4:
                holding = rng.choice(("Holdings", "Group", "Treasury Services"))
                name = f"{rng.choice(_ALIAS_BRANDS)} {holding} {rng.choice(_SUFFIXES[customer.currency])}".strip()
            elif shape < 0.7:
                name = f"{rng.choice(_FIRST_NAMES)} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {rng.choice(_LAST_NAMES)}"
            else:
                name = f"{rng.choice(_ALIAS_BRANDS)} {rng.choice(_ALIAS_BRANDS)} Partners"
            key = normalise_name(name, payer=True).core
            if key not in self.alias_keys:
                self.alias_keys.add(key)
                return name

    # ---------------------------------------------------------------- texts

    def payer_variant(self, name: str, heavy: bool = False) -> str:
        """How a bank shows a customer's name: mild (case, legal form, punctuation, length limit) or heavy."""
        rng = self.rng
        words = name.split()
        if rng.random() < 0.35 and words[-1].strip(".").lower() in {
            "inc",
            "llc",
            "corp",
            "corporation",
            "co",
            "company",
            "ltd",
            "limited",
            "gmbh",
            "plc",
            "ag",
            "incorporated",
            "l.l.c",
            "b.v",
            "s.a",
            "srl",
            "sarl",
            "s.p.a",
            "oy",
            "ab",
            "n.v",
            "llp",
        }:
            words = words[:-1] + ([rng.choice(("INC", "CORP", "LTD", "LLC", "CO"))] if rng.random() < 0.5 else [])
        text = " ".join(words)
        if rng.random() < 0.7:
            text = text.upper()
        if rng.random() < 0.4:
            text = text.replace(".", "").replace(",", "").replace("'", "")
        if heavy:
            for _ in range(rng.choice((1, 1, 2))):
                text = self.heavy_change(text)
        if len(text) > 35:
            text = text[:35].rstrip()
        return text

    def heavy_change(self, text: str) -> str:
        rng = self.rng
        change = rng.choice(("truncate", "typo", "abbreviate", "prefix", "accents", "truncate"))
        words = text.split()
        if change == "truncate" and len(text) > 16:
            return text[: rng.randint(14, min(22, len(text) - 1))].rstrip()
        if change == "typo":
            long_words = [i for i, w in enumerate(words) if len(w) >= 6]
            if long_words:
                i = rng.choice(long_words)
                w = words[i]
                p = rng.randint(1, len(w) - 2)
                kind = rng.random()
                if kind < 0.4:
                    w = w[:p] + w[p + 1] + w[p] + w[p + 2 :]
                elif kind < 0.7:
                    w = w[:p] + w[p + 1 :]
                else:
                    w = w[:p] + rng.choice("aeiourstn") + w[p + 1 :]
                words[i] = w
                return " ".join(words)
        if change == "abbreviate":
            replaced = [_ABBREVIATE.get(w.lower(), w) for w in words]
            if replaced != words:
                return " ".join(replaced)
        if change == "prefix":
            return rng.choice(("ACH CREDIT ", "ORIG CO NAME:", "WIRE FROM ", "SEPA CT ", "BACS ", "ACH DEP ")) + text
        if change == "accents":
            return text.upper().replace("Ü", "U").replace("É", "E").replace("È", "E").replace("Ø", "O")
        return text.upper()

    def reference_for(self, invoice: OpenInvoice) -> str:
        rng = self.rng
        self.named.add(invoice.invoice_id)
        number = invoice.invoice_number
        digits = number.split("-")[-1]
        shapes = [
            number,
            number,
            f"INV{digits}",
            f"Inv #{digits}",
            digits,
            f"Invoice {digits}",
            f"invoice no. {digits}",
            f"INV {digits}",
            f"Inv. {digits}",
            f"PAYMENT FOR INVOICE {digits}",
            f"#{digits}",
            f"REF {number}",
            f"{number} THANK YOU",
            f"inv{digits}",
            f"PO 4{rng.randint(1000, 9999)} {number}",
        ]
        if invoice.currency == "EUR":
            shapes += [f"Rechnung Nr. {digits}", f"Facture {digits}", f"RE {number}"]
        return rng.choice(shapes)

    def list_reference(self, invoices: Sequence[OpenInvoice]) -> str:
        rng = self.rng
        self.named.update(i.invoice_id for i in invoices)
        numbers = [i.invoice_number for i in invoices]
        digits = [n.split("-")[-1] for n in numbers]
        shape = rng.randrange(6)
        if shape == 0:
            return ", ".join(numbers[:-1]) + " & " + numbers[-1]
        if shape == 1:
            return "Inv #" + ", ".join(digits)
        if shape == 2:
            return "invoices " + "/".join(digits)
        if shape == 3:
            return " ".join(digits)
        if shape == 4:
            return "; ".join(numbers)
        return "Invoices: " + ", ".join(digits[:-1]) + " and " + digits[-1]

    def remittance(self, lines: Sequence[tuple[OpenInvoice, int]], payer: str) -> str:
        rng = self.rng
        self.named.update(inv.invoice_id for inv, _ in lines)
        shape = rng.randrange(3)
        if shape == 0:
            body = "\n".join(f"{inv.invoice_number}   {_money(c)}" for inv, c in lines)
            total = sum(c for _, c in lines)
            return f"REMITTANCE ADVICE {payer}\nInvoice   Amount\n{body}\nTotal   {_money(total)}"
        if shape == 1:
            return "; ".join(f"{inv.invoice_number} {_money(c, thousands=False)}" for inv, c in lines)
        return "".join(f"RMR*IV*{inv.invoice_number}*PI*{_money(c, thousands=False)}~" for inv, c in lines)

    def bank_memo(self, reference: str, payer: str) -> str:
        rng = self.rng
        trace = "".join(rng.choice("0123456789") for _ in range(15))
        day = (self.as_of - timedelta(days=rng.randint(0, 20))).strftime("%y%m%d")
        shape = rng.randrange(4)
        if shape == 0:
            return f"ACH CREDIT {day} {payer[:16]} REF {reference} TRACE {trace}"
        if shape == 1:
            return f"WIRE TRF IN /BNF/{payer[:20]} /RFB/{reference} /IMAD/{trace}"
        if shape == 2:
            return f"SEPA CT EREF {trace[:10]} {reference}"
        return f"BACS {payer[:12]} {reference} {day}"

    # ---------------------------------------------------------------- payments

    def open_of(self, customer: _Customer, on: date) -> list[OpenInvoice]:
        return [i for i in self.available[customer.customer_id] if i.issue_date <= on]

    def take(self, invoice: OpenInvoice) -> None:
        self.available[invoice.customer_id].remove(invoice)

    def canonical(self, customer: _Customer, chosen: Sequence[OpenInvoice], on: date) -> list[OpenInvoice]:
        """Without a reference, equal balances are paid oldest due first: swap each for the oldest equal one."""
        out: list[OpenInvoice] = []
        for invoice in chosen:
            for candidate in self.open_of(customer, on):
                if candidate.balance == invoice.balance and candidate not in out:
                    out.append(candidate)
                    break
        return out

    def pick_customer(self, on: date, need: int = 1, recurring: bool = False, alias: bool = False) -> _Customer | None:
        rng = self.rng
        for _ in range(60):
            customer = rng.choice(self.customers)
            if (recurring and customer.recurring_cents is None) or (alias and customer.alias is None):
                continue
            if len(self.open_of(customer, on)) >= need:
                return customer
        return None

    def pick_invoice(self, customer: _Customer, on: date, min_balance: int = 0) -> OpenInvoice | None:
        open_invoices = [i for i in self.open_of(customer, on) if _cents(i.balance) >= min_balance]
        if not open_invoices:
            return None
        if self.rng.random() < 0.6:
            return open_invoices[0]
        return self.rng.choice(open_invoices)

    def payments(self, kind: str, on: date, payment_ids: Callable[[], str]) -> list[_Labelled] | None:
        """The payment(s) of `kind` (`equal_amounts` makes two), each with its truth and whether the safety
        rules allow applying it unattended; `payment_ids` hands out the next id."""
        if kind == "equal_amounts":
            return self.equal_amounts(on, payment_ids)
        payment_id = payment_ids()
        if kind in ("reference_typo", "reference_ocr"):
            made = self.reference_typo(on, payment_id, ocr=kind == "reference_ocr")
            return None if made is None else [made]
        return None if (one := self.plain_payment(kind, on, payment_id)) is None else [one]

    def reference_typo(self, on: date, payment_id: str, ocr: bool = False) -> _Labelled | None:
        """The payer mistypes the invoice number (two digits swapped, one wrong, dropped or doubled) or an OCR
        reading confuses O/0, I/1, S/5. A clerk reads the typo for the invoice meant; unattended that is safe
        only when the typo is no other open invoice."""
        rng = self.rng
        customer = self.pick_customer(on)
        if customer is None:
            return None
        invoice = self.pick_invoice(customer, on)
        if invoice is None:
            return None
        prefix, digits = invoice.invoice_number.rsplit("-", 1)
        typo = self.ocr_confusion(digits) if ocr else self.digit_typo(digits)
        if typo is None or typo == digits:
            return None
        number = f"{prefix}-{typo}"
        named = self.by_number.get(number)
        self.take(invoice)
        self.named.add(invoice.invoice_id)
        if named is not None:
            self.named.add(named.invoice_id)
        heavy = rng.random() < 0.2
        payer = self.payer_variant(customer.name, heavy=heavy)
        reference = rng.choice((number, f"Inv #{typo}", f"INVOICE {typo}", f"{number} THANK YOU", f"INV{typo}"))
        amount = _cents(invoice.balance)
        payment = IncomingPayment(payment_id, on, _decimal(amount), customer.currency, payer, reference)
        safe = named is None
        return payment, (MatchAllocation(invoice.invoice_id, _decimal(amount)),), safe

    def digit_typo(self, digits: str) -> str:
        rng = self.rng
        position = rng.randrange(len(digits) - 1)
        shape = rng.random()
        if shape < 0.4 and digits[position] != digits[position + 1]:
            return digits[:position] + digits[position + 1] + digits[position] + digits[position + 2 :]
        if shape < 0.55:
            return digits[:position] + digits[position + 1 :]  # a digit dropped
        if shape < 0.7:
            return digits[:position] + digits[position] + digits[position:]  # a digit doubled
        wrong = rng.choice([d for d in "0123456789" if d != digits[position]])
        return digits[:position] + wrong + digits[position + 1 :]

    def ocr_confusion(self, digits: str) -> str | None:
        confusable = [i for i, d in enumerate(digits) if d in _OCR_LETTERS]
        if not confusable:
            return None
        position = self.rng.choice(confusable)
        return digits[:position] + _OCR_LETTERS[digits[position]] + digits[position + 1 :]

    def equal_amounts(self, on: date, payment_ids: Callable[[], str]) -> list[_Labelled] | None:
        """A customer with several open invoices of one amount pays two of them the same day: first (in file
        order) without a reference, then naming the oldest due. The named one is the reference's; the other
        payment takes the next in due order."""
        rng = self.rng
        for _ in range(40):
            customer = rng.choice(self.customers)
            by_amount: dict[Decimal, list[OpenInvoice]] = {}
            for invoice in self.open_of(customer, on):
                by_amount.setdefault(invoice.balance, []).append(invoice)
            groups = [group for group in by_amount.values() if len(group) >= 2]
            if groups:
                break
        else:
            return None
        named, other = rng.choice(groups)[:2]
        self.take(named)
        self.take(other)
        amount = _cents(named.balance)
        payer = self.payer_variant(customer.name) if rng.random() < 0.85 else customer.name
        unnamed_id, named_id = payment_ids(), payment_ids()
        memo = rng.choice(_GENERIC_MEMOS)
        unnamed = IncomingPayment(unnamed_id, on, _decimal(amount), customer.currency, payer, memo)
        reference = self.reference_for(named)
        referenced = IncomingPayment(named_id, on, _decimal(amount), customer.currency, payer, reference)
        return [
            (unnamed, (MatchAllocation(other.invoice_id, _decimal(amount)),), True),
            (referenced, (MatchAllocation(named.invoice_id, _decimal(amount)),), True),
        ]

    def plain_payment(self, kind: str, on: date, payment_id: str) -> _Labelled | None:
        """A payment of `kind` (any made by `_MAKERS`, or a stranger), its truth and whether it is safe."""
        if kind == "stranger":
            return (*self.stranger(on, payment_id), False)
        make = self._MAKERS.get(kind)
        if make is None:
            raise ValueError(f"unknown noise kind {kind!r}")
        customer = self.pick_customer(
            on,
            need=2 if kind in ("reference_list", "remittance", "multi_no_reference") else 1,
            recurring=kind == "recurring",
            alias=kind == "alias",
        )
        if customer is None:
            return None
        rng = self.rng
        payer = (
            self.payer_variant(customer.name, heavy=kind == "name_variant") if rng.random() < 0.85 else customer.name
        )
        draft = _Draft(kind, payment_id, on, customer, payer, customer.currency)
        made = make(self, draft)
        if made is None:
            return None
        return (*made, draft.safe if draft.safe is not None else kind in SAFE_KINDS)

    def single(
        self, draft: _Draft, invoice: OpenInvoice, amount: int, reference: str, applied: int | None = None
    ) -> _Made:
        """The draft as a payment of one invoice; `applied` is what the truth applies when not the amount."""
        self.take(invoice)
        truth = (MatchAllocation(invoice.invoice_id, _decimal(applied if applied is not None else amount)),)
        return draft.payment(amount, reference), truth

    def one_invoice(self, draft: _Draft) -> _Made | None:
        """Pays one invoice in full: named in the reference or a bank memo, or found by the (aliased) name."""
        rng, kind, customer, on = self.rng, draft.kind, draft.customer, draft.on
        invoice = self.pick_invoice(customer, on)
        if invoice is None:
            return None
        amount = _cents(invoice.balance)
        if kind == "alias":
            payer = draft.payer
            draft.payer = customer.alias.upper() if customer.alias and rng.random() < 0.5 else (customer.alias or payer)
            reference = self.reference_for(invoice) if rng.random() < 0.5 else rng.choice(_GENERIC_MEMOS)
        elif kind in ("no_reference", "name_variant"):
            invoice = self.canonical(customer, [invoice], on)[0]
            amount = _cents(invoice.balance)
            reference = rng.choice(_GENERIC_MEMOS)
        else:
            reference = self.reference_for(invoice)
            if kind == "bank_memo":
                reference = self.bank_memo(reference, draft.payer.upper())
                if rng.random() < 0.3:
                    draft.payer = rng.choice(("ACH CREDIT ", "ORIG CO NAME:", "WIRE ")) + draft.payer
        if kind == "alias" and reference in _GENERIC_MEMOS:
            invoice = self.canonical(customer, [invoice], on)[0]
            amount = _cents(invoice.balance)
        return self.single(draft, invoice, amount, reference)

    def recurring(self, draft: _Draft) -> _Made | None:
        customer = draft.customer
        assert customer.recurring_cents is not None
        same = [i for i in self.open_of(customer, draft.on) if _cents(i.balance) == customer.recurring_cents]
        if not same:
            return None
        reference = self.rng.choice(("", "", "MONTHLY SUBSCRIPTION", "SERVICE FEE", "PAYMENT"))
        return self.single(draft, same[0], customer.recurring_cents, reference)

    def fee_or_rounding(self, draft: _Draft) -> _Made | None:
        """A bank fee taken off the amount, or a cent of rounding; without a reference (always for
        `fee_no_reference`) the approximate amount alone may only be suggested."""
        rng, fee = self.rng, draft.kind in ("fee", "fee_no_reference")
        invoice = self.pick_invoice(draft.customer, draft.on, min_balance=40_000 if fee else 100)
        if invoice is None:
            return None
        with_reference = draft.kind != "fee_no_reference" and rng.random() < 0.5
        draft.safe = with_reference
        if not with_reference:
            invoice = self.canonical(draft.customer, [invoice], draft.on)[0]
        balance = _cents(invoice.balance)
        if fee:
            limit = MatchConfig().tolerance_cents(balance)
            amount = balance - rng.randint(5, limit)
        else:
            amount = balance + rng.choice((-1, 1))
        reference = self.reference_for(invoice) if with_reference else rng.choice(_GENERIC_MEMOS)
        return self.single(draft, invoice, amount, reference, applied=min(amount, balance))

    def partial(self, draft: _Draft) -> _Made | None:
        invoice = self.pick_invoice(draft.customer, draft.on, min_balance=10_000)
        if invoice is None:
            return None
        balance = _cents(invoice.balance)
        amount = balance * self.rng.randint(20, 80) // 100
        reference = f"{self.reference_for(invoice)} {self.rng.choice(_PARTIAL_WORDS)}"
        return self.single(draft, invoice, amount, reference)

    def overpayment(self, draft: _Draft) -> _Made | None:
        invoice = self.pick_invoice(draft.customer, draft.on)
        if invoice is None:
            return None
        balance = _cents(invoice.balance)
        amount = balance + self.rng.randint(500, 50_000)
        return self.single(draft, invoice, amount, self.reference_for(invoice), applied=balance)

    def short_deduction(self, draft: _Draft) -> _Made | None:
        rng = self.rng
        invoice = self.pick_invoice(draft.customer, draft.on, min_balance=5_000)
        if invoice is None:
            return None
        balance = _cents(invoice.balance)
        deduction = max(MatchConfig().tolerance_cents(balance) + 100, balance * rng.randint(1, 15) // 100)
        amount = balance - deduction
        reference = self.reference_for(invoice)
        if rng.random() < 0.75:
            reference += " " + rng.choice(_DEDUCTIONS).format(x=_money(deduction, thousands=False))
        return self.single(draft, invoice, amount, reference)

    def several_invoices(self, draft: _Draft) -> _Made | None:
        """Pays several invoices: listed in the reference, in a remittance advice, or not named at all."""
        rng, kind, customer, on = self.rng, draft.kind, draft.customer, draft.on
        open_invoices = self.open_of(customer, on)
        count = min(
            len(open_invoices), rng.choice((2, 2, 3, 3, 4)) if kind == "multi_no_reference" else rng.randint(2, 5)
        )
        if (kind == "multi_no_reference" and rng.random() < 0.7) or count == len(open_invoices):
            chosen = open_invoices[:count]
        else:
            chosen = sorted(rng.sample(open_invoices, count), key=open_invoices.index)
        if kind == "multi_no_reference":
            chosen = self.canonical(customer, chosen, on)
        lines = [(i, _cents(i.balance)) for i in chosen]
        amount = sum(c for _, c in lines)
        if kind == "reference_list":
            reference = self.list_reference(chosen)
        elif kind == "remittance":
            reference = self.remittance(lines, draft.payer.upper())
        else:
            reference = rng.choice(_GENERIC_MEMOS)
        for invoice in chosen:
            self.take(invoice)
        truth = tuple(MatchAllocation(i.invoice_id, _decimal(c)) for i, c in lines)
        return draft.payment(amount, reference), truth

    def other_customer_reference(self, draft: _Draft) -> _Made | None:
        customer, on = draft.customer, draft.on
        own = self.pick_invoice(customer, on)
        other_customer = self.pick_customer(on)
        if own is None or other_customer is None or other_customer is customer:
            return None
        if other_customer.currency != customer.currency:
            return None
        theirs = self.pick_invoice(other_customer, on)
        if theirs is None:
            return None
        reference = self.reference_for(theirs)
        if self.rng.random() < 0.5:
            # a mistyped or copied reference: the customer pays its own invoice
            own = self.canonical(customer, [own], on)[0]
            return self.single(draft, own, _cents(own.balance), reference)
        # paying on behalf of another customer
        self.take(theirs)
        amount = _cents(theirs.balance)
        truth = (MatchAllocation(theirs.invoice_id, _decimal(amount)),)
        return draft.payment(amount, reference), truth

    def foreign_currency(self, draft: _Draft) -> _Made | None:
        customer = draft.customer
        invoice = self.pick_invoice(customer, draft.on)
        if invoice is None:
            return None
        draft.currency = self.rng.choice([c for c in ("USD", "EUR", "GBP") if c != customer.currency])
        balance = _cents(invoice.balance)
        amount = int(balance * _CURRENCY_RATES[(customer.currency, draft.currency)])  # Decimal rate, whole cents
        return self.single(draft, invoice, amount, self.reference_for(invoice), applied=min(amount, balance))

    def structured_reference(self, draft: _Draft) -> _Made | None:
        """A bank file's reference text (`StatementLine.matching_reference`): the remittance text, then the
        structured references one a line: an ISO 11649 creditor reference built on the invoice number, the
        payer's own end-to-end id, or both."""
        rng = self.rng
        invoice = self.pick_invoice(draft.customer, draft.on)
        if invoice is None:
            return None
        self.named.add(invoice.invoice_id)
        digits = invoice.invoice_number.split("-")[-1]
        body = rng.choice((digits, digits.zfill(12), "INV" + digits))
        creditor = creditor_reference(body)
        end_to_end = rng.choice(
            (
                f"E2E-{rng.randint(1000, 9999)}-{rng.randint(10, 99)}",
                f"{normalise_name(draft.customer.name).compact[:6].upper()}-PAY-{rng.randint(10, 999)}",
                f"PMT{draft.on:%Y%m%d}{rng.randint(100000, 999999)}",
                "NOTPROVIDED",
            )
        )
        shape = rng.randrange(4)
        if shape == 0:
            lines = [rng.choice(("PAYMENT", "SUPPLIER PAYMENT", "INVOICE PAYMENT")), creditor, end_to_end]
        elif shape == 1:
            lines = [creditor]
        elif shape == 2:
            lines = [self.reference_for(invoice), end_to_end]
        else:
            lines = [f"{creditor} {draft.payer.upper()[:20]}", end_to_end]
        reference = "\n".join(line for line in lines if line != "NOTPROVIDED")
        return self.single(draft, invoice, _cents(invoice.balance), reference)

    def payer_parent(self, draft: _Draft) -> _Made | None:
        """A parent company pays (the customer's brand, then Holdings or Group), no alias learned yet: with
        the invoice named the reference carries it; without, name and amount can only suggest."""
        rng, customer = self.rng, draft.customer
        invoice = self.pick_invoice(customer, draft.on)
        if invoice is None:
            return None
        brand = customer.name.split()[0].strip(",")
        if brand.lower() == "the":
            brand = customer.name.split()[1]
        holding = rng.choice(("Holdings", "Group", "Group Treasury", "Holding"))
        parent = f"{brand} {holding} {rng.choice(_SUFFIXES[customer.currency])}"
        draft.payer = parent.strip().upper() if rng.random() < 0.6 else parent.strip()
        if rng.random() < 0.6:
            return self.single(draft, invoice, _cents(invoice.balance), self.reference_for(invoice))
        invoice = self.canonical(customer, [invoice], draft.on)[0]
        return self.single(draft, invoice, _cents(invoice.balance), rng.choice(_GENERIC_MEMOS))

    def legal_form(self, draft: _Draft) -> _Made | None:
        """The payer's legal form written another way ("LTD" for "Limited", "GMBH", "INC." for "Incorporated",
        or none), no reference: name and exact amount decide."""
        rng, customer = self.rng, draft.customer
        invoice = self.pick_invoice(customer, draft.on)
        if invoice is None:
            return None
        invoice = self.canonical(customer, [invoice], draft.on)[0]
        words = customer.name.split()
        if words[-1].strip(".").lower() in _LEGAL_WORDS:
            words = words[:-1]
        form = rng.choice(_LEGAL_FORMS[customer.currency])
        draft.payer = " ".join([*words, form]).upper() if rng.random() < 0.7 else " ".join([*words, form])
        return self.single(draft, invoice, _cents(invoice.balance), rng.choice(_GENERIC_MEMOS))

    def interchangeable(
        self, payment: IncomingPayment, truth: Sequence[MatchAllocation]
    ) -> tuple[tuple[str, ...], ...]:
        """Per allocation of `truth`, the invoices the evidence cannot tell from its own: the customer's other
        invoices of the same balance, open on the payment date, that no reference in the batch names (none
        when the payment's own reference names its invoice). Call once every payment is made."""
        if not truth:
            return ()
        sets: list[tuple[str, ...]] = []
        for allocation in truth:
            invoice = self.by_id[allocation.invoice_id]
            if invoice.invoice_id in self.named:
                sets.append(())
                continue
            siblings = self.by_balance.get((invoice.customer_id, invoice.balance), ())
            sets.append(
                tuple(
                    i.invoice_id
                    for i in siblings
                    if i is not invoice and i.invoice_id not in self.named and i.issue_date <= payment.date
                )
            )
        return tuple(sets) if any(sets) else ()

    # how each noise kind is made (`stranger`, `reference_typo`, `reference_ocr`, `equal_amounts`: `payments`)
    _MAKERS: ClassVar[dict[str, Callable[[_Builder, _Draft], _Made | None]]] = {
        "reference": one_invoice,
        "bank_memo": one_invoice,
        "alias": one_invoice,
        "no_reference": one_invoice,
        "name_variant": one_invoice,
        "recurring": recurring,
        "fee": fee_or_rounding,
        "fee_no_reference": fee_or_rounding,
        "rounding": fee_or_rounding,
        "structured_reference": structured_reference,
        "payer_parent": payer_parent,
        "legal_form": legal_form,
        "partial": partial,
        "overpayment": overpayment,
        "short_deduction": short_deduction,
        "reference_list": several_invoices,
        "remittance": several_invoices,
        "multi_no_reference": several_invoices,
        "other_customer_reference": other_customer_reference,
        "foreign_currency": foreign_currency,
    }

    def stranger(self, on: date, payment_id: str) -> tuple[IncomingPayment, tuple[MatchAllocation, ...]]:
        rng = self.rng
        if rng.random() < 0.5:
            payer = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}".upper()
        else:
            payer = f"{rng.choice(_STRANGER_BRANDS)} {rng.choice(_INDUSTRIES)} {rng.choice(_SUFFIXES['USD'])}".strip()
        if rng.random() < 0.3:
            # the same amount as some open invoice, by coincidence
            amount = _cents(rng.choice(self.invoices).balance)
        else:
            amount = int(rng.lognormvariate(6.5, 1.2) * 100) + 1
        reference = rng.choice(_STRANGER_MEMOS)
        if rng.random() < 0.2:
            reference = f"INV-{rng.randint(900_000, 999_999)}"
        currency = rng.choices(("USD", "EUR", "GBP"), (80, 12, 8))[0]
        return IncomingPayment(payment_id, on, _decimal(amount), currency, payer, reference), ()


def generate_dataset(
    payments: int = 10_000, invoices: int = 50_000, seed: int = 1, as_of: date = date(2025, 3, 31)
) -> LabelledDataset:
    """A ledger of `invoices` open invoices and `payments` labelled payments, reproducible from `seed`."""
    builder = _Builder(seed, invoices, as_of)
    builder.build_ledger()
    rng = builder.rng
    kinds = list(NOISE_KINDS)
    weights = list(NOISE_KINDS.values())
    planned = sorted(
        (as_of - timedelta(days=rng.randint(0, builder.window_days)), rng.choices(kinds, weights)[0])
        for _ in range(payments)
    )
    labelled: list[LabelledPayment] = []
    counter = iter(range(1, 10 * payments + 10))

    def next_id() -> str:
        return f"pay_{next(counter):06d}"

    for on, kind in planned:
        if len(labelled) >= payments:
            break
        made: list[_Labelled] | None = None
        for _ in range(5):
            made = builder.payments(kind, on, next_id)
            if made is not None:
                break
        if made is None:
            kind = "stranger"
            made = [(*builder.stranger(on, next_id()), False)]
        for payment, truth, safe in made:
            labelled.append(LabelledPayment(payment, kind, truth, safe))
    # only now is every reference known, so which equal invoices nothing names
    labelled = [
        LabelledPayment(p.payment, p.noise_kind, p.truth, p.safe_to_auto, builder.interchangeable(p.payment, p.truth))
        for p in labelled
    ]
    return LabelledDataset(builder.invoices, labelled, builder.aliases, seed)
