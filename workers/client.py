"""The one Temporal client factory: pydantic data converter, payload encryption, Temporal's standard client
settings.

Used by the worker, the web app, the CLI and the tests. `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`,
`TEMPORAL_API_KEY` and the `TEMPORAL_TLS_*` variables (and a Temporal config profile) are honoured through
`temporalio.envconfig`, as every Temporal tool reads them.

Payloads are encrypted (`adapters.codec`) when keys are configured: `DUECOURSE_CODEC_KEYS` or
`DUECOURSE_CODEC_KEY_FILE`, or else the key `duecourse dev` made for the running stack in the data dir, so
every process that talks to one stack (worker, web app, CLI) reads and writes the same ciphertext.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfig

from adapters.codec import EncryptionCodec, codec_from_environment, keys_from_file
from workers.settings import data_dir, read_stack

# Where `duecourse dev` keeps the key it made for its stack (when the operator configured none).
DEV_KEY_FILE = "codec.key"


def dev_key_file(home: Path) -> Path:
    return home / DEV_KEY_FILE


def payload_codec(home: Path | None = None) -> EncryptionCodec | None:
    """The operator's keys, else the key of the dev stack running in `home` (the data dir), else None (payloads
    stay plain)."""
    codec = codec_from_environment()
    if codec is not None:
        return codec
    home = home or data_dir()
    key_file = dev_key_file(home)
    if key_file.exists() and read_stack(home) is not None:
        return EncryptionCodec(keys_from_file(key_file))
    return None


def data_converter(codec: EncryptionCodec | None = None) -> DataConverter:
    """pydantic's converter, with `codec` sealing every payload when there is one."""
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)


async def connect(address: str | None = None, namespace: str | None = None, home: Path | None = None) -> Client:
    """A client of `address` (else the standard settings, else 127.0.0.1:7233); `home` names the data dir of the
    dev stack whose key to use when it is not this process's own (`DUECOURSE_HOME`)."""
    overrides: dict[str, str] = {}
    if address:
        overrides["TEMPORAL_ADDRESS"] = address
    if namespace:
        overrides["TEMPORAL_NAMESPACE"] = namespace
    env = {**os.environ, **overrides}
    config = ClientConfig.load_client_connect_config(override_env_vars=env)
    config.setdefault("target_host", "127.0.0.1:7233")
    return await Client.connect(**config, data_converter=data_converter(payload_codec(home)))
