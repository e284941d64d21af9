"""Python 3 (ctypes) host test of the membudget C ABI: plan, reserve/release with quota
errors, buffers written through a zero-copy memoryview, threads. Prints "N passed, N failed".
The library comes from $MEMBUDGET_LIB (run.sh sets it)."""
import ctypes as C
import json
import os
import sys
import threading
import time

lib = C.CDLL(os.environ.get("MEMBUDGET_LIB", "libmembudget.so"))

MB_OK, MB_ERR_QUOTA_EXCEEDED, MB_ERR_INVALID_ARGUMENT = 0, -1, -2
MB_ERR_NULL_POINTER, MB_ERR_INVALID_HANDLE, MB_ERR_DESTROYED = -3, -4, -5
MB_ERR_TIMEOUT, MB_ERR_UNAVAILABLE, MB_ERR_CONFIG, MB_ERR_BUFFER_TOO_SMALL = -6, -7, -8, -10
HEAP, DIRECT, MANAGED, NETWORK = 0, 1, 2, 3


class Options(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("role", C.c_uint32),
                ("config_file", C.c_char_p), ("properties", C.POINTER(C.c_char_p)),
                ("properties_len", C.c_uint32), ("ignore_container", C.c_uint32),
                ("use_environment", C.c_uint32), ("flags", C.c_uint32)]


class Usage(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("category", C.c_uint32), ("used", C.c_uint64),
                ("peak", C.c_uint64), ("quota", C.c_uint64), ("available", C.c_uint64),
                ("failures", C.c_uint64), ("host_reserved", C.c_uint64),
                ("host_allocated", C.c_uint64), ("enforced", C.c_uint32),
                ("reserved", C.c_uint32)]


class Buffer(C.Structure):
    _fields_ = [("ptr", C.c_void_p), ("capacity", C.c_uint64), ("id", C.c_uint64)]


I32, U32, U64, VP = C.c_int32, C.c_uint32, C.c_uint64, C.c_void_p
for name, args in {
    "mb_abi_version": [],
    "mb_last_error_message": [C.c_char_p, C.c_size_t, C.POINTER(C.c_size_t)],
    "mb_runtime_new": [C.POINTER(Options), C.POINTER(VP)],
    "mb_runtime_free": [VP],
    "mb_plan_json": [VP, C.c_char_p, C.c_size_t, C.POINTER(C.c_size_t)],
    "mb_jvm_args": [VP, C.c_char_p, C.c_size_t, C.POINTER(C.c_size_t)],
    "mb_reserve": [VP, U32, U64],
    "mb_release": [VP, U32, U64],
    "mb_usage": [VP, U32, C.POINTER(Usage)],
    "mb_local_pool_new": [VP, U32, U32, C.POINTER(VP)],
    "mb_local_pool_free": [VP],
    "mb_buffer_request": [VP, C.POINTER(Buffer)],
    "mb_buffer_request_timeout": [VP, U32, C.POINTER(Buffer)],
    "mb_buffer_recycle": [U64],
}.items():
    f = getattr(lib, name)
    f.argtypes, f.restype = args, I32


class MembudgetError(Exception):
    """A failed call: its status code and the library's message."""

    def __init__(self, status):
        need = C.c_size_t(0)
        lib.mb_last_error_message(None, 0, C.byref(need))
        buf = C.create_string_buffer(need.value)
        lib.mb_last_error_message(buf, need.value, C.byref(need))
        super().__init__(f"[{status}] {buf.value.decode()}")
        self.status = status


def check(rc):
    if rc != MB_OK:
        raise MembudgetError(rc)


def runtime(*props):
    props = (b"taskmanager.memory.process.size=1g",) + tuple(p.encode() for p in props)
    arr = (C.c_char_p * len(props))(*props)
    opts = Options(struct_size=C.sizeof(Options), properties=arr,
                   properties_len=len(props), ignore_container=1)
    rt = VP()
    check(lib.mb_runtime_new(C.byref(opts), C.byref(rt)))
    return rt


def usage(rt, category):
    u = Usage(struct_size=C.sizeof(Usage))
    check(lib.mb_usage(rt, category, C.byref(u)))
    return u


def text(fn, rt):
    need = C.c_size_t(0)
    assert fn(rt, None, 0, C.byref(need)) == MB_ERR_BUFFER_TOO_SMALL
    buf = C.create_string_buffer(need.value)
    check(fn(rt, buf, need.value, C.byref(need)))
    return buf.value.decode()


def request(pool, timeout_ms=None):
    b = Buffer()
    if timeout_ms is None:
        check(lib.mb_buffer_request(pool, C.byref(b)))
    else:
        check(lib.mb_buffer_request_timeout(pool, timeout_ms, C.byref(b)))
    return b


def view(b):
    """The buffer's memory as a writable memoryview, without copying."""
    return memoryview((C.c_ubyte * b.capacity).from_address(b.ptr)).cast("B")


passed = failed = 0


def test(fn):
    global passed, failed
    try:
        fn()
        passed += 1
    except Exception as e:  # noqa: BLE001 - report and count every failure
        failed += 1
        print(f"FAIL {fn.__name__}: {type(e).__name__}: {e}", file=sys.stderr)
    return fn


def raises(status, fn, *args, contains=""):
    try:
        fn(*args)
    except MembudgetError as e:
        assert e.status == status, f"expected {status}, got {e}"
        assert contains in str(e), f"{contains!r} not in {e}"
        return
    raise AssertionError(f"expected status {status}, call succeeded")


@test
def version():
    assert lib.mb_abi_version() == 1 << 16


@test
def plan():
    rt = runtime()
    p = json.loads(text(lib.mb_plan_json, rt))
    assert p["role"] == "taskmanager"
    assert p["total_process_memory"] == 1 << 30
    assert p["network_buffers"] == 2048
    assert text(lib.mb_jvm_args, rt).startswith("-Xmx161061270 ")
    assert usage(rt, DIRECT).quota == p["categories"]["direct"]
    check(lib.mb_runtime_free(rt))
    raises(MB_ERR_INVALID_HANDLE, lambda: check(lib.mb_runtime_free(rt)), contains="already freed")


@test
def config_error():
    raises(MB_ERR_CONFIG, runtime, "taskmanager.memory.process.size=64m",
           contains="TaskManager memory configuration failed")


@test
def reserve_release():
    rt = runtime()
    quota = usage(rt, DIRECT).quota
    raises(MB_ERR_QUOTA_EXCEEDED, lambda: check(lib.mb_reserve(rt, DIRECT, quota + 1)),
           contains="Increase 'taskmanager.memory.task.off-heap.size'")
    check(lib.mb_reserve(rt, DIRECT, 1 << 20))
    u = usage(rt, DIRECT)
    assert (u.used, u.host_reserved, u.failures) == (1 << 20, 1 << 20, 1)
    raises(MB_ERR_INVALID_ARGUMENT, lambda: check(lib.mb_release(rt, DIRECT, (1 << 20) + 1)))
    raises(MB_ERR_INVALID_ARGUMENT, lambda: check(lib.mb_reserve(rt, 17, 1)))
    check(lib.mb_release(rt, DIRECT, 1 << 20))
    assert usage(rt, DIRECT).used == 0
    check(lib.mb_runtime_free(rt))


@test
def buffers_zero_copy():
    rt = runtime()
    pool = VP()
    check(lib.mb_local_pool_new(rt, 1, 2, C.byref(pool)))
    a, b = request(pool), request(pool)
    mv = view(a)
    assert len(mv) == 32768
    mv[:5] = b"hello"
    mv[-1] = 0x7F
    # The bytes are in the library's segment, not a copy.
    assert C.string_at(a.ptr, 5) == b"hello"
    assert C.string_at(a.ptr + 32767, 1) == b"\x7f"
    raises(MB_ERR_UNAVAILABLE, request, pool, contains="no buffer available")
    raises(MB_ERR_TIMEOUT, request, pool, 10)
    check(lib.mb_buffer_recycle(a.id))
    raises(MB_ERR_INVALID_HANDLE, lambda: check(lib.mb_buffer_recycle(a.id)))
    c = request(pool, 100)
    check(lib.mb_buffer_recycle(b.id))
    check(lib.mb_buffer_recycle(c.id))
    check(lib.mb_local_pool_free(pool))
    check(lib.mb_local_pool_free(None))
    raises(MB_ERR_INVALID_HANDLE, request, pool)
    check(lib.mb_runtime_free(rt))


@test
def threads():
    rt = runtime()
    pool = VP()
    check(lib.mb_local_pool_new(rt, 2, 2, C.byref(pool)))
    errors = []

    def work():
        try:
            for _ in range(2000):
                b = request(pool, 5000)
                view(b)[0] = 1
                check(lib.mb_buffer_recycle(b.id))
                check(lib.mb_reserve(rt, HEAP, 64))
                check(lib.mb_release(rt, HEAP, 64))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    assert usage(rt, HEAP).used == 0
    check(lib.mb_local_pool_free(pool))
    check(lib.mb_runtime_free(rt))


def perf():
    rt = runtime()
    pool = VP()
    check(lib.mb_local_pool_new(rt, 1, 16, C.byref(pool)))
    b, n = Buffer(), 200_000
    req, rec, ref = lib.mb_buffer_request, lib.mb_buffer_recycle, C.byref(b)
    t0 = time.perf_counter()
    for _ in range(n):
        req(pool, ref)
        rec(b.id)
    t1 = time.perf_counter()
    res, rel = lib.mb_reserve, lib.mb_release
    for _ in range(n):
        res(rt, DIRECT, 4096)
        rel(rt, DIRECT, 4096)
    t2 = time.perf_counter()
    print(f"perf python buffer_request+recycle {n / (t1 - t0):.0f} round trips/s")
    print(f"perf python reserve+release {n / (t2 - t1):.0f} round trips/s")
    lib.mb_local_pool_free(pool)
    lib.mb_runtime_free(rt)


if "--perf" in sys.argv:
    perf()
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
