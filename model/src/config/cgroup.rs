//! Container awareness: the memory limit of the cgroup this process runs in.
//!
//! The cgroup is located the way the JDK and the kernel documentation describe:
//!
//! 1. `/proc/self/cgroup` names the process's cgroup path per hierarchy (`0::/path` for
//!    cgroup v2, `N:memory:/path` for the v1 memory controller).
//! 2. `/proc/self/mountinfo` names where each hierarchy is mounted and which part of it the
//!    mount shows (its *root*: `/` normally, the container's own cgroup inside a cgroup
//!    namespace or a bind mount).
//! 3. The cgroup directory is the mount point plus the cgroup path relative to the mount root.
//!    Every directory from there up to the mount point is read (`memory.max` for v2,
//!    `memory.limit_in_bytes` for v1) and the smallest limit wins, because a parent's limit
//!    caps all of its children.
//!
//! v2 writes `max` for "no limit"; v1 writes a huge page-aligned number instead, so any v1 value
//! at or above the machine's physical memory means "no limit".
//!
//! Both roots are parameters ([`CgroupProbe::with_roots`]) so tests point the probe at fixture
//! trees instead of the real `/proc` and `/sys/fs/cgroup`.
//!
//! ```
//! use membudget_model::CgroupProbe;
//!
//! // On a machine without cgroups (or without a limit) this is `Ok(None)`.
//! let limit = CgroupProbe::system().detect();
//! if let Ok(Some(limit)) = limit {
//!     println!("{} bytes from {}", limit.bytes, limit.file.display());
//! }
//! ```

use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Which cgroup hierarchy a limit was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CgroupVersion {
    /// cgroup v1 (`memory.limit_in_bytes` of the memory controller).
    V1,
    /// cgroup v2, the unified hierarchy (`memory.max`).
    V2,
}

impl fmt::Display for CgroupVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CgroupVersion::V1 => "cgroup v1",
            CgroupVersion::V2 => "cgroup v2",
        })
    }
}

/// A memory limit found for this process's cgroup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerLimit {
    /// The limit in bytes (the smallest along the hierarchy).
    pub bytes: u64,
    /// The file that holds the smallest limit.
    pub file: PathBuf,
    /// The hierarchy it came from.
    pub version: CgroupVersion,
}

/// A cgroup file that exists but could not be read or holds something that is not a limit.
#[derive(Debug)]
#[non_exhaustive]
pub enum ContainerError {
    /// Reading a file failed for a reason other than "not found".
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// A limit file held a value that is neither a byte count nor `max`.
    BadValue {
        /// The file.
        path: PathBuf,
        /// Its (trimmed) contents.
        value: String,
    },
}

impl fmt::Display for ContainerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContainerError::Io { path, source } => write!(
                f,
                "Could not read the container memory limit from {}: {source}. \
                 Pass --no-container to skip detection",
                path.display()
            ),
            ContainerError::BadValue { path, value } => write!(
                f,
                "The container memory limit in {} is '{value}', which is neither a byte count \
                 nor 'max'. Pass --no-container to skip detection",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ContainerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ContainerError::Io { source, .. } => Some(source),
            ContainerError::BadValue { .. } => None,
        }
    }
}

/// Where to look for the cgroup memory limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupProbe {
    proc_root: PathBuf,
    fs_root: PathBuf,
    physical_memory: Option<u64>,
}

impl Default for CgroupProbe {
    fn default() -> Self {
        CgroupProbe::system()
    }
}

impl CgroupProbe {
    /// The real system: `/proc` and mount points as `/proc/self/mountinfo` names them.
    pub fn system() -> CgroupProbe {
        CgroupProbe::with_roots("/proc", "/")
    }

    /// A probe reading `<proc_root>/self/cgroup`, `<proc_root>/self/mountinfo` and
    /// `<proc_root>/meminfo`, and resolving every mount point from `mountinfo` below `fs_root`
    /// (so a fixture tree holds `<fs_root>/sys/fs/cgroup/...`).
    pub fn with_roots(proc_root: impl Into<PathBuf>, fs_root: impl Into<PathBuf>) -> CgroupProbe {
        CgroupProbe {
            proc_root: proc_root.into(),
            fs_root: fs_root.into(),
            physical_memory: None,
        }
    }

    /// Use `bytes` as the machine's physical memory instead of `MemTotal` from
    /// `<proc_root>/meminfo` (v1 limits at or above it mean "no limit").
    #[must_use]
    pub fn physical_memory(mut self, bytes: u64) -> CgroupProbe {
        self.physical_memory = Some(bytes);
        self
    }

    /// The memory limit of this process's cgroup, or `None` when there is none (no cgroup
    /// files, no memory controller, `max`, or a v1 value at or above physical memory).
    ///
    /// cgroup v1's memory controller is preferred when it is mounted (on "hybrid" systems the
    /// v2 hierarchy carries no memory controller).
    ///
    /// # Errors
    /// A limit file that exists but cannot be read, or holds something that is not a limit.
    pub fn detect(&self) -> Result<Option<ContainerLimit>, ContainerError> {
        let self_dir = self.proc_root.join("self");
        let Some(cgroups) = read_optional(&self_dir.join("cgroup"))? else {
            return Ok(None);
        };
        let Some(mountinfo) = read_optional(&self_dir.join("mountinfo"))? else {
            return Ok(None);
        };
        let memberships = parse_proc_cgroup(&cgroups);
        let mounts = parse_mountinfo(&mountinfo);

        if let Some(path) = memberships.v1_memory.as_deref() {
            let v1_mounts = mounts.iter().filter(|m| m.is_v1_memory());
            if let Some(mount) = pick_mount(v1_mounts, path) {
                let physical = match self.physical_memory {
                    Some(bytes) => Some(bytes),
                    None => self.read_mem_total()?,
                };
                let dir = self.cgroup_dir(mount, path);
                let limit =
                    self.min_along_hierarchy(mount, &dir, "memory.limit_in_bytes", |v| {
                        parse_v1(v, physical)
                    })?;
                return Ok(limit.map(|(bytes, file)| ContainerLimit {
                    bytes,
                    file,
                    version: CgroupVersion::V1,
                }));
            }
        }
        if let Some(path) = memberships.v2.as_deref() {
            let v2_mounts = mounts.iter().filter(|m| m.fs_type == "cgroup2");
            if let Some(mount) = pick_mount(v2_mounts, path) {
                let dir = self.cgroup_dir(mount, path);
                let limit = self.min_along_hierarchy(mount, &dir, "memory.max", parse_v2)?;
                return Ok(limit.map(|(bytes, file)| ContainerLimit {
                    bytes,
                    file,
                    version: CgroupVersion::V2,
                }));
            }
        }
        Ok(None)
    }

    /// `MemTotal` from `<proc_root>/meminfo`, in bytes.
    fn read_mem_total(&self) -> Result<Option<u64>, ContainerError> {
        let path = self.proc_root.join("meminfo");
        let Some(text) = read_optional(&path)? else {
            return Ok(None);
        };
        Ok(text.lines().find_map(|line| {
            let rest = line.strip_prefix("MemTotal:")?;
            let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            kib.checked_mul(1024)
        }))
    }

    /// The directory of the cgroup at `cgroup_path` inside `mount`, below `fs_root`.
    fn cgroup_dir(&self, mount: &Mount, cgroup_path: &str) -> PathBuf {
        let mount_point = self.mount_point(mount);
        match relative_to_mount(&mount.root, cgroup_path) {
            Some(rel) => rel.iter().fold(mount_point, |dir, part| dir.join(part)),
            None => mount_point,
        }
    }

    fn mount_point(&self, mount: &Mount) -> PathBuf {
        let relative = mount.mount_point.trim_start_matches('/');
        if relative.is_empty() {
            self.fs_root.clone()
        } else {
            self.fs_root.join(relative)
        }
    }

    /// The smallest limit in `file_name` from `leaf` up to the mount point (inclusive).
    fn min_along_hierarchy(
        &self,
        mount: &Mount,
        leaf: &Path,
        file_name: &str,
        parse: impl Fn(&str) -> Option<Option<u64>>,
    ) -> Result<Option<(u64, PathBuf)>, ContainerError> {
        let top = self.mount_point(mount);
        let mut best: Option<(u64, PathBuf)> = None;
        let mut dir = leaf.to_path_buf();
        loop {
            let file = dir.join(file_name);
            if let Some(text) = read_optional(&file)? {
                let value = text.trim();
                match parse(value) {
                    Some(Some(bytes)) => {
                        if best.as_ref().is_none_or(|(b, _)| bytes < *b) {
                            best = Some((bytes, file));
                        }
                    }
                    Some(None) => {}
                    None => {
                        return Err(ContainerError::BadValue {
                            path: file,
                            value: value.to_owned(),
                        })
                    }
                }
            }
            if dir == top || !dir.pop() || !dir.starts_with(&top) {
                break;
            }
        }
        Ok(best)
    }
}

/// `Some(None)` = no limit, `Some(Some(n))` = limit, `None` = not a limit value.
fn parse_v2(value: &str) -> Option<Option<u64>> {
    if value == "max" {
        return Some(None);
    }
    value.parse::<u64>().ok().map(Some)
}

/// v1 has no "max": unlimited is a huge number (or -1 on some kernels).
fn parse_v1(value: &str, physical: Option<u64>) -> Option<Option<u64>> {
    if value == "-1" {
        return Some(None);
    }
    let bytes = value.parse::<u64>().ok()?;
    // The kernel's "unlimited" (PAGE_COUNTER_MAX in bytes, rounded to pages: close to i64::MAX)
    // is none even when physical memory is unknown.
    const KERNEL_UNLIMITED: u64 = 1 << 62;
    let unlimited_from = physical.map_or(KERNEL_UNLIMITED, |p| p.min(KERNEL_UNLIMITED));
    Some((bytes < unlimited_from).then_some(bytes))
}

fn read_optional(path: &Path) -> Result<Option<String>, ContainerError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(source) => Err(ContainerError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The cgroup paths of this process, from `/proc/self/cgroup`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Memberships {
    /// The unified hierarchy (`0::/path`).
    v2: Option<String>,
    /// The v1 hierarchy carrying the memory controller (`N:...memory...:/path`).
    v1_memory: Option<String>,
}

fn parse_proc_cgroup(text: &str) -> Memberships {
    let mut out = Memberships::default();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if id == "0" && controllers.is_empty() {
            out.v2 = Some(path.to_owned());
        } else if controllers.split(',').any(|c| c == "memory") {
            out.v1_memory = Some(path.to_owned());
        }
    }
    out
}

/// One line of `/proc/self/mountinfo` (the fields we need).
#[derive(Debug, PartialEq, Eq)]
struct Mount {
    root: String,
    mount_point: String,
    fs_type: String,
    super_options: String,
}

impl Mount {
    fn is_v1_memory(&self) -> bool {
        self.fs_type == "cgroup" && self.super_options.split(',').any(|o| o == "memory")
    }
}

fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_mountinfo_line).collect()
}

/// `36 35 98:0 /root /mount/point rw,noatime master:1 - fstype source super,options`
fn parse_mountinfo_line(line: &str) -> Option<Mount> {
    let (before, after) = line.split_once(" - ")?;
    let mut fields = before.split(' ');
    let root = fields.nth(3)?;
    let mount_point = fields.next()?;
    let mut after = after.split(' ');
    let fs_type = after.next()?;
    let _source = after.next();
    let super_options = after.next().unwrap_or("");
    Some(Mount {
        root: unescape_mountinfo(root),
        mount_point: unescape_mountinfo(mount_point),
        fs_type: fs_type.to_owned(),
        super_options: super_options.to_owned(),
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Among the mounts of one hierarchy, the one whose root contains `cgroup_path` (the longest
/// such root), else the first.
fn pick_mount<'a>(mounts: impl Iterator<Item = &'a Mount>, cgroup_path: &str) -> Option<&'a Mount> {
    let mounts: Vec<&Mount> = mounts.collect();
    mounts
        .iter()
        .copied()
        .filter(|m| relative_to_mount(&m.root, cgroup_path).is_some() || m.root == "/")
        .max_by_key(|m| m.root.len())
        .or_else(|| mounts.first().copied())
}

/// The components of `cgroup_path` below the mount's `root`, or `None` when the path is not
/// inside the root (a cgroup namespace showing `/` or `/../..`, or a bind mount of a sibling):
/// then the mount point itself is the process's cgroup as far as this mount shows it.
fn relative_to_mount(root: &str, cgroup_path: &str) -> Option<Vec<String>> {
    let path = normalize(cgroup_path)?;
    let root = normalize(root)?;
    path.strip_prefix(root.as_slice()).map(<[String]>::to_vec)
}

/// Lexically normalised components of an absolute cgroup path; `None` if `..` climbs above `/`.
fn normalize(path: &str) -> Option<Vec<String>> {
    let mut parts: Vec<String> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(name) => parts.push(name.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_cgroup_lines() {
        let m = parse_proc_cgroup("12:pids:/a\n4:cpuacct,memory:/docker/x\n0::/user.slice/u\n");
        assert_eq!(m.v1_memory.as_deref(), Some("/docker/x"));
        assert_eq!(m.v2.as_deref(), Some("/user.slice/u"));
        let m = parse_proc_cgroup("1:name=systemd:/x\n");
        assert_eq!(m, Memberships::default());
    }

    #[test]
    fn mountinfo_lines() {
        let m = parse_mountinfo_line(
            "35 24 0:30 /docker/abc /sys/fs/cgroup/memory ro,nosuid master:12 - cgroup cgroup rw,memory",
        )
        .unwrap();
        assert_eq!(m.root, "/docker/abc");
        assert_eq!(m.mount_point, "/sys/fs/cgroup/memory");
        assert!(m.is_v1_memory());
        let m = parse_mountinfo_line("1 2 0:1 / /a\\040b rw - cgroup2 cgroup2 rw").unwrap();
        assert_eq!(m.mount_point, "/a b");
        assert!(!m.is_v1_memory());
        assert!(parse_mountinfo_line("garbage").is_none());
    }

    #[test]
    fn unescape_edge_cases() {
        assert_eq!(unescape_mountinfo("a\\134b"), "a\\b");
        assert_eq!(unescape_mountinfo("trailing\\04"), "trailing\\04");
        assert_eq!(unescape_mountinfo("\\999"), "\\999");
    }

    #[test]
    fn paths_relative_to_mount_roots() {
        assert_eq!(
            relative_to_mount("/", "/a/b"),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(relative_to_mount("/a", "/a/b"), Some(vec!["b".into()]));
        assert_eq!(relative_to_mount("/a", "/a"), Some(vec![]));
        assert_eq!(relative_to_mount("/a", "/ab"), None);
        assert_eq!(relative_to_mount("/docker/x", "/"), None);
        assert_eq!(relative_to_mount("/", "/../.."), None);
        assert_eq!(relative_to_mount("/", "/a/../b"), Some(vec!["b".into()]));
    }

    #[test]
    fn limit_values() {
        assert_eq!(parse_v2("max"), Some(None));
        assert_eq!(parse_v2("1024"), Some(Some(1024)));
        assert_eq!(parse_v2("-1"), None);
        assert_eq!(parse_v1("9223372036854771712", Some(1 << 34)), Some(None));
        assert_eq!(parse_v1("9223372036854771712", None), Some(None));
        assert_eq!(parse_v1("17179869184", Some(1 << 34)), Some(None));
        assert_eq!(
            parse_v1("17179869183", Some(1 << 34)),
            Some(Some(17179869183))
        );
        assert_eq!(parse_v1("-1", None), Some(None));
        assert_eq!(parse_v1("lots", None), None);
    }
}
