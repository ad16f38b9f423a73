/**
 * Tensors and reverse-mode autodiff. A tensor owns a flat row-major typed array; an op that
 * records gradients stores its parents and a closure that pushes its output gradient back to
 * them. `backward()` runs those closures in reverse topological order.
 *
 * float32 is the training dtype; float64 exists so that gradients can be checked against
 * finite differences with tight tolerances. Ops never mix dtypes.
 *
 * Where a tensor's data and gradient live (the heap, or a model's arena in wasm memory) and how
 * long they stay valid is its `storage` (storage.ts); an op's maths is in the kernel table
 * (kernel-table/), its dispatch and gradient record in ops/.
 */
import type { Arena } from './arena.ts';
import { addInto, allocate, Storage } from './storage.ts';

export { allocate, allocateFor, allocateOutput } from './storage.ts';

export type DType = 'f32' | 'f64';
export type Data = Float32Array | Float64Array;

let gradEnabled = true;

/** Runs `fn` without recording gradients (evaluation): no closures, no saved activations. */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

export function dtypeOf(data: Data): DType {
  return data instanceof Float32Array ? 'f32' : 'f64';
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  readonly dtype: DType;
  data: Data;
  grad: Data | null = null;
  /** True for parameters and for anything computed from them while gradients are recorded. */
  readonly requiresGrad: boolean;
  /** Where the data and the gradient live, and for how long (storage.ts). */
  storage: Storage;
  private parents: readonly Tensor[] = [];
  private backwardFn: (() => void) | null = null;

  constructor(data: Data, shape: readonly number[], requiresGrad = false) {
    const size = sizeOf(shape);
    if (data.length !== size) {
      throw new Error(`Tensor data length ${data.length} does not match shape [${shape.join(', ')}]`);
    }
    this.data = data;
    this.shape = [...shape];
    this.size = size;
    this.dtype = dtypeOf(data);
    this.requiresGrad = requiresGrad;
    this.storage = Storage.of(data);
  }

  /** The arena holding this tensor's gradient, and its data when `dataInArena`; null: the heap. */
  get arena(): Arena | null {
    return this.storage.arena;
  }

  /** The arena generation the storage belongs to. */
  get generation(): number {
    return this.storage.generation;
  }

  get dataInArena(): boolean {
    return this.storage.dataInArena;
  }

  static zeros(shape: readonly number[], dtype: DType = 'f32', requiresGrad = false): Tensor {
    return new Tensor(allocate(dtype, sizeOf(shape)), shape, requiresGrad);
  }

  static from(values: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const data = allocate(dtype, values.length);
    data.set(values);
    return new Tensor(data, shape);
  }

  /** A leaf that collects gradients (a model parameter). */
  static param(data: Data, shape: readonly number[]): Tensor {
    return new Tensor(data, shape, true);
  }

  /**
   * The gradient buffer, allocated on first use: zero-filled, or with unspecified contents when
   * `zero` is false (for a caller that checked `grad === null` and overwrites it in full). It lives
   * in the tensor's arena while that generation lasts, else on the heap.
   */
  gradBuffer(zero = true): Data {
    this.checkAlive();
    this.grad ??= this.storage.gradient(this.dtype, this.size, zero);
    return this.grad;
  }

  /**
   * Adds an output gradient that has this tensor's shape. When nothing has been accumulated yet the
   * array itself is adopted instead of copied: the op that produced `g` has finished its backward
   * pass, so nobody else reads or writes it afterwards. Only one input of an op may adopt a given `g`.
   * A tensor without an arena (a parameter) does not adopt arena storage, which the next forward
   * pass reuses.
   */
  receiveGrad(g: Data): void {
    this.checkAlive();
    if (this.grad === null && this.storage.mayAdopt(g)) this.grad = g;
    else addInto(this.gradBuffer(), g);
  }

  zeroGrad(): void {
    this.grad?.fill(0);
  }

  item(): number {
    if (this.size !== 1) throw new Error(`item() needs a single-element tensor, shape is [${this.shape}]`);
    return this.data[0];
  }

  /**
   * Back-propagates from this scalar: d(this)/d(this) = 1, then every recorded op in reverse
   * topological order. Gradients accumulate into existing `grad` buffers (zero them between steps).
   */
  backward(): void {
    if (this.size !== 1) throw new Error('backward() starts from a scalar loss');
    if (!this.requiresGrad) throw new Error('backward(): the loss does not depend on any parameter');
    const order = topologicalOrder(this);
    this.gradBuffer()[0] += 1;
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      if (t.backwardFn !== null && t.grad !== null) t.backwardFn();
      // Intermediate activations are not needed once their gradient has been pushed back.
      if (t.backwardFn !== null) {
        t.backwardFn = null;
        t.parents = [];
      }
    }
  }

  /** Internal: this tensor's storage is `source`'s (a view such as a reshape). */
  shareStorage(source: Tensor): void {
    this.storage = source.storage;
  }

  /** Internal: keeps this (heap) op output's gradient in `source`'s arena. */
  gradNear(source: Tensor): void {
    this.storage = source.storage.forGradient();
  }

  /**
   * Throws if this tensor's arena storage has been handed out again (see arena.ts): its data
   * (`dataOnly`: as an op's input), or its data or gradient (in a backward pass).
   */
  checkAlive(dataOnly = false): void {
    this.storage.check(dataOnly);
  }

  /** Internal: attach the autodiff record to an op's output. */
  static record(output: Tensor, parents: readonly Tensor[], backwardFn: () => void): Tensor {
    output.parents = parents;
    output.backwardFn = backwardFn;
    return output;
  }

  /** Children first in the returned array's reverse: parents always precede their outputs. */
  getParents(): readonly Tensor[] {
    return this.parents;
  }
}

/**
 * Output tensor of an op over `inputs`: records gradients only when grad mode is on and some
 * input needs them. `backward` receives the output gradient.
 */
export function opResult(
  data: Data,
  shape: readonly number[],
  inputs: readonly Tensor[],
  backward: (outGrad: Data) => void,
): Tensor {
  let needsGrad = false;
  for (const t of inputs) {
    t.checkAlive(true);
    if (t.requiresGrad) needsGrad = gradEnabled;
  }
  const out = new Tensor(data, shape, needsGrad);
  for (const t of inputs) if (t.data === data) out.shareStorage(t);
  if (!needsGrad) return out;
  if (out.arena === null) {
    // Computed outside the arena from arena tensors: its gradient stays with theirs.
    const near = inputs.find((t) => t.arena !== null && t.storage.alive);
    if (near !== undefined) out.gradNear(near);
  }
  return Tensor.record(out, inputs, () => {
    out.checkAlive();
    backward(out.grad as Data);
  });
}

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative DFS: deep graphs must not overflow the call stack.
  const stack: Array<{ t: Tensor; expanded: boolean }> = [{ t: root, expanded: false }];
  while (stack.length > 0) {
    const top = stack.pop() as { t: Tensor; expanded: boolean };
    if (top.expanded) {
      order.push(top.t);
      continue;
    }
    if (visited.has(top.t)) continue;
    visited.add(top.t);
    stack.push({ t: top.t, expanded: true });
    for (const p of top.t.getParents())
      if (p.requiresGrad && !visited.has(p)) stack.push({ t: p, expanded: false });
  }
  return order;
}

export function assertSameDtype(op: string, ...tensors: Tensor[]): DType {
  const dtype = tensors[0].dtype;
  for (const t of tensors) {
    if (t.dtype !== dtype) throw new Error(`${op}: mixed dtypes ${tensors.map((x) => x.dtype).join(', ')}`);
  }
  return dtype;
}
