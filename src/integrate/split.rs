//! Splitting several particle arrays into the same segments for the
//! library's pool, safely and without allocating.
//!
//! Segment boundaries depend only on `n` and the requested segment length
//! (never on the thread count), so per-segment reductions summed in segment
//! order are bitwise identical for any number of threads.

use std::sync::Mutex;

use crate::parallel;

/// Most segments one call is split into (bounds the stack table below).
pub const MAX_SEGMENTS: usize = 128;

/// Small systems are still split into this many segments (of at least
/// [`MIN_SEGMENT_LEN`] items), so that every thread has work at N ~ 10^3.
pub const MIN_SEGMENTS: usize = 16;
/// Shortest segment (a multiple of every SIMD tile width used on segments).
pub const MIN_SEGMENT_LEN: usize = 64;

/// Segment length actually used for `n` items when `seg_len` is requested:
/// `seg_len`, shortened for small `n` to about `n / MIN_SEGMENTS` (a multiple
/// of 64, at least 64), and large enough that at most [`MAX_SEGMENTS`]
/// result. A function of `n` and `seg_len` only, never of the thread count.
pub fn segment_len(n: usize, seg_len: usize) -> usize {
    let small = n
        .div_ceil(MIN_SEGMENTS)
        .next_multiple_of(MIN_SEGMENT_LEN)
        .max(MIN_SEGMENT_LEN);
    seg_len.min(small).max(n.div_ceil(MAX_SEGMENTS)).max(1)
}

/// A segment task: `(segment, first_index, parts)`.
pub type SegmentTask<'a, T, const N: usize> = dyn Fn(usize, usize, [&mut [T]; N]) + Sync + 'a;

/// Splits each of `arrays` (length `n`, or empty = absent) at the same
/// segment boundaries and runs `task(segment, first_index, parts)` for every
/// segment on the library's pool. Absent arrays give empty parts.
pub fn for_each_segment<T: Send, const N: usize>(
    arrays: [&mut [T]; N],
    n: usize,
    seg_len: usize,
    task: &SegmentTask<'_, T, N>,
) {
    if n == 0 {
        return;
    }
    let seg = segment_len(n, seg_len);
    let n_seg = n.div_ceil(seg);
    let slots: [Mutex<Option<[&mut [T]; N]>>; MAX_SEGMENTS] =
        std::array::from_fn(|_| Mutex::new(None));
    let mut rest = arrays;
    for s in 0..n_seg {
        let len = seg.min(n - s * seg);
        let mut taken: [&mut [T]; N] = std::array::from_fn(|_| <&mut [T]>::default());
        for (a, slot) in rest.iter_mut().zip(taken.iter_mut()) {
            let whole = std::mem::take(a);
            if whole.is_empty() {
                continue;
            }
            let (head, tail) = whole.split_at_mut(len);
            *slot = head;
            *a = tail;
        }
        *slots[s].lock().unwrap_or_else(|p| p.into_inner()) = Some(taken);
    }
    rest.iter().for_each(|r| debug_assert!(r.is_empty()));
    parallel::run(n_seg, &|s| {
        let parts = slots[s]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .expect("each segment runs once");
        task(s, s * seg, parts);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_element_is_visited_once_with_its_global_index() {
        let n = 1000;
        let mut a = vec![0.0; n];
        let mut b = vec![0.0; n];
        let mut c: Vec<f64> = vec![];
        for_each_segment([&mut a, &mut b, &mut c], n, 7, &|_, first, [a, b, c]| {
            assert!(c.is_empty());
            for k in 0..a.len() {
                a[k] += (first + k) as f64;
                b[k] += 1.0;
            }
        });
        assert!(a.iter().enumerate().all(|(i, &v)| v == i as f64));
        assert!(b.iter().all(|&v| v == 1.0));
    }
}
