"""Personal data in a dataset: refused without an acknowledgement, recorded with one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lockgate.pii.config import PiiConfig
from lockgate.tune.checks import require_basis, scan_dataset
from lockgate.tune.dataset import load_dataset
from lockgate.tune.errors import PersonalDataFound

IBAN = "DE89 3704 0044 0532 0130 00"  # the standard documentation IBAN (valid check digits)


def dataset(tmp_path: Path, users: list[str]) -> Path:
    lines = [
        json.dumps({"messages": [{"role": "user", "content": u}, {"role": "assistant", "content": "ok"}]})
        for u in users
    ]
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_clean_dataset_passes_without_ack(tmp_path: Path) -> None:
    report = scan_dataset(
        load_dataset(dataset(tmp_path, ["The app crashes.", "Refund please."])), PiiConfig()
    )
    assert not report.found
    assert require_basis(report, None).ack is None


def test_ibans_are_refused_with_their_lines_and_never_their_values(tmp_path: Path) -> None:
    path = dataset(tmp_path, ["The app crashes.", f"Refund to {IBAN} please.", "Fine.", f"Use {IBAN}"])
    report = scan_dataset(load_dataset(path), PiiConfig())
    assert report.lines == [2, 4] and report.counts == {"iban": 2}
    with pytest.raises(PersonalDataFound) as err:
        require_basis(report, None)
    assert "iban x2" in str(err.value) and "line(s) 2, 4" in str(err.value) and "--ack" in str(err.value)
    assert "3704" not in str(err.value)
    with pytest.raises(PersonalDataFound):
        require_basis(report, "   ")  # a blank reason is no reason


def test_an_acknowledgement_is_recorded(tmp_path: Path) -> None:
    report = scan_dataset(load_dataset(dataset(tmp_path, [f"Refund to {IBAN}"])), PiiConfig())
    acked = require_basis(report, " contract, Art. 6(1)(b) GDPR ")
    assert acked.ack is not None and acked.ack["reason"] == "contract, Art. 6(1)(b) GDPR"
    assert acked.ack["by"] and acked.ack["at"] > 0
    assert acked.to_json()["ack"] == acked.ack


def test_scan_runs_even_when_the_gateway_scan_is_off(tmp_path: Path) -> None:
    report = scan_dataset(load_dataset(dataset(tmp_path, [f"Refund to {IBAN}"])), PiiConfig(enabled=False))
    assert report.found


def test_the_shipped_example_has_no_personal_data() -> None:
    path = Path(__file__).resolve().parents[2] / "examples" / "tune" / "tickets.jsonl"
    report = scan_dataset(load_dataset(path), PiiConfig())
    assert not report.found, report.counts
