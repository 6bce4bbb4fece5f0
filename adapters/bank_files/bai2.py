"""BAI2 (the Bank Administration Institute's Cash Management Balance Reporting Specification, version 2).

Written by hand rather than with the `bai2` package: that package drops blank lines before parsing, so its
errors cannot name a line (nor, mostly, a field); it refuses a whole file for any type code missing from its
table, although BAI reserves 900-999 for banks' own codes; and it strips a text that ends in "/".

The file: 01 file header, 02 group header (originator, as-of date, currency), 03 account identifier (account,
currency, summary and status amounts), 16 transaction detail, 49 account trailer, 98 group trailer, 99 file
trailer; 88 continues the record before it. Fields are separated by commas; "/" ends a record's fields, except
that a 16 record ends in free text, which may hold commas and slashes and continues in the 88 records after it.
Amounts carry no decimal point: they are in the currency's minor unit (cents for USD, yen for JPY). A 16
amount is unsigned; its type code says the direction (credits 100-399 and 920-959, debits 400-699 and
960-999). A 16 record has no date: the group's as-of date is the booking date, a value-dated ("V") funds type
gives the value date.

Every trailer is checked: the account control total (the sum of the account's 03 and 16 amounts), the group and
file control totals, the numbers of records, accounts and groups. A mismatch rejects the whole file, because it
means records were lost or altered in transit and no line can be trusted. A 16 record whose type code is
neither a credit nor a debit (loan and non-monetary codes) is skipped and reported.

Stable keys: the account, the as-of date and the 16 record's bank reference (with the customer reference);
without a bank reference, a hash of the record's content (`statement.content_key`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

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

FORMAT: BankFormat = "bai2"
_CODES = frozenset({"01", "02", "03", "16", "49", "88", "98", "99"})
_INTEGER = re.compile(r"[+-]?\d+")
# Where ACH and wire texts name the payer ("ORIG CO NAME:ACME CORP", "B/O: ACME CORP", "BY ORDER OF ACME").
_PAYER = re.compile(
    r"\b(?:ORIG(?:INATOR)?\s+CO(?:MPANY)?\s+NAME|B/O|BY\s+ORDER\s+OF|ORIGINATOR|ORG)\s*[:=]?\s*(?P<name>.+?)"
    r"(?=\s+(?:ORIG\s+ID|CO\s+ID|CO\s+ENTRY|ENTRY\s+DESCR|DESCR|IND\s+ID|IND\s+NAME|SEC|TRACE|TRN|REF|OBI|BBI|"
    r"IMAD|OMAD|SNDR\s+REF|ORIG\s+BK|ORG\s+BK|BNF|ADDR)\b|\s*$)",
    re.IGNORECASE,
)


@dataclass(slots=True)
class _Record:
    """One logical record: its code, and the text of each physical record (first, then each 88) by line."""

    code: str
    pieces: list[tuple[int, str]]

    @property
    def line(self) -> int:
        return self.pieces[0][0]

    @property
    def physical(self) -> int:
        return len(self.pieces)


class _Cursor:
    """Reads a record's fields in order across its physical records; a field never spans two of them, and a
    trailing "/" ends the fields of the physical record it closes."""

    def __init__(self, record: _Record, path: str) -> None:
        self.record = record
        self.path = path
        self.index = 0
        self.position = 0
        self.line = record.line

    def _exhausted(self) -> bool:
        _, text = self.record.pieces[self.index]
        # "…,4,/" still holds one (empty) field before its "/"; "…,190/" holds none after "190/"
        return self.position > len(text) or not text[self.position:].strip()

    def _advance(self) -> bool:
        while self.index < len(self.record.pieces) and self._exhausted():
            if self.index + 1 >= len(self.record.pieces):
                return False
            self.index += 1
            self.position = 0
        self.line = self.record.pieces[self.index][0]
        return True

    def more(self) -> bool:
        return self._advance()

    def next(self) -> str:
        """The next field ("" when the record has no more: a defaulted field)."""
        if not self._advance():
            return ""
        _, text = self.record.pieces[self.index]
        end = text.find(",", self.position)
        if end < 0:
            value, self.position = text[self.position:].rstrip(), len(text) + 1
        else:
            value, self.position = text[self.position:end], end + 1
        if value.endswith("/") and (end < 0 or not text[self.position:].strip()):
            value, self.position = value[:-1], len(text) + 1
        return value.strip()

    def text(self) -> str:
        """The free text that ends a 16 record: the rest of this physical record and every 88 after it."""
        texts: list[str] = []
        if self.index < len(self.record.pieces) and not self._exhausted():
            texts.append(self.record.pieces[self.index][1][self.position:])
        texts.extend(piece for _, piece in self.record.pieces[self.index + 1:])
        return clean(" ".join(t.rstrip().removesuffix("/") for t in texts))

    def error(self, field_name: str, message: str) -> BankFileError:
        return BankFileError(self.path, self.line, field_name, message)

    def integer(self, field_name: str, *, signed: bool = False) -> int:
        value = self.next()
        if not value:
            return 0
        if not _INTEGER.fullmatch(value) or (not signed and value[0] in "+-"):
            kind = "a whole number (BAI2 amounts have no decimal point)" if not signed else "a signed whole number"
            raise self.error(field_name, f"{value!r} is not {kind}")
        return int(value)

    def as_of(self, field_name: str) -> date:
        value = self.next()
        try:
            return datetime.strptime(value, "%y%m%d").date()
        except ValueError:
            raise self.error(field_name, f"{value!r} is not a date YYMMDD") from None


def _records(text: str, path: str) -> list[_Record]:
    records: list[_Record] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        code, comma, rest = line.partition(",")
        if code not in _CODES or not comma:
            raise BankFileError(path, number, "record code",
                                f"{line[:20]!r} does not start with a BAI2 record code (01 02 03 16 49 88 98 99)")
        if code == "88":
            if not records:
                raise BankFileError(path, number, "record code", "a continuation (88) with no record before it")
            records[-1].pieces.append((number, rest))
        else:
            records.append(_Record(code, [(number, rest)]))
    return records


@dataclass(slots=True)
class _Account:
    number: str
    currency: str
    line: int
    total: int = 0  # the sum of every amount its records carry, for the 49 control total
    records: int = 0
    lines: list[StatementLine] = field(default_factory=list)


@dataclass(slots=True)
class _Group:
    originator: str
    as_of: date
    currency: str
    booked: bool
    line: int
    records: int = 1
    total: int = 0
    accounts: int = 0


class _Reader:
    def __init__(self, records: list[_Record], path: str) -> None:
        self.records = records
        self.path = path
        self.at = 0
        self.lines: list[StatementLine] = []
        self.problems: list[BankFileError] = []
        self.groups = 0

    def _peek(self) -> _Record | None:
        return self.records[self.at] if self.at < len(self.records) else None

    def _take(self, code: str, what: str) -> _Record:
        record = self._peek()
        if record is None:
            last = self.records[-1].pieces[-1][0] if self.records else 1
            raise BankFileError(self.path, last, "record code", f"the file ends where the {what} ({code}) is due")
        if record.code != code:
            raise BankFileError(self.path, record.line, "record code",
                                f"found a {record.code} record where the {what} ({code}) is due")
        self.at += 1
        return record

    def read(self) -> None:
        header = self._take("01", "file header")
        cursor = _Cursor(header, self.path)
        for _ in range(7):  # sender, receiver, creation date and time, file id, record length, block size
            cursor.next()
        version = cursor.next()
        if version != "2":
            raise cursor.error("version number", f"{version!r}: this reads BAI version 2 files")
        records, total = header.physical, 0
        while (record := self._peek()) is not None and record.code == "02":
            group_records, group_total = self._group()
            records += group_records
            total += group_total
            self.groups += 1
        if self.groups == 0:
            raise BankFileError(self.path, header.line, "record code", "the file holds no group (02)")
        trailer = self._take("99", "file trailer")
        records += trailer.physical
        cursor = _Cursor(trailer, self.path)
        self._check(cursor, "file control total", cursor.integer("file control total", signed=True), total)
        self._check(cursor, "number of groups", cursor.integer("number of groups"), self.groups)
        self._check(cursor, "number of records", cursor.integer("number of records"), records)
        extra = self._peek()
        if extra is not None:
            raise BankFileError(self.path, extra.line, "record code", f"a {extra.code} record after the file trailer")

    def _check(self, cursor: _Cursor, name: str, stated: int, counted: int) -> None:
        if stated != counted:
            raise cursor.error(name, f"the trailer says {stated}, the records add up to {counted}: the file is "
                                     "incomplete or altered, so none of it is imported")

    def _group(self) -> tuple[int, int]:
        header = self._take("02", "group header")
        cursor = _Cursor(header, self.path)
        cursor.next()  # ultimate receiver
        originator = cursor.next()
        status = cursor.next()
        if status not in ("1", "2", "3", "4"):
            raise cursor.error("group status", f"{status!r}: expected 1 (update), 2 (deletion), 3 (correction) "
                                               "or 4 (test only)")
        as_of = cursor.as_of("as-of date")
        cursor.next()  # as-of time
        currency = cursor.next().upper() or "USD"  # BAI2: the currency defaults to USD
        # Only updates and corrections report money that moved; a deletion or a test group books nothing.
        group = _Group(originator, as_of, currency, status in ("1", "3"), header.line, records=header.physical)
        while (record := self._peek()) is not None and record.code == "03":
            account = self._account(group)
            group.records += account.records
            group.total += account.total
            group.accounts += 1
            self.lines.extend(account.lines)
        if group.accounts == 0:
            raise BankFileError(self.path, header.line, "record code", "the group holds no account (03)")
        trailer = self._take("98", "group trailer")
        group.records += trailer.physical
        cursor = _Cursor(trailer, self.path)
        self._check(cursor, "group control total", cursor.integer("group control total", signed=True), group.total)
        self._check(cursor, "number of accounts", cursor.integer("number of accounts"), group.accounts)
        self._check(cursor, "number of records", cursor.integer("number of records"), group.records)
        return group.records, group.total

    def _account(self, group: _Group) -> _Account:
        header = self._take("03", "account identifier")
        cursor = _Cursor(header, self.path)
        number = cursor.next()
        if not number:
            raise cursor.error("customer account number", "missing")
        account = _Account(number, cursor.next().upper() or group.currency, header.line, records=header.physical)
        while cursor.more():
            type_code = cursor.next()
            if not type_code and not cursor.more():
                break  # a trailing empty field some banks write before the "/"
            account.total += cursor.integer(f"amount of summary {type_code}", signed=True)
            cursor.next()  # item count
            _availability(cursor, type_code)
        while (record := self._peek()) is not None and record.code == "16":
            self.at += 1
            account.records += record.physical
            self._detail(record, group, account)
        trailer = self._take("49", "account trailer")
        account.records += trailer.physical
        cursor = _Cursor(trailer, self.path)
        self._check(cursor, "account control total", cursor.integer("account control total", signed=True),
                    account.total)
        self._check(cursor, "number of records", cursor.integer("number of records"), account.records)
        return account

    def _detail(self, record: _Record, group: _Group, account: _Account) -> None:
        cursor = _Cursor(record, self.path)
        type_code = cursor.next()
        if not re.fullmatch(r"\d{3}", type_code):
            raise cursor.error("type code", f"{type_code!r} is not a three-digit BAI type code")
        amount = cursor.integer("amount")
        account.total += amount
        value_date = _availability(cursor, type_code)
        bank_reference, customer_reference, text = cursor.next(), cursor.next(), cursor.text()
        code = int(type_code)
        if 100 <= code <= 399 or 920 <= code <= 959:
            sign = 1
        elif 400 <= code <= 699 or 960 <= code <= 999:
            sign = -1
        else:
            self.problems.append(cursor.error(
                "type code", f"{type_code} is neither a credit (100-399, 920-959) nor a debit (400-699, 960-999) "
                             "type code; the record is not a payment and is skipped"))
            return
        money = sign * Decimal(amount) * minor_unit(account.currency)
        if is_reference(bank_reference):
            refs = [bank_reference, *([customer_reference] if is_reference(customer_reference) else [])]
            key = bank_id_key(FORMAT, account.number, group.as_of.isoformat(), *refs)
        else:
            key = content_key(FORMAT, account.number, group.as_of, type_code, amount, account.currency,
                              customer_reference, text)
        payer = _PAYER.search(text)
        self.lines.append(StatementLine(
            key=key,
            line=record.line,
            account=account.number,
            statement=f"{group.originator} {group.as_of.isoformat()}",
            booking_date=group.as_of,
            value_date=value_date,
            amount=money,
            currency=account.currency,
            payer_name=clean(payer.group("name")) if payer else "",
            remittance=text,
            creditor_reference=find_rf(text),
            bank_reference=bank_reference if is_reference(bank_reference) else "",
            customer_reference=customer_reference if is_reference(customer_reference) else "",
            booked=group.booked,
        ))


def _availability(cursor: _Cursor, type_code: str) -> date | None:
    """Reads the fields a funds type brings; returns the value date of a value-dated ("V") one."""
    funds = cursor.next().upper()
    where = f"funds type of {type_code}"
    if funds in ("", "Z", "0", "1", "2"):
        return None
    if funds == "S":
        for _ in range(3):
            cursor.integer(f"{where}: availability amount", signed=True)
        return None
    if funds == "V":
        value_date = cursor.as_of(f"{where}: value date")
        cursor.next()  # value time
        return value_date
    if funds == "D":
        count = cursor.integer(f"{where}: number of distributions")
        for _ in range(count):
            cursor.next()  # days
            cursor.integer(f"{where}: distributed amount", signed=True)
        return None
    raise cursor.error(where, f"{funds!r}: expected Z, 0, 1, 2, S, V or D")


def read_bai2(data: bytes, path: str) -> StatementFile:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # BAI2 is ASCII; some banks' texts carry Latin-1 letters
    reader = _Reader(_records(text, path), path)
    reader.read()
    return StatementFile(path, FORMAT, reader.groups, with_unique_keys(reader.lines), tuple(reader.problems))
