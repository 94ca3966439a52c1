"""Redaction with stable placeholders and restoration, streamed and not."""

from __future__ import annotations

import json
import random
from typing import Any

from pii_corpus import identifier_prompt, ordinary_document
from pii_samples import CONTEXT, SAMPLES

from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import PiiScanner
from lockgate.pii.redact import Redactor, Restorer, label

IBAN = "DE89370400440532013000"
EMAIL = "anna.schmidt@example.com"
REDACTOR = Redactor(PiiScanner(PiiConfig()))


def test_placeholders_are_stable_per_value() -> None:
    body: dict[str, Any] = {
        "messages": [
            {"role": "user", "content": f"Pay {IBAN} and tell {EMAIL}."},
            {"role": "user", "content": [{"type": "text", "text": f"Again: {IBAN}, cc other@example.org"}]},
        ]
    }
    redacted, restorer = REDACTOR.redact(body)
    assert redacted["messages"][0]["content"] == "Pay [IBAN_1] and tell [EMAIL_1]."
    assert redacted["messages"][1]["content"][0]["text"] == "Again: [IBAN_1], cc [EMAIL_2]"
    assert body["messages"][0]["content"] == f"Pay {IBAN} and tell {EMAIL}."  # input untouched
    assert restorer.mapping == {"[IBAN_1]": IBAN, "[EMAIL_1]": EMAIL, "[EMAIL_2]": "other@example.org"}


def test_tool_call_arguments_redacted_and_restored() -> None:
    args = json.dumps({"iban": IBAN, "note": "monthly"})
    body = {
        "messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "pay", "arguments": args}}]}]
    }
    redacted, restorer = REDACTOR.redact(body)
    sent = redacted["messages"][0]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(sent) == {"iban": "[IBAN_1]", "note": "monthly"}
    reply = {"choices": [{"message": {"tool_calls": [{"function": {"arguments": sent}}]}}]}
    assert (
        restorer.restore_obj(reply)["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == args
    )


def test_existing_placeholder_text_is_left_alone() -> None:
    text = f"Template [EMAIL_1] and [IBAN_2]; real {EMAIL}"
    redacted, restorer = REDACTOR.redact_text(text)
    assert redacted == "Template [EMAIL_1] and [IBAN_2]; real [EMAIL_2]"
    assert restorer.restore(redacted) == text
    assert restorer.restore("model says [EMAIL_9] and [EMAIL_2]") == f"model says [EMAIL_9] and {EMAIL}"


def test_nothing_found_means_empty_restorer_and_passthrough_stream() -> None:
    redacted, restorer = REDACTOR.redact({"prompt": "no data here"})
    assert redacted == {"prompt": "no data here"} and not restorer
    stream = restorer.stream()
    assert stream.feed("[EMA") == "[EMA" and stream.flush() == ""


def test_label_is_a_type_name() -> None:
    assert label("national_id:de") == "NATIONAL_ID_DE"
    assert label("email") == "EMAIL"


def _restorer() -> tuple[str, Restorer]:
    text = f"Send [x] to {EMAIL} from {IBAN} (IBAN). [EMAIL_ is not one"
    redacted, restorer = REDACTOR.redact_text(text)
    assert "[EMAIL_1]" in redacted and "[IBAN_1]" in redacted
    return text, restorer


def test_stream_restore_split_at_every_position() -> None:
    _, restorer = _restorer()
    reply = "Done: paid from [IBAN_1], receipt to [EMAIL_1]. Unknown [EMAIL_7] and [ bracket [IBAN_1]"
    expected = restorer.restore(reply)
    assert IBAN in expected and EMAIL in expected and "[EMAIL_7]" in expected
    for cut in range(len(reply) + 1):
        stream = restorer.stream()
        assert stream.feed(reply[:cut]) + stream.feed(reply[cut:]) + stream.flush() == expected
    for i in range(len(reply)):
        for j in range(i, len(reply) + 1):
            stream = restorer.stream()
            parts = [stream.feed(reply[:i]), stream.feed(reply[i:j]), stream.feed(reply[j:]), stream.flush()]
            assert "".join(parts) == expected


def test_stream_holds_back_only_a_possible_placeholder_prefix() -> None:
    _, restorer = _restorer()
    stream = restorer.stream()
    assert stream.feed("Hello [x] world ") == "Hello [x] world "
    assert stream.feed("paid [IB") == "paid "
    assert stream.feed("AN_1] ok") == f"{IBAN} ok"
    assert stream.feed("[IBAN_2") == "[IBAN_2"  # not a known placeholder: released at once
    assert stream.feed(" [EMAIL_") == " "
    assert stream.flush() == "[EMAIL_"


def test_stream_one_character_at_a_time() -> None:
    _, restorer = _restorer()
    reply = "[EMAIL_1][IBAN_1][[EMAIL_1]]"
    stream = restorer.stream()
    out = "".join(stream.feed(ch) for ch in reply) + stream.flush()
    assert out == f"{EMAIL}{IBAN}[{EMAIL}]"


def _random_text(rng: random.Random) -> str:
    values: list[str] = []
    for _ in range(rng.randint(0, 6)):
        kind = rng.choice(sorted(SAMPLES))
        value = rng.choice(SAMPLES[kind])(rng)
        values.append(f"{CONTEXT.get(kind, '')} {value}")
    values += [
        rng.choice(["[EMAIL_1]", "[", "]", "[IBAN_", "x@y", "+", "0"]) for _ in range(rng.randint(0, 3))
    ]
    return identifier_prompt(rng, values, size=rng.randint(0, 600)) if values else ordinary_document(rng, 300)


def test_property_restore_of_redact_is_identity() -> None:
    """Loop-based property test (hypothesis is not a project dependency)."""
    rng = random.Random(2024)
    redacted_any = 0
    for _ in range(300):
        text = _random_text(rng)
        body: dict[str, Any] = {"messages": [{"role": "user", "content": text}], "prompt": [text[::-1]]}
        redacted, restorer = REDACTOR.redact(body)
        redacted_any += bool(restorer)
        assert restorer.restore_obj(redacted) == body
        stream = restorer.stream()
        content = redacted["messages"][0]["content"]
        pieces: list[str] = []
        pos = 0
        while pos < len(content):
            step = rng.randint(1, 9)
            pieces.append(stream.feed(content[pos : pos + step]))
            pos += step
        assert "".join(pieces) + stream.flush() == text
    assert redacted_any > 200
