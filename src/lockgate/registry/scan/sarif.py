"""SARIF 2.1.0 output for scan reports (one run, lockgate as the tool)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from lockgate.registry.scan.model import Finding, ScanReport, Severity
from lockgate.registry.scan.rules import RULES, Rule

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "lockgate-model-scanner"

LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads this property to rank security results.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def _tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lockgate")
    except PackageNotFoundError:
        return "0.0.0"


def _rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.id.replace(".", "/"),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.help},
        "help": {"text": rule.help},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "blocking": rule.blocking,
            "tags": ["security", "supply-chain"],
        },
    }


def _uri(report: ScanReport, finding: Finding) -> str:
    root = PurePosixPath(report.path.replace("\\", "/"))
    single_file = list(report.formats) == [root.name]
    path = root if single_file and finding.file == root.name else root / finding.file
    return quote(str(path), safe="/:")


def _result_json(report: ScanReport, finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": _uri(report, finding)}}}
    if finding.detail:
        location["logicalLocations"] = [{"fullyQualifiedName": finding.detail, "kind": "member"}]
    return {
        "ruleId": finding.rule,
        "ruleIndex": index[finding.rule],
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [location],
        "properties": {"severity": finding.severity.value, "blocking": finding.blocking},
    }


def to_sarif(reports: list[ScanReport]) -> dict[str, Any]:
    """One SARIF 2.1.0 log with one run covering every report."""
    used = sorted({f.rule for report in reports for f in report.findings})
    index = {rule_id: i for i, rule_id in enumerate(used)}
    results = [_result_json(r, f, index) for r in reports for f in r.findings]
    driver = {
        "name": TOOL_NAME,
        "version": _tool_version(),
        "rules": [_rule_json(RULES[rule_id]) for rule_id in used],
    }
    run = {
        "tool": {"driver": driver},
        "results": results,
        "invocations": [{"executionSuccessful": True}],
        "properties": {"blocking": any(r.blocking for r in reports), "paths": [r.path for r in reports]},
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
