"""OFX bank and credit-card statements, 1.x (SGML, colon headers) and 2.x (XML, `<?OFX …?>` header).

Written by hand rather than with `ofxtools` or `ofxparse`: ofxtools turns every date into UTC, so a deposit
posted at 20:00 in New York (`20250303200000[-5:EST]`) lands on the next day, and its errors name no line (a
bad `TRNAMT` escapes as a bare `decimal.InvalidOperation`); ofxparse has not been released since 2021 and reads
through BeautifulSoup, which accepts anything.

Every `STMTRS` (bank) and `CCSTMTRS` (credit card) is a statement; each `STMTTRN` in its `BANKTRANLIST` a line.
`TRNAMT` is signed: positive puts money into the account, whatever `TRNTYPE` says, and it may use a comma as
decimal point. `DTPOSTED` is the booking date as the bank wrote it (the date part of
`YYYYMMDD[HHMMSS[.XXX]][[offset:zone]]`, before any zone arithmetic), `DTAVAIL` the value date. The payer is
`EXTDNAME`, else `NAME` or `PAYEE/NAME`; the remittance is `MEMO`. `CURRENCY/CURSYM` overrides the statement's
`CURDEF` for one transaction.

Stable keys: the account (`BANKID/ACCTID`) and `FITID`, which the OFX specification makes unique per account
and permanent, so overlapping downloads give the same key. A transaction that cannot be read (no FITID, a bad
amount or date) is skipped and reported; a statement without a currency or an account rejects the file.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import InvalidOperation

from adapters.bank_files.markup import Node, parse_ofx_markup
from adapters.bank_files.statement import (
    BankFileError,
    BankFormat,
    StatementFile,
    StatementLine,
    amount_in_currency,
    bank_id_key,
    clean,
    find_rf,
    with_unique_keys,
)
from adapters.ledger import minor_unit

FORMAT: BankFormat = "ofx"
# The aggregates a statement is read from: each must be closed explicitly, even in SGML.
_AGGREGATES = frozenset(
    "OFX SIGNONMSGSRSV1 SONRS BANKMSGSRSV1 CREDITCARDMSGSRSV1 STMTTRNRS CCSTMTTRNRS STMTRS CCSTMTRS BANKACCTFROM "
    "CCACCTFROM BANKTRANLIST STMTTRN PAYEE CURRENCY ORIGCURRENCY LEDGERBAL AVAILBAL BANKACCTTO CCACCTTO".split()
)
_AMOUNT = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)")
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:\d{2}(?:\d{2}(?:\d{2}(?:\.\d{3})?)?)?)?\s*(?:\[[^\]]*\])?")
_HEADER_ENCODINGS = {"UTF-8": "utf-8", "1252": "cp1252", "ISO-8859-1": "latin-1", "8859-1": "latin-1"}


def _decode(data: bytes, path: str) -> tuple[str, int]:
    """The OFX body as text, and the line it starts on: a 1.x file opens with `KEY:VALUE` header lines."""
    head = data[:2048].decode("latin-1")
    if head.lstrip("\ufeff\r\n\t ").startswith("OFXHEADER:"):
        header, _, _ = head.partition("<")
        fields = dict(line.split(":", 1) for line in header.splitlines() if ":" in line)
        encoding = fields.get("ENCODING", "").strip().upper()
        charset = fields.get("CHARSET", "").strip().upper()
        names = [_HEADER_ENCODINGS.get(encoding, ""), _HEADER_ENCODINGS.get(charset, ""), "utf-8", "cp1252"]
    else:
        declared = re.search(r"<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)", head)
        names = [declared.group(1) if declared else "utf-8", "utf-8"]
    for name in filter(None, names):
        try:
            text = data.decode(name).lstrip("\ufeff")
        except (UnicodeDecodeError, LookupError):
            continue
        start = text.find("<")
        if start < 0:
            raise BankFileError(path, 1, "OFX", "no <OFX> element")
        return text[start:], text.count("\n", 0, start) + 1
    raise BankFileError(path, 1, "ENCODING", "the file is in none of the encodings its header names")


def _walk(node: Node, tags: frozenset[str]) -> list[Node]:
    found = [node] if node.tag in tags else []
    for child in node.children:
        found.extend(_walk(child, tags))
    return found


def read_ofx(data: bytes, path: str) -> StatementFile:
    text, first_line = _decode(data, path)
    root = parse_ofx_markup(text, path, first_line, _AGGREGATES)
    if not any(child.tag == "OFX" for child in root.children):
        raise BankFileError(path, first_line, "OFX", "no <OFX> element")
    statements = _walk(root, frozenset({"STMTRS", "CCSTMTRS"}))
    if not statements:
        raise BankFileError(path, first_line, "STMTRS", "the file holds no bank or credit-card statement")
    lines: list[StatementLine] = []
    problems: list[BankFileError] = []
    for statement in statements:
        currency = statement.value("CURDEF").upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise BankFileError(path, statement.line, "CURDEF",
                                f"{currency!r} is not a currency code" if currency else "missing")
        account = _account(statement, path)
        period = f"{statement.value('BANKTRANLIST', 'DTSTART')[:8]}-{statement.value('BANKTRANLIST', 'DTEND')[:8]}"
        transactions = statement.find("BANKTRANLIST")
        for transaction in transactions.findall("STMTTRN") if transactions is not None else []:
            try:
                lines.append(_line(transaction, path, account, period, currency))
            except BankFileError as problem:
                problems.append(problem)
    return StatementFile(path, FORMAT, len(statements), with_unique_keys(lines), tuple(problems))


def _account(statement: Node, path: str) -> str:
    holder = statement.find("BANKACCTFROM") or statement.find("CCACCTFROM")
    number = holder.value("ACCTID") if holder is not None else ""
    if not number:
        raise BankFileError(path, statement.line, "ACCTID", "the statement names no account (BANKACCTFROM/ACCTID)")
    bank = holder.value("BANKID") if holder is not None else ""
    return f"{bank}/{number}" if bank else number


def _line(transaction: Node, path: str, account: str, period: str, currency: str) -> StatementLine:
    def required(tag: str) -> Node:
        node = transaction.find(tag)
        if node is None or not node.text:
            raise BankFileError(path, transaction.line, tag, "missing from the transaction; it is skipped")
        return node

    fitid = required("FITID").text
    if transaction.find("CORRECTACTION") is not None:
        raise BankFileError(path, transaction.line, "CORRECTACTION",
                            f"corrects transaction {transaction.value('CORRECTFITID')!r}; corrections are not "
                            "imported: adjust the bank line in the ledger")
    currency = transaction.value("CURRENCY", "CURSYM").upper() or currency
    amount_node = required("TRNAMT")
    if not _AMOUNT.fullmatch(amount_node.text):
        raise BankFileError(path, amount_node.line, "TRNAMT", f"{amount_node.text!r} is not an amount")
    try:
        amount = amount_in_currency(amount_node.text.replace(",", "."), currency, minor_unit(currency))
    except (ValueError, InvalidOperation) as exc:
        raise BankFileError(path, amount_node.line, "TRNAMT", str(exc)) from None
    booking_date = _date(required("DTPOSTED"), path)
    available = transaction.find("DTAVAIL")
    memo = clean(transaction.value("MEMO"))
    return StatementLine(
        key=bank_id_key(FORMAT, account, fitid),
        line=transaction.line,
        account=account,
        statement=period,
        booking_date=booking_date,
        value_date=_date(available, path) if available is not None and available.text else None,
        amount=amount,
        currency=currency,
        payer_name=clean(transaction.value("EXTDNAME") or transaction.value("NAME")
                         or transaction.value("PAYEE", "NAME")),
        remittance=memo,
        creditor_reference=find_rf(memo),
        bank_reference=fitid,
    )


def _date(node: Node, path: str) -> date:
    found = _DATE.fullmatch(node.text)
    try:
        if not found:
            raise ValueError
        return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        raise BankFileError(path, node.line, node.tag,
                            f"{node.text!r} is not an OFX date (YYYYMMDD[HHMMSS[.XXX]][[offset:zone]])") from None
