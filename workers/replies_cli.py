"""`duecourse replies classify --in REPLIES.jsonl --out CLASSES.json`: batch reply classification (issue 13).

Each line of REPLIES.jsonl is one reply, `{"id": str, "received": "YYYY-MM-DD", "subject": str, "body": str}`
(other keys are ignored). CLASSES.json is a JSON list with one object per good line, in input order:
`{"id": str, "kind": str, "date": "YYYY-MM-DD" | null, "confidence": float}` — the rules the product applies
to replies (`activities.replies.classify`); no language model is consulted here.

A bad line (not JSON, not an object, a field missing or of the wrong type, a date that is not a real
YYYY-MM-DD) is reported on stderr as `FILE: line N, field F: what is wrong` and skipped; blank lines are
ignored; bytes that are not UTF-8 are replaced and reported, and the line is still classified. Exit status 2
when the input cannot be read, the output cannot be written, or no line at all is usable; 0 otherwise. A
summary goes to stderr; with `--json`, one summary object to stdout.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from workers.cli import json_flag

if TYPE_CHECKING:
    from activities.replies import Classification
    from workers.cli import Commands

EXIT_UNUSABLE = 2
_SHOWN_LINE_ERRORS = 50
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FIELDS = ("id", "received", "subject", "body")


class InputFileError(Exception):
    """REPLIES.jsonl cannot be used at all."""


@dataclass(frozen=True, slots=True)
class LineError:
    file: str
    line: int
    field: str  # "-" when the line as a whole is wrong (not JSON, not an object)
    message: str
    skipped: bool = True

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", field {self.field}" if self.field != "-" else "")
        return f"{self.file}: {where}: {self.message}" + (" (line skipped)" if self.skipped else "")


@dataclass(frozen=True, slots=True)
class ReplyLine:
    line: int
    id: str
    received: date
    subject: str
    body: str


class _BadField(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def add_replies_commands(commands: Commands) -> None:
    """`replies classify`."""
    replies = commands.add_parser("replies", help="customer replies to reminders").add_subparsers(
        dest="replies_command", required=True)
    classify = replies.add_parser("classify", help="classify replies from a JSONL file with the rules")
    classify.add_argument("--in", dest="input", required=True, metavar="REPLIES.jsonl",
                          help='one reply per line: {"id", "received", "subject", "body"}')
    classify.add_argument("--out", required=True, metavar="CLASSES.json", help="where to write the classes")
    json_flag(classify)
    classify.set_defaults(run=cmd_replies_classify)


def cmd_replies_classify(args: argparse.Namespace) -> int:
    from activities.replies import REVIEW_THRESHOLD, Reply, classify

    replies = RepliesFile(args.input)
    results: list[dict[str, Any]] = []
    try:
        for item in replies:
            verdict = classify(Reply(subject=item.subject, body=item.body), item.received)
            results.append(class_record(item.id, verdict))
    except InputFileError as exc:
        print(f"duecourse replies classify: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    _report_line_errors(replies.errors, sys.stderr)
    skipped = sum(1 for e in replies.errors if e.skipped)
    if not results and skipped:
        print(f"duecourse replies classify: error: {args.input}: no usable reply in {replies.lines_read} lines",
              file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        print(f"duecourse replies classify: error: {args.out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    for_review = sum(1 for r in results if r["confidence"] < REVIEW_THRESHOLD)
    print(f"{args.input}: {replies.lines_read} lines read, {len(results)} replies classified, {skipped} skipped, "
          f"{for_review} below {REVIEW_THRESHOLD} (for a human to read) -> {args.out}", file=sys.stderr)
    if args.json:
        print(json.dumps({"classified": len(results), "skipped": skipped, "lines_read": replies.lines_read,
                          "for_review": for_review, "review_threshold": REVIEW_THRESHOLD,
                          "kinds": dict(Counter(r["kind"] for r in results)), "out": str(args.out),
                          "line_errors": [{"file": e.file, "line": e.line, "field": e.field, "message": e.message,
                                           "skipped": e.skipped} for e in replies.errors]}))
    return 0


def class_record(reply_id: str, verdict: Classification) -> dict[str, Any]:
    """One object of CLASSES.json, exactly the fixed keys."""
    return {"id": reply_id, "kind": verdict.kind, "date": verdict.date.isoformat() if verdict.date else None,
            "confidence": round(float(verdict.confidence), 2)}


class RepliesFile:
    """REPLIES.jsonl read line by line (a large file is never held whole): iterating yields the good lines
    in order; bad ones are collected in `errors`. Iterating raises `InputFileError` when the file cannot be
    opened or read."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[LineError] = []
        self.lines_read = 0

    def __iter__(self) -> Iterator[ReplyLine]:
        try:
            with open(self.path, "rb") as stream:
                for number, raw in enumerate(stream, start=1):
                    self.lines_read = number
                    text = _decoded(raw, self.path, number, self.errors)
                    if not text.strip():
                        continue
                    try:
                        yield _reply(text, number)
                    except _BadField as bad:
                        self.errors.append(LineError(self.path, number, bad.field, bad.message))
        except OSError as exc:
            raise InputFileError(f"{self.path}: cannot read: {exc.strerror or exc}") from None


def _decoded(raw: bytes, path: str, number: int, errors: list[LineError]) -> str:
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        errors.append(LineError(path, number, "-", f"not UTF-8 at byte {exc.start + 1}; undecodable bytes replaced",
                                skipped=False))
        return raw.decode("utf-8", "replace")


def _reply(text: str, number: int) -> ReplyLine:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _BadField("-", f"not JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise _BadField("-", "not JSON: nested too deeply") from None
    if not isinstance(value, dict):
        raise _BadField("-", f"expected a JSON object, found {type(value).__name__}")
    for name in _FIELDS:
        if name not in value:
            raise _BadField(name, "missing")
        if not isinstance(value[name], str):
            shown = "null" if value[name] is None else type(value[name]).__name__
            raise _BadField(name, f"must be a string, found {shown}")
    if not value["id"].strip():
        raise _BadField("id", "is empty")
    received = value["received"].strip()
    if not _ISO_DATE.fullmatch(received):
        raise _BadField("received", f"{value['received']!r} is not a date like 2026-03-05")
    try:
        day = date.fromisoformat(received)
    except ValueError:
        raise _BadField("received", f"{value['received']!r} is not a real date") from None
    return ReplyLine(line=number, id=value["id"], received=day, subject=value["subject"], body=value["body"])


def _report_line_errors(errors: list[LineError], stream: TextIO) -> None:
    for error in errors[:_SHOWN_LINE_ERRORS]:
        print(error, file=stream)
    if len(errors) > _SHOWN_LINE_ERRORS:
        print(f"... and {len(errors) - _SHOWN_LINE_ERRORS} more line problems", file=stream)
