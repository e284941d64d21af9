"""Build hook: bundle libmembudget into the package when MEMBUDGET_BUNDLE_LIBRARY names it.

    MEMBUDGET_BUNDLE_LIBRARY=target/release/libmembudget.so pip install ./hosts/python
    MEMBUDGET_BUNDLE_LIBRARY=target/release/libmembudget.so pip wheel ./hosts/python

puts the file at membudget/lib/libmembudget.so and tags the wheel for this platform (it holds
native code) but any Python 3 (ctypes needs no Python ABI). Without the variable the package is pure Python and finds the library through
MEMBUDGET_LIBRARY or the system loader (see README.md).
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:  # setuptools >= 70.1 has its own; before, the wheel package provides it
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:
    from wheel.bdist_wheel import bdist_wheel

BUNDLE = os.environ.get("MEMBUDGET_BUNDLE_LIBRARY")


class BuildPyWithLibrary(build_py):
    """Copies the library named by MEMBUDGET_BUNDLE_LIBRARY into the built package."""

    def run(self):
        super().run()
        if BUNDLE:
            if not os.path.isfile(BUNDLE):
                raise SystemExit(f"MEMBUDGET_BUNDLE_LIBRARY={BUNDLE} is not a file")
            dest = os.path.join(self.build_lib, "membudget", "lib")
            os.makedirs(dest, exist_ok=True)
            shutil.copy2(BUNDLE, os.path.join(dest, "libmembudget.so"))


class MaybeBinaryDistribution(Distribution):
    """A platform wheel when a native library is bundled, a pure one otherwise."""

    def has_ext_modules(self):
        return bool(BUNDLE)


class BdistWheelAnyPython(bdist_wheel):
    """ctypes needs no Python ABI: a bundled wheel is py3-none-<platform>, not cp3XX-cp3XX."""

    def get_tag(self):
        python, abi, platform = super().get_tag()
        return ("py3", "none", platform) if BUNDLE else (python, abi, platform)


setup(
    cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": BdistWheelAnyPython},
    distclass=MaybeBinaryDistribution,
)
