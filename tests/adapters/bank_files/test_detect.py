"""Recognising a statement file by its content, whatever it is called."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adapters.bank_files import BankFileError, detect_format, read_statement_file
from tests.adapters.bank_files.lines import FIXTURES, fixture


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("camt053_v08.xml", "camt.053"),
        ("camt053_v02.xml", "camt.053"),
        ("statement.bai", "bai2"),
        ("statement.sta", "mt940"),
        ("statement_v1.ofx", "ofx"),
        ("statement_v2.ofx", "ofx"),
    ],
)
def test_each_fixture_is_recognised_and_read_under_any_name(tmp_path: Path, name: str, fmt: str) -> None:
    assert detect_format(fixture(name)) == fmt
    renamed = tmp_path / "download.csv"  # the name says CSV; the content decides
    shutil.copy(FIXTURES / name, renamed)

    assert read_statement_file(renamed).format == fmt


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"payment_id,date,amount,currency,payer_name,reference\np1,2025-03-04,1.00,USD,A,\n", "csv"),
        (b'\xef\xbb\xbf"reference","amount","payment_id"\n', "csv"),
        (b"\xef\xbb\xbf\r\n01,SENDER,RECEIVER,250304,0600,1,,,2/\r\n", "bai2"),
        (b":20:STARTUMS\r\n:25:10020030/1234567\r\n:28C:0\r\n:60F:C250303EUR0,00\r\n", "mt940"),
        (b"{1:F01DEUTDEFFAXXX0000000000}{2:O940}{4:\r\n:20:X\r\n", "mt940"),
        (b"\r\n\r\n<OFX>\r\n<SIGNONMSGSRSV1>", "ofx"),
        (b'<?xml version="1.0"?>\n<?OFX OFXHEADER="200" VERSION="211"?>\n<OFX>', "ofx"),
        (b'<?xml version="1.0"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">', "camt.053"),
        (b"invoice_id,invoice_number,customer_id\n", None),
        (b'{"payments": []}', None),
        (b'<?xml version="1.0"?>\n<invoices/>', None),
        (b"", None),
    ],
)
def test_the_first_bytes_decide(head: bytes, fmt: str | None) -> None:
    assert detect_format(head) == fmt


def test_a_file_in_no_format_is_refused_naming_it(tmp_path: Path) -> None:
    unknown = tmp_path / "notes.txt"
    unknown.write_text("Dear customer,\nthank you for your payment.\n", encoding="utf-8")

    with pytest.raises(BankFileError) as refused:
        read_statement_file(unknown)

    assert (refused.value.file, refused.value.line, refused.value.field) == (str(unknown), 1, "format")


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(BankFileError) as refused:
        read_statement_file(tmp_path / "absent.xml")

    assert refused.value.field == "file"
    assert "cannot read" in str(refused.value)
