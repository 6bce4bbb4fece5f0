"""The risk score on constructed customers: the ordering and calibration a collector expects, with reasons."""

from __future__ import annotations

from datetime import date

import pytest

from activities.forecasting.backtest import auc
from activities.forecasting.history import build_book
from activities.forecasting.risk import RiskScore, grade_of, risk_scores, score_customer
from activities.forecasting.synthetic import synthetic_history
from tests.activities.forecasting.habits import AS_OF, Ledger
from tests.activities.forecasting.test_forecast import as_known_on


def habits() -> Ledger:
    """Fourteen monthly invoices each (issued 2024-03-01 .. 2025-04-26, 30-day terms) unless said otherwise."""
    ledger = Ledger()
    ledger.customer("EARLY", [-10] * 14)
    ledger.customer("ON-TIME", [0, 1, 0, 2, 0, 0, -1, 0, 3, 0, 0, 1, 0, 0])
    ledger.customer("STEADY", [15] * 14)
    ledger.customer("CHRONIC", [60] * 16)  # the last two (due 2025-05-25 and 06-24) are still open
    ledger.customer("WORSENING", [round(45 * n / 13) for n in range(14)])  # 0 .. 45 days late
    ledger.customer("DISPUTER", [0, 1, 0, 0, 2, 0, 0, 1, 0, 0], first_issue=date(2024, 3, 1), every_days=40)
    for issued in (date(2024, 4, 20), date(2024, 7, 20), date(2024, 10, 20), date(2025, 1, 20)):
        ledger.invoice("DISPUTER", issued, paid=[(80, "700.00")], written_off=True)  # disputed, credited 300.00
    ledger.invoice("ONE-OVERDUE", date(2025, 1, 31))  # due 2025-03-02: 120 days overdue, nothing paid
    ledger.invoice("NEW", date(2025, 6, 20))  # not due yet, no history
    return ledger


@pytest.fixture(scope="module")
def scores() -> dict[str, RiskScore]:
    return {s.customer_id: s for s in risk_scores(habits().book())}


def test_on_time_payers_score_low_and_chronic_late_ones_high(scores: dict[str, RiskScore]) -> None:
    assert scores["EARLY"].score < 0.2 and scores["EARLY"].grade == "A"
    assert scores["ON-TIME"].score < 0.3
    assert scores["CHRONIC"].score > 0.7 and scores["CHRONIC"].grade == "E"


def test_a_collector_would_rank_them_this_way(scores: dict[str, RiskScore]) -> None:
    s = {name: r.score for name, r in scores.items()}
    assert s["EARLY"] < s["ON-TIME"] < s["STEADY"] < s["CHRONIC"]
    assert s["ON-TIME"] < s["DISPUTER"] < s["CHRONIC"]
    assert s["ON-TIME"] < s["WORSENING"]


def test_one_very_overdue_invoice_is_high_risk_even_without_history(scores: dict[str, RiskScore]) -> None:
    overdue = scores["ONE-OVERDUE"]
    assert overdue.score > 0.7
    assert overdue.reasons[0] == "1 invoice overdue now (1,000.00 USD), the oldest 120 days past due"
    assert any(r.startswith("new customer: no invoice paid yet") for r in overdue.reasons)


def test_a_new_customer_is_uncertain_not_good_or_bad(scores: dict[str, RiskScore]) -> None:
    new = scores["NEW"]
    assert new.score == 0.5 and new.grade == "C"
    assert new.reasons == ("new customer: no invoice paid yet, so its habit is not known yet",)


def test_reasons_are_the_customers_own_figures(scores: dict[str, RiskScore]) -> None:
    steady = scores["STEADY"].reasons
    assert "paid 14 of 14 invoices late (over 5 days past due), on average 15 days after due" in steady
    assert "takes 45 days on average to pay 30-day terms (15 days after due)" in steady
    chronic = scores["CHRONIC"].reasons
    assert "takes 90 days on average to pay 30-day terms (60 days after due)" in chronic
    assert "14 of 14 invoices paid more than 30 days after due" in chronic
    assert scores["CHRONIC"].factors["overdue"] == pytest.approx(2.2 * 21 / 75)  # 36 and 6 days: 21 on average
    assert any(r.startswith("getting slower: its last 4 invoices were paid") for r in scores["WORSENING"].reasons)
    disputer = scores["DISPUTER"].reasons
    assert any(r.startswith("short-paid 4 of 14 invoices (1,200.00 USD left unpaid)") for r in disputer)
    early = scores["EARLY"].reasons
    assert "takes 20 days on average to pay 30-day terms (10 days before due)" in early
    assert "paid all 14 invoices within 5 days of due" in early
    for score in scores.values():
        assert 1 <= len(score.reasons) <= 3


def test_the_list_is_riskiest_first_with_one_entry_per_customer() -> None:
    ranked = risk_scores(habits().book())
    assert len(ranked) == len({r.customer_id for r in ranked}) == 8
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
    for r in ranked:
        assert isinstance(r.score, float) and 0.0 <= r.score <= 1.0
        assert set(r.to_json()) == {"customer_id", "score", "grade", "reasons"}


def test_ties_are_broken_by_customer_id() -> None:
    ledger = Ledger()
    for name in ("B", "A", "C"):
        ledger.invoice(name, date(2025, 6, 20))
    assert [r.customer_id for r in risk_scores(ledger.book())] == ["A", "B", "C"]


@pytest.mark.parametrize(
    ("score", "grade"), [(0.0, "A"), (0.1999, "A"), (0.2, "B"), (0.5, "C"), (0.6, "D"), (0.7999, "D"), (0.8, "E")]
)
def test_grade_cut_offs(score: float, grade: str) -> None:
    assert grade_of(score) == grade


def test_getting_slower_raises_the_score_against_the_same_average() -> None:
    """Same 14 delays, same average (about 22 days): in rising order the customer is getting worse."""
    delays = [round(45 * n / 13) for n in range(14)]
    rising, falling = Ledger(), Ledger()
    rising.customer("C", delays)
    falling.customer("C", list(reversed(delays)))
    worse = score_customer("C", rising.book().by_customer["C"], AS_OF)
    better = score_customer("C", falling.book().by_customer["C"], AS_OF)
    assert worse.score > better.score
    assert worse.factors["trend"] > 0 > better.factors["trend"]


def test_nothing_dated_after_as_of_changes_the_scores() -> None:
    history = synthetic_history(seed=11, customers=25)
    cut = date(2025, 3, 31)
    invoices, payments = as_known_on(history.invoices, history.payments, cut)
    clean = risk_scores(build_book(invoices, payments, cut))
    newer = [i for i in history.invoices if i.issue_date > cut]
    later = [p for p in history.payments if p.date > cut]
    noisy = risk_scores(build_book([*invoices, *newer], [*payments, *later], cut))
    assert [s.to_json() for s in noisy] == [s.to_json() for s in clean]


def test_scores_on_the_synthetic_history_follow_the_habits() -> None:
    history = synthetic_history()
    book = build_book(history.invoices, history.payments, history.as_of)
    scores = {s.customer_id: s.score for s in risk_scores(book)}
    by_habit: dict[str, list[float]] = {}
    for customer, habit in history.habits.items():
        by_habit.setdefault(habit, []).append(scores[customer])
    mean = {habit: sum(v) / len(v) for habit, v in by_habit.items()}
    assert mean["early"] < mean["on_time"] < 0.3
    assert mean["on_time"] < mean["steady_late"] < mean["chronic_late"]
    assert min(by_habit["chronic_late"]) > 0.7
    assert max(by_habit["early"]) < 0.2


def test_auc_by_hand() -> None:
    assert auc([(0.1, False), (0.35, False), (0.4, True), (0.8, True)]) == 1.0
    assert auc([(0.1, True), (0.2, False), (0.3, True)]) == 0.5
    assert auc([(0.5, True), (0.5, False)]) == 0.5
    assert auc([(0.9, False), (0.1, True)]) == 0.0
    assert auc([(0.9, True)]) is None


def test_a_customer_with_only_a_credit_note_is_listed_as_unknown() -> None:
    ledger = habits()
    ledger.invoice("REFUNDED", date(2025, 5, 1), total="-100.00")
    scores = {s.customer_id: s for s in risk_scores(ledger.book())}
    assert scores["REFUNDED"].score == 0.5
    assert scores["REFUNDED"].reasons == ("new customer: no invoice paid yet, so its habit is not known yet",)
