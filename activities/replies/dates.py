"""Dates in a reply, read relative to the day it was received: "yesterday", "next Friday", "the 3rd",
"end of the month", "in 2 weeks", "March 3", "3. März", "3 de marzo", "03/03/2027", "2027-03-03".

Hand-written rather than `dateparser`: a reply's date depends on what the reply says, which a general parser
cannot know ("on Friday" is the last Friday for a payment made and the next Friday for a payment promised;
"03/04" is read the way that fits), the vocabulary per language is small and lives beside the phrases
(`phrases/*.py`), the rules must be deterministic and documented, and dateparser's import (regex tables for
200 locales) and its per-call cost would dominate a batch of short replies.

`find_dates` returns every date expression (the longest reading wins where two overlap); `resolve` places one
in time given a direction: "past" for a payment made (on or before the day received), "future" for a promise
or a return date (on or after it). Rules:
- a weekday alone or "this"/"next" weekday: the past direction takes the most recent such day on or before
  the day received; the future direction the first one after it ("next Friday" is the first Friday after
  the day received, as "on Friday" is); "last Friday" is the most recent one before it.
- a day of the month alone ("the 3rd", "am 3.", "le 3"): most recent on or before / next on or after.
- a day and month without a year: the year that puts it on the right side of the day received, when that
  is within about six months of it (otherwise the reply has a slip in it and the date is not placed).
- numeric dates: a part above 12 settles which is the day; a text whose other numeric dates settle it uses
  that order; otherwise the reading that fits the direction; when both fit, day-first except in English,
  where the reading nearer the day received wins. "5.3." (dots, German style) is always day-first.
- a date that cannot lie on the required side of the day received, or lies more than two years away, is
  not placed (None).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from activities.replies.phrases import LANGUAGES

Direction = Literal["past", "future"]
Order = Literal["DMY", "MDY"]
Form = Literal["calendar", "numeric", "weekday", "day_of_month", "offset", "period", "month_part"]

MAX_DISTANCE = timedelta(days=730)
# A date written without its year is within about six months of the reply: "paid on 10 March" in a reply
# of 5 March is a slip, not a payment made last year.
MAX_INFERRED_DISTANCE = timedelta(days=190)
LAST_DAY = 0  # the day of a month_part mention that means "the month's last day" ("end of February")
# Words that mean a date in one language and something else in another: "hier" is "yesterday" in French and
# "here" in Dutch; "over 2 weken" is Dutch for "in 2 weeks", "over 2 weeks" in English is a duration.
_ONLY_IN = {"hier": "fr", "hier soir": "fr", "over": "nl"}


@dataclass(frozen=True, slots=True)
class DateMention:
    start: int
    end: int
    text: str
    form: Form
    year: int | None = None
    month: int | None = None
    day: int | None = None
    day_first_only: bool = False  # numeric with dots and no year: continental, always day first
    weekday: int | None = None
    modifier: Literal["next", "last", "this", ""] = ""
    days: int = 0
    months: int = 0
    business_days: int = 0
    anchor: str = ""
    shift: int = 0
    month_shift: int | None = None


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", " ") for w in sorted(set(words), key=len, reverse=True))


_MONTHS: dict[str, int] = {w: n for lang in LANGUAGES for w, n in lang.months.items()}
_FULL_MONTHS = {w: n for w, n in _MONTHS.items() if len(w) > 3 or w in ("mai", "mei", "may")}
_WEEKDAYS: dict[str, int] = {w: n for lang in LANGUAGES for w, n in lang.weekdays.items()}
_NUMBERS: dict[str, int] = {w: n for lang in LANGUAGES for w, n in lang.numbers.items()}
_DAY_WORDS: dict[str, int] = {w: n for lang in LANGUAGES for w, n in lang.day_words.items()}
_UNITS: dict[str, str] = {w: u for lang in LANGUAGES for w, u in lang.units.items()}
_PERIODS: dict[str, tuple[str, int]] = {w: p for lang in LANGUAGES for w, p in lang.periods.items()}
_NEXT = {w for lang in LANGUAGES for w in lang.next_words}
_LAST = {w for lang in LANGUAGES for w in lang.last_words}
_THIS = {w for lang in LANGUAGES for w in lang.this_words}

MONTH = _alternation(_MONTHS)
FULL_MONTH = _alternation(_FULL_MONTHS)
WEEKDAY = _alternation(_WEEKDAYS)
MODIFIER = _alternation(_NEXT | _LAST | _THIS)
NUMBER = rf"(?:\d{{1,3}}|{_alternation(_NUMBERS)})"
UNIT = _alternation(_UNITS)
_ORDINAL = r"(?:st|nd|rd|th|er|e|eme|o|a|º|ª|ste|de)"

_PATTERNS: tuple[tuple[Form, re.Pattern[str]], ...] = (
    ("calendar", re.compile(r"(?<![\w/.-])(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?![\w/-]|\.\d)")),
    ("numeric", re.compile(r"(?<![\w/.,-])(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
                           r"(?![\w/-]|[.,]\d)")),
    ("numeric", re.compile(r"(?<![\w/.,$€£-])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?![\w/-]|[.,]\d)(?! of\b)")),
    ("numeric", re.compile(r"(?<![\w/.,$€£-])(?P<a>\d{1,2})\.(?P<b>\d{1,2})\.(?![\d/])")),
    ("calendar", re.compile(rf"(?<![\w.,/-])(?P<d>\d{{1,2}})(?:{_ORDINAL})?\.? ?(?:of |de |del |di )?(?P<mon>{MONTH})"
                            rf"\b\.?(?:,? (?:de |del )?(?P<y>\d{{4}}))?")),
    ("calendar", re.compile(rf"(?<![\w])(?P<mon>{MONTH})\.? (?:the )?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:.,/]\d)"
                            rf"\b(?:,? (?P<y>\d{{4}}))?")),
    ("month_part", re.compile(rf"\b(?P<part>{_alternation(w for lang in LANGUAGES for w in lang.month_end_words)})"
                              rf" (?P<mon>{FULL_MONTH})\b(?: (?P<y>\d{{4}}))?")),
    ("month_part", re.compile(rf"\b(?P<mid>{_alternation(w for lang in LANGUAGES for w in lang.month_mid_words)})"
                              rf" ?(?P<mon>{FULL_MONTH})\b(?: (?P<y>\d{{4}}))?")),
    ("weekday", re.compile(rf"\b(?:(?P<pre>{MODIFIER}) )?(?:(?:on|am|le|el|il|op|na|no|a) )?(?P<wd>{WEEKDAY})\b"
                           rf"(?: (?P<post>{MODIFIER})\b)?")),
    ("offset", re.compile(rf"\b(?P<within>{_alternation(w for lang in LANGUAGES for w in lang.within)}) (?P<n>{NUMBER})"
                          rf" (?P<unit>{UNIT})\b")),
    ("offset", re.compile(rf"\b(?P<n>{NUMBER}) (?P<unit>{UNIT}) from (?:now|today)\b")),
    ("offset", re.compile(rf"\b(?P<ago>{_alternation(w for lang in LANGUAGES for w in lang.ago_before)}) "
                          rf"(?P<n>{NUMBER}) (?P<unit>{UNIT})\b")),
    ("offset", re.compile(rf"\b(?P<n>{NUMBER}) (?P<unit>{UNIT}) "
                          rf"(?P<ago>{_alternation(w for lang in LANGUAGES for w in lang.ago_after)})\b")),
    ("offset", re.compile(rf"(?<!guten )(?<!good )(?<!la )(?<!por )\b(?P<word>{_alternation(_DAY_WORDS)})"
                          r"(?![\w'-])")),
    ("period", re.compile(rf"\b(?P<period>{_alternation(_PERIODS)})\b")),
    *(("day_of_month", re.compile(pattern)) for lang in LANGUAGES for pattern in lang.day_of_month),
)


def find_dates(text: str, language: str = "en") -> list[DateMention]:
    """Every date expression in folded `text`, left to right, without overlaps (the longer one wins)."""
    found: list[DateMention] = []
    for form, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            mention = _mention(form, match, language)
            if mention is not None:
                found.append(mention)
    found.sort(key=lambda m: (-(m.end - m.start), m.start))
    taken = bytearray(len(text) + 1)
    chosen: list[DateMention] = []
    for mention in found:
        if not any(taken[mention.start:mention.end]):
            taken[mention.start:mention.end] = b"\x01" * (mention.end - mention.start)
            chosen.append(mention)
    return sorted(chosen, key=lambda m: m.start)


def _number(text: str) -> int:
    return int(text) if text.isdigit() else _NUMBERS[text]


def _year(text: str | None) -> int | None:
    if not text:
        return None
    value = int(text)
    return value + 2000 if value < 100 else value


def _mention(form: Form, match: re.Match[str], language: str) -> DateMention | None:
    g = match.groupdict()
    start, end, text = match.start(), match.end(), match.group(0)
    if form == "calendar":
        month = int(g["m"]) if g.get("m") else _MONTHS[g["mon"]]
        return DateMention(start, end, text, form, year=_year(g.get("y")), month=month, day=int(g["d"]))
    if form == "numeric":
        dotted = g.get("sep") is None and g.get("y") is None and "." in text
        return DateMention(start, end, text, form, year=_year(g.get("y")), month=int(g["b"]), day=int(g["a"]),
                           day_first_only=dotted)
    if form == "month_part":
        day = 15 if g.get("mid") else LAST_DAY
        return DateMention(start, end, text, form, year=_year(g.get("y")), month=_MONTHS[g["mon"]], day=day)
    if form == "weekday":
        words = {g.get("pre"), g.get("post")} - {None}
        modifier: Literal["next", "last", "this", ""] = (
            "last" if words & _LAST else "next" if words & _NEXT else "this" if words & _THIS else "")
        return DateMention(start, end, text, form, weekday=_WEEKDAYS[g["wd"]], modifier=modifier)
    if form == "offset":
        return _offset(g, language, start, end, text)
    if form == "period":
        if _ONLY_IN.get(g["period"], language) != language:
            return None
        anchor, shift = _PERIODS[g["period"]]
        return DateMention(start, end, text, form, anchor=anchor, shift=shift)
    # The mention starts at the number: "jusqu'au 10" must not hide "10 mars", and the words before it
    # ("until the", "jusqu'au") stay readable as what introduces the date.
    month_shift = 1 if g.get("next") else -1 if g.get("last") else 0 if g.get("this") else None
    start = match.start("day")
    return DateMention(start, end, match.string[start:end], "day_of_month", day=int(g["day"]),
                       month_shift=month_shift)


def _offset(g: dict[str, str | None], language: str, start: int, end: int, text: str) -> DateMention | None:
    word = g.get("word")
    if word is not None:
        if _ONLY_IN.get(word, language) != language:
            return None
        return DateMention(start, end, text, "offset", days=_DAY_WORDS[word])
    if _ONLY_IN.get(g.get("within") or "", language) != language:
        return None
    n = _number(str(g["n"]))
    sign = -1 if g.get("ago") else 1
    unit = _UNITS[str(g["unit"])]
    if unit == "month":
        return DateMention(start, end, text, "offset", months=sign * n)
    if unit == "business_day":
        return DateMention(start, end, text, "offset", business_days=sign * n)
    return DateMention(start, end, text, "offset", days=sign * n * (7 if unit == "week" else 1))


def numeric_order(mentions: Iterable[DateMention]) -> Order | None:
    """The order a text's own numeric dates settle (a part above 12 is the day), if they agree."""
    orders: set[Order] = set()
    for mention in mentions:
        if mention.form == "numeric" and mention.day is not None and mention.month is not None:
            if mention.day > 12 >= mention.month or mention.day_first_only:
                orders.add("DMY")
            elif mention.month > 12 >= mention.day:
                orders.add("MDY")
    return orders.pop() if len(orders) == 1 else None


def fits(day: date, today: date, direction: Direction) -> bool:
    if abs(day - today) > MAX_DISTANCE:
        return False
    return day <= today if direction == "past" else day >= today


def resolve(mention: DateMention, today: date, direction: Direction, *, order: Order | None = None,
            language: str = "en") -> date | None:
    """The day `mention` names, on the side of `today` that `direction` requires, or None."""
    if mention.form in ("calendar", "month_part"):
        return _calendar(mention.year, mention.month, mention.day, today, direction)
    if mention.form == "numeric":
        return _numeric(mention, today, direction, order, language)
    if mention.form == "weekday" and mention.weekday is not None:
        return _weekday(mention.weekday, mention.modifier, today, direction)
    if mention.form == "day_of_month" and mention.day is not None:
        return _day_of_month(mention.day, mention.month_shift, today, direction)
    if mention.form == "offset":
        return _offset_day(mention, today, direction)
    if mention.form == "period":
        return _period(mention.anchor, mention.shift, today, direction)
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    if not (1 <= month <= 12 and 0 <= day <= 31 and 1900 < year < 2200):
        return None
    if day == LAST_DAY:
        day = calendar.monthrange(year, month)[1]
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _calendar(year: int | None, month: int | None, day: int | None, today: date, direction: Direction) -> date | None:
    if month is None or day is None:
        return None
    if year is not None:
        explicit = _safe_date(year, month, day)
        return explicit if explicit is not None and fits(explicit, today, direction) else None
    step = -1 if direction == "past" else 1
    for offset in (0, step):
        candidate = _safe_date(today.year + offset, month, day)
        if candidate is not None and fits(candidate, today, direction):
            return candidate if abs(candidate - today) <= MAX_INFERRED_DISTANCE else None
    return None


def _numeric(mention: DateMention, today: date, direction: Direction, order: Order | None,
             language: str) -> date | None:
    first, second = mention.day, mention.month  # as written: first / second
    if first is None or second is None:
        return None
    readings: dict[Order, date | None] = {"DMY": _calendar(mention.year, second, first, today, direction)}
    if not mention.day_first_only:
        readings["MDY"] = _calendar(mention.year, first, second, today, direction)
    if first > 12 or second > 12:  # the value above 12 is the day: only one reading is a date at all
        return readings.get("DMY") if first > 12 else readings.get("MDY")
    if order is not None and readings.get(order) is not None:
        return readings[order]
    placed = {o: d for o, d in readings.items() if d is not None}
    if len(placed) <= 1:
        return next(iter(placed.values()), None)
    if language != "en":
        return placed["DMY"]
    return min(placed.values(), key=lambda d: (abs((d - today).days), d))


def _weekday(weekday: int, modifier: str, today: date, direction: Direction) -> date | None:
    if direction == "future":
        if modifier == "last":
            return None
        ahead = (weekday - today.weekday()) % 7
        return today + timedelta(days=ahead if modifier == "this" else ahead or 7)
    if modifier == "next":
        return None
    back = (today.weekday() - weekday) % 7
    return today - timedelta(days=back or 7 if modifier == "last" else back)


def _day_of_month(day: int, month_shift: int | None, today: date, direction: Direction) -> date | None:
    if day == LAST_DAY:
        return None
    if month_shift is not None:
        year, month = _add_months(today.year, today.month, month_shift)
        candidate = _safe_date(year, month, day)
        return candidate if candidate is not None and fits(candidate, today, direction) else None
    step = -1 if direction == "past" else 1
    for months in (0, step, 2 * step):
        year, month = _add_months(today.year, today.month, months)
        candidate = _safe_date(year, month, day) if 0 < day <= calendar.monthrange(year, month)[1] else None
        if candidate is not None and fits(candidate, today, direction):
            return candidate
    return None


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _offset_day(mention: DateMention, today: date, direction: Direction) -> date | None:
    if mention.months:
        year, month = _add_months(today.year, today.month, mention.months)
        day = date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
    elif mention.business_days:
        day, left, step = today, abs(mention.business_days), 1 if mention.business_days > 0 else -1
        while left:
            day += timedelta(days=step)
            left -= day.weekday() < 5
    else:
        day = today + timedelta(days=mention.days)
    return day if fits(day, today, direction) else None


def _period(anchor: str, shift: int, today: date, direction: Direction) -> date | None:
    """The last day a period names ("end of next week" is that week's Friday; a month's end its last day);
    "next week" as a promise is the Friday of next week (the promise runs until then)."""
    if anchor == "vague":
        return None
    if anchor in ("month_end", "month"):
        if direction == "past":
            if anchor == "month" or shift > 0:
                return None
            year, month = _add_months(today.year, today.month, shift)
            end = date(year, month, calendar.monthrange(year, month)[1])
            if end > today:
                year, month = _add_months(today.year, today.month, shift - 1)
                end = date(year, month, calendar.monthrange(year, month)[1])
            return end
        if shift < 0:
            return None
        year, month = _add_months(today.year, today.month, shift)
        return date(year, month, calendar.monthrange(year, month)[1])
    friday = today + timedelta(days=4 - today.weekday())  # this week's Friday (Monday-based weeks)
    if direction == "past":
        if anchor == "week" or shift > 0:
            return None
        end = friday + timedelta(weeks=shift)
        return end if end <= today else (end - timedelta(weeks=1) if shift == 0 else None)
    if shift < 0:
        return None
    end = friday + timedelta(weeks=shift)
    return end if end >= today else end + timedelta(weeks=1)


def is_reference(text: str, mention: DateMention, words: Iterable[str]) -> bool:
    """Whether the words just before `mention` make it the invoice's date ("dated", "due", "vom")."""
    before = text[max(0, mention.start - 30):mention.start]
    return bool(re.search(rf"\b(?:{_alternation(words)})\s*:?\s*(?:on |the |le |el |am |il |de )?$", before))
