"""The plan options of ``membudget plan`` (``MB_FLINK_*``, ``MB_DEPLOYMENT_*``, ``MB_HOST_*``,
``MB_CONFIG_FORMAT_*``)."""
import enum


class FlinkVersion(enum.IntEnum):
    """Whose semantics the plan follows (``membudget plan --flink-version``)."""

    V1_20 = 0
    """Flink 1.20 (the default): the 1.x legacy memory keys still apply."""
    V2 = 1
    """Flink 2.0 to 2.3: the removed legacy keys are not applied (a warning, or an error when strict)."""


class Deployment(enum.IntEnum):
    """How Flink is deployed: decides how legacy heap keys are mapped."""

    STANDALONE = 0
    """Flink's standalone scripts (the default): legacy heap keys size the Flink or heap memory."""
    KUBERNETES = 1
    """Native Kubernetes (and the Kubernetes operator): legacy heap keys size the process."""
    YARN = 2
    """YARN: legacy heap keys size the process."""


class HostProfile(enum.IntEnum):
    """The runtime that enforces the quotas: Flink's components stay the same, only how the five
    quotas are drawn from them changes."""

    JVM = 0
    """A JVM (the default): heap quota = JVM heap, overhead = metaspace + JVM overhead."""
    DOTNET = 1
    """A .NET runtime: the heap quota is the GC heap's hard limit."""
    NATIVE = 2
    """A native process (CPython's own allocations included): no metaspace, so its share moves
    from the overhead to the heap quota."""


class ConfigFormat(enum.IntEnum):
    """How to read the config file."""

    AUTO = 0
    """By its name (``flink-conf.yaml``, ``config.yaml``, ``*.json``), else guessed with a plan
    warning (the default)."""
    FLINK_CONF = 1
    """Flink's flat ``flink-conf.yaml``."""
    CONFIG_YAML = 2
    """Flink 1.19+/2.x nested ``config.yaml``."""
    JSON = 3
    """.NET ``appsettings.json``."""
