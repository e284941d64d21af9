//! [`Mimalloc`]: mimalloc as a [`Backing`], with the category of a block found by its address.
//!
//! ```text
//!  heap      ── mimalloc's normal thread heaps (mi_malloc / mi_free) ── anywhere else
//!  direct    ── heap bound to exclusive arena D1 [start, start+len) (+ D2, … when it grows)
//!  managed   ── heap bound to exclusive arena M1
//!  network   ── heap bound to exclusive arena N1
//!  overhead  ── heap bound to exclusive arena O1
//! ```
//!
//! An exclusive arena is memory given to mimalloc (`mi_manage_os_memory_ex(.., exclusive)`) that
//! only heaps made with `mi_heap_new_in_arena` allocate from, and such a heap never allocates
//! outside its arena (when the arena is full it returns null). All arenas are carved from *one*
//! virtual reservation, the region, so a free finds the category of any block with one subtract
//! and one compare — no header — and only blocks inside the region look further, at a byte per
//! GiB of region naming the category of the arena there:
//!
//! ```text
//!   region:   [ direct 1 GiB | network 2 GiB | direct 2 GiB | ...... (reserved, unused) ]
//!             ^ base           granule table: 1 3 3 1 1 0 0 0 ... (a category code per GiB)
//!   free(p):  p − base < len ? table[(p − base) >> 30] : heap
//! ```
//!
//! mimalloc v3 heaps are usable, and their blocks freeable, from any thread.
//!
//! The region is reserved (`PROT_NONE`, `MAP_NORESERVE`: address space only) on the first
//! allocation of a non-heap category: [`REGION_MAX`] (1 TiB), halved until the OS grants it, at
//! least 4 GiB. A category's first arena is sized `2 × quota` (at least 1 GiB, at most
//! mimalloc's 16 GiB arena limit, 4 GiB while the quota is unlimited) and committed on demand.
//! When one is full, a twice as large one is added with a new heap (up to [`MAX_ARENAS`] in all);
//! older blocks stay where they are and are still found by address. When no arena can be added
//! (all [`MAX_ARENAS`] used, the region full, or a block above 8 GiB that no 16 GiB arena holds
//! with room to spare) the allocation returns null like any out-of-memory, and its charge is
//! undone. A failed allocation grows the arenas at most once: if a fresh arena cannot serve the
//! request either, no further arena would, so it fails without reserving more.
//!
//! Alignments above [`NATIVE_ALIGN_MAX`] (64 KiB) are served by mimalloc from fresh OS memory
//! outside any arena, which an arena-bound heap may not use, so such blocks of a non-heap
//! category are over-allocated in the category's arena instead and aligned by hand:
//!
//! ```text
//!   raw (from the arena heap)          ptr (aligned to layout.align())
//!   | . . . . . . . . . . . . . |raw|  block of layout.size() bytes ...  | slack |
//!   '------ < align bytes ------'  ^ the raw pointer, stored just before ptr
//! ```
//!
//! Freeing such a block (known from its layout's alignment and its arena address) frees `raw`.
//!
//! Blocks charged to a child budget (`attribution.rs`) come from a second set of arenas, one
//! kind per category, whose granules carry the category code with the attributed bit set
//! (`backing::block_code`): a free tells them apart by address, like any other category. Heap-category blocks of a child
//! budget live in such an arena too, inside the region (so below the heap bound, on the free's
//! slow path).

use crate::backing::{block_code, decode};
use crate::{Backing, Category};
use core::alloc::Layout;
use core::ffi::c_void;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use libmimalloc_sys as mi;

/// Most arenas the four non-heap categories may reserve together.
pub const MAX_ARENAS: usize = 32;
const ARENA_MIN: usize = 1 << 30;
const ARENA_MAX: usize = 16 << 30;
const ARENA_UNLIMITED: usize = 4 << 30;
/// Largest region reserved for all arenas (smaller if the OS refuses that much address space).
const REGION_MAX: usize = 1 << 40;
/// Smallest region worth reserving.
const REGION_MIN: usize = 4 << 30;
/// Where the region should end: mimalloc's `MI_HINT_BASE`, the start of the 2–30 TiB range in
/// which it places its own (heap) arenas on 64-bit systems, so heap blocks lie above the region
/// and a free finds them with one compare (the OS may place the region elsewhere; then frees
/// are only slower).
const REGION_END: usize = 2 << 40;
/// Arenas start and end on multiples of a granule (1 GiB, [`ARENA_MIN`]) of the region.
const GRANULE_SHIFT: u32 = 30;
const GRANULES: usize = REGION_MAX >> GRANULE_SHIFT;
/// `Region::base` before the region exists: the top [`REGION_MAX`] bytes of the address space,
/// where no user-space block lies, so every block is found to be outside the region.
const NO_REGION: usize = 0usize.wrapping_sub(REGION_MAX);
/// Largest alignment mimalloc serves inside an arena (its `MI_PAGE_MAX_OVERALLOC_ALIGN`, one
/// arena slice: 64 KiB on 64-bit targets). Larger alignments are over-allocated by hand.
const NATIVE_ALIGN_MAX: usize = 8 * 1024 * core::mem::size_of::<usize>();
/// Alignment of every mimalloc block (its block sizes are whole words, carved from aligned
/// pages). Blocks are 16-aligned only if their size class is a multiple of 16, so larger
/// alignments go through the aligned calls.
const WORD_ALIGN: usize = core::mem::size_of::<usize>();
/// Alignment of the raw block under a hand-aligned one (mimalloc's minimum; enough for the
/// stored raw pointer).
const RAW_ALIGN: usize = 16;
/// Kinds of arenas: each category, plain and attributed.
const KINDS: usize = 2 * Category::COUNT;

/// Fewest bytes before an attributed block: its owner word.
const ATTRIBUTED_MIN_PREFIX: usize = core::mem::size_of::<usize>();

/// The arena block under an attributed block of `layout`, and the bytes before the attributed
/// block in it; the owner word is the last 8 of them.
#[inline]
fn attributed_inner(layout: Layout) -> Option<(Layout, usize)> {
    crate::backing::with_prefix(layout, ATTRIBUTED_MIN_PREFIX)
}

/// The owner word of an attributed block, reached with the provenance of the arena's block
/// (exposed when it was made): the pointer a free gets may carry one narrowed to the block.
#[inline]
fn owner_word(block: *mut u8) -> *mut usize {
    core::ptr::with_exposed_provenance_mut(block.addr().wrapping_sub(core::mem::size_of::<usize>()))
}

/// What an arena holds: one category's blocks, plain or attributed.
#[derive(Clone, Copy)]
struct ArenaKind {
    category: Category,
    attributed: bool,
}

impl ArenaKind {
    const fn plain(category: Category) -> ArenaKind {
        ArenaKind {
            category,
            attributed: false,
        }
    }

    /// Index into [`HEAPS`] and [`LAST_ARENA`].
    fn index(self) -> usize {
        // Below `KINDS`: no overflow.
        self.category
            .index()
            .wrapping_add(if self.attributed { Category::COUNT } else { 0 })
    }

    /// The code its granules carry.
    fn code(self) -> u8 {
        block_code(self.category, self.attributed)
    }
}

unsafe extern "C" {
    /// Start and size of an arena (in the mimalloc library, not declared by libmimalloc-sys).
    fn mi_arena_area(arena_id: mi::mi_arena_id_t, size: *mut usize) -> *mut c_void;
}

/// mimalloc, with each non-heap category in its own exclusive arenas (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct Mimalloc;

struct Range {
    start: AtomicUsize,
    len: AtomicUsize,
    category: AtomicU8,
}

/// The region that holds every arena. One static, so a free finds both words through one
/// address.
struct Region {
    /// Start ([`NO_REGION`] until reserved). Written once, under [`GROW_LOCK`], before any
    /// arena exists.
    base: AtomicUsize,
    /// Bytes (0 until reserved; 0 for good if it could not be), at most [`REGION_MAX`].
    len: AtomicUsize,
}

static REGION: Region = Region {
    base: AtomicUsize::new(NO_REGION),
    len: AtomicUsize::new(0),
};
/// Offset in the region where the next arena goes (under [`GROW_LOCK`]).
static REGION_NEXT: AtomicUsize = AtomicUsize::new(0);
/// Whether reserving the region was tried; set under [`GROW_LOCK`] once the region is final.
static REGION_TRIED: AtomicBool = AtomicBool::new(false);
/// The category code of the arena in each granule of the region (0, the heap's code: none).
static GRANULE_CATEGORY: [AtomicU8; GRANULES] = [const { AtomicU8::new(0) }; GRANULES];
/// Published arena ranges (for [`Mimalloc::arenas`]): entries `..RANGE_COUNT` are complete.
static RANGES: [Range; MAX_ARENAS] = [const {
    Range {
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        category: AtomicU8::new(0),
    }
}; MAX_ARENAS];
static RANGE_COUNT: AtomicUsize = AtomicUsize::new(0);
/// The current heap of each arena kind ([`ArenaKind::index`]; the plain heap's entry is
/// unused: heap blocks come from mimalloc's own heaps).
static HEAPS: [AtomicPtr<mi::mi_heap_t>; KINDS] = [const { AtomicPtr::new(null_mut()) }; KINDS];
/// Size of each arena kind's last arena (0 = none yet).
static LAST_ARENA: [AtomicUsize; KINDS] = [const { AtomicUsize::new(0) }; KINDS];
/// Serialises arena creation (rare: a few times per process).
static GROW_LOCK: AtomicBool = AtomicBool::new(false);

impl Mimalloc {
    /// The arena ranges reserved so far, as `(category, start, len)`.
    pub fn arenas(&self) -> impl Iterator<Item = (Category, usize, usize)> {
        // Acquire: pairs with the Release that published each entry.
        let n = RANGE_COUNT.load(Ordering::Acquire);
        RANGES[..n].iter().map(|r| {
            (
                decode(r.category.load(Ordering::Relaxed)).0,
                r.start.load(Ordering::Relaxed),
                r.len.load(Ordering::Relaxed),
            )
        })
    }

    /// Returns memory freed so far to the operating system now, instead of after mimalloc's
    /// purge delay (it otherwise purges free pages about a second later, and only when it next
    /// runs): collects the calling thread's heaps — the default one and each category's — and
    /// forces a purge of every arena's free pages. Call it after a teardown (pools dropped,
    /// threads joined) to bring the resident size back down. Safe from any thread; costs a walk
    /// over the calling thread's pages.
    ///
    /// # Examples
    /// ```
    /// membudget_allocator::Mimalloc.collect();
    /// ```
    pub fn collect(&self) {
        for h in &HEAPS {
            // Acquire: as in `heap`.
            let heap = h.load(Ordering::Acquire);
            if !heap.is_null() {
                // SAFETY: a live heap (heaps are never deleted); mimalloc collects the calling
                // thread's part of it.
                unsafe { mi::mi_heap_collect(heap, true) };
            }
        }
        // SAFETY: plain FFI; forces the purge of free arena pages process-wide.
        unsafe { mi::mi_collect(true) };
    }

    /// The category whose arena contains `addr`, or [`Category::Heap`].
    #[inline(always)]
    pub fn category_at(&self, addr: usize) -> Category {
        // Relaxed, both: a block of an arena reached this thread through some synchronisation
        // after the arena's heap was published (Release in `grow_locked`), which happens after
        // the region's base and length and the arena's granules were stored. Any other address
        // is found outside the region whatever mix of old and new values is read: before the
        // region exists the base is `NO_REGION` (nothing below it is within `REGION_MAX`) or the
        // length 0, and no heap block lies inside the region.
        let code = Self::arena_code_at(addr);
        // Codes are written only from `ArenaKind::code`.
        decode(code).0
    }

    /// The granule code of the arena containing `addr` ([`ArenaKind::code`]), 0 outside any
    /// arena (the plain heap's code). Relaxed loads: see [`category_at`](Self::category_at).
    #[inline(always)]
    fn arena_code_at(addr: usize) -> u8 {
        let offset = addr.wrapping_sub(REGION.base.load(Ordering::Relaxed));
        if offset < REGION.len.load(Ordering::Relaxed) {
            GRANULE_CATEGORY[(offset >> GRANULE_SHIFT) % GRANULES].load(Ordering::Relaxed)
        } else {
            0
        }
    }

    #[inline]
    fn heap(kind: ArenaKind) -> *mut mi::mi_heap_t {
        // Acquire: pairs with the Release in `grow`, so the heap and its range are visible.
        HEAPS[kind.index()].load(Ordering::Acquire)
    }

    /// Adds an arena (and heap) for `category` unless another thread already replaced `failed`.
    /// Returns the heap to retry with, or null if no arena can be added.
    #[cold]
    #[inline(never)]
    fn grow(kind: ArenaKind, failed: *mut mi::mi_heap_t, min_size: usize) -> *mut mi::mi_heap_t {
        Self::with_grow_lock(|| Self::grow_locked(kind, failed, min_size))
    }

    /// Runs `f` holding [`GROW_LOCK`].
    fn with_grow_lock<R>(f: impl FnOnce() -> R) -> R {
        while GROW_LOCK
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::thread::yield_now();
        }
        let r = f();
        // Release: pairs with the Acquire above in the next holder.
        GROW_LOCK.store(false, Ordering::Release);
        r
    }

    /// The region `(start, len)`, reserved first if nobody tried yet; `len` is 0 if the OS
    /// refused. Fixed from then on.
    #[cold]
    fn region() -> (usize, usize) {
        // Acquire: pairs with the Release in `ensure_region_locked`.
        if !REGION_TRIED.load(Ordering::Acquire) {
            Self::with_grow_lock(Self::ensure_region_locked);
        }
        (
            REGION.base.load(Ordering::Relaxed),
            REGION.len.load(Ordering::Relaxed),
        )
    }

    /// Reserves the region unless that was tried already. Under [`GROW_LOCK`].
    fn ensure_region_locked() {
        if !REGION_TRIED.load(Ordering::Relaxed) {
            Self::reserve_region();
            // Release: publishes the region to `region`'s Acquire.
            REGION_TRIED.store(true, Ordering::Release);
        }
    }

    fn grow_locked(
        kind: ArenaKind,
        failed: *mut mi::mi_heap_t,
        min_size: usize,
    ) -> *mut mi::mi_heap_t {
        let category = kind.category;
        let current = HEAPS[kind.index()].load(Ordering::Relaxed);
        if current != failed {
            return current;
        }
        let n = RANGE_COUNT.load(Ordering::Relaxed);
        if n >= MAX_ARENAS {
            return null_mut();
        }
        let last = LAST_ARENA[kind.index()].load(Ordering::Relaxed);
        let size = if last == 0 {
            let quota = crate::Budget::global().quota(category);
            if quota == u64::MAX {
                ARENA_UNLIMITED
            } else {
                usize::try_from(quota.saturating_mul(2)).unwrap_or(ARENA_MAX)
            }
        } else {
            last.saturating_mul(2)
        };
        // Room for the request itself, with slack for mimalloc's own metadata.
        let size = size
            .max(min_size.saturating_mul(2).saturating_add(64 << 20))
            .clamp(ARENA_MIN, ARENA_MAX)
            .next_power_of_two()
            .min(ARENA_MAX);
        if min_size > size / 2 {
            return null_mut();
        }
        let Some((start, size)) = Self::carve(size, min_size) else {
            return null_mut();
        };
        let mut id: mi::mi_arena_id_t = null_mut();
        // SAFETY: `start..start + size` is reserved address space of the region that no arena
        // uses (`carve`), never unmapped; mimalloc commits it on demand (mprotect), and it is
        // zero when first committed. Exclusive, so only heaps bound to it allocate from it.
        let managed = unsafe {
            mi::mi_manage_os_memory_ex(
                start as *const c_void,
                size,
                false,
                false,
                true,
                -1,
                true,
                &mut id,
            )
        };
        if !managed {
            return null_mut();
        }
        // The range is mimalloc's now: later arenas go after it, and its granules name the
        // category before any block of it exists (its heap is published below).
        let offset = start.wrapping_sub(REGION.base.load(Ordering::Relaxed));
        REGION_NEXT.store(offset.saturating_add(size), Ordering::Relaxed);
        let first = offset >> GRANULE_SHIFT;
        for g in GRANULE_CATEGORY
            .iter()
            .skip(first)
            .take(size >> GRANULE_SHIFT)
        {
            g.store(kind.code(), Ordering::Relaxed);
        }
        let mut len = 0usize;
        // SAFETY: `id` is the arena just made; `len` is a valid out-pointer.
        let area = unsafe { mi_arena_area(id, &mut len) } as usize;
        // SAFETY: `id` is a valid arena id.
        let heap = unsafe { mi::mi_heap_new_in_arena(id) };
        if heap.is_null() || area == 0 || len == 0 {
            return null_mut();
        }
        let r = &RANGES[n];
        r.start.store(area, Ordering::Relaxed);
        r.len.store(len, Ordering::Relaxed);
        r.category.store(kind.code(), Ordering::Relaxed);
        // Release: publishes the entry to `arenas`' Acquire.
        // `n < MAX_ARENAS`: no overflow.
        RANGE_COUNT.store(n.wrapping_add(1), Ordering::Release);
        LAST_ARENA[kind.index()].store(size, Ordering::Relaxed);
        // Release: publishes the heap, the region base and the granules to `heap`'s Acquire
        // (and through the blocks it hands out, to `category_at`).
        HEAPS[kind.index()].store(heap, Ordering::Release);
        heap
    }

    /// The next `size` bytes of the region (reserving the region first), or what is left of it
    /// if that still holds `min_size` with the slack `grow_locked` asks for. Under
    /// [`GROW_LOCK`]. Returns the start address and the size.
    fn carve(size: usize, min_size: usize) -> Option<(usize, usize)> {
        Self::ensure_region_locked();
        let len = REGION.len.load(Ordering::Relaxed);
        let next = REGION_NEXT.load(Ordering::Relaxed);
        let left = len.saturating_sub(next);
        let size = size.min(left);
        // Whole granules; the request with its slack must fit in half of the arena.
        let size = size >> GRANULE_SHIFT << GRANULE_SHIFT;
        if size == 0 || min_size > size / 2 {
            return None;
        }
        Some((REGION.base.load(Ordering::Relaxed).wrapping_add(next), size))
    }

    /// Reserves the region: [`REGION_MAX`] bytes of address space aligned to a granule, halved
    /// until the OS grants it (at least [`REGION_MIN`]), asked for just below [`REGION_END`].
    /// Under [`GROW_LOCK`], before any arena.
    fn reserve_region() {
        let mut len = REGION_MAX;
        while len >= REGION_MIN {
            // One granule more, so a granule-aligned start with `len` bytes after it exists.
            let total = len.saturating_add(1 << GRANULE_SHIFT);
            let hint = REGION_END.saturating_sub(total);
            if let Some(p) = crate::sys::reserve(total, hint) {
                let raw = p as usize;
                let mask = (1usize << GRANULE_SHIFT).wrapping_sub(1);
                let base = raw.saturating_add(mask) & !mask;
                let head = base.wrapping_sub(raw);
                // `head < granule` and `head + len ≤ total`: no wrap.
                let tail = total.wrapping_sub(head).wrapping_sub(len);
                if head > 0 {
                    // SAFETY: the unaligned head of the fresh reservation; nothing uses it.
                    unsafe { crate::sys::unmap(p, head) };
                }
                if tail > 0 {
                    // SAFETY: the part of the fresh reservation past `base + len`; nothing uses
                    // it.
                    unsafe { crate::sys::unmap(p.wrapping_add(head.wrapping_add(len)), tail) };
                }
                REGION.len.store(len, Ordering::Relaxed);
                // Relaxed: published with the first arena's heap (Release in `grow_locked`).
                REGION.base.store(base, Ordering::Relaxed);
                return;
            }
            len /= 2;
        }
    }

    #[inline]
    unsafe fn heap_alloc(heap: *mut mi::mi_heap_t, layout: Layout, zeroed: bool) -> *mut u8 {
        if layout.align() > NATIVE_ALIGN_MAX {
            // SAFETY: forwarded: a live heap and a non-zero size.
            return unsafe { Self::heap_alloc_overaligned(heap, layout, zeroed) };
        }
        // Every mimalloc block is aligned to a word: such layouts take the plain calls, whose
        // fast path the aligned ones leave for a generic one with a heap of an arena.
        let natural = layout.align() <= WORD_ALIGN;
        let (size, align) = (layout.size(), layout.align());
        // In each arm: `heap` is a live heap (heaps are never deleted) and the size is
        // non-zero; a plain call's block is word-aligned, which is all `natural` asks for.
        let p = match (zeroed, natural) {
            // SAFETY: see above.
            (true, true) => unsafe { mi::mi_heap_zalloc(heap, size) },
            // SAFETY: see above.
            (false, true) => unsafe { mi::mi_heap_malloc(heap, size) },
            // SAFETY: see above.
            (true, false) => unsafe { mi::mi_heap_zalloc_aligned(heap, size, align) },
            // SAFETY: see above.
            (false, false) => unsafe { mi::mi_heap_malloc_aligned(heap, size, align) },
        };
        p as *mut u8
    }

    /// Bytes of the raw block under a hand-aligned block of `layout`: room for the block at any
    /// `align` boundary after the stored raw pointer (`None` if that overflows).
    #[inline]
    fn overaligned_raw_size(layout: Layout) -> Option<usize> {
        layout.size().checked_add(layout.align())
    }

    /// A block of `layout` (alignment above [`NATIVE_ALIGN_MAX`]) carved by hand from a larger
    /// raw block of `heap`, with the raw pointer stored just before it (module docs).
    #[cold]
    #[inline(never)]
    unsafe fn heap_alloc_overaligned(
        heap: *mut mi::mi_heap_t,
        layout: Layout,
        zeroed: bool,
    ) -> *mut u8 {
        let Some(total) = Self::overaligned_raw_size(layout) else {
            return null_mut();
        };
        let raw = if zeroed {
            // SAFETY: a live heap; `total` is non-zero.
            unsafe { mi::mi_heap_zalloc_aligned(heap, total, RAW_ALIGN) as *mut u8 }
        } else {
            // SAFETY: as above.
            unsafe { mi::mi_heap_malloc_aligned(heap, total, RAW_ALIGN) as *mut u8 }
        };
        if raw.is_null() {
            return raw;
        }
        // `raw + 8` is 8 past a 16-aligned address, so the next multiple of `align` (≥ 64 KiB)
        // is at most `align - 8` further: `ptr ≤ raw + align`, `ptr + size ≤ raw + total`.
        let offset = raw
            .wrapping_add(core::mem::size_of::<usize>())
            .align_offset(layout.align())
            .wrapping_add(core::mem::size_of::<usize>());
        debug_assert!(offset <= layout.align());
        // SAFETY: `offset ≤ align`, so `ptr` and the `size` bytes after it lie within the
        // `total = size + align` bytes of `raw`.
        let ptr = unsafe { raw.add(offset) };
        // `offset ≥ 8`, so the `usize` just before `ptr` is inside the raw block too; it is
        // aligned because `ptr` is (to at least 64 KiB).
        let slot = ptr.cast::<usize>().wrapping_sub(1);
        // SAFETY: `slot` is an aligned `usize` inside the raw block (above).
        unsafe { slot.write(raw as usize) };
        ptr
    }

    /// The raw block under a hand-aligned block.
    ///
    /// # Safety
    /// `ptr` was returned by [`heap_alloc_overaligned`](Self::heap_alloc_overaligned).
    #[inline]
    unsafe fn overaligned_raw(ptr: *mut u8) -> *mut c_void {
        let slot = ptr.cast::<usize>().wrapping_sub(1);
        // SAFETY: `heap_alloc_overaligned` stored the raw pointer in this aligned `usize` before
        // `ptr`, inside the live raw block.
        unsafe { slot.read() as *mut c_void }
    }

    /// Whether the block at `ptr` with `layout` was aligned by hand (an arena's block with an
    /// alignment above [`NATIVE_ALIGN_MAX`]).
    #[inline]
    fn is_overaligned(&self, ptr: *mut u8, layout: Layout) -> bool {
        layout.align() > NATIVE_ALIGN_MAX && Self::arena_code_at(ptr as usize) != 0
    }

    #[cold]
    #[inline(never)]
    unsafe fn allocate_in_arena(kind: ArenaKind, layout: Layout, zeroed: bool) -> *mut u8 {
        let mut heap = Self::heap(kind);
        // A fresh arena that cannot serve the request means no arena can: grow at most once, so
        // a request mimalloc refuses for another reason leaves no arenas behind.
        let mut grown = false;
        loop {
            if !heap.is_null() {
                // SAFETY: a live heap; the caller guarantees a non-zero size.
                let p = unsafe { Self::heap_alloc(heap, layout, zeroed) };
                if !p.is_null() || grown {
                    return p;
                }
            }
            heap = Self::grow(kind, heap, layout.size().saturating_add(layout.align()));
            if heap.is_null() {
                return null_mut();
            }
            grown = true;
        }
    }
}

// SAFETY: heap-category blocks come from mimalloc's normal heaps, which never use exclusive
// arenas; every other category's blocks come from a heap bound to an exclusive arena of that
// category and lie inside its published range (mimalloc does not fall back to the OS for such
// heaps), and reallocation goes through the same category's heap. mimalloc neither calls the
// Rust allocator nor unwinds.
unsafe impl Backing for Mimalloc {
    #[inline]
    unsafe fn allocate(&self, category: Category, layout: Layout, zeroed: bool) -> *mut u8 {
        if category == Category::Heap {
            // Word alignments take the plain calls (see `heap_alloc`): the aligned ones first
            // try a small block "with just the right alignment", a detour every block passes.
            let (size, align) = (layout.size(), layout.align());
            // In each arm: a non-zero size (caller); a plain call's block is word-aligned, and
            // the aligned calls accept any power-of-two alignment.
            let p = match (zeroed, align <= WORD_ALIGN) {
                // SAFETY: see above.
                (true, true) => unsafe { mi::mi_zalloc(size) },
                // SAFETY: see above.
                (false, true) => unsafe { mi::mi_malloc(size) },
                // SAFETY: see above.
                (true, false) => unsafe { mi::mi_zalloc_aligned(size, align) },
                // SAFETY: see above.
                (false, false) => unsafe { mi::mi_malloc_aligned(size, align) },
            };
            p as *mut u8
        } else {
            // SAFETY: non-zero size (caller).
            unsafe { Self::allocate_in_arena(ArenaKind::plain(category), layout, zeroed) }
        }
    }

    #[inline]
    unsafe fn allocate_attributed(
        &self,
        category: Category,
        layout: Layout,
        zeroed: bool,
        owner: usize,
    ) -> *mut u8 {
        let Some((inner, before)) = attributed_inner(layout) else {
            return null_mut();
        };
        let kind = ArenaKind {
            category,
            attributed: true,
        };
        let heap = Self::heap(kind);
        let mut raw = null_mut();
        if !heap.is_null() {
            // SAFETY: a live heap; `inner` has a non-zero size.
            raw = unsafe { Self::heap_alloc(heap, inner, zeroed) };
        }
        if raw.is_null() {
            // The first block of this kind, or its arena is full: grows on the cold path.
            // SAFETY: `inner` has a non-zero size.
            raw = unsafe { Self::allocate_in_arena(kind, inner, zeroed) };
        }
        if raw.is_null() {
            return raw;
        }
        raw.expose_provenance();
        // `before ≤ inner.size()`: the block lies inside the arena's block.
        let block = raw.wrapping_add(before);
        // SAFETY: the owner word (the word before `block`) lies in the prefix (at least a
        // word), aligned since `block` is aligned to at least a word.
        unsafe { owner_word(block).write(owner) };
        block
    }

    #[inline]
    unsafe fn attributed_owner(&self, ptr: *mut u8, _layout: Layout) -> Option<(Category, usize)> {
        let code = Self::arena_code_at(ptr as usize);
        let (category, true) = decode(code) else {
            return None;
        };
        // SAFETY: a block of an attributed arena: `allocate_attributed` wrote its owner word.
        Some((category, unsafe { owner_word(ptr).read() }))
    }

    #[inline]
    unsafe fn deallocate_attributed(&self, ptr: *mut u8, layout: Layout, _category: Category) {
        let Some((inner, before)) = attributed_inner(layout) else {
            return; // not reached: the block was made with this layout
        };
        let raw: *mut u8 = core::ptr::with_exposed_provenance_mut(ptr.addr().wrapping_sub(before));
        let block = if inner.align() > NATIVE_ALIGN_MAX {
            // SAFETY: an arena's block with such an alignment was aligned by hand.
            unsafe { Self::overaligned_raw(raw) }
        } else {
            raw as *mut c_void
        };
        // SAFETY: `block` is a live mimalloc block (caller); mimalloc frees from any thread.
        unsafe { mi::mi_free(block) }
    }

    /// The end of the region holding every arena, reserved on the first call (see the module
    /// docs), or 0 if it could not be reserved (then no arena exists).
    fn heap_above(&self) -> Option<usize> {
        let (start, len) = Self::region();
        Some(if len == 0 {
            0
        } else {
            start.saturating_add(len)
        })
    }

    #[inline]
    unsafe fn category_of(&self, ptr: *mut u8, _layout: Layout) -> Category {
        self.category_at(ptr as usize)
    }

    #[inline]
    unsafe fn deallocate_in(&self, ptr: *mut u8, layout: Layout, category: Category) {
        let block = if category != Category::Heap && layout.align() > NATIVE_ALIGN_MAX {
            // SAFETY: a non-heap block with such an alignment was aligned by hand.
            unsafe { Self::overaligned_raw(ptr) }
        } else {
            ptr as *mut c_void
        };
        // SAFETY: `block` is a live mimalloc block (caller); mimalloc frees from any thread.
        unsafe { mi::mi_free(block) }
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: *mut u8, layout: Layout) {
        let block = if self.is_overaligned(ptr, layout) {
            // SAFETY: a non-heap block with such an alignment was aligned by hand.
            unsafe { Self::overaligned_raw(ptr) }
        } else {
            ptr as *mut c_void
        };
        // SAFETY: `block` is a live mimalloc block (caller); mimalloc frees from any thread.
        unsafe { mi::mi_free(block) }
    }

    #[inline]
    unsafe fn reallocate(
        &self,
        ptr: *mut u8,
        layout: Layout,
        category: Category,
        new_size: usize,
    ) -> *mut u8 {
        if category == Category::Heap {
            // A word alignment takes the plain call, as in `allocate`: mimalloc's aligned
            // realloc forwards exactly such alignments to it.
            let p = if layout.align() <= WORD_ALIGN {
                // SAFETY: a live heap-category block; non-zero new size (GlobalAlloc contract);
                // the moved block is word-aligned, all the layout asks.
                unsafe { mi::mi_realloc(ptr as *mut c_void, new_size) }
            } else {
                // SAFETY: as above; any power-of-two alignment is accepted.
                unsafe { mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) }
            };
            return p as *mut u8;
        }
        if layout.align() > NATIVE_ALIGN_MAX {
            // SAFETY: forwarded contract.
            return unsafe { self.reallocate_overaligned(ptr, layout, category, new_size) };
        }
        let kind = ArenaKind::plain(category);
        let mut heap = Self::heap(kind);
        let mut grown = false;
        loop {
            if heap.is_null() {
                return null_mut();
            }
            // SAFETY: `ptr` is a live block of `category`, so its heap exists; reallocating
            // through the category's current heap keeps any moved block in its arenas.
            let p = unsafe {
                mi::mi_heap_realloc_aligned(heap, ptr as *mut c_void, new_size, layout.align())
            } as *mut u8;
            if !p.is_null() || grown {
                return p;
            }
            heap = Self::grow(kind, heap, new_size.saturating_add(layout.align()));
            grown = true;
        }
    }
}

impl Mimalloc {
    /// Reallocates a hand-aligned block: a new block of the same category and alignment, the
    /// common prefix copied, the old block freed (the old block untouched on failure).
    ///
    /// # Safety
    /// As [`Backing::reallocate`], for a non-heap block with an alignment above
    /// [`NATIVE_ALIGN_MAX`].
    #[cold]
    #[inline(never)]
    unsafe fn reallocate_overaligned(
        &self,
        ptr: *mut u8,
        layout: Layout,
        category: Category,
        new_size: usize,
    ) -> *mut u8 {
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return null_mut();
        };
        // SAFETY: `new_size` is non-zero (GlobalAlloc contract); `category` is not the heap.
        let new = unsafe { Self::allocate_in_arena(ArenaKind::plain(category), new_layout, false) };
        if !new.is_null() {
            // SAFETY: both blocks are live, distinct, and at least `min(old, new)` bytes long.
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            // SAFETY: `ptr` is a live block of ours with `layout`; it is dead afterwards.
            unsafe { self.deallocate(ptr, layout) };
        }
        new
    }
}
