"""The catalogue of scanner rules: one id, default severity, blocking flag and help text each.

Scanners create findings through `finding()`, so severity and blocking are decided here,
in one table, rather than scattered through the scanners. SARIF output lists this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from lockgate.registry.scan.model import Finding, Severity


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    blocking: bool
    title: str
    help: str


_C, _H, _M, _L, _I = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO

_RULES = [
    # pickle
    Rule(
        "pickle.dangerous-global",
        _C,
        True,
        "Pickle imports a dangerous callable",
        "Loading this file runs code that can execute commands, open files or sockets. "
        "Convert the weights to safetensors or GGUF and do not load the pickle.",
    ),
    Rule(
        "pickle.dynamic-global",
        _H,
        True,
        "Pickle builds an import from computed names",
        "STACK_GLOBAL or EXT opcodes take their module/name from values that are not plain "
        "string literals, a known way to hide imports from scanners.",
    ),
    Rule(
        "pickle.indirect-call",
        _H,
        True,
        "Pickle calls a value that is not an imported global",
        "REDUCE/OBJ/NEWOBJ applied to the result of another call (e.g. getattr(...)(...)) "
        "is how scanners are bypassed; legitimate weight pickles never do this.",
    ),
    Rule(
        "pickle.unknown-global",
        _M,
        False,
        "Pickle imports a callable outside the allowlist",
        "The import is not known to be dangerous but is not a tensor/container rebuild helper "
        "either. Review the module before loading the file.",
    ),
    Rule(
        "pickle.unscannable",
        _H,
        True,
        "Model archive cannot be inspected",
        "The file is a compressed archive (e.g. 7z) or a zip member that cannot be read, so "
        "its pickles cannot be scanned. Loaders may still execute it.",
    ),
    Rule(
        "pickle.malformed",
        _L,
        False,
        "Pickle stream is malformed",
        "The opcode stream could not be fully parsed; opcodes before the error were analysed.",
    ),
    # safetensors
    Rule(
        "safetensors.truncated",
        _C,
        True,
        "safetensors file is truncated",
        "The file is shorter than its 8-byte header length prefix says.",
    ),
    Rule(
        "safetensors.header-too-large",
        _C,
        True,
        "safetensors header exceeds the size limit",
        "Headers over 100 MB are rejected by the reference loader (denial of service).",
    ),
    Rule(
        "safetensors.header-invalid",
        _H,
        True,
        "safetensors header is not a valid JSON object",
        "The header must be a UTF-8 JSON object starting with '{' without duplicate keys.",
    ),
    Rule(
        "safetensors.bad-entry",
        _H,
        True,
        "safetensors tensor entry is malformed",
        "Each tensor needs exactly dtype, shape (non-negative ints) and data_offsets [begin, end].",
    ),
    Rule(
        "safetensors.bad-dtype",
        _H,
        True,
        "safetensors tensor has an unknown dtype",
        "Only the dtypes defined by the safetensors format are accepted.",
    ),
    Rule(
        "safetensors.size-mismatch",
        _H,
        True,
        "Tensor byte length does not match shape x dtype",
        "data_offsets must span exactly the bytes the shape and dtype require.",
    ),
    Rule(
        "safetensors.out-of-bounds",
        _C,
        True,
        "Tensor data_offsets point outside the data section",
        "An offset beyond the file makes loaders read out of bounds.",
    ),
    Rule(
        "safetensors.overlap",
        _C,
        True,
        "Tensor byte ranges overlap",
        "Two tensors share bytes; the reference loader refuses such files.",
    ),
    Rule(
        "safetensors.gap",
        _H,
        True,
        "Unused bytes between tensors",
        "The data section must be covered contiguously; gaps can hide payloads.",
    ),
    Rule(
        "safetensors.trailing-data",
        _H,
        True,
        "Trailing bytes after the last tensor",
        "Bytes after the last tensor are not part of any tensor and can hide payloads.",
    ),
    Rule(
        "safetensors.bad-metadata",
        _H,
        True,
        "__metadata__ is not a string-to-string map",
        "The format allows only string values in __metadata__.",
    ),
    # gguf
    Rule(
        "gguf.malformed",
        _C,
        True,
        "GGUF file cannot be parsed",
        "The gguf reader rejected the file; malformed GGUF has triggered loader memory-safety CVEs.",
    ),
    Rule(
        "gguf.no-architecture",
        _H,
        True,
        "GGUF has no general.architecture",
        "Engines cannot load a GGUF without its architecture key.",
    ),
    Rule(
        "gguf.context-length",
        _M,
        False,
        "GGUF context length is missing or implausible",
        "<arch>.context_length should be a positive integer no larger than 16M tokens.",
    ),
    Rule(
        "gguf.tensor-count",
        _H,
        True,
        "GGUF tensor count does not match the tensor table",
        "The header's tensor_count differs from the tensors actually described.",
    ),
    Rule(
        "gguf.tensor-bounds",
        _C,
        True,
        "GGUF tensor data lies outside the file",
        "A tensor's offset and size run past the end of the file.",
    ),
    Rule(
        "gguf.tensor-overlap",
        _C,
        True,
        "GGUF tensors overlap",
        "Two tensors share bytes in the data section.",
    ),
    Rule(
        "gguf.tensor-alignment",
        _M,
        False,
        "GGUF tensor is not aligned",
        "Tensor offsets must be multiples of general.alignment.",
    ),
    # chat templates
    Rule(
        "template.code-execution",
        _C,
        True,
        "Chat template attempts Python object access",
        "Access to dunder attributes (__class__, __globals__, __subclasses__...) is the "
        "server-side template injection route to code execution (CVE-2024-34359).",
    ),
    Rule(
        "template.dangerous-global",
        _H,
        True,
        "Chat template uses a Jinja global used in exploits",
        "self, cycler, joiner, lipsum, config, request, url_for have no use in chat templates "
        "and are classic SSTI gadgets.",
    ),
    Rule(
        "template.loads-template",
        _H,
        True,
        "Chat template imports or includes other templates",
        "import/include/extends pull template code from outside the model file.",
    ),
    Rule(
        "template.trigger-conditional",
        _C,
        True,
        "Chat template emits text when a trigger phrase appears",
        "A condition on the content of user messages injects instructions only when a "
        "phrase is present: the inference-time backdoor pattern (Pillar Security 2025).",
    ),
    Rule(
        "template.content-conditional",
        _M,
        False,
        "Chat template branches on message content",
        "A condition compares message content with a literal. Review what the branch does.",
    ),
    Rule(
        "template.injected-instruction",
        _H,
        True,
        "Chat template contains an injected instruction",
        "Literal or rendered text tells the model to ignore instructions, recommend or hide "
        "things, or steers its behaviour without the operator's knowledge.",
    ),
    Rule(
        "template.url",
        _M,
        False,
        "Chat template contains a URL",
        "URLs in a template end up in the prompt; backdoored templates use them to make "
        "models emit attacker links.",
    ),
    Rule(
        "template.long-literal",
        _L,
        False,
        "Chat template injects a long fixed text",
        "Long literal text not derived from messages is sent with every prompt.",
    ),
    Rule(
        "template.default-system-prompt",
        _I,
        False,
        "Chat template adds a default system prompt",
        "Text that the template adds on its own when no system message is given.",
    ),
    Rule(
        "template.syntax-error",
        _H,
        True,
        "Chat template is not valid Jinja",
        "The template cannot be parsed; engines will fail or fall back to another template.",
    ),
    Rule(
        "template.sandbox-violation",
        _C,
        True,
        "Chat template broke the Jinja sandbox",
        "Rendering in ImmutableSandboxedEnvironment raised a security error.",
    ),
    Rule(
        "template.render-error",
        _I,
        False,
        "Chat template could not be rendered on sample messages",
        "The dynamic check was skipped; the static checks still apply.",
    ),
    # HF folders and files
    Rule(
        "hf.remote-code",
        _H,
        True,
        "Model requires trust_remote_code",
        "An auto_map entry or custom Python file makes transformers/vLLM run repository code.",
    ),
    Rule(
        "hf.executable",
        _H,
        True,
        "Unexpected executable file",
        "Native binaries, scripts or files with the executable bit have no place in a model folder.",
    ),
    Rule(
        "hf.bad-json",
        _L,
        False,
        "A configuration JSON file cannot be parsed",
        "The file was skipped by the folder checks.",
    ),
    Rule(
        "file.format-mismatch",
        _H,
        True,
        "File name and file structure disagree",
        "The suffix promises one format but the bytes validate as another (a pickle named "
        ".safetensors, a zip named .gguf). Loaders that sniff content would run the other format.",
    ),
    Rule(
        "file.polyglot",
        _C,
        True,
        "File is valid as two formats at once",
        "The bytes validate as two layouts (e.g. a safetensors or GGUF file carrying a zip "
        "archive): each loader sees a different file, which is how payloads get past scanners.",
    ),
    # MessagePack (spaCy / Thinc pipelines)
    Rule(
        "msgpack.malformed",
        _L,
        False,
        "File is not one MessagePack value",
        "Its first byte announced a MessagePack map or array, but the bytes do not decode as one.",
    ),
    Rule(
        "msgpack.unscannable",
        _L,
        False,
        "MessagePack file not decoded",
        "The decoder (srsly, installed with lockgate[ner]) is missing or the file is too large.",
    ),
    Rule(
        "file.unparseable",
        _H,
        True,
        "Weights file cannot be parsed by any scanner",
        "A .safetensors, .gguf, .bin, .pt, .pth, .ckpt or .pkl file that no scanner can parse "
        "cannot be vouched for; loaders may still read it.",
    ),
    Rule(
        "file.unrecognised", _I, False, "File format not recognised", "The file was not scanned for content."
    ),
]

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def finding(rule_id: str, location: str, message: str, severity: Severity | None = None) -> Finding:
    """Create a finding with the rule's default severity and blocking flag.

    A severity override keeps the rule's blocking flag unless it raises the finding to
    critical, which is always blocking.
    """
    rule = RULES[rule_id]
    chosen = severity or rule.severity
    blocking = rule.blocking or chosen is Severity.CRITICAL
    return Finding(rule=rule_id, severity=chosen, location=location, message=message, blocking=blocking)
