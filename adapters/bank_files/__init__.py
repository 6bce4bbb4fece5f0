"""Bank statement files: CAMT.053, BAI2, MT940 and OFX, read into `StatementLine`s with stable keys.

`read_statement_file(path)` recognises the format from the content (`detect.detect_format`) and reads it with
that format's module; a file that cannot be used raises `BankFileError` naming file, line and field, and the
lines a format allows to skip come back in `StatementFile.problems`.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from adapters.bank_files.bai2 import read_bai2
from adapters.bank_files.camt053 import read_camt053
from adapters.bank_files.detect import FileFormat, detect_format
from adapters.bank_files.mt940 import read_mt940
from adapters.bank_files.ofx import read_ofx
from adapters.bank_files.statement import BankFileError, BankFormat, StatementFile, StatementLine

READERS: dict[BankFormat, Callable[[bytes, str], StatementFile]] = {
    "camt.053": read_camt053,
    "bai2": read_bai2,
    "mt940": read_mt940,
    "ofx": read_ofx,
}
# A statement file larger than this is not a statement (the largest banks' daily files stay far below it).
MAX_BYTES = 256 * 1024 * 1024


def read_file_bytes(path: str | os.PathLike[str]) -> bytes:
    name = os.fspath(path)
    try:
        size = os.path.getsize(name)
        if size > MAX_BYTES:
            raise BankFileError(name, None, "file", f"{size:,} bytes is more than a statement file holds")
        with open(name, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise BankFileError(name, None, "file", f"cannot read: {exc.strerror or exc}") from None


def read_statement(data: bytes, path: str, fmt: BankFormat) -> StatementFile:
    return READERS[fmt](data, path)


def read_statement_file(path: str | os.PathLike[str]) -> StatementFile:
    """The statement file at `path`, whichever of the four formats it is in."""
    name = os.fspath(path)
    data = read_file_bytes(name)
    fmt = detect_format(data)
    if fmt is None or fmt == "csv":
        raise BankFileError(name, 1, "format", "not a CAMT.053, BAI2, MT940 or OFX statement")
    return read_statement(data, name, fmt)


__all__ = [
    "READERS",
    "BankFileError",
    "BankFormat",
    "FileFormat",
    "StatementFile",
    "StatementLine",
    "detect_format",
    "read_file_bytes",
    "read_statement",
    "read_statement_file",
]
