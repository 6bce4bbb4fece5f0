"""`duecourse bench drafts`: draft N realistic reminders with the configured drafter and print the figures.

With an LLM endpoint configured (OPENAI_BASE_URL / OPENAI_API_KEY, DUECOURSE_LLM_MODEL) it reports how
often the guardrails rejected an answer and why, how often the template had to answer, the latency
percentiles and the tokens spent. With no endpoint it drafts with the template drafter and says so.
The reminders are generated from a seed, so two runs draft the same N reminders.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from adapters.drafting.guardrails import check_reminder
from adapters.drafting.llm import LlmDrafter, drafter_from_env
from adapters.drafting.port import Draft, Drafter, DrafterError, ReminderFacts, Tone
from adapters.ledger import Money

_COMPANIES = [
    ("Northwind Traders Ltd", "GB"),
    ("Bluebird Studio LLC", "US"),
    ("Kessler & Braun GmbH", "DE"),
    ("Harbor Line Logistics Inc.", "US"),
    ("Atelier Margaux SARL", "FR"),
]
_CUSTOMERS = [
    "Maple & Finch Bakery",
    "Dr. Amara Okafor",
    "Riverside Dental Group",
    "Oakridge Property Management",
    "Sofia Lindqvist",
    "Copperleaf Coffee Roasters",
    "Greenway Landscaping Co.",
    "Tomasz Wójcik",
    "Summit Ridge Outfitters",
    "Lumen Analytics Pty Ltd",
    "Hollis & Marsh Architects",
    "Priya Raman Consulting",
]
_HISTORIES = [
    "",
    "Usually pays within terms: 11 of the last 12 invoices were paid on time.",
    "Often pays late, on average 18 days after the due date.",
    "First invoice for this customer.",
    "Paid the last 3 invoices late; promised payment last month and then paid.",
    "Long-standing customer since 2019; has never missed a payment before.",
]
# level -> (days after the due date the reminder goes out, tone)
_LEVELS: dict[int, tuple[int, Tone]] = {
    0: (-3, "friendly"),
    1: (3, "friendly"),
    2: (14, "firm"),
    3: (30, "firm"),
    4: (45, "final"),
}
_CURRENCY = {"GB": "GBP", "US": "USD", "DE": "EUR", "FR": "EUR"}


def sample_facts(n: int, seed: int) -> list[ReminderFacts]:
    """N varied, realistic reminders; the same N for the same seed."""
    rng = random.Random(seed)
    facts = []
    for i in range(n):
        company, country = rng.choice(_COMPANIES)
        currency = _CURRENCY[country]
        customer = rng.choice(_CUSTOMERS)
        level = rng.choice(list(_LEVELS))
        offset, tone = _LEVELS[level]
        magnitude = rng.choice([80, 450, 1200, 3800, 9500, 24000])
        total = Decimal(rng.randint(magnitude // 2 * 100, magnitude * 100)) / 100
        if rng.random() < 0.2:
            total = total.quantize(Decimal("1"))
        paid = (total * Decimal(rng.choice([20, 25, 40, 50])) / 100).quantize(Decimal("0.01"))
        due_amount = total - paid if rng.random() < 0.2 else total
        terms = rng.choice([14, 30, 30, 45, 60])
        issue = date(2026, 1, 5) + timedelta(days=rng.randint(0, 120))
        due = issue + timedelta(days=terms)
        number = rng.choice(["INV-{n}", "INV{n:05d}", "{n}", "SI-2026-{n:04d}"]).format(n=1000 + 7 * i + seed)
        slug = company.split()[0].lower()
        how_to_pay = rng.choice(
            [
                f"Pay online at https://pay.{slug}.example/i/{number}",
                f"Bank transfer to {company}, IBAN GB29 NWBK 6016 1331 9268 19, reference {number}",
                f"ACH or wire to account 004417722, routing 121000358, memo {number}",
                "Card or bank transfer through the link on the invoice, or call accounts on +1 415 555 0134",
            ]
        )
        facts.append(
            ReminderFacts(
                company_name=company,
                customer_name=customer,
                invoice_number=number,
                amount_due=Money.of(due_amount, currency),
                total=Money.of(total, currency),
                issue_date=issue,
                due_date=due,
                today=due + timedelta(days=offset),
                level=level,
                tone=tone,
                how_to_pay=how_to_pay,
                history_summary=rng.choice(_HISTORIES),
                allow_payment_plan=level >= 3,
                allow_late_fee_mention=level >= 4 and rng.random() < 0.5,
                date_order="MDY" if country == "US" else "DMY",
            )
        )
    return facts


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(math.ceil(pct / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def bench_drafts_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="duecourse bench drafts", description=__doc__)
    parser.add_argument("--n", type=int, default=50, help="how many reminders to draft (default 50)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated reminders (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")

    drafter = drafter_from_env()
    report = run_bench(drafter, sample_facts(args.n, args.seed))
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        print(_as_text(report))
    return 0


def run_bench(drafter: Drafter, facts: list[ReminderFacts]) -> dict[str, Any]:
    latencies: list[float] = []
    drafts: list[Draft] = []
    errors: Counter[str] = Counter()
    rejections: Counter[str] = Counter()
    failing_checks = 0
    for one in facts:
        started = time.perf_counter()
        try:
            draft = drafter.draft_reminder(one)
        except DrafterError as exc:
            errors[type(exc).__name__] += 1
            continue
        finally:
            latencies.append((time.perf_counter() - started) * 1000)
        drafts.append(draft)
        rejections.update(r.split(":", 1)[0] for r in draft.rejections)
        if check_reminder(draft.subject, draft.body, one):
            failing_checks += 1
    llm = isinstance(drafter, LlmDrafter)
    model = drafter.model if isinstance(drafter, LlmDrafter) else None
    fallbacks = sum(1 for d in drafts if d.drafter == "template")
    prompt_tokens = sum(d.prompt_tokens for d in drafts)
    completion_tokens = sum(d.completion_tokens for d in drafts)
    report: dict[str, Any] = {
        "drafter": "llm" if llm else "template",
        "endpoint": (os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1") if llm else None,
        "model": model,
        "note": None
        if llm
        else "no LLM endpoint configured (OPENAI_BASE_URL / OPENAI_API_KEY unset): drafted with the template drafter",
        "reminders": len(facts),
        "drafted": len(drafts),
        "llm_drafts": sum(1 for d in drafts if d.drafter == "llm"),
        "template_fallbacks": fallbacks if llm else 0,
        "fallback_rate": round(fallbacks / len(drafts), 4) if llm and drafts else 0.0,
        "errors": dict(errors),
        "rejections_by_kind": dict(sorted(rejections.items())),
        "fallback_reasons": dict(
            Counter(_reason_shape(d.fallback_reason) for d in drafts if d.fallback_reason).most_common(8)
        ),
        "drafts_failing_checks": failing_checks,
        "attempts": sum(d.attempts for d in drafts),
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 1),
            "p90": round(percentile(latencies, 90), 1),
            "p99": round(percentile(latencies, 99), 1),
            "max": round(max(latencies, default=0.0), 1),
        },
        "tokens": {
            "prompt": prompt_tokens,
            "completion": completion_tokens,
            "total": prompt_tokens + completion_tokens,
            "per_draft": round((prompt_tokens + completion_tokens) / len(drafts), 1) if drafts else 0.0,
        },
    }
    return report


def _reason_shape(reason: str) -> str:
    """A fallback reason with its figures blanked, so the same problem counts once."""
    shape = re.sub(r"\d[\d.,]*", "N", reason)
    shape = re.sub(r"\b(?:INV|SI)[-\w]*N\b|#N", "#N", shape)
    return shape.split(" (")[0][:100]


def _as_text(report: dict[str, Any]) -> str:
    lines = []
    if report["note"]:
        lines.append(report["note"])
    else:
        lines.append(f"endpoint {report['endpoint']}  model {report['model']}")
    lines.append(
        f"reminders {report['reminders']}  drafted {report['drafted']}  by the LLM {report['llm_drafts']}  "
        f"template fallbacks {report['template_fallbacks']} ({report['fallback_rate']:.1%})"
    )
    if report["errors"]:
        lines.append("endpoint errors: " + ", ".join(f"{k} {v}" for k, v in report["errors"].items()))
    kinds = report["rejections_by_kind"]
    lines.append(
        "guardrail rejections by kind: " + (", ".join(f"{k} {v}" for k, v in kinds.items()) if kinds else "none")
    )
    for reason, count in report["fallback_reasons"].items():
        lines.append(f"  fallback x{count}: {reason}")
    lines.append(f"final drafts failing the checks: {report['drafts_failing_checks']}")
    lat = report["latency_ms"]
    lines.append(f"latency ms  p50 {lat['p50']}  p90 {lat['p90']}  p99 {lat['p99']}  max {lat['max']}")
    tok = report["tokens"]
    lines.append(
        f"tokens  prompt {tok['prompt']}  completion {tok['completion']}  total {tok['total']}  "
        f"per draft {tok['per_draft']}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    raise SystemExit(bench_drafts_main(sys.argv[1:]))
