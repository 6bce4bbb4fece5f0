"""What the bank-file tests share: where the fixtures are, and comparing parsed lines with hand-written ones.

A line the bank gave no id has a key that is a hash of its content; a test cannot write the hash by hand, so
its expected key is the readable prefix followed by `HASH`, and `assert_lines` checks that the rest is one.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from adapters.bank_files import StatementLine

FIXTURES = Path(__file__).parent / "fixtures"
HASH = "<hash>"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def line_number(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line on which `needle` occurs (its n-th occurrence)."""
    start = -1
    for _ in range(occurrence):
        start = text.index(needle, start + 1)
    return text.count("\n", 0, start) + 1


def assert_lines(actual: tuple[StatementLine, ...], expected: list[StatementLine]) -> None:
    assert len(actual) == len(expected), [line.key for line in actual]
    for got, want in zip(actual, expected, strict=True):
        if want.key.endswith(HASH):
            prefix = re.escape(want.key.removesuffix(HASH))
            assert re.fullmatch(prefix + r"[0-9a-f]{20}(/\d+)?", got.key), (got.key, want.key)
            got = replace(got, key=want.key)
        assert got == want
