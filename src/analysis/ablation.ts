/**
 * Frequency ablation (Nanda et al. 2023, arXiv 2301.05217): remove Fourier components of the token
 * embedding over Z_p and see what the network can still do. A network that computes a ± b with a few
 * key frequencies loses its test accuracy when those are removed and barely notices when every other
 * frequency is removed.
 *
 * The embedding is what the model names as its token input (models/roles.ts): a learned embedding
 * [V, D], or a one-hot MLP's first layer [T·V, width], whose rows for each input position are that
 * position's embedding. Its rows 0..p−1 (the operands) are projected as functions of the token x in
 * the orthonormal basis of fourier.ts: E' = E − Σ_{r: freq(r) ∈ removed} b_r b_rᵀ E. The constant
 * (frequency 0) is always kept: it carries nothing about the token, and removing it would shift
 * every embedding at once. The change E' − E enters through a hook on the input's site, so the
 * model runs with the ablated embedding without its weights being touched.
 */
import { add, gather, gatherSum } from '../engine/ops.ts';
import { Tensor } from '../engine/tensor.ts';
import type { Hook, ModelIO, TokenInput } from '../models/index.ts';
import { fourierBasis } from './fourier.ts';
import type { CheckpointLosses } from './types.ts';

export interface FrequencyAblation {
  step: number;
  /** The hook site the ablation acts on: the embedding, or a one-hot MLP's first pre-activation. */
  site: string;
  /** The run's key frequencies (analysis.json's key_frequencies). */
  key_frequencies: number[];
  unablated: CheckpointLosses;
  /** Every non-constant frequency but the key ones removed. */
  key_only: CheckpointLosses;
  /** The key frequencies removed. */
  without_key: CheckpointLosses;
}

/**
 * E' − E for the input table: the components of `removed` frequencies of each block of p operand
 * rows (one block for an embedding, one per position for a one-hot first layer), negated.
 */
export function frequencyRemoval(
  input: TokenInput,
  io: ModelIO,
  p: number,
  removed: readonly number[],
): Float64Array {
  const basis = fourierBasis(p);
  const gone = new Set(removed);
  const { table } = input;
  const width = table.shape[1];
  const blocks = input.kind === 'one-hot' ? io.seqLen : 1;
  const delta = new Float64Array(table.size);
  const coef = new Float64Array(width);
  for (let block = 0; block < blocks; block++) {
    const first = block * io.vocabSize;
    for (let r = 0; r < p; r++) {
      if (!gone.has(basis.frequencyOfRow[r])) continue;
      const b = basis.rows.subarray(r * p, (r + 1) * p);
      coef.fill(0);
      for (let x = 0; x < p; x++) {
        const row = (first + x) * width;
        for (let c = 0; c < width; c++) coef[c] += b[x] * table.data[row + c];
      }
      for (let x = 0; x < p; x++) {
        const row = (first + x) * width;
        for (let c = 0; c < width; c++) delta[row + c] -= b[x] * coef[c];
      }
    }
  }
  return delta;
}

/** A hook on the input's site that runs the model as if its table were E' (see frequencyRemoval). */
export function frequencyAblationHook(
  input: TokenInput,
  io: ModelIO,
  p: number,
  removed: readonly number[],
): Hook {
  const { table } = input;
  const delta = Tensor.from(frequencyRemoval(input, io, p, removed), table.shape, table.dtype);
  // The site holds table[token] per position (embedding) or Σ_t table[t·V + token_t] + bias (one-hot):
  // adding the same look-up of the change gives the ablated table's activation.
  return input.kind === 'embedding'
    ? (x, { tokens, batch }) => add(x, gather(delta, tokens, [batch, io.seqLen]))
    : (x, { tokens, batch }) => add(x, gatherSum(delta, tokens, batch, io.seqLen, io.vocabSize));
}

/** The non-constant frequencies of Z_p that are not in `keys`. */
export function otherFrequencies(p: number, keys: readonly number[]): number[] {
  const top = fourierBasis(p).frequencies - 1;
  return Array.from({ length: top }, (_, i) => i + 1).filter((k) => !keys.includes(k));
}
