"""The collector worklist: who a collector would call first, on constructed habits and by hand."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from activities.reports.books import Books
from activities.reports.worklist import NOBODY, LifecycleFacts, WorklistFilter, urgency, worklist
from tests.activities.forecasting.habits import AS_OF, Ledger


def facts(**kwargs: object) -> LifecycleFacts:
    return LifecycleFacts(**{"workflow_id": "wf", "stage": "dunning", **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize(("days", "lifecycle", "expected"), [
    (0, None, 1.0),
    (45, None, 2.5),                                                  # 1 + 45/30
    (300, None, 5.0),                                                 # age adds nothing after 120 days
    (45, facts(promise_until=AS_OF + timedelta(days=7)), 1.75),      # 1 + 1.5 / 2 while the promise is pending
    (45, facts(promise_until=AS_OF), 3.5),                            # 1 + 1.5 + 1: due today
    (45, facts(promise_until=AS_OF - timedelta(days=3)), 4.5),       # 1 + 1.5 + 2: broken
    (45, facts(broken_promises=2), 4.5),                              # broken twice counts once
    (45, facts(dispute="wrong goods", dispute_opened=AS_OF - timedelta(days=60)), 4.5),  # 1 + 1.5 + 60/30
    (45, facts(dispute="wrong goods"), 2.5),                          # the dispute's age is not on record
])
def test_urgency_by_hand(days: int, lifecycle: LifecycleFacts | None, expected: float) -> None:
    value, why = urgency(days, AS_OF, lifecycle)
    assert value == pytest.approx(expected)
    assert why[0] == (f"{days} days overdue" if days else "not yet due")


def test_priority_by_hand_for_a_new_customer() -> None:
    # No history: the score is the overdue term alone, 2.2 x 30/75 = 0.88 in log-odds -> 1 / (1 + e^-0.88).
    ledger = Ledger()
    ledger.invoice("NEW", AS_OF - timedelta(days=60), total="1000.00")  # due 30 days ago
    score = round(1 / (1 + math.exp(-0.88)), 4)
    [row] = worklist(Books.of(ledger.invoices, ledger.payments, AS_OF), AS_OF).rows
    assert row.risk.score == score == 0.7068
    assert row.at_stake == Decimal("706.80") and row.urgency == 2.0
    assert row.to_json()["priority"] == 1413.6
    assert row.why[0] == "30 days overdue" and row.why[1].startswith("risk 0.71 (D)")


def habits() -> Ledger:
    """Monthly invoices from 2024-03-01 on 30-day terms, each paid as the delays say (None: still open)."""
    ledger = Ledger()
    for name in ("PROMPT-1", "PROMPT-2", "PROMPT-3", "PROMPT-4"):
        ledger.customer(name, [0] * 14 + [None], total="5000.00")  # the open one: due 2025-05-25, 36 days late
    for name, total in (("CHRONIC-1", "5000.00"), ("CHRONIC-2", "4000.00"), ("CHRONIC-3", "3000.00")):
        ledger.customer(name, [60] * 12 + [None] * 3, total=total)  # three open, 36 to 96 days overdue
    ledger.customer("WORSENING", [round(50 * n / 11) for n in range(12)] + [None] * 3, total="3000.00")
    ledger.customer("TINY-LATE", [60] * 12 + [None] * 3, total="20.00")
    ledger.customer("NOT-DUE", [0] * 15, total="9000.00")  # the last one is paid: nothing open past due
    ledger.invoice("NOT-DUE", date(2025, 6, 20), total="9000.00")  # due 2025-07-20
    return ledger


def test_a_collector_calls_the_chronic_and_worsening_payers_first() -> None:
    ledger = habits()
    rows = worklist(Books.of(ledger.invoices, ledger.payments, AS_OF), AS_OF).rows
    first_customers = []
    for row in rows:
        if row.customer_id not in first_customers:
            first_customers.append(row.customer_id)
    assert set(first_customers[:4]) == {"CHRONIC-1", "CHRONIC-2", "CHRONIC-3", "WORSENING"}
    # The prompt payers' single slip comes after, the 20.00 invoices last, and what is not due is not listed.
    assert set(first_customers[4:8]) == {"PROMPT-1", "PROMPT-2", "PROMPT-3", "PROMPT-4"}
    assert first_customers[-1] == "TINY-LATE"
    assert "NOT-DUE" not in first_customers
    assert [row.rank for row in rows] == list(range(1, len(rows) + 1))
    assert all(a.priority >= b.priority for a, b in pairwise(rows))


def test_a_promise_due_today_and_an_ageing_dispute_move_invoices_up() -> None:
    ledger = habits()
    books = Books.of(ledger.invoices, ledger.payments, AS_OF)
    plain = worklist(books, AS_OF).rows
    prompt = next(r for r in plain if r.customer_id == "PROMPT-1")
    not_due = next(i for i in ledger.invoices if i.customer_id == "NOT-DUE" and i.balance > 0)
    lifecycles = {
        prompt.invoice_id: facts(stage="paused", promise_until=AS_OF, owner="ann@northwind.example"),
        not_due.invoice_id: facts(stage="paused", dispute="damaged", dispute_opened=AS_OF - timedelta(days=90)),
    }
    rows = worklist(books, AS_OF, lifecycles).rows
    promised = next(r for r in rows if r.invoice_id == prompt.invoice_id)
    assert promised.rank < prompt.rank and promised.urgency == pytest.approx(prompt.urgency + 1)
    assert "promise to pay falls due today" in promised.why
    disputed = next(r for r in rows if r.invoice_id == not_due.invoice_id)  # listed although not yet due
    assert disputed.urgency == pytest.approx(1 + 90 / 30)
    assert any(w.startswith("disputed for 90 days: damaged") for w in disputed.why)
    assert disputed.to_json()["stage"] == "paused" and promised.to_json()["owner"] == "ann@northwind.example"


def test_filters_by_owner_stage_and_grade() -> None:
    ledger = habits()
    books = Books.of(ledger.invoices, ledger.payments, AS_OF)
    rows = worklist(books, AS_OF).rows
    owned = {rows[0].invoice_id: facts(owner="Ann@Northwind.example", stage="escalated")}
    mine = worklist(books, AS_OF, owned, WorklistFilter(owner="ann@northwind.example")).rows
    assert [r.invoice_id for r in mine] == [rows[0].invoice_id] and mine[0].rank == 1
    nobodys = worklist(books, AS_OF, owned, WorklistFilter(owner=NOBODY)).rows
    assert rows[0].invoice_id not in {r.invoice_id for r in nobodys} and len(nobodys) == len(rows) - 1
    assert len(worklist(books, AS_OF, owned, WorklistFilter(stage="escalated")).rows) == 1
    grade_a = worklist(books, AS_OF, None, WorklistFilter(grades=frozenset("A"))).rows
    assert all(r.risk.grade == "A" for r in grade_a)


def test_each_currency_is_ranked_on_its_own() -> None:
    ledger = Ledger()
    ledger.invoice("YEN", AS_OF - timedelta(days=60), total="500000", currency="JPY")
    ledger.invoice("DOLLAR", AS_OF - timedelta(days=60), total="100.00")
    result = worklist(Books.of(ledger.invoices, ledger.payments, AS_OF), AS_OF)
    assert [(c.currency, [r.rank for r in c.rows]) for c in result.currencies] == [("JPY", [1]), ("USD", [1])]
    assert result.to_json()["currencies"][0]["invoices"][0]["at_stake"] == "353400"  # 500000 x 0.7068, whole yen
