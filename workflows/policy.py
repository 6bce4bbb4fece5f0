"""The collections policy the business writes: ladders by segment, approvals, send days, holidays, quiet periods.

Pure pydantic models and rules for workflow code: no I/O, no clock reads. A policy's ladder converts to the
`DunningLadder` the invoice lifecycle already uses, so there is one ladder vocabulary. Reading the file and
pointing at the line of each problem live in `activities/policy.py`; what the workflow calls is here:
`ladder_for`, `closed_days`, `calendar_for`, `needs_human`, `quiet_until`, `digest`.

Every check that needs more than one field (levels in order, known default ladder, overlapping quiet
periods, a send window that ends after it starts...) is a `Problem` with the place it concerns, so
`duecourse policy check` can name the line; building a `Policy` with any of them fails.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import date, time, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import pairwise
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, Literal

import holidays
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, model_validator
from temporalio import workflow

from workflows.calendar import SendWindow
from workflows.dunning import DEFAULT_LADDER, DunningLadder, DunningLevel, Tone
from workflows.dunning import reminder_needs_approval as _builtin_needs_approval
from workflows.fee_policy import Fees

if TYPE_CHECKING:
    from adapters.ledger import Customer

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Validation context key: structure only; the caller collects `Policy.problems()` itself (with their places).
DEFER_CHECKS = "defer_policy_checks"
Loc = tuple[str | int, ...]


class Problem(BaseModel):
    """A logic problem in a policy: where (the path of keys in the file) and what is wrong."""

    model_config = ConfigDict(frozen=True)

    loc: Loc
    message: str


def _weekday(value: Any) -> Any:
    """"Monday", "MON" and "mon" are the same day."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        for day, full in zip(WEEKDAYS, _FULL_WEEKDAYS, strict=True):
            if lowered in (day, full):
                return day
    return value


def _clock_time(value: Any) -> Any:
    """A time of day is written "09:00" (or a TOML time); a bare 9 would read as nine seconds past midnight."""
    if isinstance(value, bool | int | float | Decimal):
        raise ValueError(f'write a time of day as "HH:MM" (e.g. "09:00"), got {value!r}')
    return value


def _reminders(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("all", "none"):
        return value.strip().lower()
    if isinstance(value, list | tuple):
        return value
    raise ValueError(f'reminders is "all", "none" or a list of reminder numbers such as [1, 3]; got {value!r}')


def _country(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


Day = Annotated[Weekday, BeforeValidator(_weekday)]
ClockTime = Annotated[time, BeforeValidator(_clock_time)]
Country = Annotated[str, BeforeValidator(_country), Field(min_length=2)]
Amount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Currency = Annotated[str, BeforeValidator(_country), Field(pattern=r"^[A-Z]{3}$")]


def known_country(code: str) -> bool:
    """ISO 3166 alpha-2 ("GB"), or a region the holidays package knows ("GB-ENG", "US-CA")."""
    country, _, region = code.partition("-")
    return len(country) == 2 and country in _supported() and (not region or region in _supported()[country])


@lru_cache(maxsize=1)
def _supported() -> Mapping[str, frozenset[str]]:
    # A policy is validated inside the workflow sandbox too (it arrives from an activity); the list is fixed
    # for an install, like the calendars in workflows.calendar.
    with workflow.unsafe.sandbox_unrestricted():
        listed = holidays.list_supported_countries()
    return MappingProxyType({code: frozenset(regions) for code, regions in listed.items()})


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PolicyLevel(_Strict):
    """One reminder, `days` from the due date (negative: before it)."""

    days: int
    tone: Tone
    approval: bool = False  # this level always waits for a human, whatever its reminder number


class Segment(_Strict):
    """Which customers a ladder is for. Every criterion given must hold; a list holds when any item does."""

    tags: tuple[str, ...] = ()  # any of the customer's tags (case does not matter)
    customers: tuple[str, ...] = ()  # these customer ids
    countries: tuple[Country, ...] = ()
    currency: Currency | None = None
    balance_at_least: Amount | None = None  # in `currency`
    balance_below: Amount | None = None
    terms_days_at_least: int | None = Field(default=None, ge=0)
    terms_days_at_most: int | None = Field(default=None, ge=0)

    def matches(self, tags: frozenset[str], customer_id: str, country: str, currency: str, balance: Decimal,
                terms_days: int) -> bool:
        checks = (
            not self.tags or bool(tags & {tag.casefold() for tag in self.tags}),
            not self.customers or customer_id in self.customers,
            not self.countries or country in self.countries or country.partition("-")[0] in self.countries,
            self.currency is None or currency == self.currency,
            self.balance_at_least is None or balance >= self.balance_at_least,
            self.balance_below is None or balance < self.balance_below,
            self.terms_days_at_least is None or terms_days >= self.terms_days_at_least,
            self.terms_days_at_most is None or terms_days <= self.terms_days_at_most,
        )
        return all(checks)

    def problems(self) -> Iterator[Problem]:
        given = self.model_dump(exclude_defaults=True)
        if not given:
            yield Problem(loc=(), message="a `match` with no criteria matches every customer; leave it out and "
                                          "name the ladder as `default_ladder` instead")
        for n, code in enumerate(self.countries):
            if not known_country(code):
                yield Problem(loc=("countries", n), message=f"unknown country code {code!r} (ISO 3166, e.g. US, GB)")
        if (self.balance_at_least is not None or self.balance_below is not None) and self.currency is None:
            key = "balance_at_least" if self.balance_at_least is not None else "balance_below"
            yield Problem(loc=(key,), message="a balance range needs the `currency` it is in (e.g. currency = \"USD\")")
        if (self.balance_at_least is not None and self.balance_below is not None
                and self.balance_below <= self.balance_at_least):
            yield Problem(loc=("balance_below",), message=f"balance_below {self.balance_below} must be above "
                                                          f"balance_at_least {self.balance_at_least}")
        if (self.terms_days_at_least is not None and self.terms_days_at_most is not None
                and self.terms_days_at_most < self.terms_days_at_least):
            yield Problem(loc=("terms_days_at_most",), message=f"terms_days_at_most {self.terms_days_at_most} is "
                                                               f"below terms_days_at_least {self.terms_days_at_least}")


class PolicyLadder(_Strict):
    levels: tuple[PolicyLevel, ...]
    escalate_after_days: int = Field(default=7, ge=0)
    match: Segment | None = None  # None: only ever used as the default ladder

    def problems(self) -> Iterator[Problem]:
        if not self.levels:
            yield Problem(loc=("levels",), message="a ladder needs at least one level")
        for n, (before, after) in enumerate(pairwise(self.levels), start=1):
            if after.days <= before.days:
                yield Problem(loc=("levels", n, "days"),
                              message=f"level days must strictly increase: level {n + 1} ({after.days:+d}) does "
                                      f"not come after level {n} ({before.days:+d})")
        if self.match is not None:
            for problem in self.match.problems():
                yield Problem(loc=("match", *problem.loc), message=problem.message)


class PolicySendWindow(_Strict):
    """Customer-local hours a reminder may go out: `start` inclusive, `end` exclusive."""

    start: ClockTime = time(9, 0)
    end: ClockTime = time(17, 0)

    def problems(self) -> Iterator[Problem]:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            yield Problem(loc=("start",), message="send window times are customer-local; give them without a zone")
        elif not self.start < self.end:
            yield Problem(loc=("end",), message=f"the send window must end after it starts ({self.start:%H:%M} to "
                                                f"{self.end:%H:%M})")

    def send_window(self) -> SendWindow:
        return SendWindow(start=self.start, end=self.end)


class CountryHolidays(_Strict):
    """One country's days off: which `holidays` calendar applies (default: the country's own) and extra dates."""

    calendar: Country | None = None  # e.g. "GB-ENG" for England's bank holidays
    extra: tuple[date, ...] = ()


class Approval(_Strict):
    """Which reminders (by number: 1 is the first sent for an invoice) wait for a human."""

    reminders: Annotated[Literal["all", "none"] | tuple[Annotated[int, Field(ge=1)], ...],
                         BeforeValidator(_reminders)] = "all"
    except_reminders: tuple[Annotated[int, Field(ge=1)], ...] = (2,)  # with "all": these go out on their own
    # A new invoice (from a quote or time) over this total, in its own currency, waits for a human.
    invoices_over: Amount = Decimal("5000")

    def needs_human(self, reminder_number: int) -> bool:
        if self.reminders == "all":
            return reminder_number not in self.except_reminders
        if self.reminders == "none":
            return False
        return reminder_number in self.reminders

    def problems(self) -> Iterator[Problem]:
        # Against the default, not `model_fields_set`: a policy read back from its own dump (a workflow's
        # state, an activity's answer) carries the default and must validate again.
        if self.reminders != "all" and self.except_reminders != Approval.model_fields["except_reminders"].default:
            yield Problem(loc=("except_reminders",), message='except_reminders only applies with reminders = "all"')


class Billing(_Strict):
    """How billable time becomes invoices: one invoice per customer and `period` (its ISO week or its month)."""

    period: Literal["weekly", "monthly"] = "weekly"


class Statements(_Strict):
    """Customer statements (issue 11): how they go out, and on which day of the month the last month's go.

    `shadow`: computed and audited, never sent; `draft`: each waits for a person (a `statement` item);
    `auto`: sent. Days 1-28 only, so every month has the day."""

    mode: Literal["shadow", "draft", "auto"] = "draft"
    day_of_month: int = Field(default=1, ge=1, le=28)


class QuietPeriod(_Strict):
    """No reminders from `start` to `end`, both inclusive (year end, a move of offices)."""

    name: str = ""
    start: date
    end: date

    @property
    def label(self) -> str:
        return self.name or f"{self.start.isoformat()}..{self.end.isoformat()}"


class Policy(_Strict):
    minimum_balance: Amount = Decimal("1.00")  # below this balance no reminder goes out (any currency)
    minimum_balance_by_currency: dict[Currency, Amount] = Field(default_factory=dict)
    send_window: PolicySendWindow = PolicySendWindow()
    business_days: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri")
    holidays: dict[Country, CountryHolidays] = Field(default_factory=dict)
    closures: tuple[date, ...] = ()  # company closure days, in every country
    approval: Approval = Approval()
    quiet_periods: tuple[QuietPeriod, ...] = ()
    billing: Billing = Billing()
    # Tried in order, first match wins; a customer no ladder matches gets `default_ladder`.
    ladders: dict[str, PolicyLadder]
    default_ladder: str = "default"
    statements: Statements = Statements()
    fees: Fees = Fees()  # late fees and statutory interest (issue 12); workflows/fee_policy.py

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Policy:
        if isinstance(info.context, dict) and info.context.get(DEFER_CHECKS):
            return self
        problems = list(self.problems())
        if problems:
            raise ValueError("; ".join(f"{'.'.join(map(str, p.loc)) or 'policy'}: {p.message}" for p in problems))
        return self

    def problems(self) -> Iterator[Problem]:
        """Every logic problem, each with the path of keys it concerns."""
        for name, ladder in self.ladders.items():
            for problem in ladder.problems():
                yield Problem(loc=("ladders", name, *problem.loc), message=problem.message)
            if ladder.match is None and name != self.default_ladder:
                yield Problem(loc=("ladders", name), message=f"ladder {name!r} has no `match` and is not the "
                                                             "default_ladder: no customer would ever get it")
        if self.default_ladder not in self.ladders:
            known = ", ".join(repr(name) for name in self.ladders) or "none"
            yield Problem(loc=("default_ladder",), message=f"default_ladder {self.default_ladder!r} names no "
                                                           f"ladder (the ladders are: {known}; name one of them)")
        for problem in self.send_window.problems():
            yield Problem(loc=("send_window", *problem.loc), message=problem.message)
        if not self.business_days:
            yield Problem(loc=("business_days",), message="at least one business day is needed")
        if len(set(self.business_days)) != len(self.business_days):
            yield Problem(loc=("business_days",), message="each business day once")
        for problem in self.approval.problems():
            yield Problem(loc=("approval", *problem.loc), message=problem.message)
        for fee_problem in self.fees.problems():
            yield Problem(loc=("fees", *fee_problem.loc), message=fee_problem.message)
        for name in self.fees.ladders:
            if name not in self.ladders:
                yield Problem(loc=("fees", "ladders", name), message=f"fees for ladder {name!r}, but the policy has "
                                                                     "no ladder of that name")
        yield from self._calendar_problems()
        yield from self._quiet_problems()

    def _calendar_problems(self) -> Iterator[Problem]:
        for code, days_off in self.holidays.items():
            if not known_country(code):
                yield Problem(loc=("holidays", code), message=f"unknown country code {code!r} (ISO 3166, e.g. US, GB)")
            calendar = days_off.calendar
            if calendar is not None and not known_country(calendar):
                yield Problem(loc=("holidays", code, "calendar"),
                              message=f"the holidays package has no calendar {calendar!r} (e.g. US, GB-ENG, US-CA)")

    def _quiet_problems(self) -> Iterator[Problem]:
        for n, period in enumerate(self.quiet_periods):
            if period.end < period.start:
                yield Problem(loc=("quiet_periods", n, "end"),
                              message=f"quiet period {period.label!r} ends before it starts")
        ordered = sorted((item for item in enumerate(self.quiet_periods) if item[1].start <= item[1].end),
                         key=lambda item: (item[1].start, item[0]))
        reach: QuietPeriod | None = None  # of the periods so far, the one that ends last
        for n, period in ordered:
            if reach is not None and period.start <= reach.end:
                yield Problem(loc=("quiet_periods", n, "start"),
                              message=f"quiet period {period.label!r} overlaps {reach.label!r} "
                                      f"({reach.start.isoformat()} to {reach.end.isoformat()}); merge them")
            if reach is None or period.end > reach.end:
                reach = period

    # --- what the lifecycle asks --------------------------------------------------------------------

    def ladder_for(self, customer: Customer, balance: Decimal) -> DunningLadder:
        """The first ladder whose `match` takes the customer (file order), else the default ladder; the
        minimum balance is the one for the customer's currency."""
        tags = frozenset(tag.casefold() for tag in customer.tags)
        country = customer.country.strip().upper()
        for name, ladder in self.ladders.items():
            if ladder.match is not None and ladder.match.matches(
                    tags, customer.id, country, customer.currency, balance, customer.terms_days):
                return self.dunning_ladder(name, customer.currency)
        return self.dunning_ladder(None, customer.currency)

    def dunning_ladder(self, name: str | None = None, currency: str | None = None) -> DunningLadder:
        """The named ladder (else the default) as the lifecycle's `DunningLadder`; refuses a bad ladder."""
        key = name or self.default_ladder
        if key not in self.ladders:
            raise ValueError(f"the policy has no ladder named {key!r}")
        ladder = self.ladders[key]
        minimum = self.minimum_balance_by_currency.get((currency or "").upper(), self.minimum_balance)
        return DunningLadder(
            name=key,
            levels=tuple(DunningLevel(level=n, offset_days=level.days, tone=level.tone)
                         for n, level in enumerate(ladder.levels, start=1)),
            minimum_balance=minimum, send_window=self.send_window.send_window(),
            escalate_after_days=ladder.escalate_after_days,
            business_days=tuple(sorted({WEEKDAYS.index(day) for day in self.business_days})),
        )

    def closed_days(self, country: str) -> frozenset[date]:
        """The extra holidays of `country` (a region such as "GB-ENG" also gets its country's) and the
        company's closure days: pass them as `extra_holidays` to `next_step`."""
        code = country.strip().upper()
        days = set(self.closures)
        for key in dict.fromkeys((code.partition("-")[0], code)):
            if key in self.holidays:
                days.update(self.holidays[key].extra)
        return frozenset(days)

    def calendar_for(self, country: str) -> str:
        """Which public-holiday calendar to pass as `country` to `next_step`: the policy's choice for that
        country ("GB" -> "GB-ENG"), else the customer's country itself."""
        code = country.strip().upper()
        chosen = self.holidays.get(code) or self.holidays.get(code.partition("-")[0])
        return chosen.calendar if chosen is not None and chosen.calendar else code

    def needs_human(self, reminder_number: int, level: DunningLevel, ladder: DunningLadder) -> bool:
        """Whether this reminder waits for a human: its level says so, or its number is listed."""
        if reminder_number < 1:
            raise ValueError(f"reminder numbers start at 1, got {reminder_number}")
        rungs = self.ladders[ladder.name].levels if ladder.name in self.ladders else ()
        if 1 <= level.level <= len(rungs) and rungs[level.level - 1].approval:
            return True
        return self.approval.needs_human(reminder_number)

    def quiet_until(self, day: date) -> date | None:
        """Inside a quiet period: the first day after it (after back-to-back periods, after the last); else None."""
        until: date | None = None
        moved = True
        while moved:
            moved = False
            probe = until or day
            for period in self.quiet_periods:
                if period.start <= probe <= period.end:
                    until, moved = period.end + timedelta(days=1), True
        return until

    def digest(self) -> str:
        """A stable hash of the content: the same policy gives the same digest on every machine and run.
        Ladder order is part of it (first match wins); comments and key order in the file are not."""
        # A policy without fees keeps the digest it had before `[fees]` existed: running lifecycles see no change.
        dumped = self.model_dump(mode="json", exclude={"fees"} if self.fees == Fees() else None)
        canonical = json.dumps(dumped, separators=(",", ":"), ensure_ascii=True)
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def shared_policy(policy: Policy) -> Policy:
    """One instance per policy content, for every lifecycle in this worker to share (a policy is frozen):
    ten thousand sleeping lifecycles hold one policy, not ten thousand copies."""
    return _canonical_policy(policy.digest(), policy.model_dump_json())


@lru_cache(maxsize=16)
def _canonical_policy(digest: str, dumped: str) -> Policy:
    return Policy.model_validate_json(dumped)


class PolicyRead(BaseModel):
    """What `read_policy` answers: the current digest, and the policy when it differs from the one known."""

    model_config = ConfigDict(frozen=True)

    digest: str
    policy: Policy | None = None


def default_policy() -> Policy:
    """Today's behaviour as a policy: the built-in ladder, every reminder but the 2nd waits for a human,
    Monday to Friday 09:00-17:00, no closures and no quiet periods."""
    policy = Policy(
        minimum_balance=DEFAULT_LADDER.minimum_balance,
        send_window=PolicySendWindow(start=DEFAULT_LADDER.send_window.start, end=DEFAULT_LADDER.send_window.end),
        ladders={"default": PolicyLadder(
            levels=tuple(PolicyLevel(days=level.offset_days, tone=level.tone) for level in DEFAULT_LADDER.levels),
            escalate_after_days=DEFAULT_LADDER.escalate_after_days)},
    )
    # The built-in rule and the policy's default must say the same for every reminder number.
    if any(policy.approval.needs_human(n) != _builtin_needs_approval(n) for n in range(1, 20)):
        raise RuntimeError("the default approval rule drifted from workflows.dunning.reminder_needs_approval")
    return policy


__all__ = [
    "DEFER_CHECKS", "Approval", "Billing", "CountryHolidays", "Policy", "PolicyLadder", "PolicyLevel", "PolicyRead",
    "PolicySendWindow", "Problem", "QuietPeriod", "Segment", "Statements", "default_policy", "known_country",
]
