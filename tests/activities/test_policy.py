"""The policy file: every problem at its line, the default file, and what running lifecycles read."""

from __future__ import annotations

import logging
import re
import textwrap
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.policy import (
    DEFAULT_POLICY_TOML,
    PolicyActivities,
    PolicyError,
    check_policy_file,
    check_policy_text,
    ensure_default_policy,
    key_lines,
    load_policy,
    policy_path,
)
from adapters.ledger import Customer
from workflows.policy import PolicyRead, default_policy

GOOD = """\
minimum_balance = "25.00"
default_ladder = "standard"

[ladders.standard]
levels = [
  { days = 1, tone = "friendly" },
  { days = 10, tone = "firm" },
]
"""


def problems(text: str) -> list[tuple[int | None, str]]:
    policy, found = check_policy_text(textwrap.dedent(text), "policy.toml")
    assert (policy is None) == bool(found)
    return [(p.line, p.message) for p in found]


def only(text: str) -> tuple[int | None, str]:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# --- every problem, at its line -----------------------------------------------------------------------------

BAD_FILES = [
    pytest.param("""\
        default_ladder = "standard"
        [ladders.standard]
        levels = [{ days = 1, tone = "friendly" }
        """, 3, "not valid TOML", id="does-not-parse"),
    pytest.param("""\
        minimum_balance = "1"
        minimum_balance = "2"
        """, 2, "not valid TOML", id="duplicate-key"),
    pytest.param("""\
        colour = "red"
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]
        """, 1, "colour: unknown key", id="unknown-top-level-key"),
    pytest.param("""\
        [ladders.default]
        levels = [
          { days = 1, tone = "friendly" },
          { days = 5, tone = "firm", aproval = true },
        ]
        """, 4, "ladders.default.levels[1].aproval: unknown key (did you mean 'approval'?", id="unknown-key-in-level"),
    pytest.param("""\
        [ladders.default]
        levels = [
          { days = 1, tone = "friendly" },
          { days = 5, tone = "rude" },
        ]
        """, 4, "ladders.default.levels[1].tone: Input should be 'friendly', 'firm' or 'final'", id="bad-tone"),
    pytest.param("""\
        [ladders.default]
        [[ladders.default.levels]]
        days = 10
        tone = "friendly"

        [[ladders.default.levels]]
        days = 3
        tone = "firm"
        """, 7, "level days must strictly increase: level 2 (+3) does not come after level 1 (+10)",
        id="days-not-increasing-array-of-tables"),
    pytest.param("""\
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }, { days = 1, tone = "firm" }]
        """, 2, "ladders.default.levels[1].days: level days must strictly increase", id="days-equal"),
    pytest.param("""\
        minimum_balance = "-5"
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]
        """, 1, "minimum_balance: Input should be greater than or equal to 0", id="negative-minimum"),
    pytest.param("""\
        minimum_balance = "lots"
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]
        """, 1, "minimum_balance: Input should be a valid decimal", id="minimum-not-a-number"),
    pytest.param("""\
        [send_window]
        start = "17:00"
        end = "09:00"
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]
        """, 3, "send_window.end: the send window must end after it starts (17:00 to 09:00)", id="window-backwards"),
    pytest.param("""\
        [send_window]
        start = 9
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]
        """, 2, 'send_window.start: write a time of day as "HH:MM"', id="window-hour-as-number"),
    pytest.param("""\
        business_days = ["mon", "tue", "funday"]
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]
        """, 1, "business_days[2]: Input should be 'mon'", id="unknown-weekday"),
    pytest.param("""\
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]

        [holidays.XX]
        extra = [2026-12-24]
        """, 4, "holidays.XX: unknown country code 'XX'", id="unknown-country-in-holidays"),
    pytest.param("""\
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]

        [holidays.gb]
        calendar = "GB-ENG"

        [holidays.zz]
        extra = [2026-12-24]
        """, 7, "holidays.zz: unknown country code 'ZZ'", id="unknown-country-written-lower-case"),
    pytest.param("", 1, "ladders: missing", id="empty-file"),
    pytest.param("""\
        [ladders.uk]
        match = { countries = ["GB", "ZZ"] }
        levels = [{ days = 1, tone = "friendly" }]
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]
        """, 2, "ladders.uk.match.countries[1]: unknown country code 'ZZ'", id="unknown-country-in-segment"),
    pytest.param("""\
        default_ladder = "gentle"
        [ladders.standard]
        levels = [{ days = 1, tone = "friendly" }]
        """, 1, "default_ladder 'gentle' names no ladder (the ladders are: 'standard'", id="unknown-default-ladder"),
    pytest.param("""\
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]

        [[quiet_periods]]
        name = "year end"
        start = 2026-12-20
        end = 2027-01-04

        [[quiet_periods]]
        name = "stocktake"
        start = 2027-01-02
        end = 2027-01-08
        """, 11, "quiet period 'stocktake' overlaps 'year end'", id="overlapping-quiet-periods"),
    pytest.param("""\
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]

        [[quiet_periods]]
        start = 2026-12-20
        end = 2027-01-04

        [[quiet_periods]]
        start = 2027-02-02
        finish = 2027-02-08
        """, 10, "quiet_periods[1].finish: unknown key", id="unknown-key-in-second-quiet-period"),
    pytest.param("""\
        [ladders.standard]
        escalate_after_days = 7
        """, 1, "ladders.standard.levels: missing", id="ladder-without-levels"),
    pytest.param("""\
        [approval]
        reminders = "some"
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]
        """, 2, 'approval.reminders: reminders is "all", "none" or a list', id="approval-reminders-word"),
    pytest.param("""\
        [approval]
        reminders = [1, 0]
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]
        """, 2, "approval.reminders[1]: Input should be greater than or equal to 1", id="approval-reminder-zero"),
    pytest.param("""\
        [ladders."big accounts"]
        match = { balance_at_least = "10000" }
        levels = [{ days = 1, tone = "friendly" }]
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]
        """, 2, "needs the `currency` it is in", id="balance-range-without-currency"),
    pytest.param("""\
        [ladders.default]
        levels = [{ days = 1, tone = "friendly" }]
        [ladders.forgotten]
        levels = [{ days = 1, tone = "friendly" }]
        """, 3, "ladder 'forgotten' has no `match` and is not the default_ladder", id="unreachable-ladder"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_FILES)
def test_each_problem_is_reported_at_its_line(text: str, line: int, message: str) -> None:
    found = problems(text)
    assert [at for at, what in found if message in what] == [line], found


def test_every_problem_of_a_file_is_reported_each_at_its_line() -> None:
    found = problems("""\
        minimum_balance = "-1"
        default_ladder = "gentle"
        [send_window]
        start = "18:00"
        end = "08:00"
        [ladders.standard]
        levels = [
          { days = 5, tone = "firm" },
          { days = 2, tone = "firm" },
        ]
        [ladders.uk]
        match = { countries = ["ZZ"] }
        levels = [{ days = 5, tone = "rude" }]
        """)
    assert [line for line, _ in found] == [1, 2, 5, 6, 9, 13], found
    assert "default_ladder 'gentle' names no ladder" in found[1][1]
    assert "ladder 'standard' has no `match`" in found[3][1]
    assert "level 2 (+2) does not come after level 1 (+5)" in found[4][1]
    assert "ladders.uk.levels[0].tone" in found[5][1]  # a ladder that is itself broken: its match is not checked


def test_a_good_file_loads() -> None:
    policy, found = check_policy_text(GOOD, "policy.toml")
    assert found == [] and policy is not None
    assert policy.minimum_balance == Decimal("25.00")
    assert policy.dunning_ladder().name == "standard"


def test_key_lines_follow_tables_arrays_and_inline_tables() -> None:
    text = textwrap.dedent("""\
        # a comment with = and [brackets]
        top = "a # not a comment"
        [a]
        b.c = 1
        'quoted.key' = { x = 1, y = [1, 2] }
        s = '''
        multi [line]
        '''
        [[t]]
        v = 1
        [[t]]
        v = 2
        [t.inner]
        w = 3
        """)
    lines = key_lines(text)
    assert lines[("top",)] == 2
    assert lines[("a", "b", "c")] == 4
    assert lines[("a", "quoted.key", "y", 1)] == 5
    assert lines[("a", "s")] == 6
    assert lines[("t", 0, "v")] == 10
    assert lines[("t", 1, "v")] == 12
    assert lines[("t", 1, "inner", "w")] == 14


# --- files on disk ----------------------------------------------------------------------------------------


def test_the_policy_path_is_the_env_or_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUECOURSE_POLICY", raising=False)
    assert policy_path(tmp_path) == tmp_path / "policy.toml"
    monkeypatch.setenv("DUECOURSE_POLICY", str(tmp_path / "elsewhere" / "ours.toml"))
    assert policy_path(tmp_path) == tmp_path / "elsewhere" / "ours.toml"


def test_a_missing_file_is_the_default_policy_and_a_bad_one_is_refused_with_every_problem(tmp_path: Path) -> None:
    assert load_policy(tmp_path / "policy.toml") == default_policy()
    bad = tmp_path / "bad.toml"
    bad.write_text('minimum_balance = "-1"\ncolour = 1\n[ladders.default]\nlevels = [{ days = 1, tone = "x" }]\n')
    with pytest.raises(PolicyError) as refused:
        load_policy(bad)
    assert [p.line for p in refused.value.problems] == [1, 2, 4]
    assert str(refused.value).splitlines()[0].startswith(f"{bad}:1: minimum_balance")


def test_check_names_a_file_that_is_missing_or_not_text(tmp_path: Path) -> None:
    _, missing = check_policy_file(tmp_path / "nope.toml")
    assert [(p.line, p.message) for p in missing] == [(None, "no such file")]
    binary = tmp_path / "policy.toml"
    binary.write_bytes(b'minimum_balance = "1"\n\xff\xfe')
    _, found = check_policy_file(binary)
    assert [(p.line, p.message) for p in found] == [(2, "not UTF-8 text (a policy file is TOML)")]


def test_the_commented_default_file_is_exactly_the_default_policy() -> None:
    policy, found = check_policy_text(DEFAULT_POLICY_TOML, "policy.toml")
    assert found == []
    assert policy == default_policy()
    assert policy.digest() == default_policy().digest()


def test_every_example_in_the_default_file_is_a_valid_policy_once_uncommented() -> None:
    """A finance lead uncomments what they need: each example must then still pass the check."""
    example = re.compile(r"^# (\[|[A-Za-z_]+ = |  \{|\])")
    text = "\n".join(line[2:] if example.match(line) else line for line in DEFAULT_POLICY_TOML.splitlines())
    policy, found = check_policy_text(text, "policy.toml")
    assert found == [], found
    assert policy is not None
    assert list(policy.ladders) == ["key_accounts", "default"]
    assert policy.quiet_periods and policy.closures and policy.holidays["GB"].calendar == "GB-ENG"
    assert policy.minimum_balance_by_currency == {"JPY": Decimal("100")}


def test_the_default_file_is_written_once_and_never_over_an_edit(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUECOURSE_POLICY", raising=False)
    assert ensure_default_policy(tmp_path) == tmp_path / "policy.toml"
    assert (tmp_path / "policy.toml").read_text() == DEFAULT_POLICY_TOML
    (tmp_path / "policy.toml").write_text(GOOD)
    assert ensure_default_policy(tmp_path) is None
    assert (tmp_path / "policy.toml").read_text() == GOOD
    monkeypatch.setenv("DUECOURSE_POLICY", str(tmp_path / "other.toml"))
    assert ensure_default_policy(tmp_path / "fresh") is None and not (tmp_path / "fresh").exists()


# --- read_policy ------------------------------------------------------------------------------------------


def read(activities: PolicyActivities, known: str) -> PolicyRead:
    result: PolicyRead = ActivityEnvironment().run(activities.read_policy, known)
    return result


def test_read_policy_answers_nothing_new_when_the_digest_is_known(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(GOOD)
    activities = PolicyActivities(path)
    first = read(activities, "")
    assert first.policy is not None and first.policy.minimum_balance == Decimal("25.00")
    again = read(activities, first.digest)
    assert again == PolicyRead(digest=first.digest, policy=None)


def test_read_policy_answers_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(GOOD)
    activities = PolicyActivities(path)
    before = read(activities, "")
    path.write_text(GOOD.replace('"25.00"', '"40.00"'))
    after = read(activities, before.digest)
    assert after.digest != before.digest
    assert after.policy is not None and after.policy.minimum_balance == Decimal("40.00")
    path.unlink()
    gone = read(activities, after.digest)
    assert gone.policy == default_policy() and gone.digest == default_policy().digest()


def test_a_file_turned_bad_keeps_the_last_good_policy_and_says_so_loudly(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(GOOD)
    activities = PolicyActivities(path)
    good = read(activities, "")
    path.write_text(GOOD.replace('tone = "firm"', 'tone = "furious"'))
    with caplog.at_level(logging.ERROR, logger="duecourse.policy"):
        kept = read(activities, good.digest)
        newcomer = read(activities, "")
    assert kept == PolicyRead(digest=good.digest, policy=None)
    assert newcomer.digest == good.digest and newcomer.policy == good.policy  # a new workflow gets the good one
    refusals = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(refusals) == 1  # once per bad version of the file, not once per workflow
    assert "POLICY REFUSED" in refusals[0].getMessage() and ":7: ladders.standard.levels[1].tone" in (
        refusals[0].getMessage())


def test_a_file_bad_from_the_start_leaves_workflows_with_what_they_have(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("this is not toml")
    activities = PolicyActivities(path)
    assert read(activities, "") == PolicyRead(digest="", policy=None)
    assert read(activities, "sha256:0123") == PolicyRead(digest="sha256:0123", policy=None)
    path.write_text(GOOD)
    fixed = read(activities, "sha256:0123")
    assert fixed.policy is not None and fixed.policy.dunning_ladder().name == "standard"


def test_the_readme_example_is_a_valid_policy() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("## Your collections policy", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    policy, found = check_policy_text(example, "README.md")
    assert found == [] and policy is not None
    assert list(policy.ladders) == ["key_accounts", "standard"]


# --- as the lifecycle calls it: a local activity, the answer validated inside the workflow sandbox ---------


@workflow.defn(sandboxed=True)
class PolicyProbe:
    @workflow.run
    async def run(self, known: str) -> list[str]:
        read = await workflow.execute_local_activity_method(
            PolicyActivities.read_policy, known, start_to_close_timeout=timedelta(seconds=10))
        if read.policy is None:
            return [read.digest, "unchanged"]
        key_account = Customer(id="C-9", name="Fabrikam", tags=["key-account"], country="GB")
        ladder = read.policy.ladder_for(key_account, Decimal("500"))
        closed = sorted(day.isoformat() for day in read.policy.closed_days("GB"))
        return [read.digest, ladder.name, *closed]


async def test_a_workflow_reads_the_policy_through_the_local_activity(tmp_path: Path) -> None:
    from tests.conftest import start_time_skipping
    from workers.worker import workflow_runner

    path = tmp_path / "policy.toml"
    path.write_text(DEFAULT_POLICY_TOML.replace("# [ladders.key_accounts]\n# match", "[ladders.key_accounts]\nmatch")
                    .replace("# levels = [\n#   { days = 3", "levels = [\n  { days = 3")
                    .replace("#   { days = 14", "  { days = 14").replace("#   { days = 30", "  { days = 30")
                    .replace("# ]\n\n[ladders.default]", "]\n\n[ladders.default]")
                    .replace("# closures", "closures"))
    env = await start_time_skipping()
    activities = PolicyActivities(path)
    try:
        async with Worker(env.client, task_queue="policy", workflows=[PolicyProbe], activities=[activities.read_policy],
                          activity_executor=ThreadPoolExecutor(max_workers=2),
                          workflow_runner=workflow_runner(strict=True)):
            first = await env.client.execute_workflow(PolicyProbe.run, "", id="probe-1", task_queue="policy")
            again = await env.client.execute_workflow(PolicyProbe.run, first[0], id="probe-2", task_queue="policy")
    finally:
        await env.shutdown()
    assert first[1:] == ["key_accounts", "2026-12-24", "2026-12-31"]
    assert first[0] == load_policy(path).digest()
    assert again == [first[0], "unchanged"]


def test_an_unreadable_file_keeps_the_last_good_policy_and_logs_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(GOOD)
    activities = PolicyActivities(path)
    good = read(activities, "")
    path.unlink()
    path.mkdir()  # reading it fails (a directory), as a permission problem would
    with caplog.at_level(logging.ERROR, logger="duecourse.policy"):
        assert read(activities, good.digest) == PolicyRead(digest=good.digest, policy=None)
        assert read(activities, "").policy == good.policy
    assert [r.getMessage()[:16] for r in caplog.records if r.levelno == logging.ERROR] == ["POLICY NOT READ:"]
