import type { AttentionGrad, AttentionSource } from '../kernel-table/index.ts';
import { allocateOutput, type Data, opResult, Tensor } from '../tensor.ts';
import { loopsFor } from './arrays.ts';

export interface AttentionResult {
  /** [B, Tq, D]: per head, the attention-weighted values, heads side by side. */
  out: Tensor;
  /** [B, H, Tq, T] attention probabilities (for inspection). */
  probs: Data;
}

/**
 * Rows that are embedding-table look-ups, not yet materialized: embedRows(table, positions, ids,
 * batch, seq, lastOnly) as a [B, T, D] tensor ([B, 1, D] when lastOnly). Attention reads them in
 * place.
 */
export interface LookedUpRows {
  table: Tensor;
  positions: Tensor;
  ids: Int32Array;
  batch: number;
  seq: number;
  lastOnly: boolean;
}

/** q, k or v of causalAttention. */
export type AttentionInput = Tensor | LookedUpRows;

function isLookUp(x: AttentionInput): x is LookedUpRows {
  return !(x instanceof Tensor);
}

/** [B, R, D] of an input. */
function shapeOf(x: AttentionInput): readonly number[] {
  if (!isLookUp(x)) return x.shape;
  return [x.batch, x.lastOnly ? 1 : x.seq, x.table.shape[1]];
}

/** The tensors an input is made of: itself, or a look-up's table and positions. */
function leavesOf(x: AttentionInput): Tensor[] {
  return isLookUp(x) ? [x.table, x.positions] : [x];
}

/** An input as the attention kernels read it (kernel-table/attention.ts). */
function sourceOf(x: AttentionInput): AttentionSource<Data> {
  return isLookUp(x)
    ? { rows: x.table.data, pos: x.positions.data, ids: x.ids }
    : { rows: x.data, pos: null, ids: null };
}

/** Where an input's gradient goes: its gradient buffers (null where none is wanted). */
function gradOf(x: AttentionInput): AttentionGrad<Data> {
  const grad = (t: Tensor) => (t.requiresGrad ? t.gradBuffer() : null);
  return isLookUp(x) ? { rows: grad(x.table), pos: grad(x.positions) } : { rows: grad(x), pos: null };
}

/**
 * Multi-head causal self-attention, fused: q is [B, Tq, D] for the last Tq positions, k and v are
 * [B, T, D]; head h uses columns h·D/H … (h+1)·D/H − 1. Query i sits at absolute position T−Tq+i and
 * sees keys 0 … T−Tq+i. With Tq = 1 only the last position is computed, which is all a model that
 * reads its answer at the last position needs from its final layer. Any of q, k, v may be
 * embedding-table look-ups (LookedUpRows), which are read without being materialized.
 */
export function causalAttention(
  qIn: AttentionInput,
  kIn: AttentionInput,
  vIn: AttentionInput,
  heads: number,
): AttentionResult {
  const [qs, ks, vs] = [shapeOf(qIn), shapeOf(kIn), shapeOf(vIn)];
  if (qs.length !== 3 || ks.length !== 3 || vs.length !== 3) {
    throw new Error('causalAttention needs [B, T, D] tensors');
  }
  const [batch, tq, dim] = qs;
  const seq = ks[1];
  if (ks[0] !== batch || vs[0] !== batch || vs[1] !== seq || ks[2] !== dim || vs[2] !== dim) {
    throw new Error(`causalAttention: shapes q[${qs}] k[${ks}] v[${vs}] do not match`);
  }
  for (const x of [qIn, kIn, vIn]) {
    if (isLookUp(x) && x.seq !== seq) throw new Error('causalAttention: look-ups must span all positions');
  }
  if (isLookUp(kIn) && kIn.lastOnly) throw new Error('causalAttention: keys must cover all positions');
  if (isLookUp(vIn) && vIn.lastOnly) throw new Error('causalAttention: values must cover all positions');
  if (tq > seq) throw new Error('causalAttention: more queries than keys');
  if (dim % heads !== 0) throw new Error(`causalAttention: d_model ${dim} not divisible by ${heads} heads`);
  const inputs = [qIn, kIn, vIn].flatMap(leavesOf);
  const dtype = inputs[0].dtype;
  if (inputs.some((t) => t.dtype !== dtype)) {
    throw new Error(`causalAttention: mixed dtypes ${inputs.map((t) => t.dtype).join(', ')}`);
  }
  const loops = loopsFor(...inputs.map((t) => t.data));
  const [q, k, v] = [sourceOf(qIn), sourceOf(kIn), sourceOf(vIn)];
  const out = allocateOutput(dtype, batch * tq * dim);
  const probs = allocateOutput(dtype, batch * heads * tq * seq);
  loops.attentionForward(out, probs, q, k, v, batch, tq, seq, dim, heads);
  const result = opResult(out, [batch, tq, dim], inputs, (g) => {
    const [gq, gk, gv] = [gradOf(qIn), gradOf(kIn), gradOf(vIn)];
    loops.attentionBackward(gq, gk, gv, g, probs, q, k, v, batch, tq, seq, dim, heads);
  });
  return { out: result, probs };
}
