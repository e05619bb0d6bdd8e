"""limify: a thin Python layer over liblimify's C API (limify.h).

    from limify import Engine
    engine = Engine({"rules": [{"id": "search", "path": "/search", "rate": "5/second"}]})
    d = engine.check("GET", "/search", user_id="42")
    if not d.allowed: ...  # answer 429 with d.headers()

Framework integrations live in limify.starlette (FastAPI too), limify.django
and limify.flask; each imports its framework only when imported itself.
"""

from ._lib import LibraryNotFoundError
from .decision import (
    HEADERS_DEFAULT,
    HEADERS_IETF,
    HEADERS_RETRY_AFTER,
    HEADERS_X_RATELIMIT,
    Decision,
    Request,
    stricter,
)
from .engine import (
    OPERATION_CHECK,
    OPERATION_CHECK_KEY,
    OPERATION_PEEK,
    Engine,
    list_plugins,
    version,
)
from .errors import (
    ConfigError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    LimifyError,
    NotFoundError,
    PluginError,
    StorageError,
    StorageTimeoutError,
)

__version__ = "0.1.0"

__all__ = [
    "HEADERS_DEFAULT",
    "HEADERS_IETF",
    "HEADERS_RETRY_AFTER",
    "HEADERS_X_RATELIMIT",
    "OPERATION_CHECK",
    "OPERATION_CHECK_KEY",
    "OPERATION_PEEK",
    "ConfigError",
    "Decision",
    "Engine",
    "FailedPreconditionError",
    "InternalError",
    "InvalidArgumentError",
    "LibraryNotFoundError",
    "LimifyError",
    "NotFoundError",
    "PluginError",
    "Request",
    "StorageError",
    "StorageTimeoutError",
    "list_plugins",
    "stricter",
    "version",
]
