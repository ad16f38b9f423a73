/** How the kernels split work between threads (threads.ts, kernels-wasm.ts). Browser-safe. */

/** Most chunks one job is cut into (the pool's chunk table has room for this many). */
export const MAX_CHUNKS = 64;

/**
 * Cuts `total` units of work (rows, columns, sequences) into ranges for `threads` threads:
 * [start, end] per range, flattened; one range when the work is too small to share.
 */
export function planRanges(total: number, threads: number, work: number): number[] {
  const count = Math.max(
    1,
    Math.min(threads * RANGES_PER_THREAD, MAX_CHUNKS, total, Math.floor(work / MIN_RANGE_WORK)),
  );
  const out: number[] = [];
  let start = 0;
  for (let q = 1; q <= count; q++) {
    const end = Math.round((q * total) / count);
    if (end > start) out.push(start, end);
    start = end;
  }
  return out;
}

/** Ranges per thread: two, so that a thread slowed by other work leaves some to the other. */
const RANGES_PER_THREAD = 2;
/**
 * Least work (elements touched) per range: waking a worker and sharing a pass over memory pays
 * off from a few hundred thousand elements (a pass over 64K floats takes ~20 µs).
 */
const MIN_RANGE_WORK = 1 << 16;
