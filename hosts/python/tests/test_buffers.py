import ctypes
import gc
import threading
import time

import pytest

import membudget as mb


@pytest.fixture
def pool(budget):
    with budget.create_local_buffer_pool(1, 2) as p:
        yield p


def test_buffers_are_writable_byte_memoryviews_over_the_segment(pool):
    with pool.request_buffer() as a, pool.request_buffer() as b:
        v = a.view
        assert (v.format, v.itemsize, v.readonly, v.ndim, len(v)) == ("B", 1, False, 1, 32768)
        assert len(a) == a.capacity == 32768 and a.id != b.id
        a.view[:5] = b"hello"  # the README's slice assignment
        v[-1] = 0x7F
        # Zero copy: the bytes are in the library's segment.
        assert ctypes.string_at(a.address, 5) == b"hello"
        assert ctypes.string_at(a.address + 32767, 1) == b"\x7f"
        v.release()


def test_backpressure_is_unavailable_then_timeout(pool):
    a, b = pool.request_buffer(), pool.request_buffer()
    with pytest.raises(mb.UnavailableError, match=r"no buffer available \(2 of 2 in use\)"):
        pool.request_buffer()
    with pytest.raises(mb.RequestTimeoutError, match="within 10 ms") as e:
        pool.request_buffer(timeout=0.01)
    assert isinstance(e.value, TimeoutError)
    with pytest.raises(mb.InvalidArgumentError):
        pool.request_buffer(timeout=-1)
    with pytest.raises(mb.InvalidArgumentError, match="float\\('inf'\\)"):
        pool.request_buffer(timeout=50 * 86400)
    a.close()
    with pool.request_buffer(timeout=0.1) as c:
        assert len(c) == 32768
    b.close()


def test_a_recycled_buffer_is_invalid_and_a_repeated_recycle_is_the_librarys_error(pool):
    a = pool.request_buffer()
    a.recycle()
    assert a.closed
    with pytest.raises(mb.InvalidHandleError, match=r"^invalid buffer id 0x[0-9a-f]+: it was already freed or recycled"):
        a.recycle()
    a.close()  # nothing to do
    with pytest.raises(mb.InvalidHandleError, match="already recycled"):
        a.view
    with pytest.raises(mb.InvalidHandleError):
        a.address
    b = pool.request_buffer()
    b.close()
    b.close()  # idempotent
    with pytest.raises(mb.InvalidHandleError):
        b.recycle()


def test_a_live_view_blocks_recycling_so_it_never_outlives_the_memory(pool):
    buf = pool.request_buffer()
    part = buf.view[10:20]  # a slice keeps the segment in use
    with pytest.raises(mb.BufferExportedError, match="memoryviews into it are still alive"):
        buf.close()
    assert not buf.closed
    part[0] = 1  # still valid: nothing was recycled
    del part
    with buf.view as v:  # a view released by its with-block does not block
        v[0] = 2
    buf.close()
    assert buf.closed


def test_a_view_released_before_close_leaves_nothing_behind(pool):
    with pool.request_buffer() as buf:
        cast = buf.view.cast("c")
        cast.release()


def test_an_unclosed_buffer_is_recycled_when_collected_even_after_its_last_view(budget):
    with budget.create_local_buffer_pool(1, 1) as pool:
        buf = pool.request_buffer()
        orphan = buf.view[0:8]
        with pytest.warns(ResourceWarning, match="unclosed buffer"):
            del buf
        orphan[0] = 9  # the buffer object is gone but its memory is still lent
        with pytest.raises(mb.UnavailableError):
            pool.request_buffer()
        del orphan
        gc.collect()
        with pool.request_buffer() as again:  # recycled once the last view was gone
            assert len(again) == 32768


def test_a_closed_pool_is_refused_and_its_lent_buffers_survive_it(budget):
    before = budget.usage(mb.Category.NETWORK).used
    pool = budget.create_local_buffer_pool(1, 2)
    lent = pool.request_buffer()
    pool.close()
    pool.close()  # idempotent
    with pytest.raises(mb.InvalidHandleError, match=r"^invalid local pool handle 0x"):
        pool.request_buffer()
    with pytest.raises(mb.InvalidHandleError):
        pool.request_buffer(timeout=0.005)
    with pytest.raises(mb.InvalidHandleError):
        pool.request_buffer_async()
    lent.view[0] = 1  # still valid
    lent.close()
    assert budget.usage(mb.Category.NETWORK).used == before


def test_a_pool_closed_on_another_thread_is_refused_on_this_one(budget):
    pool = budget.create_local_buffer_pool(1, 2)
    pool.request_buffer().close()  # this thread has used (and cached) the pool
    t = threading.Thread(target=pool.close)
    t.start()
    t.join()
    with pytest.raises(mb.InvalidHandleError, match="already freed"):
        pool.request_buffer()


def test_closing_the_pool_wakes_a_waiter_on_another_thread_with_destroyed(budget):
    pool = budget.create_local_buffer_pool(1, 1)
    held = pool.request_buffer()
    outcome = []

    def wait():
        try:
            pool.request_buffer(timeout=10).close()
        except BaseException as e:  # noqa: BLE001
            outcome.append(e)

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.05)
    pool.close()
    t.join(5)
    assert not t.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], mb.DestroyedError), outcome
    held.close()


def test_closing_the_runtime_on_another_thread_leaves_lent_buffers_valid():
    from conftest import one_gib

    budget = one_gib()
    pool = budget.create_local_buffer_pool(1, 4)
    lent = pool.request_buffer()
    t = threading.Thread(target=budget.close)
    t.start()
    t.join()
    # Every request through a pool of the closed runtime is refused, even with idle buffers.
    with pytest.raises(mb.DestroyedError, match="destroyed"):
        pool.request_buffer()
    lent.view[0] = 42
    t = threading.Thread(target=lent.close)
    t.start()
    t.join()
    assert lent.closed
    pool.close()  # pools of a closed runtime are freed as usual


def test_threads(budget):
    with budget.create_local_buffer_pool(2, 2) as pool:
        errors = []

        def work(me):
            try:
                for _ in range(2000):
                    with pool.request_buffer(timeout=5) as b:
                        b.view[0] = me
                        if b.view[0] != me:
                            errors.append("lost write")
                    budget.reserve(mb.Category.HEAP, 64)
                    budget.release(mb.Category.HEAP, 64)
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not errors, errors
        assert budget.usage(mb.Category.HEAP).used == 0


def test_async_request_completes_when_another_thread_recycles(budget):
    with budget.create_local_buffer_pool(1, 1) as pool:
        held = pool.request_buffer()
        future = pool.request_buffer_async()
        assert not future.done()
        t = threading.Thread(target=held.close)
        t.start()
        with future.result(timeout=5) as b:
            t.join()
            assert len(b) == 32768
        now = pool.request_buffer_async()
        assert now.done()  # available at once
        now.result().close()


def test_async_request_fails_with_destroyed_when_the_pool_closes(budget):
    pool = budget.create_local_buffer_pool(1, 1)
    held = pool.request_buffer()
    future = pool.request_buffer_async()
    pool.close()
    with pytest.raises(mb.DestroyedError, match="was destroyed"):
        future.result(timeout=5)
    held.close()


def test_a_cancelled_async_request_gives_its_buffer_back(budget):
    with budget.create_local_buffer_pool(1, 1) as pool:
        held = pool.request_buffer()
        future = pool.request_buffer_async()
        assert future.cancel()
        held.close()  # delivered to the cancelled future, which recycles it
        with pool.request_buffer() as again:
            assert len(again) == 32768


def test_asyncio_awaits_a_buffer(budget):
    import asyncio

    async def main(pool):
        held = pool.request_buffer()
        waiting = asyncio.wrap_future(pool.request_buffer_async())
        asyncio.get_running_loop().call_later(0.01, held.close)
        with await asyncio.wait_for(waiting, 5) as b:
            return len(b)

    with budget.create_local_buffer_pool(1, 1) as pool:
        assert asyncio.run(main(pool)) == 32768
