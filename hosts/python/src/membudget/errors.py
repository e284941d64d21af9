"""Exceptions: one per C status, each carrying the library's message and the status code."""
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


class QuotaExceededError(MemBudgetError):
    """``MB_ERR_QUOTA_EXCEEDED``: a quota (a category's, or the process total) would be exceeded;
    nothing was charged. ``category`` and ``requested`` name the refused request (None and -1
    where it was for buffers or pages)."""

    status = -1

    def __init__(self, message: str, category=None, requested: int = -1):
        super().__init__(message)
        self.category = category
        self.requested = requested


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
