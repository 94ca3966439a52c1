from __future__ import annotations

import pytest

from lockgate.sovereignty.targets import InvalidCutTarget, classify_target

PROVIDERS = ("cn-cloud", "us-cloud", "de")


@pytest.mark.parametrize(
    ("raw", "kind", "canonical"),
    [
        ("cn-cloud", "provider", "cn-cloud"),
        ("de", "provider", "de"),  # a configured provider wins over the country code
        ("DeepSeek", "catalogue provider", "deepseek"),
        ("cn", "country", "CN"),
        (" US ", "country", "US"),
        ("cloud-act", "law", "US-CLOUD-Act"),
        ("CLOUD Act", "law", "US-CLOUD-Act"),
        ("prc-nil", "law", "PRC-NIL"),
        ("fisa", "law", "US-FISA-702"),
    ],
)
def test_classify(raw: str, kind: str, canonical: str) -> None:
    assert classify_target(raw, PROVIDERS) == (kind, canonical)


@pytest.mark.parametrize("raw", ["", "ZZ", "EU", "Mars", "cloud-actt", "USA"])
def test_invalid_targets(raw: str) -> None:
    with pytest.raises(InvalidCutTarget) as err:
        classify_target(raw, PROVIDERS)
    msg = str(err.value)
    assert "\n" not in msg and "cn-cloud" in msg and "US-CLOUD-Act" in msg
