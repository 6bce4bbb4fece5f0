"""The AES-GCM payload codec: round trip, key rotation, unknown keys, plain payloads passing through,
tampering detected, and the key configuration an operator writes (environment or file)."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from adapters.codec import (
    ENCODING,
    KEY_ID_METADATA,
    CodecKey,
    CodecKeyError,
    EncryptionCodec,
    PayloadDecryptionError,
    codec_from_environment,
    create_key_file,
    keys_from_environment,
    keys_from_file,
    parse_keys,
)

OLD = CodecKey("2024-01", bytes(range(32)))
NEW = CodecKey("2025-06", bytes(range(100, 132)))


def b64(secret: bytes) -> str:
    return base64.b64encode(secret).decode()


def customer_payload(name: str = "Globex Corporation") -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'{{"customer_name": "{name}"}}'.encode())


async def test_a_payload_round_trips_and_its_plain_text_is_gone() -> None:
    codec = EncryptionCodec([NEW])
    original = customer_payload()
    [sealed] = await codec.encode([original])
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert sealed.metadata[KEY_ID_METADATA] == b"2025-06"
    assert b"Globex" not in sealed.data and b"json/plain" not in sealed.data
    [opened] = await codec.decode([sealed])
    assert opened == original


async def test_the_same_payload_encrypts_differently_each_time() -> None:
    codec = EncryptionCodec([NEW])
    first, second = await codec.encode([customer_payload(), customer_payload()])
    assert first.data != second.data  # a fresh nonce per payload


async def test_rotation_encrypts_with_the_first_key_and_reads_the_old_ones() -> None:
    [written_before] = await EncryptionCodec([OLD]).encode([customer_payload("Initech")])
    rotated = EncryptionCodec([NEW, OLD])
    [written_after] = await rotated.encode([customer_payload("Umbrella")])
    assert written_after.metadata[KEY_ID_METADATA] == b"2025-06"
    decoded = await rotated.decode([written_before, written_after])
    assert decoded == [customer_payload("Initech"), customer_payload("Umbrella")]


async def test_a_payload_whose_key_is_unknown_names_the_key_id() -> None:
    [sealed] = await EncryptionCodec([OLD]).encode([customer_payload()])
    with pytest.raises(PayloadDecryptionError, match=r"'2024-01'.*not configured"):
        await EncryptionCodec([NEW]).decode([sealed])


async def test_payloads_recorded_before_encryption_pass_through() -> None:
    plain = [customer_payload(), Payload(metadata={"encoding": b"binary/null"})]
    assert await EncryptionCodec([NEW]).decode(plain) == plain


@pytest.mark.parametrize("where", ["first byte", "last byte", "middle"])
async def test_tampering_with_the_ciphertext_is_detected(where: str) -> None:
    codec = EncryptionCodec([NEW])
    [sealed] = await codec.encode([customer_payload()])
    data = bytearray(sealed.data)
    index = {"first byte": 0, "last byte": len(data) - 1, "middle": len(data) // 2}[where]
    data[index] ^= 0x01
    altered = Payload(metadata=dict(sealed.metadata), data=bytes(data))
    with pytest.raises(PayloadDecryptionError, match="altered"):
        await codec.decode([altered])


async def test_moving_a_payload_to_another_key_id_is_detected() -> None:
    # Both keys are known; the payload claims the other one: authenticated data catches it.
    codec = EncryptionCodec([NEW, OLD])
    [sealed] = await codec.encode([customer_payload()])
    relabelled = Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: b"2024-01"}, data=sealed.data)
    with pytest.raises(PayloadDecryptionError):
        await codec.decode([relabelled])


async def test_a_truncated_payload_is_refused() -> None:
    truncated = Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: b"2025-06"}, data=b"short")
    with pytest.raises(PayloadDecryptionError, match="truncated"):
        await EncryptionCodec([NEW]).decode([truncated])


def test_keys_from_the_environment_in_order() -> None:
    env = {"DUECOURSE_CODEC_KEYS": f"2025-06:{b64(NEW.secret)}, 2024-01:{b64(OLD.secret)}"}
    assert keys_from_environment(env) == [NEW, OLD]
    codec = codec_from_environment(env)
    assert codec is not None and codec.key_id == "2025-06"


def test_no_keys_configured_means_no_codec() -> None:
    assert keys_from_environment({}) is None
    assert codec_from_environment({"DUECOURSE_CODEC_KEYS": "  "}) is None


def test_the_environment_variable_wins_over_the_file(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(f"2024-01:{b64(OLD.secret)}\n")
    env = {"DUECOURSE_CODEC_KEYS": f"2025-06:{b64(NEW.secret)}", "DUECOURSE_CODEC_KEY_FILE": str(key_file)}
    assert keys_from_environment(env) == [NEW]
    assert keys_from_environment({"DUECOURSE_CODEC_KEY_FILE": str(key_file)}) == [OLD]


def test_a_key_file_with_comments_and_one_key_a_line(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(f"# rotated June\n2025-06:{b64(NEW.secret)}\n\n2024-01:{b64(OLD.secret)}  # retire in 2026\n")
    assert keys_from_file(key_file) == [NEW, OLD]


def test_aes_128_and_192_keys_are_accepted() -> None:
    keys = parse_keys(f"a:{b64(bytes(16))},b:{b64(bytes(24))}", "test")
    assert [len(key.secret) for key in keys] == [16, 24]


@pytest.mark.parametrize(("text", "message"), [
    ("k1", "line 1: expected id:base64key"),
    ("k1:", "line 1: expected id:base64key"),
    (f"k1:{b64(bytes(32))}\nk2:not base64!!", "line 2: key 'k2' is not base64"),
    (f"k1:{b64(bytes(20))}", "key 'k1' is 20 bytes; AES-GCM needs 16, 24 or 32"),
    (f"bad id:{b64(bytes(32))}", "key id 'bad id'"),
    (f"k1:{b64(bytes(32))},k1:{b64(bytes(16))}", "'k1' appears twice"),
    ("# only a comment", "no keys"),
])
def test_a_bad_key_configuration_names_its_source_and_line(text: str, message: str) -> None:
    with pytest.raises(CodecKeyError) as raised:
        parse_keys(text, "DUECOURSE_CODEC_KEYS")
    assert "DUECOURSE_CODEC_KEYS" in str(raised.value) and message in str(raised.value)


def test_a_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.key"
    with pytest.raises(CodecKeyError, match=r"nowhere\.key: cannot read"):
        keys_from_environment({"DUECOURSE_CODEC_KEY_FILE": str(missing)})


def test_a_made_key_file_is_private_and_made_once(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "codec.key"
    assert create_key_file(key_file) is True
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    [key] = keys_from_file(key_file)
    assert len(key.secret) == 32
    assert create_key_file(key_file) is False  # a second start keeps the first key
    assert keys_from_file(key_file) == [key]
    assert [p.name for p in key_file.parent.iterdir()] == ["codec.key"]  # no temporary file left behind
