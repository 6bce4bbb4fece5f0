"""What every bank statement format is read into: one `StatementLine` per booked movement, with its stable key.

The four formats (CAMT.053, BAI2, MT940, OFX) say the same things in different words; this module is the
words duecourse keeps. A line's `key` is stable: reading the same file twice gives the same keys, and two
lines of one file never share one, so an import can remember keys and never book a line twice. It is built
from the bank's own ids where the format has them and otherwise from a hash of the line's content and its
position in its statement (see each format's module for which ids).

Amounts are `Decimal` in the line's currency, credit (money in) positive, debit negative, never more decimal
places than the currency has.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Literal

BankFormat = Literal["camt.053", "bai2", "mt940", "ofx"]

# What payers and banks write where there is no reference; never evidence of anything.
_NO_REFERENCE = frozenset({"", "NONREF", "NOTPROVIDED", "NOT PROVIDED", "NONE", "NA", "N/A"})
_RF_START = re.compile(r"(?<![A-Z0-9])RF\d{2}", re.IGNORECASE)
_RF_TAIL = re.compile(r"[A-Z0-9]*(?: [A-Z0-9]+)*", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


class BankFileError(Exception):
    """A statement file, or one line of it, that cannot be read: where (file, line, field) and why."""

    def __init__(self, file: str, line: int | None, field: str, message: str) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line is not None else ""
        return f"{self.file}: {where}field {self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One movement on a bank account, as its statement reports it."""

    key: str  # stable across re-reads, unique within the file
    line: int  # where the movement starts in the file (1-based), for messages
    account: str  # the statement's account (IBAN, account number)
    statement: str  # the statement it came from (its id, number or date)
    booking_date: date
    value_date: date | None
    amount: Decimal  # credit positive, debit negative
    currency: str
    payer_name: str = ""  # the ordering party (for a debit: the party paid)
    payer_account: str = ""  # the ordering party's account
    remittance: str = ""  # free-text remittance information
    end_to_end_id: str = ""  # set by the payer, carried unchanged through the payment chain
    creditor_reference: str = ""  # structured creditor reference: ISO 11649 RF... or a national one
    bank_reference: str = ""  # the bank's own id for the movement
    customer_reference: str = ""  # the reference the statement gives for the account owner
    booked: bool = True  # False for entries a bank reports as pending or for information only

    @property
    def is_credit(self) -> bool:
        return self.amount > 0

    def matching_reference(self) -> str:
        """The remittance text followed by every structured reference it does not already contain, one a
        line: what cash application reads for invoice numbers."""
        parts = [self.remittance.strip()] if self.remittance.strip() else []
        seen = _compact(self.remittance)
        for reference in (self.creditor_reference, self.customer_reference, self.end_to_end_id):
            compact = _compact(reference)
            if not is_reference(reference) or compact in seen:
                continue
            parts.append(reference.strip())
            seen += "\n" + compact
        return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class StatementFile:
    """Everything read from one file: its lines in file order, and the lines that could not be read."""

    path: str
    format: BankFormat
    statements: int
    lines: tuple[StatementLine, ...]
    problems: tuple[BankFileError, ...] = ()  # each names a line that was skipped and why


def _compact(text: str) -> str:
    return _SPACE.sub("", text).upper()


def is_reference(text: str) -> bool:
    """Whether a reference field holds a reference at all (not empty, not a "NONREF" placeholder)."""
    return text.strip().upper() not in _NO_REFERENCE


def clean(text: str | None) -> str:
    """Text as a person reads it: runs of white space (line breaks of a wrapped field included) as one space."""
    return _SPACE.sub(" ", text or "").strip()


def is_valid_rf(reference: str) -> bool:
    """ISO 11649: `RF`, two check digits, up to 21 letters or digits; valid when the number made by moving
    the first four characters to the end (letters as 10..35) leaves 1 modulo 97."""
    compact = _compact(reference)
    if not re.fullmatch(r"RF\d{2}[A-Z0-9]{1,21}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def find_rf(text: str) -> str:
    """The first valid ISO 11649 creditor reference written in `text` (without spaces), or "". It may be
    printed in groups of four ("RF18 5390 0754 7034"), so the longest run of space-separated groups after
    "RF" and its check digits that passes the check is the reference, and the words after it are not."""
    for start in _RF_START.finditer(text):
        tail = _RF_TAIL.match(text, start.end())
        groups = tail.group().split(" ") if tail else []
        for count in range(len(groups), 0, -1):
            candidate = start.group() + "".join(groups[:count])
            if is_valid_rf(candidate):
                return candidate.upper()
    return ""


def bank_id_key(fmt: BankFormat, *parts: str) -> str:
    """A key made of the bank's own ids (which must identify the line within what `parts` names)."""
    return ":".join((fmt, *(part.strip() for part in parts)))


def content_key(fmt: BankFormat, account: str, day: date, *content: object) -> str:
    """A key for a line the bank gave no id: the hash of everything it says. Its position counts only among
    identical lines (`with_unique_keys` numbers them), not in the file, so a line that two overlapping
    statements or exports both carry keeps one key."""
    digest = hashlib.sha256("\x1f".join(str(c) for c in (account, day, *content)).encode())
    return f"{fmt}:{account.strip()}:{day.isoformat()}:{digest.hexdigest()[:20]}"


def with_unique_keys(lines: Iterable[StatementLine]) -> tuple[StatementLine, ...]:
    """The lines, a repeated key made unique by its occurrence number (`…/2`, `…/3`), which is stable too:
    a bank that reuses an id within one file reuses it in the same order when the file is read again."""
    seen: Counter[str] = Counter()
    unique: list[StatementLine] = []
    for line in lines:
        seen[line.key] += 1
        count = seen[line.key]
        unique.append(line if count == 1 else replace(line, key=f"{line.key}/{count}"))
    return tuple(unique)


def amount_in_currency(text: str, currency: str, minor: Decimal) -> Decimal:
    """A decimal amount that must fit the currency's minor unit (`minor`, e.g. 0.01); ValueError otherwise."""
    value = Decimal(text)
    if not value.is_finite():
        raise ValueError(f"{text!r} is not an amount")
    if value != value.quantize(minor):
        raise ValueError(f"{text!r} has more decimal places than {currency} has (its smallest unit is {minor})")
    return value.quantize(minor)


def first(values: Sequence[str]) -> str:
    """The first value that is a reference, or ""."""
    return next((v for v in values if is_reference(v)), "")
