"""Versioned prompt files: `<id>/v<version>.md`, each with a small front-matter (id, version).

Every draft records the id and version of the prompt that produced it, so a prompt change is a new
file, never an edit of one that drafts already cite.
"""

from adapters.drafting.prompts.registry import Prompt, PromptFileError, PromptNotFound, PromptRegistry

__all__ = ["Prompt", "PromptFileError", "PromptNotFound", "PromptRegistry"]
