/**
 * How the kernels' work is cut into chunks for threads (threads.ts, kernels-wasm.ts): ranges of
 * rows, columns or sequences, and tiles of a product's output. Browser-safe.
 */

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

/**
 * Cuts the m×n output of a product into tiles for `threads` threads: [i0, i1, j0, j1] per tile,
 * flattened. Bands of rows when m ≥ n (on multiples of MR), else of columns (multiples of NR):
 * each tile packs its own blocks of op(B), resp. op(A), so cutting the larger side of C repeats
 * the smaller amount of packing.
 */
export function planChunks(m: number, n: number, threads: number): number[] {
  const byRows = m >= n;
  const size = byRows ? m : n;
  const unit = byRows ? MR : NR;
  const count = Math.max(
    1,
    Math.min(threads * TILES_PER_THREAD, MAX_CHUNKS, Math.floor(size / (byRows ? MIN_ROWS : MIN_COLS))),
  );
  const out: number[] = [];
  let start = 0;
  for (let q = 1; q <= count; q++) {
    const end = q === count ? size : Math.round((q * size) / count / unit) * unit;
    if (end <= start) continue;
    if (byRows) out.push(start, end, 0, n);
    else out.push(0, m, start, end);
    start = end;
  }
  return out;
}

/** Tiles per thread: several, so that a slowed thread leaves its share to the others. */
const TILES_PER_THREAD = 4;
// Micro-tile of the wasm kernel (src/kernels/assembly/params.ts): tiles are cut on multiples.
const MR = 4;
const NR = 8;
/** Smallest tile: packing cost is repeated per tile, so tiles must not be thin. */
const MIN_ROWS = 32;
const MIN_COLS = 64;
