"""Pickle scanning: library + opcode walk catch direct, memo-hidden and INST payloads."""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace

from picklescan.scanner import SafetyLevel, scan_pickle_bytes

from lockgate.registry.scan import Severity, scan_path
from lockgate.registry.scan.pickle_ops import walk
from lockgate.registry.scan.pickle_policy import Verdict, classify


def _rules(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for finding in scan_path(path).findings:
        out.setdefault(finding.rule, []).append(finding.message)
    return out


def test_reduce_os_system_is_blocking(tmp_path: Path, fx: SimpleNamespace) -> None:
    path = tmp_path / "evil.pkl"
    path.write_bytes(fx.malicious_pickle())
    report = scan_path(path)
    assert report.blocking
    assert report.formats == {"evil.pkl": "pickle"}
    [hit] = [f for f in report.findings if f.rule == "pickle.dangerous-global"]
    assert hit.severity is Severity.CRITICAL
    assert "system" in hit.message and "picklescan" in hit.message and "opcode walk" in hit.message


def test_memo_hidden_stack_global_evades_picklescan_but_not_the_walk(
    tmp_path: Path, fx: SimpleNamespace
) -> None:
    library = scan_pickle_bytes(io.BytesIO(fx.MEMO_HIDDEN_PICKLE), "memo")
    assert not any(g.safety is SafetyLevel.Dangerous for g in library.globals)  # the bypass is real
    path = tmp_path / "hidden.pkl"
    path.write_bytes(fx.MEMO_HIDDEN_PICKLE)
    rules = _rules(path)
    assert any("os.system" in m and "opcode walk" in m for m in rules["pickle.dangerous-global"])
    assert "pickle.unknown-global" not in rules  # picklescan's misread memo names are not echoed


def test_protocol0_inst_opcode_is_caught(tmp_path: Path, fx: SimpleNamespace) -> None:
    path = tmp_path / "inst.pkl"
    path.write_bytes(fx.INST_PICKLE)
    report = scan_path(path)
    assert report.blocking
    assert any("os.system" in f.message for f in report.findings if f.rule == "pickle.dangerous-global")


def test_benign_pickles_scan_clean(tmp_path: Path) -> None:
    for index, value in enumerate([{"a": [1, 2, 3], "b": ["x"]}, OrderedDict(w=[0.5]), {1, 2}]):
        path = tmp_path / f"ok{index}.pkl"
        path.write_bytes(pickle.dumps(value, protocol=index + 2))
        assert scan_path(path).findings == []


def test_call_on_a_call_result_is_flagged() -> None:
    # OrderedDict() is allowlisted, but calling its result hides what is really invoked.
    data = b"\x80\x02ccollections\nOrderedDict\n)R)R."
    result = walk(io.BytesIO(data))
    assert [e.kind for e in result.events] == ["indirect-call"]


def test_stack_global_from_non_strings_is_dynamic() -> None:
    data = b"\x80\x04K\x01K\x02\x93)R."
    kinds = {e.kind for e in walk(io.BytesIO(data)).events}
    assert {"dynamic-global", "indirect-call"} <= kinds


def test_ext_opcode_is_dynamic() -> None:
    data = b"\x80\x02\x82\x01)R."
    assert "dynamic-global" in {e.kind for e in walk(io.BytesIO(data)).events}


def test_truncated_pickle_still_reports_what_it_saw(tmp_path: Path, fx: SimpleNamespace) -> None:
    path = tmp_path / "cut.pkl"
    path.write_bytes(fx.malicious_pickle()[:-3])
    rules = _rules(path)
    assert "pickle.dangerous-global" in rules
    assert "pickle.malformed" in rules


def test_unknown_global_is_reported_but_not_blocking(tmp_path: Path) -> None:
    path = tmp_path / "odd.pkl"
    path.write_bytes(b"\x80\x02cmypkg.models\nThing\n)R.")
    report = scan_path(path)
    assert [f.rule for f in report.findings] == ["pickle.unknown-global"]
    assert not report.blocking


def test_torch_zip_with_malicious_data_pkl(tmp_path: Path, fx: SimpleNamespace) -> None:
    path = fx.write_torch_zip(tmp_path / "model.pt", fx.malicious_pickle())
    report = scan_path(path)
    assert report.formats == {"model.pt": "pytorch-zip"}
    assert report.blocking
    assert {f.location for f in report.findings} == {"model.pt#archive/data.pkl"}


def test_torch_zip_with_tensor_rebuild_is_clean(tmp_path: Path) -> None:
    data = (
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(ctorch\nFloatStorage\nK\x00\x85R"
        b"K\x00K\x02\x85K\x01\x85\x89ccollections\nOrderedDict\n)Rtq\x00R."
    )
    path = tmp_path / "pytorch_model.bin"
    with __import__("zipfile").ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data)
    assert scan_path(path).findings == []


def test_seven_zip_archive_is_unscannable_and_blocking(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\x00" * 32)
    report = scan_path(path)
    assert [f.rule for f in report.findings] == ["pickle.unscannable"]
    assert report.blocking


def test_policy_classification() -> None:
    assert classify("posix", "system") is Verdict.DANGEROUS
    assert classify("importlib.machinery", "SourceFileLoader") is Verdict.DANGEROUS
    assert classify("builtins", "getattr") is Verdict.DANGEROUS
    assert classify("builtins", "dict") is Verdict.SAFE
    assert classify("torch._utils", "_rebuild_tensor_v2") is Verdict.SAFE
    assert classify("sklearn.tree", "DecisionTreeClassifier") is Verdict.UNKNOWN
