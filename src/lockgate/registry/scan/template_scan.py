"""Chat-template analysis entry point: parse, run the static checks, then the sandboxed render."""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateSyntaxError, nodes

from lockgate.registry.scan.model import Finding
from lockgate.registry.scan.rules import finding
from lockgate.registry.scan.template_ast import analyse
from lockgate.registry.scan.template_env import parsing_environment
from lockgate.registry.scan.template_render import render_findings


def parse_template(source: str) -> nodes.Template:
    return parsing_environment().parse(source)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for item in findings:
        key = (item.rule, item.location, item.message)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def scan_template(source: Any, location: str) -> list[Finding]:
    """All findings for one chat template; `location` names the file and template key."""
    if not isinstance(source, str):
        msg = f"template is a {type(source).__name__}, not text"
        return [finding("template.syntax-error", location, msg)]
    try:
        tree = parse_template(source)
    except TemplateSyntaxError as exc:
        return [finding("template.syntax-error", location, f"line {exc.lineno}: {exc.message}")]
    static = analyse(tree, location)
    if static.code_execution:
        return _dedupe(static.findings)
    return _dedupe(static.findings + render_findings(source, location, static.triggers))
