"""The records reply classification works on: a customer's reply as it arrived, and what the rules made of it."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal[
    "paid",
    "promise",
    "dispute",
    "copy_request",
    "plan_request",
    "question",
    "wrong_contact",
    "out_of_office",
    "unsubscribe",
    "bounce",
    "other",
]

# Highest first: when two kinds are equally well supported, the earlier one wins (see `classify`).
PRECEDENCE: tuple[Kind, ...] = (
    "bounce",
    "out_of_office",
    "unsubscribe",
    "dispute",
    "paid",
    "promise",
    "plan_request",
    "wrong_contact",
    "copy_request",
    "question",
    "other",
)

# The kinds whose `date` means something: the day paid, the day promised, the first day back.
DATED_KINDS: frozenset[Kind] = frozenset({"paid", "promise", "out_of_office"})


class Reply(BaseModel):
    """One message that came back in answer to a reminder: its subject and body as received (plain text or
    HTML). `sender` is the From address when known (the batch files do not carry it)."""

    model_config = ConfigDict(frozen=True)

    subject: str = ""
    body: str = ""
    sender: str = ""


class Classification(BaseModel):
    """What a reply says. `date` is the day paid, the day promised or the first day back, None when the
    reply names none the rules could place. `evidence` is the phrase that decided it (for the invoice's
    story page and the audit log); `classifier` says who decided: the rules, or a second opinion."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    date: dt.date | None = None
    confidence: float = Field(ge=0.0, le=1.0)
    evidence: str = ""
    classifier: Literal["rules", "second_opinion"] = "rules"
