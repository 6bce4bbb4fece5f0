"""The collections policy file: where it is, reading and checking it, and the activity the lifecycle reads it by.

The file is TOML (`DUECOURSE_POLICY`, else `$DUECOURSE_HOME/policy.toml`); a missing file is the built-in
default policy. A file with problems is refused with every problem, each at the line of the key it concerns
(`FILE:LINE: what is wrong`), so `duecourse policy check` answers as a compiler would.

`PolicyActivities.read_policy` is what running lifecycles call (as a local activity) before a step: it
answers the current digest, and the policy only when it differs from the one the workflow knows. A file that
turns bad never reaches a workflow: the worker keeps answering with the last good policy and logs the
problems loudly, once per bad version of the file.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio import activity

from workflows.fee_policy import FeeRate, FeeRule, Fees
from workflows.policy import (
    DEFER_CHECKS,
    Approval,
    Billing,
    CountryHolidays,
    Policy,
    PolicyLadder,
    PolicyLevel,
    PolicyRead,
    PolicySendWindow,
    Problem,
    QuietPeriod,
    Segment,
    Statements,
    default_policy,
)

log = logging.getLogger("duecourse.policy")

POLICY_ENV = "DUECOURSE_POLICY"
POLICY_FILE = "policy.toml"
Loc = tuple[str | int, ...]


def policy_path(home: Path) -> Path:
    """`DUECOURSE_POLICY` when set, else `policy.toml` in the data dir `home`."""
    explicit = os.environ.get(POLICY_ENV, "").strip()
    return Path(explicit).expanduser() if explicit else home / POLICY_FILE


class FileProblem(BaseModel):
    file: str
    line: int | None  # None: the whole file (missing, unreadable)
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line is not None else f"{self.file}: {self.message}"


class PolicyError(Exception):
    """A policy file that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[FileProblem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


# --- checking ------------------------------------------------------------------------------------------------


def check_policy_text(text: str, file: str) -> tuple[Policy | None, list[FileProblem]]:
    """The policy in `text` and no problems, or None and every problem (structure and logic) with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return None, [_parse_problem(str(error), text, file)]
    lines = key_lines(text)
    problems: list[tuple[Loc, str]] = []
    try:
        policy: Policy | None = Policy.model_validate(data, context={DEFER_CHECKS: True})
    except ValidationError as error:
        policy = None
        problems += _structure_problems(error, data)
        problems += [(_real_loc(p.loc, data), p.message) for p in _logic_of_valid_parts(data)]
    if policy is not None:
        problems += [(_real_loc(p.loc, data), p.message) for p in policy.problems()]
    if problems:
        found = [FileProblem(file=file, line=_line_of(loc, data, lines), message=f"{_shown(loc, data)}{message}")
                 for loc, message in problems]
        return None, sorted(found, key=lambda p: (p.line or 0))
    return policy, []


def check_policy_file(path: Path) -> tuple[Policy | None, list[FileProblem]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [FileProblem(file=str(path), line=None, message="no such file")]
    except OSError as error:
        return None, [FileProblem(file=str(path), line=None, message=f"cannot read it: {error.strerror or error}")]
    return _check_bytes(raw, str(path))


def _check_bytes(raw: bytes, file: str) -> tuple[Policy | None, list[FileProblem]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        return None, [FileProblem(file=file, line=line, message="not UTF-8 text (a policy file is TOML)")]
    return check_policy_text(text, file)


def load_policy(path: Path) -> Policy:
    """The policy in `path`; the built-in default when there is no file; `PolicyError` for a bad file."""
    if not path.exists():
        return default_policy()
    policy, problems = check_policy_file(path)
    if policy is None:
        raise PolicyError(problems)
    return policy


def _parse_problem(message: str, text: str, file: str) -> FileProblem:
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found:
        return FileProblem(file=file, line=int(found.group(1)),
                           message=f"not valid TOML: {message[:found.start()]} (column {found.group(2)})")
    end = re.search(r"\s*\(at end of document\)$", message)
    line = text.count("\n") + (0 if text.endswith("\n") else 1)
    return FileProblem(file=file, line=max(line, 1),
                       message=f"not valid TOML: {message[:end.start()] if end else message} (at the end of the file)")


def _table_model(parent: Loc) -> type[BaseModel] | None:
    """Which part of a policy the table at `parent` is."""
    shapes: list[tuple[tuple[str | None, ...], type[BaseModel]]] = [
        ((), Policy), (("send_window",), PolicySendWindow), (("approval",), Approval), (("billing",), Billing),
        (("holidays", None), CountryHolidays), (("quiet_periods", None), QuietPeriod),
        (("ladders", None), PolicyLadder), (("ladders", None, "levels", None), PolicyLevel),
        (("ladders", None, "match"), Segment), (("statements",), Statements),
        (("fees",), Fees), (("fees", "rates", None), FeeRate), (("fees", "ladders", None), FeeRule),
    ]
    for shape, model in shapes:
        if len(shape) == len(parent) and all(want is None or want == got for want, got in zip(shape, parent,
                                                                                           strict=True)):
            return model
    return None


def _unknown_key(loc: Loc) -> str:
    model = _table_model(loc[:-1])
    if model is None or not loc or not isinstance(loc[-1], str):
        return "unknown key"
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(loc[-1], allowed, n=1, cutoff=0.7)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key ({hint}the keys here are: {', '.join(allowed)})"


def _structure_problems(error: ValidationError, data: dict[str, Any]) -> Iterator[tuple[Loc, str]]:
    """Pydantic's errors as (place, message); of a union's alternatives only the one nearest the data."""
    errors = error.errors(include_url=False)
    real = [(_real_loc(tuple(e["loc"]), data), e) for e in errors]
    seen: set[Loc] = set()
    for loc, e in real:
        deeper = any(other != loc and other[:len(loc)] == loc for other, _ in real)
        if deeper or loc in seen:
            continue
        seen.add(loc)
        message = str(e["msg"])
        if e["type"] == "extra_forbidden":
            message = _unknown_key(loc)
        elif e["type"] == "missing":
            message = "missing: this key is required here"
        elif e["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        yield loc, message


def _real_loc(loc: Loc, data: Any) -> Loc:
    """`loc` without pydantic's union-member tags ("literal['all','none']", "tuple[int, ...]"): only keys and
    indexes of the file, plus a last key that is missing from it."""
    path: list[str | int] = []
    node = data
    for n, element in enumerate(loc):
        key = _key_in(node, element)
        if key is not None:
            path.append(key)
            node = node[key]
        elif n == len(loc) - 1 and isinstance(element, str) and isinstance(node, dict) and "[" not in element:
            path.append(element)  # a missing key
    return tuple(path)


def _key_in(node: Any, element: str | int) -> str | int | None:
    if isinstance(node, dict):
        if element in node:
            return element
        if isinstance(element, str):
            return next((key for key in node if isinstance(key, str) and key.casefold() == element.casefold()), None)
    if isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node):
        return element
    return None


def _logic_of_valid_parts(data: dict[str, Any]) -> Iterator[Problem]:
    """When the whole does not validate, still check the parts that do, so one wrong key does not hide the
    rest of the problems: each top-level key that validates on its own, each ladder that does, checked
    together on a stand-in for the invalid parts (whose own problems are already reported)."""
    base: dict[str, Any] = default_policy().model_dump(mode="json")
    stand_in = {"levels": [{"days": 0, "tone": "friendly"}], "match": {"customers": ["-"]}}
    probe_data = dict(base)
    broken: set[Loc] = set()
    for key, value in data.items():
        if key not in Policy.model_fields:
            continue
        if key == "ladders" and isinstance(value, dict):
            ladders: dict[str, Any] = {}
            for name, ladder in value.items():
                ladders[name] = ladder if _validates(PolicyLadder, ladder) else stand_in
                if ladders[name] is stand_in:
                    broken.add(("ladders", name))
            probe_data["ladders"] = ladders
        elif _validates(Policy, {**base, key: value}):
            probe_data[key] = value
        else:
            broken.add((key,))
    if not isinstance(data.get("ladders"), dict):
        broken.add(("default_ladder",))
    try:
        probe = Policy.model_validate(probe_data, context={DEFER_CHECKS: True})
    except ValidationError:  # parts that validate alone but not together: their errors are reported already
        return
    for problem in probe.problems():
        if not any(problem.loc[:len(part)] == part for part in broken):
            yield problem


def _validates(model: type[BaseModel], value: Any) -> bool:
    try:
        model.model_validate(value, context={DEFER_CHECKS: True})
    except ValidationError:
        return False
    return True


def _shown(loc: Loc, data: Any) -> str:
    if not loc:
        return ""
    text = ""
    for element in loc:
        text += f"[{element}]" if isinstance(element, int) else (f".{element}" if text else str(element))
    return f"{text}: "


def _line_of(loc: Loc, data: Any, lines: dict[Loc, int]) -> int:
    """The line of the deepest key of `loc` the file has (the enclosing table for a missing key)."""
    best = 1
    for end in range(1, len(loc) + 1):
        if loc[:end] in lines:
            best = lines[loc[:end]]
    return best


# --- where each key is ------------------------------------------------------------------------------------


def key_lines(text: str) -> dict[Loc, int]:
    """The line where each key path (and each array element) of a valid TOML document starts.

    tomllib keeps no positions, so this walks the text once more: table headers, arrays of tables, dotted
    keys, inline tables and multi-line arrays. It only runs on text tomllib already accepted."""
    scanner = _KeyScanner(text)
    try:
        scanner.document()
    except (IndexError, ValueError):  # cannot happen on valid TOML; the lines found so far still help
        log.debug("policy key scanner stopped early", exc_info=True)
    return scanner.lines


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class _KeyScanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.line = 1
        self.lines: dict[Loc, int] = {}
        self.array_tables: dict[Loc, int] = {}

    def document(self) -> None:
        table: Loc = ()
        while True:
            self._skip(newlines=True)
            if self.at >= len(self.text):
                return
            if self.text.startswith("[[", self.at):
                self._move(2)
                header = self._resolve(self._key(), array=True)
                self._expect("]]")
                table = header
            elif self.text[self.at] == "[":
                self._move(1)
                table = self._resolve(self._key(), array=False)
                self._expect("]")
            else:
                key = (*table, *self._key())
                self._record(key)
                self._expect("=")
                self._value(key)

    def _resolve(self, key: Loc, *, array: bool) -> Loc:
        path: Loc = ()
        for n, part in enumerate(key):
            path = (*path, part)
            last = n == len(key) - 1
            if last and array:
                index = self.array_tables.get(path, -1) + 1
                self.array_tables[path] = index
                self._record(path)
                path = (*path, index)
            elif path in self.array_tables:
                path = (*path, self.array_tables[path])
            self._record(path)
        return path

    def _record(self, path: Loc) -> None:
        for end in range(1, len(path) + 1):
            self.lines.setdefault(path[:end], self.line)

    def _key(self) -> Loc:
        parts: list[str | int] = []
        while True:
            self._skip(newlines=False)
            char = self.text[self.at]
            if char in "\"'":
                start = self.at
                self._string()
                parts.append(tomllib.loads(f"k = {self.text[start:self.at]}")["k"])
            else:
                found = _BARE_KEY.match(self.text, self.at)
                if found is None:
                    raise ValueError(f"no key at {self.at}")
                parts.append(found.group())
                self._move(len(found.group()))
            self._skip(newlines=False)
            if self.at < len(self.text) and self.text[self.at] == ".":
                self._move(1)
                continue
            return tuple(parts)

    def _value(self, path: Loc) -> None:
        self._skip(newlines=False)
        char = self.text[self.at]
        if char in "\"'":
            self._string()
        elif char == "[":
            self._move(1)
            index = 0
            while True:
                self._skip(newlines=True)
                if self.text[self.at] == "]":
                    self._move(1)
                    return
                self._record((*path, index))
                self._value((*path, index))
                self._skip(newlines=True)
                if self.text[self.at] == ",":
                    self._move(1)
                    index += 1
        elif char == "{":
            self._move(1)
            while True:
                self._skip(newlines=False)
                if self.text[self.at] == "}":
                    self._move(1)
                    return
                key = (*path, *self._key())
                self._record(key)
                self._expect("=")
                self._value(key)
                self._skip(newlines=False)
                if self.text[self.at] == ",":
                    self._move(1)
        else:
            while self.at < len(self.text) and self.text[self.at] not in ",]}\n#":
                self._move(1)

    def _string(self) -> None:
        quote = self.text[self.at]
        if self.text.startswith(quote * 3, self.at):
            end = self.text.index(quote * 3, self.at + 3)
            while quote == '"' and self.text[end - 1] == "\\" and self.text[end - 2] != "\\":
                end = self.text.index(quote * 3, end + 1)
            while self.text.startswith(quote, end + 3):  # up to two quotes may close the string's content
                end += 1
            self._move(end + 3 - self.at)
            return
        end = self.at + 1
        while self.text[end] != quote:
            end += 2 if quote == '"' and self.text[end] == "\\" else 1
        self._move(end + 1 - self.at)

    def _skip(self, *, newlines: bool) -> None:
        while self.at < len(self.text):
            char = self.text[self.at]
            if char in " \t\r" or (newlines and char == "\n"):
                self._move(1)
            elif char == "#":
                while self.at < len(self.text) and self.text[self.at] != "\n":
                    self._move(1)
            else:
                return

    def _expect(self, token: str) -> None:
        self._skip(newlines=False)
        if not self.text.startswith(token, self.at):
            raise ValueError(f"expected {token!r} at {self.at}")
        self._move(len(token))

    def _move(self, n: int) -> None:
        self.line += self.text.count("\n", self.at, self.at + n)
        self.at += n


# --- the file the dev stack writes -------------------------------------------------------------------------

DEFAULT_POLICY_TOML = '''\
# duecourse collections policy: how this company chases what it is owed.
# `duecourse policy check policy.toml` checks it (every problem, with its line); `duecourse policy show`
# prints what is in force. Running invoices pick a change up at their next step. As written, this file is
# exactly the built-in behaviour: uncomment and edit what your business does differently.
# (TOML: the plain `key = value` lines come first, then the [tables].)

# No reminder below this balance (in the invoice's currency); other amounts per currency further down.
minimum_balance = "1.00"

# The weekdays reminders may go out on (customer-local); hours in [send_window] below.
business_days = ["mon", "tue", "wed", "thu", "fri"]

# Company closure days, in every country (the customers' public holidays apply anyway; see [holidays]).
# closures = [2026-12-24, 2026-12-31]

# The ladder of a customer no ladder's `match` takes (see [ladders] at the end).
default_ladder = "default"

# [minimum_balance_by_currency]
# JPY = "100"

# Customer-local hours a reminder may go out: start included, end excluded.
[send_window]
start = "09:00"
end = "17:00"

# Which reminders wait for a human, by number (1 = the first one sent for an invoice): "all", "none" or a
# list such as [1, 3]. With "all", those in `except_reminders` go out on their own. A ladder level with
# `approval = true` always waits.
[approval]
reminders = "all"
except_reminders = [2]
# A new invoice (from an accepted quote or time entries) over this total waits for a human before it is posted.
invoices_over = "5000"

# Customer statements: on `day_of_month` (1-28) every customer with activity gets last month's statement as a
# PDF. mode: "shadow" (computed and audited, never sent), "draft" (each waits for a person) or "auto" (sent).
[statements]
mode = "draft"
day_of_month = 1

# Public holidays: each customer's own country's calendar (from the `holidays` package) applies. Per
# country you can pick another calendar (a region such as GB-ENG) and add extra dates.
# [holidays.GB]
# calendar = "GB-ENG"
# extra = [2026-08-28]

# No reminders at all in these periods (both days included).
# [[quiet_periods]]
# name = "year end"
# start = 2026-12-20
# end = 2027-01-04

# Ladders: each level is `days` from the due date (negative: before it) with a tone (friendly, firm or
# final). Ladders are tried in this order; the first whose `match` takes the customer wins. In a match,
# every criterion given must hold, and a list holds when any item does: tags, customers (ids), countries,
# currency, balance_at_least / balance_below (with currency), terms_days_at_least / terms_days_at_most.
#
# [ladders.key_accounts]
# match = { tags = ["key-account"] }
# escalate_after_days = 14
# levels = [
#   { days = 3, tone = "friendly" },
#   { days = 14, tone = "firm", approval = true },
#   { days = 30, tone = "final", approval = true },
# ]

[ladders.default]
escalate_after_days = 7   # days after the last level before the invoice goes to a collector
levels = [
  { days = -3, tone = "friendly" },
  { days = 1, tone = "friendly" },
  { days = 7, tone = "firm" },
  { days = 14, tone = "firm" },
  { days = 30, tone = "firm" },
  { days = 45, tone = "final" },
]
'''


def ensure_default_policy(home: Path) -> Path | None:
    """Write the commented default `policy.toml` into the data dir when it has none (and `DUECOURSE_POLICY`
    does not point elsewhere); the path written, else None."""
    if os.environ.get(POLICY_ENV, "").strip():
        return None
    path = home / POLICY_FILE
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(DEFAULT_POLICY_TOML)
    tmp.replace(path)
    return path


# --- the activity --------------------------------------------------------------------------------------------


class PolicyActivities:
    """Reads the policy file for running lifecycles; keeps the last good policy when the file turns bad."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._raw: bytes | None = None  # the file's bytes last read (None: no file)
        self._read_once = False
        self._last_good: tuple[Policy, str] | None = None  # with its digest
        self._unreadable: str | None = None  # the last read error logged

    def current(self) -> tuple[Policy, str] | None:
        """The policy in force and its digest: the file's, the default without a file, the last good one
        while the file is bad or unreadable; None when the file has been bad since this worker started."""
        try:
            raw: bytes | None = self.path.read_bytes()
        except FileNotFoundError:
            raw = None
        except OSError as error:
            with self._lock:
                if str(error) != self._unreadable:
                    self._unreadable = str(error)
                    log.error("POLICY NOT READ: %s: %s; running invoices keep the policy they have", self.path,
                              error)
                return self._last_good
        with self._lock:
            self._unreadable = None
            if self._read_once and raw == self._raw:
                return self._last_good
            self._read_once, self._raw = True, raw
            policy, problems = (default_policy(), []) if raw is None else _check_bytes(raw, str(self.path))
            if policy is None:
                log.error("POLICY REFUSED: %s has %d problem(s); running invoices keep %s:\n%s", self.path,
                          len(problems), "the last good policy" if self._last_good else "the policy they have",
                          "\n".join(str(problem) for problem in problems))
                return self._last_good
            digest = policy.digest()
            if self._last_good is None or digest != self._last_good[1]:
                log.info("collections policy %s in force (%s)", digest,
                         self.path if raw is not None else f"built-in default: no file at {self.path}")
            self._last_good = (policy, digest)
            return self._last_good

    @activity.defn(name="read_policy")
    def read_policy(self, known_digest: str) -> PolicyRead:
        """The current policy's digest, and the policy itself only when it is not `known_digest`."""
        current = self.current()
        if current is None:
            return PolicyRead(digest=known_digest, policy=None)
        policy, digest = current
        return PolicyRead(digest=digest, policy=None if digest == known_digest else policy)


__all__ = [
    "DEFAULT_POLICY_TOML", "POLICY_ENV", "FileProblem", "PolicyActivities", "PolicyError", "PolicyRead",
    "check_policy_file", "check_policy_text", "ensure_default_policy", "key_lines", "load_policy", "policy_path",
]
