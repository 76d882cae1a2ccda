//! A global allocator that counts allocations, for the tests that prove
//! a renderer allocates nothing after warm-up. Each such test is its own
//! binary (`tests/alloc.rs`, `tests/alloc_audio.rs`).
//!
//! Counts are per thread: the test harness's own thread allocates when a
//! test runs for over 60 s on a loaded machine (its "has been running"
//! notice), and that must not count against the renderer.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    // Const-initialised: reading it never allocates, so the allocator
    // may use it.
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // A thread being torn down has no counter left; nothing to count.
    let _ = COUNT.try_with(|c| c.set(c.get() + 1));
}

/// Allocations and reallocations made by the calling thread so far.
pub fn allocations() -> usize {
    COUNT.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;
