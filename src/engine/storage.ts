/**
 * Where a tensor's numbers live and for how long: the arena bookkeeping behind tensor.ts.
 *
 * Storage is a JavaScript typed array, or, for float32 tensors made while an arena is active
 * (arena.ts: a model's forward pass on the wasm kernels), a view of wasm memory that lives until
 * the arena's next generation. Such a tensor's gradient is kept in the same arena, and so is the
 * gradient of an op's output computed from arena tensors outside the arena (a model's logits):
 * like PyTorch, which keeps no gradient of a non-leaf tensor after backward unless asked, the
 * gradient of an intermediate result is only meant for the backward pass. Leaves (parameters)
 * keep their gradients on the heap and never adopt arena storage.
 */
import { type Arena, activeArena, inWasmMemory } from './arena.ts';
import { getKernels } from './kernel-selection.ts';
import type { Data, DType, Tensor } from './tensor.ts';

/** A tensor's place: the heap, or an arena generation holding its gradient and maybe its data. */
export class Storage {
  /** On the heap: valid for good. */
  static readonly HEAP = new Storage(null, 0, false);

  private constructor(
    readonly arena: Arena | null,
    readonly generation: number,
    /** Whether the tensor's data is arena storage (else only its gradient goes there). */
    readonly dataInArena: boolean,
  ) {}

  /** The place of a tensor made on `data`: the active arena's generation if it owns the data. */
  static of(data: Data): Storage {
    const arena = activeArena();
    return arena?.owns(data) ? new Storage(arena, arena.generation, true) : Storage.HEAP;
  }

  /** This place for a tensor whose data lies elsewhere: only its gradient comes here. */
  forGradient(): Storage {
    return this.arena === null ? Storage.HEAP : new Storage(this.arena, this.generation, false);
  }

  /** Whether the arena generation is still intact (always true on the heap). */
  get alive(): boolean {
    return this.arena === null || this.arena.holds(this.generation);
  }

  /**
   * Throws if this arena storage has been handed out again: the data (`dataOnly`: the tensor is an
   * op's input), or the data or gradient (in a backward pass).
   */
  check(dataOnly: boolean): void {
    if (dataOnly && !this.dataInArena) return;
    if (!this.alive) {
      throw new Error(
        'groklab: a tensor from an earlier forward pass was used after the model ran forward again; ' +
          "a model's activations and their gradients live until its next forward pass, so call " +
          'backward() on a loss before the next forward pass of the same model',
      );
    }
  }

  /** `size` floats of the arena generation while it lasts (contents unspecified); null: none there. */
  take(size: number): Float32Array | null {
    return this.arena !== null && this.alive ? this.arena.alloc(size) : null;
  }

  /**
   * A gradient buffer of `size`: in this arena generation while it lasts (zero-filled when
   * `zero`), else allocated as allocate does.
   */
  gradient(dtype: DType, size: number, zero: boolean): Data {
    const x = this.take(size);
    if (x === null) return allocate(dtype, size);
    if (zero) this.arena?.zero(x);
    return x;
  }

  /**
   * Whether a tensor here may take `g` as its gradient rather than copying it: not when the
   * tensor lives on the heap and g in wasm memory, which the next forward pass reuses.
   */
  mayAdopt(g: Data): boolean {
    return this.arena !== null || !inWasmMemory(g);
  }
}

/** Zero-filled storage: from the active arena for float32 (when it has room), else the heap. */
export function allocate(dtype: DType, size: number): Data {
  if (dtype === 'f64') return new Float64Array(size);
  const arena = activeArena();
  const x = arena?.alloc(size);
  if (x == null) return new Float32Array(size);
  arena?.zero(x);
  return x;
}

/** Storage like allocate's, contents unspecified: for outputs an op writes in full. */
export function allocateOutput(dtype: DType, size: number): Data {
  if (dtype === 'f64') return new Float64Array(size);
  return activeArena()?.alloc(size) ?? new Float32Array(size);
}

/**
 * Storage an op keeps for its backward pass of `t` (contents unspecified): in t's arena while that
 * generation lasts, else as allocateOutput.
 */
export function allocateFor(t: Tensor, size: number): Data {
  if (t.dtype === 'f64') return new Float64Array(size);
  return t.storage.take(size) ?? allocateOutput('f32', size);
}

/** dst += src: on the kernels when dst is wasm-resident float32 (no copies), else in a loop. */
export function addInto(dst: Data, src: Data): void {
  const arrays = getKernels().arrays;
  if (arrays !== null && dst instanceof Float32Array && src instanceof Float32Array && inWasmMemory(dst)) {
    arrays.accumulate(dst, src);
    return;
  }
  for (let i = 0; i < src.length; i++) dst[i] += src[i];
}
