"""What the web app is built from: how to reach Temporal, the store, the company defaults and the
webhook secrets of every ledger."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client

from adapters.ledger import LedgerPort
from adapters.store import Store
from workers.intake import LifecycleDefaults


@dataclass
class WebConfig:
    connect: Callable[[], Awaitable[Client]]
    store: Store
    defaults: LifecycleDefaults
    sandbox_webhook_secret: str | None
    public_url: str
    ui_url: str | None = None
    namespace: str = "default"
    # The embedded dev stack (bound to 127.0.0.1) lets reads through without a token; production does not.
    open_reads: bool = False
    # Where the encryption key of ledger connections lives when DUECOURSE_SECRET_KEY is unset.
    home: Path | None = None
    qbo_verifier_token: str | None = field(default_factory=lambda: os.environ.get("DUECOURSE_QBO_VERIFIER_TOKEN"))
    xero_webhook_key: str | None = field(default_factory=lambda: os.environ.get("DUECOURSE_XERO_WEBHOOK_KEY"))
    # A PEM public key (RS256) or a shared secret (HS256) that Intacct's delivery JWTs are signed with.
    intacct_webhook_key: str | None = field(default_factory=lambda: os.environ.get("DUECOURSE_INTACCT_WEBHOOK_KEY"))
    # The ledger companies the reports read, keyed `ledger/tenant`; None: the dev stack's sandbox in `home` and
    # every connected company (`workers.web.reports.report_ledgers`).
    ledgers: Mapping[str, LedgerPort] | None = None
