"""How the package finds liblimify: LIMIFY_LIBRARY, then pkg-config, then the system loader.

Each case runs in a fresh interpreter, since a process loads the library once.
"""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys

import pytest

PROBE = "import limify, limify._lib as L; print(limify.version()); print(L.lib()._name)"


def run(env_changes: dict[str, str | None]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)


def pkg_config_libdir() -> str:
    out = subprocess.run(["pkg-config", "--variable=libdir", "limify"], capture_output=True, text=True)
    assert out.returncode == 0, "test.sh sets PKG_CONFIG_PATH to the prefix under test"
    return out.stdout.strip()


def test_pkg_config_finds_the_installed_library() -> None:
    libdir = pkg_config_libdir()
    out = run({"LIMIFY_LIBRARY": None})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["0.1.0", os.path.join(libdir, "liblimify.so.0")]


def test_limify_library_wins_over_pkg_config() -> None:
    path = os.path.join(pkg_config_libdir(), "liblimify.so.0.1.0")
    out = run({"LIMIFY_LIBRARY": path})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1] == path


def test_a_wrong_limify_library_is_final_and_named() -> None:
    out = run({"LIMIFY_LIBRARY": "/nonexistent/liblimify.so"})
    assert out.returncode != 0
    assert "LibraryNotFoundError" in out.stderr
    assert "LIMIFY_LIBRARY=/nonexistent/liblimify.so" in out.stderr
    assert "pkg-config" not in out.stderr.split("LibraryNotFoundError", 1)[1].split("Install limify")[0]


def test_nothing_found_lists_every_place_tried() -> None:
    if ctypes.util.find_library("limify") is not None:
        pytest.skip("a system-wide liblimify is installed: the system loader finds it")
    out = run({"LIMIFY_LIBRARY": None, "PKG_CONFIG_PATH": "/nonexistent", "LD_LIBRARY_PATH": None})
    assert out.returncode != 0
    assert "cannot load liblimify: tried" in out.stderr
    assert "pkg-config knows no limify" in out.stderr
    assert "the system loader (liblimify.so.0)" in out.stderr


def test_import_never_needs_the_library() -> None:
    env = dict(os.environ, LIMIFY_LIBRARY="/nonexistent/liblimify.so")
    out = subprocess.run(
        [sys.executable, "-c", "import limify, limify.web; print('imported')"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0 and out.stdout.strip() == "imported", out.stderr
