import type { ArrayKernels } from '../kernels.ts';
import {
  allocate,
  allocateOutput,
  assertSameDtype,
  type Data,
  opResult,
  sizeOf,
  type Tensor,
} from '../tensor.ts';
import { arrayKernels } from './arrays.ts';

/**
 * Broadcasting binary ops (NumPy rules). The common cases, equal shapes and a trailing-shape
 * operand such as a bias or a positional embedding, avoid index bookkeeping.
 */
interface Broadcast {
  shape: number[];
  /** For each output element, the element of a and of b it reads. Null when that side is contiguous. */
  aIndex: Int32Array | null;
  bIndex: Int32Array | null;
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`cannot broadcast [${a}] with [${b}]`);
    shape.push(Math.max(da, db));
  }
  return shape;
}

function indexMap(from: readonly number[], to: readonly number[]): Int32Array | null {
  const size = sizeOf(to);
  const fromSize = sizeOf(from);
  if (fromSize === size) return null;
  // Strides of `from` aligned to `to`, zero where `from` is broadcast.
  const rank = to.length;
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let i = rank - 1; i >= 0; i--) {
    const d = from[from.length - rank + i] ?? 1;
    strides[i] = d === 1 ? 0 : stride;
    stride *= d;
  }
  const map = new Int32Array(size);
  const counter = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let flat = 0; flat < size; flat++) {
    map[flat] = offset;
    for (let ax = rank - 1; ax >= 0; ax--) {
      counter[ax]++;
      offset += strides[ax];
      if (counter[ax] < to[ax]) break;
      offset -= strides[ax] * counter[ax];
      counter[ax] = 0;
    }
  }
  return map;
}

function plan(a: Tensor, b: Tensor): Broadcast {
  const shape = broadcastShape(a.shape, b.shape);
  return { shape, aIndex: indexMap(a.shape, shape), bIndex: indexMap(b.shape, shape) };
}

/** Adds `values[i]` into `target[index[i]]` (or `target[i]` without an index): a broadcast's adjoint. */
function accumulate(target: Data, values: Data, index: Int32Array | null): void {
  if (index === null) {
    for (let i = 0; i < values.length; i++) target[i] += values[i];
  } else {
    for (let i = 0; i < values.length; i++) target[index[i]] += values[i];
  }
}

/** Adds each consecutive block of `values` into `target` (the adjoint of repeating a trailing-shape operand). */
function accumulateBlocks(target: Data, values: Data): void {
  const n = target.length;
  for (let i = 0; i < values.length; i += n) for (let j = 0; j < n; j++) target[j] += values[i + j];
}

/** True when `small` repeats along the leading axes of `big` (a bias, a positional table). */
function repeatsInto(small: readonly number[], big: readonly number[]): boolean {
  if (small.length > big.length) return false;
  for (let i = 1; i <= small.length; i++) if (small[small.length - i] !== big[big.length - i]) return false;
  return true;
}

export function add(a: Tensor, b: Tensor): Tensor {
  const dtype = assertSameDtype('add', a, b);
  if (a.size < b.size && repeatsInto(a.shape, b.shape)) return add(b, a);
  if (repeatsInto(b.shape, a.shape)) {
    const arrays = arrayKernels(a.data, b.data);
    if (arrays !== null) return addRepeated(a, b, arrays);
    // Fast path: equal shapes, or b repeated along a's leading axes.
    const out = allocate(dtype, a.size);
    const ad = a.data;
    const bd = b.data;
    const n = b.size;
    for (let i = 0; i < out.length; i += n) for (let j = 0; j < n; j++) out[i + j] = ad[i + j] + bd[j];
    return opResult(out, a.shape, [a, b], (g) => {
      // b first: once a has adopted g, a's other consumers may add into it.
      if (b.requiresGrad) accumulateBlocks(b.gradBuffer(), g);
      if (a.requiresGrad) a.receiveGrad(g);
    });
  }
  const { shape, aIndex, bIndex } = plan(a, b);
  const out = allocate(dtype, sizeOf(shape));
  const ad = a.data;
  const bd = b.data;
  for (let i = 0; i < out.length; i++) out[i] = ad[aIndex ? aIndex[i] : i] + bd[bIndex ? bIndex[i] : i];
  return opResult(out, shape, [a, b], (g) => {
    if (a.requiresGrad) accumulate(a.gradBuffer(), g, aIndex);
    if (b.requiresGrad) accumulate(b.gradBuffer(), g, bIndex);
  });
}

/** a + b with b repeated along a's leading axes, on the wasm loops. */
function addRepeated(a: Tensor, b: Tensor, arrays: ArrayKernels): Tensor {
  const out = allocateOutput('f32', a.size) as Float32Array;
  arrays.addRepeat(out, a.data as Float32Array, b.data as Float32Array);
  return opResult(out, a.shape, [a, b], (g) => {
    // b first: once a has adopted g, a's other consumers may add into it.
    if (b.requiresGrad) {
      const add = b.grad !== null;
      arrays.colSums(b.gradBuffer(false) as Float32Array, g as Float32Array, a.size / b.size, b.size, add);
    }
    if (a.requiresGrad) a.receiveGrad(g);
  });
}

export function sub(a: Tensor, b: Tensor): Tensor {
  return add(a, scale(b, -1));
}

export function mul(a: Tensor, b: Tensor): Tensor {
  const dtype = assertSameDtype('mul', a, b);
  const { shape, aIndex, bIndex } = plan(a, b);
  const out = allocate(dtype, sizeOf(shape));
  const ad = a.data;
  const bd = b.data;
  for (let i = 0; i < out.length; i++) out[i] = ad[aIndex ? aIndex[i] : i] * bd[bIndex ? bIndex[i] : i];
  return opResult(out, shape, [a, b], (g) => {
    if (a.requiresGrad) {
      const ga = a.gradBuffer();
      for (let i = 0; i < g.length; i++) ga[aIndex ? aIndex[i] : i] += g[i] * bd[bIndex ? bIndex[i] : i];
    }
    if (b.requiresGrad) {
      const gb = b.gradBuffer();
      for (let i = 0; i < g.length; i++) gb[bIndex ? bIndex[i] : i] += g[i] * ad[aIndex ? aIndex[i] : i];
    }
  });
}

/** Elementwise map with its derivative, computed from the input x and the output y. */
function unary(x: Tensor, f: (v: number) => number, derivative: (v: number, y: number) => number): Tensor {
  const out = allocate(x.dtype, x.size);
  const xd = x.data;
  for (let i = 0; i < out.length; i++) out[i] = f(xd[i]);
  return opResult(out, x.shape, [x], (g) => {
    const gx = x.gradBuffer();
    for (let i = 0; i < g.length; i++) gx[i] += g[i] * derivative(xd[i], out[i]);
  });
}

export function scale(x: Tensor, s: number): Tensor {
  return unary(
    x,
    (v) => v * s,
    () => s,
  );
}

/** An activation on the wasm loops: one pass forward, one pass back. */
function activationOp(x: Tensor, activation: Activation, arrays: ArrayKernels): Tensor {
  const out = allocateOutput('f32', x.size) as Float32Array;
  const xd = x.data as Float32Array;
  arrays.biasAct(xd, out, null, 1, x.size, activation);
  return opResult(out, x.shape, [x], (g) => {
    const add = x.grad !== null;
    arrays.actBackward(x.gradBuffer(false) as Float32Array, g as Float32Array, xd, activation, add);
  });
}

export function relu(x: Tensor): Tensor {
  const arrays = arrayKernels(x.data);
  if (arrays !== null) return activationOp(x, 'relu', arrays);
  const out = allocate(x.dtype, x.size);
  reluForward(x.data, out);
  return opResult(out, x.shape, [x], (g) => reluBackward(x.data, g, x.gradBuffer()));
}

function reluForward(xd: Data, out: Data): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.max(xd[i], 0);
}

function reluBackward(xd: Data, g: Data, gx: Data): void {
  for (let i = 0; i < g.length; i++) if (xd[i] > 0) gx[i] += g[i];
}

/** x², the activation of the analytically solvable modular-arithmetic MLPs (Gromov 2023). */
export function square(x: Tensor): Tensor {
  // Its own loops rather than `unary`: a hot activation should not call a function per element.
  const arrays = arrayKernels(x.data);
  if (arrays !== null) return activationOp(x, 'quadratic', arrays);
  const out = allocate(x.dtype, x.size);
  squareForward(x.data, out);
  return opResult(out, x.shape, [x], (g) => squareBackward(x.data, g, x.gradBuffer()));
}

function squareForward(xd: Data, out: Data): void {
  for (let i = 0; i < out.length; i++) out[i] = xd[i] * xd[i];
}

function squareBackward(xd: Data, g: Data, gx: Data): void {
  for (let i = 0; i < g.length; i++) gx[i] += 2 * xd[i] * g[i];
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (as in GPT-2 and TransformerLens' gelu_new). */
export function gelu(x: Tensor): Tensor {
  const arrays = arrayKernels(x.data);
  if (arrays !== null) return activationOp(x, 'gelu', arrays);
  return unary(
    x,
    (v) => 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v))),
    (v) => {
      const inner = GELU_C * (v + 0.044715 * v * v * v);
      const t = Math.tanh(inner);
      const dInner = GELU_C * (1 + 3 * 0.044715 * v * v);
      return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * dInner;
    },
  );
}

export type Activation = 'relu' | 'gelu' | 'quadratic';

export function activate(x: Tensor, activation: Activation): Tensor {
  if (activation === 'relu') return relu(x);
  if (activation === 'gelu') return gelu(x);
  return square(x);
}
