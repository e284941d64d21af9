//! The `MEMBUDGET_QUOTA_*` environment variables: how a plan's [`Quotas`] travel from
//! `membudget plan --format env` to the process that enforces them.
//!
//! ```text
//!  membudget plan --format env  ──►  export MEMBUDGET_QUOTA_ROLE=taskmanager
//!                                    export MEMBUDGET_QUOTA_HEAP=536870902   ...
//!                                    export MEMBUDGET_QUOTA_TOTAL=1811939328
//!                                          │
//!                     the host process ◄───┘  Quotas::from_env()
//! ```
//!
//! One variable per [`Category`] (`MEMBUDGET_QUOTA_HEAP` … `MEMBUDGET_QUOTA_OVERHEAD`), the
//! process total (`MEMBUDGET_QUOTA_TOTAL`) and the role whose keys a refusal names
//! (`MEMBUDGET_QUOTA_ROLE`). A missing variable means "no limit" (the total then defaults to the
//! sum of the categories, the role to TaskManager); a value that is not a size, or a
//! `MEMBUDGET_QUOTA_*` variable that is none of these, is an error — a typo such as
//! `MEMBUDGET_QUOTA_NETWROK` must not silently leave the network unlimited.

use core::fmt;

use crate::{Category, MemorySize, Quotas, Role};

/// The prefix every quota variable starts with.
pub const QUOTA_ENV_PREFIX: &str = "MEMBUDGET_QUOTA_";
/// The variable holding the process total.
pub const QUOTA_ENV_TOTAL: &str = "MEMBUDGET_QUOTA_TOTAL";
/// The variable holding the role (`taskmanager` or `jobmanager`).
pub const QUOTA_ENV_ROLE: &str = "MEMBUDGET_QUOTA_ROLE";

/// The variable holding `category`'s quota: `MEMBUDGET_QUOTA_` + the upper-case name.
///
/// # Examples
///
/// ```
/// use membudget_core::{quota_env_var, Category};
///
/// assert_eq!(quota_env_var(Category::Network), "MEMBUDGET_QUOTA_NETWORK");
/// ```
pub fn quota_env_var(category: Category) -> String {
    format!("{QUOTA_ENV_PREFIX}{}", category.name().to_ascii_uppercase())
}

/// A `MEMBUDGET_QUOTA_*` variable that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuotaEnvError {
    /// The value is not a size (bytes, or a Flink size such as `128m`) or not a role.
    Malformed {
        /// The variable.
        var: String,
        /// Its value, as found.
        value: String,
        /// Why it is not accepted.
        reason: String,
    },
    /// A `MEMBUDGET_QUOTA_*` variable that names no category, total or role.
    Unknown {
        /// The variable.
        var: String,
    },
}

impl fmt::Display for QuotaEnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuotaEnvError::Malformed { var, value, reason } => write!(
                f,
                "{var}='{value}' is not usable: {reason}. Set it as `membudget plan --format env` \
                 writes it (e.g. {var}=134217728), or unset it for no limit."
            ),
            QuotaEnvError::Unknown { var } => {
                let known: Vec<String> = Category::ALL.iter().map(|c| quota_env_var(*c)).collect();
                write!(
                    f,
                    "Unknown quota variable {var}: expected one of {}, {QUOTA_ENV_TOTAL}, \
                     {QUOTA_ENV_ROLE}.",
                    known.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for QuotaEnvError {}

impl Quotas {
    /// The quotas in this process's environment: the `MEMBUDGET_QUOTA_*` variables (one per
    /// category, `MEMBUDGET_QUOTA_TOTAL`, `MEMBUDGET_QUOTA_ROLE`) that `membudget plan --format
    /// env` writes; a missing one means no limit.
    ///
    /// # Errors
    ///
    /// [`QuotaEnvError`] naming the variable and its value when a value is malformed or a
    /// `MEMBUDGET_QUOTA_*` variable is unknown. Variables that are not valid Unicode are
    /// reported as malformed.
    ///
    /// # Examples
    ///
    /// ```
    /// use membudget_core::Quotas;
    ///
    /// // With no MEMBUDGET_QUOTA_* variables set this is `Quotas::unlimited()`.
    /// let quotas = Quotas::from_env()?;
    /// # Ok::<(), membudget_core::QuotaEnvError>(())
    /// ```
    pub fn from_env() -> Result<Quotas, QuotaEnvError> {
        let mut vars = Vec::new();
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            if !name.starts_with(QUOTA_ENV_PREFIX) {
                continue;
            }
            match value.into_string() {
                Ok(value) => vars.push((name.to_owned(), value)),
                Err(raw) => {
                    return Err(QuotaEnvError::Malformed {
                        var: name.to_owned(),
                        value: raw.to_string_lossy().into_owned(),
                        reason: "not valid Unicode".to_owned(),
                    })
                }
            }
        }
        Quotas::from_env_vars(vars)
    }

    /// The quotas in these variables (as [`from_env`](Self::from_env) reads them); variables
    /// without the `MEMBUDGET_QUOTA_` prefix are ignored.
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    ///
    /// # Examples
    ///
    /// ```
    /// use membudget_core::{Category, Quotas, Role};
    ///
    /// let quotas = Quotas::from_env_vars([
    ///     ("MEMBUDGET_QUOTA_NETWORK", "128m"),
    ///     ("MEMBUDGET_QUOTA_ROLE", "jobmanager"),
    ///     ("PATH", "/bin"),
    /// ])?;
    /// assert_eq!(quotas.get(Category::Network), 128 << 20);
    /// assert_eq!(quotas.get(Category::Heap), u64::MAX); // missing: no limit
    /// assert_eq!(quotas.role(), Role::JobManager);
    /// # Ok::<(), membudget_core::QuotaEnvError>(())
    /// ```
    pub fn from_env_vars<I, K, V>(vars: I) -> Result<Quotas, QuotaEnvError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut per_category = [u64::MAX; Category::COUNT];
        let mut total = None;
        let mut role = Role::TaskManager;
        for (name, value) in vars {
            let (name, value) = (name.as_ref(), value.as_ref());
            if !name.starts_with(QUOTA_ENV_PREFIX) {
                continue;
            }
            let malformed = |reason: String| QuotaEnvError::Malformed {
                var: name.to_owned(),
                value: value.to_owned(),
                reason,
            };
            if name == QUOTA_ENV_ROLE {
                role = value.parse().map_err(|e: crate::ParseRoleError| {
                    malformed(e.to_string().trim_end_matches('.').to_owned())
                })?;
                continue;
            }
            let bytes = MemorySize::parse(value)
                .map_err(|e| malformed(e.to_string()))?
                .bytes();
            if name == QUOTA_ENV_TOTAL {
                total = Some(bytes);
            } else if let Some(c) = Category::ALL.iter().find(|c| quota_env_var(**c) == name) {
                per_category[c.index()] = bytes;
            } else {
                return Err(QuotaEnvError::Unknown {
                    var: name.to_owned(),
                });
            }
        }
        let quotas = Quotas::new(per_category).with_role(role);
        Ok(match total {
            Some(t) => quotas.with_total(t),
            None => quotas,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_means_unlimited() {
        let q = Quotas::from_env_vars(Vec::<(String, String)>::new()).unwrap();
        assert_eq!(q, Quotas::unlimited());
        let q = Quotas::from_env_vars([("MEMBUDGET_QUOTA_HEAP", "100")]).unwrap();
        assert_eq!(q.get(Category::Heap), 100);
        assert_eq!(q.total(), u64::MAX);
    }

    #[test]
    fn every_category_total_and_role() {
        let mut vars: Vec<(String, String)> = Category::ALL
            .iter()
            .map(|c| (quota_env_var(*c), (c.index() + 1).to_string()))
            .collect();
        vars.push((QUOTA_ENV_TOTAL.into(), "20".into()));
        vars.push((QUOTA_ENV_ROLE.into(), "jobmanager".into()));
        let q = Quotas::from_env_vars(vars).unwrap();
        assert_eq!(q.per_category(), [1, 2, 3, 4, 5]);
        assert_eq!(q.total(), 20);
        assert_eq!(q.role(), Role::JobManager);
    }

    #[test]
    fn malformed_values_name_the_variable_and_value() {
        let err = Quotas::from_env_vars([("MEMBUDGET_QUOTA_NETWORK", "12x")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "MEMBUDGET_QUOTA_NETWORK='12x' is not usable: Memory size unit 'x' does not match \
             any of the recognized units: (b | bytes) / (k | kb | kibibytes) / (m | mb | \
             mebibytes) / (g | gb | gibibytes) / (t | tb | tebibytes). Set it as `membudget plan \
             --format env` writes it (e.g. MEMBUDGET_QUOTA_NETWORK=134217728), or unset it for no \
             limit."
        );
        for (var, value) in [
            ("MEMBUDGET_QUOTA_HEAP", "-1"),
            ("MEMBUDGET_QUOTA_TOTAL", ""),
            ("MEMBUDGET_QUOTA_ROLE", "worker"),
        ] {
            let err = Quotas::from_env_vars([(var, value)]).unwrap_err();
            assert!(
                matches!(&err, QuotaEnvError::Malformed { var: v, value: x, .. } if v == var && x == value),
                "{err:?}"
            );
        }
        let err = Quotas::from_env_vars([("MEMBUDGET_QUOTA_NETWROK", "1")]).unwrap_err();
        assert_eq!(
            err,
            QuotaEnvError::Unknown {
                var: "MEMBUDGET_QUOTA_NETWROK".into()
            }
        );
        assert!(err.to_string().contains("MEMBUDGET_QUOTA_NETWORK"), "{err}");
    }
}
