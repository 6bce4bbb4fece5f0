"""`duecourse match --payments` with a bank statement: the same decisions as the same credits typed into a
PAYMENTS.csv by hand (credits only; payment_id the line's stable key; reference the remittance text and then
the structured references)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from activities.cash_matching.model import IncomingPayment
from workers.batch.csv_io import read_payments
from workers.batch.match_cli import match_main
from workers.batch.payments_in import read_payment_file

FIXTURES = Path(__file__).resolve().parents[2] / "adapters" / "bank_files" / "fixtures"

INVOICES = """invoice_id,invoice_number,customer_id,customer_name,currency,total,balance,issue_date,due_date
in_1042,INV-1042,C1,ACME Industrie GmbH,EUR,1250.00,1250.00,2025-02-01,2025-03-03
in_1043,INV-1043,C2,Globex Europe B.V.,EUR,1000.00,1000.00,2025-02-03,2025-03-05
in_1044,INV-1044,C3,Initech SARL,EUR,530.50,530.50,2025-02-04,2025-03-06
in_1046,INV-1046,C4,Umbrella AG,EUR,500.00,500.00,2025-02-05,2025-03-07
in_1045,INV-1045,C5,O'Brien & Sons Ltd,USD,560.40,560.40,2025-02-06,2025-03-08
in_1047,INV-1047,C6,Wayne Enterprises,USD,310.50,310.50,2025-02-07,2025-03-09
in_1048,INV-1048,C7,Stark Retail,USD,250.00,250.00,2025-02-08,2025-03-10
in_1049,INV-1049,C7,Stark Retail,USD,250.00,250.00,2025-02-09,2025-03-11
in_2002,INV-2002,C8,Hooli UK Limited,GBP,4800.00,4800.00,2025-03-01,2025-03-31
in_3001,INV-3001,C9,Kabushiki Kaisha Sakura,JPY,150000,150000,2025-03-01,2025-03-31
in_3002,INV-3002,C10,Sakura Trading,JPY,50000,50000,2025-03-02,2025-04-01
in_3003,INV-3003,C10,Sakura Trading,JPY,32500,32500,2025-03-03,2025-04-02
"""
HEADER = "payment_id,date,amount,currency,payer_name,reference\n"

# Each statement's credits as a clerk would type them from the statement (debits and pending entries left out).
TYPED = {
    "camt053_v08.xml": """p1,2025-03-04,1250.00,EUR,ACME Industrie GmbH,"INV-1042
E2E-ACME-0001"
p2,2025-03-04,1000.00,EUR,Globex Europe B.V.,"INV-1043
GLOBEX-PAY-77"
p3,2025-03-04,530.50,EUR,Initech SARL,Facture 1044
p4,2025-03-04,500.00,EUR,Umbrella AG,"RF52INV1046
UMB-2025-0311"
p5,2025-03-04,560.40,USD,O'Brien & Sons Ltd,Payment for invoice 1045
p6,2025-03-04,310.50,USD,WAYNE ENTERPRISES,"INV 1047
thank you
ACH CREDIT WAYNE ENTERPRISES"
""",
    "camt053_v02.xml": """p1,2025-04-11,4800.00,GBP,Hooli UK Limited,"RF42INV2002
HOOLI-2025-04-INV2002"
""",
    "statement.bai": "p1,2025-03-03,1250.00,USD,ACME CORP,ACH CREDIT ORIG CO NAME:ACME CORP ORIG ID:1234567890 "
    """ENTRY DESCR:PAYMENT IND ID:INV-1042
p2,2025-03-03,560.40,USD,O'BRIEN & SONS LTD,WIRE IN B/O: O'BRIEN & SONS LTD REF: INV 1045
p3,2025-03-03,10000.00,USD,,"LOCKBOX DEPOSIT 3 ITEMS, INV-1043, INV-1044
LOCKBOX 4471"
p4,2025-03-03,7224.80,USD,,DEPOSIT RF18539007547034
p5,2025-03-03,310.50,CAD,WAYNE ENTERPRISES,ACH CREDIT ORIG CO NAME:WAYNE ENTERPRISES
p6,2025-03-04,250.00,USD,STARK RETAIL,ACH CREDIT ORIG CO NAME:STARK RETAIL ORIG ID:9988776655
p7,2025-03-04,250.00,USD,STARK RETAIL,ACH CREDIT ORIG CO NAME:STARK RETAIL ORIG ID:9988776655
""",
    "statement.sta": """p1,2025-03-04,1250.00,EUR,ACME Industrie GmbH,"INV-1042 Lieferung Februar 2025
E2E-ACME-0001"
p2,2025-03-04,1000.00,EUR,Globex Europe B.V.,"INV-1043
GLOBEX-PAY-77"
p3,2025-03-05,530.50,EUR,Initech SARL,Facture 1044
p4,2025-03-04,500.00,EUR,Umbrella AG,"RF52INV1046
UMB-2025-0311"
p5,2025-03-04,40.00,EUR,,Refund of fee charged in error
p6,2025-01-02,560.40,USD,,OBRIEN AND SONS LTD / PAYMENT OF INVOICE 1045 / ORDER 99812 / DELIVERY FEBRUARY 2025
p7,2025-01-02,310.50,USD,WAYNE ENTERPRISES,"INV 1047 thank you
WAYNE ENTERPRISES
WAYNE-0001"
""",
    "statement_v1.ofx": """p1,2025-03-03,1250.00,USD,ACME CORP,INV-1042 & thanks
p2,2025-03-03,560.40,USD,O'BRIEN & SONS LTD,Payment for invoice 1045
p3,2025-03-04,7224.80,USD,Northwind Traders Savings 4100777000,DEPOSIT RF18539007547034
p4,2025-03-03,310.50,CAD,WAYNE ENTERPRISES,INV 1047
""",
    "statement_v2.ofx": """p1,2025-04-02,150000,JPY,Kabushiki Kaisha Sakura,INV-3001
p2,2025-04-03,82500,JPY,Sakura Trading,Invoices INV-3002 & INV-3003
p3,2025-04-04,89.00,USD,SOFTWARE SUBSCRIPTION,Refund
""",
}


def _match(tmp_path: Path, payments: Path, capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, Any]],
                                                                                      dict[str, Any], str]:
    invoices = tmp_path / "INVOICES.csv"
    invoices.write_text(INVOICES, encoding="utf-8")
    out = tmp_path / f"{payments.name}.json"
    assert match_main(["--invoices", str(invoices), "--payments", str(payments), "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(out.read_text(encoding="utf-8")), json.loads(captured.out), captured.err


@pytest.mark.parametrize("name", sorted(TYPED))
def test_a_statement_gets_the_decisions_its_credits_get_as_a_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    typed = tmp_path / "PAYMENTS.csv"
    typed.write_text(HEADER + TYPED[name], encoding="utf-8")

    from_statement, summary, _ = _match(tmp_path, FIXTURES / name, capsys)
    from_csv, _, _ = _match(tmp_path, typed, capsys)

    def decision(result: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in result.items() if k != "payment_id"}

    def unnamed(payment: IncomingPayment) -> IncomingPayment:
        return replace(payment, payment_id="")

    # what the engine was given, field by field, is what the clerk typed
    assert [unnamed(p) for p in read_payment_file(FIXTURES / name).load.records] == [
        unnamed(p) for p in read_payments(typed).records
    ]

    assert [decision(r) for r in from_statement] == [decision(r) for r in from_csv]
    assert summary["payments"] == len(from_csv)


def test_payment_ids_are_the_statement_keys_and_debits_are_counted_not_matched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results, summary, err = _match(tmp_path, FIXTURES / "camt053_v08.xml", capsys)

    eur = "camt.053:DE89370400440532013000"
    assert [r["payment_id"] for r in results][:4] == [
        f"{eur}:2025030400001", f"{eur}:2025030400002:GLOBEX-PAY-77", f"{eur}:2025030400002:2/3",
        f"{eur}:2025030400002:UMB-2025-0311",
    ]
    assert results[0]["decision"] == "auto"
    assert results[0]["allocations"] == [{"invoice_id": "in_1042", "amount": "1250.00"}]
    assert (summary["payments_format"], summary["skipped_debits"], summary["skipped_unbooked"]) == ("camt.053", 2, 1)
    assert (summary["payments"], summary["skipped_rows"], summary["rows_read"]["payments"]) == (6, 3, 9)
    assert "6 credits read as payments, 2 debits skipped, 1 not booked by the bank" in err


def test_an_unreadable_statement_line_is_reported_like_a_bad_csv_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, summary, err = _match(tmp_path, FIXTURES / "statement.bai", capsys)

    bai = str(FIXTURES / "statement.bai")
    assert summary["row_errors"] == [{"file": bai, "row": 12, "column": "type code", "message": (
        "890 is neither a credit (100-399, 920-959) nor a debit (400-699, 960-999) type code; "
        "the record is not a payment and is skipped")}]
    assert f"{bai}: line 12, field type code: 890 is neither" in err


def test_a_malformed_statement_is_refused_with_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.bai"
    broken.write_text((FIXTURES / "statement.bai").read_text().replace("49,81050,3/", "49,81051,3/"))
    invoices = tmp_path / "INVOICES.csv"
    invoices.write_text(INVOICES, encoding="utf-8")

    code = match_main(["--invoices", str(invoices), "--payments", str(broken), "--out", str(tmp_path / "M.json")])

    assert code == 2
    assert capsys.readouterr().err.startswith(
        f"duecourse match: error: {broken}: line 16, field account control total: the trailer says 81051")
    assert not (tmp_path / "M.json").exists()
