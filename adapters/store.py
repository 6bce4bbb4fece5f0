"""The store: what must outlive workflow history.

The audit log, approvers and their credentials, the outbox of sent messages, learned payer aliases and
the kill switch. sqlmodel over SQLite by default, PostgreSQL in production (`DUECOURSE_DATABASE_URL`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, create_engine, select


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApproverRow(SQLModel, table=True):
    __tablename__ = "approvers"
    email: str = Field(primary_key=True)
    role: str = "approver"
    limit_amount: str  # decimal string: the largest amount this approver may decide
    # The limit's currency (ISO 4217); None: a limit made before limits carried one, valid in any currency.
    limit_currency: str | None = None
    token_hash: str = Field(index=True)
    signin_hash: str | None = Field(default=None, index=True)
    session_hash: str | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
    disabled_at: datetime | None = None  # a disabled approver's token, link and session all stop working


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True)
    workflow_id: str = Field(index=True)
    invoice_id: str = Field(index=True)
    kind: str
    to: str
    subject: str
    body: str
    message_id: str
    drafter: str = "template"
    approved_by: str | None = None
    status: str = "sending"  # sending -> sent | bounced | not_sent
    created_at: datetime = Field(default_factory=_now)
    sent_at: datetime | None = None
    # Why it was not sent ("bounced": the server's refusal; "not_sent": paid while held, ...). Added after
    # the table: `Store` adds the column to an older database.
    reason: str | None = None


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True)
    at: datetime = Field(default_factory=_now)
    workflow_id: str = Field(index=True)
    invoice_id: str | None = Field(default=None, index=True)
    action: str
    inputs: str = "{}"  # JSON
    rule_version: str | None = None
    model: str | None = None
    approver: str | None = None
    result: str = ""


class SettingRow(SQLModel, table=True):
    __tablename__ = "settings"
    name: str = Field(primary_key=True)
    value: str
    updated_at: datetime = Field(default_factory=_now)
    updated_by: str | None = None


class PayerAliasRow(SQLModel, table=True):
    __tablename__ = "payer_aliases"
    payer_name: str = Field(primary_key=True)  # normalised payer name as the bank writes it
    customer_id: str = Field(index=True)
    ledger: str = "sandbox"
    learned_from: str | None = None
    created_at: datetime = Field(default_factory=_now)


class BadAddressRow(SQLModel, table=True):
    """An address mail cannot reach: refused at send time or named by a delivery status notification.

    Kept across invoices and customers: once bad, no reminder to anyone is sent to it again."""

    __tablename__ = "bad_addresses"
    address: str = Field(primary_key=True)  # lower-cased
    reason: str
    source: str  # "smtp" (refused at RCPT TO) or "dsn" (a delivery status notification)
    message_id: str | None = None  # the reminder that found it bad, when known
    workflow_id: str | None = None
    marked_at: datetime = Field(default_factory=_now)


class InboundRow(SQLModel, table=True):
    """Every message that arrived back (a DSN now; replies later), what it was and what came of it."""

    __tablename__ = "inbound_mail"
    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(default_factory=_now)
    message_id: str | None = Field(default=None, index=True)  # the arriving message's own id
    kind: str  # "dsn" | "other" | "malformed"
    original_message_id: str | None = Field(default=None, index=True)  # the reminder it is about
    address: str | None = None
    status: str | None = None  # the DSN's Status, e.g. "5.1.1"
    workflow_id: str | None = Field(default=None, index=True)
    outcome: str  # "signalled" | "unmatched" | "transient" | "workflow-closed" | "signal-failed" | "ignored"
    detail: str = ""
    raw: bytes = b""  # the message as it arrived (capped at RAW_LIMIT bytes)


class BadAddress(BaseModel):
    address: str
    reason: str
    source: str
    message_id: str | None
    workflow_id: str | None
    marked_at: datetime


class InboundRecord(BaseModel):
    id: int | None = None
    received_at: datetime
    message_id: str | None
    kind: str
    original_message_id: str | None
    address: str | None
    status: str | None
    workflow_id: str | None
    outcome: str
    detail: str


def normal_address(address: str) -> str:
    return address.strip().strip("<>").strip().lower()


ROLES = ("viewer", "collector", "approver", "admin")


class Approver(BaseModel):
    email: str
    role: str
    limit: Decimal
    currency: str | None = None  # the limit's currency; None: any (an approver made before currencies)


class ApproverCredentials(BaseModel):
    email: str
    role: str
    limit: Decimal
    currency: str | None = None
    token: str
    signin_token: str


class OutboxMessage(BaseModel):
    idempotency_key: str
    workflow_id: str
    invoice_id: str
    kind: str
    to: str
    subject: str
    body: str
    message_id: str
    drafter: str
    approved_by: str | None
    status: str
    created_at: datetime
    sent_at: datetime | None
    reason: str | None = None


class AuditRecord(BaseModel):
    idempotency_key: str
    workflow_id: str
    invoice_id: str | None = None
    action: str
    inputs: dict[str, Any] = {}
    rule_version: str | None = None
    model: str | None = None
    approver: str | None = None
    result: str = ""
    at: datetime | None = None  # when it was recorded (set by the store; ignored when recording)


KILL_SWITCH = "kill_switch"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        SQLModel.metadata.create_all(
            self.engine,
            tables=[
                ApproverRow.__table__,  # type: ignore[attr-defined]
                OutboxRow.__table__,  # type: ignore[attr-defined]
                AuditRow.__table__,  # type: ignore[attr-defined]
                SettingRow.__table__,  # type: ignore[attr-defined]
                PayerAliasRow.__table__,  # type: ignore[attr-defined]
                BadAddressRow.__table__,  # type: ignore[attr-defined]
                InboundRow.__table__,  # type: ignore[attr-defined]
            ],
        )
        self._add_missing_column("outbox", "reason", "VARCHAR")
        self._add_missing_column("approvers", "limit_currency", "VARCHAR")
        self._add_missing_column("approvers", "disabled_at", "TIMESTAMP")

    def _add_missing_column(self, table: str, column: str, sql_type: str) -> None:
        """Additive migration: a database made before `column` existed gets it (NULL in old rows)."""
        from sqlalchemy import inspect, text
        from sqlalchemy.exc import DBAPIError

        if column in {c["name"] for c in inspect(self.engine).get_columns(table)}:
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
        except DBAPIError:  # another process added it first
            if column not in {c["name"] for c in inspect(self.engine).get_columns(table)}:
                raise

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    # --- approvers --------------------------------------------------------------------------------

    def upsert_approver(self, email: str, limit: Decimal, role: str = "approver",
                        currency: str | None = None) -> ApproverCredentials:
        """Create or update (and re-enable) an approver; always issues a fresh API token and one-time sign-in
        token. Without `currency` an existing approver keeps the limit's currency it had, so re-issuing a
        link never widens what someone may approve."""
        email = email.strip().lower()
        if "@" not in email:
            raise ValueError(f"not an email address: {email!r}")
        if limit < 0:
            raise ValueError("the approval limit cannot be negative")
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
        if currency is not None:
            currency = currency.strip().upper()
            if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
                raise ValueError(f"not a currency code: {currency!r} (three letters, ISO 4217, e.g. USD)")
        token = "dct_" + secrets.token_urlsafe(24)
        signin = secrets.token_urlsafe(24)
        with self.session() as session:
            row = session.get(ApproverRow, email)
            if row is None:
                row = ApproverRow(email=email, role=role, limit_amount=str(limit), token_hash=_digest(token))
            row.role = role
            row.limit_amount = str(limit)
            if currency is not None:
                row.limit_currency = currency
            row.token_hash = _digest(token)
            row.signin_hash = _digest(signin)
            row.disabled_at = None
            row.updated_at = _now()
            session.add(row)
            session.commit()
            currency = row.limit_currency
        return ApproverCredentials(email=email, role=role, limit=limit, currency=currency, token=token,
                                   signin_token=signin)

    def disable_approver(self, email: str) -> bool:
        """Disable an approver: its API token, sign-in link and session stop working at once. False when there
        is no such approver. `upsert_approver` enables it again, with new credentials."""
        with self.session() as session:
            row = session.get(ApproverRow, email.strip().lower())
            if row is None:
                return False
            row.disabled_at = row.disabled_at or _now()
            row.signin_hash = None
            row.session_hash = None
            row.updated_at = _now()
            session.add(row)
            session.commit()
            return True

    @staticmethod
    def _approver(row: ApproverRow) -> Approver:
        return Approver(email=row.email, role=row.role, limit=Decimal(row.limit_amount), currency=row.limit_currency)

    def approver_by_token(self, token: str) -> Approver | None:
        with self.session() as session:
            row = session.exec(select(ApproverRow).where(
                ApproverRow.token_hash == _digest(token), col(ApproverRow.disabled_at).is_(None))).first()
            return self._approver(row) if row else None

    def approver_by_session(self, session_token: str) -> Approver | None:
        with self.session() as session:
            row = session.exec(
                select(ApproverRow).where(ApproverRow.session_hash == _digest(session_token),
                                          col(ApproverRow.disabled_at).is_(None))
            ).first()
            return self._approver(row) if row else None

    def redeem_signin(self, signin_token: str) -> tuple[Approver, str] | None:
        """Trade a one-time sign-in token for a browser session token. A used link stops working."""
        with self.session() as session:
            row = session.exec(
                select(ApproverRow).where(ApproverRow.signin_hash == _digest(signin_token),
                                          col(ApproverRow.disabled_at).is_(None))
            ).first()
            if row is None:
                return None
            session_token = secrets.token_urlsafe(32)
            row.signin_hash = None
            row.session_hash = _digest(session_token)
            session.add(row)
            session.commit()
            return self._approver(row), session_token

    # --- outbox -----------------------------------------------------------------------------------

    def outbox_reserve(self, message: OutboxMessage) -> OutboxMessage:
        """Record the intent to send; returns the existing record when the key was seen before."""
        with self.session() as session:
            existing = session.exec(
                select(OutboxRow).where(OutboxRow.idempotency_key == message.idempotency_key)
            ).first()
            if existing is not None:
                return OutboxMessage.model_validate(existing, from_attributes=True)
            row = OutboxRow(**message.model_dump())
            session.add(row)
            session.commit()
            return message

    def outbox_mark_sent(self, idempotency_key: str) -> None:
        with self.session() as session:
            row = session.exec(select(OutboxRow).where(OutboxRow.idempotency_key == idempotency_key)).one()
            row.status = "sent"
            row.sent_at = _now()
            session.add(row)
            session.commit()

    def outbox_mark(self, idempotency_key: str, status: str, reason: str) -> OutboxMessage:
        """Record why a reserved message did not leave ("bounced", "not_sent"): a retry answers the same."""
        with self.session() as session:
            row = session.exec(select(OutboxRow).where(OutboxRow.idempotency_key == idempotency_key)).one()
            row.status = status
            row.reason = reason
            session.add(row)
            session.commit()
            return OutboxMessage.model_validate(row, from_attributes=True)

    def outbox_by_message_id(self, message_id: str) -> OutboxMessage | None:
        """The outbox message with this Message-ID (angle brackets optional), e.g. the one a DSN names."""
        wanted = message_id.strip()
        if not wanted:
            return None
        if not wanted.startswith("<"):
            wanted = f"<{wanted}>"
        with self.session() as session:
            row = session.exec(select(OutboxRow).where(OutboxRow.message_id == wanted)
                               .order_by(col(OutboxRow.id))).first()
            return OutboxMessage.model_validate(row, from_attributes=True) if row else None

    def list_outbox(self, limit: int = 200, invoice_id: str | None = None) -> list[OutboxMessage]:
        with self.session() as session:
            query = select(OutboxRow).order_by(col(OutboxRow.id).desc()).limit(limit)
            if invoice_id:
                query = query.where(OutboxRow.invoice_id == invoice_id)
            return [OutboxMessage.model_validate(row, from_attributes=True) for row in session.exec(query)]

    # --- audit ------------------------------------------------------------------------------------

    def record_audit(self, record: AuditRecord) -> None:
        with self.session() as session:
            exists = session.exec(
                select(AuditRow).where(AuditRow.idempotency_key == record.idempotency_key)
            ).first()
            if exists is not None:
                return
            data = record.model_dump()
            data["inputs"] = json.dumps(record.inputs, default=str, sort_keys=True)
            session.add(AuditRow(**data))
            session.commit()

    def list_audit(self, workflow_id: str | None = None, limit: int = 500) -> list[AuditRecord]:
        with self.session() as session:
            query = select(AuditRow).order_by(col(AuditRow.id)).limit(limit)
            if workflow_id:
                query = query.where(AuditRow.workflow_id == workflow_id)
            return [
                AuditRecord(
                    idempotency_key=row.idempotency_key, workflow_id=row.workflow_id,
                    invoice_id=row.invoice_id, action=row.action, inputs=json.loads(row.inputs),
                    rule_version=row.rule_version, model=row.model, approver=row.approver, result=row.result,
                    at=row.at,
                )
                for row in session.exec(query)
            ]

    # --- bad addresses and mail that came back ------------------------------------------------------

    def mark_address_bad(self, address: str, reason: str, source: str, *, message_id: str | None = None,
                         workflow_id: str | None = None) -> BadAddress:
        """Mark an address bad (idempotent: the first mark, with its reason and time, is kept)."""
        key = normal_address(address)
        if "@" not in key:
            raise ValueError(f"not an email address: {address!r}")
        with self.session() as session:
            row = session.get(BadAddressRow, key)
            if row is None:
                row = BadAddressRow(address=key, reason=reason, source=source, message_id=message_id,
                                    workflow_id=workflow_id)
                session.add(row)
                try:
                    session.commit()
                except Exception:  # marked by another worker at the same moment: theirs stands
                    session.rollback()
                    row = session.get(BadAddressRow, key)
                    if row is None:
                        raise
            return BadAddress.model_validate(row, from_attributes=True)

    def bad_address(self, address: str) -> BadAddress | None:
        with self.session() as session:
            row = session.get(BadAddressRow, normal_address(address))
            return BadAddress.model_validate(row, from_attributes=True) if row else None

    def list_bad_addresses(self) -> list[BadAddress]:
        with self.session() as session:
            rows = session.exec(select(BadAddressRow).order_by(col(BadAddressRow.marked_at)))
            return [BadAddress.model_validate(row, from_attributes=True) for row in rows]

    def clear_bad_address(self, address: str) -> bool:
        """Forget that an address was bad (a customer fixed their mailbox); True when it was marked."""
        with self.session() as session:
            row = session.get(BadAddressRow, normal_address(address))
            if row is None:
                return False
            session.delete(row)
            session.commit()
            return True

    RAW_LIMIT = 1 << 20

    def record_inbound(self, record: InboundRecord, raw: bytes) -> InboundRecord:
        data = record.model_dump(exclude={"id"})
        with self.session() as session:
            row = InboundRow(**data, raw=raw[: self.RAW_LIMIT])
            session.add(row)
            session.commit()
            return record.model_copy(update={"id": row.id})

    def list_inbound(self, workflow_id: str | None = None, limit: int = 200) -> list[InboundRecord]:
        with self.session() as session:
            query = select(InboundRow).order_by(col(InboundRow.id).desc()).limit(limit)
            if workflow_id:
                query = query.where(InboundRow.workflow_id == workflow_id)
            return [InboundRecord.model_validate(row, from_attributes=True) for row in session.exec(query)]

    def inbound_raw(self, inbound_id: int) -> bytes | None:
        with self.session() as session:
            row = session.get(InboundRow, inbound_id)
            return bytes(row.raw) if row else None

    # --- kill switch ------------------------------------------------------------------------------

    def set_paused(self, paused: bool, by: str | None = None) -> None:
        with self.session() as session:
            row = session.get(SettingRow, KILL_SWITCH) or SettingRow(name=KILL_SWITCH, value="off")
            row.value = "on" if paused else "off"
            row.updated_at = _now()
            row.updated_by = by
            session.add(row)
            session.commit()

    def is_paused(self) -> bool:
        with self.session() as session:
            row = session.get(SettingRow, KILL_SWITCH)
            return row is not None and row.value == "on"

    # --- payer aliases ----------------------------------------------------------------------------

    def add_alias(self, payer_name: str, customer_id: str, ledger: str, learned_from: str | None = None) -> None:
        with self.session() as session:
            row = session.get(PayerAliasRow, payer_name) or PayerAliasRow(
                payer_name=payer_name, customer_id=customer_id, ledger=ledger
            )
            row.customer_id = customer_id
            row.learned_from = learned_from
            session.add(row)
            session.commit()

    def aliases(self, ledger: str | None = None) -> dict[str, str]:
        with self.session() as session:
            query = select(PayerAliasRow)
            if ledger:
                query = query.where(PayerAliasRow.ledger == ledger)
            return {row.payer_name: row.customer_id for row in session.exec(query)}

    def remove_alias(self, payer_name: str) -> bool:
        with self.session() as session:
            row = session.get(PayerAliasRow, payer_name)
            if row is None:
                return False
            session.delete(row)
            session.commit()
            return True


class CursorRow(SQLModel, table=True):
    """The polling backstop's position in each ledger's change feed."""

    __tablename__ = "sync_cursors"
    ledger: str = Field(primary_key=True)
    tenant: str = Field(primary_key=True)
    cursor: str
    updated_at: datetime = Field(default_factory=_now)


def _cursor_table() -> Any:
    return CursorRow.__table__  # type: ignore[attr-defined]


class SyncCursors:
    """Read and advance a ledger's change cursor; advanced only after the changes were routed."""

    def __init__(self, store: Store) -> None:
        self.store = store
        SQLModel.metadata.create_all(store.engine, tables=[_cursor_table()])

    def get(self, ledger: str, tenant: str) -> str | None:
        with self.store.session() as session:
            row = session.get(CursorRow, (ledger, tenant))
            return row.cursor if row else None

    def put(self, ledger: str, tenant: str, cursor: str) -> None:
        with self.store.session() as session:
            row = session.get(CursorRow, (ledger, tenant)) or CursorRow(ledger=ledger, tenant=tenant, cursor=cursor)
            row.cursor = cursor
            row.updated_at = _now()
            session.add(row)
            session.commit()


class ConnectionRow(SQLModel, table=True):
    """A connected ledger company: its settings, and its OAuth tokens encrypted at rest."""

    __tablename__ = "ledger_connections"
    ledger: str = Field(primary_key=True)
    tenant: str = Field(primary_key=True)
    settings: str = "{}"  # JSON: client id, base URLs, display name (no secrets)
    tokens: str | None = None  # Fernet ciphertext of OAuthTokens JSON
    needs_reconsent: bool = False
    last_error: str | None = None
    updated_at: datetime = Field(default_factory=_now)


class Connection(BaseModel):
    ledger: str
    tenant: str
    settings: dict[str, Any]
    needs_reconsent: bool
    last_error: str | None


class EncryptedTokenStore:
    """`adapters.ledgers.oauth.TokenStore` over the store, encrypting tokens with `DUECOURSE_SECRET_KEY` (Fernet)."""

    def __init__(self, store: Store, key: str) -> None:
        from cryptography.fernet import Fernet

        self.store = store
        try:
            self._fernet = Fernet(key.encode() if isinstance(key, str) else key)
        except ValueError as error:
            raise ValueError("DUECOURSE_SECRET_KEY must be a Fernet key (32 url-safe base64 bytes); "
                             "make one with `python -c 'from cryptography.fernet import Fernet; "
                             "print(Fernet.generate_key().decode())'`") from error
        SQLModel.metadata.create_all(store.engine, tables=[ConnectionRow.__table__])  # type: ignore[attr-defined]

    def load(self, ledger: str, tenant: str) -> Any:
        from adapters.ledgers.oauth import OAuthTokens

        with self.store.session() as session:
            row = session.get(ConnectionRow, (ledger, tenant))
            if row is None or row.tokens is None:
                return None
            return OAuthTokens.model_validate_json(self._fernet.decrypt(row.tokens.encode()))

    def save(self, ledger: str, tokens: Any) -> None:
        with self.store.session() as session:
            row = session.get(ConnectionRow, (ledger, tokens.tenant)) or ConnectionRow(ledger=ledger,
                                                                                       tenant=tokens.tenant)
            row.tokens = self._fernet.encrypt(tokens.model_dump_json().encode()).decode()
            row.needs_reconsent = False
            row.last_error = None
            row.updated_at = _now()
            session.add(row)
            session.commit()

    def save_connection(self, ledger: str, tenant: str, settings: dict[str, Any]) -> None:
        with self.store.session() as session:
            row = session.get(ConnectionRow, (ledger, tenant)) or ConnectionRow(ledger=ledger, tenant=tenant)
            row.settings = json.dumps(settings, sort_keys=True)
            row.updated_at = _now()
            session.add(row)
            session.commit()

    def mark_reconsent(self, ledger: str, tenant: str, why: str) -> None:
        with self.store.session() as session:
            row = session.get(ConnectionRow, (ledger, tenant))
            if row is not None:
                row.needs_reconsent = True
                row.last_error = why
                session.add(row)
                session.commit()

    def connections(self) -> list[Connection]:
        with self.store.session() as session:
            return [Connection(ledger=row.ledger, tenant=row.tenant, settings=json.loads(row.settings),
                               needs_reconsent=row.needs_reconsent, last_error=row.last_error)
                    for row in session.exec(select(ConnectionRow))]
