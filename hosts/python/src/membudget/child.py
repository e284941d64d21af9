"""``ChildBudget``: per-category limits below a runtime's budget (job, slot, operator), with a
reclaim callback and a JSON report of the tree."""
import ctypes as C
import itertools
import json
import sys
import warnings
import weakref
from typing import Callable, Mapping, Optional

from . import _abi
from .categories import Category, category_code
from .errors import InvalidArgumentError

_U64_MAX = 0xFFFF_FFFF_FFFF_FFFF

# Registered budgets by key (the C callback's ctx), weakly: a budget holds its reclaimer, and the
# usual reclaimer releases from its budget, so holding either here would keep an unclosed budget
# from ever being collected (and its reservation charged). Keys are never reused.
_reclaimers: "weakref.WeakValueDictionary[int, ChildBudget]" = weakref.WeakValueDictionary()
_keys = itertools.count(1)


@_abi.RECLAIM_CALLBACK
def _on_reclaim(ctx, category, nbytes):
    # Runs on the thread whose request did not fit; never raise into C.
    try:
        child = _reclaimers.get(ctx)
        key, fn = child._reclaimer if child is not None else (None, None)
        freed = fn(Category(category), nbytes) if fn is not None and key == ctx else 0
        return max(0, min(int(freed or 0), _U64_MAX))
    except BaseException as e:  # noqa: BLE001 - report, never unwind into native code
        print(f"membudget: a reclaim callback failed: {e!r}", file=sys.stderr)
        return 0


def _per_category(what: str, values: Optional[Mapping[Category, int]], default: int):
    if values is None:
        return None
    arr = (C.c_uint64 * 5)(*([default] * 5))
    for category, n in values.items():
        if category not in Category._value2member_map_:
            raise InvalidArgumentError(f"{what}: {category!r} is not a Category")
        if type(n) is not int or not 0 <= n <= _U64_MAX:
            raise InvalidArgumentError(f"{what}: {Category(category).name} is {n!r}; must be an int in 0..2**64-1")
        arr[int(category)] = n
    return arr


def _require_size(call: str, nbytes) -> None:
    # ctypes would wrap an int outside uint64_t silently (-1 into 2**64-1).
    if type(nbytes) is not int:
        raise InvalidArgumentError(f"{call}: nbytes must be an int, not {type(nbytes).__name__}")
    if not 0 <= nbytes <= _U64_MAX:
        raise InvalidArgumentError(f"{call}: nbytes is {nbytes}; must be in 0..2**64-1")


class ChildBudget:
    """A child budget: its own per-category ``limits`` (and ``reserved`` minimums) below a
    runtime's budget or another child; everything it charges counts against every ancestor.
    Made by ``MemBudget.child_budget`` or ``ChildBudget.child``.

    ``reserve``/``release`` charge it (as its consumer ``host``). When a limit refuses, other
    children's reclaimers under that limit are asked to free memory (``on_reclaim``) before
    ``QuotaExceededError`` is raised; the error names the budget and its top consumers.
    Thread-safe; a context manager. ``close()`` releases what it holds; children made under it
    stay usable.
    """

    def __init__(self, runtime, parent: Optional["ChildBudget"], name: str,
                 limits: Optional[Mapping[Category, int]] = None,
                 reserved: Optional[Mapping[Category, int]] = None):
        if not isinstance(name, str) or "\0" in name:
            raise InvalidArgumentError(f"child budget name must be a str without NUL, not {name!r}")
        self._runtime = runtime  # keeps the runtime alive
        self._parent = parent
        self._lib = runtime._lib
        self._key: Optional[int] = None
        # (key, reclaimer): held here only (see _reclaimers).
        self._reclaimer: tuple = (None, None)
        lim = _per_category("limits", limits, _U64_MAX)
        res = _per_category("reserved", reserved, 0)
        handle = C.c_void_p()
        rc = self._lib.mb_budget_child_new(
            runtime._handle, parent._handle if parent else None, name.encode("utf-8"), lim, res, C.byref(handle)
        )
        if rc:
            raise _abi.error(rc)
        self._handle = handle.value
        self.name = name
        self._open = [True]

    def child(self, name: str, limits=None, reserved=None) -> "ChildBudget":
        """A child of this budget (see the class docs)."""
        return ChildBudget(self._runtime, self, name, limits, reserved)

    def reserve(self, category: Category, nbytes: int) -> None:
        """Charges ``nbytes`` of ``category``; may ask reclaimers and wait (the child's reclaim
        wait). Raises ``QuotaExceededError`` (nothing charged)."""
        _require_size("reserve", nbytes)
        rc = self._lib.mb_budget_child_reserve(self._handle, category_code(category), nbytes)
        if rc:
            raise _abi.error(rc, Category(category) if category in Category._value2member_map_ else category, nbytes)

    def release(self, category: Category, nbytes: int) -> None:
        """Gives back ``nbytes`` reserved here; more than held raises ``InvalidArgumentError``."""
        _require_size("release", nbytes)
        _abi.check(self._lib.mb_budget_child_release(self._handle, category_code(category), nbytes))

    def used(self, category: Category) -> int:
        """Bytes of ``category`` in use by this budget and everything under it."""
        out = C.c_uint64(0)
        _abi.check(self._lib.mb_budget_child_used(self._handle, category_code(category), C.byref(out)))
        return out.value

    def on_reclaim(self, reclaimer: Optional[Callable[[Category, int], int]]) -> None:
        """Registers ``reclaimer(category, nbytes) -> freed`` (None: removes it). It is called on
        the thread whose request did not fit, and should ``release`` what it can (spill) and
        return the bytes freed; exceptions are printed and count as 0 freed."""
        old = self._key
        if reclaimer is None:
            _abi.check(self._lib.mb_budget_on_reclaim(self._handle, _abi.RECLAIM_CALLBACK(), None))
            self._key = None
            self._reclaimer = (None, None)
        else:
            key = next(_keys)
            previous = self._reclaimer
            self._reclaimer = (key, reclaimer)  # before the library can call it
            _reclaimers[key] = self
            rc = self._lib.mb_budget_on_reclaim(self._handle, _on_reclaim, key)
            if rc:
                _reclaimers.pop(key, None)
                self._reclaimer = previous
                raise _abi.error(rc)
            self._key = key
        if old is not None:
            _reclaimers.pop(old, None)

    def set_reclaim_wait(self, seconds: float) -> None:
        """How long a request here waits for reclaimers before it is refused (default 0.1 s)."""
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 <= seconds * 1000 < 2**32:
            raise InvalidArgumentError(f"set_reclaim_wait: {seconds!r} must be seconds in 0..4294967")
        _abi.check(self._lib.mb_budget_set_reclaim_wait(self._handle, int(seconds * 1000)))

    def report(self) -> dict:
        """This budget's subtree as a dict (``name``, ``categories``, ``consumers``, ``children``)."""
        return json.loads(_abi.text(lambda h, b, n, need: self._lib.mb_budget_report_json(
            self._runtime._handle, h, b, n, need), self._handle))

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return not self._open

    def close(self) -> None:
        """Frees the handle (see the class docs); a second call does nothing."""
        try:
            self._open.pop()
        except IndexError:
            return
        _abi.check(self._lib.mb_budget_child_free(self._handle))
        if self._key is not None:
            _reclaimers.pop(self._key, None)
            self._key = None

    def __enter__(self) -> "ChildBudget":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        if getattr(self, "_open", None):
            warnings.warn(f"unclosed {self!r}; freed when garbage-collected", ResourceWarning, source=self)
            self.close()

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return f"ChildBudget({self.name!r}{state})"
