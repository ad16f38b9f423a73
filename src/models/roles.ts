/**
 * What each part of a model does, so that analysis can ask for "the embedding" or "the attention
 * patterns" instead of knowing parameter or site names. Tensors are the model's live parameters
 * (loading a checkpoint updates them in place); sites are hook point names (hooks.ts).
 */
import type { Activation } from '../engine/ops.ts';
import type { Tensor } from '../engine/tensor.ts';

/**
 * How a token's vector enters the network.
 *   embedding: `table` [V, D] is a learned embedding; the site's activation [T, D] holds table[token]
 *              at each position.
 *   one-hot:   `table` [T·V, width] is a one-hot first layer; the site's activation [width] (its
 *              pre-activation) includes Σ_t table[t·V + token_t].
 *   features:  the input is a real-valued vector (MNIST's pixels), not tokens; `table` [dim, width]
 *              is the first layer, whose pre-activation is the site.
 */
export interface TokenInput {
  kind: 'embedding' | 'one-hot' | 'features';
  site: string;
  table: Tensor;
}

/** One hidden activation: its layer's name (as in analysis reports) and the sites around it. */
export interface HiddenLayer {
  layer: string;
  /** Pre-activation site. */
  pre: string;
  /** Post-activation site: activation(pre). */
  post: string;
  activation: Activation;
}

/** A transformer block's attention pattern site and the matrices of its circuits (stored [in, out]). */
export interface BlockRoles {
  /** [H, T, T] per example: (head, query, key). */
  pattern: string;
  /** W_V and W_O of all heads together, [D, D]. */
  wv: Tensor;
  wo: Tensor;
  /** The MLP's W_in [D, d_mlp] and W_out [d_mlp, D]. */
  win: Tensor;
  wout: Tensor;
}

export interface ModelRoles {
  input: TokenInput;
  /** MLPs with a learned embedding: the first layer [T·E, width] (rows t·E … for position t); else null. */
  firstLayer: Tensor | null;
  /** Transformers: one per block, in order; MLPs: none. */
  blocks: BlockRoles[];
  /** Every hidden activation in forward order (the last is the one read as "the features"). */
  hidden: HiddenLayer[];
  /** The unembedding [width, classes] (the output layer's weight: logits = x·W_U, plus a bias if the model has one). */
  unembed: Tensor;
  /** The site of the answer's logits, [classes] per example. */
  logits: string;
}
