"""What one language contributes to reading replies: the phrases of each kind (cues) and the words that
quoting, negation and dates are made of. Every pattern is written against folded text (`plain_text.fold`):
lower case, no accents, straight apostrophes, single spaces.

A cue has a strength: STRONG for a phrase that says the kind outright ("we have paid", "out of the office"),
MEDIUM for one that usually means it, WEAK for a bare word. `negatable=False` marks a cue that already holds
its own negation ("haven't received the invoice") or is meaningful whatever precedes it. A role marks a cue
whose meaning changes a decision (`classify.decide`): `partial` (part paid: a promise for the rest wins),
`delay` (a delivery delay, not a bounce), `forwarded` (passed on internally: a wrong contact only when the
reply names the right address).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from activities.replies.model import Kind

STRONG = 0.9
MEDIUM = 0.75
WEAK = 0.55

Role = Literal["", "partial", "delay", "forwarded"]
# A period a date names, and its shift from the current one: "month_end" (the end of a month: "end of next
# month"), "week_end" (a week's Friday), "month"/"week" (the period itself: "next week" as a promise runs to its
# Friday), "vague" (names no day: "soon", "last week").
Period = tuple[Literal["month_end", "week_end", "month", "week", "vague"], int]


@dataclass(frozen=True, slots=True)
class Cue:
    kind: Kind
    strength: float
    pattern: re.Pattern[str]
    language: str
    negatable: bool = True
    role: Role = ""


@dataclass(frozen=True, slots=True)
class Phrase:
    """A cue before its language is known (what a language file writes)."""

    kind: Kind
    strength: float
    pattern: str
    negatable: bool = True
    role: Role = ""


def phrase(kind: Kind, strength: float, pattern: str, *, negatable: bool = True, role: Role = "") -> Phrase:
    return Phrase(kind, strength, pattern, negatable, role)


def compile_cues(language: str, phrases: Sequence[Phrase]) -> tuple[Cue, ...]:
    return tuple(Cue(p.kind, p.strength, re.compile(p.pattern), language, p.negatable, p.role) for p in phrases)


@dataclass(frozen=True)
class Language:
    code: str
    cues: Sequence[Phrase]
    # Cues read in the subject line only (auto-reply and bounce subjects, "STOP").
    subject_cues: Sequence[Phrase] = ()
    # Common words that tell the language apart (for numeric date order and words that mean different
    # things in different languages, like "hier").
    stopwords: frozenset[str] = frozenset()
    negations: Sequence[str] = ()  # words that negate what follows ("not", "nicht", "pas")
    post_negations: Sequence[str] = ()  # words that negate the verb before them ("wir zahlen nicht")
    clause_breaks: Sequence[str] = ()  # "but", "aber": a negation before them does not reach past them
    conditions: Sequence[str] = ()  # a promise made on a condition the creditor must meet ("once you fix ...")
    # Words that put what follows in a hypothetical ("until it is paid", "not sure whether it was paid"): a
    # payment spoken of that way was not made.
    hypothetical: Sequence[str] = ()
    remainder: Sequence[str] = ()  # "the rest", "the balance": what a promise after a part payment is for
    # --- dates ---
    months: Mapping[str, int] = field(default_factory=dict)  # full names and safe abbreviations
    weekdays: Mapping[str, int] = field(default_factory=dict)  # Monday = 0
    numbers: Mapping[str, int] = field(default_factory=dict)  # "two", "zwei", "deux"
    day_words: Mapping[str, int] = field(default_factory=dict)  # "tomorrow": 1, "yesterday": -1
    next_words: Sequence[str] = ()
    last_words: Sequence[str] = ()
    this_words: Sequence[str] = ()
    units: Mapping[str, Literal["day", "business_day", "week", "month"]] = field(default_factory=dict)
    within: Sequence[str] = ()  # "in", "within": "in 2 weeks"
    ago_before: Sequence[str] = ()  # "vor", "il y a", "hace": "vor 2 Tagen"
    ago_after: Sequence[str] = ()  # "ago", "geleden", "fa": "2 days ago"
    periods: Mapping[str, Period] = field(default_factory=dict)  # "end of the month": ("month_end", 0)
    month_end_words: Sequence[str] = ()  # "end of": "end of March"
    month_mid_words: Sequence[str] = ()  # "mid": "mid-March"
    day_of_month: Sequence[str] = ()  # patterns with a (?P<day>) group: "the 3rd", "am 3.", "le 3"
    until_words: Sequence[str] = ()  # out of office "until X": back on X
    through_words: Sequence[str] = ()  # out of office "through X" / "bis einschließlich X": back the day after
    return_words: Sequence[str] = ()  # "back on", "returning", "wieder erreichbar"
    range_words: Sequence[str] = ()  # "from A to B": B is the last day away
    reference_words: Sequence[str] = ()  # "dated", "due": a date that is the invoice's, not the reply's
    # --- quoting ---
    wrote: Sequence[str] = ()  # "wrote", "schrieb": the verb of an "On ..., X wrote:" line
    header_from: Sequence[str] = ()  # "from", "von": the first field of a quoted header block
    header_fields: Sequence[str] = ()  # "sent", "to", "subject", "betreff"
    separators: Sequence[str] = ()  # "original message", "forwarded message"
    sign_offs: Sequence[str] = ()  # "kind regards", "mit freundlichen grussen"
    mobile_signatures: Sequence[str] = ()  # "sent from my iphone"
    disclaimers: Sequence[str] = ()  # the first line of a legal disclaimer
