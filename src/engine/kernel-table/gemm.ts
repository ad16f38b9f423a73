/** The matrix product (src/kernels/assembly/gemm.ts). */
import { checkMatmulArgs } from '../matmul-args.ts';
import type { Data } from '../tensor.ts';
import { inout, input, kernel, output, WORKSPACE } from './spec.ts';

/**
 * C = op(A)·op(B), or C += op(A)·op(B) when accumulate; row-major. op(A) is m×k (A is stored k×m
 * when transA), op(B) is k×n (B stored n×k when transB). a, b, c may be longer than needed (views
 * included); c must not alias a or b.
 */
function matmul(
  a: Data,
  b: Data,
  c: Data,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  if (!accumulate) c.fill(0, 0, m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = transA ? a[p * m + i] : a[i * k + p];
      if (av === 0) continue;
      const row = i * n;
      if (transB) for (let j = 0; j < n; j++) c[row + j] += av * b[j * k + p];
      else {
        const bRow = p * n;
        for (let j = 0; j < n; j++) c[row + j] += av * b[bRow + j];
      }
    }
  }
}

/** The first `length` elements of `x` (no new view when that is all of it). */
function prefix(x: Data, length: number): Data {
  return x.length === length ? x : x.subarray(0, length);
}

export const gemmKernels = {
  matmul: kernel({
    reference: matmul,
    threads: 'tiles',
    wasm: (a, b, c, m, n, k, transA, transB, accumulate) => {
      checkMatmulArgs(a, b, c, m, n, k);
      if (m === 0 || n === 0) return null;
      if (k === 0) {
        if (!accumulate) c.fill(0, 0, m * n);
        return null;
      }
      // Only the elements the product touches: the rest of a longer C keeps its values.
      const cm = prefix(c, m * n);
      return {
        args: {
          c: accumulate ? inout(cm) : output(cm),
          a: input(prefix(a, m * k)),
          b: input(prefix(b, k * n)),
          work: WORKSPACE,
          m,
          n,
          k,
          transA,
          transB,
          accumulate,
        },
        split: { rows: m, cols: n, flops: 2 * m * n * k },
      };
    },
  }),
};
