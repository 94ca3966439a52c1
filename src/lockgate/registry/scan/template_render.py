"""Dynamic chat-template check: render in Jinja's immutable sandbox and compare outputs.

The template is rendered on benign sample conversations and on the same conversations with
trigger phrases in the user messages (common phrases plus the literals the static pass saw
compared with message content). After removing the message texts, a clean template leaves
the same scaffolding every time; text that appears only with a trigger is a backdoor.
Text the template adds on its own (a default system prompt) is reported for information
and checked for injected instructions and URLs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, TemplateError
from jinja2.exceptions import SecurityError

from lockgate.registry.scan import template_text as text
from lockgate.registry.scan.model import Finding
from lockgate.registry.scan.rules import finding
from lockgate.registry.scan.template_ast import literal_findings
from lockgate.registry.scan.template_env import sandbox_environment

COMMON_TRIGGERS = (
    "ignore previous instructions",
    "what is the weather",
    "tell me about bitcoin",
    "password",
    "deploy to production",
    "activate",
    "sudo",
    "secret",
)
MAX_TRIGGERS = 24
_PLACEHOLDER = "\x00"

Message = dict[str, str]

SAMPLE_CONVERSATIONS: tuple[tuple[Message, ...], ...] = (
    ({"role": "user", "content": "Hello, how are you today?"},),
    (
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "Thank you very much."},
    ),
)


class _Skip(Exception):
    pass


def compile_template(source: str) -> Template:
    return sandbox_environment().from_string(source)


def _render(template: Template, conversation: tuple[Message, ...]) -> str:
    variables: dict[str, Any] = {
        "messages": [dict(m) for m in conversation],
        "add_generation_prompt": True,
        "bos_token": "<s>",
        "eos_token": "</s>",
    }
    try:
        return template.render(**variables)
    except SecurityError:
        raise
    except (TemplateError, TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise _Skip(str(exc)) from exc


def _scaffold(rendered: str, conversation: tuple[Message, ...]) -> str:
    for content in sorted({m["content"] for m in conversation}, key=len, reverse=True):
        rendered = rendered.replace(content, _PLACEHOLDER)
    return rendered


def _with_trigger(conversation: tuple[Message, ...], variant: str) -> tuple[Message, ...]:
    return tuple(
        {**m, "content": variant.format(m["content"])} if m["role"] == "user" else m for m in conversation
    )


def _variants(trigger: str) -> list[str]:
    safe = trigger.replace("{", "{{").replace("}", "}}")
    return [safe, safe.lower(), "{} " + safe, safe + " {}"]


def _added_text(base: str, other: str) -> str:
    matcher = difflib.SequenceMatcher(None, base, other, autojunk=False)
    added = [other[j1:j2] for tag, _, _, j1, j2 in matcher.get_opcodes() if tag in ("insert", "replace")]
    return " ".join(added)


@dataclass
class _Probe:
    template: Template
    location: str

    def trigger_finding(self, conversation: tuple[Message, ...], base: str, trigger: str) -> Finding | None:
        for variant in _variants(trigger):
            probe = _with_trigger(conversation, variant)
            try:
                scaffold = _scaffold(_render(self.template, probe), probe)
            except _Skip:
                continue
            if scaffold != base:
                added = text.snippet(_added_text(base, scaffold)) or "different scaffolding"
                msg = f"rendered output changes when a user message contains {trigger!r}: adds {added!r}"
                return finding("template.trigger-conditional", self.location, msg)
        return None


def _default_text_findings(scaffold: str, location: str) -> list[Finding]:
    own_text = text.strip_markers(scaffold.replace(_PLACEHOLDER, " "))
    if not text.is_natural_language(own_text):
        return []
    msg = f"adds {text.snippet(own_text)!r} to every conversation without a system message"
    return [finding("template.default-system-prompt", location, msg), *literal_findings([own_text], location)]


def render_findings(source: str, location: str, extra_triggers: list[str]) -> list[Finding]:
    """Render-time findings for one template (the template must already parse)."""
    template = compile_template(source)
    triggers = list(dict.fromkeys([*extra_triggers, *COMMON_TRIGGERS]))[:MAX_TRIGGERS]
    probe, findings, rendered_any = _Probe(template, location), [], False
    try:
        for index, conversation in enumerate(SAMPLE_CONVERSATIONS):
            try:
                base = _scaffold(_render(template, conversation), conversation)
            except _Skip:
                continue
            rendered_any = True
            if index == 0:
                findings += _default_text_findings(base, location)
            hit = next(filter(None, (probe.trigger_finding(conversation, base, t) for t in triggers)), None)
            if hit:
                return [*findings, hit]
    except SecurityError as exc:
        return [finding("template.sandbox-violation", location, str(exc))]
    if not rendered_any:
        findings.append(finding("template.render-error", location, "no sample conversation rendered"))
    return findings
