"""scan_path / detect_format / report JSON / SARIF / rich rendering."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from rich.console import Console

import lockgate.registry.scan as scan
from lockgate.registry.scan import RULES, SCANNERS, detect_format, format_report, scan_path, to_sarif

# The parts of the SARIF 2.1.0 schema that consumers (GitHub code scanning, VS Code) rely on.
SARIF_SUBSET: dict[str, Any] = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription"],
                                            "properties": {
                                                "shortDescription": {
                                                    "type": "object",
                                                    "required": ["text"],
                                                },
                                            },
                                        },
                                    }
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "ruleIndex", "level", "message", "locations"],
                            "properties": {
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {"type": "object", "required": ["text"]},
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                    }
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def _mixed_reports(tmp_path: Path, fx: SimpleNamespace) -> list[scan.ScanReport]:
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"auto_map": {"AutoModel": "modeling_x.X"}}))
    (folder / "modeling_x.py").write_text("")
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(fx.malicious_pickle())
    gguf_path = fx.write_gguf(tmp_path / "t.gguf", fx.TRIGGER_TEMPLATE)
    return [scan_path(folder), scan_path(evil), scan_path(gguf_path)]


def test_sarif_validates_and_maps_levels(tmp_path: Path, fx: SimpleNamespace) -> None:
    reports = _mixed_reports(tmp_path, fx)
    log = to_sarif(reports)
    jsonschema.validate(log, SARIF_SUBSET)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert len(run["results"]) == sum(len(r.findings) for r in reports)
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert by_rule["pickle.dangerous-global"]["level"] == "error"
    assert by_rule["pickle.dangerous-global"]["locations"][0]["physicalLocation"]["artifactLocation"][
        "uri"
    ].endswith("/evil.pkl")
    gguf_loc = by_rule["template.trigger-conditional"]["locations"][0]
    assert gguf_loc["logicalLocations"][0]["fullyQualifiedName"] == "tokenizer.chat_template"
    assert run["properties"]["blocking"] is True
    json.dumps(log)  # serialisable


def test_sarif_of_clean_report_has_no_results(tmp_path: Path) -> None:
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps([1, 2]))
    log = to_sarif([scan_path(path)])
    jsonschema.validate(log, SARIF_SUBSET)
    assert log["runs"][0]["results"] == [] and log["runs"][0]["properties"]["blocking"] is False


def test_report_json_roundtrip(tmp_path: Path, fx: SimpleNamespace) -> None:
    path = tmp_path / "evil.pkl"
    path.write_bytes(fx.malicious_pickle())
    data = json.loads(json.dumps(scan_path(path).to_json()))
    assert data["blocking"] is True and data["files_scanned"] == 1
    assert data["formats"] == {"evil.pkl": "pickle"}
    assert {f["severity"] for f in data["findings"]} == {"critical"}


def test_detect_format(tmp_path: Path, fx: SimpleNamespace) -> None:
    files = {
        "a.gguf": fx.write_gguf(tmp_path / "a.gguf", None).read_bytes(),
        "noext": fx.safetensors_bytes({"x": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"\x00"),
        "p.anything": pickle.dumps({}, protocol=2),
        "legacy.pkl": b"(dp0\n.",
        "broken.safetensors": b"\xff" * 4,
        "notes.txt": b"hello",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    fx.write_torch_zip(tmp_path / "m.pt", pickle.dumps({}))
    found = {name: detect_format(tmp_path / name) for name in [*files, "m.pt"]}
    assert found == {
        "a.gguf": "gguf",
        "noext": "safetensors",
        "p.anything": "pickle",
        "legacy.pkl": "pickle",
        "broken.safetensors": "safetensors",
        "notes.txt": "unknown",
        "m.pt": "pytorch-zip",
    }
    assert detect_format(tmp_path) == "hf-folder"
    assert set(SCANNERS) == set(scan.FORMATS)


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        scan_path(tmp_path / "nope")


def test_unscanned_model_formats_are_reported_as_info(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x08\x07")
    assert [f.rule for f in scan_path(path).findings] == ["file.unrecognised"]


def test_format_report_renders(tmp_path: Path, fx: SimpleNamespace) -> None:
    console = Console(record=True, width=200)
    for report in _mixed_reports(tmp_path, fx):
        console.print(format_report(report))
    text = console.export_text()
    assert "BLOCKED" in text and "pickle.dangerous-global" in text and "hf.remote-code" in text
    clean = tmp_path / "ok.pkl"
    clean.write_bytes(pickle.dumps(1))
    console.print(format_report(scan_path(clean)))
    assert "OK" in console.export_text()


def test_every_rule_is_documented() -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "scanner.md"
    text = docs.read_text(encoding="utf-8")
    assert [rule for rule in RULES if f"`{rule}`" not in text] == []


def test_public_surface() -> None:
    assert [name for name in scan.__all__ if not hasattr(scan, name)] == []
    assert {"scan_path", "to_sarif", "detect_format", "Severity", "Finding", "ScanReport"} <= set(
        scan.__all__
    )
