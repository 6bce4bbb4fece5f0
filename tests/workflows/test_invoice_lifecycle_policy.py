"""The collections policy file drives a running lifecycle: read before every step, a change applies from the
next step on. The time-skipping server, the real sandbox ledger and store, the policy file on disk."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.workflows.test_invoice_lifecycle import LEAD_DAYS, Life, expected_send_days

POLICY = """\
minimum_balance = "1.00"
[approval]
reminders = "none"
{quiet}
[ladders.default]
levels = [
  {{ days = -3, tone = "friendly" }},
  {{ days = 1, tone = "friendly" }},
  {{ days = 7, tone = "firm" }},
  {{ days = 14, tone = "firm", approval = true }},
]
"""


async def test_a_policy_change_applies_to_a_running_lifecycle_at_its_next_step(
    life: Life, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY.format(quiet=""))
    monkeypatch.setenv("DUECOURSE_POLICY", str(policy))
    due = await life.open_invoice()
    send_days = expected_send_days(due)
    async with life.worker():
        handle = await life.start()
        # The file says no reminder waits for a human: the first goes out on its day unasked.
        await life.live_until(lambda: len(life.mailer.sent) == 1, max_days=LEAD_DAYS)
        assert life.approved == []
        assert life.mail_days == [send_days[1]]

        # Year end is declared quiet from level 2's day to past level 3's: nothing goes out in it.
        quiet_end = send_days[3] + timedelta(days=1)
        policy.write_text(POLICY.format(quiet=f'[[quiet_periods]]\nname = "year end"\n'
                                              f"start = {send_days[2].isoformat()}\nend = {quiet_end.isoformat()}\n"))
        while await life.today() < quiet_end:
            await life.next_day()
            assert len(life.mailer.sent) == 1, "a reminder went out in the quiet period"
        assert "quiet period to end" in (await life.status()).waiting_for
        await life.live_until(lambda: len(life.mailer.sent) == 2, max_days=4)
        state = await life.status()
        # After it, only the highest level due goes out (3); level 2 is recorded as skipped.
        assert [(r.level, r.outcome) for r in state.reminders] == [(1, "sent"), (2, "skipped"), (3, "sent")]
        # Level 4 is marked `approval = true` in the file: it waits for a person whatever "none" says.
        while await life.pending() is None:
            await life.env.sleep(timedelta(days=1))
            await life.settle()
            assert await life.today() <= send_days[4]
        assert (await life.pending()).level == 4  # type: ignore[union-attr]
        audit = [e.action for e in life.store.list_audit(workflow_id=handle.id)]
    assert audit.count("policy applied") == 1


def test_a_policy_survives_the_round_trip_through_workflow_state() -> None:
    from activities.policy import check_policy_text
    from workflows.policy import PolicyRead

    policy, problems = check_policy_text(POLICY.format(quiet='[[quiet_periods]]\nstart = 2026-12-20\n'
                                                             'end = 2027-01-04\n'), "policy.toml")
    assert problems == [] and policy is not None
    read = PolicyRead(digest=policy.digest(), policy=policy)
    again = PolicyRead.model_validate_json(read.model_dump_json())
    assert again.policy == policy and again.policy.digest() == policy.digest()
