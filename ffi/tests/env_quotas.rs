//! `mb_runtime_new` with `MB_QUOTAS_FROM_ENVIRONMENT`: the quotas `membudget plan --format env`
//! exports, sourced by a shell, are the runtime's quotas and size its pools; malformed, missing
//! or contradicting inputs are errors naming them.
//!
//! Each case runs this test binary again as a child process (`CHILD` set) through `sh -c`, so
//! the environment is the one a shell built from the exported lines.
#![cfg(target_os = "linux")]

use core::ptr::null_mut;
use membudget::*;
use membudget_model::render::render_env;
use membudget_model::{derive, Configuration, HostProfile, MemoryPlan, Role};
use std::process::Command;

mod common;
use common::last_error;

const CHILD: &str = "FFI_ENV_QUOTAS_CHILD";
/// What the child puts into the options besides the quota source: `jobmanager`, `property`.
const EDIT: &str = "FFI_ENV_QUOTAS_EDIT";

/// What the child printed: one `rc=…` line, then `quota=…` lines and `buffers=…`, or the message.
fn run_child(script: &str, edit: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{script}\nexec \"$0\" --exact child --nocapture --test-threads=1"
        ))
        .arg(exe)
        .env_clear()
        .env(CHILD, "1")
        .env(EDIT, edit)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let start = stdout.find("rc=").unwrap_or_else(|| panic!("{stdout}"));
    let end = stdout.find("\nend\n").unwrap_or_else(|| panic!("{stdout}"));
    stdout[start..end].to_owned()
}

#[test]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let edit = std::env::var(EDIT).unwrap();
    let prop = c"taskmanager.memory.process.size=1g";
    let props = [prop.as_ptr()];
    let mut opts = mb_runtime_options {
        quota_source: MB_QUOTAS_FROM_ENVIRONMENT,
        ..Default::default()
    };
    match edit.as_str() {
        "jobmanager" => opts.role = MB_ROLE_JOBMANAGER,
        "property" => {
            opts.properties = props.as_ptr();
            opts.properties_len = 1;
        }
        "host" => opts.host = MB_HOST_NATIVE,
        _ => {}
    }
    let mut rt = null_mut();
    // SAFETY: valid options and out-pointer.
    let rc = unsafe { mb_runtime_new(&opts, &mut rt) };
    println!("rc={rc}");
    if rc != MB_OK {
        println!("{}\nend", last_error());
        return;
    }
    for c in 0..5 {
        let mut u = mb_category_usage {
            struct_size: core::mem::size_of::<mb_category_usage>() as u32,
            ..Default::default()
        };
        // SAFETY: valid handle and out struct.
        assert_eq!(unsafe { mb_usage(rt, c, &mut u) }, MB_OK);
        println!("quota={}", u.quota);
    }
    // The network buffers: a pool may be guaranteed all of them, not one more.
    let mut buffers = 0u32;
    loop {
        let mut pool = null_mut();
        // SAFETY: valid handle and out-pointer.
        match unsafe { mb_local_pool_new(rt, buffers + 1, MB_UNBOUNDED, &mut pool) } {
            // SAFETY: the pool just made.
            MB_OK => assert_eq!(unsafe { mb_local_pool_free(pool) }, MB_OK),
            MB_ERR_UNAVAILABLE if buffers == 0 => break,
            rc => {
                assert_eq!(rc, MB_ERR_QUOTA_EXCEEDED);
                break;
            }
        }
        buffers += 1;
    }
    println!("buffers={buffers}");
    let mut need = 0;
    // SAFETY: a size query.
    let rc = unsafe { mb_plan_json(rt, null_mut(), 0, &mut need) };
    println!("plan_json={rc} {}", last_error());
    // SAFETY: the runtime just made.
    assert_eq!(unsafe { mb_runtime_free(rt) }, MB_OK);
    println!("end");
}

fn plan(role: Role, key: &str, size: &str) -> MemoryPlan {
    let config: Configuration = [(key, size)].into_iter().collect();
    derive(role, &config).unwrap()
}

fn expected(p: &MemoryPlan) -> String {
    let mut s = format!("rc={MB_OK}\n");
    for q in p.quotas().per_category() {
        s.push_str(&format!("quota={q}\n"));
    }
    s.push_str(&format!(
        "buffers={}\n",
        p.quotas().get(membudget_model::Category::Network) / 32768
    ));
    s.push_str(&format!(
        "plan_json={MB_ERR_UNAVAILABLE} mb_plan_json: the runtime's quotas come from the \
         environment (MEMBUDGET_QUOTA_*), so it has no plan; mb_usage gives its quotas"
    ));
    s
}

#[test]
fn the_exported_plan_is_the_runtimes_quotas_and_pools() {
    let tm = plan(Role::TaskManager, "taskmanager.memory.process.size", "1g");
    for host in HostProfile::ALL {
        let p = tm.clone().with_host(host);
        assert_eq!(run_child(&render_env(&p), ""), expected(&p), "{host}");
    }
    let jm = plan(Role::JobManager, "jobmanager.memory.process.size", "1600m");
    assert_eq!(run_child(&render_env(&jm), "jobmanager"), expected(&jm));
}

#[test]
fn bad_environments_are_errors_naming_the_variable() {
    let tm = render_env(&plan(
        Role::TaskManager,
        "taskmanager.memory.process.size",
        "1g",
    ));
    let cases = [
        (
            "",
            "",
            MB_ERR_CONFIG,
            "MEMBUDGET_QUOTA_MANAGED is not set: a runtime whose quotas come from the \
             environment sizes its managed memory by it.",
        ),
        (
            &*format!("{tm}unset MEMBUDGET_QUOTA_NETWORK"),
            "",
            MB_ERR_CONFIG,
            "MEMBUDGET_QUOTA_NETWORK is not set",
        ),
        (
            &*format!("{tm}export MEMBUDGET_QUOTA_HEAP=lots"),
            "",
            MB_ERR_CONFIG,
            "MEMBUDGET_QUOTA_HEAP='lots' is not usable",
        ),
        (
            &*tm,
            "jobmanager",
            MB_ERR_INVALID_ARGUMENT,
            "mb_runtime_new: options->role is jobmanager but MEMBUDGET_QUOTA_ROLE is taskmanager",
        ),
        (
            &*tm,
            "property",
            MB_ERR_INVALID_ARGUMENT,
            "mb_runtime_new: options->properties_len is not 0, but options->quota_source is \
             MB_QUOTAS_FROM_ENVIRONMENT",
        ),
        (
            &*tm,
            "host",
            MB_ERR_INVALID_ARGUMENT,
            "mb_runtime_new: options->config_section, config_format, flink_version, deployment, \
             host or strict is not its default",
        ),
    ];
    for (script, edit, rc, message) in cases {
        let out = run_child(script, edit);
        assert!(
            out.starts_with(&format!("rc={rc}\n{message}")),
            "{script} / {edit}: {out}"
        );
    }
}
