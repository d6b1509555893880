//! A global allocator that turns unbounded allocations into findings.
//!
//! libFuzzer's `-malloc_limit_mb` needs a sanitizer runtime, which stable Rust does not have, and
//! `-rss_limit_mb` only sees the whole process. This wrapper around the system allocator:
//! - aborts (libFuzzer saves the input as a crash) on any single allocation over `MAX_SINGLE`;
//! - tracks live bytes so a target can check the peak of one iteration with [`Peak`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// No single allocation of either target should come near this.
pub const MAX_SINGLE: usize = 64 * 1024 * 1024;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

pub struct Guard;

fn too_big(size: usize) -> ! {
    // No allocation here: we are inside the allocator.
    let msg = b"alloc_guard: single allocation over MAX_SINGLE (unbounded allocation)\n";
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
    }
    let _ = size;
    std::process::abort()
}

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(live, Relaxed);
}

unsafe impl GlobalAlloc for Guard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_SINGLE {
            too_big(layout.size());
        }
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_SINGLE {
            too_big(layout.size());
        }
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_SINGLE {
            too_big(new_size);
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

/// Measures the peak of live heap bytes above the level at `start`.
pub struct Peak {
    base: usize,
}

impl Peak {
    pub fn start() -> Peak {
        let base = LIVE.load(Relaxed);
        PEAK.store(base, Relaxed);
        Peak { base }
    }

    pub fn bytes(&self) -> usize {
        PEAK.load(Relaxed).saturating_sub(self.base)
    }
}
