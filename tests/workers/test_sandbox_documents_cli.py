"""`duecourse sandbox customer add --credit-limit`, `sandbox estimate add|accept` and `sandbox time add`."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.ledger import EstimateStatus, EventOperation, Money
from adapters.ledgers.sandbox import SandboxLedger
from tests.workers.fake_stack import fake_stack_home
from workers.cli import main


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir whose stack.json points at a sandbox ledger file, as `duecourse dev` writes it."""
    return fake_stack_home(tmp_path, monkeypatch)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main([*argv, "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    parsed: dict[str, object] = json.loads(lines[0])
    return parsed


def test_a_customer_with_a_credit_limit_an_estimate_and_its_acceptance(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = run_json(capsys, "sandbox", "customer", "add", "Fabrikam", "--credit-limit", "2500",
                        "--currency", "EUR", "--terms-days", "14")
    estimate = run_json(capsys, "sandbox", "estimate", "add", "--customer", str(customer["customer_id"]),
                        "--amount", "1800.50")
    assert main(["sandbox", "estimate", "accept", str(estimate["estimate_id"])]) == 0
    assert capsys.readouterr().out.strip() == "EST-1001 accepted"

    ledger = SandboxLedger(home / "sandbox.db")
    try:
        assert ledger.get_customer("C-1001").credit_limit == Money.of("2500", "EUR")
        stored = ledger.get_estimate(str(estimate["estimate_id"]))
        events = [(e.entity, e.operation) for _, e in ledger.events()]
    finally:
        ledger.close()
    assert (estimate["estimate_id"], estimate["estimate_number"]) == ("E-5001", "EST-1001")
    assert (stored.status, stored.total, stored.customer_id) == (EstimateStatus.ACCEPTED, Money.of("1800.50", "EUR"),
                                                                 "C-1001")
    assert events[-1] == ("Estimate", EventOperation.UPDATE)


def test_a_time_entry_on_a_given_day(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, "sandbox", "customer", "add", "Contoso")
    entry = run_json(capsys, "sandbox", "time", "add", "--customer", "C-1001", "--hours", "2.5", "--rate", "90",
                     "--description", "Workshop", "--date", "2025-03-03")
    assert entry["time_entry_id"] == "T-6001"
    ledger = SandboxLedger(home / "sandbox.db")
    try:
        [stored] = ledger.list_time_entries("C-1001", unbilled_only=True)
    finally:
        ledger.close()
    assert (stored.date, stored.hours, stored.rate, stored.description) == (
        date(2025, 3, 3), Decimal("2.5"), Money.of("90", "USD"), "Workshop")


@pytest.mark.parametrize(("argv", "message"), [
    (["sandbox", "customer", "add", "X", "--credit-limit", "-1"], "credit limit must be zero or more"),
    (["sandbox", "estimate", "add", "--customer", "C-1001", "--amount", "abc"], "not an amount"),
    (["sandbox", "time", "add", "--customer", "C-1001", "--hours", "30", "--rate", "10", "--description", "x"],
     "at most 24"),
    (["sandbox", "time", "add", "--customer", "C-1001", "--hours", "1", "--rate", "10", "--description", "x",
      "--date", "03/03/2025"], "not a date"),
])
def test_bad_arguments_exit_2_with_the_reason(home: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                              message: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_what_the_ledger_refuses_exits_2_and_changes_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "estimate", "add", "--customer", "C-404", "--amount", "10"]) == 2
    assert "customer 'C-404' not found" in capsys.readouterr().err
    run_json(capsys, "sandbox", "customer", "add", "Contoso")
    assert main(["sandbox", "estimate", "add", "--customer", "C-1001", "--amount", "10.001"]) == 2
    assert "more decimal places than USD has" in capsys.readouterr().err
    assert main(["sandbox", "estimate", "accept", "E-5009"]) == 2
    assert "estimate 'E-5009' not found" in capsys.readouterr().err
    ledger = SandboxLedger(home / "sandbox.db")
    try:
        assert ledger.list_estimates() == []
    finally:
        ledger.close()
