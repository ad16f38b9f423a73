/** Argument checks shared by the matrix-product kernels (kernels.ts, kernels-wasm.ts). */

/** Checks shapes, lengths (arrays may be longer than needed) and aliasing; throws RangeError. */
export function checkMatmulArgs(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
): void {
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

function overlaps(x: Float32Array, xLen: number, y: Float32Array, yLen: number): boolean {
  if (x.buffer !== y.buffer || xLen === 0 || yLen === 0) return false;
  return x.byteOffset < y.byteOffset + yLen * 4 && y.byteOffset < x.byteOffset + xLen * 4;
}
