"""`duecourse policy check` and `duecourse policy show` as a user runs them; the file `duecourse dev` writes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from activities.policy import DEFAULT_POLICY_TOML
from tests.e2e.stack import DUECOURSE, DevStack
from workers.cli import main
from workers.dev import DevOptions, prepare_data_dir
from workflows.policy import default_policy

BAD = """\
minimum_balance = "-1"
default_ladder = "standard"

[ladders.standard]
levels = [
  { days = 7, tone = "firm" },
  { days = 3, tone = "firm" },
]
"""
GOOD = """\
default_ladder = "standard"

[ladders.gentle]
match = { tags = ["key-account"] }
levels = [{ days = 10, tone = "friendly" }]

[ladders.standard]
levels = [{ days = 1, tone = "friendly" }, { days = 14, tone = "final", approval = true }]
"""


def run(*args: str, home: Path, policy: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`duecourse policy ARGS` in this process (the installed command is run once, below: it is slow to start)."""
    saved = {name: os.environ.get(name) for name in ("DUECOURSE_HOME", "DUECOURSE_POLICY")}
    os.environ["DUECOURSE_HOME"] = str(home)
    os.environ.pop("DUECOURSE_POLICY", None)
    if policy is not None:
        os.environ["DUECOURSE_POLICY"] = str(policy)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["policy", *args])
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return subprocess.CompletedProcess(["duecourse", "policy", *args], code, out.getvalue(), err.getvalue())


def installed(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUECOURSE_", "TEMPORAL_"))}
    env["DUECOURSE_HOME"] = str(home)
    return subprocess.run([DUECOURSE, "policy", *args], env=env, capture_output=True, text=True, timeout=60)


def one_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    parsed: dict[str, Any] = json.loads(lines[0])
    return parsed


def test_check_prints_every_problem_with_file_and_line_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(BAD)
    result = installed("check", str(path), home=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path}:1: minimum_balance: Input should be greater than or equal to 0",
        f"{path}:7: ladders.standard.levels[1].days: level days must strictly increase: level 2 (+3) does not "
        "come after level 1 (+7)",
    ]


def test_check_json_lists_the_problems(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(BAD)
    result = run("check", str(path), "--json", home=tmp_path)
    assert result.returncode == 1
    answer = one_json(result)
    assert answer["ok"] is False
    assert [(p["file"], p["line"]) for p in answer["problems"]] == [(str(path), 1), (str(path), 7)]
    assert all(isinstance(p["message"], str) and p["message"] for p in answer["problems"])


def test_check_of_a_good_file_says_ok_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(GOOD)
    result = run("check", str(path), home=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, "ok")
    answer = one_json(run("check", str(path), "--json", home=tmp_path))
    assert answer == {"ok": True, "problems": []}


def test_check_of_a_file_that_does_not_parse_gives_the_parse_error_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('default_ladder = "x"\n[ladders.x]\nlevels = [{ days = 1 tone = "firm" }]\n')
    result = run("check", str(path), home=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith(f"{path}:3: not valid TOML:")


def test_check_of_a_missing_file_exits_1(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "nope.toml"), home=tmp_path)
    assert result.returncode == 1
    assert result.stdout.strip() == f"{tmp_path / 'nope.toml'}: no such file"


def test_show_without_a_file_is_the_built_in_default(tmp_path: Path) -> None:
    answer = one_json(run("show", "--json", home=tmp_path))
    assert answer["source"] == "default" and answer["path"] == str(tmp_path / "policy.toml")
    assert answer["digest"] == default_policy().digest()
    assert answer["policy"] == default_policy().model_dump(mode="json")
    human = run("show", home=tmp_path)
    assert human.returncode == 0
    assert "built-in default" in human.stdout and "every reminder but #2" in human.stdout


def test_show_prints_the_file_in_force_and_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "ours.toml"
    path.write_text(GOOD)
    answer = one_json(run("show", "--json", home=tmp_path, policy=path))
    assert (answer["source"], answer["path"]) == ("file", str(path))
    assert list(answer["policy"]["ladders"]) == ["gentle", "standard"]
    assert answer["policy"]["ladders"]["standard"]["levels"][1] == {"days": 14, "tone": "final", "approval": True}
    human = run("show", home=tmp_path, policy=path).stdout
    assert f"from {path}" in human
    assert "ladder gentle [tags key-account]: +10 friendly" in human
    assert "ladder standard [default]: +1 friendly, +14 final (approval)" in human


def test_show_of_a_bad_file_lists_its_problems_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text(BAD)
    result = run("show", home=tmp_path)
    assert result.returncode == 1
    assert f"{tmp_path / 'policy.toml'}:7:" in result.stdout
    answer = one_json(run("show", "--json", home=tmp_path))
    assert answer["ok"] is False and len(answer["problems"]) == 2


@pytest.mark.e2e
def test_the_dev_stack_writes_a_commented_default_policy_that_checks_and_is_the_default(tmp_path: Path) -> None:
    stack = DevStack(home=tmp_path / "home", day_seconds=30)
    stack.home.mkdir()
    try:
        stack.start()
        path = stack.home / "policy.toml"
        assert path.read_text() == DEFAULT_POLICY_TOML
        assert run("check", str(path), home=stack.home).stdout.strip() == "ok"
        shown = one_json(run("show", "--json", home=stack.home))
        assert (shown["source"], shown["digest"]) == ("file", default_policy().digest())
        assert shown["policy"] == default_policy().model_dump(mode="json")
    finally:
        stack.stop()
    edited = DEFAULT_POLICY_TOML.replace('minimum_balance = "1.00"', 'minimum_balance = "5.00"')
    path.write_text(edited)
    # What a restart of `duecourse dev` does with the data dir first: the business's edit stays.
    ports = stack.ports
    prepare_data_dir(DevOptions(home=stack.home, temporal_port=ports["temporal"], ui_port=ports["ui"],
                                web_port=ports["web"], smtp_port=ports["smtp"]))
    assert path.read_text() == edited
