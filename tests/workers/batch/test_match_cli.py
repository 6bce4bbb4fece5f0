"""`duecourse match` and `duecourse bench match` through their real entry points, on files in tmp_path."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from workers.batch.match_cli import match_main
from workers.bench.match import bench_match_main

REPO = Path(__file__).resolve().parents[3]

INVOICES = """invoice_id,invoice_number,customer_id,customer_name,currency,total,balance,issue_date,due_date
in_1,INV-1042,C1,Acme Corporation Inc,USD,1250.00,1250.00,2025-02-01,2025-03-03
in_2,INV-1043,C1,Acme Corporation Inc,USD,310.50,310.50,2025-02-10,2025-03-12
in_3,INV-1044,C2,Globex GmbH,EUR,4800.00,4800.00,2025-02-12,2025-03-14
in_4,INV-1045,C3,O'Brien & Sons Ltd,USD,560.40,560.40,2025-02-15,2025-03-17
"""

PAYMENTS = """payment_id,date,amount,currency,payer_name,reference
p1,2025-03-20,1250.00,USD,ACME CORP,INV-1042
p2,2025-03-21,4800.00,EUR,GLOBEX,"REMITTANCE ADVICE
INV-1044   4,800.00
Total   4,800.00"
p3,2025-03-22,560.40,USD,OBRIEN AND SONS,
p4,2025-03-22,77.00,USD,JOHN SMITH,RENT
p5,2025-03-23,300.00,USD,ACME CORP,INV-1043 less 10.50 damaged
"""


def write(tmp_path: Path, invoices: str = INVOICES, payments: str = PAYMENTS) -> tuple[Path, Path, Path]:
    invoices_csv = tmp_path / "INVOICES.csv"
    payments_csv = tmp_path / "PAYMENTS.csv"
    invoices_csv.write_text(invoices, encoding="utf-8")
    payments_csv.write_text(payments, encoding="utf-8")
    return invoices_csv, payments_csv, tmp_path / "MATCHES.json"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers.batch.match_cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_match_writes_exactly_the_interface_schema(tmp_path: Path) -> None:
    invoices_csv, payments_csv, out = write(tmp_path)
    done = run_cli("--invoices", str(invoices_csv), "--payments", str(payments_csv), "--out", str(out))
    assert done.returncode == 0, done.stderr
    matches = json.loads(out.read_text(encoding="utf-8"))
    assert [m["payment_id"] for m in matches] == ["p1", "p2", "p3", "p4", "p5"]
    for match in matches:
        assert set(match) == {"payment_id", "decision", "confidence", "allocations", "explanation"}
        assert match["decision"] in {"auto", "review", "unmatched"}
        assert isinstance(match["confidence"], float) and 0.0 <= match["confidence"] <= 1.0
        assert isinstance(match["explanation"], str) and match["explanation"]
        for allocation in match["allocations"]:
            assert set(allocation) == {"invoice_id", "amount"}
            assert re.fullmatch(r"\d+\.\d{2}", allocation["amount"])
    by_id = {m["payment_id"]: m for m in matches}
    assert by_id["p1"]["decision"] == "auto"
    assert by_id["p1"]["allocations"] == [{"invoice_id": "in_1", "amount": "1250.00"}]
    assert by_id["p2"]["allocations"] == [{"invoice_id": "in_3", "amount": "4800.00"}]
    assert by_id["p3"]["decision"] == "auto"
    assert by_id["p4"]["decision"] == "unmatched" and by_id["p4"]["allocations"] == []
    assert by_id["p5"]["decision"] == "review"
    assert "damaged" in by_id["p5"]["explanation"]
    # the summary line, and no progress bar: stderr is a pipe here, not a terminal
    assert "5 payments matched: 3 auto, 1 review, 1 unmatched" in done.stderr
    assert "\r" not in done.stderr


def test_json_flag_prints_one_summary_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invoices_csv, payments_csv, out = write(tmp_path)
    code = match_main(["--invoices", str(invoices_csv), "--payments", str(payments_csv), "--out", str(out), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["payments"] == 5
    assert (summary["auto"], summary["review"], summary["unmatched"]) == (3, 1, 1)
    assert summary["skipped_rows"] == 0
    assert summary["out"] == str(out)


def test_a_bad_row_is_reported_with_file_line_and_column_and_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payments = (
        "payment_id,date,amount,currency,payer_name,reference\n"
        "p1,2025-03-20,1250.00,USD,ACME CORP,INV-1042\n"
        'p2,2025-03-20,"12,50",USD,ACME CORP,INV-1043\n'
        "p3,20/03/2025,310.50,USD,ACME CORP,INV-1043\n"
        "p4,2025-03-21,560.40,USD,OBRIEN AND SONS,\n"
    )
    invoices_csv, payments_csv, out = write(tmp_path, payments=payments)
    code = match_main(["--invoices", str(invoices_csv), "--payments", str(payments_csv), "--out", str(out), "--json"])
    assert code == 0
    captured = capsys.readouterr()
    assert f"{payments_csv}: line 3, column amount: '12,50' is not a decimal amount" in captured.err
    assert f"{payments_csv}: line 4, column date: '20/03/2025' is not a date YYYY-MM-DD" in captured.err
    assert "4 rows read, 2 skipped" in captured.err
    summary = json.loads(captured.out)
    assert summary["skipped_rows"] == 2
    assert summary["rows_read"]["payments"] == 4
    assert [(e["row"], e["column"]) for e in summary["row_errors"]] == [(3, "amount"), (4, "date")]
    assert [m["payment_id"] for m in json.loads(out.read_text())] == ["p1", "p4"]


def test_line_numbers_count_the_lines_of_a_multi_line_remittance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payments = PAYMENTS + "p6,2025-03-24,abc,USD,ACME CORP,\n"
    invoices_csv, payments_csv, out = write(tmp_path, payments=payments)
    assert match_main(["--invoices", str(invoices_csv), "--payments", str(payments_csv), "--out", str(out)]) == 0
    # header is line 1; p2's reference spans lines 3-5, so p6 is on line 9
    assert f"{payments_csv}: line 9, column amount:" in capsys.readouterr().err


def test_extra_columns_are_ignored_and_columns_may_come_in_any_order(tmp_path: Path) -> None:
    payments = (
        "reference,note,payer_name,currency,amount,date,payment_id\nINV-1042,x,ACME CORP,USD,1250.00,2025-03-20,p1\n"
    )
    invoices_csv, payments_csv, out = write(tmp_path, payments=payments)
    assert match_main(["--invoices", str(invoices_csv), "--payments", str(payments_csv), "--out", str(out)]) == 0
    assert json.loads(out.read_text())[0]["allocations"] == [{"invoice_id": "in_1", "amount": "1250.00"}]


def test_a_missing_column_is_a_clear_error_and_exit_2(tmp_path: Path) -> None:
    payments = "payment_id,date,amount,payer_name,reference\np1,2025-03-20,1250.00,ACME CORP,INV-1042\n"
    invoices_csv, payments_csv, out = write(tmp_path, payments=payments)
    done = run_cli("--invoices", str(invoices_csv), "--payments", str(payments_csv), "--out", str(out))
    assert done.returncode == 2
    assert f"{payments_csv}: missing column currency" in done.stderr
    assert not out.exists()


def test_an_unreadable_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invoices_csv, _, out = write(tmp_path)
    missing = tmp_path / "nope.csv"
    code = match_main(["--invoices", str(invoices_csv), "--payments", str(missing), "--out", str(out)])
    assert code == 2
    assert f"{missing}: cannot read" in capsys.readouterr().err


def test_an_empty_payments_file_writes_an_empty_list(tmp_path: Path) -> None:
    invoices_csv, payments_csv, out = write(tmp_path, payments="payment_id,date,amount,currency,payer_name,reference\n")
    assert match_main(["--invoices", str(invoices_csv), "--payments", str(payments_csv), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == []


def test_learned_aliases_file(tmp_path: Path) -> None:
    payments = "payment_id,date,amount,currency,payer_name,reference\np1,2025-03-20,310.50,USD,ZENITH HOLDINGS,\n"
    invoices_csv, payments_csv, out = write(tmp_path, payments=payments)
    aliases = tmp_path / "ALIASES.csv"
    aliases.write_text("payer_name,customer_id\nZenith Holdings,C1\n", encoding="utf-8")
    args = ["--invoices", str(invoices_csv), "--payments", str(payments_csv), "--out", str(out)]
    assert match_main([*args, "--aliases", str(aliases)]) == 0
    match = json.loads(out.read_text())[0]
    assert match["decision"] == "auto"
    assert "learned alias" in match["explanation"]


def test_auto_threshold_option(tmp_path: Path) -> None:
    invoices_csv, payments_csv, out = write(tmp_path)
    args = ["--invoices", str(invoices_csv), "--payments", str(payments_csv), "--out", str(out)]
    assert match_main([*args, "--auto-threshold", "1.0"]) == 0
    assert {m["decision"] for m in json.loads(out.read_text())} <= {"review", "unmatched"}


def test_bench_prints_the_figures_and_meets_precision_and_safety(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_match_main(["--payments", "300", "--invoices", "1500", "--repeat", "1"]) == 0
    text = capsys.readouterr().out
    for label in (
        "auto precision",
        "auto rate (of safe)",
        "suggestion accuracy",
        "unsafe auto-applies",
        "parse (floor)",
        "match / parse",
        "per noise kind",
    ):
        assert label in text
    assert "stranger" in text and "foreign_currency" in text


def test_bench_json_meets_the_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_match_main(["--payments", "300", "--invoices", "1500", "--seed", "7", "--repeat", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["payments"] == 300
    assert report["auto_precision"] >= 0.995
    assert report["unsafe_auto_applies"] == 0
    assert report["suggestion_accuracy"] >= 0.97
    assert report["auto_rate_of_safe"] >= 0.85
    assert report["parse_seconds"] > 0 and report["match_seconds"] > 0
    assert set(report["per_noise_kind"]) >= {"reference", "fee", "recurring", "short_deduction", "stranger", "alias"}
    for row in report["calibration"]:
        assert row["right"] is None or row["right"] >= row["confidence_at_least"]


def test_bench_via_python_dash_m() -> None:
    done = run_cli("bench", "--payments", "200", "--invoices", "1000", "--repeat", "1", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["unsafe_auto_applies"] == 0


def test_progress_bar_is_drawn_only_on_a_terminal(tmp_path: Path) -> None:
    pty = pytest.importorskip("pty")
    invoices_csv, payments_csv, out = write(tmp_path)
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "workers.batch.match_cli",
                "--invoices",
                str(invoices_csv),
                "--payments",
                str(payments_csv),
                "--out",
                str(out),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=300,
            check=False,
        )
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(leader)
    assert done.returncode == 0
    assert b"\rmatching [" in drawn
    assert b"5/5 payments" in drawn
