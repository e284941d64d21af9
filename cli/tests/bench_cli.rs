//! `membudget bench` end to end: tiny runs through the binary (a fraction of a second each)
//! whose JSON must show every buffer source ran, records in = records out, every buffer
//! returned and the network budget balanced; Flink's errors for impossible settings; CSV and
//! plot output; `bench alloc`; and the README's bench commands.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// A 1g process: 64 MiB of network memory, 2048 buffers of 32 KiB.
const PLAN: [&str; 3] = ["--no-container", "-D", "taskmanager.memory.process.size=1g"];

/// Runs `membudget <args>` with an empty environment.
fn membudget(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_membudget"))
        .args(args)
        .env_clear()
        .output()
        .expect("run membudget")
}

/// `bench network` with the 1g plan, a short duration and `extra`.
fn network(extra: &[&str]) -> Output {
    let mut args = vec!["bench", "network", "--duration", "0.15"];
    args.extend(PLAN);
    args.extend(extra);
    membudget(&args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The JSON report of a successful run.
fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{:?}: {}", out.status, stderr(out));
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Every balance check of one run.
fn assert_balanced(r: &Value) {
    let written = u(&r["records_written"]);
    assert!(written > 0, "{r}");
    assert_eq!(written, u(&r["records_read"]), "{r}");
    assert_eq!(r["checksum_matches"], true, "{r}");
    assert_eq!(r["records_in_order"], true, "{r}");
    assert_eq!(u(&r["buffers_requested"]), u(&r["buffers_sent"]), "{r}");
    assert_eq!(u(&r["buffers_sent"]), u(&r["buffers_read"]), "{r}");
    assert_eq!(r["buffers_returned"], true, "{r}");
}

#[test]
fn tiny_run_reports_every_source_and_balances() {
    let out = network(&["--writers", "2", "--channels", "4", "--format", "json"]);
    let j = json(&out);
    assert_eq!(j["benchmark"], "network");
    assert_eq!(j["checks_passed"], true);
    assert_eq!(j["network_budget_balanced"], true);
    assert_eq!(u(&j["network_memory"]["used_after_teardown"]), 0);
    assert_eq!(u(&j["network_memory"]["buffers"]), 2048);
    assert_eq!(u(&j["network_memory"]["segment_size"]), 32768);
    assert_eq!(u(&j["network_memory"]["charged"]), 2048 * 32768);
    assert!(u(&j["network_memory"]["quota"]) >= 2048 * 32768);
    assert_eq!(u(&j["settings"]["record_size"]), 8);
    assert_eq!(u(&j["settings"]["length_header"]), 4);

    let results = j["results"].as_array().unwrap();
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["source_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["local_buffer_pool", "mutex_vec_deque", "vec"]);
    for r in results {
        assert_balanced(r);
        assert_eq!(u(&r["writers"]), 2);
        assert_eq!(u(&r["channels"]), 4);
        assert_eq!(u(&r["flush_timeout_ms"]), 100);
        assert_eq!(u(&r["buffers_per_channel"]), 2);
        // Flink's pipelined-bounded partition of 4 subpartitions: [5, 4·2 + 8].
        assert_eq!((u(&r["pool_min"]), u(&r["pool_max"])), (5, 16));
        // Plenty of buffers: each pool reaches its max, plus Flink's 5 overdraft.
        assert_eq!(u(&r["pool_limit"]), 21);
        assert!(f(&r["records_per_ms"]) > 0.0);
        assert!(f(&r["payload_gib_per_s"]) > 0.0);
        assert!(f(&r["buffers_per_s"]) > 0.0);
        let bp = f(&r["backpressured_fraction"]);
        assert!((0.0..=1.0).contains(&bp), "{bp}");
        let l = &r["request_latency_ns"];
        assert!(u(&l["count"]) > 0);
        assert!(u(&l["p50"]) <= u(&l["p99"]));
        assert!(u(&l["p99"]) <= u(&l["p999"]));
        assert!(u(&l["p999"]) <= u(&l["max"]));
        assert!(u(&r["peak_buffers_held"]) <= 2 * 21);
        assert!(f(&r["throughput_vs_local_buffer_pool"]) > 0.0);
    }
    assert_eq!(results[0]["memory"], "network");
    assert_eq!(results[1]["memory"], "heap");
    assert_eq!(f(&results[0]["throughput_vs_local_buffer_pool"]), 1.0);
    // Progress went to stderr, one line per run.
    assert_eq!(stderr(&out).lines().count(), 3, "{}", stderr(&out));
}

#[test]
fn records_spanning_buffers_flushed_every_record_to_two_readers() {
    let out = network(&[
        "--writers",
        "2",
        "--readers",
        "2",
        "--channels",
        "3",
        "--record-size",
        "5000",
        "--segment-size",
        "4kb",
        "--flush-timeout",
        "0",
        "--baseline",
        "vec",
        "--format",
        "json",
    ]);
    let j = json(&out);
    assert_eq!(j["checks_passed"], true);
    assert_eq!(u(&j["network_memory"]["segment_size"]), 4096);
    // The plan's network memory in 4 KiB segments.
    assert_eq!(u(&j["network_memory"]["buffers"]), 64 * 256);
    let results = j["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        assert_balanced(r);
        assert_eq!(u(&r["flush_timeout_ms"]), 0);
        // Every 5004-byte framed record spans two 4 KiB buffers.
        assert!(u(&r["buffers_sent"]) >= 2 * u(&r["records_written"]));
    }
}

#[test]
fn short_records_and_network_options_from_d() {
    let out = network(&[
        "-D",
        "taskmanager.network.memory.floating-buffers-per-gate=0",
        "-D",
        "taskmanager.network.memory.max-overdraft-buffers-per-gate=0",
        "--buffers-per-channel",
        "1",
        "--channels",
        "4",
        "--writers",
        "1",
        "--record-size",
        "3",
        "--baseline",
        "none",
        "--format",
        "json",
    ]);
    let j = json(&out);
    assert_eq!(u(&j["settings"]["floating_buffers_per_gate"]), 0);
    let results = j["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_balanced(r);
    // max(min, 4·1 + 0) = min = 5, and no overdraft.
    assert_eq!((u(&r["pool_min"]), u(&r["pool_max"])), (5, 5));
    assert_eq!(u(&r["pool_limit"]), 5);
}

#[test]
fn more_channels_than_buffers_is_flinks_error() {
    let out = network(&["--channels", "3000", "--writers", "4"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out).trim_end(),
        "Insufficient number of network buffers: required 3001, but only 2048 available. The \
         total number of network buffers is currently set to 2048 of 32768 bytes each. You can \
         increase this number by setting the configuration keys \
         'taskmanager.memory.network.fraction', 'taskmanager.memory.network.min', and \
         'taskmanager.memory.network.max'. (membudget bench: 4 writers × (3000 channels + 1) = \
         12004 buffers are needed for the result partitions' minimums; raise the network memory \
         or --buffers, or lower --channels or --writers.)"
    );
}

#[test]
fn more_buffers_than_the_network_quota_and_bad_settings_are_errors() {
    let out = network(&["--buffers", "5000"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("Could not allocate enough memory segments for NetworkBufferPool"),
        "{err}"
    );
    assert!(err.contains("taskmanager.memory.network.fraction"), "{err}");

    for (args, text) in [
        (&["--writers", "0"][..], "--writers 0 is out of range"),
        (
            &["--record-size", "0"][..],
            "--record-size 0 is out of range",
        ),
        (
            &["--baseline", "none,vec"][..],
            "--baseline none cannot be combined",
        ),
        (&["--plot", "x.pdf"][..], "must end in .svg or .png"),
        (
            &["-D", "taskmanager.network.memory.buffers-per-channel=-1"][..],
            "Invalid value '-1' for 'taskmanager.network.memory.buffers-per-channel'",
        ),
        (&["--segment-size", "3000"][..], "segment size"),
        (
            &["-D", "taskmanager.network.memory.max-buffers-per-channel=1"][..],
            "'taskmanager.network.memory.max-buffers-per-channel' = 1 (-D) stalls the writers",
        ),
    ] {
        let out = network(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(text), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn csv_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("throughput.svg");
    let out = network(&[
        "--writers",
        "1",
        "--channels",
        "2",
        "--buffers-per-channel",
        "1,2",
        "--baseline",
        "mutex",
        "--format",
        "csv",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    for column in [
        "source_id",
        "records_per_ms",
        "latency_p99_ns",
        "backpressured_fraction",
        "records_written",
        "records_read",
        "buffers_returned",
        "throughput_vs_local_buffer_pool",
    ] {
        assert!(header.contains(&column), "{column} in {header:?}");
    }
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 4);
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    for row in &rows {
        assert_eq!(row[col("records_written")], row[col("records_read")]);
        assert_eq!(row[col("buffers_returned")], "true");
    }
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(drawn.starts_with("<svg"), "{drawn}");
    assert!(drawn.contains("LocalBufferPool") && drawn.contains("Mutex&lt;VecDeque&gt;"));

    let png = dir.path().join("throughput.png");
    let out = network(&[
        "--writers",
        "1",
        "--channels",
        "2",
        "--baseline",
        "none",
        "--plot",
        png.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("checks: passed"));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn alloc_reports_every_allocator_and_ratios() {
    let out = membudget(&[
        "bench",
        "alloc",
        "--sizes",
        "64,4096",
        "--samples",
        "1",
        "--sample-ms",
        "5",
        "--format",
        "json",
    ]);
    let j = json(&out);
    assert_eq!(j["benchmark"], "alloc");
    let results = j["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["workload"], "pairs");
    assert_eq!(u(&results[0]["size"]), 64);
    assert_eq!(results[2]["workload"], "churn");
    assert_eq!(u(&results[2]["threads"]), 2);
    for r in results {
        let names: Vec<&str> = r["allocators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                assert!(f(&a["ns_per_pair"]) > 0.0, "{a}");
                a["allocator"].as_str().unwrap()
            })
            .collect();
        assert_eq!(names, ["quota_allocator", "mimalloc", "system"]);
        assert!(f(&r["quota_vs_mimalloc"]) > 0.0);
        assert!(f(&r["quota_vs_system"]) > 0.0);
    }
    let out = membudget(&["bench", "alloc", "--sizes", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The bench commands in README's "Benchmark buffer throughput" section: the tiny scripting
/// example runs exactly as printed; the long ones (which take 15 s and more) are checked with
/// `--dry-run`, which validates every setting without running.
#[test]
fn readme_bench_commands() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let section = readme
        .split("## Benchmark buffer throughput")
        .nth(1)
        .expect("README has the section")
        .split("\n## ")
        .next()
        .unwrap();
    let mut checked = 0;
    let mut in_sh = false;
    for line in section.lines() {
        // Commands are the lines of ```sh blocks, or `$ ` prompts inside the sample output.
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !(in_sh || line.starts_with("$ ")) {
            continue;
        }
        let Some(at) = line
            .find("bench network")
            .or_else(|| line.find("bench alloc"))
        else {
            continue;
        };
        let command = line[at..]
            .split(" | ")
            .next()
            .unwrap()
            .split(" #")
            .next()
            .unwrap();
        let args: Vec<&str> = command.split_whitespace().collect();
        if args.contains(&"--format") && args.contains(&"--duration") {
            let j = json(&membudget(&args));
            assert_eq!(j["checks_passed"], true, "{command}");
        } else {
            let mut dry = args.clone();
            dry.push("--dry-run");
            let out = membudget(&dry);
            assert!(out.status.success(), "{command}: {}", stderr(&out));
        }
        checked += 1;
    }
    assert!(checked >= 3, "found {checked} bench commands");
}
