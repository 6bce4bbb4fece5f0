"""`duecourse bank import`: a statement's credits become sandbox bank lines (announced like any deposit), once."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.ledgers.sandbox import SandboxLedger
from tests.workers.fake_stack import fake_stack_home
from workers.bank_cli import NO_PAYER, import_statement
from workers.batch.payments_in import read_payment_file
from workers.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "adapters" / "bank_files" / "fixtures"


def _import(ledger: SandboxLedger, path: Path) -> object:
    return import_statement(ledger, read_payment_file(path), str(path))


def _created_bank_lines(ledger: SandboxLedger) -> list[str]:
    return [event.entity_id for _, event in ledger.events() if event.entity == "BankLine"]


@pytest.mark.parametrize(
    ("name", "lines", "credits", "debits", "unbooked", "bad"),
    [
        ("camt053_v08.xml", 9, 6, 2, 1, 0),
        ("camt053_v02.xml", 2, 1, 1, 0, 0),
        ("statement.bai", 9, 7, 1, 0, 1),
        ("statement.sta", 9, 7, 2, 0, 0),
        ("statement_v1.ofx", 5, 4, 1, 0, 0),
        ("statement_v2.ofx", 5, 3, 2, 0, 0),
    ],
)
def test_each_format_books_its_credits_once_and_a_second_import_adds_nothing(
    tmp_path: Path, name: str, lines: int, credits: int, debits: int, unbooked: int, bad: int
) -> None:
    ledger = SandboxLedger(tmp_path / "sandbox.db")

    first = import_statement(ledger, read_payment_file(FIXTURES / name), name)
    again = import_statement(ledger, read_payment_file(FIXTURES / name), name)

    counts = (first.lines, first.credits, first.imported, first.already_imported, first.skipped_debits,
              first.skipped_unbooked, len(first.problems))
    assert counts == (lines, credits, credits, 0, debits, unbooked, bad)
    assert (again.imported, again.already_imported, again.bank_line_ids) == (0, credits, [])
    assert f"{credits} credit{'s' if credits > 1 else ''}: 0 new, {credits} already imported" in again.summary()
    # one bank line per credit, each announced once, as `sandbox receive` does
    assert [line.id for line in ledger.list_bank_lines()] == first.bank_line_ids
    assert _created_bank_lines(ledger) == first.bank_line_ids


def test_the_bank_lines_carry_date_amount_payer_and_the_references_cash_application_reads(tmp_path: Path) -> None:
    ledger = SandboxLedger(tmp_path / "sandbox.db")

    report = import_statement(ledger, read_payment_file(FIXTURES / "statement.sta"), "statement.sta")

    booked = [ledger.get_bank_line(i) for i in report.bank_line_ids]
    assert [(b.date, b.amount.amount, b.amount.currency, b.payer_name, b.reference) for b in booked] == [
        (date(2025, 3, 4), Decimal("1250.00"), "EUR", "ACME Industrie GmbH",
         "INV-1042 Lieferung Februar 2025\nE2E-ACME-0001"),
        (date(2025, 3, 4), Decimal("1000.00"), "EUR", "Globex Europe B.V.", "INV-1043\nGLOBEX-PAY-77"),
        (date(2025, 3, 5), Decimal("530.50"), "EUR", "Initech SARL", "Facture 1044"),
        (date(2025, 3, 4), Decimal("500.00"), "EUR", "Umbrella AG", "RF52INV1046\nUMB-2025-0311"),
        (date(2025, 3, 4), Decimal("40.00"), "EUR", NO_PAYER, "Refund of fee charged in error"),
        (date(2025, 1, 2), Decimal("560.40"), "USD", NO_PAYER,
         "OBRIEN AND SONS LTD / PAYMENT OF INVOICE 1045 / ORDER 99812 / DELIVERY FEBRUARY 2025"),
        (date(2025, 1, 2), Decimal("310.50"), "USD", "WAYNE ENTERPRISES",
         "INV 1047 thank you\nWAYNE ENTERPRISES\nWAYNE-0001"),
    ]


def test_an_overlapping_statement_books_only_its_new_lines(tmp_path: Path) -> None:
    ledger = SandboxLedger(tmp_path / "sandbox.db")
    import_statement(ledger, read_payment_file(FIXTURES / "statement.sta"), "first.sta")
    text = (FIXTURES / "statement.sta").read_bytes().decode()
    overlapping = tmp_path / "export.sta"
    overlapping.write_bytes(text.replace(":28C:00012/001", ":28C:0").replace(
        ":60F:C241230USD2000,00", ":60F:C241229USD1500,00\r\n:61:2412300101C500,00NTRFNONREF\r\n:86:EARLIER").encode())

    report = import_statement(ledger, read_payment_file(overlapping), str(overlapping))

    assert (report.imported, report.already_imported) == (1, 7)
    [new] = [ledger.get_bank_line(i) for i in report.bank_line_ids]
    assert (new.date, new.amount.amount, new.reference) == (date(2025, 1, 1), Decimal("500.00"), "EARLIER")


def test_the_imported_keys_outlive_the_process_and_leave_earlier_deposits_alone(tmp_path: Path) -> None:
    database = tmp_path / "sandbox.db"
    before = SandboxLedger(database)
    earlier = before.receive(Decimal("99.00"), "Walk-in customer", on=date(2025, 3, 1))
    import_statement(before, read_payment_file(FIXTURES / "statement_v1.ofx"), "v1.ofx")
    before.close()

    reopened = SandboxLedger(database)
    report = import_statement(reopened, read_payment_file(FIXTURES / "statement_v1.ofx"), "v1.ofx")

    assert (report.imported, report.already_imported) == (0, 4)
    assert [line.id for line in reopened.list_bank_lines()] == [earlier.id, "B-4002", "B-4003", "B-4004", "B-4005"]


def test_a_payments_csv_imports_too_its_refunds_skipped_and_a_line_the_ledger_refuses_reported(
    tmp_path: Path,
) -> None:
    payments = tmp_path / "PAYMENTS.csv"
    payments.write_text(
        "payment_id,date,amount,currency,payer_name,reference\n"
        "p1,2025-03-04,1250.00,USD,ACME CORP,INV-1042\n"
        "p2,2025-03-04,-20.00,USD,ACME CORP,refund\n"
        "p3,2025-03-04,100.50,JPY,Sakura,INV-3001\n"
        "p4,2025-03-05,310.50,USD,,INV-1047\n",
        encoding="utf-8",
    )
    ledger = SandboxLedger(tmp_path / "sandbox.db")

    report = import_statement(ledger, read_payment_file(payments), str(payments))

    assert (report.format, report.lines, report.credits, report.imported, report.skipped_debits) == (
        "csv", 4, 3, 2, 1)
    [refused] = report.problems
    assert (refused.column, "has more decimal places than JPY has" in refused.message) == ("payment p3", True)
    assert [(b.payer_name, b.reference) for b in ledger.list_bank_lines()] == [
        ("ACME CORP", "INV-1042"), (NO_PAYER, "INV-1047")]
    assert import_statement(ledger, read_payment_file(payments), str(payments)).imported == 0


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir whose stack.json points at a sandbox ledger file, as `duecourse dev` writes it."""
    return fake_stack_home(tmp_path, monkeypatch)


def test_the_command_prints_one_json_object_and_says_so_when_nothing_is_new(
    stack: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    statement = str(FIXTURES / "camt053_v08.xml")

    assert main(["bank", "import", statement, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["bank", "import", statement]) == 0
    again = capsys.readouterr().out

    assert first == {
        "file": statement, "format": "camt.053", "lines": 9, "credits": 6, "imported": 6, "already_imported": 0,
        "skipped_debits": 2, "skipped_unbooked": 1, "bad_lines": 0,
        "bank_line_ids": ["B-4001", "B-4002", "B-4003", "B-4004", "B-4005", "B-4006"], "problems": [],
    }
    assert again.strip() == (f"{statement} (CAMT.053): 9 lines, 6 credits: 0 new, 6 already imported; "
                             "2 debits not imported, 1 not booked by the bank")


def test_a_malformed_file_exits_2_naming_file_line_and_field_and_books_nothing(
    stack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.sta"
    broken.write_bytes((FIXTURES / "statement.sta").read_bytes().replace(b"13105,50\r\n:64:", b"13105,51\r\n:64:"))

    assert main(["bank", "import", str(broken), "--json"]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"duecourse bank import: error: {broken}: line 25, field 62F: closing balance")
    assert SandboxLedger(stack / "sandbox.db").list_bank_lines() == []


def test_a_file_in_no_known_format_exits_2(stack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    letter = tmp_path / "letter.txt"
    letter.write_text("We paid invoice 1042 yesterday.\n", encoding="utf-8")

    assert main(["bank", "import", str(letter)]) == 2
    assert "not a CAMT.053, BAI2, MT940 or OFX statement nor a PAYMENTS.csv" in capsys.readouterr().err
