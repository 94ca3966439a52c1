"""Client-facing wire protocols, registered in one place.

Each is a ``WireProtocol`` adapter (see ``base``) served at its path; adding a protocol means
one new module and one line here.  Chat completions, the internal form, needs no adapter.
"""

from __future__ import annotations

from lockgate.protocols.anthropic import AnthropicMessages
from lockgate.protocols.base import WireProtocol
from lockgate.protocols.responses import OpenAIResponses

PROTOCOLS: dict[str, WireProtocol] = {}


def register_protocol(protocol: WireProtocol) -> WireProtocol:
    PROTOCOLS[protocol.name] = protocol
    return protocol


ANTHROPIC_MESSAGES = register_protocol(AnthropicMessages())
OPENAI_RESPONSES = register_protocol(OpenAIResponses())

__all__ = ["ANTHROPIC_MESSAGES", "OPENAI_RESPONSES", "PROTOCOLS", "WireProtocol", "register_protocol"]
