//! cgroup v1/v2 memory-limit detection against fixture trees in `tests/fixtures/cgroup/`.

use std::path::PathBuf;

use membudget_model::{CgroupProbe, CgroupVersion, ContainerError};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cgroup")
        .join(name)
}

fn probe(name: &str) -> CgroupProbe {
    let root = fixture(name);
    CgroupProbe::with_roots(root.join("proc"), &root)
}

fn limit(name: &str) -> Option<(u64, String, CgroupVersion)> {
    probe(name).detect().unwrap().map(|l| {
        let file = l
            .file
            .strip_prefix(fixture(name))
            .unwrap()
            .display()
            .to_string();
        (l.bytes, file, l.version)
    })
}

#[test]
fn v2_smallest_limit_along_the_hierarchy_wins() {
    assert_eq!(
        limit("v2_nested"),
        Some((
            2147483648,
            "sys/fs/cgroup/kubepods/pod1/memory.max".into(),
            CgroupVersion::V2
        ))
    );
    assert_eq!(
        limit("v2_leaf"),
        Some((
            1073741824,
            "sys/fs/cgroup/system.slice/app.service/memory.max".into(),
            CgroupVersion::V2
        ))
    );
}

#[test]
fn v2_max_means_no_limit() {
    assert_eq!(limit("v2_max"), None);
}

#[test]
fn v2_cgroup_namespace_reads_the_mount_point() {
    assert_eq!(
        limit("v2_namespace"),
        Some((
            805306368,
            "sys/fs/cgroup/memory.max".into(),
            CgroupVersion::V2
        ))
    );
    // The mount root is not "/" and the process path lies outside it.
    assert_eq!(
        limit("v2_namespace_root"),
        Some((
            1610612736,
            "sys/fs/cgroup/memory.max".into(),
            CgroupVersion::V2
        ))
    );
}

#[test]
fn v1_mount_root_is_stripped_and_v1_wins_on_hybrid_systems() {
    assert_eq!(
        limit("v1_docker"),
        Some((
            536870912,
            "sys/fs/cgroup/memory/memory.limit_in_bytes".into(),
            CgroupVersion::V1
        ))
    );
}

#[test]
fn v1_huge_values_mean_no_limit() {
    assert_eq!(limit("v1_huge"), None);
    // Even when physical memory is unknown and claimed to be enormous.
    let p = probe("v1_huge").physical_memory(u64::MAX);
    assert_eq!(p.detect().unwrap(), None);
}

#[test]
fn v1_nested_parent_caps_child_and_values_above_physical_are_ignored() {
    // meminfo says 16384000 kB; the leaf's 32 GiB is above it, the parent's 3 GiB is not.
    assert_eq!(
        limit("v1_nested"),
        Some((
            3221225472,
            "sys/fs/cgroup/memory/batch/memory.limit_in_bytes".into(),
            CgroupVersion::V1
        ))
    );
    // With 2 GiB of physical memory the parent's 3 GiB means "no limit" too.
    let p = probe("v1_nested").physical_memory(2 << 30);
    assert_eq!(p.detect().unwrap(), None);
    // With 64 GiB the leaf's 32 GiB counts, but the parent's 3 GiB is still smaller.
    let p = probe("v1_nested").physical_memory(64 << 30);
    assert_eq!(p.detect().unwrap().unwrap().bytes, 3221225472);
}

#[test]
fn escaped_mount_points_are_decoded() {
    assert_eq!(
        limit("escaped_mount"),
        Some((
            268435456,
            "cg root/app/memory.max".into(),
            CgroupVersion::V2
        ))
    );
}

#[test]
fn no_cgroup_files_means_no_limit() {
    assert_eq!(limit("none"), None);
    assert_eq!(limit("does-not-exist"), None);
}

#[test]
fn garbage_in_a_limit_file_is_an_error_naming_file_and_value() {
    let err = probe("bad_value").detect().unwrap_err();
    assert!(matches!(err, ContainerError::BadValue { ref value, .. } if value == "lots"));
    let text = err.to_string();
    assert!(
        text.contains("bad_value/sys/fs/cgroup/app/memory.max"),
        "{text}"
    );
    assert!(text.contains("'lots'"), "{text}");
    assert!(text.contains("--no-container"), "{text}");
}

#[test]
fn the_real_system_never_fails_to_answer() {
    // Whatever this machine is, detection either finds a positive limit or none.
    match CgroupProbe::system().detect() {
        Ok(Some(limit)) => assert!(limit.bytes > 0),
        Ok(None) => {}
        Err(e) => panic!("{e}"),
    }
}
