"""Reading dates relative to the day a reply was received; every expected day is worked out by hand.

Thursday 5 March 2026 is the usual day received: the Friday before it is 27 February, the one after it
6 March; the month ends on Tuesday 31 March; next week's Friday is 13 March.
"""

from __future__ import annotations

from datetime import date

import pytest

from activities.replies.dates import Direction, find_dates, numeric_order, resolve

THURSDAY = date(2026, 3, 5)


def placed(text: str, received: date, direction: Direction, language: str = "en") -> list[date | None]:
    mentions = find_dates(text, language)
    order = numeric_order(mentions)
    return [resolve(m, received, direction, order=order, language=language) for m in mentions]


@pytest.mark.parametrize(
    ("text", "direction", "expected"),
    [
        ("on friday", "past", date(2026, 2, 27)),  # the most recent Friday on or before the day received
        ("on friday", "future", date(2026, 3, 6)),  # the first Friday after it
        ("next friday", "future", date(2026, 3, 6)),
        ("last friday", "past", date(2026, 2, 27)),
        ("on thursday", "past", THURSDAY),  # on or before: the day itself
        ("on thursday", "future", date(2026, 3, 12)),  # strictly after
        ("the 3rd", "past", date(2026, 3, 3)),
        ("the 3rd", "future", date(2026, 4, 3)),  # the next 3rd on or after the day received
        ("the 5th", "future", THURSDAY),
        ("the 15th of next month", "future", date(2026, 4, 15)),
        ("end of the month", "future", date(2026, 3, 31)),
        ("end of the month", "past", date(2026, 2, 28)),
        ("end of next week", "future", date(2026, 3, 13)),
        ("next week", "future", date(2026, 3, 13)),  # a promise for next week runs to its Friday
        ("in 2 weeks", "future", date(2026, 3, 19)),
        ("within 10 business days", "future", date(2026, 3, 19)),
        ("2 days ago", "past", date(2026, 3, 3)),
        ("tomorrow", "future", date(2026, 3, 6)),
        ("yesterday", "past", date(2026, 3, 4)),
        ("today", "past", THURSDAY),
        ("today", "future", THURSDAY),
        ("march 3", "past", date(2026, 3, 3)),
        ("march 30", "future", date(2026, 3, 30)),  # no year: the year that puts it after the day received
        ("3 march", "past", date(2026, 3, 3)),
        ("3rd of march", "past", date(2026, 3, 3)),
        ("mar. 12th, 2026", "future", date(2026, 3, 12)),
        ("2026-03-18", "future", date(2026, 3, 18)),
        ("end of april", "future", date(2026, 4, 30)),
        ("mid-april", "future", date(2026, 4, 15)),
    ],
)
def test_english_expressions(text: str, direction: Direction, expected: date) -> None:
    assert placed(text, THURSDAY, direction) == [expected]


@pytest.mark.parametrize(
    ("text", "language", "direction", "expected"),
    [
        ("3. marz", "de", "past", date(2026, 3, 3)),
        ("am 3.", "de", "past", date(2026, 3, 3)),
        ("5.3.", "de", "future", THURSDAY),  # dots: always day first
        ("nachsten freitag", "de", "future", date(2026, 3, 6)),
        ("ende des monats", "de", "future", date(2026, 3, 31)),
        ("vor 3 tagen", "de", "past", date(2026, 3, 2)),
        ("heute morgen", "de", "past", THURSDAY),
        ("3 mars", "fr", "past", date(2026, 3, 3)),
        ("le 15", "fr", "future", date(2026, 3, 15)),
        ("vendredi prochain", "fr", "future", date(2026, 3, 6)),
        ("hier", "fr", "past", date(2026, 3, 4)),
        ("dans 2 semaines", "fr", "future", date(2026, 3, 19)),
        ("3 de marzo", "es", "past", date(2026, 3, 3)),
        ("el proximo lunes", "es", "future", date(2026, 3, 9)),
        ("pasado manana", "es", "future", date(2026, 3, 7)),
        ("hace 2 dias", "es", "past", date(2026, 3, 3)),
        ("20 maart", "nl", "future", date(2026, 3, 20)),
        ("over 2 weken", "nl", "future", date(2026, 3, 19)),
        ("gisteren", "nl", "past", date(2026, 3, 4)),
        ("venerdi scorso", "it", "past", date(2026, 2, 27)),
        ("fine mese", "it", "future", date(2026, 3, 31)),
        ("5 de marco", "pt", "future", THURSDAY),
        ("na proxima sexta-feira", "pt", "future", date(2026, 3, 6)),
        ("ha 3 dias", "pt", "past", date(2026, 3, 2)),
    ],
)
def test_other_languages(text: str, language: str, direction: Direction, expected: date) -> None:
    assert placed(text, THURSDAY, direction, language) == [expected]


def test_words_that_are_dates_only_in_one_language() -> None:
    assert placed("hier", THURSDAY, "past", "nl") == []  # Dutch "hier" is "here"
    assert placed("over 2 weeks", THURSDAY, "future", "en") == []  # English "over 2 weeks" is a duration
    assert placed("guten morgen", THURSDAY, "future", "de") == []  # "good morning", not "tomorrow"


def test_numeric_dates_read_the_way_that_fits() -> None:
    # A part above 12 settles the order.
    assert placed("13/03/2026", date(2026, 3, 16), "past") == [date(2026, 3, 13)]
    assert placed("03/13/2026", date(2026, 3, 16), "past") == [date(2026, 3, 13)]
    # Otherwise the reading on the right side of the day received: paid on 04/03 is 4 March, not 3 April.
    assert placed("04/03/2026", THURSDAY, "past") == [date(2026, 3, 4)]
    assert placed("04/03/2026", THURSDAY, "future") == [date(2026, 4, 3)]
    # Both fit: English takes the nearer reading, other languages day first.
    june = date(2026, 6, 15)
    assert placed("07/08", june, "future", "en") == [date(2026, 7, 8)]
    assert placed("07/08", june, "future", "de") == [date(2026, 8, 7)]
    # Another date in the same text settles the order for all of them.
    assert placed("15/06 and 07/08", june, "future", "en") == [date(2026, 6, 15), date(2026, 8, 7)]


def test_the_year_turns() -> None:
    assert placed("5 january", date(2025, 12, 29), "future") == [date(2026, 1, 5)]
    assert placed("30 december", date(2026, 1, 5), "past") == [date(2025, 12, 30)]
    assert placed("end of the month", date(2026, 2, 27), "future") == [date(2026, 2, 28)]


def test_dates_that_cannot_be_placed() -> None:
    assert placed("2026-03-10", THURSDAY, "past") == [None]  # a payment cannot be made after the reply
    assert placed("2026-03-01", THURSDAY, "future") == [None]  # nor a promise kept before it
    assert placed("2030-01-01", THURSDAY, "future") == [None]  # more than two years away
    assert placed("31 february", THURSDAY, "future") == [None]
    assert placed("31/02/2026", THURSDAY, "past") == [None]
    assert placed("march 3", THURSDAY, "future") == [None]  # a promise for two days ago is a slip, not next year
    assert placed("10 march", THURSDAY, "past") == [None]  # likewise a payment five days ahead
    assert placed("last week", THURSDAY, "past") == [None]  # names no day
    assert placed("next week", THURSDAY, "past") == [None]


def test_numbers_that_are_not_dates() -> None:
    for text in ("eur 1.250,00", "at 10.30", "invoice inv-2026-03-05x", "1,250.00", "paid 1.5 million"):
        assert find_dates(text) == [], text
