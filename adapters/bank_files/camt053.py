"""CAMT.053 (ISO 20022 BankToCustomerStatement, versions 001.02 to 001.13): one statement line per transaction.

Read through `markup.parse_xml` (defusedxml over the stdlib's expat: no DTD, no entities, no external
references); every element keeps the line it starts on, so an error names it.

Per entry (`Ntry`): the amount is unsigned and `CdtDbtInd` (CRDT/DBIT) gives the direction; a reversal
(`RvslInd`) is already booked in the direction it moves the money, so the indicator alone decides the sign.
A batch entry (`NtryDtls` with several `TxDtls`) becomes one line per transaction, each with its own amount
(`TxDtls/Amt` from 001.03 on, `TxDtls/AmtDtls/TxAmt/Amt` before), payer and remittance; an entry whose
transactions do not add up to it is skipped with a problem rather than guessed. An entry with one transaction
is booked at the entry's amount (the transaction may state the amount before the bank's charges). Entries
whose status is not BOOK (pending, information) are read with `booked=False`.

Stable keys: the bank's `AcctSvcrRef` (of the transaction, else of the entry) identifies a movement on the
account across statements, so the key is the account and that reference (plus the end-to-end id or the
position of the transaction inside a batch entry that has only one reference); without it, `NtryRef` (unique
within the statement) with the account and statement id; without either, a hash of the line's content
(`statement.content_key`).

A statement without an account or a file that is not camt.053 XML is refused whole; an entry that cannot be
read (no amount, a bad date) is skipped and reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from adapters.bank_files.markup import Node, parse_xml
from adapters.bank_files.statement import (
    BankFileError,
    BankFormat,
    StatementFile,
    StatementLine,
    amount_in_currency,
    bank_id_key,
    clean,
    content_key,
    find_rf,
    first,
    is_reference,
    with_unique_keys,
)
from adapters.ledger import minor_unit

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053."
FORMAT: BankFormat = "camt.053"


def read_camt053(data: bytes, path: str) -> StatementFile:
    root, namespace = parse_xml(data, path)
    message = root.find("BkToCstmrStmt")
    if root.tag != "Document" or message is None or not namespace.startswith(NAMESPACE_PREFIX):
        raise BankFileError(
            path, root.line, root.tag,
            f"not a camt.053 statement (root <{root.tag}> in namespace {namespace or 'none'}; expected "
            f"<Document><BkToCstmrStmt> in {NAMESPACE_PREFIX}…)",
        )
    statements = message.findall("Stmt")
    if not statements:
        raise BankFileError(path, message.line, "Stmt", "the message holds no statement")
    lines: list[StatementLine] = []
    problems: list[BankFileError] = []
    for statement in statements:
        _read_statement(statement, path, lines, problems)
    return StatementFile(path, FORMAT, len(statements), with_unique_keys(lines), tuple(problems))


def _account(statement: Node, path: str) -> str:
    account = statement.value("Acct", "Id", "IBAN") or statement.value("Acct", "Id", "Othr", "Id")
    if not account:
        raise BankFileError(path, statement.line, "Stmt/Acct/Id", "the statement names no account (IBAN or Othr/Id)")
    return account


def _read_statement(statement: Node, path: str, lines: list[StatementLine], problems: list[BankFileError]) -> None:
    account = _account(statement, path)
    statement_id = statement.value("Id")
    if not statement_id:
        raise BankFileError(path, statement.line, "Stmt/Id", "the statement has no Id")
    for entry in statement.findall("Ntry"):
        try:
            lines.extend(_entry_lines(entry, path, account, statement_id))
        except BankFileError as problem:
            problems.append(problem)


@dataclass(frozen=True, slots=True)
class _Entry:
    """What an entry says for all its transactions."""

    node: Node
    account: str
    statement: str
    sign: int
    currency: str
    booking_date: date
    value_date: date | None
    booked: bool
    reference: str  # AcctSvcrRef
    entry_ref: str  # NtryRef
    info: str  # AddtlNtryInf


def _entry_lines(entry: Node, path: str, account: str, statement: str) -> list[StatementLine]:
    amount, currency = _amount(entry, path, "Ntry/Amt")
    sign = _sign(entry, path, "Ntry/CdtDbtInd", None)
    status = entry.value("Sts", "Cd") or entry.value("Sts")
    value_date = _date(entry.find("ValDt"), path, "Ntry/ValDt")
    booking_date = _date(entry.find("BookgDt"), path, "Ntry/BookgDt") or value_date
    if booking_date is None:
        raise BankFileError(path, entry.line, "Ntry/BookgDt", "the entry has neither a booking nor a value date")
    facts = _Entry(
        node=entry, account=account, statement=statement, sign=sign, currency=currency,
        booking_date=booking_date, value_date=value_date, booked=status.upper() in ("", "BOOK"),
        reference=entry.value("AcctSvcrRef"), entry_ref=entry.value("NtryRef"), info=clean(entry.value("AddtlNtryInf")),
    )
    transactions = [tx for details in entry.findall("NtryDtls") for tx in details.findall("TxDtls")]
    if not transactions:
        return [_line(facts, None, sign * amount, 0, 1)]
    if len(transactions) == 1:
        # what was booked is the entry's amount; a lone transaction may state the amount before charges
        return [_line(facts, transactions[0], sign * amount, 1, 1)]
    amounts = [_transaction_amount(tx, facts, path) for tx in transactions]
    missing = next((tx for tx, a in zip(transactions, amounts, strict=True) if a is None), None)
    if missing is not None:
        raise BankFileError(path, missing.line, "TxDtls/Amt",
                            "a transaction of a batch entry has no amount; the entry is skipped")
    total = sum((a for a in amounts if a is not None), Decimal(0))
    if total != sign * amount:
        raise BankFileError(
            path, entry.line, "Ntry/Amt",
            f"the entry's {len(transactions)} transactions add up to {total}, the entry says {sign * amount}; "
            "the entry is skipped",
        )
    return [
        _line(facts, tx, a, index, len(transactions))
        for index, (tx, a) in enumerate(zip(transactions, amounts, strict=True), start=1)
        if a is not None
    ]


def _transaction_amount(tx: Node, facts: _Entry, path: str) -> Decimal | None:
    """The transaction's signed amount in the entry's currency, or None when it gives none."""
    holder = tx if tx.find("Amt") is not None else tx.find("AmtDtls", "TxAmt")
    if holder is None:
        return None
    amount, currency = _amount(holder, path, "TxDtls/Amt")
    if currency != facts.currency:
        raise BankFileError(path, holder.line, "TxDtls/Amt",
                            f"a transaction in {currency} inside an entry in {facts.currency}; the entry is skipped")
    return _sign(tx, path, "TxDtls/CdtDbtInd", facts.sign) * amount


def _line(facts: _Entry, tx: Node | None, amount: Decimal, index: int, count: int) -> StatementLine:
    refs = tx.find("Refs") if tx is not None else None
    end_to_end = refs.value("EndToEndId") if refs is not None else ""
    tx_reference = refs.value("AcctSvcrRef") if refs is not None else ""
    payer, payer_account = _counterparty(tx, amount > 0)
    remittance, creditor_reference = _remittance(tx, facts.info)
    bank_reference = first([tx_reference, facts.reference])
    if is_reference(tx_reference):
        key = bank_id_key(FORMAT, facts.account, tx_reference)
    elif is_reference(facts.reference):
        within = end_to_end if count > 1 and is_reference(end_to_end) else (f"{index}/{count}" if count > 1 else "")
        key = bank_id_key(FORMAT, facts.account, facts.reference, *([within] if within else []))
    elif is_reference(facts.entry_ref):
        key = bank_id_key(FORMAT, facts.account, facts.statement, facts.entry_ref,
                          *([f"{index}/{count}"] if count > 1 else []))
    else:
        key = content_key(FORMAT, facts.account, facts.booking_date, facts.value_date, amount, facts.currency,
                          payer, payer_account, remittance, end_to_end)
    return StatementLine(
        key=key,
        line=tx.line if tx is not None else facts.node.line,
        account=facts.account,
        statement=facts.statement,
        booking_date=facts.booking_date,
        value_date=facts.value_date,
        amount=amount,
        currency=facts.currency,
        payer_name=payer,
        payer_account=payer_account,
        remittance=remittance,
        end_to_end_id=end_to_end if is_reference(end_to_end) else "",
        creditor_reference=creditor_reference,
        bank_reference=bank_reference,
        booked=facts.booked,
    )


def _name(party: Node | None) -> str:
    """A party's name in either layout: `Nm` (001.02 to .07) or `Pty/Nm` (001.08 on)."""
    if party is None:
        return ""
    return clean(party.value("Nm") or party.value("Pty", "Nm"))


def _account_id(holder: Node | None) -> str:
    if holder is None:
        return ""
    return holder.value("Id", "IBAN") or holder.value("Id", "Othr", "Id")


def _counterparty(tx: Node | None, credit: bool) -> tuple[str, str]:
    """Who paid (for a credit) or was paid (for a debit), and their account. For a credit the ultimate
    debtor comes first: it is the party that owed the money, the debtor may be a parent or a payment service."""
    parties = tx.find("RltdPties") if tx is not None else None
    if parties is None:
        return "", ""
    if credit:
        name = _name(parties.find("UltmtDbtr")) or _name(parties.find("Dbtr"))
        return name, _account_id(parties.find("DbtrAcct"))
    name = _name(parties.find("UltmtCdtr")) or _name(parties.find("Cdtr"))
    return name, _account_id(parties.find("CdtrAcct"))


def _remittance(tx: Node | None, entry_info: str) -> tuple[str, str]:
    """The free text a person reads (unstructured lines, referred document numbers, additional information)
    and the structured creditor reference."""
    texts: list[str] = []
    creditor_reference = ""
    info = tx.find("RmtInf") if tx is not None else None
    if info is not None:
        texts.extend(clean(u.text) for u in info.findall("Ustrd"))
        for structured in info.findall("Strd"):
            reference = structured.value("CdtrRefInf", "Ref")
            if reference and not creditor_reference:
                creditor_reference = reference.replace(" ", "")
            for document in structured.findall("RfrdDocInf"):
                if document.value("Nb"):
                    texts.append(document.value("Nb"))
            texts.extend(clean(a.text) for a in structured.findall("AddtlRmtInf"))
    if tx is not None and tx.value("AddtlTxInf"):
        texts.append(clean(tx.value("AddtlTxInf")))
    if entry_info and entry_info not in texts:
        texts.append(entry_info)
    text = "\n".join(t for t in texts if t)
    return text, creditor_reference or find_rf(text)


def _amount(holder: Node, path: str, where: str) -> tuple[Decimal, str]:
    node = holder.find("Amt")
    if node is None or not node.text:
        raise BankFileError(path, holder.line, where, "missing")
    currency = node.attrib.get("Ccy", "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise BankFileError(path, node.line, f"{where}@Ccy", f"{currency!r} is not a currency code")
    try:
        amount = amount_in_currency(node.text, currency, minor_unit(currency))
    except (ValueError, InvalidOperation) as exc:
        raise BankFileError(path, node.line, where, f"{node.text!r} is not an amount ({exc})") from None
    if amount < 0:
        raise BankFileError(path, node.line, where, f"{node.text!r}: amounts are unsigned, CdtDbtInd gives the sign")
    return amount, currency


def _sign(holder: Node, path: str, where: str, default: int | None) -> int:
    indicator = holder.value("CdtDbtInd").upper()
    if indicator == "CRDT":
        return 1
    if indicator == "DBIT":
        return -1
    if not indicator and default is not None:
        return default
    raise BankFileError(path, holder.line, where, f"{indicator or 'missing'}: expected CRDT or DBIT")


def _date(holder: Node | None, path: str, where: str) -> date | None:
    """`Dt` (a date) or `DtTm` (a date and time, whose calendar date as written is the one meant)."""
    if holder is None:
        return None
    text = holder.value("Dt") or holder.value("DtTm")[:10]
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BankFileError(path, holder.line, where, f"{text!r} is not a date YYYY-MM-DD") from None
