"""The C ABI of libmembudget (``membudget.h``) through ctypes: structs, signatures, and the
status-to-exception step every call goes through. Handles are ``void *`` tokens and ids
``uint64_t``; the library checks every one (generation-checked), so a stale token is refused
with ``MB_ERR_INVALID_HANDLE`` and its own message, never dereferenced."""
import ctypes as C
import threading
from typing import Optional

from . import _library
from .errors import QuotaExceededError, exception_for

MB_OK = 0
MB_ERR_QUOTA_EXCEEDED = -1
MB_ERR_INVALID_HANDLE = -4
MB_ERR_BUFFER_TOO_SMALL = -10
MB_WAIT_FOREVER = 0xFFFF_FFFF
MB_UNBOUNDED = 0xFFFF_FFFF
ABI_MAJOR = 1
ABI_MINOR = 2  # 1.1: plan options, quotas from the environment, refusal details; 1.2: child budgets


class RuntimeOptions(C.Structure):
    _fields_ = [
        ("struct_size", C.c_uint32),
        ("role", C.c_uint32),
        ("config_file", C.c_char_p),
        ("properties", C.POINTER(C.c_char_p)),
        ("properties_len", C.c_uint32),
        ("ignore_container", C.c_uint32),
        ("use_environment", C.c_uint32),
        ("flags", C.c_uint32),
        # ABI 1.1
        ("config_section", C.c_char_p),
        ("config_format", C.c_uint32),
        ("flink_version", C.c_uint32),
        ("deployment", C.c_uint32),
        ("host", C.c_uint32),
        ("strict", C.c_uint32),
        ("verbose_errors", C.c_uint32),
        ("quota_source", C.c_uint32),
    ]


class Refusal(C.Structure):
    _fields_ = [
        ("struct_size", C.c_uint32),
        ("category", C.c_uint32),
        ("requested", C.c_uint64),
        ("used", C.c_uint64),
        ("quota", C.c_uint64),
        ("limit", C.c_uint32),
        ("role", C.c_uint32),
        ("key", C.c_char * 64),
        ("message", C.c_char * 1024),
    ]


class CategoryUsage(C.Structure):
    _fields_ = [
        ("struct_size", C.c_uint32),
        ("category", C.c_uint32),
        ("used", C.c_uint64),
        ("peak", C.c_uint64),
        ("quota", C.c_uint64),
        ("available", C.c_uint64),
        ("failures", C.c_uint64),
        ("host_reserved", C.c_uint64),
        ("host_allocated", C.c_uint64),
        ("enforced", C.c_uint32),
        ("reserved", C.c_uint32),
    ]


class RawBuffer(C.Structure):
    _fields_ = [("ptr", C.c_void_p), ("capacity", C.c_uint64), ("id", C.c_uint64)]


class RawSegment(C.Structure):
    _fields_ = [("ptr", C.c_void_p), ("size", C.c_uint64), ("id", C.c_uint64)]


BUFFER_CALLBACK = C.CFUNCTYPE(None, C.c_void_p, C.c_int32, C.POINTER(RawBuffer))
RECLAIM_CALLBACK = C.CFUNCTYPE(C.c_uint64, C.c_void_p, C.c_uint32, C.c_uint64)

_I32, _U32, _U64, _VP, _SZ = C.c_int32, C.c_uint32, C.c_uint64, C.c_void_p, C.c_size_t
_SIGNATURES = {
    "mb_abi_version": [],
    "mb_last_error_message": [C.c_char_p, _SZ, C.POINTER(_SZ)],
    "mb_last_refusal": [C.POINTER(Refusal)],
    "mb_report_refusals": [_U32],
    "mb_runtime_new": [C.POINTER(RuntimeOptions), C.POINTER(_VP)],
    "mb_runtime_free": [_VP],
    "mb_plan_json": [_VP, C.c_char_p, _SZ, C.POINTER(_SZ)],
    "mb_jvm_args": [_VP, C.c_char_p, _SZ, C.POINTER(_SZ)],
    "mb_reserve": [_VP, _U32, _U64],
    "mb_release": [_VP, _U32, _U64],
    "mb_usage": [_VP, _U32, C.POINTER(CategoryUsage)],
    "mb_local_pool_new": [_VP, _U32, _U32, C.POINTER(_VP)],
    "mb_local_pool_free": [_VP],
    "mb_buffer_request": [_VP, C.POINTER(RawBuffer)],
    "mb_buffer_request_timeout": [_VP, _U32, C.POINTER(RawBuffer)],
    "mb_local_pool_on_available": [_VP, BUFFER_CALLBACK, _VP],
    "mb_buffer_recycle": [_U64],
    "mb_managed_allocate_pages": [_VP, _U64, _U32, C.POINTER(RawSegment)],
    "mb_managed_release": [_VP, _U64],
    "mb_managed_release_all": [_VP, _U64],
    # ABI 1.2
    "mb_budget_child_new": [_VP, _VP, C.c_char_p, C.POINTER(_U64), C.POINTER(_U64), C.POINTER(_VP)],
    "mb_budget_child_free": [_VP],
    "mb_budget_child_reserve": [_VP, _U32, _U64],
    "mb_budget_child_release": [_VP, _U32, _U64],
    "mb_budget_child_used": [_VP, _U32, C.POINTER(_U64)],
    "mb_budget_on_reclaim": [_VP, RECLAIM_CALLBACK, _VP],
    "mb_budget_set_reclaim_wait": [_VP, _U32],
    "mb_budget_report_json": [_VP, _VP, C.c_char_p, _SZ, C.POINTER(_SZ)],
}

_lock = threading.Lock()
_lib: Optional[C.CDLL] = None


def lib() -> C.CDLL:
    """The library with every signature declared and its ABI version checked (once)."""
    global _lib
    if _lib is None:
        with _lock:
            if _lib is None:
                located = _library.located()
                cdll = located.library
                for name, argtypes in _SIGNATURES.items():
                    f = getattr(cdll, name)
                    f.argtypes, f.restype = argtypes, _I32
                version = cdll.mb_abi_version()
                if version >> 16 != ABI_MAJOR or version & 0xFFFF < ABI_MINOR:
                    raise _library.LibraryNotFoundError(
                        f"libmembudget ({located.source}) implements ABI "
                        f"{version >> 16}.{version & 0xFFFF}; this binding needs "
                        f"{ABI_MAJOR}.{ABI_MINOR} or a later {ABI_MAJOR}.x"
                    )
                _lib = cdll
    return _lib


_message = threading.local()


def last_error_message() -> str:
    """The calling thread's last error message ("" if none)."""
    buf = getattr(_message, "buf", None)
    if buf is None:
        buf = _message.buf = C.create_string_buffer(512)
    needed = C.c_size_t(0)
    rc = lib().mb_last_error_message(buf, len(buf), C.byref(needed))
    if rc != MB_OK and needed.value > len(buf):
        buf = C.create_string_buffer(needed.value)
        lib().mb_last_error_message(buf, len(buf), C.byref(needed))
    return buf.value.decode("utf-8", "replace")


def error(rc: int, category=None, requested: int = -1):
    """The exception for a call that just failed on this thread: the library's message and, for a
    quota refusal, the refusal's facts (``mb_last_refusal``); ``category`` and ``requested`` are
    what the call asked for, kept if the library has no details."""
    message = last_error_message()
    if rc == MB_ERR_QUOTA_EXCEEDED:
        r = Refusal(struct_size=C.sizeof(Refusal))
        if lib().mb_last_refusal(C.byref(r)) == MB_OK:
            return QuotaExceededError._from_refusal(message, r)
    return exception_for(rc, message, category, requested)


def check(rc: int) -> None:
    """Raises the exception for ``rc`` unless it is ``MB_OK``."""
    if rc != MB_OK:
        raise error(rc)


def text(fn, handle) -> str:
    """The size-query-then-copy protocol of mb_plan_json and mb_jvm_args."""
    needed = C.c_size_t(0)
    rc = fn(handle, None, 0, C.byref(needed))
    if rc != MB_OK and needed.value == 0:
        raise error(rc)
    buf = C.create_string_buffer(needed.value)
    check(fn(handle, buf, needed.value, C.byref(needed)))
    return buf.value.decode("utf-8")
