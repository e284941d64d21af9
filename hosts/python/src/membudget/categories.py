"""Categories, roles and usage counters."""
import enum
from dataclasses import dataclass
from typing import Optional

from .errors import InvalidArgumentError

_UNLIMITED = 0xFFFF_FFFF_FFFF_FFFF


class Category(enum.IntEnum):
    """The five quota categories of a runtime (``MB_CATEGORY_*``)."""

    HEAP = 0
    """Framework + task heap: a host reports its heap growth here."""
    DIRECT = 1
    """Framework + task off-heap: the host's native buffers."""
    MANAGED = 2
    """Managed memory (``ManagedMemory`` pages)."""
    NETWORK = 3
    """Network memory (``LocalBufferPool`` buffers)."""
    OVERHEAD = 4
    """JVM metaspace + JVM overhead (runtime overhead for other hosts)."""


def category_code(category) -> int:
    """The C code to pass for ``category``: a ``Category`` or an int the library then checks.
    Anything else, or an int outside the C ``uint32_t``, is refused here: ctypes would raise a
    bare ``ArgumentError`` for the one and silently wrap the other (``2**32`` into heap)."""
    if isinstance(category, int) and not isinstance(category, bool) and 0 <= category <= 0xFFFF_FFFF:
        return int(category)
    raise InvalidArgumentError(
        f"{category!r} is not a Category; use one of {', '.join(m.name for m in Category)}"
    )


class Role(enum.IntEnum):
    """Which Flink process the plan is for (``MB_ROLE_*``)."""

    TASKMANAGER = 0
    JOBMANAGER = 1


@dataclass(frozen=True)
class CategoryUsage:
    """One category's counters (``mb_usage``). ``quota``/``available`` are None without a limit."""

    category: Category
    used: int
    peak: int
    quota: Optional[int]
    available: Optional[int]
    failures: int
    host_reserved: int
    host_allocated: int
    enforced: bool

    @classmethod
    def _from_raw(cls, category: Category, u) -> "CategoryUsage":
        known = category in Category._value2member_map_
        return cls(
            category=Category(category) if known else category,
            used=u.used,
            peak=u.peak,
            quota=None if u.quota == _UNLIMITED else u.quota,
            available=None if u.available == _UNLIMITED else u.available,
            failures=u.failures,
            host_reserved=u.host_reserved,
            host_allocated=u.host_allocated,
            enforced=u.enforced != 0,
        )
