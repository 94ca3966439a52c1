"""Errors that reach a client, always in OpenAI's error shape.

Exception tree::

    GatewayError                    (500 internal_error)
    ├── InvalidRequest              (400 invalid_request_error)
    │   └── PayloadTooLarge         (413)
    ├── AuthenticationFailed        (401 authentication_error)
    ├── PermissionDenied            (403 permission_error)
    │   └── PolicyDenied            (403, names the policy and the excluded deployments)
    ├── ModelNotFound               (404 not_found_error)
    ├── RateLimited                 (429 rate_limit_error, Retry-After)
    ├── UpstreamError               (502 upstream_error)
    │   ├── UpstreamTimeout         (504)
    │   └── UpstreamOverloaded      (429/503 passed through, Retry-After)
    └── ServiceUnavailable          (503)

Each carries a message that tells the user what to do next.  ``to_body()`` renders the
wire shape ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

from typing import Any

import orjson


class GatewayError(Exception):
    status = 500
    type = "internal_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}
        self.details = details
        # where a failed request went (deployment object, attempts, reasons); for records only
        self.tried: tuple[Any, int, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        err: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "param": self.param,
            "code": self.code,
        }
        if self.details:
            err.update(self.details)
        return {"error": err}

    def to_body(self) -> bytes:
        return orjson.dumps(self.to_dict())


class InvalidRequest(GatewayError):
    status = 400
    type = "invalid_request_error"


class PayloadTooLarge(InvalidRequest):
    status = 413
    code = "payload_too_large"


class AuthenticationFailed(GatewayError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(GatewayError):
    status = 403
    type = "permission_error"
    code = "forbidden"


class PolicyDenied(PermissionDenied):
    code = "policy_denied"


class ModelNotFound(GatewayError):
    status = 404
    type = "not_found_error"
    code = "model_not_found"


class RateLimited(GatewayError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class UpstreamError(GatewayError):
    status = 502
    type = "upstream_error"
    code = "upstream_error"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


class UpstreamOverloaded(UpstreamError):
    status = 503
    code = "upstream_overloaded"


class ServiceUnavailable(GatewayError):
    status = 503
    type = "service_unavailable"
    code = "service_unavailable"


class ConfigError(Exception):
    """Raised for invalid configuration; the message names the file and the field path."""
