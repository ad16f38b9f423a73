import type { Tensor } from '../engine/tensor.ts';
import type { ForwardOptions, HookPoint } from './hooks.ts';
import type { ModelRoles } from './roles.ts';

/**
 * A model: named parameters, logits for a batch of token sequences, and named hook points inside.
 * `forward(tokens, batch)` is the training path (fused, allocation-free in the model's arena); with
 * options that ask for a cache or hooks it takes the hooked path, where every hook point is computed
 * (all positions included), can be cached and replaced, and is differentiable. A pass that caches
 * keeps its activations on the heap, so they outlive later passes; a pass with hooks only reuses the
 * arena like the fast path (its intermediate tensors live until the model's next forward pass). The
 * logits always outlive it.
 */
export interface Model {
  readonly params: Map<string, Tensor>;
  readonly io: ModelIO;
  /** tokens: batch × seqLen ids, row-major → logits [batch, numClasses]. */
  forward(tokens: Int32Array, batch: number, options?: ForwardOptions): Tensor;
  /** Every hook point, in the order a forward pass reaches them. */
  hookPoints(): readonly HookPoint[];
  /** Weights and sites by what they do. */
  roles(): ModelRoles;
}

/** The shape of the data a model is built for (from the task). */
export interface ModelIO {
  vocabSize: number;
  seqLen: number;
  numClasses: number;
  /**
   * Real-valued inputs (MNIST): row i is the input of the example whose token is i. Data, not a
   * parameter: it is never trained or checkpointed.
   */
  features?: { dim: number; values: Float32Array };
}
