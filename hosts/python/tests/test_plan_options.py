"""The plan options of ``membudget plan`` reach the library's plan; quotas from the environment;
refusal reports."""
import json
import subprocess
import sys

import pytest

import membudget as mb
from conftest import one_gib

METASPACE = 256 << 20


def quota(budget, category):
    return budget.usage(category).quota


def test_host_profiles_draw_the_quotas_for_their_runtime():
    with one_gib() as jvm, one_gib(host=mb.HostProfile.NATIVE) as native, one_gib(
        host=mb.HostProfile.DOTNET
    ) as dotnet:
        assert quota(native, mb.Category.HEAP) == quota(jvm, mb.Category.HEAP) + METASPACE
        assert quota(native, mb.Category.OVERHEAD) == quota(jvm, mb.Category.OVERHEAD) - METASPACE
        assert quota(dotnet, mb.Category.HEAP) == quota(jvm, mb.Category.HEAP)
        assert json.loads(native.plan_json())["host"] == "native"


def test_flink_2_ignores_the_removed_legacy_keys_and_strict_refuses_them():
    props = {"taskmanager.memory.process.size": "4g", "taskmanager.network.numberOfBuffers": "4096"}
    with mb.MemBudget(props, ignore_container=True) as v1:
        assert quota(v1, mb.Category.NETWORK) == 4096 * 32768
    with mb.MemBudget(props, ignore_container=True, flink_version=mb.FlinkVersion.V2) as v2:
        assert quota(v2, mb.Category.NETWORK) != 4096 * 32768
        assert any("numberOfBuffers" in w for w in json.loads(v2.plan_json())["warnings"])
    with pytest.raises(
        mb.IllegalConfigurationError,
        match=r"'taskmanager.network.numberOfBuffers' is not read by Flink 2\.x",
    ):
        mb.MemBudget(props, ignore_container=True, flink_version=mb.FlinkVersion.V2, strict=True)


def test_kubernetes_maps_the_legacy_heap_to_the_process():
    legacy = {"taskmanager.heap.size": "2g"}
    with mb.MemBudget(legacy, ignore_container=True, deployment=mb.Deployment.KUBERNETES) as k8s:
        assert json.loads(k8s.plan_json())["total_process_memory"] == 2 << 30
    with mb.MemBudget(legacy, ignore_container=True) as standalone:
        assert json.loads(standalone.plan_json())["total_process_memory"] != 2 << 30


def test_config_format_and_section(tmp_path):
    settings = tmp_path / "settings.conf"
    settings.write_text('{"Custom": {"taskmanager.memory.process.size": "2g"}}')
    kwargs = dict(ignore_container=True, config_file=settings, config_format=mb.ConfigFormat.JSON)
    with mb.MemBudget(config_section="Custom", **kwargs) as b:
        assert json.loads(b.plan_json())["total_process_memory"] == 2 << 30
    with pytest.raises(mb.IllegalConfigurationError, match="there is no section 'Other'"):
        mb.MemBudget(config_section="Other", **kwargs)
    with pytest.raises(
        mb.InvalidArgumentError, match="options->config_section is set but options->config_file is NULL"
    ):
        one_gib(config_section="Custom")


def test_verbose_errors_use_flinks_layout():
    bad = {"taskmanager.memory.managed.fraction": "1.5"}
    with pytest.raises(mb.IllegalConfigurationError) as one_line:
        one_gib(extra=bad)
    with pytest.raises(mb.IllegalConfigurationError) as verbose:
        one_gib(extra=bad, verbose_errors=True)
    assert "\n" not in str(one_line.value)
    assert "\nCaused by: fraction must be in range [0, 1)\n" in str(verbose.value)


def test_options_of_the_wrong_type_are_refused_before_the_call():
    with pytest.raises(mb.InvalidArgumentError, match="1 is not a HostProfile"):
        one_gib(host=1)
    with pytest.raises(mb.InvalidArgumentError, match="not a FlinkVersion"):
        one_gib(flink_version="2")


# What `membudget plan --format env` exports for a 1 GiB TaskManager.
EXPORTED = {
    "MEMBUDGET_QUOTA_ROLE": "taskmanager",
    "MEMBUDGET_QUOTA_HEAP": "161061270",
    "MEMBUDGET_QUOTA_DIRECT": "134217728",
    "MEMBUDGET_QUOTA_MANAGED": "241591914",
    "MEMBUDGET_QUOTA_NETWORK": "67108864",
    "MEMBUDGET_QUOTA_OVERHEAD": "469762048",
    "MEMBUDGET_QUOTA_TOTAL": "1073741824",
}


def test_quotas_come_from_the_environment_when_asked(monkeypatch):
    with pytest.raises(mb.IllegalConfigurationError, match="MEMBUDGET_QUOTA_MANAGED is not set"):
        mb.MemBudget.from_environment()
    for k, v in EXPORTED.items():
        monkeypatch.setenv(k, v)
    with mb.MemBudget.from_environment() as b:
        assert [quota(b, c) for c in mb.Category] == [
            161061270,
            134217728,
            241591914,
            67108864,
            469762048,
        ]
        with b.create_local_buffer_pool(2048, 2048):
            pass
        with pytest.raises(mb.UnavailableError, match="quotas come from the environment"):
            b.plan_json()
    with pytest.raises(mb.InvalidArgumentError, match="options->role is jobmanager but"):
        mb.MemBudget.from_environment(mb.Role.JOBMANAGER)
    with pytest.raises(mb.InvalidArgumentError, match="would not be applied"):
        one_gib(quotas_from_environment=True)
    monkeypatch.setenv("MEMBUDGET_QUOTA_NETWROK", "1g")
    with pytest.raises(mb.IllegalConfigurationError, match="Unknown quota variable MEMBUDGET_QUOTA_NETWROK"):
        mb.MemBudget.from_environment()


def test_refusals_are_reported_on_stderr_when_asked():
    program = (
        "import membudget as mb\n"
        "mb.report_refusals(True)\n"
        "with mb.MemBudget({'taskmanager.memory.process.size': '1g'}, ignore_container=True) as b:\n"
        "    try:\n"
        "        b.reserve(mb.Category.DIRECT, 1 << 40)\n"
        "    except mb.QuotaExceededError:\n"
        "        print('caught')\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert out.stdout == "caught\n"
    assert out.stderr == (
        "membudget: Cannot reserve 1099511627776 bytes of direct memory (used: 0, quota: 134217728). "
        "Increase 'taskmanager.memory.task.off-heap.size' (or "
        "'taskmanager.memory.framework.off-heap.size').\n"
    )
