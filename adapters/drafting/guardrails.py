"""Pure checks every drafted text passes before a human sees it (reminders first; dispute summaries and
invoice line descriptions through `check_internal_text`).

The contract: every figure a draft states (amounts, dates, periods, invoice numbers, counts) is one of
the facts the drafter was given, and the wording stays inside what the policy of the dunning level
allows. The checks read the text the way a customer would: an amount is recognised in any common
format (1,250.00 / 1250 / $1,250 / 1.250,00 / USD 1250.00 / €1.250), a date in any common format
(2026-03-04 / 04/03/2026 / March 4, 2026 / 4 March 2026 / Mar 4 / the 4th / Friday), an invoice
number in any common shape (INV-1042 / #1042 / invoice no. 1042). What cannot be verified (an amount
in words, a numeric date that reads two ways) is refused, never guessed.

Reading is by elimination: the parts of the text that are facts verbatim (names, the payment
instructions) are masked first, then invoice numbers, dates, amounts and periods are recognised,
checked and masked in that order, and any digit left over is a figure nobody gave the drafter.
No I/O; every function here is deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, ConfigDict

from adapters.drafting.port import DisputeFacts, ReminderFacts
from adapters.ledger import InvoiceLine, Money

ViolationKind = Literal["amount", "date", "invoice_number", "forbidden_language", "missing_element", "tone", "length"]
VIOLATION_KINDS: tuple[ViolationKind, ...] = (
    "amount",
    "date",
    "invoice_number",
    "forbidden_language",
    "missing_element",
    "tone",
    "length",
)

SUBJECT_MAX_CHARS = 120
BODY_MIN_CHARS = 120
BODY_MAX_CHARS = 2500


class Violation(BaseModel):
    """One reason a draft may not reach an approver. `detail` reads after "LLM draft ..."."""

    model_config = ConfigDict(frozen=True)

    kind: ViolationKind
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


def check_reminder(draft_subject: str, draft_body: str, facts: ReminderFacts) -> list[Violation]:
    """Every reason this reminder may not be shown to an approver; empty when it may.

    Figures come first in the list (they are the worst), then policy, tone, missing elements, length.
    """
    text = f"{draft_subject}\n{draft_body}"
    reading = _Reading.of(text, Figures.for_reminder(facts))
    found: list[tuple[int, int, Violation]] = [(0, pos, v) for pos, v in reading.violations]
    found.extend((1, pos, v) for pos, v in _offer_violations(reading.wording, _allowed_offers(facts), facts.level))
    found.extend((2, pos, v) for pos, v in _tone_violations(reading.wording, facts))
    found.extend((3, 0, v) for v in _missing_elements(text, reading, facts))
    found.extend((4, 0, v) for v in _length_violations(draft_subject, draft_body))
    return _in_order(found)


def check_figures(text: str, figures: Figures) -> list[Violation]:
    """Only the figure checks (amounts, dates, periods, invoice numbers, links): for any drafted text."""
    return _in_order((0, pos, v) for pos, v in _Reading.of(text, figures).violations)


def check_internal_text(text: str, figures: Figures, *, min_words: int, max_words: int) -> list[Violation]:
    """A text for the AR team or an invoice line (dispute summary, line description): figures from the
    facts only, no offer or threat of any kind, no placeholder, and a length in words within bounds."""
    reading = _Reading.of(text, figures)
    found: list[tuple[int, int, Violation]] = [(0, pos, v) for pos, v in reading.violations]
    found.extend((1, pos, v) for pos, v in _offer_violations(reading.wording, set(), None))
    for match in _PLACEHOLDER.finditer(text):
        found.append(
            (3, match.start(), Violation(kind="missing_element", detail=f"left the placeholder {match.group(0)!r}"))
        )
    words = len(text.split())
    if not min_words <= words <= max_words:
        found.append((4, 0, Violation(kind="length", detail=f"has {words} words, outside {min_words} to {max_words}")))
    return _in_order(found)


def _in_order(found: Iterable[tuple[int, int, Violation]]) -> list[Violation]:
    unique: list[Violation] = []
    for _, _, violation in sorted(found, key=lambda item: (item[0], item[1])):
        if violation not in unique:
            unique.append(violation)
    return unique


# --- the facts, in the shapes the text is compared with ------------------------------------------


@dataclass(frozen=True)
class Figures:
    """Every figure a text may state, and the verbatim facts it may quote.

    `Figures.for_reminder` builds it from a reminder's facts; other drafted texts (dispute summaries,
    invoice lines) build their own.
    """

    currency: str
    amounts: dict[str, Money]  # role ("the amount due", "the invoice total", ...) -> money
    dates: dict[str, date]  # role ("due", "issued", ...) -> date
    invoice_numbers: tuple[str, ...] = ()  # the first is "the" invoice
    counts: frozenset[int] = frozenset()  # bare numbers the text may state (days overdue, level, ...)
    period_days: frozenset[int] = frozenset()  # lengths of time in days the text may state
    given_numbers: frozenset[int] = frozenset()  # numbers in the free texts given (history, references)
    verbatim: tuple[str, ...] = ()  # names and instructions the text may quote word for word
    references: str = ""  # payment instructions: their account numbers and links may be re-spaced
    links_allowed_in: str = ""  # the text in which every link or address the draft gives must appear
    quotable: str = ""  # a text (a customer's message) the draft may quote "in double quotes", figures and all
    date_order: Literal["DMY", "MDY"] | None = None
    period_context: str = ""  # "the invoice is 14 days overdue", for the rejection message

    @classmethod
    def for_reminder(cls, facts: ReminderFacts) -> Figures:
        amounts: dict[str, Money] = {"the amount due": facts.amount_due}
        if facts.total.currency == facts.amount_due.currency and facts.total != facts.amount_due:
            amounts["the invoice total"] = facts.total
            paid = facts.total - facts.amount_due
            if paid.amount > 0:
                amounts["the amount already paid"] = paid
        if facts.late_fee is not None:
            amounts["the late payment charge"] = facts.late_fee
        dates = {"issued": facts.issue_date, "due": facts.due_date, "today": facts.today}
        days_overdue = abs(facts.days_overdue)
        terms = (facts.due_date - facts.issue_date).days
        given = small_numbers(f"{facts.history_summary} {facts.how_to_pay}")
        state = "overdue" if facts.days_overdue >= 0 else "from its due date"
        return cls(
            currency=facts.amount_due.currency,
            amounts=amounts,
            dates=dates,
            invoice_numbers=(facts.invoice_number, *((facts.late_fee_invoice,) if facts.late_fee_invoice else ())),
            counts=frozenset({days_overdue, facts.level, *given, *(d.year for d in dates.values())}),
            period_days=frozenset({days_overdue, terms, *given}),
            given_numbers=frozenset(given),
            verbatim=(facts.how_to_pay, facts.company_name, facts.customer_name),
            references=facts.how_to_pay,
            links_allowed_in=f"{facts.how_to_pay} {facts.history_summary}",
            date_order=facts.date_order,
            period_context=f"the invoice is {days_overdue} days {state}",
        )

    @property
    def reference_tokens(self) -> frozenset[str]:
        return frozenset(
            token.upper()
            for token in (t.strip(".,;:!?()[]\"'") for t in self.references.split())
            if len(token) >= 4 and any(ch.isdigit() for ch in token)
        )

    def in_references(self, token: str) -> bool:
        """`token` stands in the payment instructions as whole words, perhaps re-spaced ("GB29NWBK6016"
        for "GB29 NWBK 6016"); never as a piece cut out of one ("INV-104" or "NV-1042" of INV-1042)."""
        respaced = r"\s*".join(re.escape(ch) for ch in token)
        return re.search(rf"(?<!\w){respaced}(?!\w)", self.references, re.I) is not None

    def dates_phrase(self) -> str:
        return ", ".join(f"{role} {d.isoformat()}" for role, d in self.dates.items())

    def amounts_list(self) -> str:
        return ", ".join(f"{role} {_plain(m)}" for role, m in self.amounts.items())

    def not_an_amount(self) -> str:
        """'is not the amount due 1,250.00' or 'is neither the amount due ... nor the invoice total ...'"""
        parts = [f"{role} {_plain(m)}" for role, m in self.amounts.items()]
        if len(parts) == 1:
            return f"is not {parts[0]}"
        return "is neither " + " nor ".join(parts)


def _plain(money: Money) -> str:
    exponent = money.amount.as_tuple().exponent
    places = min(exponent if isinstance(exponent, int) else -2, -2)
    return f"{money.amount.quantize(Decimal(1).scaleb(places)):,}"


def dispute_figures(facts: DisputeFacts) -> Figures:
    """What a dispute summary may state; the customer's own words may be quoted, figures and all."""
    amounts: dict[str, Money] = {"the invoice total": facts.invoice_total, "the amount due": facts.amount_due}
    paid = facts.invoice_total - facts.amount_due
    if paid.amount > 0:
        amounts["the amount paid"] = paid
    dates = {"issued": facts.issue_date, "due": facts.due_date, "today": facts.today}
    for payment in facts.payments:
        amounts[f"the payment of {payment.date.isoformat()}"] = payment.amount
        dates[f"paid {payment.amount}"] = payment.date
    free_text = " ".join([facts.customer_message, *facts.notes])
    for i, named in enumerate(sorted(dates_in(free_text))):
        dates[f"named by the customer ({i + 1})"] = named
    given = small_numbers(free_text)
    days_overdue = abs((facts.today - facts.due_date).days)
    return Figures(
        currency=facts.amount_due.currency,
        amounts=amounts,
        dates=dates,
        invoice_numbers=(facts.invoice_number,),
        counts=frozenset({days_overdue, *given, *(d.year for d in dates.values())}),
        period_days=frozenset({days_overdue, (facts.due_date - facts.issue_date).days, *given}),
        given_numbers=frozenset(given),
        verbatim=(facts.company_name, facts.customer_name, *(p.reference for p in facts.payments if p.reference)),
        references=" ".join(p.reference for p in facts.payments),
        links_allowed_in=free_text,
        quotable=free_text,
        period_context=f"the invoice is {days_overdue} days past its due date",
    )


def line_figures(line: InvoiceLine, currency: str) -> Figures:
    """What one line's description may state: its own quantity, price and amount, and its own words."""
    quantity = line.quantity.normalize()
    counts = small_numbers(line.description)
    if quantity == quantity.to_integral():
        counts.add(int(quantity))
    named = dates_in(line.description)
    return Figures(
        currency=currency,
        amounts={
            "the unit price": Money.of(line.unit_price, currency),
            "the line amount": Money.of(line.amount, currency),
        },
        dates={f"in the line ({i + 1})": d for i, d in enumerate(sorted(named))},
        counts=frozenset(counts | {d.year for d in named}),
        given_numbers=frozenset(counts),
        verbatim=(line.description,),
        references=line.description,
        quotable=line.description,
    )


# --- reading the text by elimination -------------------------------------------------------------

MASK = "§"

_CURRENCY_CODES = (
    "USD EUR GBP CAD AUD NZD CHF JPY CNY INR SEK NOK DKK ISK PLN CZK HUF RON BGN ZAR MXN BRL SGD HKD "
    "AED SAR ILS TRY KRW THB MYR IDR PHP VND TWD BHD KWD OMR JOD TND LYD IQD NGN KES EGP COP CLP PEN ARS"
).split()
_THREE_DECIMALS = {"BHD", "KWD", "OMR", "JOD", "TND", "LYD", "IQD"}
_DOLLARS = {"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "TWD"}
_SYMBOLS: dict[str, set[str]] = {
    "US$": {"USD"},
    "CA$": {"CAD"},
    "C$": {"CAD"},
    "AU$": {"AUD"},
    "A$": {"AUD"},
    "NZ$": {"NZD"},
    "HK$": {"HKD"},
    "SG$": {"SGD"},
    "S$": {"SGD"},
    "R$": {"BRL"},
    "NT$": {"TWD"},
    "$": _DOLLARS,
    "€": {"EUR"},
    "£": {"GBP"},
    "¥": {"JPY", "CNY"},
    "₹": {"INR"},
    "₩": {"KRW"},
    "₺": {"TRY"},
    "₪": {"ILS"},
    "₱": {"PHP"},
    "zł": {"PLN"},
    "kr": {"SEK", "NOK", "DKK", "ISK"},
    "Fr.": {"CHF"},
    "dollar": _DOLLARS,
    "euro": {"EUR"},
    "pound": {"GBP"},
    "yen": {"JPY"},
}
_SYMBOL_ALT = "|".join(re.escape(s) for s in sorted(_SYMBOLS, key=len, reverse=True) if s.isascii() is False)
_ASCII_SYMBOL_ALT = r"(?:US|CA|C|AU|A|NZ|HK|SG|S|R|NT)?\$"
_CODE_ALT = "|".join(_CURRENCY_CODES)
_PREFIX = re.compile(rf"(?:(?P<sym>{_ASCII_SYMBOL_ALT}|{_SYMBOL_ALT})|\b(?P<code>{_CODE_ALT})|\b(?P<kr>kr|Fr)\.?)\s?\Z")
_SUFFIX = re.compile(
    rf"\s?(?:(?P<mult>k|K|m|M|bn|thousand|million|billion)\b\s?)?"
    rf"(?:(?P<sym>\$|{_SYMBOL_ALT})|\b(?P<code>{_CODE_ALT})\b|\b(?P<word>dollar|euro|pound|yen)s?\b"
    rf"|(?P<kr>kr|zł|Fr)\b)"
)
_MULTIPLIER = re.compile(r"\s?(?P<mult>k|K|thousand|million|billion|bn)\b")
_PERCENT = re.compile(r"\s?(?:%|percent\b|per\s+cent\b)")
_PERIOD = re.compile(
    r"[\s-]*(?:business\s+|working\s+|calendar\s+|full\s+)?(?P<unit>day|week|month|hour|year)s?\b", re.I
)
_ORDINAL = re.compile(r"(?:st|nd|rd|th)\b", re.I)
_NUMBER = re.compile(
    # grouped with spaces ("1 250,00"), or digits joined by , . ' and narrow/no-break spaces
    r"(?<![\d.,])(?:\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d+(?:[,.'\u00a0\u202f]\d+)*)"
)

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_DATE_ISO = re.compile(r"(?<![\d/.-])(?P<y>\d{4})([-/.])(?P<m>\d{1,2})\2(?P<d>\d{1,2})(?![\d/-]|\.\d)")
_DATE_NUMERIC = re.compile(r"(?<![\d/.-])(?P<a>\d{1,2})([-/.])(?P<b>\d{1,2})\2(?P<y>\d{4}|\d{2})(?![\d/-]|\.\d)")
_DATE_DAY_MONTH = re.compile(
    rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTH}\b\.?(?:,?\s+(?P<y>\d{{4}})\b)?", re.I
)
_DATE_MONTH_DAY = re.compile(
    rf"\b{_MONTH}\b\.?\s+(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}})\b)?", re.I
)
_DATE_MONTH_YEAR = re.compile(rf"\b{_MONTH}\b\.?,?\s+(?P<y>\d{{4}})\b", re.I)
_DATE_SHORT_NUMERIC = re.compile(r"(?<![\d/.-])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?![\d/])")
_DATE_DAY_ORDINAL = re.compile(
    r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)\b(?!\s+(?:and\s+final\s+|final\s+|formal\s+|written\s+)?"
    r"(?:reminders?|notices?|times?|attempts?|letters?|emails?|messages?|requests?|follow|contacts?))",
    re.I,
)
_ORDINAL_WORDS = {
    word: n
    for n, word in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
        "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split(),
        start=1,
    )
}
_ORDINAL_WORDS.update({f"twenty {w}": 20 + n for w, n in list(_ORDINAL_WORDS.items())[:9]})
_ORDINAL_WORDS.update({"thirtieth": 30, "thirty first": 31})
_ORDINAL_WORD = (
    r"(?P<dw>(?:twenty|thirty)[\s-](?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|"
    + "|".join(sorted((w for w in _ORDINAL_WORDS if " " not in w), key=len, reverse=True))
    + ")"
)
_DATE_WORD_DAY_MONTH = re.compile(rf"\b(?:the\s+)?{_ORDINAL_WORD}(?:\s+of)?\s+{_MONTH}\b\.?", re.I)
_DATE_MONTH_WORD_DAY = re.compile(rf"\b{_MONTH}\b\.?\s+(?:the\s+)?{_ORDINAL_WORD}\b", re.I)
# A month on its own ("by the end of April"); "May" only where it cannot be the verb.
_MONTH_ALONE = re.compile(
    r"\b(?P<month>January|February|March|April|June|July|August|September|October|November|December"
    r"|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.|(?<=in )May|(?<=of )May|(?<=by )May"
    r"|(?<=until )May|(?<=before )May|(?<=after )May)\b"
)
_WEEKDAY = re.compile(r"\b(?P<wd>mon|tues|wednes|thurs|fri|satur|sun)day\b", re.I)
_RELATIVE_DAY = re.compile(
    r"\b(?:tomorrow|the\s+day\s+after\s+tomorrow|(?:this|next|coming|following)\s+(?:week|weekend|month|quarter"
    r"|year)|(?:end|close)\s+of\s+(?:the\s+|this\s+|next\s+)?(?:day|week|month|quarter|year|business)"
    r"|fortnight|coming\s+days|EOD|COB)\b",
    re.I,
)

_INVOICE_AFTER_KEYWORD = re.compile(
    r"(?:\b(?:invoices?|bill)\b|\binv\.)\s*(?:number|no\.?|nr\.?|num\.?|#|ref(?:erence)?\.?)?\s*[:#]?\s*"
    r"(?P<token>[A-Za-z]{0,6}[-/]?\d[\w/-]*)",
    re.I,
)
_INVOICE_HASH = re.compile(r"#\s?(?P<token>[A-Za-z]{0,6}[-/]?\d[\w/-]*)")
_INVOICE_CODE = re.compile(r"\b(?P<token>[A-Z]{2,6}[-/]?\d[\w/-]*)")
_INVOICE_CODE_SPACED = re.compile(r"\b(?P<token>(?P<prefix>[A-Z]{2,6}) \d[\w/-]*)")

_QUOTED = re.compile(r"[\"“”„]([^\"“”„\n]{1,400})[\"“”]")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_NUMBER_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen" \
    r"|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety" \
    r"|hundred|thousand|million)"  # fmt: skip
_AMOUNT_IN_WORDS = re.compile(
    rf"\b{_NUMBER_WORD}(?:[\s-]+(?:and\s+)?{_NUMBER_WORD})*\s+(?:us\s+)?(?:dollars?|euros?|pounds?|cents?|"
    r"pence|francs?|krona|kronor|kroner|rupees?|yen)\b",
    re.I,
)
_PERIOD_IN_WORDS = re.compile(
    r"\b(?P<n>(?:twenty|thirty)(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?|a|an|one|two|"
    r"three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
    r"eighteen|nineteen|forty|fifty|sixty|ninety)\s+(?:more\s+|further\s+|additional\s+|extra\s+)?"
    r"(?:business\s+|working\s+|calendar\s+|full\s+)?(?P<unit>day|week|month)s?\b",
    re.I,
)


def dates_in(text: str) -> set[date]:
    """The unambiguous dates a free text names (ISO, "4 March 2026", "March 4, 2026"; "March 2026" as its 1st)."""
    found: set[date] = set()

    def add(year: str | None, month: int, day: str | int) -> None:
        if year:
            try:
                found.add(date(int(year), month, int(day)))
            except ValueError:
                pass

    for m in _DATE_ISO.finditer(text):
        add(m["y"], int(m["m"]), m["d"])
    for pattern in (_DATE_DAY_MONTH, _DATE_MONTH_DAY):
        for m in pattern.finditer(text):
            add(m["y"], _MONTHS[m["month"][:3].lower()], m["d"])
    for m in _DATE_MONTH_YEAR.finditer(text):
        add(m["y"], _MONTHS[m["month"][:3].lower()], 1)
    return found


def small_numbers(text: str) -> set[int]:
    """The one- to three-digit numbers in a free text (counts a draft may repeat)."""
    return {int(n) for n in re.findall(r"(?<![\d.,])\d{1,3}(?!\d)(?![.,]\d)", text)}


@dataclass
class _Reading:
    original: str
    view: Figures
    text: str = ""  # the text still to be explained; explained parts are masked
    wording: str = ""  # the text with verbatim facts (names, instructions) masked: for policy and tone
    violations: list[tuple[int, Violation]] = field(default_factory=list)
    amounts_named: set[str] = field(default_factory=set)  # roles of the amounts the text states
    invoice_number_named: bool = False

    def __post_init__(self) -> None:
        self.text = self.original

    @classmethod
    def of(cls, text: str, figures: Figures) -> _Reading:
        reading = cls(text, figures)
        reading.mask_verbatim_facts()
        reading.check_links()
        reading.mask_fact_tokens()
        reading.check_invoice_numbers()
        reading.check_dates()
        reading.check_amounts_in_words()
        reading.check_numbers()
        return reading

    def _flag(self, pos: int, kind: ViolationKind, detail: str) -> None:
        self.violations.append((pos, Violation(kind=kind, detail=detail)))

    def _sub(self, pattern: re.Pattern[str], judge: Callable[[re.Match[str]], bool]) -> None:
        """Mask every match `judge` accepts as explained (it flags what it must)."""

        def replace(match: re.Match[str]) -> str:
            return MASK * len(match.group(0)) if judge(match) else match.group(0)

        self.text = pattern.sub(replace, self.text)

    # facts that appear verbatim -------------------------------------------------------------------

    def mask_verbatim_facts(self) -> None:
        for phrase in sorted(self.view.verbatim, key=len, reverse=True):
            words = phrase.split()
            if not words:
                continue
            pattern = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", re.I)
            self._sub(pattern, lambda m: True)
        if self.view.quotable:
            quotable = re.sub(r"\s+", " ", self.view.quotable).lower()

            def quoted(match: re.Match[str]) -> bool:
                inner = re.sub(r"\s+", " ", match.group(1)).strip().lower()
                return bool(inner) and inner in quotable

            self._sub(_QUOTED, quoted)
        self.wording = self.text

    def mask_fact_tokens(self) -> None:
        self._mask_invoice_number()
        self._mask_payment_tokens()

    def _mask_invoice_number(self) -> None:
        for i, number in enumerate(n.strip() for n in self.view.invoice_numbers):
            if not number:
                continue
            # Not a piece of an amount or a date: invoice "16" is not named by "USD 1.16", "10" not by "2024-02-10".
            exact = re.compile(r"(?<![\w$€£¥])(?<!\d[.,/-])#?" + re.escape(number) + r"(?!\w)(?![-/.,]\w)", re.I)
            # named outside the payment instructions: a reference inside a link does not tell the customer
            if i == 0:
                self.invoice_number_named = bool(exact.search(self.text))
            self._sub(exact, lambda m: True)

    def _mask_payment_tokens(self) -> None:
        def payment_token(match: re.Match[str]) -> bool:
            token = match.group(0).strip(".,;:!?()[]\"'")
            if token.upper() in tokens:
                return True
            return len(token) >= 6 and self.view.in_references(token)

        tokens = self.view.reference_tokens
        if not tokens and not self.view.references.strip():
            return

        self._sub(re.compile(r"[^\s]*\d[^\s]*"), payment_token)

    # links and addresses ----------------------------------------------------------------------------

    def check_links(self) -> None:
        given = self.view.links_allowed_in.lower()

        def judge(match: re.Match[str]) -> bool:
            link = self.original[match.start() : match.end()].rstrip(".,;:!?")
            if link.lower() not in given:
                self._flag(
                    match.start(),
                    "forbidden_language",
                    f"gave a link or address ({link}) that is not in the payment instructions",
                )
            return True

        self._sub(_URL, judge)
        self._sub(_EMAIL, judge)

    # invoice numbers ---------------------------------------------------------------------------------

    def check_invoice_numbers(self) -> None:
        numbers = [n.strip() for n in self.view.invoice_numbers if n.strip()]
        number = " or ".join(numbers) or "(none given)"

        def judge(match: re.Match[str]) -> bool:
            token = match.group("token").rstrip("-/")
            for i, known in enumerate(numbers):
                digits = re.sub(r"\D", "", known)
                same_digits = token.isdigit() and digits and token.lstrip("0") == digits.lstrip("0")
                if same_digits or _same_identifier(token, known):  # "#1042", "INV 1042" for INV-1042
                    self.invoice_number_named = self.invoice_number_named or i == 0
                    return True
            if _is_date_like(token):
                return False  # "invoice 2026-03-04": the date check reads it
            if token.upper() in _CURRENCY_CODES or (token[:3].upper() in _CURRENCY_CODES and token[3:].isdigit()):
                return False  # "USD1250" is an amount
            if (match.groupdict().get("prefix") or "") in _CURRENCY_CODES:
                return False  # "USD 1250" is an amount
            self._flag(
                match.start(),
                "invoice_number",
                f"named invoice number {token} which is not invoice {number}",
            )
            return True

        for pattern in (_INVOICE_AFTER_KEYWORD, _INVOICE_HASH, _INVOICE_CODE, _INVOICE_CODE_SPACED):
            self._sub(pattern, judge)

    # dates ------------------------------------------------------------------------------------------

    def check_dates(self) -> None:
        self._sub(_DATE_ISO, lambda m: self._judge_date(m, int(m["y"]), [(int(m["m"]), int(m["d"]))]))
        self._sub(_DATE_NUMERIC, self._judge_numeric_date)
        self._sub(_DATE_DAY_MONTH, self._judge_named_month)
        self._sub(_DATE_MONTH_DAY, self._judge_named_month)
        self._sub(_DATE_MONTH_YEAR, self._judge_month_year)
        self._sub(_DATE_SHORT_NUMERIC, self._judge_numeric_date)
        self._sub(_DATE_DAY_ORDINAL, self._judge_day_of_month)
        self._sub(_DATE_WORD_DAY_MONTH, self._judge_named_month)
        self._sub(_DATE_MONTH_WORD_DAY, self._judge_named_month)
        self._sub(_MONTH_ALONE, self._judge_month_alone)
        self._sub(_WEEKDAY, self._judge_weekday)
        self._sub(_RELATIVE_DAY, self._judge_relative_day)

    def _judge_date(self, match: re.Match[str], year: int | None, readings: list[tuple[int, int]]) -> bool:
        raw = match.group(0).strip()
        valid = []
        for month, day in readings:
            try:
                valid.append(date(year or 2000, month, day))
            except ValueError:
                continue
        if not valid:
            self._flag(match.start(), "date", f"named {raw!r}, which is not a valid date")
            return True
        dates = self.view.dates.values()
        if year is None:
            ok = any((d.month, d.day) == (f.month, f.day) for d in valid for f in dates)
        else:
            ok = any(d in dates for d in valid)
        if not ok:
            self._flag(
                match.start(),
                "date",
                f"named date {raw} which is not one of the invoice's dates ({self.view.dates_phrase()})",
            )
        return True

    def _judge_numeric_date(self, match: re.Match[str]) -> bool:
        a, b = int(match["a"]), int(match["b"])
        year_text = match.groupdict().get("y")
        year = None if year_text is None else int(year_text) + (2000 if len(year_text) == 2 else 0)
        dmy, mdy = (b, a), (a, b)
        order = self.view.date_order
        if order == "DMY":
            readings = [dmy]
        elif order == "MDY":
            readings = [mdy]
        elif a <= 12 and b <= 12 and a != b:
            self._flag(
                match.start(),
                "date",
                f"wrote the date {match.group(0)} which reads two ways (day/month or month/day)",
            )
            return True
        else:
            readings = [dmy, mdy]
        return self._judge_date(match, year, readings)

    def _judge_named_month(self, match: re.Match[str]) -> bool:
        groups = match.groupdict()
        month = _MONTHS[match["month"][:3].lower()]
        year = int(groups["y"]) if groups.get("y") else None
        day = int(groups["d"]) if groups.get("d") else _ORDINAL_WORDS[re.sub(r"[\s-]+", " ", groups["dw"].lower())]
        return self._judge_date(match, year, [(month, day)])

    def _judge_month_alone(self, match: re.Match[str]) -> bool:
        month = _MONTHS[match["month"][:3].lower()]
        if all(d.month != month for d in self.view.dates.values()):
            self._flag(
                match.start(),
                "date",
                f"named the month {match['month']} which is not a month of the invoice's dates "
                f"({self.view.dates_phrase()})",
            )
        return True

    def _judge_month_year(self, match: re.Match[str]) -> bool:
        month, year = _MONTHS[match["month"][:3].lower()], int(match["y"])
        if all((d.year, d.month) != (year, month) for d in self.view.dates.values()):
            self._flag(
                match.start(),
                "date",
                f"named {match.group(0)} which is not a month of the invoice's dates ({self.view.dates_phrase()})",
            )
        return True

    def _judge_day_of_month(self, match: re.Match[str]) -> bool:
        day = int(match["d"])
        if all(d.day != day for d in self.view.dates.values()):
            self._flag(
                match.start(),
                "date",
                f"named the {match.group(0)} which is not a day of the invoice's dates ({self.view.dates_phrase()})",
            )
        return True

    def _judge_weekday(self, match: re.Match[str]) -> bool:
        weekday = [w[:3] for w in _WEEKDAYS].index(match["wd"][:3].lower())
        if all(d.weekday() != weekday for d in self.view.dates.values()):
            self._flag(
                match.start(),
                "date",
                f"named {match.group(0)} which is not the weekday of any of the invoice's dates "
                f"({self.view.dates_phrase()})",
            )
        return True

    def _judge_relative_day(self, match: re.Match[str]) -> bool:
        self._flag(match.start(), "date", f"set a date ({match.group(0)}) that is not in the facts")
        return True

    # amounts and every other number -----------------------------------------------------------------

    def check_amounts_in_words(self) -> None:
        def amount_in_words(match: re.Match[str]) -> bool:
            self._flag(
                match.start(),
                "amount",
                f"wrote an amount in words ({match.group(0)!r}) which cannot be checked against "
                f"{self.view.amounts_list()}",
            )
            return True

        self._sub(_AMOUNT_IN_WORDS, amount_in_words)
        self._sub(_PERIOD_IN_WORDS, self._judge_period_in_words)

    def _judge_period_in_words(self, match: re.Match[str]) -> bool:
        words = re.split(r"[\s-]+", match["n"].lower())
        n = sum(_NUMBER_WORDS[w] for w in words)
        self._judge_period(match.start(), match.group(0), n, match["unit"].lower())
        return True

    def _judge_period(self, pos: int, shown: str, n: int, unit: str) -> None:
        days = {"day": n, "week": n * 7}.get(unit)
        if days is not None and days in self.view.period_days:
            return
        if unit in ("month", "year") and n in self.view.given_numbers:
            return
        self._flag(
            pos,
            "date",
            f"named a period of {shown.strip(' -')} which is not in the facts"
            + (f" ({self.view.period_context})" if self.view.period_context else ""),
        )

    def check_numbers(self) -> None:
        for match in list(_NUMBER.finditer(self.text)):
            self._judge_number(match)

    def _judge_number(self, match: re.Match[str]) -> None:
        raw = match.group(0)
        start, end = match.span()
        prefix = _PREFIX.search(self.text, max(0, start - 6), start)
        suffix = _SUFFIX.match(self.text, end)
        currencies = _marker_currencies(prefix) | _marker_currencies(suffix)
        scaled = _MULTIPLIER.match(self.text, end)
        multiplier = _multiplier(scaled)
        if suffix and suffix["mult"]:
            multiplier = _multiplier(suffix)
        shown_end = suffix.end() if suffix else scaled.end() if scaled else end
        shown = self.original[prefix.start() if prefix else start : shown_end].strip()
        if _PERCENT.match(self.text, end):
            value = _decimal_or_none(raw.replace(",", "."))
            if value is None or value != value.to_integral() or int(value) not in self.view.counts:
                self._flag(start, "amount", f"named a rate {shown}% which is not one of the facts given")
            return
        grouped = not raw.isdigit()
        if not currencies and not grouped and multiplier == 1:
            self._judge_bare_number(match, int(raw))
            return
        self._judge_amount(start, raw, shown or raw, currencies, multiplier)

    def _judge_amount(self, pos: int, raw: str, shown: str, currencies: set[str], multiplier: int) -> None:
        currency = self.view.currency
        if currencies and currency not in currencies:
            named = "/".join(sorted(currencies))
            self._flag(pos, "amount", f"named amount {shown} in {named} but the invoice is in {currency}")
            return
        values = {v * multiplier for v in _readings(raw, currency)}
        matched = [role for role, money in self.view.amounts.items() if money.amount in values]
        self.amounts_named.update(matched)
        if not matched:
            self._flag(
                pos,
                "amount",
                f"named amount {raw if multiplier == 1 else shown} which {self.view.not_an_amount()}",
            )

    def _judge_bare_number(self, match: re.Match[str], n: int) -> None:
        end = match.end()
        period = _PERIOD.match(self.text, end)
        if period:
            shown = self.original[match.start() : period.end()]
            self._judge_period(match.start(), shown, n, period["unit"].lower())
            return
        ordinal = _ORDINAL.match(self.text, end)
        if ordinal:
            if n not in self.view.counts:
                self._flag(
                    match.start(),
                    "amount",
                    f"named {match.group(0)}{ordinal.group(0)} which is not one of the facts given",
                )
            return
        matched = [role for role, money in self.view.amounts.items() if money.amount == n]
        if matched:
            self.amounts_named.update(matched)
            return
        if n in self.view.counts:
            return
        if n >= 100:
            detail = f"named amount {n} which {self.view.not_an_amount()}"
        else:
            detail = f"named figure {n} which is not one of the facts given"
        self._flag(match.start(), "amount", detail)


def _same_identifier(token: str, number: str) -> bool:
    def norm(text: str) -> str:
        return re.sub(r"[\s#./-]", "", text).upper()

    return bool(number) and norm(token) == norm(number)


def _is_date_like(token: str) -> bool:
    return bool(_DATE_ISO.fullmatch(token) or _DATE_NUMERIC.fullmatch(token))


def _marker_currencies(match: re.Match[str] | None) -> set[str]:
    if match is None:
        return set()
    groups = match.groupdict()
    if groups.get("code"):
        return {groups["code"]}
    for name in ("sym", "word"):
        if groups.get(name):
            return _SYMBOLS.get(groups[name].lower() if name == "word" else groups[name], set())
    if groups.get("kr"):
        return _SYMBOLS["Fr." if groups["kr"] == "Fr" else groups["kr"]]
    return set()


def _multiplier(match: re.Match[str] | None) -> int:
    if match is None or not match.groupdict().get("mult"):
        return 1
    mult = match["mult"].lower()
    return {"k": 1000, "thousand": 1000, "m": 1_000_000, "million": 1_000_000}.get(mult, 1_000_000_000)


def _decimal_or_none(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _readings(raw: str, currency: str) -> set[Decimal]:
    """Every value a written number can mean in `currency`.

    1,250.00 and 1.250,00 mean 1250; 1,250 and 1.250 mean 1250 too, because a separator followed by
    exactly three digits is a decimal point only in a currency with three decimals (BHD, KWD...).
    """
    text = re.sub(r"[\s'\u00a0\u202f]", "", raw)
    seps = [ch for ch in text if ch in ",."]
    if not seps:
        values = [text]
    elif len(set(seps)) == 2:
        decimal_sep = text[max(text.rfind(","), text.rfind("."))]
        group_sep = "." if decimal_sep == "," else ","
        values = [text.replace(group_sep, "").replace(decimal_sep, ".")]
    elif len(seps) > 1:
        values = [text.replace(seps[0], "")]
    else:
        head, tail = text.split(seps[0])
        values = []
        if len(tail) == 3:
            values.append(head + tail)
        if len(tail) != 3 or currency in _THREE_DECIMALS:
            values.append(f"{head}.{tail}")
    return {v for v in (_decimal_or_none(v) for v in values) if v is not None}


# --- policy: what the level allows the message to offer or threaten ------------------------------


@dataclass(frozen=True)
class _Offer:
    name: str
    flag: str  # the ReminderFacts field that allows it
    pattern: re.Pattern[str]


_OFFERS = (
    _Offer(
        "a discount",
        "allow_discount",
        re.compile(
            r"\b(?:discount\w*|rebate\w*|special\s+offer|money\s+off|\d+\s?%\s+off|knock\w*\s+\w+\s+off"
            r"|reduc(?:e|ed|ing|tion)\s+(?:in\s+|of\s+)?(?:the\s+|your\s+)?(?:amount|balance|price|total|invoice|fee)"
            r"|lower(?:ed|ing)?\s+(?:the\s+|your\s+)?(?:amount|balance|price|total)|negotiat\w*|settle\s+for"
            r"|accept\s+(?:a\s+)?(?:lower|reduced|smaller)\s+(?:amount|sum|payment|figure))\b",
            re.I,
        ),
    ),
    _Offer(
        "a waiver",
        "allow_waiver",
        re.compile(
            r"\b(?:waiv\w*|write\s+off|writ(?:e|ing)\s+(?:it|this|the\s+\w+)\s+off|written\s+off|forgiv\w*"
            r"|cancel\w*\s+(?:the\s+|this\s+|your\s+)?(?:invoice|debt|balance|amount|charge)"
            r"|no\s+(?:longer\s+)?need\s+to\s+pay|(?:do\s+not|don't)\s+(?:need|have)\s+to\s+pay"
            r"|free\s+of\s+charge|at\s+no\s+(?:extra\s+)?(?:cost|charge)|refund\w*|credit\s+note)\b",
            re.I,
        ),
    ),
    _Offer(
        "a payment plan",
        "allow_payment_plan",
        re.compile(
            r"\b(?:payment\s+plans?|instal{1,2}ments?|payment\s+(?:arrangement|schedule)s?|pay\s+in\s+(?:parts"
            r"|stages|portions|instal{1,2}ments)|spread\w*\s+(?:out\s+)?(?:the\s+|your\s+)?(?:payments?|cost"
            r"|balance|amount)|split\w*\s+(?:the\s+|your\s+|it\s+)?(?:payments?|balance|amount|invoice|bill)"
            r"|pay\s+what\s+you\s+can|flexib\w+\s+(?:payment|terms|arrangement)s?|partial\s+payments?|extensions?|extend\w*\s+(?:the\s+|your\s+)?(?:due\s+date"
            r"|deadline|terms|payment)|grace\s+period|defer\w*|postpon\w*)\b",
            re.I,
        ),
    ),
    _Offer(
        "late fees or interest",
        "allow_late_fee_mention",
        re.compile(
            r"\b(?:late[\s-]+(?:payment\s+)?(?:fees?|charges?|interest|penalt\w+)|interest\s+(?:charges?|will"
            r"|at|on|accru\w*)|statutory\s+interest|penalt(?:y|ies)|surcharges?|additional\s+(?:fees?"
            r"|charges?))\b",
            re.I,
        ),
    ),
    _Offer(
        "legal action",
        "allow_legal_mention",
        re.compile(
            r"\b(?:legal\s+(?:action|proceedings?|steps|measures|recourse|remedies|team|department)"
            r"|lawyers?|attorneys?|solicitors?|courts?|sue|suing|lawsuits?|litigation|bailiffs?"
            r"|judge?ments?|small\s+claims|credit\s+(?:bureaus?|reference\s+agenc\w+|rating\s+agenc\w+)"
            r"|report\s+(?:you|this|your\s+account)\s+to|debt\s+recovery|enforcement\s+(?:action|agents?|officers?)"
            r"|tribunal|legal\s+counsel)\b",
            re.I,
        ),
    ),
)


def _allowed_offers(facts: ReminderFacts) -> set[str]:
    return {offer.flag for offer in _OFFERS if getattr(facts, offer.flag)}


def _offer_violations(wording: str, allowed: set[str], level: int | None) -> Iterable[tuple[int, Violation]]:
    for offer in _OFFERS:
        if offer.flag in allowed:
            continue
        for match in offer.pattern.finditer(wording):
            whose = f"the policy for level {level}" if level is not None else "the policy"
            yield (
                match.start(),
                Violation(
                    kind="forbidden_language",
                    detail=f"mentioned {offer.name} ({match.group(0)!r}) which {whose} does not allow",
                ),
            )


# --- tone -----------------------------------------------------------------------------------------

_THREATS = re.compile(
    r"\b(?:final\s+(?:notice|reminder|warning|demand)|last\s+(?:reminder|notice|chance|warning)"
    r"|collections?(?:\s+agency|\s+team)?|debt\s+collect\w*|legal\w*|consequences|failure\s+to\s+pay"
    r"|suspen\w+|terminat\w+|escalat\w+|immediately|without\s+(?:further\s+)?delay|demand\w*"
    r"|must\s+pay|urgent\w*|overdue\s+account\s+will|further\s+action)\b",
    re.I,
)
_FINALITY = re.compile(
    r"\b(?:final\s+(?:notice|reminder|warning|demand)|last\s+(?:reminder|notice|chance|warning)"
    r"|collections?(?:\s+agency|\s+team)?|debt\s+collect\w*)\b",
    re.I,
)
_CASUAL = re.compile(
    r"\b(?:no\s+(?:rush|hurry|worries|pressure|problem)|whenever\s+(?:you\s+(?:can|get|have)|it\s+suits)"
    r"|at\s+your\s+(?:earliest\s+)?convenience|take\s+your\s+time|in\s+your\s+own\s+time|just\s+a\s+friendly)\b",
    re.I,
)
_SHOUTING = re.compile(r"\b(?:[A-Z]{3,}\b[\s,.!]+){2,}[A-Z]{3,}\b|!{2,}")


def _tone_violations(wording: str, facts: ReminderFacts) -> Iterable[tuple[int, Violation]]:
    def flag(match: re.Match[str], what: str) -> tuple[int, Violation]:
        return match.start(), Violation(
            kind="tone", detail=f"{what} ({match.group(0)!r}) in a {facts.tone} reminder (level {facts.level})"
        )

    if facts.tone == "friendly":
        for match in _THREATS.finditer(wording):
            yield flag(match, "used threatening language")
    elif facts.tone == "firm":
        for match in _FINALITY.finditer(wording):
            yield flag(match, "threatened what only a final reminder may")
    if facts.tone in ("firm", "final"):
        for match in _CASUAL.finditer(wording):
            yield flag(match, "played down the urgency")
    codes = set(_CURRENCY_CODES)
    for match in _SHOUTING.finditer(wording):
        words = set(re.findall(r"[A-Z]{3,}", match.group(0)))
        if not words or not words <= codes:
            yield flag(match, "shouted")


# --- required elements and length ------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\[[^\]\n]{1,60}\]|\{\{?\s*[A-Za-z_][\w ]{0,40}\}?\}|<[A-Za-z][A-Za-z _-]{0,40}>")


def _missing_elements(text: str, reading: _Reading, facts: ReminderFacts) -> Iterable[Violation]:
    if "the amount due" not in reading.amounts_named:
        yield Violation(kind="missing_element", detail=f"did not state the amount due {facts.amount_due}")
    if not reading.invoice_number_named:
        yield Violation(kind="missing_element", detail=f"did not state the invoice number {facts.invoice_number}")
    if not _states_how_to_pay(text, facts.how_to_pay):
        yield Violation(kind="missing_element", detail=f"did not say how to pay (expected: {facts.how_to_pay!r})")
    for match in _PLACEHOLDER.finditer(text):
        yield Violation(kind="missing_element", detail=f"left the placeholder {match.group(0)!r} unfilled")


def _states_how_to_pay(text: str, how_to_pay: str) -> bool:
    """The payment route must be usable: its links, addresses and account numbers, or its words."""
    compact = re.sub(r"\s+", "", text).lower()
    keys = [m.group(0).rstrip(".,;:!?").lower() for m in _URL.finditer(how_to_pay)]
    keys += [m.group(0).lower() for m in _EMAIL.finditer(how_to_pay)]
    keys += [
        token.lower()
        for token in (t.strip(".,;:!?()[]\"'") for t in how_to_pay.split())
        if len(token) >= 4 and any(ch.isdigit() for ch in token) and not _URL.search(token) and not _EMAIL.search(token)
    ]
    if keys:
        return all(re.sub(r"\s+", "", key) in compact for key in keys)
    words = re.sub(r"\s+", " ", how_to_pay).strip().lower()
    return not words or words.rstrip(".") in re.sub(r"\s+", " ", text).lower()


def _length_violations(subject: str, body: str) -> Iterable[Violation]:
    if not subject.strip():
        yield Violation(kind="length", detail="has an empty subject")
    elif "\n" in subject.strip():
        yield Violation(kind="length", detail="has a subject of more than one line")
    if len(subject) > SUBJECT_MAX_CHARS:
        yield Violation(kind="length", detail=f"has a subject of {len(subject)} characters, over {SUBJECT_MAX_CHARS}")
    body_chars = len(body.strip())
    if body_chars < BODY_MIN_CHARS:
        yield Violation(kind="length", detail=f"has a body of {body_chars} characters, under {BODY_MIN_CHARS}")
    if body_chars > BODY_MAX_CHARS:
        yield Violation(kind="length", detail=f"has a body of {body_chars} characters, over {BODY_MAX_CHARS}")
