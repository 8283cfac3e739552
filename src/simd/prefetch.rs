//! Software prefetch for indirect accesses the hardware prefetchers cannot
//! predict (gathers through a permutation).

/// Asks the cache hierarchy to fetch the line holding `value` into L1.
/// A hint only: no effect on results, never faults.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: SSE (prefetcht0) is part of the x86-64 baseline, and a
        // prefetch of a valid reference neither reads nor faults observably.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = value;
    }
}
