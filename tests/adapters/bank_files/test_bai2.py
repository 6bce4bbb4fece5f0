"""BAI2: every field of every line of the fixture, continuation records, the control totals, and bad files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from adapters.bank_files import BankFileError, StatementLine
from adapters.bank_files.bai2 import read_bai2
from tests.adapters.bank_files.lines import HASH, assert_lines, fixture

MAIN = "4100123456"
D3 = date(2025, 3, 3)


def usd(**fields: object) -> StatementLine:
    base: dict[str, object] = dict(account=MAIN, statement="121000248 2025-03-03", booking_date=D3, value_date=None,
                                   currency="USD")
    return StatementLine(**{**base, **fields})  # type: ignore[arg-type]


def test_every_field_of_every_line() -> None:
    statement = read_bai2(fixture("statement.bai"), "statement.bai")

    assert (statement.format, statement.statements) == ("bai2", 2)
    assert_lines(statement.lines, [
        # amounts in cents without a decimal point; the text goes on in the 88 record after it
        usd(key=f"bai2:{MAIN}:2025-03-03:BK250303-0001:INV-1042", line=5, amount=Decimal("1250.00"),
            payer_name="ACME CORP",
            remittance="ACH CREDIT ORIG CO NAME:ACME CORP ORIG ID:1234567890 ENTRY DESCR:PAYMENT IND ID:INV-1042",
            bank_reference="BK250303-0001", customer_reference="INV-1042"),
        # funds type V carries the value date (and a time) before the references
        usd(key=f"bai2:{MAIN}:2025-03-03:BK250303-0002", line=7, value_date=date(2025, 3, 4),
            amount=Decimal("560.40"), payer_name="O'BRIEN & SONS LTD",
            remittance="WIRE IN B/O: O'BRIEN & SONS LTD REF: INV 1045", bank_reference="BK250303-0002"),
        # funds type S carries three availability amounts; the record ends with "/" before its text, which
        # comes whole in the 88 (commas included)
        usd(key=f"bai2:{MAIN}:2025-03-03:LBX0001:LOCKBOX 4471", line=8, amount=Decimal("10000.00"),
            remittance="LOCKBOX DEPOSIT 3 ITEMS, INV-1043, INV-1044", bank_reference="LBX0001",
            customer_reference="LOCKBOX 4471"),
        # no bank reference: a key from the content; an RF reference in the text is the creditor reference
        usd(key=f"bai2:{MAIN}:2025-03-03:{HASH}", line=10, amount=Decimal("7224.80"),
            remittance="DEPOSIT RF18539007547034", creditor_reference="RF18539007547034"),
        # type 475 (check paid) is a debit
        usd(key=f"bai2:{MAIN}:2025-03-03:CHK-9921:1502", line=11, amount=Decimal("-1220.00"), remittance="CHECK PAID",
            bank_reference="CHK-9921", customer_reference="1502"),
        # the account's currency (CAD) overrides the group's (USD)
        usd(key="bai2:4100999999:2025-03-03:BK250303-0100", line=15, account="4100999999", amount=Decimal("310.50"),
            currency="CAD", payer_name="WAYNE ENTERPRISES", remittance="ACH CREDIT ORIG CO NAME:WAYNE ENTERPRISES",
            bank_reference="BK250303-0100"),
        # the second group: as-of 4 March, its currency defaulted (USD); two identical deposits keep two keys
        usd(key=f"bai2:{MAIN}:2025-03-04:{HASH}", line=20, statement="121000248 2025-03-04",
            booking_date=date(2025, 3, 4), amount=Decimal("250.00"), payer_name="STARK RETAIL",
            remittance="ACH CREDIT ORIG CO NAME:STARK RETAIL ORIG ID:9988776655"),
        usd(key=f"bai2:{MAIN}:2025-03-04:{HASH}", line=21, statement="121000248 2025-03-04",
            booking_date=date(2025, 3, 4), amount=Decimal("250.00"), payer_name="STARK RETAIL",
            remittance="ACH CREDIT ORIG CO NAME:STARK RETAIL ORIG ID:9988776655"),
    ])
    assert statement.lines[7].key == statement.lines[6].key + "/2"


def test_a_detail_that_is_neither_credit_nor_debit_is_reported_and_skipped() -> None:
    statement = read_bai2(fixture("statement.bai"), "statement.bai")

    [problem] = statement.problems
    assert (problem.file, problem.line, problem.field) == ("statement.bai", 12, "type code")
    assert "890 is neither a credit" in problem.message


def _mutated(old: str, new: str) -> bytes:
    text = fixture("statement.bai").decode()
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        # a lost record: the account control total no longer adds up, and nothing is imported
        ("16,475,122000,,CHK-9921,1502,CHECK PAID\n", "", 12, "account control total",
         "the trailer says 8832560, the records add up to 8710560"),
        ("49,81050,3/", "49,81050,4/", 16, "number of records", "the trailer says 4, the records add up to 3"),
        ("98,3331520,1,6/", "98,3331520,1,7/", 23, "number of records", "the trailer says 7"),
        ("98,8913610,2,16/", "98,8913610,3,16/", 17, "number of accounts", "the trailer says 3"),
        ("99,12245130,2,24/", "99,12245131,2,24/", 24, "file control total", "the trailer says 12245131"),
        ("16,142,31050,", "16,142,310.50,", 15, "amount", "'310.50' is not a whole number"),
        ("16,301,722480,", "16,301,-722480,", 10, "amount", "'-722480' is not a whole number"),
        ("16,301,722480,", "16,3O1,722480,", 10, "type code", "'3O1' is not a three-digit BAI type code"),
        ("16,195,56040,V,250304,", "16,195,56040,X,250304,", 7, "funds type of 195", "'X': expected Z, 0, 1, 2"),
        ("16,195,56040,V,250304,", "16,195,56040,V,250230,", 7, "funds type of 195: value date", "'250230'"),
        ("02,NORTHWIND,121000248,1,250304", "02,NORTHWIND,121000248,9,250304", 18, "group status", "'9'"),
        ("02,NORTHWIND,121000248,1,250304", "02,NORTHWIND,121000248,1,2503O4", 18, "as-of date", "'2503O4'"),
        ("01,NWTBANK,NORTHWIND,250304,0600,1,80,,2/", "01,NWTBANK,NORTHWIND,250304,0600,1,80,,3/", 1,
         "version number", "'3': this reads BAI version 2 files"),
        ("49,81050,3/", "17,81050,3/", 16, "record code", "does not start with a BAI2 record code"),
        ("99,12245130,2,24/\n", "", 23, "record code", "the file ends where the file trailer (99) is due"),
        ("49,3331520,4/\n", "", 22, "record code", "found a 98 record where the account trailer (49) is due"),
    ],
)
def test_a_bad_file_is_refused_whole_naming_line_and_field(
    old: str, new: str, line: int, field: str, message: str
) -> None:
    with pytest.raises(BankFileError) as refused:
        read_bai2(_mutated(old, new), "bad.bai")

    assert (refused.value.file, refused.value.line, refused.value.field) == ("bad.bai", line, field)
    assert message in refused.value.message


def test_a_continuation_before_any_record_is_refused() -> None:
    with pytest.raises(BankFileError) as refused:
        read_bai2(b"\n88,TEXT\n", "bad.bai")

    assert (refused.value.line, refused.value.field) == (2, "record code")


def test_records_continue_across_88s_in_the_middle_of_a_summary_and_yen_have_no_decimals() -> None:
    # BAI's own example of an 03 whose summaries run on in two 88 records, split after a type code
    data = "\n".join([
        "01,122099999,123456789,040621,0200,1,65,,2/",
        "02,031001234,122099999,1,040620,2359,JPY,2/",
        "03,9876543210,,010,-500000,,,100,1000000,,,400,2000000,,,190/",
        "88,500000,,,110,1000000,,,072,500000,,,074,500000,,,040/",
        "88,-1500000,,/",
        "16,115,500000,S,,200000,300000,,,LOCK BOX NO.68751",
        "49,4000000,5/",
        "98,4000000,1,7/",
        "99,4000000,1,9/",
    ]).encode()

    [line] = read_bai2(data, "example.bai").lines

    assert (line.amount, line.currency, line.remittance, line.booking_date) == (
        Decimal("500000"), "JPY", "LOCK BOX NO.68751", date(2004, 6, 20))


def test_test_and_deletion_groups_are_read_but_not_booked() -> None:
    data = _mutated("02,NORTHWIND,121000248,1,250304", "02,NORTHWIND,121000248,4,250304")

    lines = read_bai2(data, "test.bai").lines

    assert [line.booked for line in lines] == [True] * 6 + [False] * 2


def test_keys_are_the_same_on_every_read_and_differ_between_lines() -> None:
    keys = [line.key for line in read_bai2(fixture("statement.bai"), "a").lines]

    assert keys == [line.key for line in read_bai2(fixture("statement.bai"), "b").lines]
    assert len(set(keys)) == len(keys)


def test_a_file_sent_again_with_a_new_file_id_keeps_every_key() -> None:
    resent = _mutated("01,NWTBANK,NORTHWIND,250304,0600,1,", "01,NWTBANK,NORTHWIND,250305,0715,2,")

    assert [line.key for line in read_bai2(resent, "b").lines] == [
        line.key for line in read_bai2(fixture("statement.bai"), "a").lines
    ]
