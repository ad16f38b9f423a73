import { allocateFor, allocateOutput, opResult, type Tensor } from '../tensor.ts';
import { loopsFor } from './arrays.ts';
import type { Activation } from './elementwise.ts';

/** Rows of a [V, D] table for each token id: [...ids shape, D]. The gradient scatter-adds into the rows. */
export function gather(table: Tensor, ids: Int32Array, idsShape: readonly number[]): Tensor {
  const [vocab, dim] = table.shape;
  if (table.shape.length !== 2) throw new Error(`gather needs a [V, D] table, got [${table.shape}]`);
  checkIds(ids, vocab, 'gather');
  const loops = loopsFor(table.data);
  // Rows of a table without positions: embedRows with one position per id.
  const out = allocateOutput(table.dtype, ids.length * dim);
  loops.embedRows(out, table.data, null, ids, ids.length, 1, 0, dim);
  return opResult(out, [...idsShape, dim], [table], (g) => {
    loops.embedRowsBackward(table.gradBuffer(), null, g, ids, ids.length, 1, 0, dim);
  });
}

/**
 * Σ_t table[t·V + ids[b, t]] for ids of shape [B, T]: exactly one-hot(ids) flattened to [B, T·V]
 * times a [T·V, D] matrix, done as T row look-ups instead of a mostly-zero product. With `bias`
 * (and `activation`), act(Σ + bias): a one-hot first layer in one op, one pass each way besides
 * the look-ups.
 */
export function gatherSum(
  table: Tensor,
  ids: Int32Array,
  batch: number,
  seq: number,
  vocab: number,
  bias?: Tensor,
  activation?: Activation,
): Tensor {
  const [rows, dim] = table.shape;
  if (rows !== seq * vocab) throw new Error(`gatherSum: table has ${rows} rows, expected ${seq}·${vocab}`);
  if (bias !== undefined && bias.size !== dim) throw new Error(`gatherSum: bias must have ${dim} elements`);
  checkIds(ids, vocab, 'gatherSum');
  const loops = loopsFor(table.data, ...(bias ? [bias.data] : []));
  const pre = allocateOutput(table.dtype, batch * dim);
  loops.rowSums(pre, table.data, ids, batch, seq, vocab, dim);
  if (bias === undefined) {
    return opResult(pre, [batch, dim], [table], (g) =>
      loops.scatterRowSums(table.gradBuffer(), g, ids, batch, seq, vocab, dim),
    );
  }
  const act = activation ?? 'none';
  const post = act === 'none' ? pre : allocateOutput(table.dtype, batch * dim);
  loops.biasAct(pre, act === 'none' ? null : post, bias.data, batch, dim, act);
  const result = opResult(post, [batch, dim], [table, bias], (g) => {
    // The gradient at the pre-activation, the bias gradient summed in the same pass.
    const dPre = act === 'none' ? g : allocateFor(result, batch * dim);
    const sums = bias.requiresGrad ? bias.gradBuffer() : null;
    if (act === 'none') {
      if (sums) loops.colSums(sums, dPre, batch, dim, true);
    } else loops.actBackward(dPre, g, pre, act, false, batch, sums);
    if (table.requiresGrad) loops.scatterRowSums(table.gradBuffer(), dPre, ids, batch, seq, vocab, dim);
  });
  return result;
}

function checkIds(ids: Int32Array, vocab: number, op: string): void {
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= vocab) throw new Error(`${op}: token id ${ids[i]} outside 0..${vocab - 1}`);
  }
}

/**
 * table[ids[b, t]] + positional[t] for every (b, t), as [B·T, D] rows; or, with `lastOnly`, for the
 * last position only, as [B, D]. One pass each way: the token embedding plus positional embedding
 * of a sequence model, and look-ups of (E·W, P·W) product tables.
 */
export function embedRows(
  table: Tensor,
  positional: Tensor,
  ids: Int32Array,
  batch: number,
  seq: number,
  lastOnly: boolean,
): Tensor {
  const [vocab, dim] = table.shape;
  if (positional.shape[0] !== seq || positional.shape[1] !== dim) {
    throw new Error(`embedRows: positional table [${positional.shape}] does not match [${seq}, ${dim}]`);
  }
  if (ids.length !== batch * seq) throw new Error(`embedRows: ${ids.length} ids for ${batch}×${seq}`);
  checkIds(ids, vocab, 'embedRows');
  const first = lastOnly ? seq - 1 : 0;
  const loops = loopsFor(table.data, positional.data);
  const out = allocateOutput(table.dtype, batch * (seq - first) * dim);
  loops.embedRows(out, table.data, positional.data, ids, batch, seq, first, dim);
  return opResult(out, [batch * (seq - first), dim], [table, positional], (g) => {
    const gt = table.requiresGrad ? table.gradBuffer() : null;
    const gp = positional.requiresGrad ? positional.gradBuffer() : null;
    loops.embedRowsBackward(gt, gp, g, ids, batch, seq, first, dim);
  });
}
