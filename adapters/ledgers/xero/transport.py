"""How duecourse talks to Xero: xero-python's client, Xero identity's token endpoint, and their failures.

Every Accounting API call goes through `XeroTransport.call`: inside the tenant's rate limiter (60 calls a
minute, 5 at once, 5,000 a day), with a valid access token (one refresh and one more try after a 401), and
with its failure mapped once to the port's errors (`error_for_answer`): 400 -> PermanentLedgerError carrying
Xero's ValidationErrors, 401 / 403 -> ReconsentRequired, a refused refresh (invalid_grant) ->
ReconsentRequired, then what every ledger shares (`adapters.ledgers.http.error_for_status`): 429 ->
RateLimited(Retry-After), 5xx / timeouts / resets -> RetryableLedgerError, 404 -> NotFound.

urllib3's own retries (which silently repeat GET and PUT on a 429 with Retry-After) are off: Temporal owns
retrying. Every write carries an `Idempotency-Key` derived from the caller's key (`idempotency_header`); note
that Xero remembers one for minutes, not forever.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

import urllib3
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import HTTPStatusException

from adapters.http import retry_after_seconds
from adapters.ledger import PermanentLedgerError
from adapters.ledgers.http import error_for_status
from adapters.ledgers.oauth import ReconsentRequired
from adapters.ledgers.rate_limit import RateLimiter

LEDGER = "xero"
API_BASE = "https://api.xero.com/api.xro/2.0"
MAX_KEY_LENGTH = 128  # Idempotency-Key, characters
MAX_PAGES = 10_000
_IDENTITY = urllib3.PoolManager(num_pools=2, retries=False)

T = TypeVar("T")


class AccessTokens(Protocol):
    """What the transport needs of the tenant's tokens (`auth.XeroTokens`)."""

    def access_token(self) -> str: ...

    def rejected(self, access_token: str) -> None: ...


# --- failures: the one map to the port's errors -----------------------------------------------------------


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


def error_for_answer(status: int, body: Any, headers: Mapping[str, str] | Any | None, what: str,
                     tenant: str) -> Exception:
    """The port's error for Xero's answer `status` to `what`: Xero's own codes first, then the shared map."""
    detail = "; ".join(_validation_messages(body)) or f"HTTP {status}"
    if status == 400:
        return PermanentLedgerError(f"Xero refused {what}: {detail}")
    if status in (401, 403):
        return ReconsentRequired(LEDGER, tenant, f"Xero answered {what} with HTTP {status}: {detail}")
    delay = retry_after_seconds(headers)
    if status == 429:
        problem = headers.get("X-Rate-Limit-Problem") if headers is not None else None
        text = f"Xero {what}: rate limit ({problem or 'unknown'}) exceeded; retry after {delay}s"
    elif status == 404:
        text = f"Xero {what}: not found"
    elif status == 503 and delay is not None:
        text = f"Xero {what}: unavailable (HTTP 503)"
    else:
        text = f"Xero {what}: HTTP {status}: {detail}"
    return error_for_status(status, text, headers)


def error_for_identity(status: int, body: dict[str, Any], headers: Any, tenant: str) -> Exception:
    """The port's error for Xero identity's refusal of a token request."""
    code = str(body.get("error") or "")
    if code == "invalid_grant":
        return ReconsentRequired(LEDGER, tenant, "Xero refused the refresh token or code (invalid_grant)")
    if status == 429:
        text = "Xero identity rate limit"
    elif status >= 500:
        text = f"Xero identity answered HTTP {status}"
    else:
        text = f"Xero identity refused the token request: HTTP {status} {code or body}"
    return error_for_status(status, text, headers)


# --- Xero identity: the token endpoint ----------------------------------------------------------------------


def identity_post(url: str, form: dict[str, str], *, timeout: float, tenant: str,
                  basic: tuple[str, str] | None = None) -> dict[str, Any]:
    """POST a form to Xero identity; the answer's JSON, or the failure mapped to our errors."""
    headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
    if basic is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
    try:
        response = _IDENTITY.request("POST", url, body=urlencode(form), headers=headers,
                                     timeout=urllib3.Timeout(connect=timeout, read=timeout), retries=False)
    except urllib3.exceptions.HTTPError as error:
        raise error_for_status(None, f"Xero identity ({url}) unreachable: {type(error).__name__}: {error}") \
            from error
    try:
        body = json.loads(response.data or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status == 200:
        return body
    raise error_for_identity(response.status, body, response.headers, tenant)


# --- the Accounting API through xero-python -----------------------------------------------------------------


class _Bearer(OAuth2Token):  # type: ignore[misc]  # xero-python ships no type hints
    """xero-python's token hook, made stateless: the adapter owns refresh, rotation and persistence, so the
    SDK's own refresh (which would bypass the TokenStore) never runs and threads share nothing mutable."""

    def __init__(self, access_token: Callable[[], str]) -> None:
        super().__init__()
        self._access_token = access_token

    def create_auth_settings(self, api_client: Any) -> dict[str, str]:
        return {"type": "oauth2", "in": "header", "key": "Authorization", "value": f"Bearer {self._access_token()}"}


def sdk_client(access_token: Callable[[], str]) -> ApiClient:
    configuration = Configuration()  # a copy of xero-python's process-wide default: give it its own token hook
    configuration.oauth2_token = _Bearer(access_token)
    client = ApiClient(configuration, pool_threads=1)
    # Temporal owns retrying: urllib3's default Retry (3 tries, sleeping Retry-After on 429/503 for GET and PUT)
    # would hide rate limits and multiply calls against Xero's per-minute budget.
    client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    return client


def idempotency_header(key: str, step: str | None = None) -> str:
    """The header value for one write: the caller's key (plus the step of a multi-request write); hashed when
    Xero's 128-character limit or ASCII-only headers would refuse it."""
    if not key or not key.strip():
        raise PermanentLedgerError("a Xero write needs an idempotency key")
    full = f"{key}:{step}" if step else key
    if len(full) <= MAX_KEY_LENGTH and full.isascii():
        return full
    return "dc-" + hashlib.sha256(full.encode()).hexdigest()


class XeroTransport:
    """The Accounting API of one tenant: `api` names the calls, `call` and `pages` make them."""

    def __init__(self, tenant: str, tokens: AccessTokens, *, api_base: str = API_BASE,
                 rate_limiter: RateLimiter | None = None, timeout: float = 30, page_size: int = 100) -> None:
        self.tenant = tenant
        self._tokens = tokens
        # Xero's published limits per tenant: 60 calls a minute, 5 at once, 5,000 a day.
        self._limiter = rate_limiter or RateLimiter(per_minute=60, concurrent=5, per_day=5000)
        self._timeouts = (timeout, timeout)
        self._page_size = page_size
        self._client = sdk_client(tokens.access_token)
        self.api = AccountingApi(self._client, base_url=api_base.rstrip("/"))

    def close(self) -> None:
        self._client.rest_client.pool_manager.clear()

    def call(self, what: str, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One Accounting API call: inside the rate limiter, with a valid token, errors mapped once."""
        for attempt in (1, 2):
            used = self._tokens.access_token()
            with self._limiter.slot():
                try:
                    return method(self.tenant, *args, _request_timeout=self._timeouts, **kwargs)
                except HTTPStatusException as error:
                    # Not `error.status`: on a 400 xero-python reads it from the JSON body, which may not be JSON.
                    status = int(getattr(error.http_resp, "status", 0) or 0)
                    if status != 401 or attempt == 2:
                        raise error_for_answer(status, error.body, error.headers, what, self.tenant) from error
                except urllib3.exceptions.HTTPError as error:
                    raise error_for_status(None, f"Xero {what}: {type(error).__name__}: {error}") from error
                except (ValueError, TypeError) as error:
                    # xero-python validates enums and dates while it reads: an answer we cannot map.
                    raise PermanentLedgerError(f"Xero {what}: unreadable response ({error})") from error
            self._tokens.rejected(used)
        raise AssertionError("unreachable")

    def pages(self, what: str, method: Callable[..., Any], items: Callable[[Any], Any], *, sized: bool = True,
              **query: Any) -> Iterator[Any]:
        """Every item of a paged listing: 1-based pages until `pagination.pageCount` (when Xero gives it) or a
        short page. Quotes take no pageSize: their pages hold 100."""
        size = self._page_size if sized else 100
        for page in range(1, MAX_PAGES + 1):
            paging = {"page": page, "page_size": size} if sized else {"page": page}
            response = self.call(f"{what} (page {page})", method, **query, **paging)
            batch = list(items(response) or [])
            yield from batch
            pagination = getattr(response, "pagination", None)
            count = getattr(pagination, "page_count", None) if pagination is not None else None
            if not batch or (page >= count if count is not None else len(batch) < size):
                return
        raise error_for_status(None, f"Xero {what}: more than {MAX_PAGES} pages")
