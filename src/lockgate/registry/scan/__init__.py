"""Supply-chain scanner for model files: pickles, safetensors, GGUF, chat templates, HF folders.

report = scan_path("model.gguf")
report.blocking          # True when any finding must stop serving
report.to_json()         # plain dict
to_sarif([report])       # SARIF 2.1.0 log for CI
"""

from lockgate.registry.scan.api import SCANNERS, Scanner, scan_path
from lockgate.registry.scan.detect import FORMATS, detect_format
from lockgate.registry.scan.model import Finding, ScanReport, Severity
from lockgate.registry.scan.report import format_report
from lockgate.registry.scan.rules import RULES, Rule
from lockgate.registry.scan.sarif import to_sarif
from lockgate.registry.scan.template_scan import scan_template

__all__ = [
    "FORMATS",
    "RULES",
    "SCANNERS",
    "Finding",
    "Rule",
    "ScanReport",
    "Scanner",
    "Severity",
    "detect_format",
    "format_report",
    "scan_path",
    "scan_template",
    "to_sarif",
]
