"""DUECOURSE_COMPANY_TIME_ZONE (or DUECOURSE_<LEDGER>_COMPANY_TIME_ZONE) reaches the ledgers a worker builds:
a connected QuickBooks company's customers without an address get it; a value that is no zone is refused by
the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from adapters.ledgers.quickbooks import LEDGER
from adapters.store import EncryptedTokenStore, Store
from tests.emulators.quickbooks import QuickBooksEmulator
from workers.connect import ConnectError, build_ledger, company_time_zone


@pytest.fixture(autouse=True)
def _no_zone_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DUECOURSE_COMPANY_TIME_ZONE", "DUECOURSE_QBO_COMPANY_TIME_ZONE",
                 "DUECOURSE_XERO_COMPANY_TIME_ZONE", "DUECOURSE_INTACCT_COMPANY_TIME_ZONE"):
        monkeypatch.delenv(name, raising=False)


def test_the_ledgers_own_setting_wins_over_the_general_one(monkeypatch: pytest.MonkeyPatch) -> None:
    assert company_time_zone("quickbooks") is None
    monkeypatch.setenv("DUECOURSE_COMPANY_TIME_ZONE", "Europe/London")
    assert company_time_zone("quickbooks") == "Europe/London" and company_time_zone("intacct") == "Europe/London"
    monkeypatch.setenv("DUECOURSE_INTACCT_COMPANY_TIME_ZONE", "America/Chicago")
    assert company_time_zone("intacct") == "America/Chicago" and company_time_zone("quickbooks") == "Europe/London"


def test_a_setting_that_is_no_zone_is_refused_by_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUECOURSE_QBO_COMPANY_TIME_ZONE", "GMT+1 please")
    with pytest.raises(ConnectError, match=r"DUECOURSE_QBO_COMPANY_TIME_ZONE='GMT\+1 please' is not an IANA time "
                                           r"zone name"):
        company_time_zone("quickbooks")


def test_a_connected_quickbooks_company_uses_the_configured_zone(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    monkeypatch.setenv("DUECOURSE_COMPANY_TIME_ZONE", "Europe/Dublin")
    with QuickBooksEmulator() as emulator:
        monkeypatch.setenv("DUECOURSE_QBO_CLIENT_ID", emulator.client_id)
        monkeypatch.setenv("DUECOURSE_QBO_CLIENT_SECRET", emulator.client_secret)
        tokens = EncryptedTokenStore(Store(f"sqlite:///{tmp_path / 'store.db'}"), Fernet.generate_key().decode())
        tokens.save(LEDGER, emulator.issue_tokens())
        port = build_ledger("quickbooks", emulator.realm_id, {"base_url": emulator.base_url,
                                                              "token_url": emulator.token_url}, tokens)
        bare = str(emulator.seed("Customer", {"DisplayName": "No Address Co"})["Id"])
        placed = str(emulator.seed("Customer", {"DisplayName": "Placed Co", "BillAddr": {
            "City": "Denver", "CountrySubDivisionCode": "CO", "Country": "US"}})["Id"])
        customers = {c.id: c for c in port.list_customers()}
    assert (customers[bare].time_zone, customers[bare].time_zone_source) == (
        "Europe/Dublin", "company zone Europe/Dublin (no address)")
    assert customers[placed].time_zone == "America/Denver"
