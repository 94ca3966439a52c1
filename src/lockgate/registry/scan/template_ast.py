"""Static analysis of a chat template's Jinja syntax tree.

Flags code-execution attempts (dunder attributes, `attr` with computed names, exploit
gadget globals, template imports), literal instructions and URLs, and conditionals that
compare message content with a literal phrase: critical when such a branch emits
natural-language text (the trigger backdoor pattern), medium otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from jinja2 import nodes

from lockgate.registry.scan import template_text as text
from lockgate.registry.scan.model import Finding, Severity
from lockgate.registry.scan.rules import finding

GADGET_GLOBALS = frozenset(
    {"self", "cycler", "joiner", "lipsum", "config", "request", "url_for", "get_flashed_messages", "session"}
)
DUNDER_WORDS = frozenset(
    {"__class__", "__mro__", "__base__", "__bases__", "__subclasses__", "__globals__", "__builtins__",
     "__import__", "__init__", "__dict__", "__getattribute__", "__code__", "__reduce__", "__loader__"}
)  # fmt: skip
SEARCH_METHODS = frozenset({"startswith", "endswith", "find", "rfind", "count", "index", "rindex"})
STRUCTURAL_KEYS = frozenset({"role", "type", "name", "id", "tool_call_id", "function"})
LONG_LITERAL_CHARS = 300
_COMPARE_OPS = frozenset({"in", "notin", "eq", "ne"})


@dataclass
class StaticResult:
    findings: list[Finding] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)

    @property
    def code_execution(self) -> bool:
        rules = {"template.code-execution", "template.dangerous-global", "template.loads-template"}
        return any(f.rule in rules for f in self.findings)


def _is_structural(expr: nodes.Node) -> bool:
    """True for expressions like message['role'], m.type or a variable called role."""
    if isinstance(expr, nodes.Getitem) and isinstance(expr.arg, nodes.Const):
        return str(expr.arg.value) in STRUCTURAL_KEYS
    if isinstance(expr, nodes.Getattr):
        return expr.attr in STRUCTURAL_KEYS
    if isinstance(expr, nodes.Name):
        return expr.name in STRUCTURAL_KEYS
    if isinstance(expr, nodes.Filter) and expr.node is not None:
        return _is_structural(expr.node)
    return False


def _phrase(literal: object) -> str | None:
    if not isinstance(literal, str) or text.is_token_like(literal) or text.is_role_literal(literal):
        return None
    return literal


def _compare_triggers(node: nodes.Compare) -> Iterator[str]:
    operands = [node.expr, *(op.expr for op in node.ops)]
    if not any(op.op in _COMPARE_OPS for op in node.ops):
        return
    consts = [o for o in operands if isinstance(o, nodes.Const)]
    others = [o for o in operands if not isinstance(o, nodes.Const)]
    if others and not all(_is_structural(o) for o in others):
        yield from (p for p in (_phrase(c.value) for c in consts) if p)


def _call_triggers(node: nodes.Call) -> Iterator[str]:
    func = node.node
    if isinstance(func, nodes.Getattr) and func.attr in SEARCH_METHODS and not _is_structural(func.node):
        for arg in node.args:
            if isinstance(arg, nodes.Const) and (phrase := _phrase(arg.value)):
                yield phrase


def triggers_in(expr: nodes.Node) -> list[str]:
    """Literal phrases that an expression compares message content against."""
    found = [t for n in expr.find_all(nodes.Compare) for t in _compare_triggers(n)]
    found += [t for n in expr.find_all(nodes.Call) for t in _call_triggers(n)]
    if isinstance(expr, nodes.Compare):
        found += list(_compare_triggers(expr))
    if isinstance(expr, nodes.Call):
        found += list(_call_triggers(expr))
    return list(dict.fromkeys(found))


def _emitted_literals(body: Iterable[nodes.Node]) -> list[str]:
    literals: list[str] = []
    for node in body:
        for out in [node] if isinstance(node, nodes.Output) else list(node.find_all(nodes.Output)):
            literals += [d.data for d in out.find_all(nodes.TemplateData)]
            literals += [c.value for c in out.find_all(nodes.Const) if isinstance(c.value, str)]
    return literals


def _target_key(target: nodes.Node) -> str | None:
    if isinstance(target, nodes.Name):
        return target.name
    if isinstance(target, nodes.NSRef):
        return f"{target.name}.{target.attr}"
    return None


def _flag_variables(tree: nodes.Template) -> dict[str, list[str]]:
    """Variables assigned from a content comparison: {% set hit = 'x' in message.content %}."""
    flags: dict[str, list[str]] = {}
    for assign in tree.find_all(nodes.Assign):
        key = _target_key(assign.target)
        found = triggers_in(assign.node)
        if key and found:
            flags.setdefault(key, []).extend(found)
    return flags


def _flag_refs(test: nodes.Node, flags: dict[str, list[str]]) -> list[str]:
    found: list[str] = []
    candidates = [test, *test.find_all((nodes.Name, nodes.Getattr))]
    for node in candidates:
        if isinstance(node, nodes.Name):
            found += flags.get(node.name, [])
        elif isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
            found += flags.get(f"{node.node.name}.{node.attr}", [])
    return found


def _branches(node: nodes.If | nodes.CondExpr) -> list[nodes.Node]:
    if isinstance(node, nodes.CondExpr):
        return [nodes.Output([e]) for e in (node.expr1, node.expr2) if e is not None]
    return [*node.body, *(n for elif_ in node.elif_ for n in elif_.body), *node.else_]


def _conditional_findings(tree: nodes.Template, location: str, result: StaticResult) -> None:
    flags = _flag_variables(tree)
    for cond in tree.find_all((nodes.If, nodes.CondExpr)):
        assert isinstance(cond, nodes.If | nodes.CondExpr)
        found = list(dict.fromkeys(triggers_in(cond.test) + _flag_refs(cond.test, flags)))
        if not found:
            continue
        result.triggers.extend(t for t in found if t not in result.triggers)
        emitted = [lit for lit in _emitted_literals(_branches(cond)) if text.is_natural_language(lit)]
        if emitted:
            msg = f"when a message contains {found[0]!r} the template emits {text.snippet(emitted[0])!r}"
            result.findings.append(finding("template.trigger-conditional", location, msg))
        else:
            msg = f"a condition compares message content with {found[0]!r}"
            result.findings.append(finding("template.content-conditional", location, msg))


def _dunder_access(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Getattr) and node.attr.startswith("__"):
        return node.attr
    if isinstance(node, nodes.Getitem | nodes.Filter):
        args = [node.arg] if isinstance(node, nodes.Getitem) else node.args
        for arg in args:
            if isinstance(arg, nodes.Const) and isinstance(arg.value, str) and arg.value.startswith("_"):
                return arg.value
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return next((w for w in sorted(DUNDER_WORDS) if w in node.value), None)
    return None


def _computed_attr(node: nodes.Node) -> bool:
    return (
        isinstance(node, nodes.Filter)
        and node.name == "attr"
        and not all(isinstance(arg, nodes.Const) for arg in node.args)
    )


def _access_findings(tree: nodes.Template, location: str) -> list[Finding]:
    out: list[Finding] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Const)):
        name = _dunder_access(node)
        if name:
            out.append(finding("template.code-execution", location, f"accesses {name!r}"))
        elif _computed_attr(node):
            msg = "uses the attr filter with a computed attribute name"
            out.append(finding("template.code-execution", location, msg, Severity.HIGH))
    return out


def _gadget_findings(tree: nodes.Template, location: str) -> list[Finding]:
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    used = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
    out = [
        finding("template.dangerous-global", location, f"uses the Jinja global {name!r}")
        for name in sorted((used & GADGET_GLOBALS) - assigned)
    ]
    for node in tree.find_all((nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends)):
        out.append(finding("template.loads-template", location, f"{type(node).__name__.lower()} statement"))
    return out


def literal_findings(literals: Iterable[str], location: str) -> list[Finding]:
    """Injected instructions, URLs and long fixed text in literal or rendered template text."""
    out: list[Finding] = []
    for literal in literals:
        phrase = text.injection_phrase(literal)
        if phrase:
            msg = f"contains {phrase!r} in {text.snippet(literal)!r}"
            out.append(finding("template.injected-instruction", location, msg))
        out += [finding("template.url", location, f"contains the URL {url}") for url in text.urls(literal)]
        if len(literal) > LONG_LITERAL_CHARS and text.is_natural_language(literal):
            msg = f"{len(literal)} characters of fixed text: {text.snippet(literal)!r}"
            out.append(finding("template.long-literal", location, msg))
    return out


def _all_literals(tree: nodes.Template) -> list[str]:
    literals = [d.data for d in tree.find_all(nodes.TemplateData)]
    return literals + [c.value for c in tree.find_all(nodes.Const) if isinstance(c.value, str)]


def analyse(tree: nodes.Template, location: str) -> StaticResult:
    """Run every static check over a parsed template."""
    result = StaticResult()
    result.findings += _access_findings(tree, location)
    result.findings += _gadget_findings(tree, location)
    result.findings += literal_findings(_all_literals(tree), location)
    _conditional_findings(tree, location, result)
    return result
