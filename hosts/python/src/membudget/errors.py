"""Exceptions: one per C status, each carrying the library's message and the status code."""
import enum
from typing import Optional


class MemBudgetError(Exception):
    """A call into libmembudget failed. ``str(e)`` is the library's own message (it names the
    thing, the value, the limit and the key to change); ``status`` is the C status code."""

    status: int = 0

    def __init__(self, message: str, status: Optional[int] = None):
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        """The library's message."""
        return str(self)


class Limit(enum.IntEnum):
    """Which limit refused a request (``MB_LIMIT_*``; ``QuotaExceededError.limit``)."""

    CATEGORY = 0
    """The category's quota."""
    PROCESS = 1
    """The process total (all categories together)."""
    INJECTED = 2
    """None: a failure injected for testing (``MEMBUDGET_FAULT_PROBABILITY``)."""
    POOL = 3
    """The runtime's pool of the category is used up (its network buffers or managed memory)."""
    BUDGET = 4
    """A child budget's limit (``ChildBudget``); the message names the budget."""


_UNLIMITED = 0xFFFF_FFFF_FFFF_FFFF


class QuotaExceededError(MemBudgetError):
    """``MB_ERR_QUOTA_EXCEEDED``: a quota (a category's, or the process total) or one of the
    runtime's pools would be exceeded; nothing was charged. The message names used, quota and the
    key to increase; the attributes carry the same facts as the library reported them
    (``mb_last_refusal``), None where not known:

    - ``category``: the category of the request; ``requested``: bytes asked for (-1 if unknown)
    - ``used``: bytes in use under the limit that refused; ``quota``: that limit
    - ``limit``: which ``Limit`` refused; ``role``: whose keys the message names
    - ``key``: the configuration key to raise (None for an injected failure)
    """

    status = -1

    def __init__(
        self,
        message: str,
        category=None,
        requested: int = -1,
        *,
        used: Optional[int] = None,
        quota: Optional[int] = None,
        limit: Optional[Limit] = None,
        role=None,
        key: Optional[str] = None,
    ):
        super().__init__(message)
        self.category = category
        self.requested = requested
        self.used = used
        self.quota = quota
        self.limit = limit
        self.role = role
        self.key = key

    @classmethod
    def _from_refusal(cls, message: str, r) -> "QuotaExceededError":
        from .categories import Category, Role

        def known(enum_type, code):
            return enum_type(code) if code in enum_type._value2member_map_ else code

        key = r.key.decode("utf-8", "replace")
        return cls(
            message,
            known(Category, r.category),
            r.requested,
            used=r.used,
            quota=None if r.quota == _UNLIMITED else r.quota,
            limit=known(Limit, r.limit),
            role=known(Role, r.role),
            key=key or None,
        )


class InvalidArgumentError(MemBudgetError, ValueError):
    """``MB_ERR_INVALID_ARGUMENT``: an argument is out of range (size, count, min above max, ...)."""

    status = -2


class NullArgumentError(MemBudgetError):
    """``MB_ERR_NULL_POINTER``: a required pointer was NULL (a binding bug)."""

    status = -3


class InvalidHandleError(MemBudgetError):
    """``MB_ERR_INVALID_HANDLE``: a handle or id is invalid: already closed, freed or recycled."""

    status = -4


class DestroyedError(MemBudgetError):
    """``MB_ERR_DESTROYED``: the object was destroyed meanwhile (a pool closed while a request waited)."""

    status = -5


class RequestTimeoutError(MemBudgetError, TimeoutError):
    """``MB_ERR_TIMEOUT``: no buffer was recycled within the timeout of a blocking request."""

    status = -6


class UnavailableError(MemBudgetError):
    """``MB_ERR_UNAVAILABLE``: nothing is available now (backpressure), or the plan has no network memory."""

    status = -7


class IllegalConfigurationError(MemBudgetError, ValueError):
    """``MB_ERR_CONFIG``: the memory configuration is invalid; the message is Flink's, naming the keys."""

    status = -8


class NativePanicError(MemBudgetError):
    """``MB_ERR_PANIC``: the library caught a panic at its boundary; the runtime stays usable."""

    status = -9


class BufferTooSmallError(MemBudgetError):
    """``MB_ERR_BUFFER_TOO_SMALL``: an output buffer was too small (the binding retries)."""

    status = -10


class NativeOutOfMemoryError(MemBudgetError, MemoryError):
    """``MB_ERR_OUT_OF_MEMORY``: the operating system refused memory although the quota allowed it."""

    status = -11


class BufferExportedError(BufferError):
    """A buffer or page cannot be closed while memoryviews into it are alive (like ``mmap.close``):
    release them first (``with buf.view as v: ...`` or ``del``). Nothing was recycled."""


_BY_STATUS = {
    cls.status: cls
    for cls in (
        InvalidArgumentError,
        NullArgumentError,
        InvalidHandleError,
        DestroyedError,
        RequestTimeoutError,
        UnavailableError,
        IllegalConfigurationError,
        NativePanicError,
        BufferTooSmallError,
        NativeOutOfMemoryError,
    )
}


def exception_for(status: int, message: str, category=None, requested: int = -1) -> MemBudgetError:
    """The exception for C status ``status``; a status this binding does not know (a newer
    library) is still a ``MemBudgetError`` carrying it."""
    if status == QuotaExceededError.status:
        return QuotaExceededError(message, category, requested)
    cls = _BY_STATUS.get(status)
    if cls is None:
        return MemBudgetError(message, status)
    return cls(message)
