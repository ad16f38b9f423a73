import type { ArrayKernels, AttentionGrad, AttentionSource } from '../kernels.ts';
import { allocate, allocateOutput, assertSameDtype, type Data, opResult, Tensor } from '../tensor.ts';
import { arrayKernels } from './arrays.ts';
import { embedRows } from './embedding.ts';
import { reshape } from './shape.ts';

export interface AttentionResult {
  /** [B, Tq, D]: per head, the attention-weighted values, heads side by side. */
  out: Tensor;
  /** [B, H, Tq, T] attention probabilities (for inspection). */
  probs: Data;
}

/**
 * Rows that are embedding-table look-ups, not yet materialized: embedRows(table, positions, ids,
 * batch, seq, lastOnly) as a [B, T, D] tensor ([B, 1, D] when lastOnly). Attention on the wasm
 * kernels reads them in place; elsewhere they are materialized first.
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

/** Sizes shared by the forward and backward loops. */
interface Dims {
  batch: number;
  tq: number;
  seq: number;
  dim: number;
  heads: number;
}

function isLookUp(x: AttentionInput): x is LookedUpRows {
  return !(x instanceof Tensor);
}

/** [B, R, D] of an input. */
function shapeOf(x: AttentionInput): readonly number[] {
  if (!isLookUp(x)) return x.shape;
  return [x.batch, x.lastOnly ? 1 : x.seq, x.table.shape[1]];
}

/** The rows as a tensor: look-ups are materialized (one embedRows op). */
function materialize(x: AttentionInput): Tensor {
  if (!isLookUp(x)) return x;
  const rows = embedRows(x.table, x.positions, x.ids, x.batch, x.seq, x.lastOnly);
  return reshape(rows, shapeOf(x));
}

/**
 * Multi-head causal self-attention, fused: q is [B, Tq, D] for the last Tq positions, k and v are
 * [B, T, D]; head h uses columns h·D/H … (h+1)·D/H − 1. Query i sits at absolute position T−Tq+i and
 * sees keys 0 … T−Tq+i. With Tq = 1 only the last position is computed, which is all a model that
 * reads its answer at the last position needs from its final layer. Any of q, k, v may be
 * embedding-table look-ups (LookedUpRows), which the wasm kernels read without materializing them.
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
  const leaves = [qIn, kIn, vIn].flatMap((x) => (isLookUp(x) ? [x.table, x.positions] : [x]));
  const arrays = arrayKernels(...leaves.map((t) => t.data));
  if (arrays !== null) return fusedAttention(qIn, kIn, vIn, { batch, tq, seq, dim, heads }, arrays);
  const [q, k, v] = [materialize(qIn), materialize(kIn), materialize(vIn)];
  const dtype = assertSameDtype('causalAttention', q, k, v);
  const dims: Dims = { batch, tq, seq, dim, heads };
  const out = allocate(dtype, batch * tq * dim);
  const probs = allocate(dtype, batch * heads * tq * seq);
  attentionForward(q.data, k.data, v.data, out, probs, dims);
  const result = opResult(out, [batch, tq, dim], [q, k, v], (g) =>
    attentionBackward(
      g,
      q.data,
      k.data,
      v.data,
      probs,
      q.requiresGrad ? q.gradBuffer() : null,
      k.requiresGrad ? k.gradBuffer() : null,
      v.requiresGrad ? v.gradBuffer() : null,
      dims,
    ),
  );
  return { out: result, probs };
}

/** Attention on the wasm kernels, look-ups read in place; their gradients go to table and positions. */
function fusedAttention(
  q: AttentionInput,
  k: AttentionInput,
  v: AttentionInput,
  dims: Dims,
  arrays: ArrayKernels,
): AttentionResult {
  const { batch, tq, seq, dim, heads } = dims;
  const source = (x: AttentionInput): AttentionSource =>
    isLookUp(x)
      ? { rows: x.table.data as Float32Array, pos: x.positions.data as Float32Array, ids: x.ids }
      : { rows: x.data as Float32Array, pos: null, ids: null };
  const [qs, ks, vs] = [source(q), source(k), source(v)];
  const out = allocateOutput('f32', batch * tq * dim) as Float32Array;
  const probs = allocateOutput('f32', batch * heads * tq * seq) as Float32Array;
  arrays.attentionForward(out, probs, qs, ks, vs, batch, tq, seq, dim, heads);
  const grad = (t: Tensor) => (t.requiresGrad ? (t.gradBuffer() as Float32Array) : null);
  const target = (x: AttentionInput): AttentionGrad =>
    isLookUp(x) ? { rows: grad(x.table), pos: grad(x.positions) } : { rows: grad(x), pos: null };
  const inputs = [q, k, v].flatMap((x) => (isLookUp(x) ? [x.table, x.positions] : [x]));
  const result = opResult(out, [batch, tq, dim], inputs, (g) => {
    arrays.attentionBackward(
      target(q),
      target(k),
      target(v),
      g as Float32Array,
      probs,
      qs,
      ks,
      vs,
      batch,
      tq,
      seq,
      dim,
      heads,
    );
  });
  return { out: result, probs };
}

// The loops live in plain functions taking arrays as parameters: variables captured by a closure
// are read through its context on every access, which made these loops several times slower.

function attentionForward(qd: Data, kd: Data, vd: Data, out: Data, probs: Data, dims: Dims): void {
  const { batch, tq, seq, dim, heads } = dims;
  const dh = dim / heads;
  const scale = 1 / Math.sqrt(dh);
  const offset = seq - tq;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const base = b * seq * dim + h * dh; // head h's columns in row 0 of sequence b
      for (let i = 0; i < tq; i++) {
        const qo = (b * tq + i) * dim + h * dh;
        const po = ((b * heads + h) * tq + i) * seq;
        const visible = offset + i + 1;
        let max = -Infinity;
        for (let j = 0; j < visible; j++) {
          const ko = base + j * dim;
          let s = 0;
          for (let c = 0; c < dh; c++) s += qd[qo + c] * kd[ko + c];
          s *= scale;
          probs[po + j] = s;
          if (s > max) max = s;
        }
        let z = 0;
        for (let j = 0; j < visible; j++) {
          const e = Math.exp(probs[po + j] - max);
          probs[po + j] = e;
          z += e;
        }
        for (let j = 0; j < visible; j++) {
          const p = probs[po + j] / z;
          probs[po + j] = p;
          const vo = base + j * dim;
          for (let c = 0; c < dh; c++) out[qo + c] += p * vd[vo + c];
        }
      }
    }
  }
}

function attentionBackward(
  g: Data,
  qd: Data,
  kd: Data,
  vd: Data,
  probs: Data,
  gq: Data | null,
  gk: Data | null,
  gv: Data | null,
  dims: Dims,
): void {
  const { batch, tq, seq, dim, heads } = dims;
  const dh = dim / heads;
  const scale = 1 / Math.sqrt(dh);
  const offset = seq - tq;
  const dp = new Float64Array(seq);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const base = b * seq * dim + h * dh;
      for (let i = 0; i < tq; i++) {
        const qo = (b * tq + i) * dim + h * dh;
        const po = ((b * heads + h) * tq + i) * seq;
        const visible = offset + i + 1;
        // dp_j = g_i·v_j, and the softmax adjoint ds_j = p_j (dp_j − Σ p·dp), times the 1/√dh scale.
        let dot = 0;
        for (let j = 0; j < visible; j++) {
          const vo = base + j * dim;
          let s = 0;
          for (let c = 0; c < dh; c++) s += g[qo + c] * vd[vo + c];
          dp[j] = s;
          dot += probs[po + j] * s;
        }
        for (let j = 0; j < visible; j++) dp[j] = probs[po + j] * (dp[j] - dot) * scale;
        for (let j = 0; j < visible; j++) {
          const p = probs[po + j];
          const ds = dp[j];
          const ko = base + j * dim;
          if (gv) for (let c = 0; c < dh; c++) gv[ko + c] += p * g[qo + c];
          if (gq) for (let c = 0; c < dh; c++) gq[qo + c] += ds * kd[ko + c];
          if (gk) for (let c = 0; c < dh; c++) gk[ko + c] += ds * qd[qo + c];
        }
      }
    }
  }
}
