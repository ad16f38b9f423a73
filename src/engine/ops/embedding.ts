import { allocate, allocateFor, allocateOutput, type Data, opResult, type Tensor } from '../tensor.ts';
import { arrayKernels } from './arrays.ts';
import { type Activation, activate, add } from './elementwise.ts';

/** Rows of a [V, D] table for each token id: [...ids shape, D]. The gradient scatter-adds into the rows. */
export function gather(table: Tensor, ids: Int32Array, idsShape: readonly number[]): Tensor {
  const [vocab, dim] = table.shape;
  if (table.shape.length !== 2) throw new Error(`gather needs a [V, D] table, got [${table.shape}]`);
  checkIds(ids, vocab, 'gather');
  const arrays = arrayKernels(table.data);
  if (arrays !== null) {
    // Rows of a table without positions: embedRows with one position per id.
    const out = allocateOutput('f32', ids.length * dim) as Float32Array;
    const td = table.data as Float32Array;
    arrays.embedRows(out, td, null, ids, ids.length, 1, 0, dim);
    return opResult(out, [...idsShape, dim], [table], (g) => {
      arrays.embedRowsBackward(
        table.gradBuffer() as Float32Array,
        null,
        g as Float32Array,
        ids,
        ids.length,
        1,
        0,
        dim,
      );
    });
  }
  const out = allocate(table.dtype, ids.length * dim);
  const td = table.data;
  for (let i = 0; i < ids.length; i++) out.set(td.subarray(ids[i] * dim, (ids[i] + 1) * dim), i * dim);
  return opResult(out, [...idsShape, dim], [table], (g) => {
    const gt = table.gradBuffer();
    for (let i = 0; i < ids.length; i++) {
      const row = ids[i] * dim;
      for (let j = 0; j < dim; j++) gt[row + j] += g[i * dim + j];
    }
  });
}

/**
 * Σ_t table[t·V + ids[b, t]] for ids of shape [B, T]: exactly one-hot(ids) flattened to [B, T·V]
 * times a [T·V, D] matrix, done as T row look-ups instead of a mostly-zero product. With `bias`
 * (and `activation`), act(Σ + bias): a one-hot first layer in one op, on the wasm kernels in one
 * pass each way besides the look-ups (elsewhere as separate add and activation ops).
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
  const arrays = arrayKernels(table.data, ...(bias ? [bias.data] : []));
  if (arrays === null && bias !== undefined) {
    const sum = add(gatherSum(table, ids, batch, seq, vocab), bias);
    return activation === undefined ? sum : activate(sum, activation);
  }
  if (arrays !== null) {
    const pre = allocateOutput('f32', batch * dim) as Float32Array;
    const td = table.data as Float32Array;
    arrays.rowSums(pre, td, ids, batch, seq, vocab, dim);
    if (bias === undefined) {
      return opResult(pre, [batch, dim], [table], (g) =>
        arrays.scatterRowSums(
          table.gradBuffer() as Float32Array,
          g as Float32Array,
          ids,
          batch,
          seq,
          vocab,
          dim,
        ),
      );
    }
    const act = activation ?? 'none';
    const post = act === 'none' ? pre : (allocateOutput('f32', batch * dim) as Float32Array);
    arrays.biasAct(pre, act === 'none' ? null : post, bias.data as Float32Array, batch, dim, act);
    const result = opResult(post, [batch, dim], [table, bias], (g) => {
      // The gradient at the pre-activation, the bias gradient summed in the same pass.
      const dPre = act === 'none' ? (g as Float32Array) : (allocateFor(result, batch * dim) as Float32Array);
      const sums = bias.requiresGrad ? (bias.gradBuffer() as Float32Array) : null;
      if (act === 'none') {
        if (sums) arrays.colSums(sums, dPre, batch, dim, true);
      } else arrays.actBackward(dPre, g as Float32Array, pre, act, false, batch, sums);
      if (table.requiresGrad) {
        arrays.scatterRowSums(table.gradBuffer() as Float32Array, dPre, ids, batch, seq, vocab, dim);
      }
    });
    return result;
  }
  const out = allocate(table.dtype, batch * dim);
  rowSums(table.data, ids, out, batch, seq, vocab, dim);
  return opResult(out, [batch, dim], [table], (g) =>
    scatterRowSums(g, ids, table.gradBuffer(), batch, seq, vocab, dim),
  );
}

// Loops in plain functions with array parameters: V8 reads variables captured by a closure
// through its context on every access.

function rowSums(
  td: Data,
  ids: Int32Array,
  out: Data,
  batch: number,
  seq: number,
  vocab: number,
  dim: number,
) {
  for (let b = 0; b < batch; b++) {
    const o = b * dim;
    for (let t = 0; t < seq; t++) {
      const row = (t * vocab + ids[b * seq + t]) * dim;
      for (let j = 0; j < dim; j++) out[o + j] += td[row + j];
    }
  }
}

function scatterRowSums(
  g: Data,
  ids: Int32Array,
  gt: Data,
  batch: number,
  seq: number,
  vocab: number,
  dim: number,
) {
  for (let b = 0; b < batch; b++) {
    const o = b * dim;
    for (let t = 0; t < seq; t++) {
      const row = (t * vocab + ids[b * seq + t]) * dim;
      for (let j = 0; j < dim; j++) gt[row + j] += g[o + j];
    }
  }
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
  const arrays = arrayKernels(table.data, positional.data);
  if (arrays !== null) {
    const out = allocateOutput('f32', batch * (seq - first) * dim) as Float32Array;
    const td = table.data as Float32Array;
    arrays.embedRows(out, td, positional.data as Float32Array, ids, batch, seq, first, dim);
    return opResult(out, [batch * (seq - first), dim], [table, positional], (g) => {
      const gt = table.requiresGrad ? (table.gradBuffer() as Float32Array) : null;
      const gp = positional.requiresGrad ? (positional.gradBuffer() as Float32Array) : null;
      arrays.embedRowsBackward(gt, gp, g as Float32Array, ids, batch, seq, first, dim);
    });
  }
  const out = allocate(table.dtype, batch * (seq - first) * dim);
  addRows(table.data, positional.data, ids, out, batch, seq, first, dim);
  return opResult(out, [batch * (seq - first), dim], [table, positional], (g) => {
    const gt = table.requiresGrad ? table.gradBuffer() : null;
    const gp = positional.requiresGrad ? positional.gradBuffer() : null;
    scatterRowsAndPositions(g, ids, gt, gp, batch, seq, first, dim);
  });
}

/** out row (b, t) = table[ids[b, t]] + positional[t] for positions t ≥ first. */
function addRows(
  td: Data,
  pd: Data,
  ids: Int32Array,
  out: Data,
  batch: number,
  seq: number,
  first: number,
  dim: number,
) {
  const perSeq = seq - first;
  for (let b = 0; b < batch; b++) {
    for (let t = first; t < seq; t++) {
      const o = (b * perSeq + t - first) * dim;
      const row = ids[b * seq + t] * dim;
      const prow = t * dim;
      for (let j = 0; j < dim; j++) out[o + j] = td[row + j] + pd[prow + j];
    }
  }
}

/** The adjoint of addRows: g's rows scatter-added into the table's rows and summed per position, in one pass. */
function scatterRowsAndPositions(
  g: Data,
  ids: Int32Array,
  gt: Data | null,
  gp: Data | null,
  batch: number,
  seq: number,
  first: number,
  dim: number,
) {
  const perSeq = seq - first;
  for (let b = 0; b < batch; b++) {
    for (let t = first; t < seq; t++) {
      const o = (b * perSeq + t - first) * dim;
      const row = ids[b * seq + t] * dim;
      const prow = t * dim;
      if (gt && gp) {
        for (let j = 0; j < dim; j++) {
          const v = g[o + j];
          gt[row + j] += v;
          gp[prow + j] += v;
        }
      } else if (gt) for (let j = 0; j < dim; j++) gt[row + j] += g[o + j];
      else if (gp) for (let j = 0; j < dim; j++) gp[prow + j] += g[o + j];
    }
  }
}
