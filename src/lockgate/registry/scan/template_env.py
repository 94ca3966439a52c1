"""The Jinja environments used to parse and to render chat templates, with the same extensions
Hugging Face transformers enables (loop controls and the `{% generation %}` marker)."""

from __future__ import annotations

from typing import NoReturn

from jinja2 import Environment, TemplateError, nodes
from jinja2.exceptions import SecurityError
from jinja2.ext import Extension, loopcontrols
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationBlock(Extension):
    """Accept transformers' `{% generation %}...{% endgeneration %}` marker as a plain block."""

    tags = {"generation"}  # noqa: RUF012 (jinja2 declares it a mutable set)

    def parse(self, parser: Parser) -> list[nodes.Node]:
        next(parser.stream)
        return list(parser.parse_statements(("name:endgeneration",), drop_needle=True))


EXTENSIONS = [loopcontrols, GenerationBlock]


def _raise_exception(message: str) -> NoReturn:
    raise TemplateError(message)


def _strftime_now(fmt: str) -> str:
    return "01 Jan 2026"


MAX_RANGE = 4096


def _bounded_range(*args: int) -> range:
    """`range` for untrusted templates: chat templates never need long loops, and nested
    loops over Jinja's default 100,000-item limit would stall the scanner."""
    bounded = range(*args)
    if len(bounded) > MAX_RANGE:
        raise SecurityError(f"range of {len(bounded)} items exceeds {MAX_RANGE}")
    return bounded


def parsing_environment() -> Environment:
    return Environment(extensions=EXTENSIONS)


def sandbox_environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=EXTENSIONS)
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    env.globals["range"] = _bounded_range
    return env
