import { getKernels } from '../kernel-selection.ts';
import { KERNELS, type Loops } from '../kernel-table/index.ts';
import { allocateFor, allocateOutput, assertSameDtype, type Data, opResult, type Tensor } from '../tensor.ts';
import { loopsFor } from './arrays.ts';
import type { Activation } from './elementwise.ts';

export interface MatmulOptions {
  /** Use Aᵀ: A is stored k×m. */
  transA?: boolean;
  /** Use Bᵀ: B is stored n×k. */
  transB?: boolean;
}

/** C = op(A)·op(B) for 2-D tensors; float32 runs on the WebAssembly kernel, float64 in TypeScript. */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const dtype = assertSameDtype('matmul', a, b);
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  if (a.shape.length !== 2 || b.shape.length !== 2) {
    throw new Error(`matmul needs 2-D tensors, got [${a.shape}] and [${b.shape}]`);
  }
  const [m, k] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [kb, n] = transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (k !== kb) throw new Error(`matmul: inner sizes differ (${k} vs ${kb}) for [${a.shape}]·[${b.shape}]`);
  const out = allocateOutput(dtype, m * n);
  gemm(a.data, b.data, out, m, n, k, transA, transB, false);
  return opResult(out, [m, n], [a, b], (dC) => productBackward(a, b, dC, m, n, k, transA, transB));
}

/**
 * x·W + bias for x [N, K], W [K, M], bias [M], then `activation` if given: the bias (and the
 * activation) are applied to the product's own buffer in one pass, and the bias gradient is the
 * column sums of the (pre-activation) output gradient, so no separate ops and buffers are needed.
 */
export function linear(x: Tensor, w: Tensor, bias: Tensor, activation?: Activation): Tensor {
  const dtype = assertSameDtype('linear', x, w, bias);
  if (x.shape.length !== 2 || w.shape.length !== 2 || x.shape[1] !== w.shape[0] || bias.size !== w.shape[1]) {
    throw new Error(`linear: shapes [${x.shape}]·[${w.shape}] + [${bias.shape}] do not match`);
  }
  const [m, k] = x.shape;
  const n = w.shape[1];
  const loops = loopsFor(x.data, w.data, bias.data);
  const pre = allocateOutput(dtype, m * n);
  gemm(x.data, w.data, pre, m, n, k, false, false, false);
  if (activation === undefined) {
    loops.biasAct(pre, null, bias.data, m, n, 'none');
    return opResult(pre, [m, n], [x, w, bias], (dC) => {
      if (bias.requiresGrad) colSumsInto(bias, dC, m, n, loops);
      productBackward(x, w, dC, m, n, k, false, false);
    });
  }
  const post = allocateOutput(dtype, m * n);
  loops.biasAct(pre, post, bias.data, m, n, activation);
  const result = opResult(post, [m, n], [x, w, bias], (g) => {
    // The gradient at the pre-activation: its own buffer, next to the output's gradient.
    const dPre = allocateFor(result, m * n);
    // The bias gradient (column sums of dPre) in the same pass.
    const sums = bias.requiresGrad ? bias.gradBuffer() : null;
    loops.actBackward(dPre, g, pre, activation, false, m, sums);
    productBackward(x, w, dPre, m, n, k, false, false);
  });
  return result;
}

/** bias.grad (+)= column sums of the m×n gradient g. */
function colSumsInto(bias: Tensor, g: Data, m: number, n: number, loops: Loops): void {
  const fresh = bias.grad === null;
  loops.colSums(bias.gradBuffer(false), g, m, n, !fresh);
}

/** Gradients of C = op(A)·op(B) into A's and B's gradient buffers. */
function productBackward(
  a: Tensor,
  b: Tensor,
  dC: Data,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
): void {
  // A gradient not yet allocated is written by the product rather than zeroed and added to.
  if (a.requiresGrad) {
    const add = a.grad !== null;
    if (!transA) gemm(dC, b.data, a.gradBuffer(false), m, k, n, false, !transB, add);
    else gemm(b.data, dC, a.gradBuffer(false), k, m, n, transB, true, add);
  }
  if (b.requiresGrad) {
    const add = b.grad !== null;
    if (!transB) gemm(a.data, dC, b.gradBuffer(false), k, n, m, !transA, false, add);
    else gemm(dC, a.data, b.gradBuffer(false), n, k, m, true, transA, add);
  }
}

let flopsDone = 0;

/** Floating-point operations (2·m·n·k per product) done by gemm since the process started: for benchmarks. */
export function matmulFlops(): number {
  return flopsDone;
}

/** The float64 product: the matrix-product kernel's reference. */
const gemmReference = KERNELS.matmul.reference;

/** General matrix product on raw arrays, same contract as `Kernels.matmul`. */
export function gemm(
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
  flopsDone += 2 * m * n * k;
  if (a instanceof Float32Array && b instanceof Float32Array && c instanceof Float32Array) {
    getKernels().matmul(a, b, c, m, n, k, transA, transB, accumulate);
    return;
  }
  gemmReference(a, b, c, m, n, k, transA, transB, accumulate);
}
