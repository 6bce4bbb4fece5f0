"""Connecting a real ledger company: the OAuth authorization-code flow through the web app's callback, the
encrypted token store, and the directory of connected ledgers the worker reads.

`duecourse connect quickbooks|xero|intacct` prints an authorization URL (and waits); the person signs in
at the ledger, which redirects to `/oauth/<ledger>/callback`; the web app trades the code for tokens,
stores them encrypted (`DUECOURSE_SECRET_KEY`), and creates the ledger's polling-backstop schedule.
Client ids, secrets and (for tests and sandboxes) the ledgers' URLs come from the environment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.ledger import LedgerPort
from adapters.store import EncryptedTokenStore, SettingRow, Store

LEDGERS = ("quickbooks", "xero", "intacct")
ENV_PREFIX = {"quickbooks": "DUECOURSE_QBO", "xero": "DUECOURSE_XERO", "intacct": "DUECOURSE_INTACCT"}


class ConnectError(Exception):
    pass


def secret_key(home: Path) -> str:
    """`DUECOURSE_SECRET_KEY`, or (for the embedded stack) a key kept in the data dir, made once."""
    key = os.environ.get("DUECOURSE_SECRET_KEY")
    if key:
        return key
    from cryptography.fernet import Fernet

    path = home / "secret.key"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_bytes(Fernet.generate_key())
        path.chmod(0o600)
    return path.read_text().strip()


def token_store(store: Store, home: Path) -> EncryptedTokenStore:
    return EncryptedTokenStore(store, secret_key(home))


def _env(ledger: str, name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"{ENV_PREFIX[ledger]}_{name}") or default


def client_credentials(ledger: str) -> tuple[str, str]:
    client_id, client_secret = _env(ledger, "CLIENT_ID"), _env(ledger, "CLIENT_SECRET")
    if not client_id or not client_secret:
        prefix = ENV_PREFIX[ledger]
        raise ConnectError(f"set {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET (your app's credentials at the "
                           f"{ledger} developer portal) first")
    return client_id, client_secret


def ledger_urls(ledger: str) -> dict[str, str]:
    """The ledger's endpoints; overridable for sandboxes and emulators."""
    if ledger == "quickbooks":
        from adapters.ledgers.quickbooks import auth as quickbooks
        from adapters.ledgers.quickbooks import transport as quickbooks_transport

        return {"base_url": _env(ledger, "BASE_URL", quickbooks_transport.API_URL) or "",
                "token_url": _env(ledger, "TOKEN_URL", quickbooks.TOKEN_URL) or "",
                "authorize_url": _env(ledger, "AUTHORIZE_URL", quickbooks.AUTHORIZE_URL) or ""}
    if ledger == "xero":
        from adapters.ledgers.xero import auth as xero
        from adapters.ledgers.xero import transport as xero_transport

        return {"api_base": _env(ledger, "API_URL", xero_transport.API_BASE) or "",
                "identity_base": _env(ledger, "IDENTITY_URL", xero.IDENTITY_BASE) or "",
                "login_base": _env(ledger, "LOGIN_URL", xero.LOGIN_BASE) or "",
                "connections_base": _env(ledger, "CONNECTIONS_URL", xero.CONNECTIONS_BASE) or ""}
    from adapters.ledgers.intacct import transport as intacct

    return {"base_url": _env(ledger, "BASE_URL", intacct.DEFAULT_BASE_URL) or ""}


@dataclass
class Authorization:
    ledger: str
    state: str
    url: str
    redirect_uri: str


def _state_key(state: str) -> str:
    return f"oauth-state:{state}"


def begin(store: Store, ledger: str, public_url: str, company: str | None = None) -> Authorization:
    """An authorization URL for `ledger`; its state (and PKCE verifier) waits in the store for the callback."""
    if ledger not in LEDGERS:
        raise ConnectError(f"unknown ledger {ledger!r}: one of {', '.join(LEDGERS)}")
    if ledger == "intacct" and not company:
        raise ConnectError("Sage Intacct needs the company id: duecourse connect intacct --company COMPANY_ID")
    client_id, _ = client_credentials(ledger)
    urls = ledger_urls(ledger)
    state = secrets.token_urlsafe(24)
    redirect_uri = f"{public_url.rstrip('/')}/oauth/{ledger}/callback"
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    if ledger == "quickbooks":
        from adapters.ledgers.quickbooks import auth as quickbooks

        url = quickbooks.authorization_url(client_id, redirect_uri, state, authorize_url=urls["authorize_url"])
    elif ledger == "xero":
        from adapters.ledgers.xero import auth as xero

        url = xero.authorization_url(client_id, redirect_uri, state, login_base=urls["login_base"],
                                     code_challenge=challenge)
    else:
        from adapters.ledgers.intacct import auth as intacct

        url = intacct.authorization_url(client_id, redirect_uri, state, base_url=urls["base_url"],
                                        code_challenge=challenge)
    with store.session() as session:
        session.add(SettingRow(name=_state_key(state), value=json.dumps(
            {"ledger": ledger, "redirect_uri": redirect_uri, "verifier": verifier, "company": company})))
        session.commit()
    return Authorization(ledger=ledger, state=state, url=url, redirect_uri=redirect_uri)


def complete(store: Store, home: Path, ledger: str, params: Mapping[str, str]) -> list[str]:
    """The callback: trade the code for tokens and remember the connection. Returns the tenants connected
    (Xero's consent can cover several organisations)."""
    if "error" in params:
        raise ConnectError(f"{ledger} refused the connection: {params.get('error')} "
                           f"{params.get('error_description', '')}".strip())
    state, code = params.get("state"), params.get("code")
    if not state or not code:
        raise ConnectError("the callback lacks `code` or `state`")
    with store.session() as session:
        row = session.get(SettingRow, _state_key(state))
        if row is None:
            raise ConnectError("unknown or already used sign-in state: start again with `duecourse connect`")
        pending = json.loads(row.value)
        session.delete(row)
        session.commit()
    if pending["ledger"] != ledger:
        raise ConnectError(f"this state was issued for {pending['ledger']}, not {ledger}")
    client_id, client_secret = client_credentials(ledger)
    urls = ledger_urls(ledger)
    tokens = token_store(store, home)
    if ledger == "quickbooks":
        from adapters.ledgers.quickbooks import auth as quickbooks

        realm = params.get("realmId")
        if not realm:
            raise ConnectError("QuickBooks did not say which company (realmId) was connected")
        quickbooks.exchange_code(code, realm, client_id=client_id, client_secret=client_secret,
                                 redirect_uri=pending["redirect_uri"], token_store=tokens,
                                 token_url=urls["token_url"])
        tenants = [realm]
    elif ledger == "xero":
        from adapters.ledgers.xero import auth as xero

        tenants = xero.connect(code, pending["redirect_uri"], client_id, client_secret, tokens,
                               code_verifier=pending["verifier"], identity_base=urls["identity_base"],
                               connections_base=urls["connections_base"])
        if not tenants:
            raise ConnectError("the Xero consent covers no organisation")
    else:
        from adapters.ledgers.intacct.ledger import IntacctLedger

        tenants = [pending["company"]]
        IntacctLedger(tenants[0], client_id, client_secret, tokens, base_url=urls["base_url"]).connect_with_code(
            code, pending["redirect_uri"], code_verifier=pending["verifier"])
    for tenant in tenants:
        tokens.save_connection(ledger, tenant, {k: v for k, v in urls.items() if k not in ("authorize_url",
                                                                                           "login_base")})
    return tenants


def company_time_zone(ledger: str) -> str | None:
    """The company's IANA zone for customers whose address gives none: `DUECOURSE_<LEDGER>_COMPANY_TIME_ZONE`,
    else `DUECOURSE_COMPANY_TIME_ZONE` (None: unset; QuickBooks then reads CompanyInfo's address)."""
    from adapters.time_zones import CompanyZone

    for name in (f"{ENV_PREFIX[ledger]}_COMPANY_TIME_ZONE", "DUECOURSE_COMPANY_TIME_ZONE"):
        if os.environ.get(name, "").strip():
            try:
                zone = CompanyZone.configured(os.environ[name], origin=name)
            except ValueError as error:
                raise ConnectError(str(error)) from None
            return zone.zone if zone is not None else None
    return None


def build_ledger(ledger: str, tenant: str, settings: Mapping[str, Any], tokens: EncryptedTokenStore) -> LedgerPort:
    client_id, client_secret = client_credentials(ledger)
    if ledger == "quickbooks":
        from adapters.ledgers.quickbooks.ledger import QuickBooksLedger

        return QuickBooksLedger(tenant, client_id, client_secret, tokens, base_url=settings["base_url"],
                                token_url=settings["token_url"], company_time_zone=company_time_zone(ledger))
    if ledger == "xero":
        from adapters.ledgers.xero.ledger import XeroLedger

        return XeroLedger(tenant, client_id, client_secret, tokens, api_base=settings["api_base"],
                          identity_base=settings["identity_base"])
    from adapters.ledgers.intacct.ledger import IntacctLedger

    return IntacctLedger(tenant, client_id, client_secret, tokens, base_url=settings["base_url"],
                         company_time_zone=company_time_zone(ledger))


class ConnectedLedgers(Mapping[str, LedgerPort]):
    """The ledgers a worker talks to, keyed `ledger/tenant`: fixed ones (the sandbox) plus every connected
    company in the store, loaded when first asked for, so a company connected while the worker runs works
    without a restart."""

    def __init__(self, fixed: Mapping[str, LedgerPort], store: Store | None, home: Path) -> None:
        self._ports: dict[str, LedgerPort] = dict(fixed)
        self._store = store
        self._home = home
        self._lock = threading.Lock()

    def _load(self) -> None:
        if self._store is None:
            return
        tokens = token_store(self._store, self._home)
        for connection in tokens.connections():
            key = f"{connection.ledger}/{connection.tenant}"
            if key not in self._ports:
                self._ports[key] = build_ledger(connection.ledger, connection.tenant, connection.settings, tokens)

    def __getitem__(self, key: str) -> LedgerPort:
        with self._lock:
            if key not in self._ports:
                self._load()
            return self._ports[key]

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            self._load()
            return iter(list(self._ports))

    def __len__(self) -> int:
        with self._lock:
            self._load()
            return len(self._ports)
