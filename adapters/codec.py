"""Payload encryption: what duecourse puts in Temporal histories is AES-GCM ciphertext.

Customer names, addresses, bank details and drafts travel through workflow histories; on a shared cluster
or Temporal Cloud those histories sit at the provider. `EncryptionCodec` seals every payload with the
first key of a key ring and opens it with whichever key its metadata names, so keys rotate without
rewriting history: put the new key first, keep the old ones until no open workflow needs them.

Keys come from the operator: `DUECOURSE_CODEC_KEYS` (`id1:base64key,id2:base64key`) or a file named by
`DUECOURSE_CODEC_KEY_FILE` holding the same entries (one a line or comma-separated, `#` comments).
A key is 16, 24 or 32 bytes (AES-128/192/256), base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEYS_VARIABLE = "DUECOURSE_CODEC_KEYS"
KEY_FILE_VARIABLE = "DUECOURSE_CODEC_KEY_FILE"
NONCE_BYTES = 12  # the nonce size AES-GCM is specified for (NIST SP 800-38D)
KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class CodecKeyError(ValueError):
    """The key configuration cannot be used (named with where it came from)."""


class PayloadDecryptionError(ValueError):
    """An encrypted payload that cannot be opened: its key is unknown, or its bytes were altered."""


@dataclass(frozen=True)
class CodecKey:
    key_id: str
    secret: bytes


def parse_keys(text: str, source: str) -> list[CodecKey]:
    """`id:base64key` entries separated by commas or lines; `source` names where they came from in errors."""
    keys: list[CodecKey] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0]
        for entry in (part.strip() for part in line.split(",")):
            if entry:
                keys.append(_parse_entry(entry, f"{source} line {line_number}"))
    if not keys:
        raise CodecKeyError(f"{source}: no keys (write id:base64key, e.g. k1:{new_key_text()})")
    seen: set[str] = set()
    for key in keys:
        if key.key_id in seen:
            raise CodecKeyError(f"{source}: key id {key.key_id!r} appears twice")
        seen.add(key.key_id)
    return keys


def _parse_entry(entry: str, where: str) -> CodecKey:
    key_id, colon, encoded = entry.partition(":")
    key_id, encoded = key_id.strip(), encoded.strip()
    if not colon or not key_id or not encoded:
        raise CodecKeyError(f"{where}: expected id:base64key, got an entry without a colon or a part")
    if not KEY_ID.match(key_id):
        raise CodecKeyError(f"{where}: key id {key_id!r} may use only letters, digits, '.', '_' and '-'")
    try:
        secret = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        try:
            secret = base64.urlsafe_b64decode(encoded)
        except (binascii.Error, ValueError):
            raise CodecKeyError(f"{where}: key {key_id!r} is not base64") from None
    if len(secret) not in (16, 24, 32):
        raise CodecKeyError(f"{where}: key {key_id!r} is {len(secret)} bytes; AES-GCM needs 16, 24 or 32")
    return CodecKey(key_id, secret)


def new_key_text(key_id: str = "k1") -> str:
    """A fresh random 256-bit key as one `id:base64key` entry."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def keys_from_environment(environ: Mapping[str, str] | None = None) -> list[CodecKey] | None:
    """The operator's keys (`DUECOURSE_CODEC_KEYS` first, then `DUECOURSE_CODEC_KEY_FILE`); None when neither
    is set. A set but unusable configuration is an error, never a silent fall back to plain text."""
    env = os.environ if environ is None else environ
    inline = env.get(KEYS_VARIABLE, "").strip()
    if inline:
        return parse_keys(inline, KEYS_VARIABLE)
    file_name = env.get(KEY_FILE_VARIABLE, "").strip()
    if file_name:
        return keys_from_file(Path(file_name))
    return None


def keys_from_file(path: Path) -> list[CodecKey]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CodecKeyError(f"{path}: cannot read the codec key file ({error.strerror or error})") from None
    return parse_keys(text, str(path))


def create_key_file(path: Path) -> bool:
    """Write a fresh key to `path` (mode 0600, created atomically) unless it exists; True when it was made.

    The key is written to a private temporary file and linked into place, so another process never reads a
    half-written key and two stacks starting at once keep the same one."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write("# duecourse payload encryption keys: id:base64key, the first one encrypts\n")
            handle.write(new_key_text() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # fails if another process made the file first: keep theirs
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


class EncryptionCodec(PayloadCodec):
    """AES-GCM with the key id in the payload metadata; encrypts with the first key, decrypts with any.

    Payloads without the encrypted encoding pass through on decode, so histories recorded before
    encryption was turned on still read."""

    def __init__(self, keys: Sequence[CodecKey]) -> None:
        if not keys:
            raise CodecKeyError("an encryption codec needs at least one key")
        self.keys = list(keys)
        self._ciphers = {key.key_id: AESGCM(key.secret) for key in self.keys}

    @property
    def key_id(self) -> str:
        return self.keys[0].key_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.key_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        # The key id is authenticated data: moving a payload onto another key id is detected, not guessed at.
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(sorted(self._ciphers))
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r}, which is not configured (known key ids: {known}); "
                f"add it to {KEYS_VARIABLE} or {KEY_FILE_VARIABLE}")
        data = payload.data
        if len(data) < NONCE_BYTES + 16:  # a nonce and GCM's 16-byte tag at the least
            raise PayloadDecryptionError(f"payload encrypted with key id {key_id!r} is truncated")
        try:
            opened = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r} does not authenticate: it was altered or the key "
                f"under that id changed") from None
        return Payload.FromString(opened)


def codec_from_environment(environ: Mapping[str, str] | None = None) -> EncryptionCodec | None:
    keys = keys_from_environment(environ)
    return EncryptionCodec(keys) if keys else None
