"""`duecourse report aging|kpis|forecast|worklist` against a dev stack's sandbox ledger (no Temporal needed: the
stack here is its `stack.json` and ledger file, its process gone) and on the batch files.

The book (as of 2025-06-30, USD unless said):
  Acme   1000.00 issued 04-01 due 05-01, paid 05-10 · 500.00 issued 05-15 due 06-14, paid 07-05 (after as-of)
         2000.00 issued 06-05 due 07-05, paid 06-25
  Bolt   2000.00 issued 03-01 due 03-31, 800.00 paid 04-15 · 300.00 issued 06-20 due 07-20
  Delft  EUR 900.00 issued 06-01 due 06-30
Aging on 06-30: USD current 300 (Bolt), 1-30 500 (Acme, 16 days), 90+ 1200 (Bolt, 91 days); EUR current 900.
June (30 days): USD opening 1700 (Acme 500 + Bolt 1200), sales 2300, closing 2000, current 300:
  DSO 2000/2300x30 = 26.1, best 300/2300x30 = 3.9, ADD 22.2, CEI (1700+2300-2000)/(1700+2300-300) = 54.1%.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.ledgers.sandbox import SandboxLedger
from workers.cli import main
from workers.settings import StackInfo, write_stack
from workflows.calendar import LedgerClock

AS_OF = "2025-06-30"


def gone_pid() -> int:
    """The id of a process that has ended: the stack is not running."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def build_books(ledger: SandboxLedger) -> dict[str, Any]:
    acme = ledger.add_customer("Acme", email="ap@acme.example")
    bolt = ledger.add_customer("Bolt", email="ap@bolt.example")
    delft = ledger.add_customer("Delft", email="ap@delft.example", currency="EUR")

    def invoice(customer: Any, amount: str, issued: str, due: str) -> str:
        made = ledger.add_invoice(customer.id, Decimal(amount), issue_date=date.fromisoformat(issued),
                                  due_date=date.fromisoformat(due))
        return str(made.id)

    a1 = invoice(acme, "1000.00", "2025-04-01", "2025-05-01")
    a2 = invoice(acme, "500.00", "2025-05-15", "2025-06-14")
    a3 = invoice(acme, "2000.00", "2025-06-05", "2025-07-05")
    b1 = invoice(bolt, "2000.00", "2025-03-01", "2025-03-31")
    invoice(bolt, "300.00", "2025-06-20", "2025-07-20")
    invoice(delft, "900.00", "2025-06-01", "2025-06-30")
    ledger.pay(a1, on=date(2025, 5, 10))
    ledger.pay(a2, on=date(2025, 7, 5))
    ledger.pay(a3, on=date(2025, 6, 25))
    ledger.pay(b1, Decimal("800.00"), on=date(2025, 4, 15))
    return {"acme": acme.id, "bolt": bolt.id, "delft": delft.id, "a2": a2, "b1": b1}


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    ledger = SandboxLedger(tmp_path / "sandbox.db")
    ids = build_books(ledger)
    now = datetime.now(UTC)
    write_stack(StackInfo(pid=gone_pid(), temporal_address="127.0.0.1:1", ui_url="http://127.0.0.1:1",
                          web_url="http://127.0.0.1:1", smtp_port=1, sandbox_db=str(tmp_path / "sandbox.db"),
                          database_url=f"sqlite:///{tmp_path / 'duecourse.db'}", sandbox_webhook_secret="s",
                          company_name="Northwind Studio", clock=LedgerClock(epoch_date=now.date(), epoch_instant=now)),
                tmp_path)
    monkeypatch.setenv("DUECOURSE_HOME", str(tmp_path))
    return ids


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[dict[str, Any], str]:
    assert main(["report", *args, "--json"]) == 0
    captured = capsys.readouterr()
    document: dict[str, Any] = json.loads(captured.out)  # exactly one JSON object, nothing else on stdout
    return document, captured.err


def test_aging_as_of_a_past_day(stack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    report, _ = run_json(capsys, "aging", "--as-of", AS_OF)
    assert report["as_of"] == AS_OF
    eur, usd = report["currencies"]
    assert usd["buckets"] == {"current": "300.00", "1-30": "500.00", "31-60": "0.00", "61-90": "0.00", "90+": "1200.00"}
    assert usd["total"] == "2000.00" and usd["open_invoices"] == 3
    by_name = {c["customer_name"]: c for c in usd["customers"]}
    assert by_name["Acme"]["customer_id"] == stack["acme"] and by_name["Acme"]["total"] == "500.00"
    assert by_name["Bolt"]["buckets"]["90+"] == "1200.00" and by_name["Bolt"]["buckets"]["current"] == "300.00"
    assert eur["currency"] == "EUR" and eur["total"] == "900.00" and eur["customers"][0]["customer_name"] == "Delft"


def test_aging_defaults_to_the_ledgers_today(stack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    report, _ = run_json(capsys, "aging")
    assert report["as_of"] == datetime.now(UTC).date().isoformat()
    usd = next(c for c in report["currencies"] if c["currency"] == "USD")
    assert {c["customer_name"] for c in usd["customers"]} == {"Bolt"}  # Acme's 500.00 was paid on 07-05
    assert usd["buckets"]["90+"] == "1500.00"


def test_kpis_by_hand(stack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    report, _ = run_json(capsys, "kpis", "--as-of", AS_OF, "--days", "30", "--months", "2")
    assert report["period"] == {"from": "2025-06-01", "to": AS_OF, "days": 30}
    usd = next(c for c in report["currencies"] if c["currency"] == "USD")
    assert (usd["opening_ar"], usd["sales"], usd["closing_ar"], usd["closing_current_ar"]) == (
        "1700.00", "2300.00", "2000.00", "300.00")
    assert (usd["dso"], usd["best_possible_dso"], usd["add"], usd["cei"]) == (26.1, 3.9, 22.2, 54.1)
    assert [m["month"] for m in usd["trend"]] == ["2025-05", "2025-06"]
    assert usd["trend"][1]["dso"] == 26.1


def test_forecast_shape(stack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    report, _ = run_json(capsys, "forecast", "--as-of", AS_OF)
    assert report["as_of"] == AS_OF and report["weeks"] == 13 and report["open_invoices"] == 4
    assert [c["currency"] for c in report["currencies"]] == ["EUR", "USD"]
    usd = report["currencies"][1]
    assert usd["weeks"][0]["start"] == "2025-07-01" and len(usd["weeks"]) == 13
    assert Decimal(usd["days_30"]) <= Decimal(usd["days_60"]) <= Decimal(usd["days_90"]) <= Decimal("2000.00")
    assert stack["a2"] in {i["invoice_id"] for i in report["invoices"]}  # open on 06-30: its payment came later


def test_worklist_without_a_running_stack_ranks_on_the_ledger(stack: dict[str, Any],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    report, err = run_json(capsys, "worklist", "--as-of", AS_OF)
    assert report["lifecycles"] is False and "is not running" in err
    [usd] = [c for c in report["currencies"] if c["currency"] == "USD"]
    ranked = [(row["rank"], row["invoice_id"], row["days_overdue"]) for row in usd["invoices"]]
    assert ranked == [(1, stack["b1"], 91), (2, stack["a2"], 16)]  # Bolt's not-yet-due 300.00 is not listed
    top = usd["invoices"][0]
    assert top["amount_due"] == "1200.00" and top["stage"] is None and "91 days overdue" in top["why"]
    assert Decimal(top["at_stake"]) == (Decimal("1200.00") * Decimal(str(top["risk_score"]))).quantize(Decimal("0.01"))
    assert all(c["currency"] != "EUR" for c in report["currencies"])  # Delft's invoice is due on as-of: not late


def test_tables_for_people(stack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "aging", "--as-of", AS_OF]) == 0
    text = capsys.readouterr().out
    assert "AR aging as of 2025-06-30" in text and "1,200.00" in text and "Bolt" in text and "EUR" in text
    assert main(["report", "kpis", "--as-of", AS_OF, "--days", "30"]) == 0
    assert "USD: DSO 26.1 days · best possible 3.9 · ADD 22.2 · CEI 54.1%" in capsys.readouterr().out
    assert main(["report", "worklist", "--as-of", AS_OF]) == 0
    assert "91 days overdue" in capsys.readouterr().out
    assert main(["report", "forecast", "--as-of", AS_OF]) == 0
    assert "expected in 30 days" in capsys.readouterr().out


def test_no_running_stack_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DUECOURSE_HOME", str(tmp_path / "empty"))
    for command in ("aging", "kpis", "forecast", "worklist"):
        assert main(["report", command, "--json"]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and "no running dev stack found" in captured.err and "duecourse dev" in captured.err


def test_a_bad_date_is_refused(stack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "aging", "--as-of", "30/06/2025"])
    assert exit_info.value.code == 2 and "not a date: '30/06/2025'" in capsys.readouterr().err


INVOICES_CSV = """invoice_id,invoice_number,customer_id,customer_name,currency,total,balance,issue_date,due_date
i1,INV-1,K,Kestrel,GBP,100.00,100.00,2025-05-01,2025-05-31
i2,INV-2,K,Kestrel,GBP,50.00,20.00,2025-06-01,2025-06-10
i3,INV-3,K,Kestrel,GBP,abc,1.00,2025-06-01,2025-06-10
i4,INV-4,L,Lark,GBP,70.00,70.00,2025-07-01,2025-07-31
"""
PAID_CSV = """payment_id,invoice_id,date,amount
p1,i2,2025-06-12,30.00
p2,i1,2025-07-02,100.00
"""


def test_files_instead_of_the_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DUECOURSE_HOME", str(tmp_path / "no-stack"))
    invoices, paid = tmp_path / "INVOICES.csv", tmp_path / "PAID.csv"
    invoices.write_text(INVOICES_CSV)
    paid.write_text(PAID_CSV)
    report, err = run_json(capsys, "aging", "--invoices", str(invoices), "--payments", str(paid), "--as-of", AS_OF)
    # As `duecourse forecast` reads them: balances are those of --as-of, later rows are ignored and said so.
    [gbp] = report["currencies"]
    assert gbp["buckets"]["1-30"] == "120.00" and gbp["total"] == "120.00"  # i1 30 days, i2 20 days past due
    assert "INVOICES.csv: line 4, column total" in err and "(row skipped)" in err
    assert "1 invoice issued after 2025-06-30 ignored" in err and "1 payment line dated after 2025-06-30" in err

    assert main(["report", "aging", "--invoices", str(invoices), "--payments", str(paid)]) == 2
    assert "--as-of missing" in capsys.readouterr().err
    assert main(["report", "kpis", "--invoices", str(tmp_path / "nope.csv"), "--payments", str(paid),
                 "--as-of", AS_OF]) == 2
    assert "nope.csv" in capsys.readouterr().err
