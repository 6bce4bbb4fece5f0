"""The prompt registry: loads `<id>/v<version>.md` files and renders them into chat messages.

A prompt file is front-matter, then a `# system` section and a `# user` section:

    ---
    id: reminder
    version: 1
    ---
    # system
    You write payment reminders ...
    # user
    Facts: $facts

The user section is a `string.Template` (`$name`), so JSON examples with braces need no escaping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

PROMPTS_DIR = Path(__file__).resolve().parent

_FILE_NAME = re.compile(r"^v(?P<version>\d+)\.md$")
_FRONT_MATTER = re.compile(r"\A---\s*\n(?P<head>.*?)\n---\s*\n(?P<rest>.*)\Z", re.S)
_SECTION = re.compile(r"^# (system|user)\s*$", re.M)


class PromptNotFound(LookupError):
    """No prompt file with that id (or that version)."""


class PromptFileError(ValueError):
    """A prompt file that does not follow the format, or a render that misses a value."""


@dataclass(frozen=True)
class Prompt:
    id: str
    version: str
    system: str
    user: str
    path: Path
    description: str = ""

    def render(self, **values: object) -> list[dict[str, str]]:
        """The chat messages for these values; every `$name` in the user section must be given."""
        try:
            user = Template(self.user).substitute({k: str(v) for k, v in values.items()})
        except (KeyError, ValueError) as exc:
            raise PromptFileError(f"prompt {self.id} v{self.version}: cannot render: {exc}") from exc
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


def parse_prompt(text: str, path: Path) -> Prompt:
    match = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if match is None:
        raise PromptFileError(f"{path}: no front-matter (--- id/version ---)")
    head: dict[str, str] = {}
    for line in match["head"].splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise PromptFileError(f"{path}: front-matter line without ':': {line!r}")
        head[key.strip()] = value.strip().strip("\"'")
    for key in ("id", "version"):
        if not head.get(key):
            raise PromptFileError(f"{path}: front-matter has no {key}")
    parts = _SECTION.split(match["rest"])
    # parts: [preamble, "system", text, "user", text] in whatever order the file has them
    sections = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if not sections.get("system") or not sections.get("user"):
        raise PromptFileError(f"{path}: needs a '# system' and a '# user' section")
    return Prompt(
        id=head["id"],
        version=head["version"],
        system=sections["system"],
        user=sections["user"],
        path=path,
        description=head.get("description", ""),
    )


class PromptRegistry:
    """Every prompt file under one directory (by default the files shipped in this package)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or PROMPTS_DIR
        self._loaded: dict[tuple[str, str], Prompt] = {}

    def ids(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self._files(p.name))

    def versions(self, prompt_id: str) -> list[str]:
        """Versions of one prompt, oldest first."""
        return [version for version, _ in self._files(prompt_id)]

    def get(self, prompt_id: str, version: str | None = None) -> Prompt:
        """One prompt; the newest version when `version` is None."""
        files = self._files(prompt_id)
        if not files:
            raise PromptNotFound(f"no prompt {prompt_id!r} under {self.root}")
        if version is None:
            version, path = files[-1]
        else:
            version = version.removeprefix("v")
            found = dict(files).get(version)
            if found is None:
                raise PromptNotFound(f"prompt {prompt_id!r} has no version {version} (has {self.versions(prompt_id)})")
            path = found
        key = (prompt_id, version)
        if key not in self._loaded:
            prompt = parse_prompt(path.read_text(encoding="utf-8"), path)
            if (prompt.id, prompt.version) != key:
                raise PromptFileError(
                    f"{path}: front-matter says {prompt.id} v{prompt.version}, "
                    f"the file name says {prompt_id} v{version}"
                )
            self._loaded[key] = prompt
        return self._loaded[key]

    def _files(self, prompt_id: str) -> list[tuple[str, Path]]:
        folder = self.root / prompt_id
        if not folder.is_dir():
            return []
        found = []
        for path in folder.iterdir():
            match = _FILE_NAME.match(path.name)
            if match:
                found.append((int(match["version"]), match["version"], path))
        return [(version, path) for _, version, path in sorted(found)]
