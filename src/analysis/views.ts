/**
 * Which weight matrices the Fourier view reads, as functions over Z_p. The model says which matrix
 * plays which part (models/roles.ts); per architecture that is:
 *   embedding     transformer and embedded MLP: the embedding's rows 0..p−1; one-hot MLP: the first
 *                 layer's rows for each operand position t (rows t·V + token), pooled
 *   unembedding   the columns 0..p−1 (classes) of the unembedding (an MLP's output layer)
 *   mlp_in        transformer: W_E·W_V·W_O·W_in of block 0 (all heads together: how a token written
 *                 by attention into the answer position drives each neuron); embedded MLP:
 *                 W_E·W₀[position t] pooled over positions; absent for a one-hot MLP (= embedding)
 *   neuron_logit  transformer: W_out·W_U of the last block (each neuron's effect on the logits),
 *                 over the classes
 */
import { gemm } from '../engine/ops.ts';
import type { Model } from '../models/index.ts';
import { embeddingView } from '../train/progress-measures.ts';
import { columnsOver, rowsOver, type ZpMatrix } from './fourier.ts';

export interface WeightTensor {
  shape: readonly number[];
  data: ArrayLike<number>;
}
export type Weights = Map<string, WeightTensor>;

export const VIEW_NAMES = ['embedding', 'unembedding', 'mlp_in', 'neuron_logit'] as const;
export type ViewName = (typeof VIEW_NAMES)[number];

function f64(data: ArrayLike<number>): Float64Array {
  return data instanceof Float64Array ? data : Float64Array.from(data);
}

/** [m, k]·[k, n] in float64. */
function product(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  gemm(f64(a), f64(b), out, m, n, k, false, false, false);
  return out;
}

// The embedding view moved to src/train/progress-measures.ts (the trainer's fourier_top_share reads it too).
export { embeddingView };

/**
 * The matrices of each view of the model (several are pooled: their energies add), for a task over Z_p.
 * `operandPositions`: where x and y sit in each sequence (the task's; default every position but the last).
 */
export function fourierViews(
  model: Model,
  p: number,
  operandPositions?: readonly number[],
): Partial<Record<ViewName, ZpMatrix[]>> {
  const { io } = model;
  if (p > io.vocabSize || p > io.numClasses) return {};
  const roles = model.roles();
  const classes = io.numClasses;
  const unembed = roles.unembed;
  const unembedding = [columnsOver(unembed.data, unembed.shape[0], classes, p)];
  const table = roles.input.table;
  const width = table.shape[1];
  const operands = operandPositions ?? Array.from({ length: Math.max(1, io.seqLen - 1) }, (_, t) => t);
  const embedding = embeddingView(model, p, operands);
  if (roles.input.kind === 'one-hot') return { embedding, unembedding };
  const embedP = f64(table.data).subarray(0, p * width);
  const first = roles.blocks[0];
  const last = roles.blocks[roles.blocks.length - 1];
  if (first && last) {
    const d = width;
    const dMlp = first.win.shape[1];
    const ov = product(product(embedP, first.wv.data, p, d, d), first.wo.data, p, d, d);
    const neurons = product(ov, first.win.data, p, d, dMlp);
    const logitMap = product(last.wout.data, unembed.data, dMlp, d, classes);
    return {
      embedding,
      unembedding,
      mlp_in: [rowsOver(neurons, p, dMlp)],
      neuron_logit: [columnsOver(logitMap, dMlp, classes, p)],
    };
  }
  if (!roles.firstLayer) return { embedding, unembedding };
  const w0 = f64(roles.firstLayer.data);
  const neurons = roles.firstLayer.shape[1];
  const mlpIn = operands.map((t) =>
    rowsOver(
      product(embedP, w0.subarray(t * width * neurons, (t + 1) * width * neurons), p, width, neurons),
      p,
      neurons,
    ),
  );
  return { embedding, unembedding, mlp_in: mlpIn };
}
