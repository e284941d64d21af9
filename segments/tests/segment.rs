//! `MemorySegment` accessors against `to_be_bytes`/`to_le_bytes`/`to_ne_bytes`, bounds at
//! −1/size/`usize::MAX`, and `compare`/`equal_to`/`copy_to`/`swap_bytes` against slice code
//! (proptest; case counts shrink under Miri).

use core::cmp::Ordering;
use membudget_segments::{MemorySegment, SegmentError};
use proptest::prelude::*;

const SIZE: usize = 64;

fn cases() -> u32 {
    if cfg!(miri) {
        4
    } else {
        256
    }
}

fn seg(bytes: &[u8]) -> MemorySegment {
    MemorySegment::wrap(bytes.to_vec())
}

/// Checks all flavours of one type at every in-bounds index and at the bounds.
macro_rules! check_type {
    ($name:ident, $t:ty, $v:expr,
     native: [$g:ident, $tg:ident, $gu:ident, $p:ident, $tp:ident, $pu:ident],
     le: [$gl:ident, $tgl:ident, $pl:ident, $tpl:ident],
     be: [$gb:ident, $tgb:ident, $pb:ident, $tpb:ident]) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(cases()))]
            #[test]
            fn $name(v in $v, index in 0..=SIZE - core::mem::size_of::<$t>()) {
                const N: usize = core::mem::size_of::<$t>();
                let mut s = MemorySegment::allocate_unpooled(SIZE);
                s.$p(index, v);
                prop_assert_eq!(&s.as_slice()[index..index + N], &v.to_ne_bytes()[..]);
                prop_assert_eq!(s.$g(index).to_ne_bytes(), v.to_ne_bytes());
                prop_assert_eq!(s.$tg(index).unwrap().to_ne_bytes(), v.to_ne_bytes());
                // SAFETY: `index + N <= SIZE` by the strategy.
                prop_assert_eq!(unsafe { s.$gu(index) }.to_ne_bytes(), v.to_ne_bytes());
                // SAFETY: as above.
                unsafe { s.$pu(index, v) };
                s.$tp(index, v).unwrap();

                s.$pl(index, v);
                prop_assert_eq!(&s.as_slice()[index..index + N], &v.to_le_bytes()[..]);
                prop_assert_eq!(s.$gl(index).to_le_bytes(), v.to_le_bytes());
                s.$tpl(index, v).unwrap();
                prop_assert_eq!(s.$tgl(index).unwrap().to_le_bytes(), v.to_le_bytes());

                s.$pb(index, v);
                prop_assert_eq!(&s.as_slice()[index..index + N], &v.to_be_bytes()[..]);
                prop_assert_eq!(s.$gb(index).to_be_bytes(), v.to_be_bytes());
                s.$tpb(index, v).unwrap();
                prop_assert_eq!(s.$tgb(index).unwrap().to_be_bytes(), v.to_be_bytes());

                // Bounds: the first index that does not fit, size, usize::MAX (= -1) and
                // usize::MAX - N + 1 (where index + N would overflow).
                let size = s.size();
                for bad in [size - N + 1, size, usize::MAX, usize::MAX - N + 1] {
                    let expect = SegmentError::OutOfBounds { index: bad, len: N, size };
                    prop_assert_eq!(s.$tg(bad).unwrap_err().to_string(), expect.to_string());
                    prop_assert_eq!(s.$tgl(bad).unwrap_err().to_string(), expect.to_string());
                    prop_assert_eq!(s.$tgb(bad).unwrap_err().to_string(), expect.to_string());
                    let before = s.as_slice().to_vec();
                    prop_assert!(s.$tp(bad, v).is_err());
                    prop_assert!(s.$tpl(bad, v).is_err());
                    prop_assert!(s.$tpb(bad, v).is_err());
                    prop_assert_eq!(s.as_slice(), &before[..], "a failed put writes nothing");
                }
            }
        }
    };
}

check_type!(u16_all_orders, u16, any::<u16>(),
    native: [get_u16, try_get_u16, get_u16_unchecked, put_u16, try_put_u16, put_u16_unchecked],
    le: [get_u16_le, try_get_u16_le, put_u16_le, try_put_u16_le],
    be: [get_u16_be, try_get_u16_be, put_u16_be, try_put_u16_be]);
check_type!(i16_all_orders, i16, any::<i16>(),
    native: [get_i16, try_get_i16, get_i16_unchecked, put_i16, try_put_i16, put_i16_unchecked],
    le: [get_i16_le, try_get_i16_le, put_i16_le, try_put_i16_le],
    be: [get_i16_be, try_get_i16_be, put_i16_be, try_put_i16_be]);
check_type!(char_all_orders, u16, any::<u16>(),
    native: [get_char, try_get_char, get_char_unchecked, put_char, try_put_char, put_char_unchecked],
    le: [get_char_le, try_get_char_le, put_char_le, try_put_char_le],
    be: [get_char_be, try_get_char_be, put_char_be, try_put_char_be]);
check_type!(u32_all_orders, u32, any::<u32>(),
    native: [get_u32, try_get_u32, get_u32_unchecked, put_u32, try_put_u32, put_u32_unchecked],
    le: [get_u32_le, try_get_u32_le, put_u32_le, try_put_u32_le],
    be: [get_u32_be, try_get_u32_be, put_u32_be, try_put_u32_be]);
check_type!(i32_all_orders, i32, any::<i32>(),
    native: [get_i32, try_get_i32, get_i32_unchecked, put_i32, try_put_i32, put_i32_unchecked],
    le: [get_i32_le, try_get_i32_le, put_i32_le, try_put_i32_le],
    be: [get_i32_be, try_get_i32_be, put_i32_be, try_put_i32_be]);
check_type!(f32_all_orders, f32, any::<f32>(),
    native: [get_f32, try_get_f32, get_f32_unchecked, put_f32, try_put_f32, put_f32_unchecked],
    le: [get_f32_le, try_get_f32_le, put_f32_le, try_put_f32_le],
    be: [get_f32_be, try_get_f32_be, put_f32_be, try_put_f32_be]);
check_type!(u64_all_orders, u64, any::<u64>(),
    native: [get_u64, try_get_u64, get_u64_unchecked, put_u64, try_put_u64, put_u64_unchecked],
    le: [get_u64_le, try_get_u64_le, put_u64_le, try_put_u64_le],
    be: [get_u64_be, try_get_u64_be, put_u64_be, try_put_u64_be]);
check_type!(i64_all_orders, i64, any::<i64>(),
    native: [get_i64, try_get_i64, get_i64_unchecked, put_i64, try_put_i64, put_i64_unchecked],
    le: [get_i64_le, try_get_i64_le, put_i64_le, try_put_i64_le],
    be: [get_i64_be, try_get_i64_be, put_i64_be, try_put_i64_be]);
check_type!(f64_all_orders, f64, any::<f64>(),
    native: [get_f64, try_get_f64, get_f64_unchecked, put_f64, try_put_f64, put_f64_unchecked],
    le: [get_f64_le, try_get_f64_le, put_f64_le, try_put_f64_le],
    be: [get_f64_be, try_get_f64_be, put_f64_be, try_put_f64_be]);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn bytes_and_bools(v in any::<u8>(), index in 0..SIZE) {
        let mut s = MemorySegment::allocate_unpooled(SIZE);
        s.put_u8(index, v);
        prop_assert_eq!(s.get_u8(index), v);
        prop_assert_eq!(s.get_i8(index), v as i8);
        s.put_i8(index, v as i8);
        prop_assert_eq!(s.as_slice()[index], v);
        prop_assert_eq!(s.get_bool(index), v != 0);
        s.put_bool(index, v % 2 == 1);
        prop_assert_eq!(s.as_slice()[index], v % 2);
        prop_assert_eq!(s.try_get_bool(index).unwrap(), v % 2 == 1);
        for bad in [SIZE, usize::MAX] {
            prop_assert!(s.try_get_u8(bad).is_err());
            prop_assert!(s.try_get_bool(bad).is_err());
            prop_assert!(s.try_put_bool(bad, true).is_err());
            prop_assert!(s.try_put_i8(bad, 1).is_err());
        }
    }

    #[test]
    fn compare_matches_slice_comparison(
        a in proptest::collection::vec(0u8..4, 0..48),
        b in proptest::collection::vec(0u8..4, 0..48),
        o1 in 0usize..8,
        o2 in 0usize..8,
    ) {
        // Small alphabets make long equal prefixes likely, exercising the word loop and tail.
        let mut x = vec![9u8; o1];
        x.extend_from_slice(&a);
        let mut y = vec![7u8; o2];
        y.extend_from_slice(&b);
        let (sx, sy) = (seg(&x), seg(&y));
        let n = a.len().min(b.len());
        prop_assert_eq!(sx.compare(&sy, o1, o2, n), a[..n].cmp(&b[..n]));
        prop_assert_eq!(sx.compare_with_lengths(&sy, o1, o2, a.len(), b.len()), a.cmp(&b));
        prop_assert_eq!(sx.equal_to(&sy, o1, o2, n), a[..n] == b[..n]);
        prop_assert_eq!(sx.compare(&sx, o1, o1, a.len()), Ordering::Equal);
    }

    #[test]
    fn compare_is_unsigned(hi in 0x80u8..=0xff, lo in 0u8..0x80, pos in 0usize..20) {
        let mut x = vec![1u8; 20];
        let mut y = vec![1u8; 20];
        x[pos] = hi;
        y[pos] = lo;
        prop_assert_eq!(seg(&x).compare(&seg(&y), 0, 0, 20), Ordering::Greater);
        prop_assert_eq!(seg(&y).compare(&seg(&x), 0, 0, 20), Ordering::Less);
    }

    #[test]
    fn bulk_copy_and_swap_match_slices(
        a in proptest::collection::vec(any::<u8>(), SIZE),
        b in proptest::collection::vec(any::<u8>(), SIZE),
        o1 in 0usize..SIZE,
        o2 in 0usize..SIZE,
        len in 0usize..SIZE,
    ) {
        let len = len.min(SIZE - o1).min(SIZE - o2);
        let (sa, mut sb) = (seg(&a), seg(&b));
        sa.copy_to(o1, &mut sb, o2, len);
        let mut expect = b.clone();
        expect[o2..o2 + len].copy_from_slice(&a[o1..o1 + len]);
        prop_assert_eq!(sb.as_slice(), &expect[..]);

        let (mut sa, mut sb) = (seg(&a), seg(&b));
        sa.swap_bytes(&mut sb, o1, o2, len);
        let (mut ea, mut eb) = (a.clone(), b.clone());
        ea[o1..o1 + len].swap_with_slice(&mut eb[o2..o2 + len]);
        prop_assert_eq!(sa.as_slice(), &ea[..]);
        prop_assert_eq!(sb.as_slice(), &eb[..]);

        let mut got = vec![0u8; len];
        seg(&a).get_bytes(o1, &mut got);
        prop_assert_eq!(&got[..], &a[o1..o1 + len]);
        let mut sc = seg(&b);
        sc.put_bytes(o2, &a[o1..o1 + len]);
        prop_assert_eq!(&sc.as_slice()[o2..o2 + len], &a[o1..o1 + len]);

        let mut sd = seg(&a);
        sd.copy_within(o1, o2, len);
        let mut ed = a.clone();
        ed.copy_within(o1..o1 + len, o2);
        prop_assert_eq!(sd.as_slice(), &ed[..]);

        let mut se = seg(&a);
        let overlap = o1 != o2 && len > 0 && o1.max(o2) < o1.min(o2) + len;
        let r = se.try_swap_bytes_within(o1, o2, len);
        if overlap {
            let is_overlap = matches!(r, Err(SegmentError::Overlap { .. }));
            prop_assert!(is_overlap);
            prop_assert_eq!(se.as_slice(), &a[..]);
        } else {
            prop_assert!(r.is_ok());
            let mut ee = a.clone();
            if o1 != o2 && len > 0 {
                let (lo, hi) = (o1.min(o2), o1.max(o2));
                let (x, y) = ee.split_at_mut(hi);
                x[lo..lo + len].swap_with_slice(&mut y[..len]);
            }
            prop_assert_eq!(se.as_slice(), &ee[..]);
        }
    }
}

#[test]
fn bulk_bounds_are_checked_and_leave_data_alone() {
    let mut a = seg(&[1; 16]);
    let mut b = seg(&[2; 16]);
    let e = a.try_copy_to(10, &mut b, 0, 7).unwrap_err();
    assert_eq!(
        e.to_string(),
        "index 10 + 7 bytes is out of bounds for a memory segment of 16 bytes"
    );
    assert!(a.try_copy_to(0, &mut b, usize::MAX, 1).is_err());
    assert!(a.try_compare(&b, 0, 9, 8).is_err());
    assert!(a.try_compare_with_lengths(&b, 0, 0, 16, 17).is_err());
    assert!(a.try_equal_to(&b, usize::MAX, 0, 2).is_err());
    assert!(a.try_swap_bytes(&mut b, 0, 15, 2).is_err());
    assert!(a.try_get_bytes(15, &mut [0; 2]).is_err());
    assert!(a.try_put_bytes(usize::MAX, &[0; 2]).is_err());
    assert!(a.try_copy_within(0, 9, 8).is_err());
    assert_eq!(a.as_slice(), &[1; 16]);
    assert_eq!(b.as_slice(), &[2; 16]);
    assert_eq!(
        a.try_swap_bytes_within(0, 4, 8).unwrap_err().to_string(),
        "ranges of 8 bytes at 0 and 4 overlap within one memory segment"
    );
    // Zero-length accesses at the end are in bounds.
    a.put_bytes(16, &[]);
    assert_eq!(a.compare(&b, 16, 16, 0), Ordering::Equal);
}

#[test]
#[should_panic(expected = "index 61 + 4 bytes is out of bounds for a memory segment of 64 bytes")]
fn panicking_get_names_index_and_size() {
    MemorySegment::allocate_unpooled(64).get_u32_be(61);
}

#[test]
#[should_panic(
    expected = "index 18446744073709551615 + 8 bytes is out of bounds for a memory segment of 64 bytes"
)]
fn panicking_put_at_minus_one() {
    MemorySegment::allocate_unpooled(64).put_f64_le(usize::MAX, 1.0);
}

#[test]
#[should_panic(expected = "index 60 + 8 bytes is out of bounds for a memory segment of 64 bytes")]
fn panicking_compare_names_the_range() {
    let s = MemorySegment::allocate_unpooled(64);
    s.compare(&s, 60, 0, 8);
}

#[test]
fn wrap_empty_and_boxed() {
    let e = MemorySegment::wrap(Vec::new());
    assert_eq!(e.size(), 0);
    assert!(e.try_get_u8(0).is_err());
    let b = MemorySegment::wrap(vec![5u8; 3].into_boxed_slice());
    assert_eq!(b.as_slice(), &[5, 5, 5]);
    assert!(!b.is_page());
}
