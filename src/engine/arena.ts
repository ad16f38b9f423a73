/**
 * Arenas: float32 storage for the tensors of one forward/backward pass, in the wasm kernels'
 * linear memory, so that kernels work on them in place (no copies in and out) and a training step
 * reuses the previous step's memory instead of allocating (no garbage).
 *
 * Lifetime. A model starts a new generation of its arena at the top of every forward pass
 * (`reset`); everything allocated in the previous generation is then dead: its activations, and
 * the gradients of those activations. Parameters, their gradients and the model's returned logits
 * never live in an arena. A backward pass through a generation that is gone throws (see
 * tensor.ts) instead of reading overwritten memory.
 *
 * While `withArena(arena, fn)` runs, `allocate` in tensor.ts takes float32 storage from `arena`;
 * when it is full (its first generation, before it knows its size) storage comes from the
 * JavaScript heap, which the kernels handle too, only slower. Browser-safe (no Node APIs).
 */

export interface Arena {
  /** Float32 storage of `length` elements, contents unspecified; null when the arena is full. */
  alloc(length: number): Float32Array | null;
  /** Fills storage of this arena with zeros. */
  zero(x: Float32Array): void;
  /** Bumped by every reset. */
  readonly generation: number;
  /** Whether storage handed out in `generation` is still intact. */
  holds(generation: number): boolean;
  /** Whether x is storage of this arena's current generation. */
  owns(x: ArrayBufferView): boolean;
  /** Starts a new generation: all storage handed out before is given back. */
  reset(): void;
}

let active: Arena | null = null;

/** Runs `fn` with `arena` as the source of float32 tensor storage (null: the heap). */
export function withArena<T>(arena: Arena | null, fn: () => T): T {
  const previous = active;
  active = arena;
  try {
    return fn();
  } finally {
    active = previous;
  }
}

/** The arena tensors are allocated in right now, if any. */
export function activeArena(): Arena | null {
  return active;
}

/** ArrayBuffers (and SharedArrayBuffers) that are wasm linear memory. */
const wasmBuffers = new WeakSet<ArrayBufferLike>();

/** Registers `buffer` as wasm linear memory (done by the wasm kernels for every buffer they see). */
export function markWasmBuffer(buffer: ArrayBufferLike): void {
  wasmBuffers.add(buffer);
}

/** Whether `x` lies in wasm linear memory: arena storage, which heap tensors must not adopt. */
export function inWasmMemory(x: ArrayBufferView): boolean {
  return wasmBuffers.has(x.buffer);
}
