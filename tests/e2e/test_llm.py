"""End to end with an LLM endpoint: the dev stack drafts reminders through the real `openai` client against
the scripted OpenAI-compatible server, and no wrong figure can reach `GET /api/approvals`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.adapters.drafting.fake_openai import FakeOpenAI, Reply, answer, good, request_facts, write_reminder

from .stack import DevStack, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, llm: FakeOpenAI) -> Iterator[DevStack]:
    dev = DevStack(home=tmp_path_factory.mktemp("duecourse-llm"), day_seconds=4,
                   extra_env={"OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "test-key",
                              "DUECOURSE_LLM_MODEL": "scripted-model"})
    dev.start()
    try:
        yield dev
    finally:
        assert dev.stop() == 0


def wrong_amount(body: dict[str, Any]) -> Reply:
    draft = write_reminder(request_facts(body))
    given = request_facts(body)["amount_due"]
    currency = given.split(" ")[0]
    inflated = f"{currency} 9,999.00"
    return answer({**draft, "body": draft["body"].replace(given, inflated)})


def approval_for(stack: DevStack, name: str, amount: str) -> dict[str, Any]:
    customer = stack.cli("sandbox", "customer", "add", name, "--email", f"ap@{name.split()[0].lower()}.example")
    invoice = stack.cli("sandbox", "invoice", "add", "--customer", customer["customer_id"], "--amount", amount,
                        "--due-in-days", "1")
    item: dict[str, Any] = wait_until(
        lambda: next((i for i in httpx.get(f"{stack.web}/api/approvals", timeout=10).json()
                      if i["invoice_id"] == invoice["invoice_id"]), None), what="the reminder awaiting approval")
    return item


def test_llm_writes_the_reminder_when_it_passes_the_guardrails(stack: DevStack, llm: FakeOpenAI) -> None:
    llm.default = good
    item = approval_for(stack, "Oceanic Airlines", "2480.00")
    draft = item["draft"]
    assert draft["drafter"] == "llm" and draft["model"] == "scripted-model"
    assert "2,480.00" in draft["body"] and item["invoice_number"] in draft["body"]
    assert llm.calls >= 1


def test_a_hallucinated_amount_never_reaches_the_approver(stack: DevStack, llm: FakeOpenAI) -> None:
    llm.default = wrong_amount
    item = approval_for(stack, "Cyberdyne Systems", "615.40")
    draft = item["draft"]
    assert draft["drafter"] == "template"
    assert "9,999.00" not in draft["body"] and "9,999.00" not in draft["subject"]
    assert "615.40" in draft["body"]
    assert "amount" in (draft["fallback_reason"] or "")
    # The form says which drafter wrote it and why.
    assert item["amount"] == "615.40"


def test_an_unreachable_endpoint_still_drafts_from_the_template(stack: DevStack, llm: FakeOpenAI) -> None:
    llm.default = Reply(status=503, error_message="overloaded")
    item = approval_for(stack, "Soylent Foods", "88.00")
    assert item["draft"]["drafter"] == "template" and "88.00" in item["draft"]["body"]
