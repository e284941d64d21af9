import pytest

import membudget as mb


def test_over_quota_is_quota_exceeded_with_the_message_and_fields(budget):
    quota = budget.usage(mb.Category.DIRECT).quota
    assert quota == 134217728
    with pytest.raises(mb.QuotaExceededError) as e:
        budget.reserve(mb.Category.DIRECT, quota + 1)
    assert (
        f"Cannot reserve {quota + 1} bytes of direct memory (used: 0, quota: {quota}). "
        f"Increase 'taskmanager.memory.task.off-heap.size'" in str(e.value)
    )
    assert (e.value.status, e.value.category, e.value.requested) == (-1, mb.Category.DIRECT, quota + 1)
    # The refusal's own facts, from the library.
    assert (e.value.used, e.value.quota, e.value.limit, e.value.role) == (
        0,
        quota,
        mb.Limit.CATEGORY,
        mb.Role.TASKMANAGER,
    )
    assert e.value.key == "taskmanager.memory.task.off-heap.size"
    u = budget.usage(mb.Category.DIRECT)
    assert (u.used, u.failures) == (0, 1)


def test_reserve_and_release_balance(budget):
    budget.reserve(mb.Category.DIRECT, 1 << 20)
    u = budget.usage(mb.Category.DIRECT)
    assert (u.used, u.host_reserved, u.enforced) == (1 << 20, 1 << 20, True)
    with pytest.raises(mb.InvalidArgumentError, match="holds only 1048576 bytes"):
        budget.release(mb.Category.DIRECT, (1 << 20) + 1)
    with pytest.raises(mb.InvalidArgumentError, match="category 17 is not one of"):
        budget.reserve(17, 1)
    budget.release(mb.Category.DIRECT, 1 << 20)
    assert budget.usage(mb.Category.DIRECT).used == 0
    assert budget.usage(mb.Category.DIRECT).peak == 1 << 20


def test_sizes_outside_u64_are_refused_not_wrapped(budget):
    with pytest.raises(mb.InvalidArgumentError, match=r"nbytes is -1; must be in 0..2\*\*64-1"):
        budget.reserve(mb.Category.HEAP, -1)
    with pytest.raises(mb.InvalidArgumentError):
        budget.reserve(mb.Category.HEAP, 1 << 64)
    with pytest.raises(mb.InvalidArgumentError, match="must be an int"):
        budget.reserve(mb.Category.HEAP, 1.5)


def test_pool_minimums_beyond_the_network_are_quota_exceeded(budget):
    with pytest.raises(mb.QuotaExceededError, match="Insufficient number of network buffers") as e:
        budget.create_local_buffer_pool(5000, 6000)
    # The plan's network buffers are a pool of 2048: the library says so.
    assert (e.value.category, e.value.requested, e.value.quota, e.value.limit) == (
        mb.Category.NETWORK,
        5000 * 32768,
        2048 * 32768,
        mb.Limit.POOL,
    )
    assert e.value.key == "taskmanager.memory.network.fraction"
    with pytest.raises(mb.InvalidArgumentError):
        budget.create_local_buffer_pool(3, 1)
    with pytest.raises(mb.InvalidArgumentError):
        budget.create_local_buffer_pool(-1, 1)
    with pytest.raises(mb.InvalidArgumentError):
        budget.create_local_buffer_pool(1, 0xFFFF_FFFF)  # the C "unbounded" value: pass None


def test_job_manager_refusals_name_job_manager_keys():
    with mb.MemBudget(
        {"jobmanager.memory.process.size": "1600m"}, role=mb.Role.JOBMANAGER, ignore_container=True
    ) as jm:
        with pytest.raises(mb.QuotaExceededError, match="A JobManager has no network memory") as e:
            jm.reserve(mb.Category.NETWORK, 1)
    assert (e.value.role, e.value.quota, e.value.key) == (
        mb.Role.JOBMANAGER,
        0,
        "jobmanager.memory.off-heap.size",
    )


def test_call_site_data_is_kept_when_the_library_has_no_details():
    e = mb.QuotaExceededError("m", mb.Category.HEAP, 5)
    assert (e.category, e.requested, e.used, e.limit, e.key) == (mb.Category.HEAP, 5, None, None, None)


def test_a_category_ctypes_cannot_pass_is_an_invalid_argument(budget):
    # ctypes silently wrapped 2**32 into category 0, charging heap; None and str were a bare
    # ctypes.ArgumentError.
    for bad in (2**32, -1, None, "heap", 1.0):
        with pytest.raises(mb.InvalidArgumentError, match="not a Category"):
            budget.reserve(bad, 4096)
        with pytest.raises(mb.InvalidArgumentError, match="not a Category"):
            budget.release(bad, 4096)
        with pytest.raises(mb.InvalidArgumentError, match="not a Category"):
            budget.usage(bad)
    assert budget.usage(mb.Category.HEAP).used == 0
    with pytest.raises(mb.InvalidArgumentError, match="category 9 is not one of"):
        budget.reserve(9, 1)  # in uint32_t range: the library's own message
