//! `Buffer` handles: reference counting, slices, indices and recycling.

mod common;

use common::network;
use std::time::Duration;

#[test]
fn indices_and_slices_behave() {
    let net = network(2);
    let pool = net.create_buffer_pool(1, 2).unwrap();
    let mut b = pool.request_buffer().unwrap().unwrap();
    assert_eq!(b.capacity(), common::SEG);
    assert_eq!((b.size(), b.reader_index()), (0, 0));
    assert_eq!(b.append(b"hello world"), 11);
    b.set_reader_index(6);
    assert_eq!(b.readable(), b"world");
    assert_eq!(b.as_slice(), b"hello world");
    let s = b.read_only_slice(0, 5);
    assert!(s.is_read_only());
    assert_eq!(s.as_slice(), b"hello");
    assert_eq!(b.ref_count(), 2);
    assert!(b.as_mut_slice().is_none());
    let mut s2 = s.retain();
    assert!(s2.as_mut_slice().is_none(), "read-only slices never write");
    assert_eq!(b.ref_count(), 3);
    drop((s, s2));
    assert!(b.is_unique());
    b.as_mut_slice().unwrap()[0] = b'j';
    assert_eq!(b.as_slice(), b"jello world");
}

#[test]
fn append_stops_at_capacity() {
    let net = network(1);
    let pool = net.create_buffer_pool(1, 1).unwrap();
    let mut b = pool.request_buffer().unwrap().unwrap();
    let big = vec![7u8; common::SEG + 10];
    assert_eq!(b.append(&big), common::SEG);
    assert_eq!(b.append(b"x"), 0);
}

#[test]
#[should_panic(expected = "reader index 5 must not exceed the buffer size 0")]
fn reader_index_past_size_panics() {
    let net = network(1);
    let pool = net.create_buffer_pool(1, 1).unwrap();
    pool.request_buffer().unwrap().unwrap().set_reader_index(5);
}

#[test]
#[should_panic(expected = "append needs the only, writable handle")]
fn append_to_a_shared_buffer_panics() {
    let net = network(1);
    let pool = net.create_buffer_pool(1, 1).unwrap();
    let mut b = pool.request_buffer().unwrap().unwrap();
    let _other = b.clone();
    b.append(b"x");
}

#[test]
fn the_last_handle_recycles_on_any_thread() {
    let net = network(1);
    let pool = net.create_buffer_pool(1, 1).unwrap();
    let b = pool.request_buffer().unwrap().unwrap();
    let clones: Vec<_> = (0..4).map(|_| b.clone()).collect();
    drop(b);
    assert!(pool.request_buffer().unwrap().is_none());
    std::thread::scope(|s| {
        for c in clones {
            s.spawn(move || drop(c));
        }
    });
    let again = pool
        .request_buffer()
        .unwrap()
        .expect("recycled by the last clone");
    assert!(again.is_unique());
}

#[test]
fn a_recycled_buffer_starts_empty() {
    let net = network(1);
    let pool = net.create_buffer_pool(1, 1).unwrap();
    let mut b = pool.request_buffer().unwrap().unwrap();
    b.append(b"abc");
    drop(b);
    let b = pool.request_buffer().unwrap().unwrap();
    assert_eq!((b.size(), b.reader_index()), (0, 0));
}

#[test]
fn exclusive_buffers_return_to_the_global_pool() {
    let net = network(3);
    let mut ex = net.request_unpooled(2, Duration::from_secs(1)).unwrap();
    ex[0].append(b"credit");
    let shared = ex[0].clone();
    assert_eq!(net.available_segments(), 1);
    drop(ex);
    assert_eq!(net.available_segments(), 2, "the shared one is still out");
    assert_eq!(net.required_segments(), 1);
    drop(shared);
    assert_eq!(net.available_segments(), 3);
    assert_eq!(net.required_segments(), 0);
}

#[test]
fn buffers_outlive_their_pools() {
    let b = common::budget();
    let net = membudget_bufferpool::NetworkBufferPool::new(2, common::SEG, b.clone()).unwrap();
    let pool = net.create_buffer_pool(1, 2).unwrap();
    let mut buf = pool.request_buffer().unwrap().unwrap();
    drop(pool);
    drop(net);
    buf.append(b"still valid");
    assert_eq!(buf.as_slice(), b"still valid");
    assert_eq!(
        common::network_used(&b),
        common::SEG as u64,
        "only the lent segment"
    );
    drop(buf);
    assert_eq!(common::network_used(&b), 0);
}

/// Segments stashed by a thread that keeps running are idle segments of their pool: counted
/// as available, returned when the pool and the network pool go away (no byte of the network
/// budget stays charged), and the thread's exit afterwards frees what it still references.
#[test]
fn stashed_segments_of_a_dropped_pool_are_returned_before_their_thread_exits() {
    let b = common::budget();
    let net = membudget_bufferpool::NetworkBufferPool::new(8, common::SEG, b.clone()).unwrap();
    let pool = net.create_buffer_pool(8, 8).unwrap();
    let mut held = Vec::new();
    assert_eq!(pool.request_buffers(8, &mut held).unwrap(), 8);
    let (recycled_tx, recycled_rx) = std::sync::mpsc::channel::<()>();
    let (exit_tx, exit_rx) = std::sync::mpsc::channel::<()>();
    let recycler = std::thread::spawn(move || {
        // One by one: this thread's stash takes some (half the pool's size).
        for buf in held {
            drop(buf);
        }
        recycled_tx.send(()).unwrap();
        exit_rx.recv().unwrap();
    });
    recycled_rx.recv().unwrap();
    assert_eq!(
        pool.available_segments(),
        8,
        "stashed segments count as idle"
    );
    assert_eq!(pool.used_buffers(), 0);
    assert!(pool.is_available());
    drop(pool);
    drop(net);
    assert_eq!(
        common::network_used(&b),
        0,
        "nothing waits in the thread's stash"
    );
    exit_tx.send(()).unwrap();
    recycler.join().unwrap();
    assert_eq!(common::network_used(&b), 0);
}

#[test]
fn only_a_whole_unique_buffer_becomes_a_raw_token_and_comes_back_once() {
    let net = network(2);
    let pool = net.create_buffer_pool(2, 2).unwrap();
    let mut b = pool.request_buffer().unwrap().unwrap();
    b.append(b"abc");
    let shared = b.retain();
    let b = b.into_raw().expect_err("a shared buffer stays a buffer");
    drop(shared);
    let slice = b.read_only_slice(0, 2);
    let b = b.into_raw().expect_err("a sliced segment stays a buffer");
    let slice = slice
        .into_raw()
        .expect_err("a slice is not the whole segment");
    drop(slice);
    let segment = b.segment_index();
    let (token, bytes) = b.into_raw().expect("unique and whole");
    // SAFETY: the token's holder may write the whole segment (of more than 3 bytes).
    let fourth = unsafe { bytes.as_ptr().add(3) };
    // SAFETY: as above.
    unsafe { fourth.write(b'd') };
    assert_eq!(pool.used_buffers(), 1, "a token keeps the segment lent out");
    // Another thread turns it back; the buffer comes back whole and empty.
    struct Token(core::ptr::NonNull<()>);
    // SAFETY: a token stands for a `Buffer`, which is `Send`.
    unsafe impl Send for Token {}
    let token = Token(token);
    std::thread::spawn(move || {
        let token = token;
        // SAFETY: the token came from `into_raw` and is turned back once.
        let mut b = unsafe { membudget_bufferpool::Buffer::from_raw(token.0) };
        assert_eq!(b.segment_index(), segment);
        assert_eq!(
            (b.size(), b.reader_index(), b.capacity()),
            (0, 0, common::SEG)
        );
        assert_eq!(&b.as_mut_slice().unwrap()[..4], b"abcd", "the bytes stay");
    })
    .join()
    .unwrap();
    assert_eq!(pool.used_buffers(), 0, "dropping it recycled the segment");
    assert_eq!(pool.available_segments(), 2);
}
