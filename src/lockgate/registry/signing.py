"""OpenSSF model-signing signatures: detect ``model.sig`` and verify it offline.

Only key- and certificate-based verification is used: both work from local files, with no
Sigstore, Rekor or OIDC round trip.  A signature with no configured trust anchor is recorded as
``present-unverified``; keyless (Sigstore) signatures would need the network and are not tried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

SIGNATURE_NAME = "model.sig"
Status = Literal["verified", "failed", "absent", "present-unverified"]


@dataclass(frozen=True)
class SignatureResult:
    status: Status
    detail: str = ""


def signature_path(root: Path) -> Path | None:
    """``model.sig`` inside a model folder, or ``<file>.sig`` beside a single-file model."""
    candidate = root / SIGNATURE_NAME if root.is_dir() else root.with_name(root.name + ".sig")
    return candidate if candidate.is_file() else None


def _key_verifier(config: Any, anchor: Path) -> Any:
    return config.use_elliptic_key_verifier(public_key=anchor)


def _certificate_verifier(config: Any, anchor: Path) -> Any:
    return config.use_certificate_verifier(certificate_chain=[anchor])


VERIFIERS: dict[str, Callable[[Any, Path], Any]] = {
    "public key": _key_verifier,
    "certificate": _certificate_verifier,
}


def _verify_with(kind: str, anchor: Path, root: Path, sig: Path) -> str | None:
    """None when verified; otherwise why not."""
    from model_signing import verifying

    config_type: Any = verifying.Config
    try:
        VERIFIERS[kind](config_type(), anchor).verify(root, sig)
    except Exception as exc:  # the library raises ValueError and parser/crypto errors alike
        return f"{kind} {anchor.name}: {type(exc).__name__}: {str(exc)[:300]}"
    return None


def check_signature(
    root: Path, public_keys: Sequence[Path] = (), certificates: Sequence[Path] = ()
) -> SignatureResult:
    sig = signature_path(root)
    if sig is None:
        return SignatureResult("absent")
    anchors = [("public key", p) for p in public_keys] + [("certificate", p) for p in certificates]
    if not anchors:
        return SignatureResult(
            "present-unverified",
            f"{sig.name} found but no trust anchor configured (registry.signing_public_keys / --public-key)",
        )
    try:
        import model_signing  # noqa: F401
    except ImportError:
        return SignatureResult("present-unverified", "the model-signing library is not installed")
    errors: list[str] = []
    for kind, anchor in anchors:
        error = _verify_with(kind, anchor.expanduser(), root, sig)
        if error is None:
            return SignatureResult("verified", f"{sig.name} verified with {kind} {anchor}")
        errors.append(error)
    return SignatureResult("failed", "; ".join(errors)[:1900])
