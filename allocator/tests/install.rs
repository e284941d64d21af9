//! A plan becomes enforcement in one line, and a refusal says what happened:
//! - `plan --format env` → a shell's environment → `install_from_env()` installs exactly
//!   `plan.quotas()` (every host profile, both roles), checked in child processes;
//! - `install` refuses when something already uses more than its new quota;
//! - after a failed `try_reserve` the thread's last refusal names category, amounts and key;
//! - with `MEMBUDGET_REPORT_REFUSALS=1`, a process that aborts on an infallible over-quota
//!   allocation has written which category and quota refused it to stderr, and reporting
//!   allocates nothing.
//!
//! Child processes re-run this test binary with `CHILD` set to the name of the `child_*` test to
//! run; without it those tests return at once.
#![cfg(target_os = "linux")]

use membudget_allocator::{
    install, install_from_env, last_refusal, report_refusals, with_category, Budget, Category,
    InstallError, Limit, QuotaAllocator, Quotas, Role,
};
use membudget_model::render::render_env;
use membudget_model::{derive, Configuration, HostProfile, MemoryPlan};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

const CHILD: &str = "INSTALL_TEST_CHILD";

/// Runs the test `name` of this binary in a child process through `sh -c '<script>; exec …'`,
/// with an otherwise empty environment.
fn run_child(name: &str, script: &str) -> Output {
    let exe = std::env::current_exe().unwrap();
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{script}\nexec \"$0\" --exact {name} --nocapture --test-threads=1"
        ))
        .arg(exe)
        .env_clear()
        .env(CHILD, name)
        .output()
        .unwrap()
}

fn is_child(name: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|c| c == name)
}

fn plan(role: Role, key: &str, size: &str) -> MemoryPlan {
    let config: Configuration = [(key, size)].into_iter().collect();
    derive(role, &config).unwrap()
}

#[test]
fn env_output_sourced_by_a_shell_installs_the_plans_quotas() {
    let plans = [
        plan(Role::TaskManager, "taskmanager.memory.process.size", "2g"),
        plan(Role::JobManager, "jobmanager.memory.process.size", "1600m"),
    ];
    for p in plans {
        for host in HostProfile::ALL {
            let p = p.clone().with_host(host);
            let out = run_child("child_installs_from_env", &render_env(&p));
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{host}: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                stdout.contains(&format!("installed: {:?}\n", Some(p.quotas()))),
                "{host} {:?}: {stdout}",
                p.role()
            );
            assert_eq!(p.quotas().total(), p.total_process_memory());
        }
    }
}

#[test]
fn child_installs_from_env() {
    if !is_child("child_installs_from_env") {
        return;
    }
    let installed = install_from_env().unwrap();
    assert_eq!(installed, Some(Budget::global().quotas()));
    println!("installed: {installed:?}");
}

#[test]
fn no_quota_variable_installs_nothing() {
    let out = run_child("child_without_quota_variables", "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn child_without_quota_variables() {
    if !is_child("child_without_quota_variables") {
        return;
    }
    assert_eq!(install_from_env(), Ok(None));
    assert_eq!(Budget::global().quotas(), Quotas::unlimited());
}

#[test]
fn malformed_variables_are_errors_naming_them() {
    for (script, expected) in [
        (
            "export MEMBUDGET_QUOTA_NETWORK=12x",
            "MEMBUDGET_QUOTA_NETWORK='12x' is not usable",
        ),
        (
            "export MEMBUDGET_QUOTA_NETWROK=1",
            "Unknown quota variable MEMBUDGET_QUOTA_NETWROK",
        ),
        (
            "export MEMBUDGET_QUOTA_HEAP=1g MEMBUDGET_REPORT_REFUSALS=yes",
            "MEMBUDGET_REPORT_REFUSALS='yes' is not usable",
        ),
        (
            "export MEMBUDGET_QUOTA_HEAP=1g MEMBUDGET_FAULT_PROBABILITY=network=2",
            "Invalid MEMBUDGET_FAULT_PROBABILITY item 'network=2'",
        ),
    ] {
        let out = run_child("child_reports_the_install_error", script);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{script}: {stdout}");
        assert!(
            stdout.contains(&format!("error: Cannot install quotas: {expected}")),
            "{script}: {stdout}"
        );
    }
}

#[test]
fn child_reports_the_install_error() {
    if !is_child("child_reports_the_install_error") {
        return;
    }
    let e = install_from_env().unwrap_err();
    assert_eq!(
        Budget::global().quotas(),
        Quotas::unlimited(),
        "nothing installed"
    );
    println!("error: {e}");
}

#[test]
fn an_aborting_process_says_which_quota_refused() {
    let out = run_child(
        "child_aborts_over_quota",
        "export MEMBUDGET_QUOTA_NETWORK=1m MEMBUDGET_REPORT_REFUSALS=1",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{stderr}");
    let line = "membudget: Cannot reserve 2097152 bytes of network memory (used: 0, quota: \
                1048576). Increase 'taskmanager.memory.network.fraction' (or .min/.max).\n";
    let at = stderr.find(line).unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        stderr[at + line.len()..].starts_with("memory allocation of 2097152 bytes failed"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("membudget: ").count(), 1, "{stderr}");
}

#[test]
fn child_aborts_over_quota() {
    if !is_child("child_aborts_over_quota") {
        return;
    }
    assert!(install_from_env().unwrap().is_some());
    let v: Vec<u8> = with_category(Category::Network, || vec![0u8; 2 << 20]);
    unreachable!("{} bytes allocated over the quota", v.len());
}

/// The one test of this binary that changes the process budget.
#[test]
fn install_checks_use_and_refusals_are_kept_and_reported_without_allocating() {
    let held: Vec<u8> = with_category(Category::Network, || Vec::with_capacity(64 << 10));
    let e = install(Quotas::unlimited().with(Category::Network, 4 << 10)).unwrap_err();
    assert_eq!(
        e,
        InstallError::AlreadyOver {
            category: Some(Category::Network),
            used: Budget::global().used(Category::Network),
            quota: 4 << 10,
            role: Role::TaskManager,
        }
    );
    assert_eq!(Budget::global().quota(Category::Network), u64::MAX);
    drop(held);

    let quotas = Quotas::unlimited()
        .with(Category::Network, 1 << 20)
        .with_role(Role::JobManager);
    install(quotas).unwrap();
    assert_eq!(Budget::global().quotas(), quotas);

    // Reporting formats and writes the line while the network quota refuses everything: an
    // allocation on that path would be refused too, and counted.
    report_refusals(true);
    let failures = Budget::global().failures(Category::Network);
    let mut v: Vec<u8> = Vec::new();
    assert!(with_category(Category::Network, || v.try_reserve(2 << 20)).is_err());
    report_refusals(false);
    assert_eq!(Budget::global().failures(Category::Network), failures + 1);
    let r = last_refusal().unwrap();
    assert_eq!(
        (r.category, r.requested, r.quota, r.limit, r.role),
        (
            Category::Network,
            2 << 20,
            1 << 20,
            Limit::Category,
            Role::JobManager
        )
    );
    assert_eq!(r.key(), Some("jobmanager.memory.off-heap.size"));
    install(Quotas::unlimited()).unwrap();
}
