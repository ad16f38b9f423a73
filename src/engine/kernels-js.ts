/**
 * The pure TypeScript kernels (`js`): the matrix product only, in float32 loops tuned for V8; their
 * `arrays` is null, so the ops run the kernel table's references for everything else. Always
 * available; a fallback where WebAssembly SIMD is not.
 */
import type { Kernels } from './kernels.ts';
import { checkMatmulArgs } from './matmul-args.ts';

class JsKernels implements Kernels {
  readonly name = 'js';
  readonly threads = 1;
  readonly arrays = null;
  /** op(B) as a k×n row-major copy when B is transposed; grown, never shrunk. */
  private scratch = new Float32Array(0);

  matmul(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
  ): void {
    checkMatmulArgs(a, b, c, m, n, k);
    if (!accumulate) c.fill(0, 0, m * n);
    if (m === 0 || n === 0 || k === 0) return;
    const bk = transB ? this.transposed(b, n, k) : b;
    // i-k-j order: inner loops run along rows of op(B) and C. Two rows of C and four steps of
    // k at a time: each loaded B value is used twice, each C value stored a quarter as often.
    const aStep = transA ? m : 1; // from one value of a row of op(A) to the next
    const aRow = transA ? 1 : k; // from one row of op(A) to the next
    const k4 = k - (k % 4);
    let i = 0;
    for (; i + 2 <= m; i += 2) {
      const x = i * aRow;
      const y = x + aRow;
      let p = 0;
      for (; p < k4; p += 4) {
        const px = x + p * aStep;
        const py = y + p * aStep;
        axpy2x4(c, i * n, bk, p * n, n, a, px, py, aStep);
      }
      for (; p < k; p++) {
        axpy1(c, i * n, bk, p * n, n, a[x + p * aStep]);
        axpy1(c, (i + 1) * n, bk, p * n, n, a[y + p * aStep]);
      }
    }
    if (i < m) {
      const x = i * aRow;
      for (let p = 0; p < k; p++) axpy1(c, i * n, bk, p * n, n, a[x + p * aStep]);
    }
  }

  /** B stored n×k, returned as op(B) k×n in the reused scratch buffer. */
  private transposed(b: Float32Array, n: number, k: number): Float32Array {
    if (this.scratch.length < n * k) this.scratch = new Float32Array(n * k);
    const t = this.scratch;
    for (let j = 0; j < n; j++) {
      const bj = j * k;
      for (let p = 0; p < k; p++) t[p * n + j] = b[bj + p];
    }
    return t;
  }
}

/**
 * Rows c0 and c0+n of C += A values · four consecutive rows of B (from b0, n apart). The A
 * values of the two rows start at a[px] and a[py], `step` apart.
 */
function axpy2x4(
  c: Float32Array,
  c0: number,
  b: Float32Array,
  b0: number,
  n: number,
  a: Float32Array,
  px: number,
  py: number,
  step: number,
): void {
  const x0 = a[px];
  const x1 = a[px + step];
  const x2 = a[px + 2 * step];
  const x3 = a[px + 3 * step];
  const y0 = a[py];
  const y1 = a[py + step];
  const y2 = a[py + 2 * step];
  const y3 = a[py + 3 * step];
  const b1 = b0 + n;
  const b2 = b1 + n;
  const b3 = b2 + n;
  const c1 = c0 + n;
  for (let j = 0; j < n; j++) {
    const u0 = b[b0 + j];
    const u1 = b[b1 + j];
    const u2 = b[b2 + j];
    const u3 = b[b3 + j];
    c[c0 + j] += x0 * u0 + x1 * u1 + x2 * u2 + x3 * u3;
    c[c1 + j] += y0 * u0 + y1 * u1 + y2 * u2 + y3 * u3;
  }
}

/** Row c0 of C += a0 · row b0 of B. */
function axpy1(c: Float32Array, c0: number, b: Float32Array, b0: number, n: number, a0: number): void {
  for (let j = 0; j < n; j++) c[c0 + j] += a0 * b[b0 + j];
}

/** Pure TypeScript kernels, always available. */
export function jsKernels(): Kernels {
  return new JsKernels();
}
