//! `mb_last_refusal`: what refused the request behind the thread's last `MB_ERR_QUOTA_EXCEEDED`
//! — category, amounts, limit, role and the key to raise — as fields a host can put into its
//! exception; and `mb_report_refusals`, which writes each refusal to stderr as it happens.
//!
//! Every error with `MB_ERR_QUOTA_EXCEEDED` carries its [`Refusal`]; recording the error (at
//! the boundary) makes it the thread's last, so the details always belong to the status the
//! host just saw, never to an older or unrelated refusal.

use crate::call::Call;
use crate::error::{MB_ERR_INVALID_ARGUMENT, MB_ERR_NULL_POINTER, MB_ERR_UNAVAILABLE, MB_OK};
use crate::struct_size::{fields, Fields};
use core::ffi::c_char;
use core::mem::size_of;
use membudget_allocator::{Category, Limit, QuotaExceeded, Role};
use membudget_core::IncreaseHint;
use std::cell::RefCell;

/// The limit that refused: the category's quota.
pub const MB_LIMIT_CATEGORY: u32 = 0;
/// The limit that refused: the process total (all categories together).
pub const MB_LIMIT_PROCESS: u32 = 1;
/// Not a limit: a failure injected for testing (`MEMBUDGET_FAULT_PROBABILITY`).
pub const MB_LIMIT_INJECTED: u32 = 2;
/// The limit that refused: the runtime's pool of the category is used up (its network buffers,
/// or its managed memory, both sized by the plan's quota).
pub const MB_LIMIT_POOL: u32 = 3;
/// The limit that refused: a child budget's (`mb_budget_child_new`); the message names it.
pub const MB_LIMIT_BUDGET: u32 = 4;

/// Bytes of `mb_refusal::key`, NUL included.
pub const MB_REFUSAL_KEY_LEN: usize = 64;
/// Bytes of `mb_refusal::message`, NUL included.
pub const MB_REFUSAL_MESSAGE_LEN: usize = 1024;

/// The refusal behind the thread's last `MB_ERR_QUOTA_EXCEEDED` (`mb_last_refusal`). Set
/// `struct_size` before the call; only the fields that fit in it are written (it must end on a
/// field).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mb_refusal {
    /// `sizeof(mb_refusal)` as the host knows it (left unchanged by the call).
    pub struct_size: u32,
    /// The category of the request (`MB_CATEGORY_*`).
    pub category: u32,
    /// Bytes requested.
    pub requested: u64,
    /// Bytes in use under the limit that refused, when it refused.
    pub used: u64,
    /// That limit in bytes.
    pub quota: u64,
    /// Which limit refused: `MB_LIMIT_*`.
    pub limit: u32,
    /// Whose keys `key` and `message` name: `MB_ROLE_TASKMANAGER` or `MB_ROLE_JOBMANAGER`.
    pub role: u32,
    /// The configuration key to raise so such a request fits, NUL-terminated (empty for an
    /// injected failure).
    pub key: [c_char; MB_REFUSAL_KEY_LEN],
    /// The error message the refused call set, NUL-terminated; cut at a character boundary if
    /// longer (the whole text is `mb_last_error_message`'s right after the call).
    pub message: [c_char; MB_REFUSAL_MESSAGE_LEN],
}

const _: () = assert!(size_of::<mb_refusal>() == 40 + MB_REFUSAL_KEY_LEN + MB_REFUSAL_MESSAGE_LEN);

impl Default for mb_refusal {
    fn default() -> Self {
        mb_refusal {
            struct_size: size_of::<mb_refusal>() as u32,
            category: 0,
            requested: 0,
            used: 0,
            quota: 0,
            limit: 0,
            role: 0,
            key: [0; MB_REFUSAL_KEY_LEN],
            message: [0; MB_REFUSAL_MESSAGE_LEN],
        }
    }
}

/// A refused request, as an error carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    category: Category,
    requested: u64,
    used: u64,
    quota: u64,
    /// `MB_LIMIT_*`.
    limit: u32,
    role: Role,
}

impl Refusal {
    /// A budget's refusal.
    pub(crate) fn of_budget(e: &QuotaExceeded) -> Refusal {
        let limit = match e.limit {
            Limit::Category => MB_LIMIT_CATEGORY,
            Limit::Process => MB_LIMIT_PROCESS,
            Limit::Budget => MB_LIMIT_BUDGET,
            _ => MB_LIMIT_INJECTED,
        };
        Refusal {
            category: e.category,
            requested: e.requested,
            used: e.used,
            quota: e.quota,
            limit,
            role: e.role,
        }
    }

    /// A refusal by a runtime's pool of `category` (`MB_LIMIT_POOL`), holding `quota` bytes of
    /// which `used` are lent out.
    pub(crate) fn of_pool(
        category: Category,
        requested: u64,
        used: u64,
        quota: u64,
        role: Role,
    ) -> Refusal {
        Refusal {
            category,
            requested,
            used,
            quota,
            limit: MB_LIMIT_POOL,
            role,
        }
    }

    /// The key to raise ("" for an injected failure).
    fn key(&self) -> &'static str {
        match self.limit {
            MB_LIMIT_CATEGORY | MB_LIMIT_POOL => {
                IncreaseHint::category(self.role, self.category).key()
            }
            MB_LIMIT_PROCESS => IncreaseHint::process(self.role).key(),
            _ => "",
        }
    }

    /// As the C struct, `message` included.
    fn to_c(&self, message: &str) -> mb_refusal {
        let mut out = mb_refusal {
            category: self.category.code() as u32,
            requested: self.requested,
            used: self.used,
            quota: self.quota,
            limit: self.limit,
            role: match self.role {
                Role::TaskManager => crate::options::MB_ROLE_TASKMANAGER,
                Role::JobManager => crate::options::MB_ROLE_JOBMANAGER,
            },
            ..Default::default()
        };
        copy_cut(self.key(), &mut out.key);
        copy_cut(message, &mut out.message);
        out
    }
}

/// Copies `s` into `dst` NUL-terminated, cut at the last character boundary that fits.
fn copy_cut(s: &str, dst: &mut [c_char]) {
    let mut n = s.len().min(dst.len() - 1);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    for (d, b) in dst.iter_mut().zip(&s.as_bytes()[..n]) {
        *d = *b as c_char;
    }
    dst[n] = 0;
}

thread_local! {
    /// The refusal behind the thread's last `MB_ERR_QUOTA_EXCEEDED`, with its message.
    static LAST: RefCell<Option<(Refusal, String)>> = const { RefCell::new(None) };
}

/// Makes `refusal` (with the error's `message`) the thread's last: called when an error with
/// `MB_ERR_QUOTA_EXCEEDED` is handed to the host. `None` (a refusal without details) clears it,
/// so stale details are never reported.
pub(crate) fn set_last(refusal: Option<Refusal>, message: &str) {
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = refusal.map(|r| (r, message.to_owned()));
        }
    });
}

/// The fields of `mb_refusal`, in order (checked to tile the struct).
const FIELDS: &Fields = fields!(mb_refusal {
    struct_size,
    category,
    requested,
    used,
    quota,
    limit,
    role,
    key,
    message,
});

/// Fills `*out` with the details of the refusal behind the calling thread's last
/// `MB_ERR_QUOTA_EXCEEDED`: the category, bytes requested, used and the limit, which limit
/// (`MB_LIMIT_*`), the role, the configuration key to raise, and the message. A host calls it
/// right after a call failed with `MB_ERR_QUOTA_EXCEEDED` to fill its exception. Later
/// successful calls leave it (like `errno`); it never changes the last error message. Fields
/// past `out->struct_size` are not written; `struct_size` must end on a field, and bytes past
/// this library's struct (a newer host's fields) are written as zero. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_UNAVAILABLE` (no call failed with `MB_ERR_QUOTA_EXCEEDED` on this
/// thread yet), `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_ARGUMENT` (`struct_size` below 8, above
/// 4096, or ending inside a field).
///
/// # Safety
/// `out` is NULL or valid for reads of its `struct_size` field and writes of `struct_size`
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn mb_last_refusal(out: *mut mb_refusal) -> i32 {
    if out.is_null() {
        return MB_ERR_NULL_POINTER;
    }
    // SAFETY: `out` is non-null and its leading `struct_size` is readable (the contract).
    let size = unsafe { out.cast::<u32>().read_unaligned() } as usize;
    // Whole fields only, like every struct with a `struct_size` (a size that cuts a field is
    // refused). The error's message is dropped: this call never changes the last error.
    let n = match FIELDS.known_bytes(Call::new("mb_last_refusal"), "out", size, 2) {
        Ok(n) => n,
        Err(e) => return e.status(),
    };
    let Ok(Some(refusal)) = LAST.try_with(|last| {
        last.try_borrow()
            .ok()
            .and_then(|l| l.as_ref().map(|(r, m)| r.to_c(m)))
    }) else {
        return MB_ERR_UNAVAILABLE;
    };
    // Skip `struct_size`: the host's value stays.
    let skip = FIELDS.ends[0];
    let from = (&refusal as *const mb_refusal)
        .cast::<u8>()
        .wrapping_add(skip);
    let to = out.cast::<u8>().wrapping_add(skip);
    // SAFETY: `to` is `skip` bytes into the host's struct, valid for writes of `size >= n`
    // bytes from its start; `from` is as far into `refusal`, a local of `size_of::<mb_refusal>()
    // >= n` bytes; they do not overlap. `n` ends on a field: whole fields only.
    unsafe { core::ptr::copy_nonoverlapping(from, to, n - skip) };
    if size > n {
        // SAFETY: the host's struct is valid for writes of `size > n` bytes.
        let tail = unsafe { out.cast::<u8>().add(n) };
        // SAFETY: as above, `size - n` bytes from `n` on; a newer host's fields read 0.
        unsafe { tail.write_bytes(0, size - n) };
    }
    MB_OK
}

/// Writes one line to stderr at each refused request from now on (`enabled` 1) or stops
/// (`enabled` 0), for every budget in the process — the runtimes' and the Rust global
/// allocator's — overriding `MEMBUDGET_REPORT_REFUSALS`. The line is the refusal's message after
/// `membudget: `; writing it never allocates. Never blocks.
///
/// Returns `MB_OK` or `MB_ERR_INVALID_ARGUMENT` (`enabled` not 0 or 1).
#[no_mangle]
pub extern "C" fn mb_report_refusals(enabled: u32) -> i32 {
    crate::panic::boundary("mb_report_refusals", |call| match enabled {
        0 | 1 => {
            membudget_allocator::report_refusals(enabled == 1);
            Ok(())
        }
        v => Err(call.error(
            MB_ERR_INVALID_ARGUMENT,
            format_args!("enabled is {v}; use 0 or 1"),
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_cut_at_character_boundaries() {
        let mut dst = [1 as c_char; 4];
        copy_cut("ab€", &mut dst);
        assert_eq!(dst, [b'a' as c_char, b'b' as c_char, 0, 1]);
        copy_cut("", &mut dst);
        assert_eq!(dst[0], 0);
    }

    #[test]
    fn only_whole_fields_within_struct_size_are_written() {
        set_last(
            Some(Refusal::of_pool(
                Category::Network,
                1,
                2,
                3,
                Role::JobManager,
            )),
            "the message",
        );
        let mut r = mb_refusal {
            struct_size: 16,
            used: 99,
            ..Default::default()
        };
        // SAFETY: a valid struct, larger than it claims.
        assert_eq!(unsafe { mb_last_refusal(&mut r) }, MB_OK);
        assert_eq!(
            (r.struct_size, r.category, r.requested, r.used),
            (16, 3, 1, 99)
        );
        // A size that ends inside `used` is refused: nothing is written.
        let mut r = mb_refusal {
            struct_size: 20,
            used: 99,
            ..Default::default()
        };
        // SAFETY: as above.
        assert_eq!(unsafe { mb_last_refusal(&mut r) }, MB_ERR_INVALID_ARGUMENT);
        assert_eq!((r.category, r.requested, r.used), (0, 0, 99));
        let mut r = mb_refusal::default();
        // SAFETY: a valid struct.
        assert_eq!(unsafe { mb_last_refusal(&mut r) }, MB_OK);
        assert_eq!((r.used, r.quota, r.limit, r.role), (2, 3, MB_LIMIT_POOL, 1));
        let text = |c: &[c_char]| {
            let bytes: Vec<u8> = c
                .iter()
                .take_while(|b| **b != 0)
                .map(|b| *b as u8)
                .collect();
            String::from_utf8(bytes).unwrap()
        };
        assert_eq!(text(&r.key), "jobmanager.memory.off-heap.size");
        assert_eq!(text(&r.message), "the message");
        set_last(None, "");
        // SAFETY: as above.
        assert_eq!(unsafe { mb_last_refusal(&mut r) }, MB_ERR_UNAVAILABLE);
    }

    #[test]
    fn keys_follow_role_and_limit() {
        let r = Refusal::of_pool(Category::Managed, 1, 2, 3, Role::TaskManager);
        assert_eq!(r.key(), "taskmanager.memory.managed.fraction");
        let r = Refusal::of_budget(
            &QuotaExceeded::new(Category::Heap, 1, 2, 3, Limit::Process)
                .with_role(Role::JobManager),
        );
        assert_eq!(r.key(), "jobmanager.memory.process.size");
        let r = Refusal::of_budget(&QuotaExceeded::new(
            Category::Heap,
            1,
            2,
            3,
            Limit::Injected,
        ));
        assert_eq!(r.key(), "");
        for role in Role::ALL {
            for c in Category::ALL {
                let r = Refusal::of_pool(c, 1, 2, 3, role);
                assert!(r.key().len() < MB_REFUSAL_KEY_LEN, "{}", r.key());
            }
        }
    }
}
