"""CAMT.053: every field of every line of the fixtures, the sign and batch rules, and what a bad file says."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from adapters.bank_files import BankFileError, StatementLine
from adapters.bank_files.camt053 import read_camt053
from tests.adapters.bank_files.lines import HASH, assert_lines, fixture, line_number

EUR = "DE89370400440532013000"
USD = "000123456789"
D4 = date(2025, 3, 4)


def eur(**fields: object) -> StatementLine:
    base: dict[str, object] = dict(account=EUR, statement="STMT-20250304-EUR", booking_date=D4, value_date=D4,
                                   currency="EUR")
    return StatementLine(**{**base, **fields})  # type: ignore[arg-type]


def test_every_field_of_every_line_of_a_001_08_statement_pair() -> None:
    text = fixture("camt053_v08.xml").decode()
    statement = read_camt053(fixture("camt053_v08.xml"), "camt.xml")

    assert (statement.format, statement.statements, statement.problems) == ("camt.053", 2, ())
    assert_lines(statement.lines, [
        eur(key=f"camt.053:{EUR}:2025030400001", line=line_number(text, "<TxDtls>", 1), amount=Decimal("1250.00"),
            payer_name="ACME Industrie GmbH", payer_account="DE44500105175407324931", remittance="INV-1042",
            end_to_end_id="E2E-ACME-0001", bank_reference="2025030400001"),
        # a batch entry: one line per transaction, each with its own amount, payer and remittance
        eur(key=f"camt.053:{EUR}:2025030400002:GLOBEX-PAY-77", line=line_number(text, "<TxDtls>", 2),
            value_date=date(2025, 3, 5), amount=Decimal("1000.00"), payer_name="Globex Europe B.V.",
            payer_account="NL91ABNA0417164300", remittance="INV-1043", end_to_end_id="GLOBEX-PAY-77",
            bank_reference="2025030400002"),
        # NOTPROVIDED is no end-to-end id: the key falls back to the transaction's place in its batch; the
        # ultimate debtor is the customer, the debtor its holding
        eur(key=f"camt.053:{EUR}:2025030400002:2/3", line=line_number(text, "<TxDtls>", 3),
            value_date=date(2025, 3, 5), amount=Decimal("530.50"), payer_name="Initech SARL",
            payer_account="FR1420041010050500013M02606", remittance="Facture 1044", bank_reference="2025030400002"),
        eur(key=f"camt.053:{EUR}:2025030400002:UMB-2025-0311", line=line_number(text, "<TxDtls>", 4),
            value_date=date(2025, 3, 5), amount=Decimal("500.00"), payer_name="Umbrella AG",
            payer_account="CH9300762011623852957", end_to_end_id="UMB-2025-0311", creditor_reference="RF52INV1046",
            bank_reference="2025030400002"),
        eur(key=f"camt.053:{EUR}:2025030400003", line=line_number(text, "<Ntry>", 3), amount=Decimal("-15.00"),
            remittance="Kontofuehrung Maerz", bank_reference="2025030400003"),
        # a reversal is booked in the direction the money moves: DBIT is money out, whatever RvslInd says;
        # BookgDt/DtTm gives its calendar date as written
        eur(key=f"camt.053:{EUR}:2025030400004", line=line_number(text, "<TxDtls>", 5), amount=Decimal("-200.00"),
            payer_name="Stark Retail Ltd", remittance="Return of credit AC04 closed account",
            end_to_end_id="E2E-RETURN-9", bank_reference="2025030400004"),
        # pending: read, marked not booked; no booking date yet, so the value date stands in
        eur(key=f"camt.053:{EUR}:STMT-20250304-EUR:5", line=line_number(text, "<TxDtls>", 6),
            booking_date=date(2025, 3, 5), value_date=date(2025, 3, 5), amount=Decimal("80.00"),
            payer_name="Pending Payer KG", remittance="INV-1050", booked=False),
        # no AcctSvcrRef, no NtryRef: a key from the content
        StatementLine(key=f"camt.053:{USD}:2025-03-04:{HASH}", line=line_number(text, "<TxDtls>", 7), account=USD,
                      statement="STMT-20250304-USD", booking_date=D4, value_date=D4, amount=Decimal("560.40"),
                      currency="USD", payer_name="O'Brien & Sons Ltd", payer_account="021000021-7730011",
                      remittance="Payment for invoice 1045"),
        StatementLine(key=f"camt.053:{USD}:STMT-20250304-USD:US-2", line=line_number(text, "<TxDtls>", 8),
                      account=USD, statement="STMT-20250304-USD", booking_date=D4, value_date=None,
                      amount=Decimal("310.50"), currency="USD", payer_name="WAYNE ENTERPRISES",
                      remittance="INV 1047\nthank you\nACH CREDIT WAYNE ENTERPRISES"),
    ])


def test_every_field_of_a_001_02_statement_with_its_older_layout() -> None:
    text = fixture("camt053_v02.xml").decode()
    statement = read_camt053(fixture("camt053_v02.xml"), "old.xml")

    account = "GB29NWBK60161331926819"
    day = date(2025, 4, 11)
    assert statement.statements == 1
    assert_lines(statement.lines, [
        # Dbtr/Nm rather than Dbtr/Pty/Nm, AmtDtls/TxAmt/Amt rather than TxDtls/Amt, Sts as text
        StatementLine(key=f"camt.053:{account}:NWBK2025041100017", line=line_number(text, "<TxDtls>", 1),
                      account=account, statement="0412-GBP", booking_date=day, value_date=day,
                      amount=Decimal("4800.00"), currency="GBP", payer_name="Hooli UK Limited",
                      payer_account="GB33BUKB20201555555555", end_to_end_id="HOOLI-2025-04-INV2002",
                      creditor_reference="RF42INV2002", bank_reference="NWBK2025041100017"),
        StatementLine(key=f"camt.053:{account}:NWBK2025041100018", line=line_number(text, "<TxDtls>", 2),
                      account=account, statement="0412-GBP", booking_date=day, value_date=day,
                      amount=Decimal("-99.99"), currency="GBP", payer_name="Office Supplies Direct",
                      remittance="Order 55102", bank_reference="NWBK2025041100018"),
    ])


def _mutated(old: str, new: str, name: str = "camt053_v08.xml") -> tuple[bytes, str]:
    text = fixture(name).decode()
    assert old in text
    changed = text.replace(old, new, 1)
    return changed.encode(), changed


def test_an_entry_with_a_comma_amount_is_skipped_with_its_line_and_the_rest_is_read() -> None:
    data, text = _mutated('<Amt Ccy="EUR">15.00</Amt>', '<Amt Ccy="EUR">15,00</Amt>')

    statement = read_camt053(data, "camt.xml")

    [problem] = statement.problems
    assert (problem.file, problem.line, problem.field) == ("camt.xml", line_number(text, "15,00"), "Ntry/Amt")
    assert "'15,00' is not an amount" in problem.message
    assert len(statement.lines) == 8
    assert all(line.bank_reference != "2025030400003" for line in statement.lines)


@pytest.mark.parametrize(
    ("old", "new", "needle", "field", "message"),
    [
        ("<CdtDbtInd>DBIT</CdtDbtInd>\n        <Sts>", "<CdtDbtInd>DEBIT</CdtDbtInd>\n        <Sts>", "<NtryRef>3",
         "Ntry/CdtDbtInd", "DEBIT: expected CRDT or DBIT"),
        ('<Amt Ccy="EUR">530.50</Amt>', '<Amt Ccy="EUR">530.00</Amt>', "<NtryRef>2", "Ntry/Amt",
         "the entry's 3 transactions add up to 2030.00, the entry says 2030.50"),
        ("<BookgDt><Dt>2025-03-04</Dt></BookgDt>\n        <ValDt><Dt>2025-03-04</Dt></ValDt>\n        "
         "<AcctSvcrRef>2025030400003", "<BookgDt><Dt>04.03.2025</Dt></BookgDt>\n        <ValDt><Dt>2025-03-04</Dt>"
         "</ValDt>\n        <AcctSvcrRef>2025030400003", "04.03.2025", "Ntry/BookgDt", "is not a date YYYY-MM-DD"),
        ('<Amt Ccy="USD">310.50</Amt>', '<Amt Ccy="JPY">310.50</Amt>', '<Amt Ccy="JPY">', "Ntry/Amt",
         "more decimal places than JPY has"),
    ],
)
def test_a_bad_entry_names_its_line_and_field(old: str, new: str, needle: str, field: str, message: str) -> None:
    data, text = _mutated(old, new)

    statement = read_camt053(data, "camt.xml")

    [problem] = statement.problems
    if needle.startswith("<NtryRef>"):  # the problem is the entry's: it names the line the entry starts on
        expected_line = line_number(text, needle) - 1
    else:
        expected_line = line_number(text, needle)
    assert (problem.line, problem.field) == (expected_line, field)
    assert message in problem.message


def test_not_well_formed_xml_is_refused_with_the_line_expat_stopped_on() -> None:
    data, text = _mutated("<NtryRef>3</NtryRef>", "<NtryRef>3</NtryRf>")

    with pytest.raises(BankFileError) as refused:
        read_camt053(data, "camt.xml")

    assert (refused.value.line, refused.value.field) == (line_number(text, "</NtryRf>"), "XML")
    assert "not well-formed" in refused.value.message


@pytest.mark.parametrize(
    "doctype",
    [
        # billion laughs: each entity ten of the one before
        '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        # an external entity reading a local file
        '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    ],
)
def test_dtds_and_entities_are_refused_before_anything_is_expanded(doctype: str) -> None:
    text = fixture("camt053_v08.xml").decode().replace("?>\n", f"?>\n{doctype}\n", 1)

    with pytest.raises(BankFileError) as refused:
        read_camt053(text.encode(), "bomb.xml")

    assert (refused.value.line, refused.value.field) == (2, "DOCTYPE")


def test_another_camt_message_is_refused_by_name() -> None:
    data, _ = _mutated("camt.053.001.08", "camt.054.001.08")

    with pytest.raises(BankFileError) as refused:
        read_camt053(data, "notification.xml")

    assert (refused.value.line, refused.value.field) == (2, "Document")
    assert "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08" in refused.value.message


def test_a_statement_without_an_account_is_refused() -> None:
    data, text = _mutated("<Id><Othr><Id>000123456789</Id></Othr></Id>", "<Id></Id>")

    with pytest.raises(BankFileError) as refused:
        read_camt053(data, "camt.xml")

    assert (refused.value.line, refused.value.field) == (line_number(text, "<Stmt>", 2), "Stmt/Acct/Id")


def test_keys_are_the_same_on_every_read_and_differ_between_lines() -> None:
    first = read_camt053(fixture("camt053_v08.xml"), "a.xml")
    again = read_camt053(fixture("camt053_v08.xml"), "copy/a.xml")

    keys = [line.key for line in first.lines]
    assert keys == [line.key for line in again.lines]
    assert len(set(keys)) == len(keys)


def test_a_statement_sent_again_under_a_new_id_keeps_the_keys_of_lines_the_bank_identified() -> None:
    data, _ = _mutated("<Id>STMT-20250304-EUR</Id>", "<Id>STMT-20250304-EUR-CORRECTED</Id>")

    original = {line.bank_reference: line.key for line in read_camt053(fixture("camt053_v08.xml"), "a").lines}
    resent = {line.bank_reference: line.key for line in read_camt053(data, "b").lines}

    assert resent["2025030400001"] == original["2025030400001"]
    assert resent["2025030400003"] == original["2025030400003"]


def test_a_lone_transaction_is_booked_at_the_entry_amount_whatever_it_states_before_charges() -> None:
    text = fixture("camt053_v08.xml").decode()
    entry_amount, transaction_amount = '<Amt Ccy="EUR">1250.00</Amt>', '<Amt Ccy="EUR">1255.00</Amt>'
    first = text.index(entry_amount)
    second = text.index(entry_amount, first + 1)
    charged = text[:second] + transaction_amount + text[second + len(entry_amount):]

    statement = read_camt053(charged.encode(), "camt.xml")

    assert (statement.problems, statement.lines[0].amount) == ((), Decimal("1250.00"))
