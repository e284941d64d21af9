"""``LocalBufferPool``: buffers from a runtime's network memory."""
import ctypes as C
import itertools
import sys
import warnings
from concurrent.futures import Future
from typing import Dict, Optional, Tuple

from . import _abi
from .buffer import Buffer
from .errors import InvalidArgumentError, exception_for


class LocalBufferPool:
    """A local buffer pool on a runtime's network buffers, after Flink's ``LocalBufferPool``:
    guaranteed its minimum, grows up to its maximum while the network pool has buffers to spare,
    and applies backpressure (no buffer) when at its size.

    Thread-safe; a context manager. ``close()`` destroys the pool: threads waiting in a request
    wake with ``DestroyedError``, pending ``request_buffer_async`` futures fail with it, and
    buffers still lent out stay valid until closed. Using a closed pool raises
    ``InvalidHandleError`` with the library's message; closing twice does nothing.
    """

    def __init__(self, budget, handle: int):
        self._budget = budget  # keeps the runtime alive while the pool is in use
        self._lib = budget._lib
        self._handle = handle
        self._open = [True]  # list.pop(): an atomic claim of the one close

    @property
    def budget(self):
        """The runtime this pool draws from."""
        return self._budget

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return not self._open

    def request_buffer(self, timeout: Optional[float] = None) -> Buffer:
        """A buffer. Without ``timeout``: only if the pool has one now (never blocks), else
        ``UnavailableError`` (backpressure). With ``timeout`` (seconds; ``float("inf")`` waits
        without a limit): waits for one to be recycled, else ``RequestTimeoutError``. A pool
        closed meanwhile raises ``DestroyedError``. The wait releases the GIL."""
        raw = _abi.RawBuffer()
        if timeout is None:
            rc = self._lib.mb_buffer_request(self._handle, raw)
        else:
            rc = self._lib.mb_buffer_request_timeout(self._handle, _timeout_ms(timeout), raw)
        if rc:
            raise _abi.error(rc)
        return Buffer(self._lib, raw)

    def request_buffer_async(self) -> "Future[Buffer]":
        """A ``concurrent.futures.Future`` completed with a buffer as soon as one is available,
        without blocking: at once if the pool has one, else by the thread that recycles one (its
        done-callbacks run there and must not block; ``asyncio.wrap_future`` hands it to an event
        loop). Fails with ``DestroyedError`` if the pool is closed first. Cancelling it gives a
        buffer delivered later straight back."""
        future: "Future[Buffer]" = Future()
        key = next(_keys)
        _pending[key] = (future, self)
        rc = self._lib.mb_local_pool_on_available(self._handle, _on_available, key)
        if rc != _abi.MB_OK:
            _pending.pop(key, None)  # refused: the callback will never run
            raise _abi.error(rc)
        return future

    def close(self) -> None:
        """Destroys the pool (see the class docs); a second call does nothing."""
        try:
            self._open.pop()
        except IndexError:
            return
        _abi.check(self._lib.mb_local_pool_free(self._handle))

    def __enter__(self) -> "LocalBufferPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        if getattr(self, "_open", None):
            warnings.warn(f"unclosed {self!r}; freed when garbage-collected", ResourceWarning, source=self)
            self.close()

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return f"LocalBufferPool(0x{self._handle:x}{state})"


def _timeout_ms(timeout: float) -> int:
    if timeout == float("inf"):
        return _abi.MB_WAIT_FOREVER
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 <= timeout:
        raise InvalidArgumentError(f"request_buffer: timeout {timeout!r} must be a number of seconds >= 0")
    ms = int(timeout * 1000)
    if ms >= _abi.MB_WAIT_FOREVER:
        raise InvalidArgumentError(
            f"request_buffer: timeout {timeout} s is above {_abi.MB_WAIT_FOREVER - 1} ms; pass "
            f"float('inf') to wait without a limit"
        )
    return ms


# Async requests in flight: key (the callback's ctx) -> (future, pool kept alive until it ran).
_pending: Dict[int, Tuple["Future[Buffer]", LocalBufferPool]] = {}
_keys = itertools.count(1)


@_abi.BUFFER_CALLBACK
def _on_available(ctx, status, raw):
    # Runs on the thread that recycled a buffer or freed the pool; never raise into C.
    try:
        future, pool = _pending.pop(ctx)
        if status == _abi.MB_OK:
            buffer = Buffer(pool._lib, raw.contents)
            if future.set_running_or_notify_cancel():
                future.set_result(buffer)
            else:
                buffer.close()  # cancelled meanwhile: the buffer goes back
        else:
            future.set_running_or_notify_cancel()
            future.set_exception(
                exception_for(
                    status,
                    f"local buffer pool 0x{pool._handle:x} was destroyed before a buffer became available",
                )
            )
    except BaseException as e:  # noqa: BLE001 - report, never unwind into native code
        print(f"membudget: a buffer availability callback failed: {e!r}", file=sys.stderr)
