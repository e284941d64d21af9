"""Finding and loading libmembudget, in this order:

1. ``MEMBUDGET_LIBRARY``: the library file, or a directory holding ``libmembudget.so``. When set
   it is authoritative: a wrong value is an error, never skipped.
2. The copy bundled in the package (``membudget/lib/libmembudget.so``, present when the package
   was built with ``MEMBUDGET_BUNDLE_LIBRARY``; see setup.py).
3. The system loader: ``dlopen("libmembudget.so")`` (``LD_LIBRARY_PATH``, rpath, ld.so cache,
   ``/usr/lib``...), then ``ctypes.util.find_library("membudget")``.
"""
import ctypes
import ctypes.util
import os
import threading
from typing import Callable, NamedTuple, Optional

ENV = "MEMBUDGET_LIBRARY"
FILE_NAME = "libmembudget.so"
BUNDLED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", FILE_NAME)


class LibraryNotFoundError(OSError):
    """libmembudget could not be found or loaded; the message names every place looked at."""


class Located(NamedTuple):
    """A loaded library and where it came from."""

    library: ctypes.CDLL
    source: str


def locate(
    env_value: Optional[str],
    bundled: Optional[str],
    load: Callable[[str], ctypes.CDLL] = ctypes.CDLL,
    find_library: Callable[[str], Optional[str]] = ctypes.util.find_library,
) -> Located:
    """Loads the library per the module docs, given the environment variable's value (or None),
    the bundled file's path (or None), and the loader functions (replaceable in tests)."""
    if env_value is not None:
        path = os.path.join(env_value, FILE_NAME) if os.path.isdir(env_value) else env_value
        if not os.path.isfile(path):
            raise LibraryNotFoundError(
                f"{ENV}={env_value} names no {FILE_NAME} (looked for {path}); set it to the "
                f"library file or its directory, or unset it to use the bundled copy or the "
                f"system loader"
            )
        return Located(_load(load, path), f"{ENV}={env_value} ({path})")
    if bundled is not None and os.path.isfile(bundled):
        return Located(_load(load, bundled), f"bundled copy {bundled}")
    try:
        return Located(load(FILE_NAME), f"system loader ({FILE_NAME})")
    except OSError as dlopen_error:
        found = find_library("membudget")
        if found is not None:
            return Located(_load(load, found), f"system library {found}")
        raise LibraryNotFoundError(
            f"{FILE_NAME} not found: {ENV} is not set, the package has no bundled copy "
            f"({bundled}), and the system loader failed ({dlopen_error}). Set {ENV}="
            f"<file or directory>, or install the library on LD_LIBRARY_PATH."
        ) from None


def _load(load: Callable[[str], ctypes.CDLL], path: str) -> ctypes.CDLL:
    try:
        return load(path)
    except OSError as e:
        raise LibraryNotFoundError(f"cannot load {path}: {e}") from e


_lock = threading.Lock()
_located: Optional[Located] = None


def located() -> Located:
    """The library for this process, loaded on first use."""
    global _located
    if _located is None:
        with _lock:
            if _located is None:
                _located = locate(os.environ.get(ENV), BUNDLED)
    return _located
