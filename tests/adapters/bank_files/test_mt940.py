"""MT940: every field of every line of the fixture (three :86: layouts, reversals, a year-end booking), the
balance check, and what a bad file says."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from adapters.bank_files import BankFileError, StatementLine
from adapters.bank_files.mt940 import read_mt940
from tests.adapters.bank_files.lines import HASH, assert_lines, fixture

EUR = "DE89370400440532013000"
USD = "000123456789"
D4 = date(2025, 3, 4)


def eur(**fields: object) -> StatementLine:
    base: dict[str, object] = dict(account=EUR, statement="00063/001", booking_date=D4, value_date=D4, currency="EUR")
    return StatementLine(**{**base, **fields})  # type: ignore[arg-type]


def usd(**fields: object) -> StatementLine:
    base: dict[str, object] = dict(account=USD, statement="00012/001", booking_date=date(2025, 1, 2),
                                   value_date=date(2025, 1, 2), currency="USD")
    return StatementLine(**{**base, **fields})  # type: ignore[arg-type]


def test_every_field_of_every_line() -> None:
    statement = read_mt940(fixture("statement.sta"), "statement.sta")

    assert (statement.format, statement.statements, statement.problems) == ("mt940", 2, ())
    assert_lines(statement.lines, [
        # German layout over three lines: SEPA keywords in ?20-?29 (a full ?21 runs on into ?22), the payer's
        # IBAN in ?31, name in ?32
        eur(key=f"mt940:{EUR}:2025-03-04:2025030400001", line=6, amount=Decimal("1250.00"),
            payer_name="ACME Industrie GmbH", payer_account="DE44500105175407324931",
            remittance="INV-1042 Lieferung Februar 2025", end_to_end_id="E2E-ACME-0001",
            bank_reference="2025030400001"),
        # SWIFT structured layout: /EREF/, /ORDP//NAME/, /REMI/USTD//
        eur(key=f"mt940:{EUR}:2025-03-04:2025030400002:GLOBEX-PAY-77", line=10, amount=Decimal("1000.00"),
            payer_name="Globex Europe B.V.", remittance="INV-1043", end_to_end_id="GLOBEX-PAY-77",
            bank_reference="2025030400002", customer_reference="GLOBEX-PAY-77"),
        # entry date 0305 after value date 0304; funds code R; NONREF and no bank reference: a content key;
        # ABWA+ (the ultimate debtor) names the payer rather than ?32 (the account holder)
        eur(key=f"mt940:{EUR}:2025-03-05:{HASH}", line=13, booking_date=date(2025, 3, 5), amount=Decimal("530.50"),
            payer_name="Initech SARL", payer_account="FR1420041010050500013M02606", remittance="Facture 1044"),
        # /REMI/STRD/CUR/ is a structured creditor reference
        eur(key=f"mt940:{EUR}:2025-03-04:2025030400005:UMB-2025-0311", line=16, amount=Decimal("500.00"),
            payer_name="Umbrella AG", payer_account="CH9300762011623852957", end_to_end_id="UMB-2025-0311",
            creditor_reference="RF52INV1046", bank_reference="2025030400005", customer_reference="UMB-2025-0311"),
        eur(key=f"mt940:{EUR}:2025-03-04:2025030400003", line=19, amount=Decimal("-15.00"),
            remittance="Kontofuehrung Maerz", bank_reference="2025030400003"),
        # RC: the reversal of a credit is a debit; RD: the reversal of a debit is a credit
        eur(key=f"mt940:{EUR}:2025-03-04:2025030400004", line=21, amount=Decimal("-200.00"),
            remittance="Return of credit AC04 closed account", bank_reference="2025030400004"),
        eur(key=f"mt940:{EUR}:2025-03-04:2025030400006", line=23, amount=Decimal("40.00"),
            remittance="Refund of fee charged in error", bank_reference="2025030400006"),
        # valued 31 December 2024, booked 2 January 2025; free text wrapped mid-word at 65 characters
        usd(key=f"mt940:{USD}:2025-01-02:{HASH}", line=33, value_date=date(2024, 12, 31), amount=Decimal("560.40"),
            remittance="OBRIEN AND SONS LTD / PAYMENT OF INVOICE 1045 / ORDER 99812 / DELIVERY FEBRUARY 2025"),
        # the :61: supplementary details line follows the :86: text
        usd(key=f"mt940:{USD}:2025-01-02:FW250102-77:WAYNE-0001", line=36, amount=Decimal("310.50"),
            payer_name="WAYNE ENTERPRISES", remittance="INV 1047 thank you\nWAYNE ENTERPRISES",
            bank_reference="FW250102-77", customer_reference="WAYNE-0001"),
    ])


def _mutated(*changes: tuple[str, str]) -> bytes:
    text = fixture("statement.sta").decode()
    for old, new in changes:
        assert old in text
        text = text.replace(old, new, 1)
    return text.encode()


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        (":62F:C250304EUR13105,50", ":62F:C250304EUR13105,51", 25, "62F",
         "closing balance 13105.51 is not the opening balance 10000.00 plus the lines (3105.50) = 13105.50"),
        (":62F:C250102USD2870,90", ":62F:C250102EUR2870,90", 39, "62F", "closing balance in EUR"),
        (":61:2503040304D15,00NMSC", ":61:2503040304D15.00NMSC", 19, "61", "is not a statement line"),
        (":61:2503040304C1250,00", ":61:2503041345C1250,00", 6, "61/entry date", "'1345' is not a date MMDD"),
        (":61:2503040304C1250,00", ":61:2502300304C1250,00", 6, "61", "'250230' is not a date YYMMDD"),
        (":60F:C250303EUR10000,00", ":60F:C250303EUR10000", 5, "60F/amount", "one comma as the decimal separator"),
        (":60F:C241230USD2000,00", ":60F:C241230JPY2000,00", 33, "61/amount", "more decimal places than JPY has"),
        (":62F:C250102USD2870,90\r\n", "", 29, "62F", "no closing balance before the end of the file"),
        (":62F:C250304EUR13105,50\r\n", "", 2, "62F", "no closing balance before the next statement at line 28"),
    ],
)
def test_a_bad_file_is_refused_whole_naming_line_and_field(
    old: str, new: str, line: int, field: str, message: str
) -> None:
    with pytest.raises(BankFileError) as refused:
        read_mt940(_mutated((old, new)), "bad.sta")

    assert (refused.value.file, refused.value.line, refused.value.field) == ("bad.sta", line, field)
    assert message in refused.value.message


def test_a_field_before_the_statement_reference_is_refused() -> None:
    with pytest.raises(BankFileError) as refused:
        read_mt940(b":25:DE89370400440532013000\n:20:X\n", "bad.sta")

    assert (refused.value.line, refused.value.field) == (1, "25")


def test_a_file_without_swift_blocks_reads_the_same() -> None:
    text = fixture("statement.sta").decode()
    plain = "\r\n".join(line for line in text.split("\r\n") if not line.startswith(("{", "-")))

    assert [line.key for line in read_mt940(plain.encode(), "plain.sta").lines] == [
        line.key for line in read_mt940(text.encode(), "blocks.sta").lines
    ]


def test_keys_are_the_same_on_every_read_and_differ_between_lines() -> None:
    keys = [line.key for line in read_mt940(fixture("statement.sta"), "a").lines]

    assert keys == [line.key for line in read_mt940(fixture("statement.sta"), "b").lines]
    assert len(set(keys)) == len(keys)


def test_an_overlapping_export_gives_the_lines_it_shares_the_same_keys() -> None:
    # online banking exports number every export alike and start wherever the user asked
    overlapping = _mutated(
        (":20:940-250102-USD", ":20:STARTUMS"),
        (":28C:00012/001", ":28C:0"),
        (":60F:C241230USD2000,00", ":60F:C241229USD1500,00\r\n:61:2412300101C500,00NTRFNONREF\r\n:86:EARLIER"),
    )

    original = read_mt940(fixture("statement.sta"), "a").lines
    shared = [line.key for line in read_mt940(overlapping, "b").lines if line.account == USD][1:]

    assert shared == [line.key for line in original if line.account == USD]


def test_a_remittance_line_that_starts_with_a_dash_is_text_not_the_end_of_the_message() -> None:
    data = _mutated((":86:Refund of fee charged in error", ":86:Refund of fee\r\n- charged in error"))

    refund = read_mt940(data, "dash.sta").lines[6]

    assert (refund.amount, refund.remittance) == (Decimal("40.00"), "Refund of fee - charged in error")
