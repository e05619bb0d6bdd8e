"""Exceptions for limify's status codes (limify.h's LIMIFY_* codes).

Each also derives from the built-in exception a Python caller would expect
(a bad config is a ValueError, an unknown rule a LookupError), so existing
`except ValueError:` code keeps working.
"""

from __future__ import annotations

from ._lib import LibraryNotFoundError


class LimifyError(Exception):
    """A limify call failed. `code` is the C status, `status` its name."""

    code: int = 0
    status: str = "unknown"

    def __init__(self, message: str, code: int | None = None, status: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class InvalidArgumentError(LimifyError, ValueError):
    code, status = 1, "invalid_argument"


class ConfigError(LimifyError, ValueError):
    """The configuration is invalid; the message names the JSON path."""

    code, status = 2, "config_error"


class PluginError(LimifyError):
    code, status = 3, "plugin_error"


class StorageError(LimifyError):
    """The storage failed and the failure policy could not hide it."""

    code, status = 4, "storage_error"


class StorageTimeoutError(StorageError, TimeoutError):
    code, status = 5, "timeout"


class NotFoundError(LimifyError, LookupError):
    code, status = 6, "not_found"


class InternalError(LimifyError):
    code, status = 7, "internal"


class FailedPreconditionError(LimifyError):
    code, status = 9, "failed_precondition"


_BY_CODE: dict[int, type[LimifyError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        ConfigError,
        PluginError,
        StorageError,
        StorageTimeoutError,
        NotFoundError,
        InternalError,
        FailedPreconditionError,
    )
}


def error_for(code: int, message: str, status_name: str) -> LimifyError:
    """The exception for a failed call; an unknown code is still an error."""
    cls = _BY_CODE.get(code, LimifyError)
    return cls(message, code=code, status=status_name)


__all__ = [
    "LimifyError",
    "InvalidArgumentError",
    "ConfigError",
    "PluginError",
    "StorageError",
    "StorageTimeoutError",
    "NotFoundError",
    "InternalError",
    "FailedPreconditionError",
    "LibraryNotFoundError",
    "error_for",
]
