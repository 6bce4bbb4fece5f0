"""One scripted OpenAI-compatible server per test module, reset before every test that uses it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adapters.drafting.fake_openai import FakeOpenAI


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOpenAI) -> FakeOpenAI:
    server.reset()
    return server
