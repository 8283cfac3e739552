//! A counting global allocator: counts the allocations made, while a region
//! is open, by the thread that opened it and by the library's pool worker
//! threads (marked through `fieldkern::parallel::set_worker_start_hook`).
//! Other threads — the test harness reporting a finished test, other tests —
//! are not counted, so a zero count is exact and not flaky.
//!
//! Every test in a binary that counts allocations or changes the thread count
//! holds [`exclusive`] for its whole body (the pool and the counter are global).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

pub struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static EXCLUSIVE: Mutex<()> = Mutex::new(());

thread_local! {
    /// Whether this thread's allocations count (const-initialised, no
    /// destructor: safe to read inside the allocator).
    static COUNTED_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn counts_here() -> bool {
    COUNTING.load(Ordering::Relaxed) && COUNTED_THREAD.with(Cell::get)
}

fn mark_this_thread_counted() {
    COUNTED_THREAD.with(|c| c.set(true));
}

// SAFETY: forwards every call unchanged to the system allocator; the only
// addition is an atomic counter, which does not allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counts_here() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if counts_here() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counts_here() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Hold for the whole body of every test in a binary that counts allocations
/// or changes the library's thread count. The first call marks the library's
/// pool threads as counted (rebuilding the pool so every worker is marked).
pub fn exclusive() -> MutexGuard<'static, ()> {
    let guard = EXCLUSIVE.lock().unwrap_or_else(|p| p.into_inner());
    mark_pool_threads();
    guard
}

/// Makes every pool worker thread, present and future, a counted thread.
fn mark_pool_threads() {
    static MARK_POOL: Once = Once::new();
    MARK_POOL.call_once(|| {
        fieldkern::parallel::set_worker_start_hook(mark_this_thread_counted);
        fieldkern::parallel::set_num_threads(fieldkern::parallel::num_threads())
            .expect("rebuild the pool with marked workers");
    });
}

/// Runs `f` and returns its result with the number of heap allocations made
/// meanwhile by this thread and the library's pool threads. Call with
/// [`exclusive`] held.
pub fn count_allocations<R>(f: impl FnOnce() -> R) -> (R, u64) {
    mark_pool_threads();
    mark_this_thread_counted();
    ALLOCATIONS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let r = f();
    COUNTING.store(false, Ordering::SeqCst);
    (r, ALLOCATIONS.load(Ordering::SeqCst))
}
