"""Typed service errors: each maps to one HTTP status and a snake_case ``code``."""

from __future__ import annotations


class ServingError(Exception):
    """An error the service reports as JSON ``{"error": {"code", "message"}}``."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(ServingError):
    status, code = 400, "bad_request"


class UnknownModel(ServingError):
    status, code = 404, "unknown_model"


class PayloadTooLarge(ServingError):
    status, code = 413, "request_too_large"


class UnsupportedMediaType(ServingError):
    status, code = 415, "unsupported_media_type"


class InvalidParameter(ServingError):
    status, code = 422, "invalid_parameter"


class Overloaded(ServingError):
    status, code = 503, "overloaded"


class NotReady(ServingError):
    status, code = 503, "not_ready"


class InferenceTimeout(ServingError):
    status, code = 504, "timeout"


class ModelLoadError(ServingError):
    """A model could not be loaded (missing weights offline, bad bundle ...)."""

    status, code = 503, "model_load_failed"
