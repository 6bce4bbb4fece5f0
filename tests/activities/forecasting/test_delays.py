"""The payment-delay model: survival counting, shrinkage toward the book, conditioning on age."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from activities.cash_matching.model import OpenInvoice
from activities.forecasting.delays import (
    EARLIEST_DAY,
    WRITE_OFF_DAY,
    DelayCurve,
    DelayModel,
    credibility_constant,
    exposure_of,
)
from activities.forecasting.forecast import forecast_cash
from activities.forecasting.history import build_book
from tests.activities.forecasting.habits import AS_OF, Ledger


def curve(spikes: dict[int, float]) -> DelayCurve:
    hazards = [0.0] * (WRITE_OFF_DAY - EARLIEST_DAY + 1)
    for day, hazard in spikes.items():
        hazards[day - EARLIEST_DAY] = hazard
    return DelayCurve(tuple(hazards))


def median_delay(ledger: Ledger, invoice: OpenInvoice) -> int | None:
    """Days after its due date the invoice is predicted to be paid (None: more likely never)."""
    forecast = forecast_cash(ledger.book())
    predicted = next(i for i in forecast.invoices if i.invoice_id == invoice.invoice_id)
    return None if predicted.expected_date is None else (predicted.expected_date - invoice.due_date).days


def test_conditional_distribution_uses_only_the_days_after_the_invoices_age() -> None:
    c = curve({1: 0.5, 2: 0.5, 10: 1.0})
    # unpaid at day 0: half on day 1, a quarter on day 2, the rest on day 10
    assert c.conditional(0, 10) == [0.5, 0.25, 0, 0, 0, 0, 0, 0, 0, 0.25]
    # unpaid at day 5: the early days are over, everything left comes on day 10
    assert c.conditional(5, 6) == [0, 0, 0, 0, 1.0, 0]
    # unpaid after the last day anyone pays: nothing within any horizon
    assert sum(c.conditional(11, 100)) == 0
    assert c.settled_share(1, 2) == pytest.approx(0.75)


def test_nothing_is_paid_after_the_write_off_day() -> None:
    c = curve({WRITE_OFF_DAY: 1.0})
    assert c.hazard(WRITE_OFF_DAY + 1) == 0.0
    assert c.conditional(WRITE_OFF_DAY - 1, 30)[0] == 1.0
    assert sum(c.conditional(WRITE_OFF_DAY, 365)) == 0.0


def test_open_invoices_count_as_unpaid_so_far_not_as_missing() -> None:
    """Kaplan-Meier counting: an open invoice 50 days overdue is at risk on days up to 50 without paying."""
    ledger = Ledger()
    ledger.invoice("C", date(2025, 1, 1), paid=[(10, "1000.00")])  # due 2025-01-31, paid day 10
    ledger.invoice("C", date(2025, 4, 11))  # due 2025-05-11, 50 days overdue on AS_OF
    exposure = exposure_of(ledger.book().invoices, AS_OF)
    day = lambda d: d - EARLIEST_DAY  # noqa: E731
    # recency: due 150 and 50 days before AS_OF, half-life 180 days, scaled to add up to two invoices
    older, newer = 2 ** (-150 / 180), 2 ** (-50 / 180)
    older, newer = 2 * older / (older + newer), 2 * newer / (older + newer)
    assert older + newer == pytest.approx(2.0) and newer > older
    assert exposure.paid[day(10)] == pytest.approx(older)
    assert exposure.paid[day(11)] == 0
    # both invoices entered on day -30 (issued 30 days before due): at risk until paid / until today
    assert exposure.at_risk[day(-31)] == 0
    assert exposure.at_risk[day(-30)] == pytest.approx(2.0)
    assert exposure.at_risk[day(10)] == pytest.approx(2.0)
    assert exposure.at_risk[day(11)] == pytest.approx(newer)
    assert exposure.at_risk[day(50)] == pytest.approx(newer)
    assert exposure.at_risk[day(51)] == 0


def test_partial_payments_are_counted_as_fractions_of_the_invoice() -> None:
    ledger = Ledger()
    ledger.invoice("C", date(2025, 1, 1), total="1000.00", paid=[(0, "400.00"), (30, "600.00")])
    book = ledger.book()
    (invoice,) = book.invoices
    assert [p.fraction for p in invoice.payments] == [pytest.approx(0.4), pytest.approx(0.6)]
    assert invoice.instalments and not invoice.short_paid and invoice.delay_days == 30
    exposure = exposure_of(book.invoices, AS_OF)
    # the daily hazard of the money: 40% of it paid on day 0, then all of what was left on day 30
    assert exposure.paid[0 - EARLIEST_DAY] / exposure.at_risk[0 - EARLIEST_DAY] == pytest.approx(0.4)
    assert exposure.at_risk[15 - EARLIEST_DAY] == pytest.approx(0.6)
    assert exposure.paid[30 - EARLIEST_DAY] / exposure.at_risk[30 - EARLIEST_DAY] == pytest.approx(1.0)


def test_credibility_constant_is_buhlmanns_on_a_hand_computed_book() -> None:
    """Three customers, delays [0,6,12], [4,10,16], [8,14,20]: within-customer variance 36 each, means 6, 10, 14.
    Between: 3*16 + 0 + 3*16 = 96, less (3-1)*36, over 9 - 27/9 = 6: 4. k = 36 / 4 = 9."""
    ledger = Ledger()
    for name, delays in (("A", [0, 6, 12]), ("B", [4, 10, 16]), ("C", [8, 14, 20])):
        ledger.customer(name, delays)
    assert credibility_constant(ledger.book().invoices) == pytest.approx(9.0)


def test_credibility_constant_trusts_the_book_when_customers_do_not_differ() -> None:
    ledger = Ledger()
    ledger.customer("A", [0, 20, 40])
    ledger.customer("B", [40, 20, 0])
    assert credibility_constant(ledger.book().invoices) == 25.0


def test_a_customers_own_habit_wins_once_it_has_shown_it() -> None:
    ledger = Ledger()
    for name in ("P1", "P2", "P3"):
        ledger.customer(name, [0] * 14)
    ledger.customer("HABIT", [20] * 14)
    ledger.customer("ONCE", [60], first_issue=date(2025, 3, 1))  # one recent invoice, paid 60 days late
    ledger.customer("OFTEN", [60] * 14)
    # one invoice each, due 2025-07-20, not yet due
    fresh = {name: ledger.invoice(name, date(2025, 6, 20)) for name in ("P1", "HABIT", "OFTEN")}
    assert median_delay(ledger, fresh["P1"]) == 0
    assert median_delay(ledger, fresh["HABIT"]) == 20
    assert median_delay(ledger, fresh["OFTEN"]) == 60
    model = DelayModel(ledger.book())
    names = ("P1", "NEWCOMER", "ONCE", "OFTEN")
    # P(paid by 30 days after due | unpaid 30 days before it, when issued on 30-day terms)
    within_a_month = {name: model.curve_for(name).settled_share(-29, 30) for name in names}
    # customers this different: the credibility constant is at its floor, the book weighs as two invoices
    assert model.credibility == 2.0
    # a newcomer is the book; one invoice paid late is one invoice against the book's two, so the chance of
    # paying within a month is two thirds of the book's; it takes a habit to make it unlikely
    assert within_a_month["P1"] > 0.95
    assert within_a_month["OFTEN"] < 0.15
    assert within_a_month["ONCE"] == pytest.approx(within_a_month["NEWCOMER"] * 2 / 3, rel=0.02)
    assert within_a_month["P1"] > within_a_month["NEWCOMER"] > within_a_month["ONCE"] > within_a_month["OFTEN"]


def test_an_invoice_already_overdue_is_predicted_after_today_never_in_the_past() -> None:
    ledger = Ledger()
    ledger.customer("HABIT", [10] * 14)
    ledger.customer("SLOW", [70] * 14)
    fresh = ledger.invoice("HABIT", date(2025, 6, 20))  # due 2025-07-20
    overdue = ledger.invoice("HABIT", date(2025, 4, 21))  # due 2025-05-21: 40 days overdue on AS_OF
    forecast = forecast_cash(ledger.book())
    by_id = {i.invoice_id: i for i in forecast.invoices}
    assert by_id[fresh.invoice_id].expected_date == fresh.due_date + timedelta(days=10)
    predicted = by_id[overdue.invoice_id].expected_date
    assert predicted is not None and predicted > AS_OF  # never "paid 10 days late", which is in the past


def test_very_old_debt_has_no_expected_date_and_no_expected_amount() -> None:
    ledger = Ledger()
    ledger.customer("GOOD", [0] * 14)
    old = ledger.invoice("GOOD", date(2024, 3, 1))  # due 2024-03-31: 456 days overdue, nothing paid
    forecast = forecast_cash(ledger.book())
    predicted = next(i for i in forecast.invoices if i.invoice_id == old.invoice_id)
    assert predicted.expected_date is None
    assert predicted.expected_amount == Decimal("0.00")


def test_slow_customers_open_invoices_make_the_next_prediction_later() -> None:
    """Censoring matters: a customer with six invoices paid 10 days late and six still unpaid 60+ days after due
    is slower than one with only the six paid ones, and the model must see it."""
    paid_only, with_open = Ledger(), Ledger()
    for ledger in (paid_only, with_open):
        ledger.customer("BOOK", [0] * 14)
        ledger.customer("C", [10] * 6, first_issue=date(2024, 9, 1))
    for n in range(6):
        with_open.invoice("C", date(2025, 1, 5) + timedelta(days=14 * n))  # due Feb-Apr: 60-145 days overdue
    paid = median_delay(paid_only, paid_only.invoice("C", date(2025, 6, 25)))  # due 2025-07-25
    assert paid is not None and 9 <= paid <= 11
    later = median_delay(with_open, with_open.invoice("C", date(2025, 6, 25)))
    assert later is None or later >= paid + 5


def test_the_model_is_built_from_the_book_only() -> None:
    ledger = Ledger()
    ledger.customer("A", [5] * 10)
    model = DelayModel(build_book(ledger.invoices, ledger.payments, AS_OF))
    assert model.curve_for("unknown customer") is model.book_curve
    assert model.curve_for("A") is model.curve_for("A")
