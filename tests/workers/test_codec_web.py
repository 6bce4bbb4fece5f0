"""The codec server over HTTP (FastAPI's test client): Temporal's remote codec protocol on /codec/encode and
/codec/decode, CORS for the Temporal UI, who may call it, and bounded bodies. The Temporal client the app
connects is a stand-in carrying the data converter `workers.client` builds; no Temporal server here."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.codec import CodecKey, EncryptionCodec
from adapters.store import Store
from workers.client import data_converter
from workers.intake import LifecycleDefaults
from workers.web.app import create_app
from workers.web.config import WebConfig

KEY = CodecKey("k1", bytes(range(32)))
UI = "http://127.0.0.1:8233"
LOOPBACK = ("127.0.0.1", 50000)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def payloads_json(*texts: str) -> dict[str, Any]:
    return {"payloads": [{"metadata": {"encoding": b64(b"json/plain")}, "data": b64(text.encode())}
                         for text in texts]}


def build(tmp_path: Path, *, open_reads: bool, codec: EncryptionCodec | None = EncryptionCodec([KEY]),
          client: tuple[str, int] = LOOPBACK) -> tuple[TestClient, Store]:
    store = Store(f"sqlite:///{tmp_path / 'duecourse.db'}")

    async def connect() -> Any:
        return SimpleNamespace(data_converter=data_converter(codec))

    defaults = LifecycleDefaults(task_queue="q", company_name="N")
    app = create_app(WebConfig(connect=connect, store=store, defaults=defaults, sandbox_webhook_secret=None,
                               public_url="http://127.0.0.1:8000", ui_url=UI,
                               open_reads=open_reads))
    return TestClient(app, client=client), store


@pytest.fixture
def production(tmp_path: Path) -> Iterator[tuple[TestClient, Store]]:
    client, store = build(tmp_path, open_reads=False)
    with client:
        yield client, store


@pytest.fixture
def dev_stack(tmp_path: Path) -> Iterator[TestClient]:
    client, _ = build(tmp_path, open_reads=True)
    with client:
        yield client


def json_with(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "application/json"}


def bearer(store: Store, role: str = "viewer") -> dict[str, str]:
    return {"Authorization": f"Bearer {store.upsert_approver(f'{role}@northwind.example', Decimal('1'), role).token}"}


def test_encode_then_decode_round_trips_in_the_protocols_json(production: tuple[TestClient, Store]) -> None:
    client, store = production
    auth = bearer(store)
    sent = payloads_json('{"customer_name": "Globex Corporation"}', '"second"')
    encoded = client.post("/codec/encode", json=sent, headers=auth)
    assert encoded.status_code == 200, encoded.text
    sealed = encoded.json()["payloads"]
    assert len(sealed) == 2
    assert base64.b64decode(sealed[0]["metadata"]["encoding"]) == b"binary/encrypted"
    assert base64.b64decode(sealed[0]["metadata"]["encryption-key-id"]) == b"k1"
    assert b"Globex" not in base64.b64decode(sealed[0]["data"])
    decoded = client.post("/codec/decode", json={"payloads": sealed}, headers=auth)
    assert decoded.status_code == 200, decoded.text
    assert decoded.json() == sent


def test_what_the_worker_encrypted_decodes_through_the_endpoint(production: tuple[TestClient, Store]) -> None:
    client, store = production
    converter = data_converter(EncryptionCodec([KEY]))
    [payload] = asyncio.run(converter.encode(["Initech Ltd owes 1250.00"]))
    body = {"payloads": [{"metadata": {k: b64(v) for k, v in payload.metadata.items()}, "data": b64(payload.data)}]}
    answer = client.post("/codec/decode", json=body, headers=bearer(store)).json()["payloads"][0]
    assert json.loads(base64.b64decode(answer["data"])) == "Initech Ltd owes 1250.00"
    assert base64.b64decode(answer["metadata"]["encoding"]) == b"json/plain"


def test_plain_payloads_decode_as_they_are(production: tuple[TestClient, Store]) -> None:
    client, store = production
    sent = payloads_json('"recorded before encryption"')
    assert client.post("/codec/decode", json=sent, headers=bearer(store)).json() == sent


def test_an_empty_list_answers_an_empty_list(production: tuple[TestClient, Store]) -> None:
    client, store = production
    assert client.post("/codec/decode", json={"payloads": []}, headers=bearer(store)).json() == {"payloads": []}


def test_a_payload_of_an_unknown_key_is_refused_naming_the_key(production: tuple[TestClient, Store]) -> None:
    client, store = production
    body = {"payloads": [{"metadata": {"encoding": b64(b"binary/encrypted"), "encryption-key-id": b64(b"gone")},
                          "data": b64(bytes(40))}]}
    answer = client.post("/codec/decode", json=body, headers=bearer(store))
    assert answer.status_code == 422
    assert "'gone'" in answer.json()["detail"]


def test_a_malformed_body_is_a_400(production: tuple[TestClient, Store]) -> None:
    client, store = production
    for body in (b"not json", b'{"payloads": [{"data": 5}]}', b'{"payloads": "x"}', b'{"payload": []}'):
        answer = client.post("/codec/decode", content=body, headers=json_with(bearer(store)))
        assert answer.status_code == 400, body


def test_without_a_token_production_answers_401(production: tuple[TestClient, Store]) -> None:
    client, _ = production
    for path in ("/codec/encode", "/codec/decode"):
        assert client.post(path, json=payloads_json('"x"')).status_code == 401
        assert client.post(path, json=payloads_json('"x"'), headers={"Origin": UI}).status_code == 401
        assert client.post(path, json=payloads_json('"x"'),
                           headers={"Authorization": "Bearer dct_not-a-token"}).status_code == 401


def test_a_disabled_approvers_token_stops_working(production: tuple[TestClient, Store]) -> None:
    client, store = production
    auth = bearer(store, "admin")
    assert client.post("/codec/decode", json=payloads_json('"x"'), headers=auth).status_code == 200
    store.disable_approver("admin@northwind.example")
    assert client.post("/codec/decode", json=payloads_json('"x"'), headers=auth).status_code == 401


def test_the_dev_stack_lets_the_ui_in_without_a_token(dev_stack: TestClient) -> None:
    ui_headers = {"Origin": UI, "X-Namespace": "default"}
    answer = dev_stack.post("/codec/decode", json=payloads_json('"x"'), headers=ui_headers)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == UI
    assert dev_stack.post("/codec/decode", json=payloads_json('"x"')).status_code == 200  # the CLI, on loopback


def test_the_dev_stack_still_wants_a_token_from_another_origin(dev_stack: TestClient) -> None:
    answer = dev_stack.post("/codec/decode", json=payloads_json('"x"'), headers={"Origin": "http://evil.example"})
    assert answer.status_code == 401
    assert "access-control-allow-origin" not in answer.headers


def test_the_dev_stacks_open_reads_stop_at_loopback(tmp_path: Path) -> None:
    client, _ = build(tmp_path, open_reads=True, client=("203.0.113.9", 40000))
    with client:
        assert client.post("/codec/decode", json=payloads_json('"x"'), headers={"Origin": UI}).status_code == 401


def test_cors_preflight_from_the_ui(production: tuple[TestClient, Store]) -> None:
    client, _ = production
    answer = client.options("/codec/decode", headers={
        "Origin": UI, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace"})
    assert answer.status_code in (200, 204)
    assert answer.headers["access-control-allow-origin"] == UI
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-namespace"} <= allowed
    assert answer.headers["access-control-allow-credentials"] == "true"


def test_cors_preflight_from_another_origin_is_refused(production: tuple[TestClient, Store]) -> None:
    client, _ = production
    answer = client.options("/codec/encode", headers={"Origin": "http://evil.example",
                                                      "Access-Control-Request-Method": "POST"})
    assert answer.status_code == 403
    assert "access-control-allow-origin" not in answer.headers


def test_extra_ui_origins_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUECOURSE_CODEC_CORS_ORIGINS", "https://temporal.northwind.example, https://other.example/")
    client, _ = build(tmp_path, open_reads=False)
    with client:
        answer = client.options("/codec/decode", headers={"Origin": "https://temporal.northwind.example",
                                                          "Access-Control-Request-Method": "POST"})
        assert answer.headers["access-control-allow-origin"] == "https://temporal.northwind.example"


def test_a_body_over_4_mib_is_a_413(production: tuple[TestClient, Store]) -> None:
    client, store = production
    big = payloads_json('"' + "a" * (4 * 1024 * 1024) + '"')
    answer = client.post("/codec/decode", content=json.dumps(big).encode(),
                         headers=json_with(bearer(store)))
    assert answer.status_code == 413


def test_a_streamed_body_over_4_mib_without_a_length_is_a_413(production: tuple[TestClient, Store]) -> None:
    client, store = production

    def chunks() -> Iterator[bytes]:
        yield b'{"payloads": [{"data": "'
        for _ in range(5):
            yield b"A" * (1024 * 1024)
        yield b'"}]}'

    answer = client.post("/codec/decode", content=chunks(), headers=json_with(bearer(store)))
    assert answer.status_code == 413


def test_without_keys_encode_says_so_and_decode_passes_plain_payloads(tmp_path: Path) -> None:
    client, store = build(tmp_path, open_reads=False, codec=None)
    with client:
        auth = bearer(store)
        encoded = client.post("/codec/encode", json=payloads_json('"x"'), headers=auth)
        assert encoded.status_code == 503 and "DUECOURSE_CODEC_KEYS" in encoded.json()["detail"]
        assert client.post("/codec/decode", json=payloads_json('"x"'), headers=auth).json() == payloads_json('"x"')
