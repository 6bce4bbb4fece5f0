"""`duecourse forecast` and `duecourse risk` on files: exact output shape, bad rows, exit codes, the as-of cut."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from workers.cli import main

REPO = Path(__file__).resolve().parents[3]
AS_OF = "2025-06-30"
INVOICE_HEADER = "invoice_id,invoice_number,customer_id,customer_name,currency,total,balance,issue_date,due_date"


def monthly(customer: str, currency: str, total: str, delay: int, count: int) -> tuple[list[str], list[str]]:
    """`count` paid invoices, 30 days apart from 2024-09-01 on 30-day terms, each paid `delay` days after due."""
    rows, paid = [], []
    for n in range(count):
        issued = date(2024, 9, 1) + timedelta(days=30 * n)
        due = issued + timedelta(days=30)
        invoice_id = f"{customer.lower()}{n + 1}"
        rows.append(f"{invoice_id},INV-{invoice_id},{customer},{customer} Ltd,{currency},{total},0,{issued},{due}")
        paid.append(f"P-{invoice_id},{invoice_id},{due + timedelta(days=delay)},{total}")
    return rows, paid


def book() -> tuple[str, str]:
    """A pays on the due date (USD), B 20 days late (JPY); open: a9 due 07-10, b9 due 07-01, c1 more than a year
    overdue, d1 part-paid in EUR."""
    a_rows, a_paid = monthly("A", "USD", "1000.00", 0, 8)
    b_rows, b_paid = monthly("B", "JPY", "150000", 20, 8)
    rows = [
        *a_rows,
        *b_rows,
        "a9,INV-a9,A,A Ltd,USD,1200.00,1200.00,2025-06-10,2025-07-10",
        "b9,INV-b9,B,B Ltd,JPY,150000,150000,2025-06-01,2025-07-01",
        "c1,INV-c1,C,C Ltd,USD,500.00,500.00,2024-01-15,2024-02-14",
        "d1,INV-d1,D,D Ltd,EUR,800.00,300.00,2025-05-01,2025-05-31",
    ]
    paid = [*a_paid, *b_paid, "P-d1,d1,2025-06-05,500.00"]
    return "\n".join([INVOICE_HEADER, *rows]) + "\n", "\n".join(["payment_id,invoice_id,date,amount", *paid]) + "\n"


def files(tmp_path: Path, invoices: str, paid: str) -> tuple[Path, Path]:
    invoices_csv, paid_csv = tmp_path / "INVOICES.csv", tmp_path / "PAID.csv"
    invoices_csv.write_text(invoices, encoding="utf-8")
    paid_csv.write_text(paid, encoding="utf-8")
    return invoices_csv, paid_csv


def run(*args: str | Path) -> int:
    return main([str(a) for a in args])


def test_forecast_writes_exactly_the_interface_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invoices_csv, paid_csv = files(tmp_path, *book())
    out = tmp_path / "FORECAST.json"
    assert run("forecast", "--invoices", invoices_csv, "--payments", paid_csv, "--as-of", AS_OF, "--out", out) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    assert set(document) == {"as_of", "forecasts", "invoices"}
    assert document["as_of"] == AS_OF
    assert [f["currency"] for f in document["forecasts"]] == ["EUR", "JPY", "USD"]
    for forecast in document["forecasts"]:
        assert set(forecast) == {"currency", "weeks", "days_30", "days_60", "days_90"}
        money = re.compile(r"\d+" if forecast["currency"] == "JPY" else r"\d+\.\d{2}")
        assert len(forecast["weeks"]) == 13
        for n, week in enumerate(forecast["weeks"]):
            assert set(week) == {"start", "end", "expected", "low", "high"}
            assert week["start"] == str(date(2025, 7, 1) + timedelta(days=7 * n))
            assert week["end"] == str(date(2025, 7, 7) + timedelta(days=7 * n))
            assert all(money.fullmatch(week[k]) for k in ("expected", "low", "high"))
            assert float(week["low"]) <= float(week["expected"]) <= float(week["high"])
        assert all(money.fullmatch(forecast[k]) for k in ("days_30", "days_60", "days_90"))
    # every invoice open on as-of, in file order, and nothing else
    predicted = {i["invoice_id"]: i for i in document["invoices"]}
    assert [i["invoice_id"] for i in document["invoices"]] == ["a9", "b9", "c1", "d1"]
    for invoice in document["invoices"]:
        assert set(invoice) == {"invoice_id", "expected_date", "expected_amount"}
    # A has paid every invoice on its due date; B 20 days late; C's debt is more than a year overdue
    assert predicted["a9"]["expected_date"] == "2025-07-10"
    assert predicted["b9"]["expected_date"] == "2025-07-21"
    assert predicted["c1"] == {"invoice_id": "c1", "expected_date": None, "expected_amount": "0.00"}
    assert 0 < float(predicted["d1"]["expected_amount"]) <= 300.00  # the part still owed, not the 800.00 billed
    by_currency = {f["currency"]: f for f in document["forecasts"]}
    assert float(by_currency["USD"]["days_30"]) <= 1200.00 + 500.00
    assert 1100.00 <= float(by_currency["USD"]["days_30"])
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "4 open invoices as of 2025-06-30" in captured.err


def test_risk_writes_exactly_the_interface_schema(tmp_path: Path) -> None:
    invoices_csv, paid_csv = files(tmp_path, *book())
    out = tmp_path / "RISK.json"
    assert run("risk", "--invoices", invoices_csv, "--payments", paid_csv, "--as-of", AS_OF, "--out", out) == 0
    scores = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(scores, list)
    assert sorted(s["customer_id"] for s in scores) == ["A", "B", "C", "D"]
    for entry in scores:
        assert set(entry) == {"customer_id", "score", "grade", "reasons"}
        assert isinstance(entry["score"], float) and 0.0 <= entry["score"] <= 1.0
        assert entry["grade"] in {"A", "B", "C", "D", "E"}
        assert 1 <= len(entry["reasons"]) <= 3 and all(isinstance(r, str) and r for r in entry["reasons"])
    assert [s["score"] for s in scores] == sorted((s["score"] for s in scores), reverse=True)
    by_id = {s["customer_id"]: s for s in scores}
    # C owes one invoice more than a year overdue; A pays on the day
    assert scores[0]["customer_id"] == "C" and by_id["C"]["score"] > 0.7
    assert by_id["A"]["score"] < 0.3
    assert by_id["A"]["score"] < by_id["B"]["score"]
    assert "paid 8 of 8 invoices late (over 5 days past due), on average 20 days after due" in by_id["B"]["reasons"]


def test_bad_rows_are_reported_with_file_line_and_column_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    invoices, paid = book()
    invoices += "e1,INV-e1,E,E Ltd,USD,abc,10.00,2025-06-01,2025-07-01\n"
    paid += (
        "P-x,a1,2025-13-01,10.00\n"  # line 19: not a date
        "P-y,a2,2025-01-01,-5.00\n"  # line 20: not positive
        "P-z,nope,2025-01-01,5.00\n"  # line 21: no such invoice
        "P-a1,a1,2024-10-01,1000.00\n"  # line 22: the same payment on the same invoice again
        "P-short,a3\n"  # line 23: too few fields
    )
    invoices_csv, paid_csv = files(tmp_path, invoices, paid)
    out = tmp_path / "FORECAST.json"
    code = run("forecast", "--invoices", invoices_csv, "--payments", paid_csv, "--as-of", AS_OF, "--out", out, "--json")
    assert code == 0
    captured = capsys.readouterr()
    err = captured.err
    assert f"{invoices_csv}: line 22, column total: 'abc' is not a decimal amount like 1250.00 (row skipped)" in err
    assert f"{paid_csv}: line 19, column date: '2025-13-01' is not a date YYYY-MM-DD (row skipped)" in err
    assert f"{paid_csv}: line 20, column amount: '-5.00' is not positive" in err
    assert f"{paid_csv}: line 21, column invoice_id: no invoice 'nope' in the invoices file" in err
    assert f"{paid_csv}: line 22, column payment_id: duplicate payment_id 'P-a1 on a1'" in err
    assert f"{paid_csv}: line 23, column date: row has 2 fields, header has 4" in err
    summary = json.loads(captured.out)
    assert summary["skipped_rows"] == 6
    assert {(e["file"], e["row"], e["column"]) for e in summary["row_errors"]} == {
        (str(invoices_csv), 22, "total"),
        (str(paid_csv), 19, "date"),
        (str(paid_csv), 20, "amount"),
        (str(paid_csv), 21, "invoice_id"),
        (str(paid_csv), 22, "payment_id"),
        (str(paid_csv), 23, "date"),
    }
    # the good rows still make the forecast
    assert [i["invoice_id"] for i in json.loads(out.read_text())["invoices"]] == ["a9", "b9", "c1", "d1"]


@pytest.mark.parametrize("command", ["forecast", "risk"])
def test_a_file_that_cannot_be_used_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    invoices, paid = book()
    no_amount = paid.replace("payment_id,invoice_id,date,amount", "payment_id,invoice_id,date")
    invoices_csv, paid_csv = files(tmp_path, invoices, no_amount)
    out = tmp_path / "OUT.json"
    assert run(command, "--invoices", invoices_csv, "--payments", paid_csv, "--as-of", AS_OF, "--out", out) == 2
    assert f"{paid_csv}: missing column amount" in capsys.readouterr().err
    assert not out.exists()
    missing = tmp_path / "nope.csv"
    assert run(command, "--invoices", missing, "--payments", paid_csv, "--as-of", AS_OF, "--out", out) == 2
    assert f"{tmp_path / 'nope.csv'}: cannot read" in capsys.readouterr().err
    assert not out.exists()


def test_incomplete_arguments_and_unwritable_output_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invoices_csv, paid_csv = files(tmp_path, *book())
    assert run("forecast", "--invoices", invoices_csv, "--payments", paid_csv, "--as-of", AS_OF) == 2
    assert "--out required" in capsys.readouterr().err
    out = tmp_path / "no-such-dir" / "FORECAST.json"
    assert run("forecast", "--invoices", invoices_csv, "--payments", paid_csv, "--as-of", AS_OF, "--out", out) == 2
    assert "cannot write" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        run("forecast", "--invoices", invoices_csv, "--payments", paid_csv, "--as-of", "30/06/2025", "--out", out)
    assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        run("forecast", "--invoices", invoices_csv, "--payments", paid_csv, "--as-of", AS_OF, "--weeks", "0")


@pytest.mark.parametrize("command", ["forecast", "risk"])
def test_rows_after_as_of_change_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    invoices, paid = book()
    clean = tmp_path / "clean"
    noisy = tmp_path / "noisy"
    clean.mkdir()
    noisy.mkdir()
    clean_files = files(clean, invoices, paid)
    noisy_files = files(
        noisy,
        invoices
        + "f1,INV-f1,A,A Ltd,USD,999.00,999.00,2025-07-01,2025-07-31\n"
        + "f2,INV-f2,NEWCO,Newco,GBP,50.00,50.00,2025-08-01,2025-08-31\n",
        paid + "P-late,a9,2025-07-02,1200.00\nP-f1,f1,2025-07-05,999.00\n",
    )
    outputs = []
    for (invoices_csv, paid_csv), folder in ((clean_files, clean), (noisy_files, noisy)):
        out = folder / "OUT.json"
        assert run(command, "--invoices", invoices_csv, "--payments", paid_csv, "--as-of", AS_OF, "--out", out) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    err = capsys.readouterr().err
    assert f"{noisy_files[0]}: 2 invoices issued after 2025-06-30 ignored" in err
    assert f"{noisy_files[1]}: 2 payment lines dated after 2025-06-30 (or on invoices issued after it) ignored" in err


def test_json_prints_exactly_one_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invoices_csv, paid_csv = files(tmp_path, *book())
    out = tmp_path / "RISK.json"
    code = run("risk", "--invoices", invoices_csv, "--payments", paid_csv, "--as-of", AS_OF, "--out", out, "--json")
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["customers"] == 4 and summary["out"] == str(out)
    assert sum(summary["grades"].values()) == 4
    assert summary["ignored_after_as_of"] == {"invoices": 0, "payments": 0}


def test_backtest_on_the_synthetic_history_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("forecast", "--backtest", "2", "--weeks", "4") == 0
    table = capsys.readouterr().out
    assert "backtest as of 2025-06-30 on the synthetic demo history (seed 7)" in table
    # the 90-day window needs 90 days of history after a month-end, whatever the weeks
    assert "2 month-ends 2025-02-28 .. 2025-03-31, 4 weeks each" in table
    for model in ("model", "due date", "customer average"):
        assert re.search(rf"^USD\s+{model}\s+\d+\.\d%", table, re.MULTILINE), model
    assert re.search(r'risk score AUC for "paid more than 30 days after due": 0\.\d{3}', table)
    assert run("forecast", "--backtest", "2", "--weeks", "4", "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["month_ends"] == ["2025-02-28", "2025-03-31"]
    assert {m["model"] for c in document["currencies"] for m in c["models"]} == {
        "model", "due_date", "customer_average"
    }


def test_backtest_on_files_needs_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invoices_csv, paid_csv = files(tmp_path, *book())
    assert run("forecast", "--backtest", "2", "--invoices", invoices_csv, "--payments", paid_csv) == 2
    assert "needs --invoices, --payments and --as-of" in capsys.readouterr().err
    on_files = ("forecast", "--invoices", invoices_csv, "--payments", paid_csv)
    code = run(*on_files, "--backtest", "2", "--as-of", "2024-03-01")
    assert code == 2  # the first invoice (c1) is from 2024-01-15: no month-end has 90 days after it by then
    assert "not enough history to backtest" in capsys.readouterr().err
    code = run("forecast", "--backtest", "1", "--invoices", invoices_csv, "--payments", paid_csv, "--as-of", AS_OF)
    assert code == 0
    assert "1 month-ends 2025-03-31 .. 2025-03-31" in capsys.readouterr().out


def test_the_duecourse_program_runs_both(tmp_path: Path) -> None:
    invoices_csv, paid_csv = files(tmp_path, *book())
    for command in ("forecast", "risk"):
        out = tmp_path / f"{command}.json"
        done = subprocess.run(
            [sys.executable, "-m", "workers.cli", command, "--invoices", str(invoices_csv), "--payments",
             str(paid_csv), "--as-of", AS_OF, "--out", str(out), "--json"],
            cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["out"] == str(out)
        assert out.exists()
