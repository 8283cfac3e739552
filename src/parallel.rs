//! The library's own fork-join thread pool.
//!
//! Kernels split their work into tasks whose boundaries depend only on the
//! problem (never on the thread count) and call [`run`]; every task writes its
//! own slice of the output, so results are bitwise identical for any number of
//! threads.
//!
//! Why not rayon's `ThreadPool`: entering a rayon pool from a thread outside it
//! (`install`, `scope`, `broadcast`) allocates — the injector queue allocates a
//! block every 63 injected jobs and `broadcast` collects a `Vec` — which would
//! break the ABI promise that step/sweep/fill calls never allocate. This pool
//! publishes one job per call through a mutex-protected slot and hands out task
//! indices from per-thread ranges: no heap allocation after the pool exists.
//!
//! * One thread means no worker threads are started: tasks run on the caller.
//! * The calling thread always works too, so `n` threads = caller + `n - 1`
//!   workers.
//! * Waits spin before they sleep, on both sides: idle workers poll for the
//!   next job and the caller polls for the workers' completion, so an
//!   integrator called every step pays no futex sleep and wake-up per
//!   parallel region (on the 2-core machine this took WCA at N = 1000 on 2
//!   threads from about 105-120 to 92-96 ns per particle-step).
//! * Tasks are split into one contiguous share per thread, in thread order;
//!   a thread runs its own share first and then steals from the back of the
//!   others'. The same thread thus runs the same tasks in every region of a
//!   step (its data stays in that core's caches), and a late or descheduled
//!   thread is still covered. Against one shared counter this took WCA at
//!   N = 1000 on 2 threads from 84-95 to 54-71 ns per particle-step.
//! * If the pool is already running a job (another host thread, or a callback
//!   that re-enters the library), the call runs its tasks serially on its own
//!   thread instead of waiting: same results, no deadlock.
//! * A panic in any task is re-raised on the caller after all tasks finished,
//!   so the FFI boundary turns it into `FK_ERR_INTERNAL`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, TryLockError};
use std::thread::JoinHandle;

use crate::error::{Error, ErrorKind, Result};

/// Largest thread count `set_num_threads` accepts.
pub const MAX_THREADS: usize = 4096;

/// Environment variable read when the pool is first used.
pub const NUM_THREADS_ENV: &str = "FK_NUM_THREADS";

/// How long (in spin iterations) an idle worker polls for the next job before
/// sleeping; keeps per-step latency low for integrators called every step.
const SPIN_ITERATIONS: u32 = 4000;

type Task<'a> = dyn Fn(usize) + Sync + 'a;

/// A published job: a task function borrowed for the duration of one `run`.
#[derive(Clone, Copy)]
struct JobPtr(*const Task<'static>);

// SAFETY: the pointee is `Sync`, and `Pool::run` keeps it alive until every
// worker has reported completion of the epoch that published it.
unsafe impl Send for JobPtr {}

struct Slot {
    job: Option<JobPtr>,
    epoch: u64,
    shutdown: bool,
    /// Workers that have finished starting (thread-runtime set-up included).
    started: usize,
}

struct Shared {
    slot: Mutex<Slot>,
    wake: Condvar,
    done: Condvar,
    epoch: AtomicU64,
    /// Workers still working on the current job; the caller spins on it
    /// before sleeping, and the worker that brings it to zero wakes the
    /// caller through `done` (taking the `slot` lock first, so the wake-up
    /// cannot slip in between the caller's check and its wait).
    running: AtomicUsize,
    /// Per thread (the caller is 0), the tasks it still owns in this job.
    ranges: Box<[TaskRange]>,
    worker_panicked: AtomicBool,
}

/// A thread's share of a job's tasks, `[front, back)` packed as
/// `front | back << 32`: the owner takes from the front, thieves from the
/// back, both by compare-and-swap. One cache line each, so owners do not
/// contend.
#[repr(align(64))]
struct TaskRange(AtomicU64);

impl TaskRange {
    fn set(&self, front: usize, back: usize) {
        self.0
            .store(front as u64 | (back as u64) << 32, Ordering::Relaxed);
    }

    /// Takes one task from the front (`steal = false`) or the back.
    fn take(&self, steal: bool) -> Option<usize> {
        let mut w = self.0.load(Ordering::Relaxed);
        loop {
            let (front, back) = (w & 0xFFFF_FFFF, w >> 32);
            if front >= back {
                return None;
            }
            let (next, t) = if steal {
                (front | (back - 1) << 32, back - 1)
            } else {
                ((front + 1) | back << 32, front)
            };
            match self
                .0
                .compare_exchange_weak(w, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Some(t as usize),
                Err(now) => w = now,
            }
        }
    }
}

/// A fixed set of worker threads plus the calling thread.
pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    dispatch: Mutex<()>,
}

/// Runs tasks for thread `me`: first its own contiguous share, in order,
/// then (once that is done) tasks stolen from the back of the others'
/// shares. Without stealing, the same thread runs the same tasks in every
/// job of the same size, so data a step touched stays in that core's caches
/// for the next parallel region (dynamic claiming moved it between cores:
/// at N = 10^3 on 2 threads that made the force scatter 3x slower than on
/// one). Stealing keeps the balance when a thread is late or descheduled.
fn claim_tasks(task: &Task<'_>, ranges: &[TaskRange], me: usize) {
    while let Some(t) = ranges[me].take(false) {
        task(t);
    }
    let n = ranges.len();
    for k in 1..n {
        let victim = &ranges[(me + k) % n];
        while let Some(t) = victim.take(true) {
            task(t);
        }
    }
}

/// A function every worker thread runs once when it starts (before it takes
/// jobs). For test instrumentation (allocation counting marks pool threads);
/// set it before the pool is (re)built.
#[doc(hidden)]
pub fn set_worker_start_hook(hook: fn()) {
    WORKER_START_HOOK.store(hook as *mut (), Ordering::Release);
}

static WORKER_START_HOOK: std::sync::atomic::AtomicPtr<()> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

fn run_worker_start_hook() {
    let hook = WORKER_START_HOOK.load(Ordering::Acquire);
    if !hook.is_null() {
        // SAFETY: the only non-NULL value ever stored is a `fn()` pointer
        // (`set_worker_start_hook`), and fn pointers round-trip through `*mut ()`.
        let hook: fn() = unsafe { std::mem::transmute::<*mut (), fn()>(hook) };
        hook();
    }
}

fn worker_loop(shared: &Shared, me: usize) {
    run_worker_start_hook();
    {
        let mut slot = shared.slot.lock().unwrap_or_else(|p| p.into_inner());
        slot.started += 1;
        shared.done.notify_all();
    }
    let mut seen = 0u64;
    loop {
        for _ in 0..SPIN_ITERATIONS {
            if shared.epoch.load(Ordering::Acquire) != seen {
                break;
            }
            std::hint::spin_loop();
        }
        let job = {
            let mut slot = shared.slot.lock().unwrap_or_else(|p| p.into_inner());
            while slot.epoch == seen && !slot.shutdown {
                slot = shared.wake.wait(slot).unwrap_or_else(|p| p.into_inner());
            }
            if slot.shutdown {
                return;
            }
            seen = slot.epoch;
            slot.job
        };
        if let Some(JobPtr(task)) = job {
            // SAFETY: `run` published this pointer for epoch `seen` and does not
            // return (so the closure stays alive) until `running` reaches zero,
            // which needs this worker's decrement below.
            let task = unsafe { &*task };
            let result = catch_unwind(AssertUnwindSafe(|| claim_tasks(task, &shared.ranges, me)));
            if result.is_err() {
                shared.worker_panicked.store(true, Ordering::Relaxed);
            }
        }
        if shared.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _slot = shared.slot.lock().unwrap_or_else(|p| p.into_inner());
            shared.done.notify_all();
        }
    }
}

impl Pool {
    /// A pool of `threads` threads in total (the caller counts as one).
    pub fn new(threads: usize) -> Result<Pool> {
        if threads == 0 || threads > MAX_THREADS {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("threads = {threads}: must be in 1..={MAX_THREADS}"),
            ));
        }
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot {
                job: None,
                epoch: 0,
                shutdown: false,
                started: 0,
            }),
            wake: Condvar::new(),
            done: Condvar::new(),
            epoch: AtomicU64::new(0),
            running: AtomicUsize::new(0),
            ranges: (0..threads).map(|_| TaskRange(AtomicU64::new(0))).collect(),
            worker_panicked: AtomicBool::new(false),
        });
        let mut workers = Vec::with_capacity(threads - 1);
        for i in 1..threads {
            let s = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name(format!("fieldkern-{i}"))
                .spawn(move || worker_loop(&s, i))
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Threads,
                        format!("cannot start worker thread {i}: {e}"),
                    )
                });
            match handle {
                Ok(h) => workers.push(h),
                Err(e) => {
                    // Stop the workers already started before reporting.
                    drop(Pool {
                        shared,
                        workers,
                        dispatch: Mutex::new(()),
                    });
                    return Err(e);
                }
            }
        }
        Ok(Pool {
            shared,
            workers,
            dispatch: Mutex::new(()),
        })
    }

    /// Total threads, the caller included.
    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Runs `task(t)` for every `t` in `0..n_tasks`, spread over the pool.
    /// Returns when all tasks are done. Allocates nothing.
    pub fn run(&self, n_tasks: usize, task: &(dyn Fn(usize) + Sync)) {
        // Task ranges hold 32-bit indices; more tasks than that never occur
        // in practice and would run serially.
        if self.workers.is_empty() || n_tasks <= 1 || n_tasks > u32::MAX as usize {
            (0..n_tasks).for_each(task);
            return;
        }
        let _dispatch = match self.dispatch.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                (0..n_tasks).for_each(task);
                return;
            }
        };
        let shared = &*self.shared;
        // SAFETY: only the lifetime is erased. The pointer is cleared below and
        // this function does not return before every worker has finished the
        // epoch that uses it (`running` back to zero), so it never outlives `task`.
        let job = JobPtr(unsafe {
            std::mem::transmute::<*const Task<'_>, *const Task<'static>>(task as *const Task<'_>)
        });
        {
            let mut slot = shared.slot.lock().unwrap_or_else(|p| p.into_inner());
            slot.job = Some(job);
            shared.running.store(self.workers.len(), Ordering::Relaxed);
            slot.epoch += 1;
            let threads = shared.ranges.len();
            for (t, r) in shared.ranges.iter().enumerate() {
                r.set(n_tasks * t / threads, n_tasks * (t + 1) / threads);
            }
            shared.epoch.store(slot.epoch, Ordering::Release);
        }
        shared.wake.notify_all();
        let caller_result = catch_unwind(AssertUnwindSafe(|| claim_tasks(task, &shared.ranges, 0)));
        // Wait for the workers: spin first (a kernel called every step
        // should not pay a sleep and a wake-up per parallel region), then
        // sleep.
        for _ in 0..SPIN_ITERATIONS {
            if shared.running.load(Ordering::Acquire) == 0 {
                break;
            }
            std::hint::spin_loop();
        }
        {
            let mut slot = shared.slot.lock().unwrap_or_else(|p| p.into_inner());
            while shared.running.load(Ordering::Acquire) > 0 {
                slot = shared.done.wait(slot).unwrap_or_else(|p| p.into_inner());
            }
            slot.job = None;
        }
        let worker_panicked = shared.worker_panicked.swap(false, Ordering::Relaxed);
        if let Err(payload) = caller_result {
            std::panic::resume_unwind(payload);
        }
        if worker_panicked {
            panic!("a fieldkern worker thread panicked while running a kernel");
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        {
            let mut slot = self.shared.slot.lock().unwrap_or_else(|p| p.into_inner());
            slot.shutdown = true;
            self.shared.epoch.store(u64::MAX, Ordering::Release);
        }
        self.shared.wake.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

static LIBRARY_POOL: RwLock<Option<Arc<Pool>>> = RwLock::new(None);

/// Thread count used when neither `set_num_threads` nor `FK_NUM_THREADS` says
/// otherwise: the CPUs this process may run on.
fn default_threads() -> usize {
    let from_env = std::env::var(NUM_THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| (1..=MAX_THREADS).contains(&n));
    from_env.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The library's pool, created on first use with the default thread count.
pub fn library_pool() -> Arc<Pool> {
    if let Some(pool) = LIBRARY_POOL
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
    {
        return Arc::clone(pool);
    }
    let mut guard = LIBRARY_POOL.write().unwrap_or_else(|p| p.into_inner());
    if let Some(pool) = guard.as_ref() {
        return Arc::clone(pool);
    }
    let pool = Pool::new(default_threads()).unwrap_or_else(|_| {
        Pool::new(1).expect("a one-thread pool starts no threads and cannot fail")
    });
    let pool = Arc::new(pool);
    *guard = Some(Arc::clone(&pool));
    pool
}

/// Replaces the library's pool with one of `threads` threads. Kernels already
/// running finish on the old pool, whose threads then exit.
pub fn set_num_threads(threads: usize) -> Result<()> {
    let pool = Arc::new(Pool::new(threads)?);
    let old = LIBRARY_POOL
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .replace(pool);
    drop(old);
    Ok(())
}

/// Threads the library's pool has (creating it if needed).
pub fn num_threads() -> usize {
    library_pool().threads()
}

/// Runs `task(t)` for `t` in `0..n_tasks` on the library's pool.
pub fn run(n_tasks: usize, task: &(dyn Fn(usize) + Sync)) {
    library_pool().run(n_tasks, task);
}

/// A raw slice base shared by the tasks of one `for_each_chunk_mut` call.
struct SliceBase<T>(*mut T);

impl<T> Clone for SliceBase<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SliceBase<T> {}

impl<T> SliceBase<T> {
    /// Taking `self` whole makes closures capture the `Sync` wrapper, not the
    /// raw pointer field.
    fn ptr(self) -> *mut T {
        self.0
    }
}

// SAFETY: each task derives a disjoint sub-slice from the base (see
// `for_each_chunk_mut`), so sending the base to other threads is sound for
// `T: Send`.
unsafe impl<T: Send> Send for SliceBase<T> {}
// SAFETY: as above; the base itself is never dereferenced without a task index.
unsafe impl<T: Send> Sync for SliceBase<T> {}

/// Splits `data` into consecutive chunks of `chunk_len` elements (the last may
/// be shorter) and calls `task(chunk_index, chunk)` for each on the library's
/// pool. Chunk boundaries depend only on `chunk_len`, never on thread count.
pub fn for_each_chunk_mut<T: Send>(
    data: &mut [T],
    chunk_len: usize,
    task: &(dyn Fn(usize, &mut [T]) + Sync),
) {
    assert!(chunk_len > 0, "chunk_len must be positive");
    let len = data.len();
    let n_chunks = len.div_ceil(chunk_len);
    let base = SliceBase(data.as_mut_ptr());
    run(n_chunks, &|c| {
        let start = c * chunk_len;
        let end = (start + chunk_len).min(len);
        // SAFETY: `c < n_chunks`, so `start..end` lies inside `data`; chunks of
        // distinct `c` are disjoint and each index `c` is run exactly once, so
        // no two live `&mut` overlap; `data` is borrowed mutably for the whole
        // call, which returns only after every task finished.
        let chunk = unsafe { std::slice::from_raw_parts_mut(base.ptr().add(start), end - start) };
        task(c, chunk);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_runs_exactly_once_for_any_thread_count() {
        for threads in [1, 2, 3, 8] {
            let pool = Pool::new(threads).unwrap();
            let hits: Vec<AtomicUsize> = (0..1000).map(|_| AtomicUsize::new(0)).collect();
            for _ in 0..20 {
                pool.run(hits.len(), &|t| {
                    hits[t].fetch_add(1, Ordering::Relaxed);
                });
            }
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 20));
        }
    }

    #[test]
    fn task_panic_reaches_the_caller_and_pool_survives() {
        let pool = Pool::new(2).unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| {
            pool.run(64, &|t| {
                if t == 63 {
                    panic!("boom");
                }
            })
        }));
        assert!(r.is_err());
        let count = AtomicUsize::new(0);
        pool.run(64, &|_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(count.load(Ordering::Relaxed), 64);
    }

    #[test]
    fn caller_waits_for_a_worker_slower_than_the_spin() {
        // Worker tasks outlast the caller's spin, so the caller must fall
        // back to sleeping and be woken by the last worker; every run must
        // still see all of its tasks done when it returns. On a loaded
        // machine the caller could claim every task before a worker wakes,
        // so a caller task holds on (up to a generous bound) until a worker
        // of this run has claimed one.
        let pool = Pool::new(3).unwrap();
        let slow_runs = AtomicUsize::new(0);
        for _ in 0..20 {
            let done = AtomicUsize::new(0);
            let worker_claimed = AtomicBool::new(false);
            pool.run(6, &|_| {
                let on_worker = std::thread::current()
                    .name()
                    .is_some_and(|n| n.starts_with("fieldkern-"));
                if on_worker {
                    worker_claimed.store(true, Ordering::Release);
                    slow_runs.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(std::time::Duration::from_millis(3));
                } else {
                    let start = std::time::Instant::now();
                    while !worker_claimed.load(Ordering::Acquire)
                        && start.elapsed() < std::time::Duration::from_secs(10)
                    {
                        std::thread::yield_now();
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(done.load(Ordering::Relaxed), 6);
        }
        assert!(
            slow_runs.load(Ordering::Relaxed) >= 20,
            "workers took {} tasks in 20 runs",
            slow_runs.load(Ordering::Relaxed)
        );
    }

    #[test]
    fn a_stalled_thread_has_its_share_stolen() {
        // Two threads, eight tasks: the caller owns 0..4, the worker 4..8.
        // The caller stalls in task 0 until 1..4 are done, which only a
        // worker stealing from the back of the caller's share can do.
        let pool = Pool::new(2).unwrap();
        for _ in 0..10 {
            let done: Vec<AtomicBool> = (0..8).map(|_| AtomicBool::new(false)).collect();
            let stolen = AtomicUsize::new(0);
            pool.run(8, &|t| {
                let on_worker = std::thread::current()
                    .name()
                    .is_some_and(|n| n.starts_with("fieldkern-"));
                if t == 0 {
                    let start = std::time::Instant::now();
                    while !(1..4).all(|k| done[k].load(Ordering::Acquire))
                        && start.elapsed() < std::time::Duration::from_secs(10)
                    {
                        std::thread::yield_now();
                    }
                } else if t < 4 && on_worker {
                    stolen.fetch_add(1, Ordering::Relaxed);
                }
                done[t].store(true, Ordering::Release);
            });
            assert!(done.iter().all(|d| d.load(Ordering::Relaxed)));
            assert_eq!(stolen.load(Ordering::Relaxed), 3);
        }
    }

    #[test]
    fn zero_threads_is_rejected() {
        assert_eq!(Pool::new(0).err().unwrap().kind, ErrorKind::OutOfRange);
    }
}
