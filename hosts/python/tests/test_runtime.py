import gc
import json
import threading

import pytest

import membudget as mb
from conftest import one_gib


def test_abi_version_is_one_dot_two():
    assert mb.abi_version() == (1 << 16) | 2


def test_plan_json_and_jvm_args_are_the_cli_outputs(budget):
    plan = json.loads(budget.plan_json())
    assert plan["role"] == "taskmanager"
    assert plan["total_process_memory"] == 1 << 30
    assert plan["network_buffers"] == 2048
    assert budget.jvm_args().startswith("-Xmx161061270 ")
    assert budget.usage(mb.Category.DIRECT).quota == plan["categories"]["direct"]


def test_config_error_is_illegal_configuration_with_flinks_message():
    with pytest.raises(mb.IllegalConfigurationError, match="^TaskManager memory configuration failed") as e:
        one_gib(extra={"taskmanager.memory.process.size": "64m"})
    assert e.value.status == -8
    assert isinstance(e.value, ValueError)
    with pytest.raises(mb.IllegalConfigurationError):
        one_gib(extra={"taskmanager.memory.managed.fraction": "2.5"})


def test_malformed_and_misleading_properties_are_refused():
    with pytest.raises(mb.InvalidArgumentError, match="expected 'key=value'"):
        mb.MemBudget(dynamic_properties=["no-equals-sign"])
    # "a=b" + "c" would reach the library as "a=b=c": key "a", silently another option.
    with pytest.raises(mb.InvalidArgumentError, match="contains '='"):
        mb.MemBudget({"a=b": "c"})
    with pytest.raises(mb.InvalidArgumentError, match="NUL"):
        mb.MemBudget({"taskmanager.memory.process.size": "1g\0junk"})
    with pytest.raises(mb.InvalidArgumentError, match="must be a str"):
        mb.MemBudget({"taskmanager.memory.process.size": 1024})
    with pytest.raises(mb.InvalidArgumentError, match="NUL"):
        mb.MemBudget(config_file="conf\0.yaml")
    with pytest.raises(mb.InvalidArgumentError, match="dynamic_properties"):
        mb.MemBudget("taskmanager.memory.process.size=1g")


def test_properties_as_pairs_dynamic_properties_and_config_file(tmp_path):
    conf = tmp_path / "flink-conf.yaml"
    conf.write_text("taskmanager.memory.process.size: 1536m\n")
    with mb.MemBudget(config_file=conf, ignore_container=True) as b:
        assert json.loads(b.plan_json())["total_process_memory"] == 1536 << 20
    pairs = [("taskmanager.memory.process.size", "2g")]
    with mb.MemBudget(pairs, ignore_container=True) as a, mb.MemBudget(
        dynamic_properties=["taskmanager.memory.process.size=2g"], ignore_container=True
    ) as b:
        assert a.plan_json() == b.plan_json()
    with pytest.raises(mb.IllegalConfigurationError, match="missing.yaml"):
        mb.MemBudget(config_file=tmp_path / "missing.yaml")


def test_environment_is_read_only_when_asked(monkeypatch):
    monkeypatch.setenv("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE", "3g")
    with mb.MemBudget(ignore_container=True, use_environment=True) as b:
        assert json.loads(b.plan_json())["total_process_memory"] == 3 << 30
    with mb.MemBudget({"taskmanager.memory.process.size": "1g"}, ignore_container=True) as b:
        assert json.loads(b.plan_json())["total_process_memory"] == 1 << 30


def test_job_manager_has_no_network_buffers():
    with mb.MemBudget({"jobmanager.memory.process.size": "1g"}, role=mb.Role.JOBMANAGER, ignore_container=True) as jm:
        with pytest.raises(mb.UnavailableError, match="no network buffers"):
            jm.create_local_buffer_pool(1, 2)
        assert jm.usage(mb.Category.MANAGED).quota == 0


def test_a_closed_runtime_is_refused_with_the_librarys_message():
    b = one_gib()
    b.close()
    b.close()  # idempotent
    assert b.closed
    with pytest.raises(mb.InvalidHandleError, match=r"^invalid runtime handle 0x[0-9a-f]+: it was already freed"):
        b.reserve(mb.Category.HEAP, 1)
    with pytest.raises(mb.InvalidHandleError):
        b.plan_json()
    with pytest.raises(mb.InvalidHandleError):
        b.usage(mb.Category.HEAP)
    with pytest.raises(mb.InvalidHandleError):
        b.create_local_buffer_pool(1, 1)
    with pytest.raises(mb.InvalidHandleError):
        b.managed_memory.allocate_pages(1, 1)


def test_a_runtime_closed_on_another_thread_is_refused_on_this_one():
    b = one_gib()
    b.reserve(mb.Category.HEAP, 1 << 20)
    t = threading.Thread(target=b.close)
    t.start()
    t.join()
    with pytest.raises(mb.InvalidHandleError):
        b.release(mb.Category.HEAP, 1 << 20)


def test_an_unclosed_runtime_is_freed_with_a_resource_warning():
    b = one_gib()
    handle = b._handle
    with pytest.warns(ResourceWarning, match="unclosed MemBudget"):
        del b
        gc.collect()  # the runtime and its ManagedMemory refer to each other
    lib = mb._abi.lib()
    assert lib.mb_runtime_free(handle) == mb._abi.MB_ERR_INVALID_HANDLE  # already freed


def test_every_status_has_its_exception():
    from membudget.errors import exception_for

    expected = {
        -1: mb.QuotaExceededError,
        -2: mb.InvalidArgumentError,
        -3: mb.NullArgumentError,
        -4: mb.InvalidHandleError,
        -5: mb.DestroyedError,
        -6: mb.RequestTimeoutError,
        -7: mb.UnavailableError,
        -8: mb.IllegalConfigurationError,
        -9: mb.NativePanicError,
        -10: mb.BufferTooSmallError,
        -11: mb.NativeOutOfMemoryError,
    }
    for status, cls in expected.items():
        e = exception_for(status, "the message")
        assert type(e) is cls and e.status == status and str(e) == "the message"
    unknown = exception_for(-99, "from a newer library")
    assert type(unknown) is mb.MemBudgetError and unknown.status == -99
    assert isinstance(exception_for(-6, "m"), TimeoutError)
    assert isinstance(exception_for(-11, "m"), MemoryError)
