"""Domain exceptions: each knows its HTTP status and machine code; one middleware renders them."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: list[Any] | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        if code is not None:
            self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class MalformedRequest(ApiError):
    status, code = 400, "malformed_request"


class Unauthenticated(ApiError):
    status, code = 401, "unauthenticated"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class ValidationFailed(ApiError):
    status, code = 422, "validation_failed"


class RequestTimeout(ApiError):
    status, code = 408, "request_timeout"


class TooManyRequests(ApiError):
    status, code = 429, "too_many_requests"
    retry_after_s = 1
    limit: str | None = None  # a per-caller limit (limits.py) refused it: which one

    def __init__(self, message: str, *, retry_after_s: int = 1, limit: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after_s = retry_after_s
        self.limit = limit


class DatabaseUnavailable(ApiError):
    status, code = 503, "database_unavailable"


def unknown_media(media: list[str] | tuple[str, ...], unknown: set[str]) -> ValidationFailed:
    """Photos referred to (by a report or an action) that no upload stored."""
    return ValidationFailed(
        "unknown media: upload photos before referring to them",
        details=[
            field_error(["media", i], "no uploaded photo has this hash", "unknown_media")
            for i, sha in enumerate(media)
            if sha in unknown
        ],
    )


def invalid_cursor() -> ValidationFailed:
    """A cursor (?after=) that this service did not give out."""
    return ValidationFailed("invalid cursor", details=[field_error(["after"], "not a cursor from this service")])


def field_error(path: list[str | int], message: str, kind: str = "invalid") -> dict[str, Any]:
    """One entry of ``details``: where (a JSON path into the request) and what."""
    return {"path": path, "message": message, "type": kind}
