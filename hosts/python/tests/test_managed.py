import sys

import pytest

import membudget as mb
from conftest import one_gib


def test_pages_are_writable_views_charged_to_managed(budget):
    mm = budget.managed_memory
    pages = mm.allocate_pages(11, 3)
    assert len(pages) == 3
    for i, p in enumerate(pages):
        with p.view as v:
            assert (v.format, len(v), v.readonly) == ("B", 32768, False)
            v[:] = bytes([i]) * 32768
        assert p.owner == 11
    assert budget.usage(mb.Category.MANAGED).used == 3 * 32768
    pages[0].close()
    pages[0].close()  # idempotent
    assert budget.usage(mb.Category.MANAGED).used == 2 * 32768
    mm.release_all(11)
    assert budget.usage(mb.Category.MANAGED).used == 0
    mm.release_all(12345)  # an owner with no pages is fine


def test_released_pages_are_invalid_whichever_way_they_were_released(budget):
    mm = budget.managed_memory
    a, b = mm.allocate_pages(1, 2)
    a.release()
    with pytest.raises(mb.InvalidHandleError, match=r"^invalid segment id 0x"):
        a.release()
    mm.release_all(1)
    assert b.released
    with pytest.raises(mb.InvalidHandleError, match="already released"):
        b.view
    b.close()  # already released by release_all: nothing to do
    with pytest.raises(mb.InvalidHandleError):
        b.release()


def test_views_block_releasing_pages_however_asked(budget):
    mm = budget.managed_memory
    (page,) = mm.allocate_pages(5, 1)
    v = page.view
    with pytest.raises(mb.BufferExportedError):
        page.close()
    with pytest.raises(mb.BufferExportedError):
        mm.release_all(5)
    with pytest.raises(mb.BufferExportedError):
        budget.close()
    assert not budget.closed and budget.usage(mb.Category.MANAGED).used == 32768
    v.release()
    mm.release_all(5)
    assert page.released


def test_closing_the_runtime_invalidates_its_pages():
    budget = one_gib()
    a, b = budget.managed_memory.allocate_pages(2, 2)
    budget.close()
    assert a.released
    with pytest.raises(mb.InvalidHandleError):
        a.view
    b.close()
    with pytest.raises(mb.InvalidHandleError):
        b.release()


def test_over_the_managed_quota_is_quota_exceeded(budget):
    with pytest.raises(mb.QuotaExceededError, match="taskmanager.memory.managed") as e:
        budget.managed_memory.allocate_pages(1, 100000)
    assert e.value.category == mb.Category.MANAGED
    assert (e.value.requested, e.value.quota, e.value.limit, e.value.key) == (
        100000 * 32768,
        budget.usage(mb.Category.MANAGED).quota,
        mb.Limit.POOL,
        "taskmanager.memory.managed.fraction",
    )
    assert budget.usage(mb.Category.MANAGED).used == 0
    assert budget.managed_memory.allocate_pages(1, 0) == []
    with pytest.raises(mb.InvalidArgumentError):
        budget.managed_memory.allocate_pages(1, -1)
    with pytest.raises(mb.InvalidArgumentError, match="at most 16777216 pages per call"):
        budget.managed_memory.allocate_pages(1, 1 << 31)


def test_an_unclosed_runtime_is_freed_once_the_last_view_into_its_pages_goes(monkeypatch):
    # Its __del__ raised BufferExportedError ("Exception ignored in __del__") and the runtime
    # was never freed: a global-budget one then blocked every later global-budget runtime.
    import gc
    import warnings

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        view = one_gib(global_budget=True).managed_memory.allocate_pages(1, 1)[0].view
        gc.collect()
        assert unraisable == []
        view[0] = 7  # the memory is still the page's
        with pytest.raises(mb.InvalidArgumentError, match="another live runtime"):
            one_gib(global_budget=True)
        assert view[0] == 7
        view.release()
        gc.collect()
        one_gib(global_budget=True).close()  # the first runtime was freed
    assert unraisable == []
