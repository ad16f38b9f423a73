/** Argument checks shared by the matrix-product kernels (kernels-js.ts, kernel-table/gemm.ts). */
import type { Data } from './tensor.ts';

/** Checks shapes, lengths (arrays may be longer than needed) and aliasing; throws RangeError. */
export function checkMatmulArgs(a: Data, b: Data, c: Data, m: number, n: number, k: number): void {
  for (const [name, v] of [
    ['m', m],
    ['n', n],
    ['k', k],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(`matmul: ${name} must be a non-negative integer, got ${v}`);
    }
  }
  if (a.length < m * k) throw new RangeError(`matmul: a has ${a.length} elements, needs ${m * k}`);
  if (b.length < k * n) throw new RangeError(`matmul: b has ${b.length} elements, needs ${k * n}`);
  if (c.length < m * n) throw new RangeError(`matmul: c has ${c.length} elements, needs ${m * n}`);
  if (overlaps(c, m * n, a, m * k) || overlaps(c, m * n, b, k * n)) {
    throw new RangeError('matmul: c must not alias a or b');
  }
}

function overlaps(x: Data, xLen: number, y: Data, yLen: number): boolean {
  if (x.buffer !== y.buffer || xLen === 0 || yLen === 0) return false;
  const [xEnd, yEnd] = [x.byteOffset + xLen * x.BYTES_PER_ELEMENT, y.byteOffset + yLen * y.BYTES_PER_ELEMENT];
  return x.byteOffset < yEnd && y.byteOffset < xEnd;
}
