"""Build hook: bundle libmembudget into the package when MEMBUDGET_BUNDLE_LIBRARY names it.

    MEMBUDGET_BUNDLE_LIBRARY=target/release/libmembudget.so pip install ./hosts/python
    MEMBUDGET_BUNDLE_LIBRARY=target/release/libmembudget.so pip wheel ./hosts/python

puts the file at membudget/lib/libmembudget.so and tags the wheel for this platform (it holds
native code). Without the variable the package is pure Python and finds the library through
MEMBUDGET_LIBRARY or the system loader (see README.md).
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

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


setup(cmdclass={"build_py": BuildPyWithLibrary}, distclass=MaybeBinaryDistribution)
