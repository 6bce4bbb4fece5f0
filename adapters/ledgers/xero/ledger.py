"""Xero (Accounting API 2.0) behind `LedgerPort`, through xero-python.

How Xero's objects map to the vocabulary:

* Customer = Contact. Currency is the contact's DefaultCurrency, else the organisation's base currency;
  terms_days comes from PaymentTerms.Sales when its type is DAYSAFTERBILLDATE (other Xero term types have no
  fixed day count and keep the default 30); country and time zone are the organisation's.
* Invoice = an ACCREC Invoice. Balance is AmountDue (0 once VOIDED). Status: DRAFT/SUBMITTED -> draft,
  AUTHORISED -> open (partially_paid once anything is paid or credited), PAID -> paid, VOIDED/DELETED -> void.
  Drafts are created AUTHORISED with `line_amount_types` (Inclusive by default), so the total Xero keeps
  is exactly the sum of the draft's lines whatever tax the sales account carries.
* Estimate = Quote. DRAFT/SENT -> pending, ACCEPTED -> accepted, DECLINED -> rejected, INVOICED/DELETED ->
  closed. Invoicing an accepted quote marks it INVOICED.
* Payment = one Payment (one invoice) or one BatchPayment (several invoices, one bank line); its id is the
  PaymentID or the BatchPaymentID. Money beyond the allocations becomes a RECEIVE-OVERPAYMENT bank
  transaction (Xero has no unapplied amount on a payment).
* BankLine = a RECEIVE BankTransaction: unmatched while AUTHORISED and not reconciled, matched once
  reconciled, ignored when deleted or voided. Xero's API does not expose bank statement lines, so a payment
  recorded for a bank line lands in that line's bank account and is noted in its history.
* CreditNote = an ACCRECCREDIT CreditNote, allocated to its invoice when one is named; status draft / open /
  applied / void.
* Notes = History records. Aging = Reports/AgedReceivablesByContact, one call per customer with an open
  balance, so it is used only up to `aging_contact_limit` customers (else None: callers compute it).

Errors are mapped once, in `_call`: 429 -> RateLimited(Retry-After), 5xx / timeouts / resets ->
RetryableLedgerError, 400 -> PermanentLedgerError carrying Xero's ValidationErrors, 404 -> NotFound, 401 ->
refresh and one more try, 403 or a refused refresh -> ReconsentRequired. urllib3's own retries (which
silently repeat GET and PUT on a 429 with Retry-After) are off: Temporal owns retrying. Every write carries
an `Idempotency-Key` derived from the caller's key; note that Xero remembers one for minutes, not forever.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import urlencode

import urllib3
from xero_python.accounting import AccountingApi
from xero_python.accounting.models import Account as XAccount
from xero_python.accounting.models import Allocation as XAllocation
from xero_python.accounting.models import Allocations as XAllocations
from xero_python.accounting.models import BankTransaction as XBankTransaction
from xero_python.accounting.models import BankTransactions as XBankTransactions
from xero_python.accounting.models import BatchPayment as XBatchPayment
from xero_python.accounting.models import BatchPayments as XBatchPayments
from xero_python.accounting.models import Bill as XBill
from xero_python.accounting.models import Contact as XContact
from xero_python.accounting.models import Contacts as XContacts
from xero_python.accounting.models import CreditNote as XCreditNote
from xero_python.accounting.models import CreditNotes as XCreditNotes
from xero_python.accounting.models import CurrencyCode as XCurrencyCode
from xero_python.accounting.models import HistoryRecord as XHistoryRecord
from xero_python.accounting.models import HistoryRecords as XHistoryRecords
from xero_python.accounting.models import Invoice as XInvoice
from xero_python.accounting.models import Invoices as XInvoices
from xero_python.accounting.models import LineAmountTypes as XLineAmountTypes
from xero_python.accounting.models import LineItem as XLineItem
from xero_python.accounting.models import Payment as XPayment
from xero_python.accounting.models import Payments as XPayments
from xero_python.accounting.models import PaymentTerm as XPaymentTerm
from xero_python.accounting.models import PaymentTermType as XPaymentTermType
from xero_python.accounting.models import Quote as XQuote
from xero_python.accounting.models import Quotes as XQuotes
from xero_python.accounting.models import QuoteStatusCodes as XQuoteStatusCodes
from xero_python.accounting.models import RequestEmpty as XRequestEmpty
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import HTTPStatusException
from xero_python.identity import IdentityApi

from adapters.ledger import (
    CENT,
    AgingRow,
    Allocation,
    BankLine,
    BankLineStatus,
    ChangeBatch,
    CreditNote,
    CreditNoteDraft,
    Customer,
    CustomerDraft,
    Estimate,
    EstimateStatus,
    EventOperation,
    Invoice,
    InvoiceDraft,
    InvoiceLine,
    InvoiceStatus,
    LedgerEvent,
    Money,
    NotFound,
    Payment,
    PaymentRequest,
    PermanentLedgerError,
    RateLimited,
    RetryableLedgerError,
)
from adapters.ledgers.oauth import OAuthTokens, ReconsentRequired, TokenStore
from adapters.ledgers.rate_limit import RateLimiter

log = logging.getLogger("duecourse.xero")

LEDGER = "xero"
API_BASE = "https://api.xero.com/api.xro/2.0"
IDENTITY_BASE = "https://identity.xero.com"
LOGIN_BASE = "https://login.xero.com"
CONNECTIONS_BASE = "https://api.xero.com"
# Broad scopes: every app until 2027. Apps created from 2 March 2026 must ask for granular ones; their exact
# names (reports above all) are not confirmed in the OpenAPI file yet, so both sets are here and callers choose.
BROAD_SCOPES = ("openid", "profile", "email", "offline_access", "accounting.transactions", "accounting.contacts",
                "accounting.settings.read", "accounting.reports.read")
GRANULAR_SCOPES = ("openid", "profile", "email", "offline_access", "accounting.invoices", "accounting.payments",
                   "accounting.banktransactions", "accounting.contacts", "accounting.settings.read",
                   "accounting.reports.aged.read")
ACCESS_TOKEN_SECONDS = 1800
REFRESH_TOKEN_LIFETIME = timedelta(days=60)
MAX_KEY_LENGTH = 128  # Idempotency-Key, characters
MAX_PAGES = 10_000

# Xero's organisation time zones are Windows zone ids; the common ones, for dunning calendars.
TIME_ZONES = {
    "NEWZEALANDSTANDARDTIME": "Pacific/Auckland", "AUSEASTERNSTANDARDTIME": "Australia/Sydney",
    "EASTAUSTRALIASTANDARDTIME": "Australia/Brisbane", "CENAUSTRALIASTANDARDTIME": "Australia/Adelaide",
    "WAUSTRALIASTANDARDTIME": "Australia/Perth", "GMTSTANDARDTIME": "Europe/London",
    "EASTERNSTANDARDTIME": "America/New_York", "CENTRALSTANDARDTIME": "America/Chicago",
    "MOUNTAINSTANDARDTIME": "America/Denver", "PACIFICSTANDARDTIME": "America/Los_Angeles",
    "SOUTHAFRICASTANDARDTIME": "Africa/Johannesburg", "SINGAPORESTANDARDTIME": "Asia/Singapore",
    "WEUROPESTANDARDTIME": "Europe/Berlin", "ROMANCESTANDARDTIME": "Europe/Paris", "UTC": "UTC",
}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_IDENTITY = urllib3.PoolManager(num_pools=2, retries=False)

T = TypeVar("T")


# --- OAuth 2.0: the authorization-code flow and tokens ----------------------------------------------------


def authorization_url(client_id: str, redirect_uri: str, state: str, *, scopes: tuple[str, ...] = BROAD_SCOPES,
                      login_base: str = LOGIN_BASE, code_challenge: str | None = None) -> str:
    """Where to send the person who connects Xero (step 1 of the authorization-code flow)."""
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "scope": " ".join(scopes), "state": state}
    if code_challenge:
        params.update(code_challenge=code_challenge, code_challenge_method="S256")
    return f"{login_base.rstrip('/')}/identity/connect/authorize?{urlencode(params)}"


def pkce_pair() -> tuple[str, str]:
    """A PKCE (verifier, S256 challenge) pair, for apps that keep no client secret."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def tokens_from_response(response: dict[str, Any], tenant: str, tenant_ids: list[str] | None = None, *,
                         now: datetime | None = None, previous: OAuthTokens | None = None) -> OAuthTokens:
    """OAuthTokens for one tenant from a /connect/token answer. Xero's tokens belong to the grant, not the
    tenant: `tenant_ids` lists every tenant the grant covers, so a refresh can save the rotated token for all."""
    moment = now or datetime.now(UTC)
    refresh = response.get("refresh_token") or (previous.refresh_token if previous else "")
    extra = dict(previous.extra) if previous else {}
    extra["scope"] = response.get("scope") or extra.get("scope", "")
    extra["tenant_ids"] = list(tenant_ids or extra.get("tenant_ids") or [tenant])
    if not response.get("refresh_token") and previous is None:
        extra["grant"] = "client_credentials"  # custom connections: no refresh token, ask again instead
    return OAuthTokens(
        access_token=str(response["access_token"]),
        refresh_token=str(refresh),
        expires_at=moment + timedelta(seconds=int(response.get("expires_in") or ACCESS_TOKEN_SECONDS)),
        refresh_expires_at=moment + REFRESH_TOKEN_LIFETIME if response.get("refresh_token")
        else (previous.refresh_expires_at if previous else None),
        tenant=tenant,
        extra=extra,
    )


def _identity_post(url: str, form: dict[str, str], *, timeout: float, tenant: str,
                   basic: tuple[str, str] | None = None) -> dict[str, Any]:
    """POST a form to Xero identity; the answer's JSON, or the failure mapped to our errors."""
    headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
    if basic is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
    try:
        response = _IDENTITY.request("POST", url, body=urlencode(form), headers=headers,
                                     timeout=urllib3.Timeout(connect=timeout, read=timeout), retries=False)
    except urllib3.exceptions.HTTPError as error:
        raise RetryableLedgerError(f"Xero identity ({url}) unreachable: {type(error).__name__}: {error}") from error
    try:
        body = json.loads(response.data or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status == 200:
        return body
    code = str(body.get("error") or "")
    if code == "invalid_grant":
        raise ReconsentRequired(LEDGER, tenant, "Xero refused the refresh token or code (invalid_grant)")
    if response.status == 429:
        raise RateLimited("Xero identity rate limit", retry_after_seconds=_retry_after(response.headers))
    if response.status >= 500:
        raise RetryableLedgerError(f"Xero identity answered HTTP {response.status}")
    raise PermanentLedgerError(f"Xero identity refused the token request: HTTP {response.status} {code or body}")


def exchange_code(code: str, redirect_uri: str, client_id: str, client_secret: str | None = None, *,
                  code_verifier: str | None = None, identity_base: str = IDENTITY_BASE,
                  timeout: float = 30) -> dict[str, Any]:
    """Step 2: the code from the redirect for tokens. A web app authenticates with its secret (Basic auth); a
    PKCE app without one sends its client id; the verifier goes along whenever the flow began with a challenge."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        form["code_verifier"] = code_verifier
    basic = (client_id, client_secret) if client_secret else None
    if basic is None:
        form["client_id"] = client_id
    return _identity_post(f"{identity_base.rstrip('/')}/connect/token", form, timeout=timeout,
                          tenant="(new connection)", basic=basic)


class _Bearer(OAuth2Token):
    """xero-python's token hook, made stateless: the adapter owns refresh, rotation and persistence, so the
    SDK's own refresh (which would bypass the TokenStore) never runs and threads share nothing mutable."""

    def __init__(self, access_token: Callable[[], str]) -> None:
        super().__init__()
        self._access_token = access_token

    def create_auth_settings(self, api_client: Any) -> dict[str, str]:
        return {"type": "oauth2", "in": "header", "key": "Authorization", "value": f"Bearer {self._access_token()}"}


def _sdk_client(access_token: Callable[[], str]) -> ApiClient:
    configuration = Configuration()  # a copy of xero-python's process-wide default: give it its own token hook
    configuration.oauth2_token = _Bearer(access_token)
    client = ApiClient(configuration, pool_threads=1)
    # Temporal owns retrying: urllib3's default Retry (3 tries, sleeping Retry-After on 429/503 for GET and PUT)
    # would hide rate limits and multiply calls against Xero's per-minute budget.
    client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    return client


def list_connections(access_token: str, *, connections_base: str = CONNECTIONS_BASE,
                     timeout: float = 30) -> list[dict[str, Any]]:
    """The tenants (organisations) a fresh grant may use: GET /connections."""
    client = _sdk_client(lambda: access_token)
    try:
        connections = IdentityApi(client, base_url=connections_base.rstrip("/")).get_connections(
            _request_timeout=(timeout, timeout))
    except HTTPStatusException as error:
        raise PermanentLedgerError(f"Xero refused GET /connections: HTTP {error.status}") from error
    except urllib3.exceptions.HTTPError as error:
        raise RetryableLedgerError(f"Xero /connections unreachable: {error}") from error
    return [{"id": str(c.id), "tenant_id": str(c.tenant_id), "tenant_type": c.tenant_type,
             "tenant_name": c.tenant_name} for c in connections or []]


def connect(code: str, redirect_uri: str, client_id: str, client_secret: str | None, token_store: TokenStore, *,
            code_verifier: str | None = None, identity_base: str = IDENTITY_BASE,
            connections_base: str = CONNECTIONS_BASE, timeout: float = 30) -> list[str]:
    """Finish a consent: exchange the code, list the organisations it covers, store tokens for each.
    Returns the tenant ids now connected."""
    response = exchange_code(code, redirect_uri, client_id, client_secret, code_verifier=code_verifier,
                             identity_base=identity_base, timeout=timeout)
    tenants = [c["tenant_id"] for c in list_connections(response["access_token"], connections_base=connections_base,
                                                        timeout=timeout) if c["tenant_type"] == "ORGANISATION"]
    for tenant in tenants:
        token_store.save(LEDGER, tokens_from_response(response, tenant, tenants))
    return tenants


# --- small conversions ------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value.value if isinstance(value, Enum) else value)


def _dec(value: Any) -> Decimal:
    if value is None:
        return Decimal("0")
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _cents(value: Any) -> Decimal:
    """Money as Xero keeps it: two decimals, however the JSON number was written (300, 300.0, 300.00)."""
    return _dec(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _day(value: Any) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def _validation_messages(body: Any) -> list[str]:
    """Xero's messages from an error body: each element's ValidationErrors, else Message / Detail."""
    try:
        data = json.loads(body) if isinstance(body, bytes | str) else body
    except ValueError:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        return [text.strip()[:500]] if text.strip() else []
    if not isinstance(data, dict):
        return []
    messages: list[str] = []
    for element in data.get("Elements") or []:
        for problem in (element or {}).get("ValidationErrors") or []:
            message = str((problem or {}).get("Message") or "").strip()
            if message and message not in messages:
                messages.append(message)
    if not messages:
        for key in ("Message", "Detail", "Title", "error"):
            if data.get(key):
                messages.append(str(data[key]))
                break
    return messages


def _idempotency_key(key: str, step: str | None = None) -> str:
    """The header value for one write: the caller's key (plus the step of a multi-request write); hashed when
    Xero's 128-character limit or ASCII-only headers would refuse it."""
    if not key or not key.strip():
        raise PermanentLedgerError("a Xero write needs an idempotency key")
    full = f"{key}:{step}" if step else key
    if len(full) <= MAX_KEY_LENGTH and full.isascii():
        return full
    return "dc-" + hashlib.sha256(full.encode()).hexdigest()


def _guid(value: str, what: str) -> str:
    if not _GUID.match(value or ""):
        raise NotFound(f"{what} {value!r} is not a Xero id (a GUID)")
    return value.lower()


def _where_date(value: date) -> str:
    return f"DateTime({value.year},{value.month:02d},{value.day:02d})"


def _currency(code: str) -> XCurrencyCode:
    try:
        return XCurrencyCode(code.strip().upper())
    except ValueError:
        raise PermanentLedgerError(f"currency {code!r} is not an ISO 4217 code Xero knows") from None


def _check_lines(lines: list[InvoiceLine], what: str) -> None:
    if not lines:
        raise PermanentLedgerError(f"{what} needs at least one line")
    for position, line in enumerate(lines, start=1):
        expected = (line.quantity * line.unit_price).quantize(CENT, rounding=ROUND_HALF_UP)
        if line.amount != line.amount.quantize(CENT) or expected != line.amount:
            raise PermanentLedgerError(
                f"{what} line {position} ({line.description!r}): amount {line.amount} is not quantity "
                f"{line.quantity} x unit price {line.unit_price} = {expected}")


INVOICE_STATUSES = {"DRAFT": InvoiceStatus.DRAFT, "SUBMITTED": InvoiceStatus.DRAFT, "PAID": InvoiceStatus.PAID,
                    "VOIDED": InvoiceStatus.VOID, "DELETED": InvoiceStatus.VOID}
QUOTE_STATUSES = {"DRAFT": EstimateStatus.PENDING, "SENT": EstimateStatus.PENDING,
                  "ACCEPTED": EstimateStatus.ACCEPTED, "DECLINED": EstimateStatus.REJECTED,
                  "INVOICED": EstimateStatus.CLOSED, "DELETED": EstimateStatus.CLOSED}
CREDIT_STATUSES = {"DRAFT": "draft", "SUBMITTED": "draft", "AUTHORISED": "open", "PAID": "applied",
                   "VOIDED": "void", "DELETED": "void"}
NOTE_RESOURCES = {"Invoice": "create_invoice_history", "Customer": "create_contact_history",
                  "Payment": "create_payment_history", "BankLine": "create_bank_transaction_history_record",
                  "Estimate": "create_quote_history", "CreditNote": "create_credit_note_history"}


def _buckets(row: AgingRow, days_late: int, amount: Decimal) -> None:
    if days_late <= 0:
        row.current += amount
    elif days_late <= 30:
        row.days_1_30 += amount
    elif days_late <= 60:
        row.days_31_60 += amount
    elif days_late <= 90:
        row.days_61_90 += amount
    else:
        row.days_91_plus += amount


# --- the adapter -------------------------------------------------------------------------------------------


class XeroLedger:
    """One Xero organisation (tenant) behind `LedgerPort`. Thread-safe: a worker's activities share it."""

    ledger = LEDGER

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        token_store: TokenStore,
        *,
        api_base: str = API_BASE,
        identity_base: str = IDENTITY_BASE,
        rate_limiter: RateLimiter | None = None,
        timeout: float = 30,
        sales_account_code: str = "200",
        bank_account_code: str = "090",
        line_amount_types: str = "Inclusive",
        page_size: int = 100,
        refresh_margin_seconds: float = 300,
        change_overlap_seconds: float = 60,
        aging_contact_limit: int = 25,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenant = tenant_id
        self._client_id = client_id
        self._client_secret = client_secret
        self._store = token_store
        self._identity_base = identity_base.rstrip("/")
        # Xero's published limits per tenant: 60 calls a minute, 5 at once, 5,000 a day.
        self._limiter = rate_limiter or RateLimiter(per_minute=60, concurrent=5, per_day=5000)
        self._timeout = timeout
        self._timeouts = (timeout, timeout)
        self._sales_account = sales_account_code
        self._bank_account = bank_account_code
        self._amount_types = XLineAmountTypes(line_amount_types)
        self._page_size = page_size
        self._refresh_margin = refresh_margin_seconds
        self._overlap = timedelta(seconds=change_overlap_seconds)
        self._aging_contact_limit = aging_contact_limit
        self._clock = clock or (lambda: datetime.now(UTC))
        self._token_lock = threading.Lock()
        self._tokens: OAuthTokens | None = None
        self._organisation: tuple[str, str, str] | None = None
        self._client = _sdk_client(lambda: self._valid_tokens().access_token)
        self._api = AccountingApi(self._client, base_url=api_base.rstrip("/"))

    def close(self) -> None:
        self._client.rest_client.pool_manager.clear()

    # --- tokens ------------------------------------------------------------------------------------

    def _valid_tokens(self) -> OAuthTokens:
        """The access token to use now: refreshed `refresh_margin_seconds` before it expires (30-minute tokens),
        the rotated refresh token saved before the new access token is used."""
        with self._token_lock:
            tokens = self._tokens
            if tokens is None or tokens.expires_within(self._refresh_margin, self._clock()):
                stored = self._store.load(LEDGER, self.tenant)
                if stored is None:
                    raise ReconsentRequired(LEDGER, self.tenant, "no Xero tokens are stored for this organisation")
                # Another worker may have refreshed already: its tokens are in the store.
                tokens = stored if not stored.expires_within(self._refresh_margin, self._clock()) else self._refresh(
                    stored)
                self._tokens = tokens
            return tokens

    def _after_unauthorised(self, rejected: str) -> None:
        """A 401: the access token was revoked or rotated elsewhere. Take a newer one, or refresh."""
        with self._token_lock:
            if self._tokens is not None and self._tokens.access_token != rejected:
                return
            stored = self._store.load(LEDGER, self.tenant)
            if stored is not None and stored.access_token != rejected and not stored.expires_within(
                    self._refresh_margin, self._clock()):
                self._tokens = stored
                return
            base = stored or self._tokens
            if base is None:
                raise ReconsentRequired(LEDGER, self.tenant, "no Xero tokens are stored for this organisation")
            self._tokens = self._refresh(base)

    def _refresh(self, tokens: OAuthTokens) -> OAuthTokens:
        url = f"{self._identity_base}/connect/token"
        if tokens.extra.get("grant") == "client_credentials":
            form = {"grant_type": "client_credentials"}
            answer = _identity_post(url, form, timeout=self._timeout, tenant=self.tenant,
                                    basic=(self._client_id, self._client_secret))
        else:
            # As xero-python sends it: the client in the form body, with the scope granted.
            form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token,
                    "client_id": self._client_id, "client_secret": self._client_secret}
            if tokens.extra.get("scope"):
                form["scope"] = str(tokens.extra["scope"])
            answer = _identity_post(url, form, timeout=self._timeout, tenant=self.tenant)
        fresh = tokens_from_response(answer, self.tenant, now=self._clock(), previous=tokens)
        # The refresh token rotated: persist it at once, for every tenant the grant covers, or lose the connection.
        for tenant in fresh.extra.get("tenant_ids") or [self.tenant]:
            self._store.save(LEDGER, fresh.model_copy(update={"tenant": tenant}))
        log.info("Xero access token refreshed for tenant %s", self.tenant)
        return fresh

    # --- one call ----------------------------------------------------------------------------------

    def _call(self, what: str, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One Accounting API call: inside the rate limiter, with a valid token, errors mapped once."""
        for attempt in (1, 2):
            used = self._valid_tokens().access_token
            with self._limiter.slot():
                try:
                    return method(self.tenant, *args, _request_timeout=self._timeouts, **kwargs)
                except HTTPStatusException as error:
                    # Not `error.status`: on a 400 xero-python reads it from the JSON body, which may not be JSON.
                    if getattr(error.http_resp, "status", None) != 401 or attempt == 2:
                        raise self._translate(error, what) from error
                except urllib3.exceptions.HTTPError as error:
                    raise RetryableLedgerError(f"Xero {what}: {type(error).__name__}: {error}") from error
                except (ValueError, TypeError) as error:
                    # xero-python validates enums and dates while it reads: an answer we cannot map.
                    raise PermanentLedgerError(f"Xero {what}: unreadable response ({error})") from error
            self._after_unauthorised(used)
        raise AssertionError("unreachable")

    def _translate(self, error: HTTPStatusException, what: str) -> Exception:
        status = int(getattr(error.http_resp, "status", 0) or 0)
        headers = error.headers
        messages = _validation_messages(error.body)
        detail = "; ".join(messages) or f"HTTP {status}"
        if status == 429:
            problem = headers.get("X-Rate-Limit-Problem") if headers is not None else None
            retry = _retry_after(headers)
            return RateLimited(f"Xero {what}: rate limit ({problem or 'unknown'}) exceeded; retry after {retry}s",
                               retry_after_seconds=retry)
        if status == 404:
            return NotFound(f"Xero {what}: not found")
        if status == 400:
            return PermanentLedgerError(f"Xero refused {what}: {detail}")
        if status in (401, 403):
            return ReconsentRequired(LEDGER, self.tenant, f"Xero answered {what} with HTTP {status}: {detail}")
        if status == 503 and _retry_after(headers) is not None:
            return RateLimited(f"Xero {what}: unavailable (HTTP 503)", retry_after_seconds=_retry_after(headers))
        if status >= 500 or status in (408, 0):
            return RetryableLedgerError(f"Xero {what}: HTTP {status}: {detail}")
        return PermanentLedgerError(f"Xero {what}: HTTP {status}: {detail}")

    def _pages(self, what: str, method: Callable[..., Any], items: Callable[[Any], Any], *, sized: bool = True,
               **query: Any) -> Iterator[Any]:
        """Every item of a paged listing: 1-based pages until `pagination.pageCount` (when Xero gives it) or a
        short page. Quotes take no pageSize: their pages hold 100."""
        size = self._page_size if sized else 100
        for page in range(1, MAX_PAGES + 1):
            paging = {"page": page, "page_size": size} if sized else {"page": page}
            response = self._call(f"{what} (page {page})", method, **query, **paging)
            batch = list(items(response) or [])
            yield from batch
            pagination = getattr(response, "pagination", None)
            count = getattr(pagination, "page_count", None) if pagination is not None else None
            if not batch or (page >= count if count is not None else len(batch) < size):
                return
        raise RetryableLedgerError(f"Xero {what}: more than {MAX_PAGES} pages")

    def _org(self) -> tuple[str, str, str]:
        """(base currency, country code, IANA time zone) of the organisation, read once."""
        if self._organisation is None:
            found = self._call("reading the organisation", self._api.get_organisations).organisations or []
            if not found:
                raise RetryableLedgerError("Xero returned no organisation")
            org = found[0]
            self._organisation = (_text(org.base_currency) or "USD", _text(org.country_code) or "US",
                                  TIME_ZONES.get(_text(org.timezone).upper(), "UTC"))
        return self._organisation

    # --- mapping -----------------------------------------------------------------------------------

    def _customer(self, contact: Any) -> Customer:
        base, country, zone = self._org()
        terms = 30
        sales = getattr(getattr(contact, "payment_terms", None), "sales", None)
        if sales is not None and _text(sales.type) == "DAYSAFTERBILLDATE" and sales.day is not None:
            terms = int(sales.day)
        alternates = [p.email_address for p in contact.contact_persons or []
                      if p.email_address and p.include_in_emails and p.email_address != contact.email_address]
        return Customer(id=contact.contact_id, name=contact.name, email=contact.email_address or None,
                        alternate_emails=alternates, currency=_text(contact.default_currency) or base,
                        terms_days=terms, time_zone=zone, country=country if len(country) == 2 else "US")

    def _invoice(self, invoice: Any) -> Invoice:
        currency = _text(invoice.currency_code) or self._org()[0]
        status = _text(invoice.status)
        total, due = _cents(invoice.total), _cents(invoice.amount_due)
        settled = _cents(invoice.amount_paid) + _cents(invoice.amount_credited)
        if status == "AUTHORISED":
            mapped = InvoiceStatus.PARTIALLY_PAID if settled > 0 else InvoiceStatus.OPEN
            if due <= 0 and total > 0:
                mapped = InvoiceStatus.PAID
        else:
            mapped = INVOICE_STATUSES.get(status, InvoiceStatus.DRAFT)
        balance = Decimal("0.00") if mapped == InvoiceStatus.VOID else due
        contact = invoice.contact
        issued = _day(invoice.date)
        if issued is None:
            raise PermanentLedgerError(f"Xero invoice {invoice.invoice_id} has no date")
        return Invoice(
            id=invoice.invoice_id, number=invoice.invoice_number or "", customer_id=contact.contact_id,
            customer_name=contact.name or "", currency=currency,
            lines=[InvoiceLine(description=line.description or "", quantity=_dec(line.quantity or 1),
                               unit_price=_dec(line.unit_amount), amount=_cents(line.line_amount))
                   for line in invoice.line_items or []],
            total=Money(amount=total, currency=currency), balance=Money(amount=balance, currency=currency),
            issue_date=issued, due_date=_day(invoice.due_date) or issued, status=mapped,
            email=getattr(contact, "email_address", None) or None, updated_at=_utc(invoice.updated_date_utc))

    def _estimate(self, quote: Any) -> Estimate:
        currency = _text(quote.currency_code) or self._org()[0]
        return Estimate(
            id=quote.quote_id, number=quote.quote_number or "", customer_id=quote.contact.contact_id,
            currency=currency,
            lines=[InvoiceLine(description=line.description or "", quantity=_dec(line.quantity or 1),
                               unit_price=_dec(line.unit_amount), amount=_cents(line.line_amount))
                   for line in quote.line_items or []],
            total=Money(amount=_cents(quote.total), currency=currency),
            status=QUOTE_STATUSES.get(_text(quote.status), EstimateStatus.PENDING), issue_date=_day(quote.date))

    def _bank_line(self, txn: Any) -> BankLine:
        currency = _text(txn.currency_code) or self._org()[0]
        status = _text(txn.status)
        if status != "AUTHORISED":
            mapped = BankLineStatus.IGNORED
        else:
            mapped = BankLineStatus.MATCHED if txn.is_reconciled else BankLineStatus.UNMATCHED
        return BankLine(id=txn.bank_transaction_id, date=_day(txn.date),
                        amount=Money(amount=_cents(txn.total), currency=currency),
                        payer_name=(txn.contact.name if txn.contact else "") or "", reference=txn.reference or "",
                        status=mapped)

    def _credit_note(self, note: Any, invoice_hint: str | None = None) -> CreditNote:
        currency = _text(note.currency_code) or self._org()[0]
        allocations = [a for a in note.allocations or [] if a.invoice is not None]
        return CreditNote(
            id=note.credit_note_id, number=note.credit_note_number or "", customer_id=note.contact.contact_id,
            total=Money(amount=_cents(note.total), currency=currency),
            remaining=Money(amount=_cents(note.remaining_credit), currency=currency),
            status=CREDIT_STATUSES.get(_text(note.status), _text(note.status).lower()),
            invoice_id=allocations[0].invoice.invoice_id if allocations else invoice_hint)

    def _line_items(self, lines: list[InvoiceLine]) -> list[Any]:
        return [XLineItem(description=line.description, quantity=line.quantity, unit_amount=line.unit_price,
                          account_code=self._sales_account) for line in lines]

    # --- LedgerPort: customers ---------------------------------------------------------------------

    def get_customer(self, customer_id: str) -> Customer:
        contacts = self._call(f"reading contact {customer_id}", self._api.get_contact, customer_id).contacts or []
        if not contacts:
            raise NotFound(f"Xero has no contact {customer_id}")
        return self._customer(contacts[0])

    def list_customers(self) -> list[Customer]:
        contacts = self._pages("listing contacts", self._api.get_contacts, lambda r: r.contacts,
                               where='ContactStatus=="ACTIVE"', order="Name ASC")
        # Suppliers that never bought anything are not customers.
        return [self._customer(c) for c in contacts if not (c.is_supplier and not c.is_customer)]

    def create_customer(self, draft: CustomerDraft, idempotency_key: str) -> Customer:
        contact = XContact(name=draft.name, email_address=draft.email, default_currency=_currency(draft.currency),
                           payment_terms=XPaymentTerm(sales=XBill(day=draft.terms_days,
                                                                  type=XPaymentTermType.DAYSAFTERBILLDATE)))
        created = self._call(f"creating contact {draft.name!r}", self._api.create_contacts,
                             XContacts(contacts=[contact]), idempotency_key=_idempotency_key(idempotency_key))
        return self._customer(created.contacts[0])

    # --- LedgerPort: invoices ----------------------------------------------------------------------

    def _raw_invoice(self, invoice_id: str) -> Any:
        invoices = self._call(f"reading invoice {invoice_id}", self._api.get_invoice, invoice_id, unitdp=4).invoices
        if not invoices or _text(invoices[0].type) != "ACCREC":
            raise NotFound(f"Xero has no sales invoice {invoice_id}")
        return invoices[0]

    def get_invoice(self, invoice_id: str) -> Invoice:
        return self._invoice(self._raw_invoice(invoice_id))

    def list_open_invoices(self, customer_id: str | None = None) -> list[Invoice]:
        query: dict[str, Any] = {"where": 'Type=="ACCREC" AND AmountDue>0', "statuses": ["AUTHORISED"],
                                 "order": "DueDate ASC", "unitdp": 4}
        if customer_id is not None:
            query["contact_i_ds"] = [_guid(customer_id, "customer")]
        invoices = self._pages("listing open invoices", self._api.get_invoices, lambda r: r.invoices, **query)
        return [self._invoice(invoice) for invoice in invoices]

    def create_invoice(self, draft: InvoiceDraft, idempotency_key: str) -> Invoice:
        _check_lines(draft.lines, "an invoice")
        if draft.due_date < draft.issue_date:
            raise PermanentLedgerError(f"due date {draft.due_date} is before the issue date {draft.issue_date}")
        quote = None
        if draft.estimate_id is not None:
            quotes = self._call(f"reading quote {draft.estimate_id}", self._api.get_quote, draft.estimate_id).quotes
            if not quotes:
                raise NotFound(f"Xero has no quote {draft.estimate_id}")
            quote = quotes[0]
        invoice = XInvoice(type="ACCREC", contact=XContact(contact_id=draft.customer_id), date=draft.issue_date,
                           due_date=draft.due_date, line_items=self._line_items(draft.lines),
                           line_amount_types=self._amount_types, currency_code=_currency(draft.currency),
                           status="AUTHORISED", invoice_number=draft.number,
                           reference=quote.quote_number if quote is not None else None)
        created = self._call(f"creating an invoice for {draft.customer_id}", self._api.create_invoices,
                             XInvoices(invoices=[invoice]), unitdp=4,
                             idempotency_key=_idempotency_key(idempotency_key))
        if quote is not None and _text(quote.status) == "ACCEPTED":
            # Invoicing an accepted quote closes it, as Xero's own "Create invoice" does.
            update = XQuote(contact=XContact(contact_id=quote.contact.contact_id), date=quote.date,
                            status=XQuoteStatusCodes.INVOICED)
            self._call(f"marking quote {quote.quote_number} invoiced", self._api.update_quote, quote.quote_id,
                       XQuotes(quotes=[update]), idempotency_key=_idempotency_key(idempotency_key, "quote-invoiced"))
        return self._invoice(created.invoices[0])

    def void_invoice(self, invoice_id: str, idempotency_key: str) -> Invoice:
        current = self._raw_invoice(invoice_id)
        status = _text(current.status)
        if status in ("VOIDED", "DELETED"):
            return self._invoice(current)
        # Xero voids AUTHORISED invoices and deletes DRAFT / SUBMITTED ones; both leave nothing owed.
        target = "DELETED" if status in ("DRAFT", "SUBMITTED") else "VOIDED"
        updated = self._call(f"voiding invoice {current.invoice_number}", self._api.update_invoice, invoice_id,
                             XInvoices(invoices=[XInvoice(invoice_id=invoice_id, status=target)]), unitdp=4,
                             idempotency_key=_idempotency_key(idempotency_key))
        return self._invoice(updated.invoices[0])

    def send_invoice(self, invoice_id: str, idempotency_key: str) -> bool:
        """Xero mails the invoice itself (POST /Invoices/{id}/Email, 204) to the contact's address."""
        self._call(f"emailing invoice {invoice_id}", self._api.email_invoice, invoice_id, XRequestEmpty(),
                   idempotency_key=_idempotency_key(idempotency_key))
        return True

    # --- LedgerPort: estimates ---------------------------------------------------------------------

    def get_estimate(self, estimate_id: str) -> Estimate:
        quotes = self._call(f"reading quote {estimate_id}", self._api.get_quote, estimate_id).quotes
        if not quotes:
            raise NotFound(f"Xero has no quote {estimate_id}")
        return self._estimate(quotes[0])

    def list_estimates(self, status: EstimateStatus | None = None) -> list[Estimate]:
        wanted = [None] if status is None else [s for s, mapped in QUOTE_STATUSES.items() if mapped == status]
        estimates: list[Estimate] = []
        for xero_status in wanted:
            query = {} if xero_status is None else {"status": xero_status}
            for quote in self._pages("listing quotes", self._api.get_quotes, lambda r: r.quotes, sized=False,
                                     order="Date ASC", **query):
                estimates.append(self._estimate(quote))
        return estimates

    # --- LedgerPort: payments and bank lines -------------------------------------------------------

    def record_payment(self, request: PaymentRequest, idempotency_key: str) -> Payment:
        """One allocation: a Payment; several: a BatchPayment (one bank line, as the customer paid); money left
        over: a RECEIVE-OVERPAYMENT bank transaction the customer can be credited from later."""
        currency = request.amount.currency
        if request.amount.amount <= 0 or request.amount.amount != request.amount.amount.quantize(CENT):
            raise PermanentLedgerError(f"a payment must be a positive amount in cents, got {request.amount}")
        per_invoice: dict[str, Decimal] = {}
        for allocation in request.allocations:
            if allocation.amount.currency != currency:
                raise PermanentLedgerError(f"allocation to {allocation.invoice_id} is in {allocation.amount.currency}, "
                                           f"the payment in {currency}")
            if allocation.amount.amount <= 0 or allocation.amount.amount != allocation.amount.amount.quantize(CENT):
                raise PermanentLedgerError(f"allocation to {allocation.invoice_id} must be a positive amount in "
                                           f"cents, got {allocation.amount}")
            per_invoice[allocation.invoice_id] = per_invoice.get(allocation.invoice_id, Decimal("0")) + \
                allocation.amount.amount
        applied = sum(per_invoice.values(), Decimal("0"))
        if applied > request.amount.amount:
            raise PermanentLedgerError(f"allocations total {Money(amount=applied, currency=currency)} exceed the "
                                       f"payment {request.amount}")
        bank_account = self._bank_account
        if request.bank_line_id is not None:
            line = self._raw_bank_transaction(request.bank_line_id)
            if _text(line.status) != "AUTHORISED":
                raise PermanentLedgerError(f"bank line {request.bank_line_id} is {_text(line.status)}")
            line_currency = _text(line.currency_code) or self._org()[0]
            if line_currency != currency:
                raise PermanentLedgerError(f"bank line {request.bank_line_id} is in {line_currency}, the payment in "
                                           f"{currency}")
            if request.amount.amount > _cents(line.total):
                raise PermanentLedgerError(f"payment {request.amount} exceeds the deposit {_cents(line.total)} of bank "
                                           f"line {request.bank_line_id}")
            bank_account = line.bank_account.code or bank_account
        account = XAccount(code=bank_account)
        reference = request.reference or None
        payment_id: str | None = None
        if len(per_invoice) == 1:
            (invoice_id, amount), = per_invoice.items()
            created = self._call(f"recording a payment of {amount} on invoice {invoice_id}", self._api.create_payments,
                                 XPayments(payments=[XPayment(invoice=XInvoice(invoice_id=invoice_id), account=account,
                                                              date=request.date, amount=amount,
                                                              reference=reference)]),
                                 idempotency_key=_idempotency_key(idempotency_key))
            payment_id = created.payments[0].payment_id
        elif per_invoice:
            batch = XBatchPayment(account=account, date=request.date, reference=reference,
                                  payments=[XPayment(invoice=XInvoice(invoice_id=i), amount=a)
                                            for i, a in per_invoice.items()])
            created = self._call(f"recording a batch payment of {applied} on {len(per_invoice)} invoices",
                                 self._api.create_batch_payment, XBatchPayments(batch_payments=[batch]),
                                 idempotency_key=_idempotency_key(idempotency_key))
            payment_id = created.batch_payments[0].batch_payment_id
        unapplied = request.amount.amount - applied
        if unapplied > 0:
            over = XBankTransaction(type="RECEIVE-OVERPAYMENT", contact=XContact(contact_id=request.customer_id),
                                    bank_account=account, date=request.date, reference=reference,
                                    line_amount_types=XLineAmountTypes.NOTAX, currency_code=_currency(currency),
                                    line_items=[XLineItem(description=f"Unapplied payment {request.reference}".strip(),
                                                          line_amount=unapplied)])
            created = self._call(f"recording {unapplied} unapplied as an overpayment",
                                 self._api.create_bank_transactions, XBankTransactions(bank_transactions=[over]),
                                 idempotency_key=_idempotency_key(idempotency_key, "overpayment"))
            txn = created.bank_transactions[0]
            payment_id = payment_id or txn.overpayment_id or txn.bank_transaction_id
        assert payment_id is not None
        if request.bank_line_id is not None:
            self._note("BankLine", request.bank_line_id, f"duecourse: applied as payment {payment_id}",
                       _idempotency_key(idempotency_key, "bank-line-note"))
        return Payment(id=payment_id, customer_id=request.customer_id, date=request.date, amount=request.amount,
                       allocations=[Allocation(invoice_id=i, amount=Money(amount=a, currency=currency))
                                    for i, a in per_invoice.items()],
                       unapplied=Money(amount=unapplied, currency=currency), reference=request.reference)

    def list_payments(self, invoice_id: str | None = None) -> list[Payment]:
        where = 'Status=="AUTHORISED" AND PaymentType=="ACCRECPAYMENT"'
        if invoice_id is not None:
            where += f' AND Invoice.InvoiceID==Guid("{_guid(invoice_id, "invoice")}")'
        found = list(self._pages("listing payments", self._api.get_payments, lambda r: r.payments, where=where,
                                 order="Date ASC"))
        return self._payments(found, whole_batches=invoice_id is not None)

    def _payments(self, found: list[Any], *, whole_batches: bool) -> list[Payment]:
        """Xero payments as ours: one per Payment, one per BatchPayment (its payments are its allocations)."""
        facts = self._invoice_facts([p.invoice.invoice_id for p in found
                                     if p.invoice.contact is None or p.invoice.currency_code is None])
        payments: list[Payment] = []
        batches: dict[str, list[Any]] = {}
        for payment in found:
            if payment.batch_payment_id:
                batches.setdefault(payment.batch_payment_id, []).append(payment)
                continue
            customer_id, currency = self._payer(payment, facts)
            amount = Money(amount=_cents(payment.amount), currency=currency)
            payments.append(Payment(id=payment.payment_id, customer_id=customer_id, date=_day(payment.date),
                                    amount=amount,
                                    allocations=[Allocation(invoice_id=payment.invoice.invoice_id, amount=amount)],
                                    unapplied=Money.zero(currency), reference=payment.reference or ""))
        for batch_id, members in batches.items():
            if whole_batches:
                # Filtered by invoice, the listing shows only this invoice's share: read the whole batch.
                full = self._call(f"reading batch payment {batch_id}", self._api.get_batch_payment, batch_id)
                batch = full.batch_payments[0]
                parts = [(p.invoice.invoice_id, _cents(p.amount)) for p in batch.payments or []]
                reference = batch.reference or ""
            else:
                parts = [(p.invoice.invoice_id, _cents(p.amount)) for p in members]
                reference = members[0].reference or ""
            customer_id, currency = self._payer(members[0], facts)
            total = sum((a for _, a in parts), Decimal("0"))
            payments.append(Payment(id=batch_id, customer_id=customer_id, date=_day(members[0].date),
                                    amount=Money(amount=total, currency=currency),
                                    allocations=[Allocation(invoice_id=i, amount=Money(amount=a, currency=currency))
                                                 for i, a in parts],
                                    unapplied=Money.zero(currency), reference=reference))
        return sorted(payments, key=lambda p: p.date)

    def _payer(self, payment: Any, facts: dict[str, tuple[str, str]]) -> tuple[str, str]:
        """(customer id, currency) of a payment: from its invoice summary, else from the invoice itself."""
        invoice = payment.invoice
        known = facts.get(invoice.invoice_id)
        customer_id = invoice.contact.contact_id if invoice.contact is not None else (known or ("", ""))[0]
        currency = _text(invoice.currency_code) or (known or ("", ""))[1] or self._org()[0]
        if not customer_id:
            raise NotFound(f"Xero payment {payment.payment_id} names invoice {invoice.invoice_id}, which is not there")
        return customer_id, currency

    def _invoice_facts(self, invoice_ids: list[str]) -> dict[str, tuple[str, str]]:
        """Contact and currency of invoices a payment listing did not describe (the documented Payment sample
        carries only InvoiceID / InvoiceNumber / Type): one IDs= listing per 40 invoices."""
        unique = sorted(set(invoice_ids))
        facts: dict[str, tuple[str, str]] = {}
        for start in range(0, len(unique), 40):
            for invoice in self._pages("reading the invoices of payments", self._api.get_invoices,
                                       lambda r: r.invoices, i_ds=unique[start:start + 40], summary_only=True):
                facts[invoice.invoice_id] = (invoice.contact.contact_id, _text(invoice.currency_code))
        return facts

    def _raw_bank_transaction(self, bank_line_id: str) -> Any:
        found = self._call(f"reading bank transaction {bank_line_id}", self._api.get_bank_transaction,
                           bank_line_id, unitdp=4).bank_transactions
        if not found or _text(found[0].type) != "RECEIVE":
            raise NotFound(f"Xero has no money received with id {bank_line_id}")
        return found[0]

    def get_bank_line(self, bank_line_id: str) -> BankLine:
        return self._bank_line(self._raw_bank_transaction(bank_line_id))

    def list_bank_lines(self, status: BankLineStatus | None = None) -> list[BankLine]:
        where = 'Type=="RECEIVE"'
        if status == BankLineStatus.UNMATCHED:
            where += ' AND Status=="AUTHORISED" AND IsReconciled==false'
        elif status == BankLineStatus.MATCHED:
            where += ' AND Status=="AUTHORISED" AND IsReconciled==true'
        elif status == BankLineStatus.IGNORED:
            where += ' AND Status!="AUTHORISED"'
        lines = self._pages("listing bank transactions", self._api.get_bank_transactions,
                            lambda r: r.bank_transactions, where=where, order="Date ASC")
        return [self._bank_line(txn) for txn in lines]

    # --- LedgerPort: notes -------------------------------------------------------------------------

    def add_note(self, entity: str, entity_id: str, text: str, idempotency_key: str) -> None:
        self._note(entity, entity_id, text, _idempotency_key(idempotency_key))

    def _note(self, entity: str, entity_id: str, text: str, key: str) -> None:
        if entity not in NOTE_RESOURCES:
            raise PermanentLedgerError(f"cannot add a note to {entity!r}: one of {', '.join(NOTE_RESOURCES)} expected")
        if not text.strip():
            raise PermanentLedgerError("a note needs some text")
        records = XHistoryRecords(history_records=[XHistoryRecord(details=text)])
        try:
            self._call(f"adding a note to {entity} {entity_id}", getattr(self._api, NOTE_RESOURCES[entity]),
                       entity_id, records, idempotency_key=key)
        except NotFound:
            if entity != "Payment":
                raise
            # A payment of several invoices is a BatchPayment: its history lives there.
            self._call(f"adding a note to batch payment {entity_id}", self._api.create_batch_payment_history_record,
                       entity_id, records, idempotency_key=key)

    # --- LedgerPort: credit notes ------------------------------------------------------------------

    def create_credit_note(self, draft: CreditNoteDraft, idempotency_key: str) -> CreditNote:
        """An AUTHORISED ACCRECCREDIT note; allocated to `draft.invoice_id` (up to what it still owes)."""
        _check_lines(draft.lines, "a credit note")
        note = XCreditNote(type="ACCRECCREDIT", contact=XContact(contact_id=draft.customer_id), date=draft.issue_date,
                           line_items=self._line_items(draft.lines), line_amount_types=self._amount_types,
                           currency_code=_currency(draft.currency), status="AUTHORISED",
                           reference=draft.reason[:255] or None)
        created = self._call(f"creating a credit note for {draft.customer_id}", self._api.create_credit_notes,
                             XCreditNotes(credit_notes=[note]), unitdp=4,
                             idempotency_key=_idempotency_key(idempotency_key)).credit_notes[0]
        if draft.invoice_id is None:
            return self._credit_note(created)
        # Read both again: a replayed create answers with the credit as it was before its allocation.
        current = self._call(f"reading credit note {created.credit_note_id}", self._api.get_credit_note,
                             created.credit_note_id, unitdp=4).credit_notes[0]
        invoice = self._raw_invoice(draft.invoice_id)
        amount = min(_cents(current.remaining_credit), _cents(invoice.amount_due))
        if amount > 0 and _text(invoice.status) == "AUTHORISED" and _text(current.status) == "AUTHORISED":
            when = max(draft.issue_date, _day(invoice.date) or draft.issue_date)
            allocation = XAllocation(invoice=XInvoice(invoice_id=draft.invoice_id), amount=amount, date=when)
            self._call(f"allocating credit note {current.credit_note_number} to invoice {invoice.invoice_number}",
                       self._api.create_credit_note_allocation, current.credit_note_id,
                       XAllocations(allocations=[allocation]),
                       idempotency_key=_idempotency_key(idempotency_key, "allocation"))
            current = self._call(f"reading credit note {created.credit_note_id}", self._api.get_credit_note,
                                 created.credit_note_id, unitdp=4).credit_notes[0]
        return self._credit_note(current, invoice_hint=draft.invoice_id)

    def list_credit_notes(self, customer_id: str | None = None) -> list[CreditNote]:
        where = 'Type=="ACCRECCREDIT"'
        if customer_id is not None:
            where += f' AND Contact.ContactID==Guid("{_guid(customer_id, "customer")}")'
        notes = self._pages("listing credit notes", self._api.get_credit_notes, lambda r: r.credit_notes,
                            where=where, order="Date ASC", unitdp=4)
        return [self._credit_note(note) for note in notes]

    # --- LedgerPort: polling -----------------------------------------------------------------------

    def changes_since(self, cursor: str | None) -> ChangeBatch:
        """Records whose UpdatedDateUTC is after the cursor (If-Modified-Since), one event per record version.

        The cursor is the ISO UTC time of the newest UpdatedDateUTC seen. Each query asks from
        `change_overlap_seconds` before it, because six listings are not one snapshot (an invoice paid while
        the payments are being listed must not fall between two cursors); event ids are stable per record
        version, so the overlap repeats ids consumers already dedupe, never new work."""
        if cursor is None:
            return ChangeBatch(events=[], cursor=self._clock().astimezone(UTC).isoformat())
        try:
            since = datetime.fromisoformat(cursor)
        except ValueError:
            raise PermanentLedgerError(f"{cursor!r} is not a Xero change cursor (an ISO timestamp)") from None
        since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
        ask_from = (since - self._overlap).replace(microsecond=0)
        newest = since
        events: list[LedgerEvent] = []
        ids: set[str] = set()

        def emit(entity: str, ident: str, updated: datetime | None, operation: EventOperation) -> None:
            nonlocal newest
            stamp = _utc(updated) or since
            newest = max(newest, stamp)
            millis = (stamp - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
            event_id = f"xero:{self.tenant}:{entity}:{ident}:{millis}"
            if event_id not in ids:  # the payments of one batch share their batch's event
                ids.add(event_id)
                events.append(LedgerEvent(ledger=LEDGER, tenant=self.tenant, event_id=event_id, entity=entity,
                                          entity_id=ident, operation=operation, occurred_at=stamp))

        listing: dict[str, Any] = {"if_modified_since": ask_from, "order": "UpdatedDateUTC ASC"}
        for invoice in self._pages("listing changed invoices", self._api.get_invoices, lambda r: r.invoices,
                                   where='Type=="ACCREC"', summary_only=True, **listing):
            status = _text(invoice.status)
            emit("Invoice", invoice.invoice_id, invoice.updated_date_utc,
                 EventOperation.VOID if status in ("VOIDED", "DELETED") else EventOperation.UPDATE)
        for contact in self._pages("listing changed contacts", self._api.get_contacts, lambda r: r.contacts,
                                   include_archived=True, summary_only=True, **listing):
            emit("Customer", contact.contact_id, contact.updated_date_utc, EventOperation.UPDATE)
        for payment in self._pages("listing changed payments", self._api.get_payments, lambda r: r.payments,
                                   where='PaymentType=="ACCRECPAYMENT"', **listing):
            emit("Payment", payment.batch_payment_id or payment.payment_id, payment.updated_date_utc,
                 EventOperation.DELETE if _text(payment.status) == "DELETED" else EventOperation.UPDATE)
        for note in self._pages("listing changed credit notes", self._api.get_credit_notes, lambda r: r.credit_notes,
                                where='Type=="ACCRECCREDIT"', **listing):
            emit("CreditNote", note.credit_note_id, note.updated_date_utc,
                 EventOperation.VOID if _text(note.status) in ("VOIDED", "DELETED") else EventOperation.UPDATE)
        for quote in self._pages("listing changed quotes", self._api.get_quotes, lambda r: r.quotes, sized=False,
                                 **listing):
            emit("Estimate", quote.quote_id, quote.updated_date_utc,
                 EventOperation.DELETE if _text(quote.status) == "DELETED" else EventOperation.UPDATE)
        for txn in self._pages("listing changed bank transactions", self._api.get_bank_transactions,
                               lambda r: r.bank_transactions, where='Type=="RECEIVE"', **listing):
            # Xero says nothing of creation; money still to apply is announced as new, which starts (once,
            # by workflow id) its cash application.
            status = _text(txn.status)
            if status != "AUTHORISED":
                operation = EventOperation.VOID if status == "VOIDED" else EventOperation.DELETE
            else:
                operation = EventOperation.UPDATE if txn.is_reconciled else EventOperation.CREATE
            emit("BankLine", txn.bank_transaction_id, txn.updated_date_utc, operation)
        events.sort(key=lambda e: e.occurred_at)
        return ChangeBatch(events=events, cursor=newest.isoformat())

    # --- LedgerPort: aging -------------------------------------------------------------------------

    def aging_report(self, as_of: date) -> list[AgingRow] | None:
        """Xero's Aged Receivables By Contact, bucketed per customer and currency as of `as_of` (payments after
        it ignored). The report is per contact, so with more than `aging_contact_limit` customers owing money
        this answers None and callers compute the aging from open invoices (cheaper on the 60/min budget)."""
        day = _where_date(as_of)
        where = (f'Type=="ACCREC" AND Date<={day} AND (Status=="AUTHORISED" OR '
                 f'(Status=="PAID" AND FullyPaidOnDate>{day}))')
        invoices = list(self._pages("listing invoices open on the aging date", self._api.get_invoices,
                                    lambda r: r.invoices, where=where, summary_only=True, order="Date ASC"))
        contacts: dict[str, str] = {}
        currencies: dict[str, str] = {}
        for invoice in invoices:
            contacts.setdefault(invoice.contact.contact_id, invoice.contact.name or "")
            currencies[invoice.invoice_id] = _text(invoice.currency_code)
        if len(contacts) > self._aging_contact_limit:
            log.info("Xero aging: %d customers owe money, over the %d-report limit; callers compute it",
                     len(contacts), self._aging_contact_limit)
            return None
        rows: dict[tuple[str, str], AgingRow] = {}
        for contact_id, name in contacts.items():
            report = self._call(f"reading the aged receivables of {name}",
                                self._api.get_report_aged_receivables_by_contact, contact_id=contact_id, date=as_of)
            for invoice_id, due_date, amount in self._aged_lines(report):
                currency = currencies.get(invoice_id or "") or self._org()[0]
                row = rows.setdefault((contact_id, currency), AgingRow(customer_id=contact_id, customer_name=name,
                                                                       currency=currency))
                _buckets(row, (as_of - due_date).days if due_date else 0, amount)
        return sorted(rows.values(), key=lambda r: (r.customer_name, r.currency))

    @staticmethod
    def _aged_lines(report: Any) -> Iterator[tuple[str | None, date | None, Decimal]]:
        """(invoice id, due date, amount due) of each invoice row; columns found by their header names."""
        for sheet in report.reports or []:
            columns: dict[str, int] = {}
            for row in sheet.rows or []:
                kind = _text(row.row_type)
                if kind == "Header":
                    columns = {_text(cell.value): i for i, cell in enumerate(row.cells or [])}
                if kind != "Section":
                    continue
                for line in row.rows or []:
                    if _text(line.row_type) != "Row" or "Due" not in columns:
                        continue
                    cells = line.cells or []
                    try:
                        amount = Decimal(_text(cells[columns["Due"]].value).replace(",", "") or "0")
                    except (IndexError, InvalidOperation):
                        raise PermanentLedgerError("Xero's aged receivables report has an unreadable row") from None
                    due_text = _text(cells[columns["Due Date"]].value) if "Due Date" in columns else ""
                    due = date.fromisoformat(due_text[:10]) if due_text else None
                    invoice_id = next((a.value for cell in cells for a in cell.attributes or []
                                       if _text(a.id).lower() == "invoiceid"), None)
                    if amount != 0:
                        yield invoice_id, due, amount


__all__ = ["LEDGER", "XeroLedger", "authorization_url", "connect", "exchange_code", "list_connections",
           "pkce_pair", "tokens_from_response"]
