"""`duecourse plan propose` / `POST /api/invoices/{id}/plan`: bad input refused before anything is looked up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workers.cli import main
from workers.collector_actions import CollectorAction, check_input
from workers.invoice_story import StoryError


def test_a_plan_needs_its_instalments() -> None:
    with pytest.raises(StoryError, match="--instalments") as refused:
        check_input(CollectorAction(action="plan"))
    assert refused.value.http_status == 400
    with pytest.raises(ValidationError):
        CollectorAction.model_validate({"action": "plan", "instalments": 1})
    assert check_input(CollectorAction(action="plan", instalments=3, every_days=14)).instalments == 3


def test_the_cli_refuses_a_one_part_plan_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "propose", "INV-1", "--instalments", "1"]) == 2
    assert "--instalments" in capsys.readouterr().err
    assert main(["plan", "propose", "INV-1", "--instalments", "3", "--every-days", "0"]) == 2
    assert "--every-days" in capsys.readouterr().err
