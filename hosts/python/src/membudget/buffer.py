"""``Buffer``: a network buffer lent by a local pool."""
import warnings
import weakref

from . import _abi
from ._memory import Region
from .errors import BufferExportedError, InvalidHandleError


class Buffer:
    """A network buffer lent by a ``LocalBufferPool``: ``capacity`` bytes of a memory segment,
    written and read in place through ``view``, a writable ``memoryview`` (format ``B``, zero
    copy). Closing it recycles the segment to its pool, like Flink's ``Buffer.recycleBuffer()``.

    A context manager. After close the buffer is invalid: ``view`` raises ``InvalidHandleError``,
    ``recycle()`` raises it with the library's message, a second ``close()`` does nothing. Closing
    while views into it are alive raises ``BufferExportedError`` and recycles nothing: release
    them first (``with buf.view as v:``). A buffer outlives its pool and runtime. One
    garbage-collected unclosed is recycled then (once its last view is gone), with a
    ``ResourceWarning``.
    """

    __slots__ = ("_lib", "_lent", "_id", "_address", "_capacity", "_region")

    def __init__(self, lib, raw):
        self._lib = lib
        self._id = buffer_id = raw.id
        self._lent = [buffer_id]  # list.pop(): an atomic claim of the one recycle
        self._address = raw.ptr
        self._capacity = raw.capacity
        self._region = None  # made by the first view: request+close stays cheap

    @property
    def view(self) -> memoryview:
        """A writable ``memoryview`` (format ``B``) over the whole buffer; raises
        ``InvalidHandleError`` once the buffer was closed."""
        self._ensure_lent()
        region = self._region
        if region is None:
            region = self._region = Region(self._address, self._capacity)
        v = region.view()
        if not self._lent:  # closed on another thread meanwhile: do not hand it out
            v.release()
            self._ensure_lent()
        return v

    @property
    def capacity(self) -> int:
        """Bytes in the buffer (the plan's segment size)."""
        return self._capacity

    def __len__(self) -> int:
        return self._capacity

    @property
    def id(self) -> int:
        """The library's generation-checked buffer id."""
        return self._id

    @property
    def address(self) -> int:
        """The address of the first byte (for native code)."""
        self._ensure_lent()
        return self._address

    @property
    def closed(self) -> bool:
        """Whether the buffer was closed or recycled."""
        return not self._lent

    def recycle(self) -> None:
        """Recycles the buffer; strict, unlike ``close()``: raises ``InvalidHandleError`` with the
        library's message if it was already recycled."""
        if not self._lent:
            _abi.check(self._lib.mb_buffer_recycle(self._id))  # the library refuses the stale id
        self.close()

    def close(self) -> None:
        """Recycles the buffer if it is still lent; a second call does nothing."""
        try:
            buffer_id = self._lent.pop()
        except IndexError:
            return
        region = self._region
        if region is not None:
            if region.exported():
                self._lent.append(buffer_id)
                raise BufferExportedError(
                    f"cannot recycle buffer 0x{buffer_id:x}: memoryviews into it are still "
                    f"alive; release them first (with buf.view as v: ...)"
                )
            region.detach()
        rc = self._lib.mb_buffer_recycle(buffer_id)
        if rc:
            raise _abi.error(rc)

    def __enter__(self) -> "Buffer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        lent = getattr(self, "_lent", None)
        if not lent:
            return
        buffer_id = lent.pop()
        warnings.warn(f"unclosed buffer 0x{buffer_id:x}; recycled when garbage-collected", ResourceWarning)
        region = self._region
        if region is not None and region.exported():
            # A view outlives this object: recycle once the last view is gone.
            weakref.finalize(region.detach(), self._lib.mb_buffer_recycle, buffer_id)
        else:
            self._lib.mb_buffer_recycle(buffer_id)

    def _ensure_lent(self) -> None:
        if not self._lent:
            raise InvalidHandleError(
                f"invalid buffer id 0x{self._id:x}: it was already recycled (the buffer was closed)"
            )

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return f"Buffer(id=0x{self._id:x}, capacity={self._capacity}{state})"
