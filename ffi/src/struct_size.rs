//! Structs that grow: how much of a host's struct a call may read or write, from the
//! `struct_size` the host sets (its `sizeof`, from the header it was compiled against).
//!
//! The rule (after Linux's `copy_struct_from_user`, used by `openat2` and `clone3`):
//! - Only whole fields are copied. A size that ends inside a field — half a pointer, say — is
//!   refused with `MB_ERR_INVALID_ARGUMENT`, never copied.
//! - A host compiled against an older, shorter struct sets a smaller size that ends on a field:
//!   the fields it does not know keep their defaults (input) or are not written (output).
//! - A host compiled against a newer, longer struct sets a larger size: for input, the bytes
//!   this library does not know must be zero (the new fields at their defaults), or the call is
//!   refused — a setting this library would ignore is never dropped silently; for output, they
//!   are written as zero.
//! - A size above [`MAX_STRUCT_SIZE`] is garbage and refused.
//!
//! Every struct listed with [`fields!`] is checked at compile time to have no padding
//! between or after its fields, so every version's `sizeof` ends on a field.

use crate::call::Call;
use crate::error::Error;

/// Largest `struct_size` accepted: larger than any version of these structs could be.
pub(crate) const MAX_STRUCT_SIZE: usize = 4096;

/// The fields of a `#[repr(C)]` struct with a leading `struct_size`, in order.
#[derive(Debug)]
pub(crate) struct Fields {
    /// The C type's name, for messages.
    pub(crate) name: &'static str,
    /// The fields' names.
    pub(crate) names: &'static [&'static str],
    /// Byte offset of each field.
    pub(crate) offsets: &'static [usize],
    /// Byte offset just past each field.
    pub(crate) ends: &'static [usize],
    /// `sizeof` the struct as this library knows it.
    pub(crate) size: usize,
}

/// `size_of` the field `f` points to (lets [`fields!`] size a field by name).
pub(crate) const fn field_size<T, F>(_f: fn(&T) -> &F) -> usize {
    core::mem::size_of::<F>()
}

impl Fields {
    /// Whether the fields tile the struct: each starts where the previous ends, the first at
    /// 0 and the last ends at `sizeof` (no padding anywhere).
    pub(crate) const fn is_packed(&self) -> bool {
        let mut at = 0;
        let mut i = 0;
        while i < self.offsets.len() {
            if self.offsets[i] != at || self.ends[i] <= at {
                return false;
            }
            at = self.ends[i];
            i += 1;
        }
        at == self.size && self.offsets.len() == self.names.len()
    }

    /// How many bytes of a host struct of `size` bytes to copy: whole fields only, at least
    /// the first `required` fields.
    ///
    /// # Errors
    /// `MB_ERR_INVALID_ARGUMENT` naming `arg`, the size and the field it cuts (or that it is
    /// too small or too large).
    pub(crate) fn known_bytes(
        &self,
        call: Call,
        arg: &str,
        size: usize,
        required: usize,
    ) -> Result<usize, Error> {
        let min = self.ends[required - 1];
        if size < min || size > MAX_STRUCT_SIZE {
            return Err(call.invalid(format_args!(
                "{arg}->struct_size is {size}; set it to sizeof({}) ({}); it must be at least \
                 {min} and at most {MAX_STRUCT_SIZE}",
                self.name, self.size
            )));
        }
        if size >= self.size {
            return Ok(self.size);
        }
        if self.ends.contains(&size) {
            return Ok(size);
        }
        let cut = self.ends.iter().position(|&e| e > size).unwrap_or(0);
        Err(call.invalid(format_args!(
            "{arg}->struct_size is {size}, which ends inside field '{}' (bytes {}..{}); set it \
             to sizeof({}) ({}), or to the end of a field for an older layout",
            self.names[cut], self.offsets[cut], self.ends[cut], self.name, self.size
        )))
    }

    /// Checks that the bytes of a larger host struct past this library's fields are zero.
    ///
    /// # Errors
    /// `MB_ERR_INVALID_ARGUMENT` naming the first non-zero byte: a field this library does not
    /// know is set, and would be ignored.
    ///
    /// # Safety
    /// `p` is valid for reads of `size` bytes.
    pub(crate) unsafe fn check_unknown_zero(
        &self,
        call: Call,
        arg: &str,
        p: *const u8,
        size: usize,
    ) -> Result<(), Error> {
        if size <= self.size {
            return Ok(());
        }
        // SAFETY: `p` is valid for `size > self.size` bytes per the contract.
        let bytes = unsafe { core::slice::from_raw_parts(p, size) };
        let tail = &bytes[self.size..];
        match tail.iter().position(|&b| b != 0) {
            None => Ok(()),
            Some(i) => Err(call.invalid(format_args!(
                "{arg}->struct_size is {size}, larger than this library's {} ({} bytes), and \
                 byte {} is not zero: a field this library does not know is set and would be \
                 ignored; use a newer libmembudget, or leave that field at 0",
                self.name,
                self.size,
                self.size + i
            ))),
        }
    }
}

/// The [`Fields`] of `$t`, whose fields are listed in order; fails to compile unless they tile
/// the struct exactly (no padding, none missing).
macro_rules! fields {
    ($t:ident { $($f:ident),+ $(,)? }) => {{
        const FIELDS: $crate::struct_size::Fields = $crate::struct_size::Fields {
            name: stringify!($t),
            names: &[$(stringify!($f)),+],
            offsets: &[$(core::mem::offset_of!($t, $f)),+],
            ends: &[$(
                core::mem::offset_of!($t, $f)
                    + $crate::struct_size::field_size::<$t, _>(|s: &$t| &s.$f)
            ),+],
            size: core::mem::size_of::<$t>(),
        };
        const _: () = assert!(
            FIELDS.is_packed(),
            concat!(
                stringify!($t),
                ": list every field in order, and keep the struct free of padding (pair u32 \
                 fields, or add an explicit reserved field) so every version's sizeof ends on a \
                 field"
            )
        );
        &FIELDS
    }};
}
pub(crate) use fields;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::MB_ERR_INVALID_ARGUMENT;

    #[repr(C)]
    struct Example {
        struct_size: u32,
        kind: u32,
        pointer: *const u8,
        count: u64,
    }

    const CALL: Call = Call::new("mb_example");
    const EXAMPLE: &Fields = fields!(Example {
        struct_size,
        kind,
        pointer,
        count
    });

    #[test]
    fn whole_fields_only() {
        assert_eq!(EXAMPLE.ends, &[4, 8, 16, 24]);
        let known = |size| EXAMPLE.known_bytes(CALL, "ex", size, 2);
        assert_eq!(known(8), Ok(8));
        assert_eq!(known(16), Ok(16));
        assert_eq!(known(24), Ok(24));
        assert_eq!(known(64), Ok(24), "a newer host's larger struct");
        for cut in [9, 12, 15, 20] {
            let e = known(cut).unwrap_err();
            assert_eq!(e.status(), MB_ERR_INVALID_ARGUMENT);
        }
        assert_eq!(
            known(12).unwrap_err().message(),
            "mb_example: ex->struct_size is 12, which ends inside field 'pointer' (bytes 8..16); \
             set it to sizeof(Example) (24), or to the end of a field for an older layout"
        );
        assert_eq!(
            known(4).unwrap_err().message(),
            "mb_example: ex->struct_size is 4; set it to sizeof(Example) (24); it must be at \
             least 8 and at most 4096"
        );
        assert!(known(4097).is_err());
        assert!(known(usize::MAX).is_err());
    }

    #[test]
    fn unknown_trailing_bytes_must_be_zero() {
        let mut bytes = [0u8; 40];
        // SAFETY: `bytes` has 40 readable bytes.
        let check =
            |b: &[u8; 40]| unsafe { EXAMPLE.check_unknown_zero(CALL, "ex", b.as_ptr(), 40) };
        assert_eq!(check(&bytes), Ok(()));
        bytes[30] = 1;
        assert_eq!(
            check(&bytes).unwrap_err().message(),
            "mb_example: ex->struct_size is 40, larger than this library's Example (24 bytes), \
             and byte 30 is not zero: a field this library does not know is set and would be \
             ignored; use a newer libmembudget, or leave that field at 0"
        );
    }
}
