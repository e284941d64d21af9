"""``ManagedMemory`` and its ``ManagedPage``s."""
import ctypes as C
import threading
from typing import Dict, List, Optional, Set

from . import _abi
from ._memory import Region
from .categories import Category
from .errors import BufferExportedError, InvalidArgumentError, InvalidHandleError


MAX_PAGES_PER_CALL = 1 << 24  # the library's per-call limit, checked before sizing the out-array


class ManagedMemory:
    """A runtime's managed memory, lent as pages of the plan's segment size to owners (any
    number the host uses to group pages, e.g. an operator id), after Flink's ``MemoryManager``:
    allocation is all or nothing, and ``release_all(owner)`` returns everything an owner holds.

    Thread-safe. Pages stay lent until released (``close``/``release`` of a page,
    ``release_all`` of its owner, or closing the runtime); this object holds them meanwhile, and
    refuses to release pages that memoryviews still show (``BufferExportedError``).
    """

    def __init__(self, budget):
        self._budget = budget
        self._lib = budget._lib
        self._lock = threading.Lock()
        self._lent: Dict[int, Set["ManagedPage"]] = {}

    @property
    def budget(self):
        """The runtime this memory belongs to."""
        return self._budget

    def allocate_pages(self, owner: int, count: int) -> List["ManagedPage"]:
        """``count`` pages for ``owner``, all or nothing. Raises ``QuotaExceededError`` if the
        managed memory has fewer free pages (the message names the key to increase)."""
        if type(count) is not int or not 0 <= count <= MAX_PAGES_PER_CALL:
            raise InvalidArgumentError(
                f"allocate_pages: count is {count!r}; at most {MAX_PAGES_PER_CALL} pages per call"
            )
        if type(owner) is not int or not 0 <= owner < 1 << 64:
            raise InvalidArgumentError(f"allocate_pages: owner {owner!r} must be an int in 0..2**64-1")
        raw = (_abi.RawSegment * count)()
        rc = self._lib.mb_managed_allocate_pages(self._budget._handle, owner, count, raw)
        if rc != _abi.MB_OK:
            raise _abi.error(rc, Category.MANAGED)
        pages = [ManagedPage(self, owner, s) for s in raw]
        with self._lock:
            self._lent.setdefault(owner, set()).update(pages)
        return pages

    def release_all(self, owner: int) -> None:
        """Returns every page ``owner`` holds (Flink's ``MemoryManager.releaseAll``); they become
        invalid. An owner with no pages is fine. Raises ``BufferExportedError`` (releasing
        nothing) while a view shows one of them."""
        self._check_not_exported(owner)
        _abi.check(self._lib.mb_managed_release_all(self._budget._handle, owner))
        with self._lock:
            pages = self._lent.pop(owner, set())
        for p in pages:
            p._mark_released()

    def _check_not_exported(self, owner: Optional[int]) -> None:
        with self._lock:
            if owner is None:
                pages = [p for ps in self._lent.values() for p in ps]
            else:
                pages = list(self._lent.get(owner, ()))
        for p in pages:
            if p._region.exported():
                raise BufferExportedError(
                    f"cannot release managed page 0x{p.id:x} of owner {p.owner}: memoryviews "
                    f"into it are still alive; release them first"
                )

    def _exported_arrays(self) -> list:
        """The arrays behind the lent pages that memoryviews still show."""
        with self._lock:
            pages = [p for ps in self._lent.values() for p in ps]
        return [p._region._array for p in pages if p._region.exported()]

    def _forget(self, page: "ManagedPage") -> None:
        with self._lock:
            pages = self._lent.get(page.owner)
            if pages is not None:
                pages.discard(page)
                if not pages:
                    del self._lent[page.owner]

    def _shut_down(self) -> None:
        with self._lock:
            pages = [p for ps in self._lent.values() for p in ps]
            self._lent.clear()
        for p in pages:
            p._mark_released()


class ManagedPage:
    """One managed memory page lent to an owner: ``size`` bytes written and read in place through
    ``view`` (a writable ``memoryview``, format ``B``) until released.

    A context manager. After release the page is invalid: ``view`` raises ``InvalidHandleError``,
    ``release()`` raises it with the library's message, ``close()`` does nothing.
    """

    __slots__ = ("_memory", "_owner", "_id", "_lent", "_region", "__weakref__")

    def __init__(self, memory: ManagedMemory, owner: int, raw):
        self._memory = memory
        self._owner = owner
        self._id = raw.id
        self._lent = [raw.id]  # list.pop(): an atomic claim of the one release
        self._region = Region(raw.ptr, raw.size)

    @property
    def view(self) -> memoryview:
        """A writable ``memoryview`` (format ``B``) over the page."""
        self._ensure_lent()
        v = self._region.view()
        if not self._lent:
            v.release()
            self._ensure_lent()
        return v

    @property
    def size(self) -> int:
        """Bytes in the page (the plan's segment size)."""
        return self._region.size

    def __len__(self) -> int:
        return self._region.size

    @property
    def owner(self) -> int:
        """The owner it was allocated for."""
        return self._owner

    @property
    def id(self) -> int:
        """The library's generation-checked segment id."""
        return self._id

    @property
    def released(self) -> bool:
        """Whether the page was released (by any of the ways in ``ManagedMemory``'s docs)."""
        return not self._lent

    def release(self) -> None:
        """Returns the page; strict, unlike ``close()``: raises ``InvalidHandleError`` with the
        library's message if it was already released."""
        if not self._lent:
            _abi.check(self._memory._lib.mb_managed_release(self._memory._budget._handle, self._id))
        self.close()

    def close(self) -> None:
        """Returns the page if it is still lent; a second call does nothing. Raises
        ``BufferExportedError`` (returning nothing) while views into it are alive."""
        try:
            page_id = self._lent.pop()
        except IndexError:
            return
        if self._region.exported():
            self._lent.append(page_id)
            raise BufferExportedError(
                f"cannot release managed page 0x{page_id:x}: memoryviews into it are still "
                f"alive; release them first (with page.view as v: ...)"
            )
        self._region.detach()
        self._memory._forget(self)
        rc = self._memory._lib.mb_managed_release(self._memory._budget._handle, page_id)
        # Released meanwhile by release_all or the runtime's close on another thread: done.
        if rc not in (_abi.MB_OK, _abi.MB_ERR_INVALID_HANDLE):
            raise _abi.error(rc)

    def __enter__(self) -> "ManagedPage":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _mark_released(self) -> None:
        try:
            self._lent.pop()
        except IndexError:
            pass
        self._region.detach()

    def _ensure_lent(self) -> None:
        if not self._lent:
            raise InvalidHandleError(f"invalid segment id 0x{self._id:x}: the managed page was already released")

    def __repr__(self) -> str:
        state = ", released" if self.released else ""
        return f"ManagedPage(id=0x{self._id:x}, owner={self._owner}, size={self.size}{state})"
