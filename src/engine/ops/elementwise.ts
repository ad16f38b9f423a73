import type { Loops } from '../kernel-table/index.ts';
import {
  allocate,
  allocateOutput,
  assertSameDtype,
  type Data,
  opResult,
  sizeOf,
  type Tensor,
} from '../tensor.ts';
import { loopsFor } from './arrays.ts';

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

/** True when `small` repeats along the leading axes of `big` (a bias, a positional table). */
function repeatsInto(small: readonly number[], big: readonly number[]): boolean {
  if (small.length > big.length) return false;
  for (let i = 1; i <= small.length; i++) if (small[small.length - i] !== big[big.length - i]) return false;
  return true;
}

export function add(a: Tensor, b: Tensor): Tensor {
  const dtype = assertSameDtype('add', a, b);
  if (a.size < b.size && repeatsInto(a.shape, b.shape)) return add(b, a);
  // The common cases: equal shapes, or b repeated along a's leading axes (a bias, positions).
  if (repeatsInto(b.shape, a.shape)) return addRepeated(a, b, loopsFor(a.data, b.data));
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

/** a + b with b repeated along a's leading axes: b's gradient is the column sums of a's. */
function addRepeated(a: Tensor, b: Tensor, loops: Loops): Tensor {
  const out = allocateOutput(a.dtype, a.size);
  loops.addRepeat(out, a.data, b.data);
  return opResult(out, a.shape, [a, b], (g) => {
    // b first: once a has adopted g, a's other consumers may add into it.
    if (b.requiresGrad) {
      const add = b.grad !== null;
      loops.colSums(b.gradBuffer(false), g, a.size / b.size, b.size, add);
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

/** An activation: one pass forward, one pass back (kernel-table/elementwise.ts biasAct, actBackward). */
function activationOp(x: Tensor, activation: Activation): Tensor {
  const loops = loopsFor(x.data);
  const out = allocateOutput(x.dtype, x.size);
  const xd = x.data;
  loops.biasAct(xd, out, null, 1, x.size, activation);
  return opResult(out, x.shape, [x], (g) => {
    const add = x.grad !== null;
    loops.actBackward(x.gradBuffer(false), g, xd, activation, add);
  });
}

export function relu(x: Tensor): Tensor {
  return activationOp(x, 'relu');
}

/** x², the activation of the analytically solvable modular-arithmetic MLPs (Gromov 2023). */
export function square(x: Tensor): Tensor {
  return activationOp(x, 'quadratic');
}

/** GELU, tanh approximation (as in GPT-2 and TransformerLens' gelu_new). */
export function gelu(x: Tensor): Tensor {
  return activationOp(x, 'gelu');
}

export type Activation = 'relu' | 'gelu' | 'quadratic';

export function activate(x: Tensor, activation: Activation): Tensor {
  if (activation === 'relu') return relu(x);
  if (activation === 'gelu') return gelu(x);
  return square(x);
}
