"""Collections activity: per-level reply and payment rates, approval turnaround, straight-through rate (by hand)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from activities.reports.activity import (
    ApprovalDecided,
    DepositDecided,
    PaymentOn,
    ReminderSent,
    ReplyReceived,
    collections_activity,
)

SINCE, AS_OF = date(2025, 3, 1), date(2025, 3, 31)


def at(day: int, hour: int = 9, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


def test_reply_and_payment_count_for_the_reminder_before_them_within_the_window() -> None:
    reminders = [
        ReminderSent("a", 1, at(2)), ReminderSent("a", 2, at(6)),  # a: L1, L2 four days later
        ReminderSent("b", 1, at(3)),  # b: paid on day 9 (6 days later): counts with a 7-day window
        ReminderSent("c", 1, at(3)),  # c: paid on day 11 (8 days later): too late
        ReminderSent("d", 1, at(20)), ReminderSent("d", 1, at(20, month=2)),  # d: a February reminder: outside
    ]
    replies = [ReplyReceived("a", at(4)),  # after a's L1, before its L2: L1's
               ReplyReceived("a", at(7)),  # after a's L2: L2's
               ReplyReceived("c", at(9, 10))]  # 6 days after c's L1
    payments = [PaymentOn("a", date(2025, 3, 8)), PaymentOn("b", date(2025, 3, 9)), PaymentOn("c", date(2025, 3, 11)),
                PaymentOn("d", date(2025, 2, 22))]  # d's February payment answers February's reminder only
    report = collections_activity(SINCE, AS_OF, reminders, replies, payments, [], [], within_days=7)
    rows = {row.level: (row.sent, row.replied, row.paid) for row in report.levels}
    # L1: a, b, c, d(March) = 4 sent; replied a, c = 2; paid b = 1 (a's payment came after its L2)
    # L2: a = 1 sent; replied 1; paid 1
    assert rows == {1: (4, 2, 1), 2: (1, 1, 1)}
    assert report.reminders_sent == 5
    level_1 = report.to_json()["levels"][0]
    assert (level_1["reply_rate"], level_1["payment_rate"]) == (0.5, 0.25)


def test_what_is_not_known_by_as_of_does_not_count() -> None:
    reminders = [ReminderSent("a", 1, at(29))]
    later = collections_activity(SINCE, AS_OF, reminders, [ReplyReceived("a", at(2, month=4))],
                                 [PaymentOn("a", date(2025, 4, 1))], [], [])
    assert [(r.sent, r.replied, r.paid) for r in later.levels] == [(1, 0, 0)]


def test_a_payment_on_the_reminders_day_counts_and_zero_day_window() -> None:
    reminders = [ReminderSent("a", 3, at(10, 15))]
    same_day = collections_activity(SINCE, AS_OF, reminders, [], [PaymentOn("a", date(2025, 3, 10))], [], [],
                                    within_days=0)
    assert [(r.level, r.paid) for r in same_day.levels] == [(3, 1)]


def test_approval_turnaround_median_mean_and_90th_percentile() -> None:
    hours = [1, 2, 3, 4, 30]  # median 3, mean 8, nearest-rank p90 = the 5th = 30
    approvals = [ApprovalDecided("reminder", at(10), datetime(2025, 3, 10, 9 + h, tzinfo=UTC) if h < 15
                                 else datetime(2025, 3, 11, 15, tzinfo=UTC)) for h in hours]
    approvals.append(ApprovalDecided("payment_match", at(1, month=2), at(2, month=2)))  # decided before the period
    report = collections_activity(SINCE, AS_OF, [], [], [], approvals, [])
    turnaround = report.to_json()["approvals"]
    assert (turnaround["decisions"], turnaround["median_hours"], turnaround["mean_hours"],
            turnaround["p90_hours"]) == (5, 3.0, 8.0, 30.0)
    assert set(turnaround["by_kind"]) == {"reminder"}
    even = collections_activity(SINCE, AS_OF, [], [], [], approvals[:4], [])
    assert even.approvals.median_hours == 2.5


def test_straight_through_counts_each_deposit_once_by_its_last_decision() -> None:
    deposits = [
        DepositDecided("B1", "auto", at(2)), DepositDecided("B2", "auto", at(3)), DepositDecided("B3", "auto", at(3)),
        DepositDecided("B4", "person", at(4)),
        DepositDecided("B5", "shadow", at(5)), DepositDecided("B5", "person", at(6)),  # shadow, then a person's
        DepositDecided("B6", "shadow", at(7)),
        DepositDecided("B7", "auto", at(1, month=2)),  # before the period
    ]
    cash = collections_activity(SINCE, AS_OF, [], [], [], [], deposits).cash_application
    # decided: B1..B3 auto, B4 and B5 by a person -> 3 / 5; B6 is shadow only
    assert (cash.deposits, cash.auto_applied, cash.by_person, cash.shadow) == (5, 3, 2, 1)
    assert cash.straight_through_rate == pytest.approx(0.6)


def test_nothing_happened_gives_no_rates_rather_than_zero() -> None:
    empty = collections_activity(SINCE, AS_OF, [], [], [], [], []).to_json()
    assert empty["levels"] == [] and empty["approvals"]["median_hours"] is None
    assert empty["cash_application"]["straight_through_rate"] is None
    with pytest.raises(ValueError, match="starts"):
        collections_activity(AS_OF, SINCE, [], [], [], [], [])
