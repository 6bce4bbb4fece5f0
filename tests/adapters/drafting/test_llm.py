"""The LLM drafter against a local OpenAI-compatible server, through the real `openai` client.

The server is scripted per test: good answers, answers with injected errors of every kind (wrong
amounts, dates, invoice numbers, forbidden offers, wrong tone, missing elements, bad length), malformed
answers, and transport failures (timeouts, 429 with Retry-After, 5xx). What an approver would see is
asserted: never an LLM draft with an injected error in it.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import openai
import pytest

from adapters.drafting.guardrails import VIOLATION_KINDS, check_reminder
from adapters.drafting.llm import DEFAULT_MODEL, LlmDrafter, drafter_from_env, reminder_facts_for_model
from adapters.drafting.port import DrafterRateLimited, DrafterRefused, DrafterUnavailable
from adapters.drafting.template import TemplateDrafter
from adapters.ledger import InvoiceLine, Money
from tests.adapters.drafting import examples
from tests.adapters.drafting.fake_openai import (
    FakeOpenAI,
    Reply,
    Responder,
    answer,
    error,
    good,
    request_facts,
    slow,
    write_reminder,
)
from workers.bench.drafts import sample_facts

FACTS = examples.facts(
    how_to_pay="Pay online at https://pay.northwind.example/i/INV-1042, or by bank transfer to "
    "Northwind Traders Ltd, account 12345678, sort code 12-34-56",
    history_summary="Usually pays on time: 11 of the last 12 invoices were paid within terms.",
)


def drafter_for(fake: FakeOpenAI, **options: Any) -> LlmDrafter:
    # The client keeps its default max_retries=2: the drafter must switch retries off itself.
    client = openai.OpenAI(base_url=fake.base_url, api_key="test-key")
    return LlmDrafter(client, "fake-model", **{"timeout": 5.0, **options})


Mutation = Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]


def injected(mutate: Mutation) -> Responder:
    def respond(body: dict[str, Any]) -> Reply:
        given = request_facts(body)
        return answer(mutate(write_reminder(given), given))

    return respond


# --- injected errors, by kind -----------------------------------------------------------------------


def swap(draft: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    assert old in draft["body"], (old, draft["body"])
    return {**draft, "subject": draft["subject"].replace(old, new), "body": draft["body"].replace(old, new)}


def add(draft: dict[str, Any], sentence: str) -> dict[str, Any]:
    head, sep, rest = draft["body"].partition("\n\nHow to pay:")
    return {**draft, "body": f"{head} {sentence}{sep}{rest}"}


def money(given: dict[str, str]) -> tuple[str, Decimal]:
    currency, value = given["amount_due"].split(" ")
    return currency, Decimal(value.replace(",", ""))


def given_numbers(given: dict[str, str]) -> set[int]:
    return {int(n) for value in given.values() for n in re.findall(r"\d+", value)}


def wrong_date(given: dict[str, str]) -> date:
    facts = {date.fromisoformat(given[k]) for k in ("issue_date", "due_date", "today")}
    day = date.fromisoformat(given["due_date"])
    while day in facts or any((day.month, day.day) == (f.month, f.day) for f in facts):
        day += timedelta(days=1)
    return day


def wrong_period(given: dict[str, str]) -> int:
    terms = (date.fromisoformat(given["due_date"]) - date.fromisoformat(given["issue_date"])).days
    return next(n for n in (7, 10, 5, 21, 9) if n not in given_numbers(given) | {terms})


def replace_number(draft: dict[str, Any], given: dict[str, str]) -> dict[str, Any]:
    """The invoice number changed everywhere but inside the (verbatim) payment instructions."""
    keep = given["how_to_pay"]

    def change(text: str) -> str:
        return text.replace(keep, "\0").replace(given["invoice_number"], other_number(given)).replace("\0", keep)

    return {**draft, "subject": change(draft["subject"]), "body": change(draft["body"])}


def other_number(given: dict[str, str]) -> str:
    number = given["invoice_number"]
    digits = re.findall(r"\d+", number)[-1]
    return number[: number.rindex(digits)] + str(int(digits) + 1).zfill(len(digits))


def other_currency(given: dict[str, str]) -> str:
    return "EUR" if money(given)[0] != "EUR" else "GBP"


def offer(given: dict[str, str], name: str, sentence: str) -> str:
    """`sentence` when the level's policy forbids `name`; else an offer no policy here allows."""
    return sentence if name not in given["policy"] else "We are happy to waive the remaining balance."


def pressure(given: dict[str, str]) -> str:
    return "This is urgent." if given["tone"] == "friendly" else "No worries, take your time."


INJECTED: dict[str, list[tuple[str, Mutation]]] = {
    "amount": [
        ("amount raised", lambda d, g: swap(d, g["amount_due"], f"{money(g)[0]} {money(g)[1] + 50:,.2f}")),
        (
            "amount off by one cent",
            lambda d, g: swap(d, g["amount_due"], f"{money(g)[0]} {money(g)[1] + 1 / Decimal(100):,.2f}"),
        ),
        ("amount times ten", lambda d, g: swap(d, g["amount_due"], f"{money(g)[0]} {money(g)[1] * 10:,.2f}")),
        ("amount as $ without cents", lambda d, g: swap(d, g["amount_due"], f"${money(g)[1] + 100:,.0f}")),
        (
            "amount European style",
            lambda d, g: swap(
                d,
                g["amount_due"],
                f"{money(g)[1] + 75:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".") + f" {money(g)[0]}",
            ),
        ),
        (
            "amount in another currency",
            lambda d, g: swap(d, g["amount_due"], g["amount_due"].replace(money(g)[0], other_currency(g))),
        ),
        (
            "an extra balance",
            lambda d, g: add(d, f"Your total balance with us is {money(g)[0]} {money(g)[1] * 3:,.2f}."),
        ),
        ("amount in words", lambda d, g: add(d, "That is over one thousand dollars.")),
    ],
    "date": [
        ("due date moved", lambda d, g: swap(d, g["due_date"], wrong_date(g).isoformat())),
        ("due date in words", lambda d, g: swap(d, g["due_date"], f"{wrong_date(g).day} {wrong_date(g):%B %Y}")),
        ("invented deadline", lambda d, g: add(d, f"Please pay by {wrong_date(g):%B} {wrong_date(g).day}.")),
        ("deadline in days", lambda d, g: add(d, f"Please pay within {wrong_period(g)} days.")),
        ("deadline tomorrow", lambda d, g: add(d, "Please pay by tomorrow at the latest.")),
    ],
    "invoice_number": [
        ("number changed", replace_number),
        (
            "subject number changed",
            lambda d, g: {**d, "subject": d["subject"].replace(g["invoice_number"], other_number(g))},
        ),
        ("another invoice cited", lambda d, g: add(d, f"This is separate from invoice #{other_number(g)}.")),
    ],
    "forbidden_language": [
        ("discount", lambda d, g: add(d, "Pay this week and we will give you a discount.")),
        ("waiver", lambda d, g: add(d, "We are happy to waive the remaining balance.")),
        ("payment plan", lambda d, g: add(d, offer(g, "a payment plan", "We can also set up a payment plan."))),
        ("legal threat", lambda d, g: add(d, "Otherwise we will take legal action.")),
        ("late fee", lambda d, g: add(d, offer(g, "late fees", "A late fee will be added to the account."))),
        ("refund promise", lambda d, g: add(d, "We will refund any bank charges.")),
        ("foreign payment link", lambda d, g: add(d, "Or pay at https://quick-pay.example.net/settle.")),
    ],
    "tone": [
        ("pressure that does not fit the level", lambda d, g: add(d, pressure(g))),
        ("shouting", lambda d, g: add(d, "PAY THIS INVOICE NOW!!")),
        ("declared tone differs", lambda d, g: {**d, "tone": "final" if g["tone"] != "final" else "friendly"}),
    ],
    "missing_element": [
        ("no way to pay", lambda d, g: swap(d, g["how_to_pay"], "the usual way")),
        ("no amount", lambda d, g: swap(d, g["amount_due"], "the outstanding balance")),
        ("unfilled placeholder", lambda d, g: {**d, "body": d["body"] + "\n[Your Name]"}),
    ],
    "length": [
        ("body too short", lambda d, g: {**d, "body": f"Invoice {g['invoice_number']}: {g['amount_due']}."}),
        ("subject too long", lambda d, g: {**d, "subject": d["subject"] + " - " + "please read this " * 10}),
        ("body too long", lambda d, g: add(d, "We value our relationship with you. " * 80)),
    ],
}
CASES = [(kind, name, mutate) for kind, cases in INJECTED.items() for name, mutate in cases]
CASE_IDS = [f"{kind}-{name}" for kind, name, _ in CASES]


def test_every_violation_kind_is_injected() -> None:
    assert set(INJECTED) == set(VIOLATION_KINDS)


def test_the_competent_model_writes_drafts_that_pass_for_varied_facts() -> None:
    for facts in sample_facts(40, seed=3):
        d = write_reminder(reminder_facts_for_model(facts))
        assert check_reminder(d["subject"], d["body"], facts) == [], facts


# --- good answers -------------------------------------------------------------------------------


def test_a_good_answer_becomes_an_llm_draft_that_records_its_provenance(fake: FakeOpenAI) -> None:
    fake.script(good)
    draft = drafter_for(fake).draft_reminder(FACTS)

    assert draft.drafter == "llm" and draft.fallback_reason is None
    assert "INV-1042" in draft.subject and "USD 1,250.00" in draft.body and FACTS.how_to_pay in draft.body
    assert (draft.prompt_id, draft.prompt_version, draft.model) == ("reminder", "1", "fake-model")
    assert draft.facts_given == request_facts(fake.requests[0])
    assert draft.facts_used == ["INV-1042", "USD 1,250.00", "2026-03-04", FACTS.how_to_pay]
    assert (draft.attempts, draft.prompt_tokens, draft.completion_tokens, draft.rejections) == (1, 150, 90, [])
    assert fake.calls == 1


def test_the_request_asks_for_structured_output(fake: FakeOpenAI) -> None:
    fake.script(good)
    drafter_for(fake).draft_reminder(FACTS)
    request = fake.requests[0]
    assert request["model"] == "fake-model"
    fmt = request["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert set(schema["required"]) == {"subject", "body", "tone", "cited_facts"}
    assert schema["additionalProperties"] is False
    assert [m["role"] for m in request["messages"]] == ["system", "user"]


def test_the_model_gets_only_the_facts_it_needs(fake: FakeOpenAI) -> None:
    fake.script(good)
    drafter_for(fake).draft_reminder(FACTS.model_copy(update={"allow_payment_plan": True}))
    given = request_facts(fake.requests[0])
    assert set(given) <= {
        "sender", "customer", "invoice_number", "amount_due", "invoice_total", "amount_already_paid", "issue_date",
        "due_date", "today", "days_overdue", "days_until_due", "reminder_level", "tone", "how_to_pay",
        "payment_history", "policy",
    }  # fmt: skip
    assert given["policy"] == "may mention: a payment plan"
    assert "invoice_total" not in given  # nothing was paid: the total adds nothing


def test_a_partial_payment_sends_total_and_paid(fake: FakeOpenAI) -> None:
    fake.script(good)
    drafter_for(fake).draft_reminder(FACTS.model_copy(update={"total": Money.of("2000", "USD")}))
    given = request_facts(fake.requests[0])
    assert (given["invoice_total"], given["amount_already_paid"]) == ("USD 2,000.00", "USD 750.00")


def test_a_fenced_json_answer_is_accepted(fake: FakeOpenAI) -> None:
    fake.script(lambda body: answer("```json\n" + json.dumps(write_reminder(request_facts(body))) + "\n```"))
    assert drafter_for(fake).draft_reminder(FACTS).drafter == "llm"


# --- names stay home --------------------------------------------------------------------------------


def test_pseudonymised_names_never_leave_and_come_back_in_the_draft(fake: FakeOpenAI) -> None:
    fake.script(good)
    draft = drafter_for(fake, pseudonymise=True).draft_reminder(FACTS)

    sent = json.dumps(fake.requests)
    assert FACTS.customer_name not in sent and FACTS.company_name not in sent
    assert "Maple" not in sent and "Northwind Traders" not in sent
    assert draft.drafter == "llm"
    assert draft.body.startswith(f"Dear {FACTS.customer_name},") and draft.body.endswith(FACTS.company_name)
    assert FACTS.how_to_pay in draft.body  # the company's name inside the payment route is restored too
    assert draft.facts_given["customer"] == "[[CUSTOMER]]"


def test_a_mangled_placeholder_is_restored_or_caught(fake: FakeOpenAI) -> None:
    def shortened(body: dict[str, Any]) -> Reply:
        d = write_reminder(request_facts(body))
        return answer({**d, "body": d["body"].replace("[[CUSTOMER]]", "[CUSTOMER]")})

    fake.script(shortened)
    assert drafter_for(fake, pseudonymise=True).draft_reminder(FACTS).body.startswith("Dear Maple & Finch Bakery,")

    def invented(body: dict[str, Any]) -> Reply:
        d = write_reminder(request_facts(body))
        return answer({**d, "body": d["body"].replace("[[CUSTOMER]]", "[[CLIENT_NAME]]")})

    fake.script(invented, invented)
    draft = drafter_for(fake, pseudonymise=True).draft_reminder(FACTS)
    assert draft.drafter == "template" and "placeholder" in (draft.fallback_reason or "")


# --- injected errors never reach an approver ------------------------------------------------------


@pytest.mark.parametrize(("kind", "name", "mutate"), CASES, ids=CASE_IDS)
def test_an_injected_error_is_rejected_and_the_template_answers(
    fake: FakeOpenAI, kind: str, name: str, mutate: Mutation
) -> None:
    fake.script(injected(mutate), injected(mutate))
    draft = drafter_for(fake).draft_reminder(FACTS)

    template = TemplateDrafter().draft_reminder(FACTS)
    assert draft.drafter == "template"
    assert (draft.subject, draft.body) == (template.subject, template.body)
    assert draft.fallback_reason and draft.fallback_reason.startswith("LLM draft ")
    assert any(r.startswith(f"{kind}:") for r in draft.rejections), draft.rejections
    assert draft.attempts == 2 and fake.calls == 2
    assert (draft.prompt_tokens, draft.completion_tokens) == (300, 180)


@pytest.mark.parametrize(("kind", "name", "mutate"), CASES, ids=CASE_IDS)
def test_after_a_rejection_the_model_is_told_why_and_a_good_second_answer_is_used(
    fake: FakeOpenAI, kind: str, name: str, mutate: Mutation
) -> None:
    fake.script(injected(mutate), good)
    draft = drafter_for(fake).draft_reminder(FACTS)

    assert draft.drafter == "llm" and draft.attempts == 2
    assert any(r.startswith(f"{kind}:") for r in draft.rejections)
    correction = fake.requests[1]["messages"][-1]
    assert correction["role"] == "user" and f"- {kind}:" in correction["content"]
    assert fake.requests[1]["messages"][-2]["role"] == "assistant"


def test_the_fallback_reason_names_the_wrong_figure(fake: FakeOpenAI) -> None:
    raised: Mutation = lambda d, g: swap(d, g["amount_due"], "USD 1,300.00")  # noqa: E731
    fake.script(injected(raised), injected(raised))
    draft = drafter_for(fake).draft_reminder(FACTS)
    assert draft.fallback_reason == "LLM draft named amount 1,300.00 which is not the amount due 1,250.00"


def test_the_guardrails_stop_every_injected_error_across_varied_reminders(fake: FakeOpenAI) -> None:
    """A campaign: every injected error kind against varied realistic reminders; none gets through."""
    stopped: Counter[str] = Counter()
    injected_count: Counter[str] = Counter()
    for facts in sample_facts(10, seed=11):
        drafter = drafter_for(fake)
        for kind, _, mutate in CASES:
            fake.reset()
            fake.script(injected(mutate), injected(mutate))
            draft = drafter.draft_reminder(facts)
            injected_count[kind] += 1
            if draft.drafter == "template" and any(r.startswith(f"{kind}:") for r in draft.rejections):
                stopped[kind] += 1
            assert check_reminder(draft.subject, draft.body, facts) == []
    assert stopped == injected_count, {k: f"{stopped[k]}/{n}" for k, n in injected_count.items()}
    assert fake.pending == 0


# --- malformed answers ------------------------------------------------------------------------------

MALFORMED = {
    "not JSON": answer("Sure! Here is your reminder: Dear customer, please pay."),
    "empty": answer(""),
    "no content": answer(None),
    "wrong schema": answer({"subject": "Invoice INV-1042", "text": "Please pay."}),
    "bad tone value": answer({"subject": "s", "body": "b", "tone": "angry", "cited_facts": []}),
    "cut off": answer('{"subject": "Invoice INV-1042 is overdue", "body": "Dear', finish_reason="length"),
    "refusal": Reply(content=None, refusal="I can't help with that."),
    "no choices": Reply(no_choices=True),
    "a JSON list": answer("[1, 2, 3]"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_answer_is_retried_once_then_the_template_answers(fake: FakeOpenAI, name: str) -> None:
    fake.script(MALFORMED[name], MALFORMED[name])
    draft = drafter_for(fake).draft_reminder(FACTS)
    assert draft.drafter == "template"
    assert draft.fallback_reason and draft.fallback_reason.startswith("LLM answer ")
    assert [r.split(":")[0] for r in draft.rejections] == ["malformed", "malformed"]
    assert fake.calls == 2


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_answer_then_a_good_one_gives_an_llm_draft(fake: FakeOpenAI, name: str) -> None:
    fake.script(MALFORMED[name], good)
    draft = drafter_for(fake).draft_reminder(FACTS)
    assert draft.drafter == "llm" and draft.attempts == 2 and fake.calls == 2
    # a malformed answer is asked again from scratch, not argued with
    assert len(fake.requests[1]["messages"]) == 2


# --- endpoints without structured outputs ---------------------------------------------------------


def test_an_endpoint_without_json_schema_is_asked_in_json_mode(fake: FakeOpenAI) -> None:
    fake.supports_json_schema = False
    fake.script(good, good)
    drafter = drafter_for(fake)

    assert drafter.draft_reminder(FACTS).drafter == "llm"
    kinds = [r["response_format"]["type"] for r in fake.requests]
    assert kinds == ["json_schema", "json_object"]

    assert drafter.draft_reminder(FACTS).drafter == "llm"
    assert [r["response_format"]["type"] for r in fake.requests[2:]] == ["json_object"]  # remembered


def test_a_request_refused_in_json_mode_too_is_a_permanent_error(fake: FakeOpenAI) -> None:
    fake.script(error(400, "Invalid value for 'messages'."), error(400, "Invalid value for 'messages'."))
    with pytest.raises(DrafterRefused):
        drafter_for(fake).draft_reminder(FACTS)


# --- transport failures: typed, never retried by the client --------------------------------------


def test_429_with_retry_after_is_rate_limited_with_the_delay(fake: FakeOpenAI) -> None:
    fake.script(error(429, "Rate limit reached for requests", headers={"Retry-After": "7"}))
    with pytest.raises(DrafterRateLimited) as raised:
        drafter_for(fake).draft_reminder(FACTS)
    assert raised.value.retry_after_seconds == 7.0
    assert fake.calls == 1


def test_429_with_retry_after_ms(fake: FakeOpenAI) -> None:
    fake.script(error(429, "Rate limit reached", headers={"retry-after-ms": "1500"}))
    with pytest.raises(DrafterRateLimited) as raised:
        drafter_for(fake).draft_reminder(FACTS)
    assert raised.value.retry_after_seconds == 1.5


def test_429_with_an_http_date(fake: FakeOpenAI) -> None:
    when = datetime.now().astimezone() + timedelta(seconds=30)
    fake.script(error(429, "Slow down", headers={"Retry-After": format_datetime(when, usegmt=False)}))
    with pytest.raises(DrafterRateLimited) as raised:
        drafter_for(fake).draft_reminder(FACTS)
    assert raised.value.retry_after_seconds is not None and 25 <= raised.value.retry_after_seconds <= 31


def test_429_without_retry_after(fake: FakeOpenAI) -> None:
    fake.script(error(429, "Too many requests"))
    with pytest.raises(DrafterRateLimited) as raised:
        drafter_for(fake).draft_reminder(FACTS)
    assert raised.value.retry_after_seconds is None


def test_an_exhausted_quota_is_permanent(fake: FakeOpenAI) -> None:
    fake.script(error(429, "You exceeded your current quota", code="insufficient_quota"))
    with pytest.raises(DrafterRefused):
        drafter_for(fake).draft_reminder(FACTS)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_unavailable_after_one_call(fake: FakeOpenAI, status: int) -> None:
    fake.script(error(status, "The server had an error while processing your request."))
    with pytest.raises(DrafterUnavailable) as raised:
        drafter_for(fake).draft_reminder(FACTS)
    assert not isinstance(raised.value, DrafterRateLimited)
    assert str(status) in str(raised.value)
    assert fake.calls == 1


def test_a_timeout_is_unavailable_after_one_call(fake: FakeOpenAI) -> None:
    fake.script(slow(3.0, answer("{}")))
    started = time.monotonic()
    with pytest.raises(DrafterUnavailable, match="timeout"):
        drafter_for(fake, timeout=0.5).draft_reminder(FACTS)
    assert time.monotonic() - started < 2.5
    assert fake.calls == 1


def test_an_unreachable_endpoint_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k")
    with pytest.raises(DrafterUnavailable, match="cannot reach"):
        LlmDrafter(client, "m", timeout=2).draft_reminder(FACTS)


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_refused_request_is_permanent(fake: FakeOpenAI, status: int) -> None:
    fake.script(error(status, "Incorrect API key provided" if status == 401 else "The model does not exist"))
    with pytest.raises(DrafterRefused):
        drafter_for(fake).draft_reminder(FACTS)


def test_a_transport_failure_on_the_regeneration_is_raised_not_papered_over(fake: FakeOpenAI) -> None:
    raised: Mutation = lambda d, g: swap(d, g["amount_due"], "USD 1,300.00")  # noqa: E731
    fake.script(injected(raised), error(503, "overloaded"))
    with pytest.raises(DrafterUnavailable):
        drafter_for(fake).draft_reminder(FACTS)


# --- configuration ------------------------------------------------------------------------------


def test_no_endpoint_configured_means_the_template_drafter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert LlmDrafter.from_env() is None
    assert isinstance(drafter_from_env(), TemplateDrafter)


def test_a_key_alone_configures_openai_with_the_default_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("DUECOURSE_LLM_MODEL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    drafter = LlmDrafter.from_env()
    assert drafter is not None and drafter.model == DEFAULT_MODEL == "gpt-4o-mini"


def test_a_local_endpoint_needs_no_key(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("DUECOURSE_LLM_MODEL", "llama3.1:8b")
    monkeypatch.setenv("DUECOURSE_LLM_TIMEOUT", "4")
    monkeypatch.setenv("DUECOURSE_LLM_PSEUDONYMISE", "true")
    drafter = drafter_from_env()
    assert isinstance(drafter, LlmDrafter) and drafter.timeout == 4.0 and drafter.pseudonymise
    fake.script(good)
    assert drafter.draft_reminder(FACTS).model == "llama3.1:8b"
    assert fake.requests[0]["model"] == "llama3.1:8b"
    assert fake.request_headers[0]["x-stainless-retry-count"] == "0"


# --- dispute summaries ----------------------------------------------------------------------------


def write_dispute_summary(given: dict[str, str]) -> dict[str, Any]:
    return {
        "summary": f"{given['customer']} disputes invoice {given['invoice_number']}. The customer says: "
        f'"We were quoted $1,100 for this order, not 1,250." The ledger shows a total of {given["invoice_total"]}, '
        f"a payment of USD 500.00 on 2026-03-01 and {given['amount_due']} outstanding since {given['due_date']}.",
        "customer_claim": "The customer says the agreed price was lower than the invoiced total.",
        "open_questions": ["Is there a written quote, and which price does it show?"],
        "cited_facts": ["invoice_number", "invoice_total", "amount_due", "payments"],
    }


def test_a_dispute_summary_may_quote_the_customers_figures(fake: FakeOpenAI) -> None:
    fake.script(lambda body: answer(write_dispute_summary(request_facts(body))))
    summary = drafter_for(fake).summarise_dispute(examples.DISPUTE)
    assert summary.drafter == "llm", summary.rejections
    assert (summary.prompt_id, summary.prompt_version) == ("dispute_summary", "1")
    assert '"We were quoted $1,100' in summary.summary


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("amount", lambda s: s.replace("USD 750.00 outstanding", "USD 650.00 outstanding")),
        ("amount", lambda s: s + " The customer was quoted $1,100."),  # their figure, but not quoted
        ("date", lambda s: s.replace("on 2026-03-01", "on 2026-03-02")),
        ("invoice_number", lambda s: s + " See also INV-1041."),
        ("forbidden_language", lambda s: s + " We should offer a discount to settle this."),
    ],
)
def test_a_dispute_summary_with_an_injected_error_falls_back(
    fake: FakeOpenAI, kind: str, change: Callable[[str], str]
) -> None:
    def bad(body: dict[str, Any]) -> Reply:
        d = write_dispute_summary(request_facts(body))
        return answer({**d, "summary": change(d["summary"])})

    fake.script(bad, bad)
    summary = drafter_for(fake).summarise_dispute(examples.DISPUTE)
    assert summary.drafter == "template" and summary.fallback_reason
    assert any(r.startswith(f"{kind}:") for r in summary.rejections), summary.rejections
    assert "INV-1042" in summary.summary and "We were quoted $1,100" in summary.summary


def test_a_pseudonymised_dispute_keeps_the_names_home(fake: FakeOpenAI) -> None:
    fake.script(lambda body: answer(write_dispute_summary(request_facts(body))))
    summary = drafter_for(fake, pseudonymise=True).summarise_dispute(examples.DISPUTE)
    assert "Maple" not in json.dumps(fake.requests) and summary.summary.startswith("Maple & Finch Bakery disputes")


# --- invoice line descriptions ----------------------------------------------------------------------

LINES = [
    InvoiceLine(
        description="PRO-SEATS x12 Mar 2026", quantity=Decimal("12"), unit_price=Decimal("49"), amount=Decimal("588")
    ),
    InvoiceLine(description="onb svc", quantity=Decimal("1"), unit_price=Decimal("450"), amount=Decimal("450")),
]


def test_line_descriptions(fake: FakeOpenAI) -> None:
    good_lines = {"descriptions": ["Pro plan, 12 seats for March 2026", "Onboarding and setup service for your team"]}
    fake.script(answer(good_lines))
    described = drafter_for(fake).describe_invoice_lines(LINES, "USD")
    assert described.drafter == "llm" and described.descriptions == good_lines["descriptions"]
    assert "PRO-SEATS x12" in fake.requests[0]["messages"][1]["content"]


@pytest.mark.parametrize(
    "descriptions",
    [
        ["Pro plan, 15 seats for March 2026", "Onboarding and setup service for your team"],  # invented count
        ["Pro plan, 12 seats for April 2026", "Onboarding and setup service for your team"],  # invented period
        ["Pro plan, 12 seats for March 2026", "Onboarding service, normally $600, discounted"],  # price and offer
        ["Pro plan, 12 seats for March 2026"],  # a line missing
    ],
)
def test_line_descriptions_with_invented_figures_keep_the_lines_own(fake: FakeOpenAI, descriptions: list[str]) -> None:
    fake.script(answer({"descriptions": descriptions}), answer({"descriptions": descriptions}))
    described = drafter_for(fake).describe_invoice_lines(LINES, "USD")
    assert described.drafter == "template" and described.fallback_reason
    assert described.descriptions == [x.description for x in LINES]
