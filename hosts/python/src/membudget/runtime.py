"""``MemBudget``: one runtime of libmembudget."""
import ctypes as C
import os
import warnings
import weakref
from typing import Iterable, Mapping, Optional, Tuple, Union

from . import _abi
from .categories import Category, CategoryUsage, Role, category_code
from .errors import InvalidArgumentError
from .options import ConfigFormat, Deployment, FlinkVersion, HostProfile

Properties = Union[Mapping[str, str], Iterable[Tuple[str, str]]]


class MemBudget:
    """A membudget runtime: Flink's memory plan for this process, enforced as five quotas
    (``Category``), with the plan's network buffers (``create_local_buffer_pool``) and managed
    memory (``managed_memory``). One ``mb_runtime`` of libmembudget, shared with JVM, .NET,
    Rust or C code in the process.

    Sources merge like ``membudget plan``'s: Flink's defaults < ``config_file`` < environment
    (if ``use_environment``) < ``properties`` < ``dynamic_properties``.

    Thread-safe; a context manager. ``close()`` shuts the runtime down at once: reservations are
    released, managed pages returned, local pools stop lending; buffers still lent out stay valid
    until closed. Using a closed runtime raises ``InvalidHandleError`` with the library's message;
    closing twice does nothing. A runtime garbage-collected unclosed is freed then, with a
    ``ResourceWarning`` (once the last view into its managed pages is gone).

    The plan options follow ``membudget plan``: ``flink_version`` (``FlinkVersion``),
    ``deployment``, ``host`` (``HostProfile``: the runtime the quotas are drawn for),
    ``strict`` (a value that would not be applied is an error, not a plan warning),
    ``config_format`` and ``config_section`` (for ``config_file``), ``verbose_errors`` (Flink's
    multi-line layout). ``quotas_from_environment`` enforces the ``MEMBUDGET_QUOTA_*`` variables
    ``membudget plan --format env`` exports instead of deriving a plan (see
    ``from_environment``).

    Raises ``IllegalConfigurationError`` (Flink's message) for an invalid configuration — when
    ``strict``, also for a value that would not be applied — ``InvalidArgumentError`` for an
    option the library refuses, and ``LibraryNotFoundError`` if libmembudget cannot be loaded.
    """

    def __init__(
        self,
        properties: Optional[Properties] = None,
        *,
        role: Role = Role.TASKMANAGER,
        config_file: Optional[Union[str, "os.PathLike[str]"]] = None,
        dynamic_properties: Iterable[str] = (),
        use_environment: bool = False,
        ignore_container: bool = False,
        global_budget: bool = False,
        flink_version: FlinkVersion = FlinkVersion.V1_20,
        deployment: Deployment = Deployment.STANDALONE,
        host: HostProfile = HostProfile.JVM,
        strict: bool = False,
        config_format: ConfigFormat = ConfigFormat.AUTO,
        config_section: Optional[str] = None,
        verbose_errors: bool = False,
        quotas_from_environment: bool = False,
    ):
        self._handle = None
        pairs = []
        if isinstance(properties, (str, bytes)):
            raise InvalidArgumentError(
                "properties must be a mapping or (key, value) pairs; pass 'key=value' strings as "
                "dynamic_properties"
            )
        items = properties.items() if isinstance(properties, Mapping) else (properties or ())
        for key, value in items:
            _require_text("property key", key)
            _require_text(f"property value of '{key}'", value)
            if not key.strip() or "=" in key:
                raise InvalidArgumentError(
                    f"property key '{key}' is empty or contains '='; keys are option names such "
                    f"as taskmanager.memory.process.size"
                )
            pairs.append(f"{key}={value}")
        for kv in dynamic_properties:
            _require_text("dynamic property", kv)
            pairs.append(kv)
        encoded = [p.encode("utf-8") for p in pairs]
        array = (C.c_char_p * len(encoded))(*encoded)
        config = None
        if config_file is not None:
            config = os.fsdecode(config_file)
            _require_text("config_file", config)
        if config_section is not None:
            _require_text("config_section", config_section)
        codes = {
            "flink_version": _code(FlinkVersion, flink_version),
            "deployment": _code(Deployment, deployment),
            "host": _code(HostProfile, host),
            "config_format": _code(ConfigFormat, config_format),
        }
        options = _abi.RuntimeOptions(
            struct_size=C.sizeof(_abi.RuntimeOptions),
            role=int(role),
            config_file=None if config is None else config.encode("utf-8"),
            properties=array,
            properties_len=len(encoded),
            ignore_container=int(bool(ignore_container)),
            use_environment=int(bool(use_environment)),
            flags=int(bool(global_budget)),
            config_section=None if config_section is None else config_section.encode("utf-8"),
            strict=int(bool(strict)),
            verbose_errors=int(bool(verbose_errors)),
            quota_source=int(bool(quotas_from_environment)),
            **codes,
        )
        handle = C.c_void_p()
        lib = _abi.lib()
        _abi.check(lib.mb_runtime_new(C.byref(options), C.byref(handle)))
        self._lib = lib
        self._handle = handle.value
        self._closed = [False]  # list.pop(): an atomic claim of the one close
        from .managed import ManagedMemory

        self._managed = ManagedMemory(self)

    @classmethod
    def from_environment(cls, role: Role = Role.TASKMANAGER) -> "MemBudget":
        """A runtime enforcing the quotas ``membudget plan --format env`` exported
        (``MEMBUDGET_QUOTA_*``) for ``role``: its managed memory and network buffers (32 KiB each)
        are sized by them, and ``plan_json``/``jvm_args`` raise ``UnavailableError`` (there is no
        plan). ``role`` must match ``MEMBUDGET_QUOTA_ROLE``. Raises
        ``IllegalConfigurationError`` naming a malformed or missing variable."""
        return cls(role=role, quotas_from_environment=True)

    @property
    def managed_memory(self) -> "ManagedMemory":  # noqa: F821
        """The plan's managed memory, lent as pages per owner."""
        return self._managed

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return not self._closed

    def plan_json(self) -> str:
        """The plan exactly as ``membudget plan --format json`` prints it (``UnavailableError``
        when the quotas come from the environment)."""
        return _abi.text(self._lib.mb_plan_json, self._handle)

    def jvm_args(self) -> str:
        """The plan's JVM arguments (``-Xmx… -Xms… -XX:MaxDirectMemorySize=… -XX:MaxMetaspaceSize=…``)."""
        return _abi.text(self._lib.mb_jvm_args, self._handle)

    def usage(self, category: Category) -> CategoryUsage:
        """The counters of ``category``."""
        u = _abi.CategoryUsage(struct_size=C.sizeof(_abi.CategoryUsage))
        _abi.check(self._lib.mb_usage(self._handle, category_code(category), C.byref(u)))
        return CategoryUsage._from_raw(category, u)

    def reserve(self, category: Category, nbytes: int) -> None:
        """Charges ``nbytes`` of ``category`` for memory the host manages itself; give them back
        with ``release``. Raises ``QuotaExceededError`` (nothing charged) over quota."""
        if type(nbytes) is not int or not 0 <= nbytes <= _U64_MAX:
            _bad_size("reserve", nbytes)
        # A Category member (the usual argument) is its code; anything else is checked.
        code = category if type(category) is Category else category_code(category)
        rc = self._lib.mb_reserve(self._handle, code, nbytes)
        if rc:
            known = category in Category._value2member_map_
            raise _abi.error(rc, Category(category) if known else category, nbytes)

    def release(self, category: Category, nbytes: int) -> None:
        """Gives back bytes reserved with ``reserve``. Raises ``InvalidArgumentError`` for more than
        the host holds reserved (nothing is released then)."""
        if type(nbytes) is not int or not 0 <= nbytes <= _U64_MAX:
            _bad_size("release", nbytes)
        code = category if type(category) is Category else category_code(category)
        rc = self._lib.mb_release(self._handle, code, nbytes)
        if rc:
            raise _abi.error(rc)

    def create_local_buffer_pool(self, min_buffers: int, max_buffers: Optional[int] = None):
        """A local buffer pool on the plan's network buffers, guaranteed ``min_buffers`` and
        holding at most ``max_buffers`` (None: no bound), like Flink's
        ``NetworkBufferPool.createBufferPool``. Raises ``QuotaExceededError`` if the minimums of
        all pools exceed the network buffers, ``UnavailableError`` without network memory."""
        from .pool import LocalBufferPool

        _require_u32("min_buffers", min_buffers)
        if max_buffers is None:
            max_buffers = _abi.MB_UNBOUNDED
        else:
            _require_u32("max_buffers", max_buffers, below=_abi.MB_UNBOUNDED)
        handle = C.c_void_p()
        _abi.check(self._lib.mb_local_pool_new(self._handle, min_buffers, max_buffers, C.byref(handle)))
        return LocalBufferPool(self, handle.value)

    def child_budget(self, name: str, limits=None, reserved=None):
        """A child budget of this runtime's budget: ``limits`` and ``reserved`` map categories to
        bytes (see ``ChildBudget``)."""
        from .child import ChildBudget

        return ChildBudget(self, None, name, limits, reserved)

    def budget_report(self) -> dict:
        """The budget tree as a dict: this runtime's budget with every child budget and consumer."""
        import json

        return json.loads(_abi.text(lambda h, b, n, need: self._lib.mb_budget_report_json(h, None, b, n, need), self._handle))

    def close(self) -> None:
        """Shuts the runtime down at once (see the class docs); a second call does nothing."""
        if self.closed:
            return
        self._managed._check_not_exported(None)  # pages are unmapped with the runtime
        try:
            self._closed.pop()
        except IndexError:
            return
        self._managed._shut_down()
        _abi.check(self._lib.mb_runtime_free(self._handle))

    def __enter__(self) -> "MemBudget":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        if getattr(self, "_closed", None) is None or self.closed:
            return
        warnings.warn(f"unclosed {self!r}; freed when garbage-collected", ResourceWarning, source=self)
        arrays = self._managed._exported_arrays()
        if not arrays:
            self.close()
            return
        # Memoryviews into its pages outlive it, and freeing it unmaps them: free it once the
        # last one is gone (close() would raise BufferExportedError here, and leak it for good).
        try:
            self._closed.pop()
        except IndexError:
            return
        self._managed._shut_down()
        free = _FreeAfterLast(len(arrays), self._lib.mb_runtime_free, self._handle)
        for array in arrays:
            weakref.finalize(array, free)

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return f"MemBudget(0x{self._handle or 0:x}{state})"


class _FreeAfterLast:
    """Frees a runtime when called for the ``count``-th time (the last view's finalizer)."""

    def __init__(self, count: int, free, handle: int):
        self._left = [None] * count  # list.pop(): atomic
        self._free = free
        self._handle = handle

    def __call__(self) -> None:
        self._left.pop()
        if not self._left:
            self._free(self._handle)


def report_refusals(enabled: bool) -> None:
    """Writes one line to stderr at each refused request from now on (``True``), or stops, for
    every budget in the process, overriding ``MEMBUDGET_REPORT_REFUSALS``: a process that dies of
    a refusal has said which quota refused (``mb_report_refusals``)."""
    _abi.check(_abi.lib().mb_report_refusals(int(bool(enabled))))


def _code(enum_type, value) -> int:
    """The C code of ``value``, a member of ``enum_type``."""
    if not isinstance(value, enum_type):
        raise InvalidArgumentError(
            f"{value!r} is not a {enum_type.__name__}; use one of "
            f"{', '.join(m.name for m in enum_type)}"
        )
    return int(value)


def _require_text(what: str, s) -> None:
    if not isinstance(s, str):
        raise InvalidArgumentError(f"{what} must be a str, not {type(s).__name__}")
    if "\0" in s:
        raise InvalidArgumentError(f"{what} contains a NUL character: {s!r}")


_U64_MAX = 0xFFFF_FFFF_FFFF_FFFF


def _bad_size(call: str, nbytes) -> None:
    if type(nbytes) is not int:
        raise InvalidArgumentError(f"{call}: nbytes must be an int, not {type(nbytes).__name__}")
    raise InvalidArgumentError(f"{call}: nbytes is {nbytes}; must be in 0..2**64-1")


def _require_u32(what: str, n, below: int = 0x1_0000_0000) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < below:
        raise InvalidArgumentError(f"{what} is {n!r}; must be an int in 0..{below - 1}")
