import pytest

import membudget as mb

M = mb.Category.MANAGED


def test_limits_at_every_level_and_refusals_naming_consumers(budget):
    with budget.child_budget("job", limits={M: 1 << 20}) as job, job.child("slot", limits={M: 900 << 10}) as slot:
        slot.reserve(M, 512 << 10)
        job.reserve(M, 256 << 10)
        assert (slot.used(M), job.used(M)) == (512 << 10, 768 << 10)
        with pytest.raises(mb.QuotaExceededError) as e:
            slot.reserve(M, 400 << 10)
        assert e.value.limit == mb.Limit.BUDGET
        assert "in budget 'job/slot'" in str(e.value)
        assert "top consumers: 'job/slot/host' 524288" in str(e.value)
        tree = budget.budget_report()
        assert tree["children"][0]["name"] == "job"
        assert slot.report()["consumers"][0]["name"] == "host"
        with pytest.raises(mb.InvalidArgumentError):
            slot.release(M, 1 << 30)
    assert budget.usage(M).used == 0


def test_reclaim_callback_spills_so_a_request_fits(budget):
    with budget.child_budget("slot", limits={M: 1 << 20}) as slot:
        cache, op = slot.child("cache"), slot.child("op")
        cache.reserve(M, 900 << 10)
        asked = []

        def spill(category, nbytes):
            asked.append((category, nbytes))
            cache.release(category, 900 << 10)  # re-enters the library
            return 900 << 10

        cache.on_reclaim(spill)
        op.reserve(M, 512 << 10)
        assert asked and asked[0][0] == M
        # A reclaimer that raises counts as freeing nothing: refused after the wait.
        cache.reserve(M, 400 << 10)
        cache.on_reclaim(lambda c, n: 1 // 0)
        op.set_reclaim_wait(0.02)
        with pytest.raises(mb.QuotaExceededError, match="Reclaim freed 0 bytes"):
            op.reserve(M, 200 << 10)
        cache.on_reclaim(None)
        op.close()
        cache.close()


def test_closed_and_bad_arguments_are_clear_errors(budget):
    c = budget.child_budget("c")
    with pytest.raises(mb.InvalidArgumentError):
        budget.child_budget("a/b")
    with pytest.raises(mb.InvalidArgumentError):
        budget.child_budget("x", limits={9: 1})
    with pytest.raises(mb.QuotaExceededError):
        budget.child_budget("r", limits={M: 10}, reserved={M: 11})
    c.close()
    c.close()
    with pytest.raises(mb.InvalidHandleError):
        c.reserve(M, 1)


def test_sizes_outside_u64_are_invalid_arguments_not_wrapped(budget):
    # ctypes wraps ints into c_uint64 silently: -1 became 2**64-1 (a QuotaExceededError about
    # 18446744073709551615 bytes) and 10 - 2**64 became a reserve of 10 bytes.
    with budget.child_budget("c") as c:
        for bad in (-1, 10 - 2**64, 2**64, 1.5, None):
            with pytest.raises(mb.InvalidArgumentError, match="nbytes"):
                c.reserve(M, bad)
            with pytest.raises(mb.InvalidArgumentError, match="nbytes"):
                c.release(M, bad)
        assert c.used(M) == 0
        c.reserve(M, 10)
        with pytest.raises(mb.InvalidArgumentError, match="not a Category"):
            c.reserve("managed", 1)
        with pytest.raises(mb.InvalidArgumentError, match="not a Category"):
            budget.reserve(None, 1)
        c.release(M, 10)
        assert c.used(M) == 0


def _drop_with_a_self_reclaimer(budget, name):
    c = budget.child_budget(name)
    c.reserve(mb.Category.HEAP, 1000)

    def spill(category, nbytes):
        c.release(category, 1000)
        return 1000

    c.on_reclaim(spill)


def test_an_unclosed_child_whose_reclaimer_reaches_it_is_freed_when_collected(budget):
    # The usual reclaimer releases from its own budget: the module-level registry held it
    # strongly, so such a budget was never collected and its reservation stayed charged.
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        for i in range(20):
            _drop_with_a_self_reclaimer(budget, f"dropped{i}")
        gc.collect()
    assert budget.usage(mb.Category.HEAP).used == 0


def test_a_reclaimer_stays_registered_across_collections(budget):
    import gc

    with budget.child_budget("slot", limits={M: 1 << 20}) as slot, slot.child("cache") as cache, \
            slot.child("op") as op:
        cache.reserve(M, 900 << 10)
        asked = []
        cache.on_reclaim(lambda category, nbytes: asked.append(nbytes) or cache.release(category, 900 << 10)
                         or 900 << 10)
        gc.collect()
        op.reserve(M, 512 << 10)
        assert len(asked) == 1
