"""`duecourse replies classify` on files in tmp_path: JSONL in, JSON out, bad lines, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workers.cli import main

REPO = Path(__file__).resolve().parents[2]

GOOD = [
    {"id": "r-1", "received": "2026-03-05", "subject": "Re: Invoice INV-1042",
     "body": "We paid this on Monday.\n\nOn Tue, 3 Mar 2026, Acme <ar@acme.example> wrote:\n> Please pay now."},
    {"id": "r-2", "received": "2026-03-05", "subject": "Re: Invoice INV-1043", "body": "We will pay on Friday."},
    {"id": "r-3", "received": "2026-03-05", "subject": "Automatic reply: Invoice INV-1044",
     "body": "I am out of the office until Monday 9 March.", "from": "jane@globex.example"},
    {"id": "r-4", "received": "2026-03-05", "subject": "Undeliverable: Invoice INV-1045",
     "body": "Delivery has failed to these recipients or groups:\njane@globex.example\n550 5.1.1 User unknown"},
    {"id": "r-5", "received": "2026-03-05", "subject": "Re: Invoice INV-1046", "body": ""},
]
EXPECTED = [
    ("r-1", "paid", "2026-03-02"),
    ("r-2", "promise", "2026-03-06"),
    ("r-3", "out_of_office", "2026-03-09"),
    ("r-4", "bounce", None),
    ("r-5", "other", None),
]


def run(tmp_path: Path, content: bytes | str, *extra: str) -> tuple[int, Path]:
    replies = tmp_path / "REPLIES.jsonl"
    replies.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    out = tmp_path / "CLASSES.json"
    return main(["replies", "classify", "--in", str(replies), "--out", str(out), *extra]), out


def jsonl(*records: object) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def test_one_class_per_reply_in_input_order_with_exactly_the_fixed_keys(tmp_path: Path) -> None:
    code, out = run(tmp_path, jsonl(*GOOD))
    assert code == 0
    classes = json.loads(out.read_text(encoding="utf-8"))
    assert [(c["id"], c["kind"], c["date"]) for c in classes] == EXPECTED
    for record in classes:
        assert set(record) == {"id", "kind", "date", "confidence"}
        assert isinstance(record["confidence"], float) and 0.0 <= record["confidence"] <= 1.0
    assert classes[0]["confidence"] >= 0.85  # a strong phrase with a date
    assert classes[4]["confidence"] < 0.7  # an empty reply is for a person to look at


def test_bad_lines_are_reported_with_file_line_and_field_and_skipped(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    lines = [
        json.dumps(GOOD[0]),
        "{not json",
        json.dumps({"id": "x", "received": "2026-02-30", "subject": "", "body": ""}),
        json.dumps({"id": "y", "received": "05/03/2026", "subject": "", "body": ""}),
        json.dumps({"id": "z", "received": "2026-03-05", "subject": "Re: x"}),
        json.dumps({"id": 7, "received": "2026-03-05", "subject": "", "body": ""}),
        json.dumps({"id": "w", "received": "2026-03-05", "subject": None, "body": ""}),
        json.dumps(["a", "list"]),
        "",
        json.dumps(GOOD[1]),
    ]
    code, out = run(tmp_path, "\n".join(lines) + "\n")
    assert code == 0
    assert [c["id"] for c in json.loads(out.read_text(encoding="utf-8"))] == ["r-1", "r-2"]
    err = capsys.readouterr().err
    replies = tmp_path / "REPLIES.jsonl"
    for expected in (
        f"{replies}: line 2: not JSON",
        f"{replies}: line 3, field received: '2026-02-30' is not a real date",
        f"{replies}: line 4, field received: '05/03/2026' is not a date like 2026-03-05",
        f"{replies}: line 5, field body: missing",
        f"{replies}: line 6, field id: must be a string, found int",
        f"{replies}: line 7, field subject: must be a string, found null",
        f"{replies}: line 8: expected a JSON object, found list",
    ):
        assert expected in err
    assert err.count("(line skipped)") == 7
    assert "line 9" not in err  # a blank line is no reply and no error


def test_bytes_that_are_not_utf8_are_replaced_and_the_reply_still_read(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    line = b'{"id": "latin", "received": "2026-03-05", "subject": "", "body": "Caf\xe9: we will pay tomorrow"}\n'
    code, out = run(tmp_path, b"\xef\xbb\xbf" + line)  # with a byte-order mark, as Windows tools write
    assert code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == [
        {"id": "latin", "kind": "promise", "date": "2026-03-06", "confidence": 0.95}]
    assert "line 1: not UTF-8" in capsys.readouterr().err


def test_ids_with_broken_characters_still_make_valid_json(tmp_path: Path) -> None:
    record = {"id": "a\ud800b", "received": "2026-03-05", "subject": "", "body": "We paid yesterday \ud83d"}
    code, out = run(tmp_path, json.dumps(record) + "\n")
    assert code == 0
    assert json.loads(out.read_text(encoding="utf-8"))[0]["kind"] == "paid"


def test_json_flag_prints_exactly_one_summary_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(tmp_path, jsonl(*GOOD) + "oops\n", "--json")
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["classified"] == 5 and summary["skipped"] == 1
    assert summary["kinds"] == {"paid": 1, "promise": 1, "out_of_office": 1, "bounce": 1, "other": 1}
    assert summary["line_errors"][0]["line"] == 6


def test_an_empty_file_gives_an_empty_list(tmp_path: Path) -> None:
    code, out = run(tmp_path, "")
    assert code == 0 and json.loads(out.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("content", [b"garbage\n\x89PNG\r\n\x1a\n", b'"just a string"\n[1, 2]\n'])
def test_a_file_with_no_usable_line_exits_2(tmp_path: Path, content: bytes,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(tmp_path, content)
    assert code == 2 and not out.exists()
    assert "no usable reply" in capsys.readouterr().err


def test_unreadable_input_and_unwritable_output_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "CLASSES.json"
    assert main(["replies", "classify", "--in", str(tmp_path / "missing.jsonl"), "--out", str(out)]) == 2
    assert main(["replies", "classify", "--in", str(tmp_path), "--out", str(out)]) == 2
    assert not out.exists()
    assert "cannot read" in capsys.readouterr().err
    replies = tmp_path / "REPLIES.jsonl"
    replies.write_text(jsonl(GOOD[0]), encoding="utf-8")
    assert main(["replies", "classify", "--in", str(replies), "--out", str(tmp_path / "no" / "dir.json")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_the_real_entry_point(tmp_path: Path) -> None:
    replies = tmp_path / "REPLIES.jsonl"
    replies.write_text(jsonl(*GOOD[:2]), encoding="utf-8")
    out = tmp_path / "CLASSES.json"
    done = subprocess.run([sys.executable, "-m", "workers.cli", "replies", "classify", "--in", str(replies),
                           "--out", str(out), "--json"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["classified"] == 2
    assert [c["kind"] for c in json.loads(out.read_text(encoding="utf-8"))] == ["paid", "promise"]
