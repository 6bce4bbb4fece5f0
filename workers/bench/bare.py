"""The yardstick of `duecourse bench lifecycle`: the smallest real workflow, one activity and done.

It measures what the Temporal server and an SDK worker alone can do on the machine, so the lifecycle's rate
reads as a ratio of it rather than as a number that depends on the hardware."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def bare_step(number: int) -> int:
    return number


@workflow.defn
class BareWorkflow:
    """Started by the benchmark with a number; runs `bare_step` once and returns its answer."""

    @workflow.run
    async def run(self, number: int) -> int:
        return await workflow.execute_activity(bare_step, number, start_to_close_timeout=timedelta(seconds=30))
