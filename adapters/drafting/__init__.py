"""Drafting customer-facing text: the drafter port, the template and LLM drafters, guardrails, prompts."""
