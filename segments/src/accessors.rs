//! Typed `get`/`put` accessors of [`MemorySegment`] in native, little- and big-endian order.

use crate::segment::panic_out_of_bounds;
use crate::{MemorySegment, SegmentError};

macro_rules! accessors {
    ($t:ty, $order:literal, $from:ident, $to:ident,
     $get:ident, $try_get:ident, $get_unchecked:ident,
     $put:ident, $try_put:ident, $put_unchecked:ident) => {
        #[doc = concat!("Reads a `", stringify!($t), "` in ", $order, " byte order at `index`.")]
        ///
        /// # Panics
        /// If the value does not fit at `index`; the message names the index, width and size.
        #[inline]
        #[track_caller]
        pub fn $get(&self, index: usize) -> $t {
            const N: usize = core::mem::size_of::<$t>();
            // Plain slice code, which the optimiser knows best (bounds checks hoisted out of
            // loops). An overflowing `index + N` wraps below `index`: an empty-or-inverted
            // range that `get` rejects.
            match self.as_slice().get(index..index.wrapping_add(N)) {
                Some(b) => <$t>::$from(b.try_into().expect("N bytes")),
                None => panic_out_of_bounds(index, N, self.size()),
            }
        }

        #[doc = concat!("Reads a `", stringify!($t), "` in ", $order, " byte order at `index`.")]
        ///
        /// # Errors
        /// [`SegmentError::OutOfBounds`] if the value does not fit at `index`.
        #[inline]
        pub fn $try_get(&self, index: usize) -> Result<$t, SegmentError> {
            const N: usize = core::mem::size_of::<$t>();
            self.check(index, N)?;
            // SAFETY: just checked that `N` bytes at `index` are in bounds.
            Ok(unsafe { self.$get_unchecked(index) })
        }

        #[doc = concat!("Reads a `", stringify!($t), "` in ", $order, " byte order at `index` without a bounds check.")]
        ///
        /// # Safety
        #[doc = concat!("`index + ", stringify!($t), "` size must be at most [`size`](Self::size) (no overflow).")]
        #[inline(always)]
        pub unsafe fn $get_unchecked(&self, index: usize) -> $t {
            const N: usize = core::mem::size_of::<$t>();
            // SAFETY: the caller guarantees `N` bytes at `index` are in bounds; the read is
            // unaligned and `&self` excludes writers.
            let bytes = unsafe { core::ptr::read_unaligned(self.at(index).cast::<[u8; N]>()) };
            <$t>::$from(bytes)
        }

        #[doc = concat!("Writes a `", stringify!($t), "` in ", $order, " byte order at `index`.")]
        ///
        /// # Panics
        /// If the value does not fit at `index`; the message names the index, width and size.
        #[inline]
        #[track_caller]
        pub fn $put(&mut self, index: usize, value: $t) {
            const N: usize = core::mem::size_of::<$t>();
            let size = self.size();
            match self.as_mut_slice().get_mut(index..index.wrapping_add(N)) {
                Some(b) => b.copy_from_slice(&value.$to()),
                None => panic_out_of_bounds(index, N, size),
            }
        }

        #[doc = concat!("Writes a `", stringify!($t), "` in ", $order, " byte order at `index`.")]
        ///
        /// # Errors
        /// [`SegmentError::OutOfBounds`] if the value does not fit at `index`; nothing is written.
        #[inline]
        pub fn $try_put(&mut self, index: usize, value: $t) -> Result<(), SegmentError> {
            const N: usize = core::mem::size_of::<$t>();
            self.check(index, N)?;
            // SAFETY: just checked that `N` bytes at `index` are in bounds.
            unsafe { self.$put_unchecked(index, value) };
            Ok(())
        }

        #[doc = concat!("Writes a `", stringify!($t), "` in ", $order, " byte order at `index` without a bounds check.")]
        ///
        /// # Safety
        #[doc = concat!("`index + ", stringify!($t), "` size must be at most [`size`](Self::size) (no overflow).")]
        #[inline(always)]
        pub unsafe fn $put_unchecked(&mut self, index: usize, value: $t) {
            const N: usize = core::mem::size_of::<$t>();
            let bytes: [u8; N] = value.$to();
            // SAFETY: the caller guarantees `N` bytes at `index` are in bounds; the write is
            // unaligned and `&mut self` makes it the only access.
            unsafe { core::ptr::write_unaligned(self.at(index).cast::<[u8; N]>(), bytes) }
        }
    };
}

macro_rules! all_orders {
    ($t:ty,
     [$g:ident, $tg:ident, $gu:ident, $p:ident, $tp:ident, $pu:ident],
     [$gl:ident, $tgl:ident, $gul:ident, $pl:ident, $tpl:ident, $pul:ident],
     [$gb:ident, $tgb:ident, $gub:ident, $pb:ident, $tpb:ident, $pub_:ident]) => {
        accessors!(
            $t,
            "native",
            from_ne_bytes,
            to_ne_bytes,
            $g,
            $tg,
            $gu,
            $p,
            $tp,
            $pu
        );
        accessors!(
            $t,
            "little-endian",
            from_le_bytes,
            to_le_bytes,
            $gl,
            $tgl,
            $gul,
            $pl,
            $tpl,
            $pul
        );
        accessors!(
            $t,
            "big-endian",
            from_be_bytes,
            to_be_bytes,
            $gb,
            $tgb,
            $gub,
            $pb,
            $tpb,
            $pub_
        );
    };
}

/// Single-byte and `bool` accessors.
impl MemorySegment {
    accessors!(
        u8,
        "native",
        from_ne_bytes,
        to_ne_bytes,
        get_u8,
        try_get_u8,
        get_u8_unchecked,
        put_u8,
        try_put_u8,
        put_u8_unchecked
    );
    accessors!(
        i8,
        "native",
        from_ne_bytes,
        to_ne_bytes,
        get_i8,
        try_get_i8,
        get_i8_unchecked,
        put_i8,
        try_put_i8,
        put_i8_unchecked
    );

    /// Reads a `bool` at `index` (any non-zero byte is `true`).
    ///
    /// # Panics
    /// If `index >= size`.
    #[inline]
    #[track_caller]
    pub fn get_bool(&self, index: usize) -> bool {
        self.get_u8(index) != 0
    }

    /// Reads a `bool` at `index` (any non-zero byte is `true`).
    ///
    /// # Errors
    /// [`SegmentError::OutOfBounds`] if `index >= size`.
    #[inline]
    pub fn try_get_bool(&self, index: usize) -> Result<bool, SegmentError> {
        Ok(self.try_get_u8(index)? != 0)
    }

    /// Writes a `bool` at `index` as 1 or 0.
    ///
    /// # Panics
    /// If `index >= size`.
    #[inline]
    #[track_caller]
    pub fn put_bool(&mut self, index: usize, value: bool) {
        self.put_u8(index, value as u8)
    }

    /// Writes a `bool` at `index` as 1 or 0.
    ///
    /// # Errors
    /// [`SegmentError::OutOfBounds`] if `index >= size`; nothing is written.
    #[inline]
    pub fn try_put_bool(&mut self, index: usize, value: bool) -> Result<(), SegmentError> {
        self.try_put_u8(index, value as u8)
    }
}

/// 16-bit accessors (`char` is Java's 16-bit `char`, read and written as `u16`).
impl MemorySegment {
    all_orders!(
        u16,
        [
            get_u16,
            try_get_u16,
            get_u16_unchecked,
            put_u16,
            try_put_u16,
            put_u16_unchecked
        ],
        [
            get_u16_le,
            try_get_u16_le,
            get_u16_le_unchecked,
            put_u16_le,
            try_put_u16_le,
            put_u16_le_unchecked
        ],
        [
            get_u16_be,
            try_get_u16_be,
            get_u16_be_unchecked,
            put_u16_be,
            try_put_u16_be,
            put_u16_be_unchecked
        ]
    );
    all_orders!(
        i16,
        [
            get_i16,
            try_get_i16,
            get_i16_unchecked,
            put_i16,
            try_put_i16,
            put_i16_unchecked
        ],
        [
            get_i16_le,
            try_get_i16_le,
            get_i16_le_unchecked,
            put_i16_le,
            try_put_i16_le,
            put_i16_le_unchecked
        ],
        [
            get_i16_be,
            try_get_i16_be,
            get_i16_be_unchecked,
            put_i16_be,
            try_put_i16_be,
            put_i16_be_unchecked
        ]
    );
    all_orders!(
        u16,
        [
            get_char,
            try_get_char,
            get_char_unchecked,
            put_char,
            try_put_char,
            put_char_unchecked
        ],
        [
            get_char_le,
            try_get_char_le,
            get_char_le_unchecked,
            put_char_le,
            try_put_char_le,
            put_char_le_unchecked
        ],
        [
            get_char_be,
            try_get_char_be,
            get_char_be_unchecked,
            put_char_be,
            try_put_char_be,
            put_char_be_unchecked
        ]
    );
}

/// 32-bit accessors.
impl MemorySegment {
    all_orders!(
        u32,
        [
            get_u32,
            try_get_u32,
            get_u32_unchecked,
            put_u32,
            try_put_u32,
            put_u32_unchecked
        ],
        [
            get_u32_le,
            try_get_u32_le,
            get_u32_le_unchecked,
            put_u32_le,
            try_put_u32_le,
            put_u32_le_unchecked
        ],
        [
            get_u32_be,
            try_get_u32_be,
            get_u32_be_unchecked,
            put_u32_be,
            try_put_u32_be,
            put_u32_be_unchecked
        ]
    );
    all_orders!(
        i32,
        [
            get_i32,
            try_get_i32,
            get_i32_unchecked,
            put_i32,
            try_put_i32,
            put_i32_unchecked
        ],
        [
            get_i32_le,
            try_get_i32_le,
            get_i32_le_unchecked,
            put_i32_le,
            try_put_i32_le,
            put_i32_le_unchecked
        ],
        [
            get_i32_be,
            try_get_i32_be,
            get_i32_be_unchecked,
            put_i32_be,
            try_put_i32_be,
            put_i32_be_unchecked
        ]
    );
    all_orders!(
        f32,
        [
            get_f32,
            try_get_f32,
            get_f32_unchecked,
            put_f32,
            try_put_f32,
            put_f32_unchecked
        ],
        [
            get_f32_le,
            try_get_f32_le,
            get_f32_le_unchecked,
            put_f32_le,
            try_put_f32_le,
            put_f32_le_unchecked
        ],
        [
            get_f32_be,
            try_get_f32_be,
            get_f32_be_unchecked,
            put_f32_be,
            try_put_f32_be,
            put_f32_be_unchecked
        ]
    );
}

/// 64-bit accessors.
impl MemorySegment {
    all_orders!(
        u64,
        [
            get_u64,
            try_get_u64,
            get_u64_unchecked,
            put_u64,
            try_put_u64,
            put_u64_unchecked
        ],
        [
            get_u64_le,
            try_get_u64_le,
            get_u64_le_unchecked,
            put_u64_le,
            try_put_u64_le,
            put_u64_le_unchecked
        ],
        [
            get_u64_be,
            try_get_u64_be,
            get_u64_be_unchecked,
            put_u64_be,
            try_put_u64_be,
            put_u64_be_unchecked
        ]
    );
    all_orders!(
        i64,
        [
            get_i64,
            try_get_i64,
            get_i64_unchecked,
            put_i64,
            try_put_i64,
            put_i64_unchecked
        ],
        [
            get_i64_le,
            try_get_i64_le,
            get_i64_le_unchecked,
            put_i64_le,
            try_put_i64_le,
            put_i64_le_unchecked
        ],
        [
            get_i64_be,
            try_get_i64_be,
            get_i64_be_unchecked,
            put_i64_be,
            try_put_i64_be,
            put_i64_be_unchecked
        ]
    );
    all_orders!(
        f64,
        [
            get_f64,
            try_get_f64,
            get_f64_unchecked,
            put_f64,
            try_put_f64,
            put_f64_unchecked
        ],
        [
            get_f64_le,
            try_get_f64_le,
            get_f64_le_unchecked,
            put_f64_le,
            try_put_f64_le,
            put_f64_le_unchecked
        ],
        [
            get_f64_be,
            try_get_f64_be,
            get_f64_be_unchecked,
            put_f64_be,
            try_put_f64_be,
            put_f64_be_unchecked
        ]
    );
}
