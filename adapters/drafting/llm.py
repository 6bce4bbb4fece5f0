"""The LLM drafter: reminders written by a model, checked against the ledger's facts before anyone sees them.

Also, on the same footing: dispute summaries for the AR team (`summarise_dispute`) and customer-facing
invoice line descriptions (`describe_invoice_lines`), each with its own versioned prompt and checks.

Any OpenAI-compatible endpoint works (OpenAI, vLLM, Ollama, LM Studio, gateways) through the `openai`
client. The model answers a pydantic schema (JSON-schema response format where the endpoint supports
it, JSON mode plus validation where it does not). Every answer passes `adapters.drafting.guardrails`; a
malformed answer or one that fails a check is regenerated once, and then the deterministic
`TemplateDrafter` answers and the draft says why (`fallback_reason`).

Transport failures are not retried here: the client's own retries are off and failures surface as
`DrafterRateLimited` / `DrafterUnavailable` (retryable) or `DrafterRefused` (permanent), so the calling
Temporal activity's retry policy decides.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import openai
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.drafting.guardrails import (
    Violation,
    check_internal_text,
    check_reminder,
    dispute_figures,
    line_figures,
)
from adapters.drafting.port import (
    DisputeFacts,
    DisputeSummary,
    Draft,
    Drafter,
    DrafterError,
    DrafterRateLimited,
    DrafterRefused,
    DrafterUnavailable,
    LineDescriptions,
    ReminderFacts,
    Tone,
)
from adapters.drafting.prompts import Prompt, PromptRegistry
from adapters.drafting.template import TemplateDrafter, lines_as_entered, template_dispute_summary
from adapters.http import retry_after_seconds
from adapters.ledger import InvoiceLine

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0
REMINDER_PROMPT_ID = "reminder"
DISPUTE_PROMPT_ID = "dispute_summary"
LINES_PROMPT_ID = "invoice_lines"
# One answer, and one regeneration when it is malformed or fails its checks; then the template.
MAX_ATTEMPTS = 2

CUSTOMER_PSEUDONYM = "[[CUSTOMER]]"
COMPANY_PSEUDONYM = "[[COMPANY]]"

A = TypeVar("A", bound=BaseModel)


# --- what the model answers ----------------------------------------------------------------------


class ReminderAnswer(BaseModel):
    """The schema the model answers for a reminder."""

    model_config = ConfigDict(extra="ignore")

    subject: str = Field(description="the email subject line")
    body: str = Field(description="the email body, plain text")
    tone: Tone = Field(description="the tone the reminder is written in")
    cited_facts: list[str] = Field(default_factory=list, description="names of the facts the draft states")


class DisputeAnswer(BaseModel):
    """The schema the model answers for a dispute summary."""

    model_config = ConfigDict(extra="ignore")

    summary: str = Field(description="a neutral summary for the AR team")
    customer_claim: str = Field(description="the customer's claim in one sentence")
    open_questions: list[str] = Field(default_factory=list, description="what the AR team still has to find out")
    cited_facts: list[str] = Field(default_factory=list, description="names of the facts the summary states")


class LineDescriptionsAnswer(BaseModel):
    """The schema the model answers for invoice line descriptions."""

    model_config = ConfigDict(extra="ignore")

    descriptions: list[str] = Field(description="one customer-facing description per line, in order")


def _strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema as OpenAI's strict mode wants it: every property required, no extras, no
    defaults (the defaults only make validation lenient in JSON mode)."""
    schema = model.model_json_schema()
    schema["additionalProperties"] = False
    schema["required"] = list(schema["properties"])
    for prop in schema["properties"].values():
        prop.pop("default", None)
    return schema


class _Malformed(Exception):
    """An answer that is not a usable draft (empty, not JSON, wrong shape, cut off, refused)."""


# --- minimum data out ----------------------------------------------------------------------------


class Pseudonyms:
    """Replaces the customer's and the company's names before a call and puts them back after."""

    def __init__(self, names: Mapping[str, str]) -> None:
        # placeholder -> real name; longest names first so "Acme Ltd" goes before "Acme"
        self.names = {p: n for p, n in sorted(names.items(), key=lambda kv: -len(kv[1])) if n.strip()}

    def hide(self, text: str) -> str:
        for placeholder, name in self.names.items():
            text = re.sub(r"(?<!\w)" + re.escape(name) + r"(?!\w)", placeholder, text, flags=re.I)
        return text

    def restore(self, text: str) -> str:
        for placeholder, name in self.names.items():
            word = re.escape(placeholder.strip("[]"))
            # models sometimes shorten [[CUSTOMER]] to [CUSTOMER] or {{CUSTOMER}}
            pattern = re.compile(r"[\[{<]{1,2}\s*" + word + r"\s*[\]}>]{1,2}", re.I)
            text = pattern.sub(name.replace("\\", "\\\\"), text)
        return text


def reminder_facts_for_model(facts: ReminderFacts) -> dict[str, str]:
    """Only what the model needs to write this reminder: no ids, emails, addresses or other invoices."""
    given: dict[str, str] = {
        "sender": facts.company_name,
        "customer": facts.customer_name,
        "invoice_number": facts.invoice_number,
        "amount_due": str(facts.amount_due),
    }
    if facts.total != facts.amount_due:
        given["invoice_total"] = str(facts.total)
        if facts.total.currency == facts.amount_due.currency and facts.total > facts.amount_due:
            given["amount_already_paid"] = str(facts.total - facts.amount_due)
    given["issue_date"] = facts.issue_date.isoformat()
    given["due_date"] = facts.due_date.isoformat()
    given["today"] = facts.today.isoformat()
    days = facts.days_overdue
    if days > 0:
        given["days_overdue"] = str(days)
    elif days < 0:
        given["days_until_due"] = str(-days)
    else:
        given["days_overdue"] = "0 (due today)"
    given["reminder_level"] = str(facts.level)
    given["tone"] = facts.tone
    given["how_to_pay"] = facts.how_to_pay
    if facts.history_summary:
        given["payment_history"] = facts.history_summary
    allowed = [
        name
        for name, ok in (
            ("a payment plan", facts.allow_payment_plan),
            ("late fees or interest", facts.allow_late_fee_mention),
            ("a discount", facts.allow_discount),
            ("a waiver", facts.allow_waiver),
            ("legal action", facts.allow_legal_mention),
        )
        if ok
    ]
    given["policy"] = (
        "may mention: " + ", ".join(allowed)
        if allowed
        else "mention no payment plan, fees, interest, discount, waiver or legal action"
    )
    return given


# --- the drafter ---------------------------------------------------------------------------------


class LlmDrafter:
    """Implements the Drafter port with a model behind the guardrails and the template behind both."""

    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        pseudonymise: bool = False,
        prompts: PromptRegistry | None = None,
        fallback: TemplateDrafter | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
        prompt_version: str | None = None,
    ) -> None:
        self.model = model
        self.timeout = timeout
        self.pseudonymise = pseudonymise
        self.prompts = prompts or PromptRegistry()
        self.fallback = fallback or TemplateDrafter()
        self.prompt_version = prompt_version
        # Temporal owns retries: the client must not retry behind the activity's back.
        self._client = client.with_options(
            max_retries=0, timeout=openai.Timeout(timeout, connect=min(connect_timeout, timeout))
        )
        # Learned per endpoint: vLLM/Ollama builds without json_schema support answer 400 to it.
        self.json_schema_supported = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LlmDrafter | None:
        """From OPENAI_BASE_URL / OPENAI_API_KEY / DUECOURSE_LLM_*; None when no endpoint is configured."""
        env = os.environ if environ is None else environ
        base_url = env.get("OPENAI_BASE_URL") or None
        api_key = env.get("OPENAI_API_KEY") or None
        if base_url is None and api_key is None:
            return None
        timeout = float(env.get("DUECOURSE_LLM_TIMEOUT") or DEFAULT_TIMEOUT_SECONDS)
        connect_timeout = float(env.get("DUECOURSE_LLM_CONNECT_TIMEOUT") or DEFAULT_CONNECT_TIMEOUT_SECONDS)
        client = openai.OpenAI(
            # local servers (Ollama, vLLM, LM Studio) need no key, but the client insists on one
            api_key=api_key or "no-key",
            base_url=base_url,
            max_retries=0,
            timeout=openai.Timeout(timeout, connect=min(connect_timeout, timeout)),
        )
        return cls(
            client,
            env.get("DUECOURSE_LLM_MODEL") or DEFAULT_MODEL,
            timeout=timeout,
            connect_timeout=connect_timeout,
            pseudonymise=(env.get("DUECOURSE_LLM_PSEUDONYMISE") or "").lower() in ("1", "true", "yes", "on"),
            prompt_version=env.get("DUECOURSE_LLM_REMINDER_PROMPT_VERSION") or None,
        )

    def draft_reminder(self, facts: ReminderFacts) -> Draft:
        """A checked LLM draft, or the template's draft saying why the LLM's was not used.

        Raises DrafterRateLimited / DrafterUnavailable / DrafterRefused when the endpoint cannot answer.
        """
        pseudonyms = self._pseudonyms(facts.customer_name, facts.company_name)
        given = {key: pseudonyms.hide(value) for key, value in reminder_facts_for_model(facts).items()}

        def judge(answer: ReminderAnswer) -> list[Violation]:
            violations = check_reminder(pseudonyms.restore(answer.subject), pseudonyms.restore(answer.body), facts)
            if answer.tone != facts.tone:
                violations.append(
                    Violation(
                        kind="tone",
                        detail=f"was written as {answer.tone} where level {facts.level} calls for {facts.tone}",
                    )
                )
            return violations

        prompt = self.prompts.get(REMINDER_PROMPT_ID, self.prompt_version)
        record = _Attempts(prompt, given)
        answer = self._answer(prompt, given, ReminderAnswer, judge, record, pseudonyms)
        if answer is None:
            log.warning("reminder for invoice %s: template used: %s", facts.invoice_number, record.reason)
            return self.fallback.draft_reminder(facts, fallback_reason=record.reason).model_copy(update=record.spent())
        return Draft(
            subject=pseudonyms.restore(answer.subject),
            body=pseudonyms.restore(answer.body),
            drafter="llm",
            prompt_id=prompt.id,
            prompt_version=prompt.version,
            model=self.model,
            facts_used=_cited(answer.cited_facts, given, pseudonyms),
            **record.spent(),
        )

    def summarise_dispute(self, facts: DisputeFacts) -> DisputeSummary:
        """A neutral summary of a dispute for the AR team, every figure from the facts or quoted from the
        customer; the deterministic summary when the model's fails its checks."""
        pseudonyms = self._pseudonyms(facts.customer_name, facts.company_name)
        given = {key: pseudonyms.hide(value) for key, value in dispute_facts_for_model(facts).items()}
        figures = dispute_figures(facts)

        def judge(answer: DisputeAnswer) -> list[Violation]:
            text = "\n".join([answer.summary, answer.customer_claim, *answer.open_questions])
            return check_internal_text(pseudonyms.restore(text), figures, min_words=15, max_words=260)

        prompt = self.prompts.get(DISPUTE_PROMPT_ID)
        record = _Attempts(prompt, given)
        answer = self._answer(prompt, given, DisputeAnswer, judge, record, pseudonyms)
        if answer is None:
            log.warning("dispute summary for invoice %s: template used: %s", facts.invoice_number, record.reason)
            return template_dispute_summary(facts, fallback_reason=record.reason).model_copy(update=record.spent())
        return DisputeSummary(
            summary=pseudonyms.restore(answer.summary),
            customer_claim=pseudonyms.restore(answer.customer_claim),
            open_questions=[pseudonyms.restore(q) for q in answer.open_questions],
            drafter="llm",
            prompt_id=prompt.id,
            prompt_version=prompt.version,
            model=self.model,
            **record.spent(),
        )

    def describe_invoice_lines(self, lines: list[InvoiceLine], currency: str) -> LineDescriptions:
        """Customer-facing descriptions for invoice lines; the lines' own descriptions when the model's fail."""
        given = {
            "currency": currency,
            "lines": "\n".join(
                f"{i}. {x.description} (quantity {x.quantity.normalize()}, unit price {x.unit_price})"
                for i, x in enumerate(lines, start=1)
            ),
        }

        def judge(answer: LineDescriptionsAnswer) -> list[Violation]:
            if len(answer.descriptions) != len(lines):
                detail = f"gave {len(answer.descriptions)} descriptions for {len(lines)} lines"
                return [Violation(kind="missing_element", detail=detail)]
            violations = []
            for i, (text, line) in enumerate(zip(answer.descriptions, lines, strict=True)):
                for v in check_internal_text(text, line_figures(line, currency), min_words=3, max_words=20):
                    violations.append(Violation(kind=v.kind, detail=f"(line {i + 1}) {v.detail}"))
            return violations

        prompt = self.prompts.get(LINES_PROMPT_ID)
        record = _Attempts(prompt, given)
        answer = self._answer(prompt, given, LineDescriptionsAnswer, judge, record, Pseudonyms({}))
        if answer is None:
            log.warning("invoice line descriptions: the lines' own descriptions used: %s", record.reason)
            return lines_as_entered(lines, fallback_reason=record.reason).model_copy(update=record.spent())
        return LineDescriptions(
            descriptions=answer.descriptions,
            drafter="llm",
            prompt_id=prompt.id,
            prompt_version=prompt.version,
            model=self.model,
            **record.spent(),
        )

    def _pseudonyms(self, customer_name: str, company_name: str) -> Pseudonyms:
        if not self.pseudonymise:
            return Pseudonyms({})
        return Pseudonyms({CUSTOMER_PSEUDONYM: customer_name, COMPANY_PSEUDONYM: company_name})

    # --- ask, check, ask again once ---------------------------------------------------------------

    def _answer(
        self,
        prompt: Prompt,
        given: dict[str, str],
        schema: type[A],
        judge: Callable[[A], list[Violation]],
        record: _Attempts,
        pseudonyms: Pseudonyms,
    ) -> A | None:
        """The first answer that parses and passes `judge`, within MAX_ATTEMPTS; None (and
        `record.reason`) when none does. A rejected answer is shown the reasons; a malformed one is
        simply asked again."""
        messages = prompt.render(facts=json.dumps(given, indent=2, ensure_ascii=False))
        conversation = list(messages)
        for _ in range(MAX_ATTEMPTS):
            try:
                content = self._complete(conversation, record, schema)
                answer = _parse(content, schema)
            except _Malformed as exc:
                record.rejections.append(f"malformed: {exc}")
                record.reason = f"LLM answer {exc}"
                conversation = list(messages)
                continue
            violations = judge(answer)
            if not violations:
                return answer
            record.rejections.extend(str(v) for v in violations)
            # the worst problem, for the approver; the draft's rejections list every one
            record.reason = f"LLM draft {violations[0].detail}"
            conversation = [
                *messages,
                {"role": "assistant", "content": content or ""},
                {"role": "user", "content": pseudonyms.hide(_correction(violations))},
            ]
        return None

    # --- one call ---------------------------------------------------------------------------------

    def _complete(self, messages: list[dict[str, str]], record: _Attempts, schema: type[BaseModel]) -> str | None:
        record.attempts += 1
        if self.json_schema_supported:
            try:
                return self._call(messages, record, _json_schema_format(schema))
            except openai.BadRequestError as exc:
                # Endpoints without structured outputs answer 400; JSON mode plus validation does the job.
                log.info("endpoint refused response_format json_schema (%s); using json_object", _brief(exc))
                self.json_schema_supported = False
        try:
            return self._call(messages, record, {"type": "json_object"})
        except openai.BadRequestError as exc:
            raise DrafterRefused(f"the endpoint refused the request: {_brief(exc)}") from exc

    def _call(self, messages: list[dict[str, str]], record: _Attempts, response_format: dict[str, Any]) -> str | None:
        started = time.monotonic()
        try:
            completion = self._client.chat.completions.create(
                model=self.model,
                messages=cast(Any, messages),
                response_format=cast(Any, response_format),
            )
        except openai.BadRequestError:
            raise
        except openai.APIError as exc:
            raise _transport_error(exc, time.monotonic() - started) from exc
        if completion.usage is not None:
            record.prompt_tokens += completion.usage.prompt_tokens or 0
            record.completion_tokens += completion.usage.completion_tokens or 0
        if not completion.choices:
            raise _Malformed("had no choices")
        choice = completion.choices[0]
        if choice.finish_reason == "length":
            raise _Malformed("was cut off at the token limit")
        if getattr(choice.message, "refusal", None):
            raise _Malformed(f"was a refusal ({choice.message.refusal})")
        return choice.message.content


def _json_schema_format(schema: type[BaseModel]) -> dict[str, Any]:
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", schema.__name__).lower()
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": _strict_schema(schema)}}


def _parse(content: str | None, schema: type[A]) -> A:
    if content is None or not content.strip():
        raise _Malformed("was empty")
    text = content.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.S)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Malformed(f"was not valid JSON ({exc.msg} at character {exc.pos})") from exc
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors())
        raise _Malformed(f"did not match the schema ({problems})") from exc


def _correction(violations: list[Violation]) -> str:
    lines = "\n".join(f"- {v.kind}: {v.detail}" for v in violations)
    return (
        "That draft was rejected by the checks:\n"
        f"{lines}\n"
        "Write it again from the same facts, following every rule. Answer with the JSON object only."
    )


def _cited(names: list[str], given: dict[str, str], pseudonyms: Pseudonyms) -> list[str]:
    cited = [pseudonyms.restore(given[name]) for name in names if name in given]
    return cited or [given["invoice_number"], given["amount_due"], given["due_date"]]


class _Attempts:
    """What one drafting call spent and saw, recorded on what it returns."""

    def __init__(self, prompt: Prompt, given: dict[str, str]) -> None:
        self.prompt = prompt
        self.given = given
        self.attempts = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.rejections: list[str] = []
        self.reason = ""

    def spent(self) -> dict[str, Any]:
        return {
            "facts_given": dict(self.given),
            "rejections": list(self.rejections),
            "attempts": self.attempts,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


def dispute_facts_for_model(facts: DisputeFacts) -> dict[str, str]:
    """The invoice, its payments and the customer's words; no ids, contacts or other invoices."""
    given = {
        "customer": facts.customer_name,
        "sender": facts.company_name,
        "invoice_number": facts.invoice_number,
        "invoice_total": str(facts.invoice_total),
        "amount_due": str(facts.amount_due),
        "issue_date": facts.issue_date.isoformat(),
        "due_date": facts.due_date.isoformat(),
        "today": facts.today.isoformat(),
        "payments": "; ".join(
            f"{p.date.isoformat()}: {p.amount}" + (f" (reference {p.reference})" if p.reference else "")
            for p in facts.payments
        )
        or "none recorded",
        "customer_message": facts.customer_message,
    }
    if facts.notes:
        given["history"] = "\n".join(facts.notes)
    return given


# --- transport errors ----------------------------------------------------------------------------


def _transport_error(exc: openai.APIError, elapsed: float) -> DrafterError:
    if isinstance(exc, openai.APITimeoutError):
        return DrafterUnavailable(f"the model did not answer within {elapsed:.1f}s (timeout)")
    if isinstance(exc, openai.APIConnectionError):
        return DrafterUnavailable(f"cannot reach the model endpoint: {exc}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429:
            if _error_code(exc) == "insufficient_quota":
                return DrafterRefused(f"the endpoint's quota is exhausted: {_brief(exc)}")
            retry_after = retry_after_seconds(exc.response.headers)
            return DrafterRateLimited(f"rate limited by the model endpoint: {_brief(exc)}", retry_after)
        if status >= 500 or status in (408, 409):
            return DrafterUnavailable(f"the model endpoint failed with {status}: {_brief(exc)}")
        return DrafterRefused(f"the model endpoint refused the request with {status}: {_brief(exc)}")
    return DrafterUnavailable(f"unexpected answer from the model endpoint: {exc}")


def _error_code(exc: openai.APIStatusError) -> str | None:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("code"), str):
            return cast(str, inner["code"])
    return None


def _brief(exc: openai.APIError) -> str:
    return str(exc.message)[:300]


def drafter_from_env() -> Drafter:
    """The LLM drafter when an endpoint is configured, else the template drafter."""
    return LlmDrafter.from_env() or TemplateDrafter()


__all__ = [
    "DEFAULT_MODEL",
    "LlmDrafter",
    "Pseudonyms",
    "ReminderAnswer",
    "drafter_from_env",
    "reminder_facts_for_model",
]
