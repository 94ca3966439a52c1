"""Scanning whole request bodies: every string a provider would read, and nothing else."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from pii_corpus import identifier_prompt
from pydantic import ValidationError

from lockgate.pii.config import PiiConfig
from lockgate.pii.detector import PiiScanner

IBAN = "DE89370400440532013000"
EMAIL = "anna.schmidt@example.com"
CARD = "4111111111111111"


def scan(body: dict[str, Any], **config: object) -> dict[str, int]:
    return PiiScanner(PiiConfig.model_validate(config)).scan_request(body).counts


def test_identifier_in_long_prompt() -> None:
    prompt = identifier_prompt(random.Random(1), [IBAN], size=20_000)
    assert len(prompt) > 20_000
    findings = PiiScanner(PiiConfig()).scan_request({"messages": [{"role": "user", "content": prompt}]})
    assert [(m.kind, m.value, m.path) for m in findings.matches] == [("iban", IBAN, "messages[0].content")]


def test_tool_call_arguments_and_tool_results() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "Pay the supplier."},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "pay", "arguments": json.dumps({"iban": IBAN})},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": f"receipt sent to {EMAIL}"},
        ]
    }
    findings = PiiScanner(PiiConfig()).scan_request(body)
    assert [(m.kind, m.path) for m in findings.matches] == [
        ("iban", "messages[1].tool_calls[0].function.arguments"),
        ("email", "messages[2].content"),
    ]


def test_multimodal_parts_and_legacy_function_call() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": f"https://x.test/{CARD}.png"}},
                    {"type": "text", "text": f"My card is {CARD}"},
                ],
            },
            {"role": "assistant", "function_call": {"name": "f", "arguments": f'{{"to": "{EMAIL}"}}'}},
        ]
    }
    findings = PiiScanner(PiiConfig()).scan_request(body)
    assert [m.path for m in findings.matches] == [
        "messages[0].content[1].text",
        "messages[1].function_call.arguments",
    ]


def test_prompt_and_embedding_input_shapes() -> None:
    assert scan({"prompt": f"IBAN {IBAN}"}) == {"iban": 1}
    assert scan({"prompt": ["nothing", f"mail {EMAIL}"]}) == {"email": 1}
    assert scan({"input": f"card {CARD}"}) == {"card": 1}
    assert scan({"input": ["a", f"card {CARD}", [1, 2, 3]]}) == {"card": 1}
    assert scan({"input": [[101, 2023, 102]]}) == {}


def test_tool_definitions_and_other_fields_are_not_scanned() -> None:
    body = {
        "model": f"m-{CARD}",
        "tools": [{"type": "function", "function": {"name": "pay", "description": f"e.g. {IBAN}"}}],
        "messages": [{"role": "user", "content": "hello"}],
        "user": EMAIL,
    }
    assert scan(body) == {}


def test_overlaps_longest_wins() -> None:
    # The IBAN's 18 digits also pass Luhn-style checks for other detectors; only the IBAN counts.
    assert scan({"prompt": f"IBAN {IBAN} and card {CARD}"}) == {"iban": 1, "card": 1}


def test_detector_subset_and_disabled() -> None:
    body = {"prompt": f"{IBAN} {EMAIL}"}
    assert scan(body, detectors=["email"]) == {"email": 1}
    assert scan(body, detectors=[]) == {}
    assert scan(body, enabled=False) == {}


def test_max_scan_chars_budget_spans_the_request() -> None:
    body = {
        "messages": [{"role": "user", "content": "x" * 90}, {"role": "user", "content": f"{EMAIL} {IBAN}"}]
    }
    scanner = PiiScanner(PiiConfig(max_scan_chars=100))
    findings = scanner.scan_request(body)
    assert findings.matches == [] and findings.truncated
    assert PiiScanner(PiiConfig(max_scan_chars=200)).scan_request(body).counts == {"email": 1, "iban": 1}
    assert PiiScanner(PiiConfig(max_scan_chars=5)).scan_text(EMAIL).truncated


def test_malformed_bodies_do_not_crash() -> None:
    assert scan({"messages": "hi"}) == {}
    assert scan({"messages": [None, 3, {"content": 5}, {"tool_calls": "x"}, {"tool_calls": [None]}]}) == {}


def test_unknown_detector_and_region_are_config_errors() -> None:
    with pytest.raises(ValidationError, match="unknown detector"):
        PiiConfig(detectors=["iban", "passport"])
    with pytest.raises(ValidationError, match="unknown phone region"):
        PiiConfig(phone_regions=["DE", "XX"])
    with pytest.raises(ValueError, match=r"pii\.detectors"):
        PiiScanner(PiiConfig.model_construct(detectors=["passport"]))


def test_findings_counts_never_hold_values() -> None:
    findings = PiiScanner(PiiConfig()).scan_request({"prompt": f"{IBAN} {EMAIL} {EMAIL}"})
    assert findings.counts == {"iban": 1, "email": 2}
    assert IBAN not in json.dumps(findings.counts) and EMAIL not in json.dumps(findings.counts)
