//! What a refusal leaves behind: the calling thread's last refused request, and — opted in with
//! [`report_refusals`] or `MEMBUDGET_REPORT_REFUSALS=1` — one line on stderr at each refusal.
//!
//! An over-quota allocation reaches `GlobalAlloc` as a null pointer: `Vec::try_reserve` gets
//! std's generic `TryReserveError`, an infallible collection aborts with "memory allocation of
//! N bytes failed". Both happen far from the budget that said no, so the refusal itself is kept
//! per thread ([`last_refusal`]) and can be written out as it happens, before any abort:
//!
//! ```text
//! membudget: Cannot reserve 2097152 bytes of network memory (used: 0, quota: 1048576). Increase 'taskmanager.memory.network.fraction' (or .min/.max).
//! memory allocation of 2097152 bytes failed
//! ```
//!
//! Both run inside the global allocator, so neither allocates: the record is a `const`
//! thread-local `Cell` without destructor, the line is formatted into a stack buffer and written
//! with one `write(2)` (no std `Stderr`, whose lock and buffer could allocate or deadlock).
//! Nothing here needs nightly's `set_alloc_error_hook`.

use crate::{Category, Limit, QuotaExceeded, Role};
use core::cell::Cell;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU8, Ordering};

thread_local! {
    /// The calling thread's last refusal. [`Recorded`] has no destructor, so this
    /// thread-local registers none and stays usable during thread teardown.
    static LAST: Cell<Option<Recorded>> = const { Cell::new(None) };
}

/// A refusal's amounts without what a child budget adds (names, report), which need the heap:
/// what a thread keeps as its last refusal.
#[derive(Clone, Copy)]
struct Recorded {
    category: Category,
    requested: u64,
    used: u64,
    quota: u64,
    limit: Limit,
    role: Role,
    allowances: u64,
}

impl Recorded {
    fn of(e: &QuotaExceeded) -> Recorded {
        Recorded {
            category: e.category,
            requested: e.requested,
            used: e.used,
            quota: e.quota,
            limit: e.limit,
            role: e.role,
            allowances: e.allowances,
        }
    }

    fn refusal(self) -> QuotaExceeded {
        QuotaExceeded::new(
            self.category,
            self.requested,
            self.used,
            self.quota,
            self.limit,
        )
        .with_role(self.role)
        .with_allowances(self.allowances)
    }
}

/// `REPORT`: `MEMBUDGET_REPORT_REFUSALS` not read yet.
const REPORT_UNKNOWN: u8 = 0;
const REPORT_OFF: u8 = 1;
const REPORT_ON: u8 = 2;

/// Whether refusals are written to stderr; read from the environment at the first refusal
/// unless [`report_refusals`] said so first.
static REPORT: AtomicU8 = AtomicU8::new(REPORT_UNKNOWN);

/// The longest line written; the longest refusal text is under 300 bytes.
const LINE_CAPACITY: usize = 512;

/// The calling thread's most recent refusal, by any [`Budget`](crate::Budget): an explicit
/// charge or reservation, or an allocation of the [`QuotaAllocator`](crate::QuotaAllocator).
/// Like `errno`, a later success does not clear it. It keeps the amounts, not what a child
/// budget's refusal adds (consumer names, report): those are in the returned error.
///
/// After `Vec::try_reserve` fails under the `QuotaAllocator`, this says which category and which
/// quota refused, and [`QuotaExceeded::key`] which configuration key to raise.
///
/// # Examples
///
/// ```
/// use membudget_allocator::{last_refusal, Budget, Category, Limit, Quotas};
///
/// let budget = Budget::new(Quotas::unlimited().with(Category::Network, 1 << 20));
/// assert!(budget.try_reserve(Category::Network, 2 << 20).is_err());
/// let refusal = last_refusal().unwrap();
/// assert_eq!((refusal.category, refusal.requested, refusal.quota), (Category::Network, 2 << 20, 1 << 20));
/// assert_eq!(refusal.limit, Limit::Category);
/// assert_eq!(refusal.key(), Some("taskmanager.memory.network.fraction"));
/// ```
pub fn last_refusal() -> Option<QuotaExceeded> {
    LAST.try_with(Cell::get)
        .ok()
        .flatten()
        .map(Recorded::refusal)
}

/// Takes the calling thread's most recent refusal (see [`last_refusal`]), leaving none.
pub fn take_last_refusal() -> Option<QuotaExceeded> {
    LAST.try_with(Cell::take)
        .ok()
        .flatten()
        .map(Recorded::refusal)
}

/// Writes one line to stderr at every refusal from now on (`true`), or stops (`false`),
/// overriding `MEMBUDGET_REPORT_REFUSALS`. The line is the refusal's text after `membudget: `,
/// so a process that then aborts on an infallible allocation says which category and quota
/// killed it. Writing never allocates.
pub fn report_refusals(enabled: bool) {
    let state = if enabled { REPORT_ON } else { REPORT_OFF };
    REPORT.store(state, Ordering::Relaxed);
}

/// Whether refusals are written to stderr (reading `MEMBUDGET_REPORT_REFUSALS` if no call to
/// [`report_refusals`] has decided yet).
pub fn reporting_refusals() -> bool {
    match REPORT.load(Ordering::Relaxed) {
        REPORT_ON => true,
        REPORT_OFF => false,
        _ => {
            let state = if env_switch() { REPORT_ON } else { REPORT_OFF };
            // A concurrent `report_refusals` wins over the environment.
            let _ = REPORT.compare_exchange(
                REPORT_UNKNOWN,
                state,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            REPORT.load(Ordering::Relaxed) == REPORT_ON
        }
    }
}

/// `MEMBUDGET_REPORT_REFUSALS` read without allocating: on unless unset, empty, `0` or `false`.
/// A value [`parse_switch`] rejects counts as on here (whoever set it wanted something; a report
/// is harmless) and is an error from [`install_from_env`](crate::install_from_env).
#[cfg(not(membudget_loom))]
fn env_switch() -> bool {
    crate::sys::env_str(c"MEMBUDGET_REPORT_REFUSALS").is_some_and(|v| parse_switch(v) != Ok(false))
}

#[cfg(membudget_loom)]
fn env_switch() -> bool {
    false
}

/// `1`/`true` → on, `0`/`false`/empty → off (case and surrounding whitespace ignored).
#[cfg_attr(membudget_loom, allow(dead_code))]
pub(crate) fn parse_switch(value: &str) -> Result<bool, ()> {
    let v = value.trim();
    if v == "1" || v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(())
    }
}

/// Keeps `refusal` as the thread's last and reports it if asked to. Called by every refusal;
/// never allocates, never panics.
#[cold]
pub(crate) fn record(refusal: &QuotaExceeded) {
    let _ = LAST.try_with(|last| last.set(Some(Recorded::of(refusal))));
    if reporting_refusals() {
        write_report(refusal);
    }
}

/// A line formatted on the stack: what does not fit is cut off.
struct StackLine {
    buf: [u8; LINE_CAPACITY],
    len: usize,
}

impl Write for StackLine {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // One byte stays free for the newline.
        let room = LINE_CAPACITY - 1 - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// `membudget: <refusal>\n` as bytes, cut at [`LINE_CAPACITY`].
fn report_line(refusal: &QuotaExceeded) -> StackLine {
    let mut line = StackLine {
        buf: [0; LINE_CAPACITY],
        len: 0,
    };
    // An error only means the text was cut off.
    let _ = write!(line, "membudget: {refusal}");
    line.buf[line.len] = b'\n';
    line.len += 1;
    line
}

fn write_report(refusal: &QuotaExceeded) {
    let line = report_line(refusal);
    let mut rest = &line.buf[..line.len];
    while !rest.is_empty() {
        // SAFETY: `rest` is a live byte slice of `rest.len()` bytes; `write` only reads it.
        let n = unsafe { libc::write(libc::STDERR_FILENO, rest.as_ptr().cast(), rest.len()) };
        if n > 0 {
            rest = &rest[n as usize..];
        } else if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {
            continue;
        } else {
            return; // stderr closed or full: a report is best effort
        }
    }
}

#[cfg(all(test, not(membudget_loom)))]
mod tests {
    use super::*;
    use crate::{Budget, Category, Limit, Quotas, Role};

    #[test]
    fn the_last_refusal_is_per_thread_and_survives_successes() {
        let b = Budget::new(Quotas::unlimited().with(Category::Direct, 100));
        take_last_refusal();
        assert_eq!(last_refusal(), None);
        let e = b.try_charge(Category::Direct, 101).unwrap_err();
        assert_eq!(last_refusal(), Some(e.clone()));
        b.try_charge(Category::Direct, 1).unwrap();
        assert_eq!(
            last_refusal(),
            Some(e.clone()),
            "a success does not clear it"
        );
        std::thread::spawn(|| assert_eq!(last_refusal(), None))
            .join()
            .unwrap();
        assert_eq!(take_last_refusal(), Some(e));
        assert_eq!(last_refusal(), None);
    }

    #[test]
    fn the_report_line_is_the_refusal_text() {
        let e = QuotaExceeded::new(Category::Network, 4096, 1 << 20, 1 << 20, Limit::Category);
        let line = report_line(&e);
        assert_eq!(
            core::str::from_utf8(&line.buf[..line.len]).unwrap(),
            format!("membudget: {e}\n")
        );
        // The longest refusal fits with room to spare.
        for limit in [Limit::Category, Limit::Process, Limit::Injected] {
            for role in Role::ALL {
                for c in Category::ALL {
                    let e =
                        QuotaExceeded::new(c, u64::MAX, u64::MAX, u64::MAX, limit).with_role(role);
                    let line = report_line(&e);
                    assert!(line.len < LINE_CAPACITY - 100, "{e}");
                    assert_eq!(line.buf[line.len - 1], b'\n');
                }
            }
        }
    }

    #[test]
    fn a_long_text_is_cut_not_overflowed() {
        let mut line = StackLine {
            buf: [0; LINE_CAPACITY],
            len: 0,
        };
        assert!(write!(line, "{}", "x".repeat(2 * LINE_CAPACITY)).is_err());
        assert_eq!(line.len, LINE_CAPACITY - 1);
    }

    #[test]
    fn switch_values() {
        for on in ["1", "true", " TRUE "] {
            assert_eq!(parse_switch(on), Ok(true), "{on}");
        }
        for off in ["", "0", "false", "False"] {
            assert_eq!(parse_switch(off), Ok(false), "{off}");
        }
        for bad in ["yes", "2", "on"] {
            assert_eq!(parse_switch(bad), Err(()), "{bad}");
        }
    }
}
