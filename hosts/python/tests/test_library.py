"""Where the package finds libmembudget (membudget._library)."""
import os
import subprocess
import sys

import pytest

import membudget as mb
from membudget import _library


def real_library():
    return _library.located().library._name


def test_the_environment_variable_wins_as_file_or_directory(tmp_path):
    lib = real_library()
    found = _library.locate(lib, bundled=None)
    assert found.source == f"MEMBUDGET_LIBRARY={lib} ({lib})"
    found = _library.locate(os.path.dirname(lib), bundled="/nonexistent/bundled.so")
    assert found.source.startswith(f"MEMBUDGET_LIBRARY={os.path.dirname(lib)} (")


def test_a_wrong_environment_variable_is_an_error_not_a_fall_through(tmp_path):
    with pytest.raises(mb.LibraryNotFoundError, match=r"MEMBUDGET_LIBRARY=/nonexistent names no libmembudget.so"):
        _library.locate("/nonexistent", bundled=real_library())


def test_then_the_bundled_copy_then_the_system_loader():
    lib = real_library()
    assert _library.locate(None, bundled=lib).source == f"bundled copy {lib}"
    seen = []

    def fake_load(name):
        seen.append(name)
        raise OSError(f"{name}: cannot open shared object file")

    with pytest.raises(mb.LibraryNotFoundError, match="MEMBUDGET_LIBRARY is not set") as e:
        _library.locate(None, bundled="/nonexistent/libmembudget.so", load=fake_load, find_library=lambda n: None)
    assert seen == ["libmembudget.so"]
    assert "cannot open shared object file" in str(e.value)


def test_the_system_loader_honours_ld_library_path():
    lib = real_library()
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(lib))
    env.pop("MEMBUDGET_LIBRARY", None)
    code = (
        "from membudget import _library\n"
        "print(_library.locate(None, bundled=None).source)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "system loader (libmembudget.so)"


def test_the_installed_package_uses_its_bundled_copy_without_configuration():
    env = dict(os.environ)
    env.pop("MEMBUDGET_LIBRARY", None)
    code = "import membudget; print(membudget.library_source())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.startswith("bundled copy "), out.stdout
    assert out.stdout.strip().endswith(os.path.join("membudget", "lib", "libmembudget.so"))
