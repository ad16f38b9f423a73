import { type Arena, withArena } from './arena.ts';
import { getKernels } from './kernel-selection.ts';
import type { ArrayKernels } from './kernel-table/index.ts';
import type { DType } from './tensor.ts';

/**
 * A model's arena (arena.ts) for its forward passes, following the kernels in use: float32 models
 * on the wasm kernels keep their activations and the activations' gradients in wasm memory, one
 * generation per forward pass; other models (float64, or the JS kernels) allocate as usual.
 */
export class ForwardArena {
  private arena: Arena | null = null;
  private owner: ArrayKernels | null = null;

  constructor(private readonly dtype: DType) {}

  /**
   * Runs `fn` as a forward pass: the storage of the previous one is handed out again, so its
   * tensors must not be used after this (a backward pass through them throws).
   */
  run<T>(fn: () => T): T {
    if (this.dtype !== 'f32') return fn();
    const arrays = getKernels().arrays;
    if (arrays !== this.owner) {
      this.arena = arrays?.newArena() ?? null;
      this.owner = arrays;
    }
    this.arena?.reset();
    return withArena(this.arena, fn);
  }
}
