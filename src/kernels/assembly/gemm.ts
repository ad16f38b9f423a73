// The GEMM C = op(A)·op(B) (row-major float32), blocked as in BLIS/GotoBLAS: for each KC-deep
// slice, a KC×NC block of op(B) and an MC×KC block of op(A) are packed into micro-panels, then
// the MR×NR micro-kernel sweeps the block.
//
// Threads: `matmul` computes one rectangle of C, so threads take disjoint rectangles, each with
// its own workspace (src/engine/threads.ts).
//
// Determinism: every element of C is summed the same way whatever the rectangle: the k-slices
// start at 0 and step by KC, and within a slice the micro-kernel sums p in order in its own
// lane (edge tiles are zero-padded lanes, computed the same way). Splitting C into rectangles
// therefore gives bit-identical results for any number of threads.

import { microKernel } from './microkernel';
import { packA, packB } from './pack';
import { KC, MC, MR, NC, NR } from './params';

/**
 * Rows i0..i1 and columns j0..j1 of C(m×n) = op(A)·op(B), or C += op(A)·op(B) when
 * `accumulate`; the rest of C is not touched. op(A) is m×k (A stored k×m when transA), op(B) is
 * k×n (B stored n×k when transB). Arguments are byte offsets; `work` holds workBytes()
 * 16-byte aligned; C must not overlap A, B or work. Requires k ≥ 1 and 0 ≤ i0 ≤ i1 ≤ m,
 * 0 ≤ j0 ≤ j1 ≤ n.
 */
export function matmul(
  c: usize,
  a: usize,
  b: usize,
  work: usize,
  m: i32,
  n: i32,
  k: i32,
  transA: bool,
  transB: bool,
  accumulate: bool,
  i0: i32,
  i1: i32,
  j0: i32,
  j1: i32,
): void {
  const pa = work;
  const pb = pa + MC * KC * 4;
  const tile = pb + KC * NC * 4;
  const ldc = <usize>n << 2;
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc);
    // Later slices add onto what the earlier ones stored.
    const add = accumulate || pc > 0;
    for (let jc = j0; jc < j1; jc += NC) {
      const nc = min(NC, j1 - jc);
      packB(pb, b, n, k, pc, kc, jc, nc, transB);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        packA(pa, a, m, k, ic, mc, pc, kc, transA);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const bp = pb + ((<usize>jr * kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const ap = pa + ((<usize>ir * kc) << 2);
            const cp = c + <usize>(ic + ir) * ldc + (<usize>(jc + jr) << 2);
            if (mr == MR && nr == NR) {
              microKernel(ap, bp, kc, cp, ldc, add);
            } else {
              microKernel(ap, bp, kc, tile, NR * 4, false);
              storeEdge(tile, cp, ldc, mr, nr, add);
            }
          }
        }
      }
    }
  }
}

/** Copies (or adds) the valid mr×nr corner of the edge tile to C. */
function storeEdge(tile: usize, cp: usize, ldc: usize, mr: i32, nr: i32, add: bool): void {
  for (let r = 0; r < mr; r++) {
    const src = tile + <usize>r * NR * 4;
    const dst = cp + <usize>r * ldc;
    for (let j = 0; j < nr; j++) {
      const o = <usize>j << 2;
      const v = load<f32>(src + o);
      store<f32>(dst + o, add ? load<f32>(dst + o) + v : v);
    }
  }
}
