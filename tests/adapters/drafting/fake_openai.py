"""A scripted OpenAI-compatible server for tests: real HTTP, so the real `openai` client talks to it.

It speaks the wire format of `POST /v1/chat/completions` (the completion object with `usage`, the
`{"error": {...}}` body, `Retry-After` headers) and answers from a per-test script: each request takes
the next `Reply` (or calls the next responder with the request body). It records every request, and
can behave like a server without structured outputs (400 to `response_format: json_schema`) or like
OpenAI in JSON mode (400 when no message mentions JSON). `good` is a competent model: it writes a
reminder that passes every check from the facts it was sent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.emulators.kit import ServedApp


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a completion (status 200) or an error (any other status)."""

    status: int = 200
    content: str | None = None
    finish_reason: str = "stop"
    refusal: str | None = None
    prompt_tokens: int = 150
    completion_tokens: int = 90
    headers: dict[str, str] = field(default_factory=dict)
    error_message: str = ""
    error_type: str = "server_error"
    error_code: str | None = None
    delay_seconds: float = 0.0
    no_choices: bool = False


Responder = Callable[[dict[str, Any]], Reply]
Scripted = Reply | Responder


def answer(content: str | dict[str, Any] | None, **kwargs: Any) -> Reply:
    """A completion whose message content is `content` (a dict is sent as its JSON)."""
    text = json.dumps(content) if isinstance(content, dict) else content
    return Reply(content=text, **kwargs)


def error(status: int, message: str, *, headers: dict[str, str] | None = None, code: str | None = None) -> Reply:
    kind = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_exceeded"}
    return Reply(
        status=status,
        error_message=message,
        error_type=kind.get(status, "server_error"),
        error_code=code,
        headers=headers or {},
    )


def slow(seconds: float, then: Reply | None = None) -> Reply:
    """Answers only after `seconds` (a client with a shorter timeout gives up first)."""
    reply = then or answer("{}")
    return Reply(**{**reply.__dict__, "delay_seconds": seconds})


def request_facts(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON facts object the drafter put in its first user message."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    obj, _ = json.JSONDecoder().raw_decode(user[user.index("{") :])
    return dict(obj)


# --- a competent model: writes a good reminder from the facts it was sent --------------------------


def write_reminder(given: dict[str, str]) -> dict[str, Any]:
    number, amount, due = given["invoice_number"], given["amount_due"], given["due_date"]
    if "days_until_due" in given:
        when = f"falls due on {due}"
    elif given.get("days_overdue", "0").isdigit() and int(given["days_overdue"]) > 0:
        when = f"was due on {due} and is now {given['days_overdue']} days overdue"
    else:
        when = f"is due today, {due}"
    opening = {
        "friendly": f"I hope all is well. This is a quick note that invoice {number} for {amount} {when}. "
        "It may simply have slipped through the cracks.",
        "firm": f"Invoice {number} for {amount} {when}, and we have not yet received payment. "
        "Please arrange payment now.",
        "final": f"This is our final reminder about invoice {number}: {amount} {when} and remains unpaid. "
        "If we do not receive payment, the account will be passed to our collections team.",
    }[given["tone"]]
    body = (
        f"Dear {given['customer']},\n\n{opening}\n\nHow to pay: {given['how_to_pay']}\n\n"
        "If you have already paid, thank you, and please disregard this note.\n\n"
        f"Best regards,\n{given['sender']}"
    )
    subject = {
        "friendly": f"Invoice {number}: a quick reminder",
        "firm": f"Invoice {number} is overdue",
        "final": f"Final reminder: invoice {number}",
    }[given["tone"]]
    return {
        "subject": subject,
        "body": body,
        "tone": given["tone"],
        "cited_facts": ["invoice_number", "amount_due", "due_date", "how_to_pay"],
    }


def good(body: dict[str, Any]) -> Reply:
    return answer(write_reminder(request_facts(body)))


class FakeOpenAI:
    """The server. `with FakeOpenAI() as server:` or `start()` / `stop()`; `base_url` ends in /v1."""

    def __init__(self) -> None:
        self.supports_json_schema = True
        self.default: Scripted | None = None
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.base_url = ""
        self.app = self._build_app()
        self._served = ServedApp(self.app, "fake-openai")

    # --- the script ---------------------------------------------------------------------------------

    def script(self, *replies: Scripted) -> None:
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.request_headers.clear()
            self.supports_json_schema = True
            self.default = None

    @property
    def calls(self) -> int:
        return len(self.requests)

    @property
    def pending(self) -> int:
        return len(self._script)

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            scripted = self._script.popleft() if self._script else self.default
        if scripted is None:
            return error(500, "fake server: the test scripted no reply for this request")
        return scripted if isinstance(scripted, Reply) else scripted(body)

    # --- the HTTP side --------------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> JSONResponse:
            try:
                body = await request.json()
            except json.JSONDecodeError:
                return _error_response(error(400, "We could not parse the JSON body of your request."))
            with self._lock:
                self.requests.append(body)
                self.request_headers.append(dict(request.headers))
            refused = self._validate(body)
            if refused is not None:
                return _error_response(refused)
            reply = self._next(body)
            if reply.delay_seconds:
                await asyncio.sleep(reply.delay_seconds)
            if reply.status != 200:
                return _error_response(reply)
            return JSONResponse(self._completion(body, reply), headers=reply.headers)

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            return {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "tests"}]}

        return app

    def _validate(self, body: dict[str, Any]) -> Reply | None:
        if not body.get("model") or not isinstance(body.get("messages"), list) or not body["messages"]:
            return error(400, "'model' and a non-empty 'messages' are required.")
        response_format = body.get("response_format") or {}
        kind = response_format.get("type")
        if kind == "json_schema" and not self.supports_json_schema:
            return error(400, "response_format type 'json_schema' is not supported by this server")
        if kind == "json_object":
            text = " ".join(str(m.get("content", "")) for m in body["messages"])
            if "json" not in text.lower():
                return error(400, "'messages' must contain the word 'json' in some form, to use 'response_format'")
        return None

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        choices = [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content, "refusal": reply.refusal},
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
        ]
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "system_fingerprint": "fp_fake",
            "choices": [] if reply.no_choices else choices,
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }

    # --- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> str:
        self.base_url = f"{self._served.start()}/v1"
        return self.base_url

    def stop(self) -> None:
        self._served.stop()

    def __enter__(self) -> FakeOpenAI:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _error_response(reply: Reply) -> JSONResponse:
    body = {
        "error": {
            "message": reply.error_message,
            "type": reply.error_type,
            "param": None,
            "code": reply.error_code,
        }
    }
    return JSONResponse(body, status_code=reply.status, headers=reply.headers)


@contextmanager
def running_fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server
