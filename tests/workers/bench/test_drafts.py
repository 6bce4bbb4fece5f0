"""`duecourse bench drafts`: the figures it prints, with and without an LLM endpoint."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.adapters.drafting.fake_openai import FakeOpenAI, Reply, answer, request_facts, write_reminder
from workers.bench.drafts import bench_drafts_main


def test_the_bench_without_an_endpoint_uses_the_template_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert bench_drafts_main(["--n", "20"]) == 0
    out = capsys.readouterr().out
    assert "template drafter" in out and "latency ms" in out and "guardrail rejections by kind: none" in out


def test_the_bench_against_an_endpoint_reports_rejections_fallbacks_latency_and_tokens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = iter(range(10_000))

    def every_third_call_hallucinates(body: dict[str, Any]) -> Reply:
        given = request_facts(body)
        draft = write_reminder(given)
        if next(calls) % 3:
            return answer(draft)
        currency, value = given["amount_due"].split(" ")
        raised = f"{currency} {Decimal(value.replace(',', '')) + 50:,.2f}"
        return answer(
            {
                key: text.replace(given["amount_due"], raised) if key in ("subject", "body") else text
                for key, text in draft.items()
            }
        )

    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        monkeypatch.setenv("DUECOURSE_LLM_MODEL", "fake-model")
        fake.default = every_third_call_hallucinates
        assert bench_drafts_main(["--n", "12", "--seed", "2", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)

        assert report["drafter"] == "llm" and report["model"] == "fake-model" and report["endpoint"] == fake.base_url
        assert report["reminders"] == report["drafted"] == 12
        assert report["rejections_by_kind"]["amount"] >= 4
        assert report["drafts_failing_checks"] == 0
        assert report["llm_drafts"] + report["template_fallbacks"] == 12
        assert report["tokens"]["total"] == fake.calls * 240
        assert set(report["latency_ms"]) == {"p50", "p90", "p99", "max"}
