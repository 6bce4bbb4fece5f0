"""`duecourse fees` through the real entry point (`workers.cli.main`), on files in tmp_path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from workers.cli import main

HEADER = "invoice_id,invoice_number,customer_id,customer_name,currency,total,balance,issue_date,due_date\n"

# As of 29 April 2024, GB. Bank Rate on 31 December 2023 was 5.25 %, so every debt here that started
# accruing in January-June 2024 runs at 13.25 %.
INVOICES = HEADER + """\
uk_b,INV-2,C1,Acme Ltd,GBP,5000.00,5000.00,2024-02-14,2024-03-15
uk_a,INV-1,C1,Acme Ltd,GBP,999.99,999.99,2024-02-01,2024-03-01
uk_c,INV-3,C2,Borough Cafe,GBP,12000.00,12000.00,2024-02-01,2024-03-01
paid,INV-4,C2,Borough Cafe,GBP,100.00,0.00,2024-02-01,2024-03-01
due_today,INV-5,C2,Borough Cafe,GBP,100.00,100.00,2024-03-01,2024-04-29
not_due,INV-6,C2,Borough Cafe,GBP,100.00,100.00,2024-03-01,2024-05-15
"""
# Unsorted, one exact repeat: the table a person pastes together from the Bank's page.
RATES = """effective_date,rate_percent
2024-08-01,5.00
2023-08-03,5.25
2022-12-15,3.50
2023-08-03,5.25
2023-06-22,5.00
"""
FIELDS = {"invoice_id", "currency", "days_late", "rate_percent", "interest", "compensation"}


def files(tmp_path: Path, invoices: str = INVOICES, rates: str = RATES) -> tuple[str, str, Path]:
    (tmp_path / "INVOICES.csv").write_text(invoices, encoding="utf-8")
    (tmp_path / "RATES.csv").write_text(rates, encoding="utf-8")
    return str(tmp_path / "INVOICES.csv"), str(tmp_path / "RATES.csv"), tmp_path / "FEES.json"


def fees(invoices: str, rates: str | None, out: Path, jurisdiction: str = "GB", as_of: str = "2024-04-29",
         *extra: str) -> int:
    argv = ["fees", "--invoices", invoices, "--jurisdiction", jurisdiction, "--as-of", as_of, "--out", str(out),
            *extra]
    if rates is not None:
        argv += ["--rates", rates]
    return main(argv)


def test_fees_writes_exactly_the_interface_with_hand_computed_figures(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invoices, rates, out = files(tmp_path)
    assert fees(invoices, rates, out) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(written, list)
    for entry in written:
        assert set(entry) == FIELDS
        assert isinstance(entry["days_late"], int)
        assert all(isinstance(entry[k], str) for k in ("invoice_id", "currency", "rate_percent", "interest",
                                                        "compensation"))
        assert re.fullmatch(r"\d+\.\d{2}", entry["interest"]) and re.fullmatch(r"\d+\.\d{2}", entry["compensation"])
    # Oldest due date first, then invoice id; paid, due-today and not-yet-due invoices are not listed.
    # uk_a: 999.99 x 13.25 % x 59 / 365 = 21.4176 -> 21.42, under £1,000: £40
    # uk_c: 12,000 x 13.25 % x 59 / 365 = 257.0137 -> 257.01, £10,000 or more: £100
    # uk_b: 5,000 x 13.25 % x 45 / 365 = 81.6781 -> 81.68, £70
    assert written == [
        {"invoice_id": "uk_a", "currency": "GBP", "days_late": 59, "rate_percent": "13.25", "interest": "21.42",
         "compensation": "40.00"},
        {"invoice_id": "uk_c", "currency": "GBP", "days_late": 59, "rate_percent": "13.25", "interest": "257.01",
         "compensation": "100.00"},
        {"invoice_id": "uk_b", "currency": "GBP", "days_late": 45, "rate_percent": "13.25", "interest": "81.68",
         "compensation": "70.00"},
    ]
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "3 overdue on 2024-04-29 (GB)" in captured.err and "1 repeated" in captured.err


def test_json_prints_one_summary_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invoices, rates, out = files(tmp_path)
    assert fees(invoices, rates, out, "GB", "2024-04-29", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["overdue"] == 3 and summary["out"] == str(out)
    assert summary["totals"] == [{"currency": "GBP", "invoices": 3, "interest": "360.11", "compensation": "210.00"}]


def test_bad_rows_are_reported_with_file_line_and_column_and_skipped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invoices, rates, out = files(
        tmp_path,
        invoices=HEADER + "good,INV-1,C1,Acme,GBP,5000.00,5000.00,2024-02-14,2024-03-15\n"
                          "bad_due,INV-2,C1,Acme,GBP,10.00,10.00,2024-02-14,15/03/2024\n"
                          "bad_balance,INV-3,C1,Acme,GBP,10.00,ten,2024-02-14,2024-03-15\n",
        rates=RATES + "2024-13-01,5.00\n2023-01-05,five\n2023-02-01\n")
    assert fees(invoices, rates, out) == 0
    err = capsys.readouterr().err
    assert f"{invoices}: line 3, column due_date: '15/03/2024' is not a date" in err
    assert f"{invoices}: line 4, column balance: 'ten' is not a decimal amount" in err
    assert f"{rates}: line 7, column effective_date: '2024-13-01' is not a date" in err
    assert f"{rates}: line 8, column rate_percent: 'five' is not a percentage" in err
    assert f"{rates}: line 9, column rate_percent:" in err
    assert [entry["invoice_id"] for entry in json.loads(out.read_text())] == ["good"]


def test_a_date_given_two_rates_stops_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invoices, rates, out = files(tmp_path, rates=RATES + "2023-08-03,5.50\n")
    assert fees(invoices, rates, out) == 2
    err = capsys.readouterr().err
    assert f"{rates}: line 7" in err and "2023-08-03" in err and "5.50" in err and "line 3" in err
    assert not out.exists()


def test_rates_in_any_order_give_the_same_fees(tmp_path: Path) -> None:
    invoices, rates, out = files(tmp_path)
    assert fees(invoices, rates, out) == 0
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    lines = RATES.splitlines()
    _, rates_sorted, out_sorted = files(shuffled, rates="\n".join([lines[0], *sorted(set(lines[1:]))]) + "\n")
    assert fees(invoices, rates_sorted, out_sorted) == 0
    assert out.read_text() == out_sorted.read_text()


def test_a_rate_older_than_the_table_is_an_error_not_a_guess(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Due 15 March 2024: GB needs Bank Rate on 31 December 2023, and this table starts in 2024.
    invoices, rates, out = files(tmp_path, rates="effective_date,rate_percent\n2024-01-01,5.25\n")
    assert fees(invoices, rates, out) == 2
    err = capsys.readouterr().err
    assert "uk_b" in err and "2023-12-31" in err and "2024-01-01" in err
    assert not out.exists()


def test_an_as_of_before_the_first_rate_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invoices, rates, out = files(tmp_path)
    for jurisdiction in ("GB", "EU"):
        assert fees(invoices, rates, out, jurisdiction, "2022-12-14") == 2
        assert "--as-of 2022-12-14" in capsys.readouterr().err
    assert not out.exists()


def test_eu_splits_the_delay_at_the_half_year(tmp_path: Path) -> None:
    # ECB main refinancing rate 4.50 on 1 January 2024, 4.25 from 12 June (so on 1 July).
    # EUR 10,000 due 31 May: 30 days at 12.50 % + 60 days at 12.25 % = 11,100,000 / 36,500 = 304.11; Art. 6: EUR 40.
    invoices, rates, out = files(
        tmp_path, invoices=HEADER + "eu_1,F-1,C9,Zeta SA,EUR,10000.00,10000.00,2024-05-01,2024-05-31\n",
        rates="effective_date,rate_percent\n2024-06-12,4.25\n2023-09-20,4.50\n")
    assert fees(invoices, rates, out, "EU", "2024-08-29") == 0
    assert json.loads(out.read_text()) == [{"invoice_id": "eu_1", "currency": "EUR", "days_late": 90,
                                            "rate_percent": "12.25", "interest": "304.11", "compensation": "40.00"}]


def test_jurisdiction_none_lists_the_delay_and_needs_no_rates(tmp_path: Path) -> None:
    yen = "jp_1,J-1,C7,Kabu KK,JPY,50000,50000,2024-03-01,2024-03-31\n"
    invoices, _, out = files(tmp_path, invoices=INVOICES + yen)
    assert fees(invoices, None, out, "none") == 0
    written = json.loads(out.read_text())
    assert [e["invoice_id"] for e in written] == ["uk_a", "uk_c", "uk_b", "jp_1"]
    assert written[3] == {"invoice_id": "jp_1", "currency": "JPY", "days_late": 29, "rate_percent": "0",
                          "interest": "0", "compensation": "0"}
    assert {(e["interest"], e["compensation"]) for e in written[:3]} == {("0.00", "0.00")}


def test_three_decimal_and_zero_decimal_currencies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 12.50 % (4.50 + 8) for one day: KWD 36.500 -> 0.0125 -> 0.013; ¥36,500 -> 12.5 -> 13 (half up).
    invoices, rates, out = files(
        tmp_path, invoices=HEADER + "kw,K-1,C1,Gulf Co,KWD,36.500,36.500,2024-03-01,2024-03-15\n"
                                    "jp,J-1,C2,Kabu KK,JPY,36500,36500,2024-03-01,2024-03-15\n",
        rates="effective_date,rate_percent\n2023-09-20,4.50\n")
    assert fees(invoices, rates, out, "EU", "2024-03-16") == 0
    written = {e["invoice_id"]: e for e in json.loads(out.read_text())}
    assert (written["kw"]["interest"], written["kw"]["compensation"]) == ("0.013", "0.000")
    assert (written["jp"]["interest"], written["jp"]["compensation"]) == ("13", "0")
    err = capsys.readouterr().err
    # The directive's EUR 40 is not converted with a guessed exchange rate: the person is told.
    assert "invoice kw (KWD): compensation not included" in err and "invoice jp (JPY)" in err


@pytest.mark.parametrize("jurisdiction", ["GB", "EU"])
def test_gb_and_eu_need_the_rates_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], jurisdiction: str) -> None:
    invoices, _, out = files(tmp_path)
    assert fees(invoices, None, out, jurisdiction) == 2
    assert "--rates RATES.csv is required" in capsys.readouterr().err


def test_unusable_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    invoices, rates, out = files(tmp_path)
    assert fees(str(tmp_path / "missing.csv"), rates, out) == 2
    assert "missing.csv: cannot read" in capsys.readouterr().err
    (tmp_path / "NORATE.csv").write_text("effective_date,rate\n2024-01-01,5\n", encoding="utf-8")
    assert fees(invoices, str(tmp_path / "NORATE.csv"), out) == 2
    assert "missing column rate_percent" in capsys.readouterr().err
    (tmp_path / "EMPTY.csv").write_text("effective_date,rate_percent\n", encoding="utf-8")
    assert fees(invoices, str(tmp_path / "EMPTY.csv"), out) == 2
    assert "holds no usable rate" in capsys.readouterr().err
    assert fees(invoices, rates, tmp_path / "no-such-dir" / "FEES.json") == 2
    assert "cannot write" in capsys.readouterr().err
    assert not out.exists()


def test_bad_arguments_are_usage_errors(tmp_path: Path) -> None:
    invoices, rates, out = files(tmp_path)
    with pytest.raises(SystemExit) as usage:
        fees(invoices, rates, out, "US")
    assert usage.value.code == 2
    with pytest.raises(SystemExit) as usage:
        fees(invoices, rates, out, "GB", "29/04/2024")
    assert usage.value.code == 2
