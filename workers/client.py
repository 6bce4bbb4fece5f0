"""The one Temporal client factory: pydantic data converter, Temporal's standard client settings.

Used by the worker, the web app, the CLI and the tests. `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`,
`TEMPORAL_API_KEY` and the `TEMPORAL_TLS_*` variables (and a Temporal config profile) are honoured through
`temporalio.envconfig`, as every Temporal tool reads them.
"""

from __future__ import annotations

import os

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig


async def connect(address: str | None = None, namespace: str | None = None) -> Client:
    overrides: dict[str, str] = {}
    if address:
        overrides["TEMPORAL_ADDRESS"] = address
    if namespace:
        overrides["TEMPORAL_NAMESPACE"] = namespace
    env = {**os.environ, **overrides}
    config = ClientConfig.load_client_connect_config(override_env_vars=env)
    config.setdefault("target_host", "127.0.0.1:7233")
    return await Client.connect(**config, data_converter=pydantic_data_converter)
