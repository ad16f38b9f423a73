/**
 * Elementwise kernels (src/kernels/assembly/elementwise.ts): fills and copies, bias adds with the
 * activation that follows them, the activations' adjoints, broadcast adds and column sums.
 */
import type { Data } from '../tensor.ts';
import { inout, input, kernel, output } from './spec.ts';

/** Activation codes the kernels take (src/kernels/assembly/activations.ts). */
export const ACTIVATION_CODES = { none: 0, relu: 1, quadratic: 2, gelu: 3 } as const;
export type KernelActivation = keyof typeof ACTIVATION_CODES;

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/** act(v) for each activation; gelu is the tanh approximation (GPT-2, TransformerLens' gelu_new). */
const ACTIVATIONS: Record<KernelActivation, (v: number) => number> = {
  none: (v) => v,
  relu: (v) => Math.max(v, 0),
  quadratic: (v) => v * v,
  gelu: (v) => 0.5 * v * (1 + Math.tanh(GELU_C * (v + GELU_A * v * v * v))),
};

/** g·act′(v): the gradient at an activation's input from the gradient g at its output. */
const ADJOINTS: Record<KernelActivation, (g: number, v: number) => number> = {
  none: (g) => g,
  relu: (g, v) => (v > 0 ? g : 0),
  quadratic: (g, v) => 2 * v * g,
  gelu: (g, v) => {
    const t = Math.tanh(GELU_C * (v + GELU_A * v * v * v));
    const dInner = GELU_C * (1 + 3 * GELU_A * v * v);
    return g * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * dInner);
  },
};

/** x[0..n) = value. */
function fill(x: Data, value: number): void {
  x.fill(value);
}

/** dst[i] = src[i] for i < dst.length. */
function copy(dst: Data, src: Data): void {
  for (let i = 0; i < dst.length; i++) dst[i] = src[i];
}

/** dst[i] += src[i] for i < dst.length. */
function accumulate(dst: Data, src: Data): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}

/**
 * On a rows×cols matrix `pre`: pre += bias on each row (if bias), then post = act(pre) (if post;
 * post may be pre). The epilogue of x·W + b and its activation.
 */
function biasAct(
  pre: Data,
  post: Data | null,
  bias: Data | null,
  rows: number,
  cols: number,
  activation: KernelActivation,
): void {
  const act = ACTIVATIONS[activation];
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    if (bias) for (let j = 0; j < cols; j++) pre[o + j] += bias[j];
    if (post) for (let j = o; j < o + cols; j++) post[j] = act(pre[j]);
  }
}

/**
 * gx = g·act′(x), or gx += g·act′(x) when accumulating, over gx.length elements; with `sums`, the
 * elements are `rows` rows and sums[j] += Σ_i (g·act′(x))[i, j] in row order (a bias gradient, as
 * colSums would add it up, in the same pass).
 */
function actBackward(
  gx: Data,
  g: Data,
  x: Data,
  activation: KernelActivation,
  accumulate: boolean,
  rows = 1,
  sums: Data | null = null,
): void {
  const adjoint = ADJOINTS[activation];
  const n = gx.length;
  const cols = rows === 0 ? 0 : n / rows;
  for (let i = 0; i < n; i++) {
    const d = adjoint(g[i], x[i]);
    gx[i] = accumulate ? gx[i] + d : d;
    if (sums) sums[i % cols] += d;
  }
}

/** out[i] = a[i] + b[i mod b.length] over out.length elements: b repeated along a's rows. */
function addRepeat(out: Data, a: Data, b: Data): void {
  const m = b.length;
  for (let i = 0; i < out.length; i += m) for (let j = 0; j < m; j++) out[i + j] = a[i + j] + b[j];
}

/** dst[j] = Σ_i src[i, j] of a rows×cols matrix (or dst[j] += … when accumulating), row by row in order. */
function colSums(dst: Data, src: Data, rows: number, cols: number, accumulate: boolean): void {
  if (!accumulate) dst.fill(0, 0, cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) dst[j] += src[o + j];
  }
}

export const elementwiseKernels = {
  fill: kernel({
    reference: fill,
    threads: 'none',
    wasm: (x, value) => ({ args: { dst: output(x), n: x.length, value } }),
  }),
  copy: kernel({
    reference: copy,
    threads: 'none',
    wasm: (dst, src) => ({ args: { dst: output(dst), src: input(src, dst.length), n: dst.length } }),
  }),
  accumulate: kernel({
    reference: accumulate,
    threads: 'none',
    wasm: (dst, src) => ({ args: { dst: inout(dst), src: input(src, dst.length), n: dst.length } }),
  }),
  biasAct: kernel({
    reference: biasAct,
    threads: 'ranges',
    wasm: (pre, post, bias, rows, cols, activation) => ({
      args: {
        // Without a bias, pre is only read.
        pre: bias ? inout(pre, rows * cols) : input(pre, rows * cols),
        post: output(post, rows * cols),
        bias: input(bias, cols),
        rows,
        cols,
        act: ACTIVATION_CODES[activation],
      },
      split: { over: rows, work: rows * cols },
    }),
  }),
  actBackward: kernel({
    reference: actBackward,
    threads: 'ranges',
    wasm: (gx, g, x, activation, accumulate, rows = 1, sums = null) => {
      const n = gx.length;
      const cols = rows === 0 ? 0 : n / rows;
      if (!Number.isInteger(cols)) throw new RangeError(`actBackward: ${n} elements are not ${rows} rows`);
      return {
        args: {
          gx: accumulate ? inout(gx) : output(gx),
          g: input(g, n),
          x: input(x, n),
          rows,
          cols,
          act: ACTIVATION_CODES[activation],
          accumulate,
          sums: inout(sums, cols),
        },
        // By columns: each column's sum then runs over all rows in order, as on one thread.
        split: { over: cols, work: n },
      };
    },
  }),
  addRepeat: kernel({
    reference: addRepeat,
    threads: 'ranges',
    wasm: (out, a, b) => {
      const n = out.length;
      const m = b.length;
      if (m === 0 ? n !== 0 : n % m !== 0) throw new RangeError(`addRepeat: ${n} is not a multiple of ${m}`);
      if (n === 0) return null;
      return {
        args: { out: output(out), a: input(a, n), b: input(b), n, m },
        split: { over: n / m, work: n },
      };
    },
  }),
  colSums: kernel({
    reference: colSums,
    threads: 'ranges',
    wasm: (dst, src, rows, cols, accumulate) => ({
      args: {
        dst: accumulate ? inout(dst, cols) : output(dst, cols),
        src: input(src, rows * cols),
        rows,
        cols,
        accumulate,
      },
      split: { over: cols, work: rows * cols },
    }),
  }),
};
