"""OFX 1.x (SGML) and 2.x (XML): every field of every line of the fixtures, and what a bad file says."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from adapters.bank_files import BankFileError, StatementLine
from adapters.bank_files.ofx import read_ofx
from tests.adapters.bank_files.lines import assert_lines, fixture, line_number

CHECKING = "121000248/4100123456"


def test_every_field_of_every_line_of_an_sgml_file() -> None:
    text = fixture("statement_v1.ofx").decode("cp1252")
    statement = read_ofx(fixture("statement_v1.ofx"), "v1.ofx")

    assert (statement.format, statement.statements, statement.problems) == ("ofx", 2, ())
    period = "20250301-20250304"
    assert_lines(statement.lines, [
        # posted at 20:00 New York time: booked on the 3rd as the bank wrote it, not on the 4th in UTC
        StatementLine(key=f"ofx:{CHECKING}:202503030001", line=line_number(text, "<STMTTRN>", 1), account=CHECKING,
                      statement=period, booking_date=date(2025, 3, 3), value_date=date(2025, 3, 4),
                      amount=Decimal("1250.00"), currency="USD", payer_name="ACME CORP",
                      remittance="INV-1042 & thanks", bank_reference="202503030001"),
        # a comma as decimal point; the name inside PAYEE; a bare "&" in SGML text
        StatementLine(key=f"ofx:{CHECKING}:202503030002", line=line_number(text, "<STMTTRN>", 2), account=CHECKING,
                      statement=period, booking_date=date(2025, 3, 3), value_date=None, amount=Decimal("560.40"),
                      currency="USD", payer_name="O'BRIEN & SONS LTD", remittance="Payment for invoice 1045",
                      bank_reference="202503030002"),
        # a negative TRNAMT is a debit; an empty MEMO is no memo
        StatementLine(key=f"ofx:{CHECKING}:202503040003", line=line_number(text, "<STMTTRN>", 3), account=CHECKING,
                      statement=period, booking_date=date(2025, 3, 4), value_date=None, amount=Decimal("-25.00"),
                      currency="USD", payer_name="MONTHLY SERVICE FEE", bank_reference="202503040003"),
        # EXTDNAME is preferred to NAME; an RF reference in the memo is the creditor reference
        StatementLine(key=f"ofx:{CHECKING}:202503040004", line=line_number(text, "<STMTTRN>", 4), account=CHECKING,
                      statement=period, booking_date=date(2025, 3, 4), value_date=None, amount=Decimal("7224.80"),
                      currency="USD", payer_name="Northwind Traders Savings 4100777000",
                      remittance="DEPOSIT RF18539007547034", creditor_reference="RF18539007547034",
                      bank_reference="202503040004"),
        # a second statement written on single lines: every leaf ends where the next tag starts
        StatementLine(key="ofx:000300012/4100999999:CA-0001", line=line_number(text, "<STMTTRN>", 5),
                      account="000300012/4100999999", statement=period, booking_date=date(2025, 3, 3),
                      value_date=None, amount=Decimal("310.50"), currency="CAD", payer_name="WAYNE ENTERPRISES",
                      remittance="INV 1047", bank_reference="CA-0001"),
    ])


def test_every_field_of_every_line_of_an_xml_file() -> None:
    text = fixture("statement_v2.ofx").decode()
    statement = read_ofx(fixture("statement_v2.ofx"), "v2.ofx")

    bank, card, period = "0005/1234567", "4111111111111111", "20250401-20250405"
    assert statement.statements == 2
    assert_lines(statement.lines, [
        # yen have no decimals
        StatementLine(key=f"ofx:{bank}:JP-20250402-01", line=line_number(text, "<STMTTRN>", 1), account=bank,
                      statement=period, booking_date=date(2025, 4, 2), value_date=None, amount=Decimal("150000"),
                      currency="JPY", payer_name="Kabushiki Kaisha Sakura", remittance="INV-3001",
                      bank_reference="JP-20250402-01"),
        StatementLine(key=f"ofx:{bank}:JP-20250403-01", line=line_number(text, "<STMTTRN>", 2), account=bank,
                      statement=period, booking_date=date(2025, 4, 3), value_date=date(2025, 4, 4),
                      amount=Decimal("82500"), currency="JPY", payer_name="Sakura Trading",
                      remittance="Invoices INV-3002 & INV-3003", bank_reference="JP-20250403-01"),
        StatementLine(key=f"ofx:{bank}:JP-20250403-02", line=line_number(text, "<STMTTRN>", 3), account=bank,
                      statement=period, booking_date=date(2025, 4, 3), value_date=None, amount=Decimal("-440"),
                      currency="JPY", payer_name="Furikomi fee", bank_reference="JP-20250403-02"),
        # a credit-card statement's account has no bank id
        StatementLine(key=f"ofx:{card}:CC-1", line=line_number(text, "<STMTTRN>", 4), account=card, statement=period,
                      booking_date=date(2025, 4, 1), value_date=None, amount=Decimal("-89.00"), currency="USD",
                      payer_name="SOFTWARE SUBSCRIPTION", bank_reference="CC-1"),
        StatementLine(key=f"ofx:{card}:CC-2", line=line_number(text, "<STMTTRN>", 5), account=card, statement=period,
                      booking_date=date(2025, 4, 4), value_date=None, amount=Decimal("89.00"), currency="USD",
                      payer_name="SOFTWARE SUBSCRIPTION", remittance="Refund", bank_reference="CC-2"),
    ])


def _mutated(old: str, new: str, name: str = "statement_v1.ofx") -> tuple[bytes, str]:
    text = fixture(name).decode("cp1252")
    assert old in text
    changed = text.replace(old, new, 1)
    return changed.encode("cp1252"), changed


@pytest.mark.parametrize(
    ("old", "new", "needle", "field", "message"),
    [
        ("<TRNAMT>1250.00", "<TRNAMT>12x50", "<TRNAMT>12x50", "TRNAMT", "'12x50' is not an amount"),
        ("<DTPOSTED>20250304\r\n<TRNAMT>-25.00", "<DTPOSTED>2025-03-04\r\n<TRNAMT>-25.00", "2025-03-04", "DTPOSTED",
         "'2025-03-04' is not an OFX date"),
        ("<FITID>202503030002\r\n", "", "<TRNTYPE>DIRECTDEP", "FITID", "missing from the transaction"),
        ("<CURDEF>CAD", "<CURDEF>JPY", "<TRNAMT>310.50", "TRNAMT", "more decimal places than JPY has"),
    ],
)
def test_a_bad_transaction_is_skipped_naming_its_line_and_field(
    old: str, new: str, needle: str, field: str, message: str
) -> None:
    data, text = _mutated(old, new)

    statement = read_ofx(data, "bad.ofx")

    [problem] = statement.problems
    expected_line = line_number(text, needle) - (1 if field == "FITID" else 0)  # FITID: the transaction's line
    assert (problem.file, problem.line, problem.field) == ("bad.ofx", expected_line, field)
    assert message in problem.message
    assert len(statement.lines) == 4


@pytest.mark.parametrize(
    ("old", "new", "needle", "field", "message"),
    [
        # the first transaction loses its end tag: the aggregate is never closed
        ("<MEMO>INV-1042 &amp; thanks\r\n</STMTTRN>", "<MEMO>INV-1042 &amp; thanks", "<STMTTRN>", "<STMTTRN>",
         "is never closed"),
        ("</BANKACCTFROM>\r\n<BANKTRANLIST>", "</BANKACCTFRM>\r\n<BANKTRANLIST>", "</BANKACCTFRM>", "</BANKACCTFRM>",
         "closes an element that is not open"),
        ("<CURDEF>USD", "<CURDEF>US", "<STMTRS>", "CURDEF", "'US' is not a currency code"),
        ("<ACCTID>4100123456", "<ACCTNUM>4100123456", "<STMTRS>", "ACCTID", "names no account"),
        ("<OFX>", '<!DOCTYPE OFX [<!ENTITY x SYSTEM "file:///etc/passwd">]>\r\n<OFX>', "<!DOCTYPE", "DOCTYPE",
         "OFX needs no declarations"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_naming_line_and_field(
    old: str, new: str, needle: str, field: str, message: str
) -> None:
    data, text = _mutated(old, new)

    with pytest.raises(BankFileError) as refused:
        read_ofx(data, "bad.ofx")

    assert (refused.value.line, refused.value.field) == (line_number(text, needle), field)
    assert message in refused.value.message


def test_keys_are_fitids_within_their_account_the_same_on_every_read_and_distinct() -> None:
    for name in ("statement_v1.ofx", "statement_v2.ofx"):
        keys = [line.key for line in read_ofx(fixture(name), "a").lines]
        assert keys == [line.key for line in read_ofx(fixture(name), "b").lines]
        assert len(set(keys)) == len(keys)


def test_a_download_that_overlaps_an_earlier_one_gives_shared_transactions_the_same_keys() -> None:
    later, _ = _mutated("<DTSTART>20250301", "<DTSTART>20250303")

    assert [line.key for line in read_ofx(later, "later").lines] == [
        line.key for line in read_ofx(fixture("statement_v1.ofx"), "earlier").lines
    ]
