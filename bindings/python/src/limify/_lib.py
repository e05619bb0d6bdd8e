"""Finds liblimify.so and declares its C API (limify.h) for ctypes.

ctypes releases the GIL around every foreign call, so threads calling one
engine run in parallel inside the library. The structs mirror limify.h
exactly; each carries its struct_size, so a newer library reads only the
prefix declared here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import threading
from pathlib import Path

# The oldest library this binding knows how to talk to (limify.h's
# LIMIFY_VERSION_NUMBER: MAJOR * 1000000 + MINOR * 1000 + PATCH).
MIN_VERSION_NUMBER = 1000
# The library's SONAME carries the major version: a major bump is a new ABI.
SONAME = "liblimify.so.0"

OK = 0
ID_MAX = 64
ERROR_MESSAGE_SIZE = 512
UNLIMITED = -1
RETRY_NEVER = -1
BUFFER_TOO_SMALL = 8

HEADERS_X_RATELIMIT = 0x1
HEADERS_RETRY_AFTER = 0x2
HEADERS_IETF = 0x4

STATS_JSON = 0
STATS_PROMETHEUS = 1


class Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int32), ("message", ctypes.c_char * ERROR_MESSAGE_SIZE)]


class Request(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("method", ctypes.c_char_p),
        ("path", ctypes.c_char_p),
        ("user_id", ctypes.c_char_p),
        ("org_id", ctypes.c_char_p),
        ("api_key", ctypes.c_char_p),
        ("client_ip", ctypes.c_char_p),
        ("plan", ctypes.c_char_p),
        ("cost", ctypes.c_int64),
    ]


class Decision(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("allowed", ctypes.c_int32),
        ("matched", ctypes.c_int32),
        ("degraded", ctypes.c_int32),
        ("limit", ctypes.c_int64),
        ("remaining", ctypes.c_int64),
        ("reset_after_us", ctypes.c_int64),
        ("retry_after_us", ctypes.c_int64),
        ("period_us", ctypes.c_int64),
        ("rule_id", ctypes.c_char * (ID_MAX + 1)),
        ("plan_id", ctypes.c_char * (ID_MAX + 1)),
    ]


REQUEST_SIZE = ctypes.sizeof(Request)
DECISION_SIZE = ctypes.sizeof(Decision)

OnDecision = ctypes.CFUNCTYPE(
    None, ctypes.c_void_p, ctypes.c_int32, ctypes.POINTER(Request), ctypes.POINTER(Decision)
)
OnError = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(Error))
PlanProvider = ctypes.CFUNCTYPE(
    ctypes.c_int32,
    ctypes.c_void_p,
    ctypes.POINTER(Request),
    ctypes.c_char_p,
    ctypes.POINTER(ctypes.c_char * (ID_MAX + 1)),
)


class Hooks(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("ctx", ctypes.c_void_p),
        ("on_decision", OnDecision),
        ("on_error", OnError),
    ]


class LibraryNotFoundError(OSError):
    """liblimify.so could not be loaded; the message lists every place tried."""


_P = ctypes.POINTER
_engine_p = ctypes.c_void_p
_status = ctypes.c_int32

# name -> (restype, argtypes), as in limify.h.
_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "limify_version": (ctypes.c_char_p, []),
    "limify_version_number": (ctypes.c_int32, []),
    "limify_status_name": (ctypes.c_char_p, [_status]),
    "limify_engine_new": (_status, [ctypes.c_char_p, _P(_engine_p), _P(Error)]),
    "limify_engine_new_from_file": (_status, [ctypes.c_char_p, _P(_engine_p), _P(Error)]),
    "limify_engine_reload": (_status, [_engine_p, ctypes.c_char_p, _P(Error)]),
    "limify_engine_free": (None, [_engine_p]),
    "limify_check": (_status, [_engine_p, _P(Request), _P(Decision), _P(Error)]),
    "limify_peek": (_status, [_engine_p, _P(Request), _P(Decision), _P(Error)]),
    "limify_reset": (_status, [_engine_p, _P(Request), _P(Error)]),
    "limify_check_batch": (
        _status,
        # Arrays of addresses: the binding lays the structs out and points at them.
        [_engine_p, _P(ctypes.c_void_p), ctypes.c_size_t, _P(ctypes.c_void_p), _P(_status), _P(Error)],
    ),
    "limify_check_key_batch": (
        _status,
        [_engine_p, ctypes.c_char_p, _P(ctypes.c_char_p), ctypes.c_size_t, _P(ctypes.c_int64),
         _P(ctypes.c_void_p), _P(_status), _P(Error)],
    ),
    "limify_check_key": (
        _status,
        [_engine_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int64, _P(Decision), _P(Error)],
    ),
    "limify_reset_key": (_status, [_engine_p, ctypes.c_char_p, ctypes.c_char_p, _P(Error)]),
    "limify_format_headers": (
        ctypes.c_size_t,
        [_P(Decision), ctypes.c_uint32, ctypes.c_char_p, ctypes.c_size_t],
    ),
    "limify_set_hooks": (_status, [_engine_p, _P(Hooks), _P(Error)]),
    "limify_set_plan_provider": (_status, [_engine_p, PlanProvider, ctypes.c_void_p, _P(Error)]),
    "limify_stats": (
        _status,
        [_engine_p, ctypes.c_int32, ctypes.c_char_p, ctypes.c_size_t, _P(ctypes.c_size_t), _P(Error)],
    ),
    "limify_list_plugins": (
        _status,
        [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, _P(ctypes.c_size_t), _P(Error)],
    ),
    "limify_clock_set": (_status, [_engine_p, ctypes.c_int64, _P(Error)]),
    "limify_clock_advance": (_status, [_engine_p, ctypes.c_int64, _P(Error)]),
}


def _pkg_config_libdir() -> tuple[str | None, str]:
    """pkg-config's libdir for limify, or None and why not."""
    exe = shutil.which("pkg-config")
    if exe is None:
        return None, "pkg-config is not installed"
    try:
        out = subprocess.run(
            [exe, "--variable=libdir", "limify"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"pkg-config failed: {exc}"
    if out.returncode != 0 or not out.stdout.strip():
        reason = out.stderr.strip().splitlines()[0] if out.stderr.strip() else "no libdir"
        return None, f"pkg-config knows no limify ({reason}; PKG_CONFIG_PATH={os.environ.get('PKG_CONFIG_PATH', '')!r})"
    return out.stdout.strip(), ""


def _candidates() -> list[tuple[str, str | None]]:
    """(description, path-or-None) in the order they are tried; None: skipped, description says why."""
    found: list[tuple[str, str | None]] = []
    explicit = os.environ.get("LIMIFY_LIBRARY")
    if explicit:
        # An explicit choice is final: falling back would hide a typo.
        return [(f"LIMIFY_LIBRARY={explicit}", explicit)]
    bundled = Path(__file__).resolve().parent / "_lib" / SONAME
    if bundled.exists():
        found.append((f"bundled {bundled}", str(bundled)))
    libdir, why = _pkg_config_libdir()
    if libdir is None:
        found.append((why, None))
    else:
        found.append((f"pkg-config libdir {libdir}/{SONAME}", os.path.join(libdir, SONAME)))
    found.append((f"the system loader ({SONAME})", SONAME))
    system = ctypes.util.find_library("limify")
    if system is not None and system != SONAME:
        found.append((f"the system loader ({system})", system))
    return found


def _declare(lib: ctypes.CDLL) -> None:
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def _load() -> ctypes.CDLL:
    tried: list[str] = []
    for description, path in _candidates():
        if path is None:
            tried.append(description)
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            tried.append(f"{description}: {exc}")
            continue
        try:
            _declare(lib)
        except AttributeError as exc:
            tried.append(f"{description}: not limify's C API ({exc})")
            continue
        number = lib.limify_version_number()
        if number < MIN_VERSION_NUMBER:
            tried.append(
                f"{description}: version {lib.limify_version().decode()} is older than this "
                f"binding needs ({MIN_VERSION_NUMBER})"
            )
            continue
        return lib
    raise LibraryNotFoundError(
        "cannot load liblimify: tried\n  - "
        + "\n  - ".join(tried)
        + "\nInstall limify, then set LIMIFY_LIBRARY to the library's path or "
        "PKG_CONFIG_PATH to the directory holding limify.pc."
    )


_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_lib_holding_gil: ctypes.PyDLL | None = None


def lib() -> ctypes.CDLL:
    """The loaded library (loaded on first use, so `import limify` never fails)."""
    global _lib
    if _lib is None:
        with _lock:
            if _lib is None:
                _lib = _load()
    return _lib


def lib_holding_gil() -> ctypes.PyDLL:
    """The same library, its calls made without releasing the GIL.

    For calls that never wait (the memory storage decides in about a
    microsecond): releasing and retaking the GIL around each costs more than
    the call, and with several threads it turns every check into a GIL hand-off.
    """
    global _lib_holding_gil
    if _lib_holding_gil is None:
        loaded = lib()
        with _lock:
            if _lib_holding_gil is None:
                held = ctypes.PyDLL(loaded._name)
                _declare(held)
                _lib_holding_gil = held
    return _lib_holding_gil
