"""SWIFT MT940 customer statements: one statement line per `:61:`, with the `:86:` after it.

Written by hand rather than with the `mt-940` package: in a file of several statements that package keeps
one set of statement fields for the whole file, so every transaction loses the account (`:25:`) it was booked
on and no key can tell two accounts apart; its errors name no line; and it reads only the German `?nn`
layout of `:86:`.

A file holds one or more messages (with or without SWIFT `{1:…}{4:` blocks), each `:20:` reference, `:25:`
account, `:28C:` statement number, `:60F:`/`:60M:` opening balance, `:61:` lines each optionally followed by
`:86:`, and `:62F:`/`:62M:` closing balance. A `:61:` reads `6!n[4!n]2a[1!a]15d1!a3!c16x[//16x]` + `[34x]`:
value date YYMMDD, entry (booking) date MMDD, the mark C / D / RC (reversal of a credit: a debit) / RD
(reversal of a debit: a credit), a funds code, the amount with a comma as decimal separator, the transaction
type, the reference for the account owner, `//` the bank's reference, and supplementary details on the next
line. `:86:` is up to six lines of 65; three layouts are read: the German DFÜ one (`166?00…?20…?32…`, with
SEPA keywords EREF+ SVWZ+ ABWA+ …), the SWIFT structured one (`/EREF/…/ORDP//NAME/…/REMI/USTD//…`), and
free text.

Each statement's balances are checked (opening + lines = closing, in its currency); a mismatch, or a line
that cannot be read, rejects the whole file, because the balances can no longer vouch for any line of it.

Stable keys: the account, the booking date and the `:61:` references (the bank's `//` reference and the
account owner's); a line with neither gets a hash of its content. The statement number is left out of keys on
purpose: online-banking exports often number every export 0 or 1, and two exports that overlap must give
the same line the same key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

from adapters.bank_files.statement import (
    BankFileError,
    BankFormat,
    StatementFile,
    StatementLine,
    bank_id_key,
    clean,
    content_key,
    find_rf,
    is_reference,
    with_unique_keys,
)
from adapters.ledger import minor_unit

FORMAT: BankFormat = "mt940"
_TAG = re.compile(r"^:(?P<tag>\d{2}[A-Z]?|NS):(?P<value>.*)$")
_BALANCE = re.compile(r"(?P<mark>[CD])(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>\d[\d,]*)")
_STATEMENT_LINE = re.compile(
    r"(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?(?P<amount>\d[\d,]*)"
    r"(?P<type>[A-Z][A-Z0-9]{3})(?P<owner>.*?)(?://(?P<bank>.*))?$"
)
_AMOUNT = re.compile(r"\d{1,14},\d*")
_SEPA_KEYWORDS = re.compile(r"(EREF|KREF|MREF|CRED|DEBT|COAM|OAMT|SVWZ|ABWA|ABWE|IBAN|BIC)\+")
_SWIFT_CODES = re.compile(
    r"/(EREF|ORDP|BENM|NAME|ADDR|ID|REMI|CNTP|IBAN|BIC|PURP|MARF|CSID|RTRN|TRTP|ULTD|ULTC|ULTB|ISDT|SVCL|BUSP|"
    r"CHGS|EXCH|OCMT|ACCW|FX)/"
)
_FIELD_WIDTH = 65  # a :86: line; a full line was wrapped mid-text, a shorter one ended where the writer wanted
_SUBFIELD_WIDTH = 27  # a ?20..?29 purpose subfield of the German layout


@dataclass(slots=True)
class _Field:
    tag: str
    line: int
    lines: list[str]


@dataclass(slots=True)
class _Information:
    """What an `:86:` says, in duecourse's words."""

    remittance: str = ""
    payer_name: str = ""
    payer_account: str = ""
    end_to_end: str = ""
    creditor_reference: str = ""
    owner_reference: str = ""


@dataclass(slots=True)
class _Statement:
    reference: str
    line: int
    account: str = ""
    number: str = ""
    currency: str = ""
    opening: Decimal | None = None
    moved: Decimal = Decimal(0)
    closed: bool = False
    awaiting_information: bool = False  # the last :61: has not had its :86: yet
    lines: list[StatementLine] = field(default_factory=list)


def _fields(text: str, path: str) -> list[_Field]:
    """The tagged fields, each with its continuation lines; SWIFT block wrappers and message ends dropped."""
    fields: list[_Field] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if line.startswith("{"):
            # "{1:…}{2:…}{4:" opens a message; anything after "{4:" on the line is its first field
            line = line.split("{4:", 1)[1] if "{4:" in line else ""
        if not line.strip() or line == "-" or line.startswith("-}"):
            continue  # "-}" (and any "{5:…}" trailer after it), or a lone "-", ends a message
        tagged = _TAG.match(line)
        if tagged:
            fields.append(_Field(tagged.group("tag"), number, [tagged.group("value")]))
        elif fields:
            fields[-1].lines.append(line)
        else:
            raise BankFileError(path, number, "20", f"{line[:20]!r} comes before any :20: field")
    return fields


def read_mt940(data: bytes, path: str) -> StatementFile:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # German banks write ISO 8859-1 umlauts; Latin-1 reads every byte
    statements: list[_Statement] = []
    current: _Statement | None = None
    for item in _fields(text, path):
        if item.tag == "20":
            _close(current, path, item.line)
            current = _Statement(reference=item.lines[0].strip(), line=item.line)
            statements.append(current)
        elif current is None:
            raise BankFileError(path, item.line, item.tag, "comes before the statement's :20: reference")
        else:
            _field(current, item, path)
    _close(current, path, None)
    if not statements:
        raise BankFileError(path, 1, "20", "no statement found")
    lines = with_unique_keys(line for statement in statements for line in statement.lines)
    return StatementFile(path, FORMAT, len(statements), lines, ())


def _close(statement: _Statement | None, path: str, next_line: int | None) -> None:
    if statement is not None and not statement.closed:
        before = f"before the next statement at line {next_line}" if next_line else "before the end of the file"
        raise BankFileError(path, statement.line, "62F", f"the statement has no closing balance {before}")


def _field(statement: _Statement, item: _Field, path: str) -> None:
    value = item.lines[0].strip()
    if item.tag in ("25", "25P"):
        statement.account = value
    elif item.tag == "28C":
        statement.number = value
    elif item.tag in ("60F", "60M"):
        mark, _, currency, amount = _balance(value, path, item)
        statement.currency = currency
        statement.opening, statement.moved, statement.closed = mark * amount, Decimal(0), False
    elif item.tag == "61":
        statement.lines.append(_statement_line(statement, item, path))
        statement.awaiting_information = True
    elif item.tag == "86":
        if statement.awaiting_information:
            statement.lines[-1] = _with_information(statement.lines[-1], item)
        # an :86: after the balances, or a second one, is about the statement: nothing a payment needs
        statement.awaiting_information = False
    elif item.tag in ("62F", "62M"):
        _check_closing(statement, item, path)
        statement.awaiting_information = False


def _balance(value: str, path: str, item: _Field) -> tuple[int, date, str, Decimal]:
    found = _BALANCE.fullmatch(value)
    if not found:
        raise BankFileError(path, item.line, item.tag,
                            f"{value!r} is not a balance (C or D, YYMMDD, currency, amount like 1250,00)")
    day = _yymmdd(found.group("date"), path, item)
    amount = _amount(found.group("amount"), found.group("currency"), path, item)
    return (1 if found.group("mark") == "C" else -1), day, found.group("currency"), amount


def _check_closing(statement: _Statement, item: _Field, path: str) -> None:
    if statement.opening is None:
        raise BankFileError(path, item.line, item.tag, "a closing balance without an opening balance (:60F:)")
    mark, _, currency, amount = _balance(item.lines[0].strip(), path, item)
    if currency != statement.currency:
        raise BankFileError(path, item.line, item.tag,
                            f"closing balance in {currency}, opening balance in {statement.currency}")
    expected = statement.opening + statement.moved
    if mark * amount != expected:
        raise BankFileError(
            path, item.line, item.tag,
            f"closing balance {mark * amount} is not the opening balance {statement.opening} plus the lines "
            f"({statement.moved}) = {expected}: the statement is incomplete or altered, so none of the file "
            "is imported",
        )
    statement.opening, statement.closed = None, True  # a :60M: may open the next part


def _yymmdd(text: str, path: str, item: _Field) -> date:
    try:
        return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        raise BankFileError(path, item.line, item.tag, f"{text!r} is not a date YYMMDD") from None


def _amount(text: str, currency: str, path: str, item: _Field) -> Decimal:
    if not _AMOUNT.fullmatch(text):
        raise BankFileError(path, item.line, f"{item.tag}/amount",
                            f"{text!r} is not an amount (digits with one comma as the decimal separator)")
    value = Decimal(text.replace(",", ".").rstrip(".") or "0")
    minor = minor_unit(currency)
    if value != value.quantize(minor):
        raise BankFileError(path, item.line, f"{item.tag}/amount",
                            f"{text!r} has more decimal places than {currency} has")
    return value.quantize(minor)


def _statement_line(statement: _Statement, item: _Field, path: str) -> StatementLine:
    if statement.opening is None:
        raise BankFileError(path, item.line, "61", "a statement line outside a statement (no :60F: before it)")
    if not statement.account:
        raise BankFileError(path, item.line, "25", "the statement names no account")
    found = _STATEMENT_LINE.fullmatch(item.lines[0].strip())
    if not found:
        raise BankFileError(path, item.line, "61",
                            f"{item.lines[0].strip()!r} is not a statement line "
                            "(YYMMDD[MMDD] C|D|RC|RD [funds code] amount type reference[//bank reference])")
    value_date = _yymmdd(found.group("value"), path, item)
    booking_date = _entry_date(value_date, found.group("entry"), path, item)
    mark = found.group("mark")
    sign = 1 if mark in ("C", "RD") else -1
    amount = sign * _amount(found.group("amount"), statement.currency, path, item)
    statement.moved += amount
    owner = found.group("owner").strip()
    bank = (found.group("bank") or "").strip()
    details = clean(" ".join(item.lines[1:]))
    refs = [r for r in (bank, owner) if is_reference(r)]
    if refs:
        key = bank_id_key(FORMAT, statement.account, booking_date.isoformat(), *refs)
    else:
        key = content_key(FORMAT, statement.account, booking_date, value_date, amount, statement.currency,
                          found.group("type"), details)
    return StatementLine(
        key=key,
        line=item.line,
        account=statement.account,
        statement=statement.number or statement.reference,
        booking_date=booking_date,
        value_date=value_date,
        amount=amount,
        currency=statement.currency,
        remittance=details,
        bank_reference=bank if is_reference(bank) else "",
        customer_reference=owner if is_reference(owner) else "",
        creditor_reference=find_rf(details),
    )


def _entry_date(value_date: date, entry: str | None, path: str, item: _Field) -> date:
    """The booking date: MMDD in the year that puts it nearest the value date (a line valued 31 December
    can be booked on 2 January)."""
    if not entry:
        return value_date
    try:
        candidates = [date(value_date.year + shift, int(entry[:2]), int(entry[2:])) for shift in (-1, 0, 1)]
    except ValueError:
        raise BankFileError(path, item.line, "61/entry date", f"{entry!r} is not a date MMDD") from None
    return min(candidates, key=lambda day: abs(day - value_date) // timedelta(days=1))


def _with_information(last: StatementLine, item: _Field) -> StatementLine:
    """The :61: line with what its :86: says (the :61:'s supplementary details after the :86: text)."""
    info = _information(item.lines)
    remittance = "\n".join([info.remittance, *([last.remittance] if last.remittance not in info.remittance else [])])
    owner = last.customer_reference or (info.owner_reference if is_reference(info.owner_reference) else "")
    return StatementLine(
        key=last.key,
        line=last.line,
        account=last.account,
        statement=last.statement,
        booking_date=last.booking_date,
        value_date=last.value_date,
        amount=last.amount,
        currency=last.currency,
        payer_name=info.payer_name,
        payer_account=info.payer_account,
        remittance=remittance.strip(),
        end_to_end_id=info.end_to_end,
        creditor_reference=info.creditor_reference or find_rf(remittance),
        bank_reference=last.bank_reference,
        customer_reference=owner,
    )


def _joined(parts: list[str], width: int) -> str:
    """Wrapped text put back together: a part that fills its width was cut mid-text and joins the next
    directly; a shorter one ended where its writer ended a word."""
    text = parts[0] if parts else ""
    for previous, part in pairwise(parts):
        text += part if len(previous) >= width else " " + part
    return text


def _information(lines: list[str]) -> _Information:
    """The `:86:` field in whichever of the three layouts it uses."""
    stripped = [line.rstrip() for line in lines]
    if re.match(r"\d{3}\?", stripped[0]):
        return _german("".join(stripped))  # ?nn codes delimit everything: line breaks are only wrapping
    if _SWIFT_CODES.match(stripped[0]):
        return _swift(_joined(stripped, _FIELD_WIDTH))
    text = clean(_joined(stripped, _FIELD_WIDTH))
    return _Information(remittance=text, creditor_reference=find_rf(text))


def _german(text: str) -> _Information:
    """The DFÜ layout: a business transaction code, then `?nn` subfields (?20-?29 and ?60-?63 the purpose,
    ?31 the payer's account, ?32-?33 the payer's name), SEPA keywords inside the purpose."""
    subfields: dict[str, list[str]] = {}
    for code, value in re.findall(r"\?(\d{2})([^?]*)", text):
        subfields.setdefault(code, []).append(value)
    purpose_parts = [v for code in [*map(str, range(20, 30)), "60", "61", "62", "63"] for v in subfields.get(code, [])]
    purpose = _joined(purpose_parts, _SUBFIELD_WIDTH)
    name = clean(_joined(subfields.get("32", []) + subfields.get("33", []), _SUBFIELD_WIDTH))
    info = _Information(payer_name=name, payer_account=clean("".join(subfields.get("31", []))))
    pieces = _SEPA_KEYWORDS.split(purpose)
    keyed = dict(zip(pieces[1::2], (clean(v) for v in pieces[2::2]), strict=True))
    free = clean(pieces[0])
    info.end_to_end = keyed.get("EREF", "") if is_reference(keyed.get("EREF", "")) else ""
    info.owner_reference = keyed.get("KREF", "")
    info.payer_name = keyed.get("ABWA") or info.payer_name  # the ultimate debtor: who owed the money
    info.remittance = "\n".join(t for t in (free, keyed.get("SVWZ", "")) if t)
    info.creditor_reference = find_rf(info.remittance)
    return info


def _swift(text: str) -> _Information:
    """The SWIFT structured layout: `/CODE/value` pairs; ORDP (or BENM) introduces the counterparty whose
    NAME and IBAN follow; CNTP is `account/BIC/name/city`; REMI is `USTD//text` or `STRD/CUR/reference`."""
    info = _Information()
    pieces = _SWIFT_CODES.split(text)
    for code, raw in zip(pieces[1::2], pieces[2::2], strict=True):
        value = raw.strip().strip("/").strip()
        if code == "EREF" and is_reference(value):
            info.end_to_end = value
        elif code == "NAME" and not info.payer_name:
            info.payer_name = clean(value)
        elif code == "ULTD" and value:
            info.payer_name = clean(value.split("/")[0])  # the ultimate debtor: who owed the money
        elif code == "IBAN" and not info.payer_account:
            info.payer_account = value
        elif code == "CNTP":
            parts = [*value.split("/"), "", "", ""]
            account, name = parts[0], parts[2]
            info.payer_account = info.payer_account or account
            info.payer_name = info.payer_name or clean(name)
        elif code == "REMI":
            remittance = raw.strip()
            if remittance.startswith("STRD/"):
                info.creditor_reference = remittance.split("/", 2)[-1].strip("/").replace(" ", "")
            else:
                info.remittance = clean(remittance.removeprefix("USTD").strip("/"))
    info.creditor_reference = info.creditor_reference or find_rf(info.remittance)
    return info
