#!/usr/bin/env python3
"""`membudget plan` beside Flink's own BashJavaUtils (what Flink's start scripts run to size a
TaskManager): wall time and peak RSS of one process each, the same configuration, median of N
runs, alternating the two. Checks first that both print the same JVM arguments, so the timing
compares equal work.

Usage: benches/plan-vs-flink.py [--runs N] [--flink-version V]
Needs a Java 11+ `java` on PATH and GNU time (/usr/bin/time, Debian's `time`); Flink comes from
PyPI via scripts/flink-home (cached).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROPS = ["taskmanager.memory.process.size=4g", "taskmanager.numberOfTaskSlots=4"]


def run(argv: list) -> tuple:
    """(stdout, wall seconds) of one process."""
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} exited with {proc.returncode}")
    return proc.stdout, elapsed


def peak_rss_kib(argv: list) -> int:
    """Peak RSS of one process, measured by GNU time (a small parent: a child forked from
    Python would report Python's RSS as its peak)."""
    with tempfile.NamedTemporaryFile("r") as stats:
        subprocess.run(["/usr/bin/time", "-o", stats.name, "-f", "%M", *argv], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return int(stats.read().split()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--flink-version", default="1.20.5")
    args = ap.parse_args()

    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "membudget-cli"], cwd=ROOT,
                   check=True)
    membudget = str(target / "release" / "membudget")
    home = subprocess.run([str(ROOT / "scripts" / "flink-home"), args.flink_version],
                          check=True, capture_output=True, text=True).stdout.strip()
    conf = tempfile.mkdtemp(prefix="membudget-plan-vs-flink-")
    Path(conf, "config.yaml").write_text("")

    ours = [membudget, "plan", "--format", "jvm-args", "--no-container"]
    theirs = ["java", "-cp", f"{home}/bin/bash-java-utils.jar:{home}/lib/*",
              "org.apache.flink.runtime.util.bash.BashJavaUtils", "GET_TM_RESOURCE_PARAMS",
              "--configDir", conf]
    for p in PROPS:
        ours += ["-D", p]
        theirs += ["-D", p]

    jvm_ours = run(ours)[0].split()
    flink_lines = [l for l in run(theirs)[0].splitlines()
                   if l.startswith("BASH_JAVA_UTILS_EXEC_RESULT:")]
    jvm_flink = flink_lines[0].split(":", 1)[1].split()
    if sorted(jvm_ours) != sorted(jvm_flink):
        sys.exit(f"different results: membudget {jvm_ours} vs Flink {jvm_flink}")

    times = {"membudget plan": [], "BashJavaUtils": []}
    rss = {"membudget plan": [], "BashJavaUtils": []}
    for _ in range(args.runs):
        for name, argv in (("membudget plan", ours), ("BashJavaUtils", theirs)):
            times[name].append(run(argv)[1])
            rss[name].append(peak_rss_kib(argv))
    print(f"same JVM arguments from both ({' '.join(PROPS)}); median of {args.runs} runs")
    print(f"{'':<16} {'wall':>10} {'peak RSS':>10}")
    for name in times:
        print(f"{name:<16} {statistics.median(times[name]) * 1000:>8.1f}ms "
              f"{statistics.median(rss[name]) / 1024:>7.1f}MiB")
    ratio = statistics.median(times["BashJavaUtils"]) / statistics.median(times["membudget plan"])
    print(f"membudget plan is {ratio:.0f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
