/**
 * Fused multi-head causal attention, forward and backward (src/kernels/assembly/attention.ts). Head
 * h uses columns h·D/H … (h+1)·D/H − 1; query i of the last tq positions sits at absolute position
 * seq − tq + i and sees keys 0 … seq − tq + i.
 */
import type { Data } from '../tensor.ts';
import { embeddingKernels } from './embedding.ts';
import { ids, inout, input, kernel, output, WORKSPACE } from './spec.ts';

/**
 * q, k or v rows for the attention kernels: `rows` itself, dense [batch, R, dim] (ids null), or
 * looked up: row (b, r) at absolute position t = seq − R + r is rows[ids[b·seq + t]] + pos[t]
 * (pos may be null), so that embedding-table rows need not be materialized.
 */
export interface AttentionSource<A extends Data = Float32Array> {
  rows: A;
  pos: A | null;
  ids: Int32Array | null;
}

/** Where an AttentionSource's gradient goes: same layout (rows: dense or table; pos), null: not wanted. */
export interface AttentionGrad<A extends Data = Float32Array> {
  rows: A | null;
  pos: A | null;
}

const embedRows = embeddingKernels.embedRows.reference;
const embedRowsBackward = embeddingKernels.embedRowsBackward.reference;

/** A zero-filled array of x's type. */
function zerosLike(x: Data, length: number): Data {
  return x instanceof Float32Array ? new Float32Array(length) : new Float64Array(length);
}

/** A source's rows as a dense [batch, rows, dim] array (look-ups materialized). */
function denseRows(x: AttentionSource<Data>, batch: number, rows: number, seq: number, dim: number): Data {
  if (x.ids === null) return x.rows;
  const out = zerosLike(x.rows, batch * rows * dim);
  embedRows(out, x.rows, x.pos, x.ids, batch, seq, seq - rows, dim);
  return out;
}

/**
 * out = softmax(q·kᵀ/√dh, causal)·v per head, [batch, tq, dim], written (not added); probs
 * [batch, heads, tq, seq] gets the probabilities, zeros where a key is in a query's future.
 */
function attentionForward(
  out: Data,
  probs: Data,
  q: AttentionSource<Data>,
  k: AttentionSource<Data>,
  v: AttentionSource<Data>,
  batch: number,
  tq: number,
  seq: number,
  dim: number,
  heads: number,
): void {
  const qd = denseRows(q, batch, tq, seq, dim);
  const kd = denseRows(k, batch, seq, seq, dim);
  const vd = denseRows(v, batch, seq, seq, dim);
  out.fill(0, 0, batch * tq * dim);
  probs.fill(0, 0, batch * heads * tq * seq);
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

/**
 * Adds the gradients of attentionForward's out (g, dense [batch, tq, dim]) into the targets of q, k
 * and v: dense rows directly, look-ups through their ids into table rows and positions.
 */
function attentionBackward(
  gq: AttentionGrad<Data>,
  gk: AttentionGrad<Data>,
  gv: AttentionGrad<Data>,
  g: Data,
  probs: Data,
  q: AttentionSource<Data>,
  k: AttentionSource<Data>,
  v: AttentionSource<Data>,
  batch: number,
  tq: number,
  seq: number,
  dim: number,
  heads: number,
): void {
  const qd = denseRows(q, batch, tq, seq, dim);
  const kd = denseRows(k, batch, seq, seq, dim);
  const vd = denseRows(v, batch, seq, seq, dim);
  // Dense gradients: a dense source's own target, else scratch scattered into the look-ups after.
  const target = (t: AttentionGrad<Data>, x: AttentionSource<Data>, rows: number): Data | null => {
    if (t.rows === null && t.pos === null) return null;
    return x.ids === null ? t.rows : zerosLike(g, batch * rows * dim);
  };
  const [dq, dk, dv] = [target(gq, q, tq), target(gk, k, seq), target(gv, v, seq)];
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
          if (dv) for (let c = 0; c < dh; c++) dv[ko + c] += p * g[qo + c];
          if (dq) for (let c = 0; c < dh; c++) dq[qo + c] += ds * kd[ko + c];
          if (dk) for (let c = 0; c < dh; c++) dk[ko + c] += ds * qd[qo + c];
        }
      }
    }
  }
  const scatter = (t: AttentionGrad<Data>, x: AttentionSource<Data>, d: Data | null, rows: number) => {
    if (d !== null && x.ids !== null) embedRowsBackward(t.rows, t.pos, d, x.ids, batch, seq, seq - rows, dim);
  };
  scatter(gq, q, dq, tq);
  scatter(gk, k, dk, seq);
  scatter(gv, v, dv, seq);
}

/** The three arguments of a source: rows (dense or table), positions, ids. */
function sourceArgs(x: AttentionSource<Data>, batch: number, rows: number, seq: number, dim: number) {
  return [
    input(x.rows, x.ids === null ? batch * rows * dim : undefined),
    input(x.pos, seq * dim),
    ids(x.ids, batch * seq, Math.floor(x.rows.length / dim)),
  ] as const;
}

/** The two arguments of a gradient target, which has its source's layout. */
function gradArgs(t: AttentionGrad<Data>, x: AttentionSource<Data>, what: string) {
  if (t.pos !== null && (x.pos === null || x.ids === null)) {
    throw new RangeError(`attentionBackward: ${what} positions gradient without positions`);
  }
  return [inout(t.rows, x.rows.length), inout(t.pos, x.pos?.length)] as const;
}

export const attentionKernels = {
  attentionForward: kernel({
    reference: attentionForward,
    threads: 'ranges',
    wasm: (out, probs, q, k, v, batch, tq, seq, dim, heads) => {
      const [qb, qp, qi] = sourceArgs(q, batch, tq, seq, dim);
      const [kb, kp, ki] = sourceArgs(k, batch, seq, seq, dim);
      const [vb, vp, vi] = sourceArgs(v, batch, seq, seq, dim);
      return {
        args: {
          out: output(out, batch * tq * dim),
          probs: output(probs, batch * heads * tq * seq),
          // Scratch (a query row, the scores): each thread's packing workspace, idle between products.
          work: WORKSPACE,
          qb,
          qp,
          qi,
          kb,
          kp,
          ki,
          vb,
          vp,
          vi,
          batch,
          tq,
          seq,
          dim,
          heads,
        },
        workspace: dim + 4 * seq + 8,
        split: { over: batch, work: batch * tq * seq * dim },
      };
    },
  }),
  attentionBackward: kernel({
    reference: attentionBackward,
    threads: 'none',
    wasm: (gq, gk, gv, g, probs, q, k, v, batch, tq, seq, dim, heads) => {
      const [gqb, gqp] = gradArgs(gq, q, 'q');
      const [gkb, gkp] = gradArgs(gk, k, 'k');
      const [gvb, gvp] = gradArgs(gv, v, 'v');
      const [qb, qp, qi] = sourceArgs(q, batch, tq, seq, dim);
      const [kb, kp, ki] = sourceArgs(k, batch, seq, seq, dim);
      const [vb, vp, vi] = sourceArgs(v, batch, seq, seq, dim);
      return {
        args: {
          gqb,
          gqp,
          gkb,
          gkp,
          gvb,
          gvp,
          g: input(g, batch * tq * dim),
          probs: input(probs, batch * heads * tq * seq),
          work: WORKSPACE,
          qb,
          qp,
          qi,
          kb,
          kp,
          ki,
          vb,
          vp,
          vi,
          batch,
          tq,
          seq,
          dim,
          heads,
        },
        workspace: dim + 12 * seq + 8,
      };
    },
  }),
};
