"""membudget for Python: Apache Flink's memory plan enforced as per-category quotas, with network
buffer pools and managed memory pages, through libmembudget's C ABI (ctypes).

    import membudget as mb

    with mb.MemBudget({"taskmanager.memory.process.size": "1g"}) as budget:
        with budget.create_local_buffer_pool(1, 8) as pool, pool.request_buffer() as buf:
            buf.view[:5] = b"hello"          # a writable memoryview over the segment
        try:
            budget.reserve(mb.Category.DIRECT, 1 << 40)
        except mb.QuotaExceededError as e:
            print(e)                          # names used, quota and the key to increase

The library is found through ``MEMBUDGET_LIBRARY``, then the package's bundled copy, then the
system loader (see ``membudget._library`` and README.md).
"""
from ._library import LibraryNotFoundError
from .buffer import Buffer
from .categories import Category, CategoryUsage, Role
from .child import ChildBudget
from .errors import (
    BufferExportedError,
    BufferTooSmallError,
    DestroyedError,
    IllegalConfigurationError,
    InvalidArgumentError,
    InvalidHandleError,
    Limit,
    MemBudgetError,
    NativeOutOfMemoryError,
    NativePanicError,
    NullArgumentError,
    QuotaExceededError,
    RequestTimeoutError,
    UnavailableError,
)
from .managed import ManagedMemory, ManagedPage
from .options import ConfigFormat, Deployment, FlinkVersion, HostProfile
from .pool import LocalBufferPool
from .runtime import MemBudget, report_refusals

__version__ = "0.1.0"


def abi_version() -> int:
    """The loaded library's ABI version, ``major << 16 | minor`` (``mb_abi_version``)."""
    from . import _abi

    return _abi.lib().mb_abi_version()


def library_source() -> str:
    """Where libmembudget was loaded from (loading it if needed)."""
    from ._library import located

    return located().source


__all__ = [
    "Buffer",
    "BufferExportedError",
    "BufferTooSmallError",
    "Category",
    "CategoryUsage",
    "ChildBudget",
    "ConfigFormat",
    "Deployment",
    "DestroyedError",
    "FlinkVersion",
    "HostProfile",
    "IllegalConfigurationError",
    "InvalidArgumentError",
    "InvalidHandleError",
    "LibraryNotFoundError",
    "Limit",
    "LocalBufferPool",
    "ManagedMemory",
    "ManagedPage",
    "MemBudget",
    "MemBudgetError",
    "NativeOutOfMemoryError",
    "NativePanicError",
    "NullArgumentError",
    "QuotaExceededError",
    "RequestTimeoutError",
    "Role",
    "UnavailableError",
    "abi_version",
    "library_source",
    "report_refusals",
]
