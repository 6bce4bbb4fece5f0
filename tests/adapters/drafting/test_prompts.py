"""The prompt registry: versioned prompt files, the newest answering unless one is pinned, broken files refused."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from adapters.drafting.llm import LlmDrafter
from adapters.drafting.prompts import PromptFileError, PromptNotFound, PromptRegistry
from tests.adapters.drafting.examples import FACTS
from tests.adapters.drafting.fake_openai import FakeOpenAI, good


def test_the_shipped_prompts() -> None:
    registry = PromptRegistry()
    assert {"reminder", "dispute_summary", "invoice_lines"} <= set(registry.ids())
    prompt = registry.get("reminder")
    assert (prompt.id, prompt.version) == ("reminder", "1")
    messages = prompt.render(facts='{"invoice_number": "INV-1042"}')
    assert "JSON" in messages[0]["content"] and "INV-1042" in messages[1]["content"]
    for prompt_id in registry.ids():
        assert registry.get(prompt_id).render(facts="{}")


def write_prompt(root: Path, prompt_id: str, version: str, *, declared: str | None = None) -> None:
    folder = root / prompt_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"v{version}.md").write_text(
        f"---\nid: {prompt_id}\nversion: {declared or version}\n---\n# system\nAnswer in JSON. v{version}\n"
        "# user\nFacts: $facts\n"
    )


def test_the_newest_version_answers_unless_one_is_pinned(tmp_path: Path, fake: FakeOpenAI) -> None:
    for version in ("1", "2", "10"):
        write_prompt(tmp_path, "reminder", version)
    registry = PromptRegistry(tmp_path)
    assert registry.versions("reminder") == ["1", "2", "10"]
    assert registry.get("reminder").version == "10"
    assert registry.get("reminder", "v2").system.endswith("v2")

    fake.script(good)
    client = openai.OpenAI(base_url=fake.base_url, api_key="test-key")
    draft = LlmDrafter(client, "fake-model", timeout=5.0, prompts=registry).draft_reminder(FACTS)
    assert draft.prompt_version == "10" and fake.requests[0]["messages"][0]["content"].endswith("v10")


def test_broken_prompt_files_are_refused(tmp_path: Path) -> None:
    write_prompt(tmp_path, "reminder", "1", declared="2")
    registry = PromptRegistry(tmp_path)
    with pytest.raises(PromptFileError, match="front-matter says"):
        registry.get("reminder")
    with pytest.raises(PromptNotFound):
        registry.get("reminder", "3")
    with pytest.raises(PromptNotFound):
        registry.get("nothing")
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "v1.md").write_text("# system\nhi\n# user\nthere\n")
    with pytest.raises(PromptFileError, match="front-matter"):
        registry.get("bare")
    write_prompt(tmp_path, "needs", "1")
    with pytest.raises(PromptFileError, match="cannot render"):
        registry.get("needs").render(other="x")
