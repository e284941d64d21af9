"""Writable ``memoryview``s over library memory that know whether they are still alive.

A view is ``memoryview((c_ubyte * n).from_address(ptr)).cast("B")``: format ``B``, writable,
zero copy. Every live view (and every slice or cast of one) keeps one reference to the ctypes
array it was made from, so the array's reference count says whether any view is left. A buffer
or page is only given back to the library when none is, so a view can never outlive the memory
it shows: closing with views alive raises ``BufferExportedError`` (like ``mmap.close``).
"""
import ctypes as C
import sys
from typing import Optional

# References to the array held by its owner's attribute, a caller's local, and getrefcount's
# argument: more means a view is alive.
_OWNER_LOCAL_ARG = 3


class Region:
    """``size`` bytes at ``address`` handed out as views; see the module docs."""

    __slots__ = ("address", "size", "_array")

    def __init__(self, address: int, size: int):
        self.address = address
        self.size = size
        self._array: Optional[C.Array] = None

    def view(self) -> memoryview:
        """A new writable view of the whole region (format ``B``)."""
        array = self._array
        if array is None:
            array = self._array = (C.c_ubyte * self.size).from_address(self.address)
        return memoryview(array).cast("B")

    def exported(self) -> bool:
        """Whether any view of the region is alive."""
        array = self._array
        return array is not None and sys.getrefcount(array) > _OWNER_LOCAL_ARG

    def detach(self) -> Optional[C.Array]:
        """Forgets the array (the region is being given back); returns it for a finalizer."""
        array, self._array = self._array, None
        return array
