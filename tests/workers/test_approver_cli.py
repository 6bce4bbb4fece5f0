"""`duecourse approver add ... --currency CUR --role ROLE` and `duecourse approver disable EMAIL` as an operator
runs them (a data dir in a temp folder, no stack), what the web app then lets the approver do, and the currency
of a limit enforced where decisions are delivered (a stand-in Temporal client, no server)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException

from adapters.store import ROLES, Approver, Store
from workers.cli import APPROVER_ROLES, main
from workers.web.decisions import DecisionBody, deliver
from workflows.approvals import DecisionKind, DecisionResult, PendingApproval


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DUECOURSE_HOME", str(tmp_path))
    monkeypatch.delenv("DUECOURSE_DATABASE_URL", raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def store(home: Path) -> Store:
    return Store(f"sqlite:///{home / 'duecourse.db'}")


def test_add_with_a_currency_prints_one_json_object(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "approver", "add", "Lead@Northwind.example", "--limit", "10000", "--currency", "usd",
                       "--role", "admin", "--json")
    assert code == 0
    answer = json.loads(out)
    assert answer["email"] == "lead@northwind.example"
    assert (answer["limit"], answer["currency"], answer["role"]) == ("10000", "USD", "admin")
    assert answer["sign_in_url"].startswith("http://127.0.0.1:8000/signin/")
    found = store(home).approver_by_token(answer["token"])
    assert found == Approver(email="lead@northwind.example", role="admin", limit=Decimal("10000"), currency="USD")


def test_the_human_output_names_the_currency(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "approver", "add", "kw@northwind.example", "--limit", "2500.500", "--currency", "KWD")
    assert "limit 2500.500 KWD, role approver" in out
    _, out, _ = run(capsys, "approver", "add", "old@northwind.example", "--limit", "100")
    assert "limit 100 (any currency)" in out


def test_re_adding_without_currency_keeps_the_limits_currency(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "approver", "add", "kw@northwind.example", "--limit", "900", "--currency", "KWD")
    _, out, _ = run(capsys, "approver", "add", "kw@northwind.example", "--limit", "1200", "--json")
    answer = json.loads(out)
    assert (answer["limit"], answer["currency"]) == ("1200", "KWD")
    approver = store(home).approver_by_token(answer["token"])
    assert approver is not None and approver.currency == "KWD" and approver.limit == Decimal("1200")


@pytest.mark.parametrize(("argv", "message"), [
    (["--currency", "US"], "not a currency code: 'US'"),
    (["--currency", "U5D"], "not a currency code: 'U5D'"),
    (["--role", "owner"], "invalid choice: 'owner'"),
])
def test_bad_flags_exit_2_with_a_clear_error(home: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                             message: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["approver", "add", "x@northwind.example", "--limit", "10", *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert store(home).approver_by_token("anything") is None


def test_every_role_is_accepted(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert APPROVER_ROLES == ROLES == ("viewer", "collector", "approver", "admin")
    for role in ROLES:
        code, out, _ = run(capsys, "approver", "add", f"{role}@northwind.example", "--limit", "1", "--role", role,
                           "--json")
        assert code == 0 and json.loads(out)["role"] == role


def test_the_store_refuses_an_unknown_role_too(home: Path) -> None:
    with pytest.raises(ValueError, match="unknown role 'root'"):
        store(home).upsert_approver("x@northwind.example", Decimal("1"), role="root")


def test_disable_stops_the_token_the_link_and_the_session(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "approver", "add", "gone@northwind.example", "--limit", "500", "--json")
    first = json.loads(out)
    _, out, _ = run(capsys, "approver", "add", "gone@northwind.example", "--limit", "500", "--json")
    second = json.loads(out)  # a second link, to hold a session with
    signed_in = store(home).redeem_signin(second["sign_in_url"].rsplit("/", 1)[1])
    assert signed_in is not None
    session_token = signed_in[1]
    assert store(home).approver_by_session(session_token) is not None

    code, out, _ = run(capsys, "approver", "disable", "Gone@Northwind.example", "--json")
    assert code == 0 and json.loads(out) == {"email": "gone@northwind.example", "disabled": True}
    db = store(home)
    assert db.approver_by_token(second["token"]) is None
    assert db.approver_by_token(first["token"]) is None
    assert db.approver_by_session(session_token) is None

    # Adding again re-enables, with new credentials only.
    _, out, _ = run(capsys, "approver", "add", "gone@northwind.example", "--limit", "500", "--json")
    again = json.loads(out)
    assert db.approver_by_token(again["token"]) is not None
    assert db.approver_by_token(second["token"]) is None


def test_a_disabled_approvers_unused_link_stops_working(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "approver", "add", "late@northwind.example", "--limit", "5", "--json")
    link = json.loads(out)["sign_in_url"].rsplit("/", 1)[1]
    run(capsys, "approver", "disable", "late@northwind.example")
    assert store(home).redeem_signin(link) is None


def test_disabling_someone_unknown_exits_2(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "approver", "disable", "nobody@northwind.example")
    assert code == 2 and out == ""
    assert "no approver 'nobody@northwind.example'" in err


def test_a_data_dir_from_before_currencies_keeps_working(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The approvers table as the previous release made it: no limit_currency, no disabled_at.
    with sqlite3.connect(home / "duecourse.db") as db:
        db.execute("CREATE TABLE approvers (email VARCHAR PRIMARY KEY, role VARCHAR, limit_amount VARCHAR, "
                   "token_hash VARCHAR, signin_hash VARCHAR, session_hash VARCHAR, created_at DATETIME, "
                   "updated_at DATETIME)")
        now = datetime.now(UTC).isoformat(sep=" ")
        db.execute("INSERT INTO approvers VALUES ('old@northwind.example', 'approver', '750', "
                   "'5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8', NULL, NULL, ?, ?)", (now, now))
    approver = store(home).approver_by_token("password")  # the row's token hash is sha256("password")
    assert approver == Approver(email="old@northwind.example", role="approver", limit=Decimal("750"), currency=None)
    code, out, _ = run(capsys, "approver", "add", "old@northwind.example", "--limit", "750", "--currency", "GBP",
                       "--json")
    assert code == 0 and json.loads(out)["currency"] == "GBP"


# --- the limit's currency where decisions are delivered ----------------------------------------------------


class StandInHandle:
    def __init__(self, pending: PendingApproval, updates: list[Any]) -> None:
        self.pending, self.updates = pending, updates

    async def query(self, _query: Any) -> PendingApproval:
        return self.pending

    async def execute_update(self, _update: Any, decision: Any) -> DecisionResult:
        self.updates.append(decision)
        return DecisionResult(item_id=self.pending.item_id, decision=DecisionKind.APPROVE, stage="sending",
                              message="approved")


class StandInClient:
    def __init__(self, currency: str, amount: str) -> None:
        self.updates: list[Any] = []
        self.pending = PendingApproval(
            item_id="item-1", workflow_id="invoice-9", invoice_id="9", invoice_number="INV-9", customer_id="c1",
            customer_name="Al Khaleej Trading", amount=Decimal(amount), currency=currency,
            requested_at=datetime(2025, 6, 1, tzinfo=UTC), why="first reminder")

    def get_workflow_handle(self, _workflow_id: str) -> StandInHandle:
        return StandInHandle(self.pending, self.updates)


APPROVE = DecisionBody(decision="approve", item_id="item-1")


async def test_a_usd_limit_does_not_approve_a_kwd_item() -> None:
    client = StandInClient("KWD", "9000.000")
    approver = Approver(email="usd@northwind.example", role="approver", limit=Decimal("10000"), currency="USD")
    with pytest.raises(HTTPException) as refused:
        await deliver(client, "invoice-9", approver, APPROVE)  # type: ignore[arg-type]
    assert refused.value.status_code == 409
    assert "KWD 9000.000" in refused.value.detail and "in USD" in refused.value.detail
    assert client.updates == []  # nothing reached the workflow


async def test_a_limit_in_the_items_currency_goes_through() -> None:
    client = StandInClient("KWD", "900.000")
    approver = Approver(email="kwd@northwind.example", role="approver", limit=Decimal("1000"), currency="KWD")
    answer = await deliver(client, "invoice-9", approver, APPROVE)  # type: ignore[arg-type]
    assert answer["message"] == "approved"
    assert [decision.approver_limit for decision in client.updates] == [Decimal("1000")]


@pytest.mark.parametrize("approver", [
    Approver(email="admin@northwind.example", role="admin", limit=Decimal("10000"), currency="USD"),
    Approver(email="old@northwind.example", role="approver", limit=Decimal("10000"), currency=None),
])
async def test_admins_and_limits_without_a_currency_are_not_held_back(approver: Approver) -> None:
    client = StandInClient("KWD", "9000.000")
    await deliver(client, "invoice-9", approver, APPROVE)  # type: ignore[arg-type]
    assert len(client.updates) == 1
