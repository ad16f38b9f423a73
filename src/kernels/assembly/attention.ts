// Fused multi-head causal attention, forward and backward (see the reference,
// src/engine/kernel-table/attention.ts, for the layout): queries are the last tq of seq positions, head h owns columns h·dh … (h+1)·dh − 1,
// out is [batch, tq, dim], probs is [batch, heads, tq, seq].
//
// q, k and v are each given as a row source (base, pos, ids): with ids = 0, a dense
// [batch, rows, dim] array at base; otherwise the row at absolute position t of sequence b is
// base[ids[b·seq + t]] + pos[t] (pos may be 0): an embedding-table look-up done on the fly, so
// that the rows are never materialized. Gradients go to (gBase, gPos) with the same addressing
// (either may be 0: not wanted).

import { expv } from './vmath';

/** Byte offset of row r (absolute position t = seq − rows + r) of sequence b in a row source. */
@inline
function rowAt(base: usize, ids: usize, b: i32, r: i32, rows: i32, seq: i32, rowBytes: usize): usize {
  if (ids == 0) return base + <usize>(b * rows + r) * rowBytes;
  const t = seq - rows + r;
  return base + <usize>load<i32>(ids + (<usize>(b * seq + t) << 2)) * rowBytes;
}

/** Byte offset of the positional row for row r of a source with `rows` rows (0 without one). */
@inline
function posAt(pos: usize, ids: usize, r: i32, rows: i32, seq: i32, rowBytes: usize): usize {
  return ids != 0 && pos != 0 ? pos + <usize>(seq - rows + r) * rowBytes : 0;
}

/** x[o..o+16) (+ xp[o..o+16) when xp is not 0). */
@inline
function ld(x: usize, xp: usize, o: usize): v128 {
  return xp != 0 ? f32x4.add(v128.load(x + o), v128.load(xp + o)) : v128.load(x + o);
}

@inline
function ld1(x: usize, xp: usize, o: usize): f32 {
  return xp != 0 ? load<f32>(x + o) + load<f32>(xp + o) : load<f32>(x + o);
}

/** Σ_c (x + xp)[c]·(y + yp)[c] over n floats: four lanes of partial sums, then the tail. */
@inline
function dot(x: usize, xp: usize, y: usize, yp: usize, n: i32): f32 {
  const end = <usize>n << 2;
  const vecEnd = <usize>(n & ~3) << 2;
  let acc = f32x4.splat(0);
  let o: usize = 0;
  for (; o < vecEnd; o += 16) acc = f32x4.add(acc, f32x4.mul(ld(x, xp, o), ld(y, yp, o)));
  let s = hsum(acc);
  for (; o < end; o += 4) s += ld1(x, xp, o) * ld1(y, yp, o);
  return s;
}

/** dst[c] += a·(x + xp)[c] over n floats (nothing when dst is 0). */
@inline
function axpy(dst: usize, a: f32, x: usize, xp: usize, n: i32): void {
  if (dst == 0) return;
  const end = <usize>n << 2;
  const vecEnd = <usize>(n & ~3) << 2;
  const av = f32x4.splat(a);
  let o: usize = 0;
  for (; o < vecEnd; o += 16) v128.store(dst + o, f32x4.add(v128.load(dst + o), f32x4.mul(av, ld(x, xp, o))));
  for (; o < end; o += 4) store<f32>(dst + o, load<f32>(dst + o) + a * ld1(x, xp, o));
}

/** dst[c] += t and dst2[c] += t for t = a·x[c] (each skipped when 0): one product, two targets. */
@inline
function axpy2(dst: usize, dst2: usize, a: f32, x: usize, xp: usize, n: i32): void {
  if (dst2 == 0) {
    axpy(dst, a, x, xp, n);
    return;
  }
  if (dst == 0) {
    axpy(dst2, a, x, xp, n);
    return;
  }
  const end = <usize>n << 2;
  const vecEnd = <usize>(n & ~3) << 2;
  const av = f32x4.splat(a);
  let o: usize = 0;
  for (; o < vecEnd; o += 16) {
    const t = f32x4.mul(av, ld(x, xp, o));
    v128.store(dst + o, f32x4.add(v128.load(dst + o), t));
    v128.store(dst2 + o, f32x4.add(v128.load(dst2 + o), t));
  }
  for (; o < end; o += 4) {
    const t = a * ld1(x, xp, o);
    store<f32>(dst + o, load<f32>(dst + o) + t);
    store<f32>(dst2 + o, load<f32>(dst2 + o) + t);
  }
}

/** dst[c] = a·(x + xp)[c] over n floats. */
@inline
function scaled(dst: usize, a: f32, x: usize, xp: usize, n: i32): void {
  const end = <usize>n << 2;
  const vecEnd = <usize>(n & ~3) << 2;
  const av = f32x4.splat(a);
  let o: usize = 0;
  for (; o < vecEnd; o += 16) v128.store(dst + o, f32x4.mul(av, ld(x, xp, o)));
  for (; o < end; o += 4) store<f32>(dst + o, a * ld1(x, xp, o));
}

/** dst[0..n) = x + xp (xp may be 0): a looked-up row materialized once per query. */
@inline
function rowCopy(dst: usize, x: usize, xp: usize, n: i32): void {
  const end = <usize>n << 2;
  const vecEnd = <usize>(n & ~3) << 2;
  let o: usize = 0;
  for (; o < vecEnd; o += 16) v128.store(dst + o, ld(x, xp, o));
  for (; o < end; o += 4) store<f32>(dst + o, ld1(x, xp, o));
}

/** Per-lane partial sums of (x + xp)·(y + yp) over n floats; the tail is added into lane 0. */
@inline
function dotv(x: usize, xp: usize, y: usize, yp: usize, n: i32): v128 {
  const end = <usize>n << 2;
  const vecEnd = <usize>(n & ~3) << 2;
  let acc = f32x4.splat(0);
  let o: usize = 0;
  for (; o < vecEnd; o += 16) acc = f32x4.add(acc, f32x4.mul(ld(x, xp, o), ld(y, yp, o)));
  if (o < end) {
    let t: f32 = 0;
    for (; o < end; o += 4) t += ld1(x, xp, o) * ld1(y, yp, o);
    acc = f32x4.add(acc, f32x4.replace_lane(f32x4.splat(0), 0, t));
  }
  return acc;
}

/** [Σ lanes of a0, Σ lanes of a1, Σ lanes of a2, Σ lanes of a3], by a 4×4 transpose. */
@inline
function reduce4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t0 = f32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7));
  const t1 = f32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return f32x4.add(i64x2.shuffle(t0, t1, 0, 2), i64x2.shuffle(t0, t1, 1, 3));
}

/**
 * Dot products of head columns for up to four heads at once (lane l: head h0 + l; lanes past
 * `lanes` are 0): x and y are rows (with optional positional rows xp, yp), heads dh floats wide.
 */
@inline
function dots4(x: usize, xp: usize, y: usize, yp: usize, h0: i32, lanes: i32, dh: i32): v128 {
  const hb = <usize>dh << 2;
  const c0 = <usize>h0 * hb;
  const zero = f32x4.splat(0);
  const a0 = dotv(x + c0, col(xp, c0), y + c0, col(yp, c0), dh);
  const a1 = lanes > 1 ? dotv(x + c0 + hb, col(xp, c0 + hb), y + c0 + hb, col(yp, c0 + hb), dh) : zero;
  const a2 = lanes > 2 ? dotv(x + c0 + 2 * hb, col(xp, c0 + 2 * hb), y + c0 + 2 * hb, col(yp, c0 + 2 * hb), dh) : zero;
  const a3 = lanes > 3 ? dotv(x + c0 + 3 * hb, col(xp, c0 + 3 * hb), y + c0 + 3 * hb, col(yp, c0 + 3 * hb), dh) : zero;
  return reduce4(a0, a1, a2, a3);
}

/** Head columns at byte offset hc of a row (0 stays 0). */
@inline
function col(row: usize, hc: usize): usize {
  return row != 0 ? row + hc : 0;
}

/**
 * out = softmax(q·kᵀ/√dh, causal)·v per head, written (not added) into out; probs gets the
 * probabilities, zeros where a key is in a query's future; sequences b0..b1. `work` holds
 * dim + 4·seq floats.
 *
 * Heads go four at a time, one per lane: the scores of a key for four heads form one vector, so
 * the softmax over keys (max, exponentials, normalizer) is lane-parallel, without the long
 * dependent chain a single head's softmax is.
 */
export function attentionForward(
  out: usize,
  probs: usize,
  work: usize,
  qb: usize,
  qp: usize,
  qi: usize,
  kb: usize,
  kp: usize,
  ki: usize,
  vb: usize,
  vp: usize,
  vi: usize,
  batch: i32,
  tq: i32,
  seq: i32,
  dim: i32,
  heads: i32,
  b0: i32,
  b1: i32,
): void {
  const dh = dim / heads;
  const scale = f32x4.splat(<f32>(1 / Math.sqrt(<f64>dh)));
  const offset = seq - tq;
  const rowBytes = <usize>dim << 2;
  const headBytes = <usize>dh << 2;
  const scores = work + rowBytes;
  for (let b = b0; b < b1; b++) {
    for (let i = 0; i < tq; i++) {
      // The query row, looked up once for all heads and keys.
      const qPos = posAt(qp, qi, i, tq, seq, rowBytes);
      let qRow = rowAt(qb, qi, b, i, tq, seq, rowBytes);
      if (qPos != 0) {
        rowCopy(work, qRow, qPos, dim);
        qRow = work;
      }
      const outRow = out + <usize>(b * tq + i) * rowBytes;
      const visible = offset + i + 1;
      for (let h0 = 0; h0 < heads; h0 += 4) {
        const lanes = min(4, heads - h0);
        let mx = f32x4.splat(<f32>(-Infinity));
        for (let j = 0; j < visible; j++) {
          const kr = rowAt(kb, ki, b, j, seq, seq, rowBytes);
          const kpr = posAt(kp, ki, j, seq, seq, rowBytes);
          const s = f32x4.mul(dots4(qRow, 0, kr, kpr, h0, lanes, dh), scale);
          v128.store(scores + (<usize>j << 4), s);
          mx = f32x4.pmax(mx, s);
        }
        let z = f32x4.splat(0);
        for (let j = 0; j < visible; j++) {
          const at = scores + (<usize>j << 4);
          const e = expv(f32x4.sub(v128.load(at), mx));
          v128.store(at, e);
          z = f32x4.add(z, e);
        }
        for (let j = 0; j < visible; j++) {
          const at = scores + (<usize>j << 4);
          v128.store(at, f32x4.div(v128.load(at), z));
        }
        for (let l = 0; l < lanes; l++) {
          const h = h0 + l;
          const hc = <usize>h * headBytes;
          const po = probs + (<usize>((b * heads + h) * tq + i) * seq << 2);
          const oo = outRow + hc;
          for (let j = 0; j < visible; j++) {
            const p = load<f32>(scores + (<usize>j << 4) + (<usize>l << 2));
            store<f32>(po + (<usize>j << 2), p);
            const vr = rowAt(vb, vi, b, j, seq, seq, rowBytes) + hc;
            const vpr = col(posAt(vp, vi, j, seq, seq, rowBytes), hc);
            if (j == 0) scaled(oo, p, vr, vpr, dh);
            else axpy(oo, p, vr, vpr, dh);
          }
          for (let j = visible; j < seq; j++) store<f32>(po + (<usize>j << 2), 0);
        }
      }
    }
  }
}

/**
 * Adds the gradients of attentionForward's out (g, dense [batch, tq, dim]) into the gradient
 * targets of q, k and v (gqb/gqp, gkb/gkp, gvb/gvp; each 0 when not wanted). `work` holds
 * dim + 12·seq floats of scratch. Heads go four at a time as in the forward pass.
 */
export function attentionBackward(
  gqb: usize,
  gqp: usize,
  gkb: usize,
  gkp: usize,
  gvb: usize,
  gvp: usize,
  g: usize,
  probs: usize,
  work: usize,
  qb: usize,
  qp: usize,
  qi: usize,
  kb: usize,
  kp: usize,
  ki: usize,
  vb: usize,
  vp: usize,
  vi: usize,
  batch: i32,
  tq: i32,
  seq: i32,
  dim: i32,
  heads: i32,
): void {
  const dh = dim / heads;
  const scale = f32x4.splat(<f32>(1 / Math.sqrt(<f64>dh)));
  const offset = seq - tq;
  const rowBytes = <usize>dim << 2;
  const headBytes = <usize>dh << 2;
  const seqBytes = <usize>seq << 4;
  const dps = work + rowBytes; // per key: g·v for four heads
  const pv = dps + seqBytes; // per key: the probabilities of four heads
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < tq; i++) {
      const qPos = posAt(qp, qi, i, tq, seq, rowBytes);
      let qRow = rowAt(qb, qi, b, i, tq, seq, rowBytes);
      if (qPos != 0) {
        rowCopy(work, qRow, qPos, dim);
        qRow = work;
      }
      const gqRow = gqb != 0 ? rowAt(gqb, qi, b, i, tq, seq, rowBytes) : 0;
      const gqPos = posAt(gqp, qi, i, tq, seq, rowBytes);
      const gRow = g + <usize>(b * tq + i) * rowBytes;
      const visible = offset + i + 1;
      for (let h0 = 0; h0 < heads; h0 += 4) {
        const lanes = min(4, heads - h0);
        // dp_j = g·v_j; the softmax adjoint ds_j = p_j (dp_j − Σ p·dp), times the 1/√dh scale.
        for (let l = 0; l < 4; l++) {
          const po = probs + (<usize>((b * heads + h0 + l) * tq + i) * seq << 2);
          for (let j = 0; j < visible; j++) {
            store<f32>(pv + (<usize>j << 4) + (<usize>l << 2), l < lanes ? load<f32>(po + (<usize>j << 2)) : 0);
          }
        }
        let total = f32x4.splat(0);
        for (let j = 0; j < visible; j++) {
          const vr = rowAt(vb, vi, b, j, seq, seq, rowBytes);
          const vpr = posAt(vp, vi, j, seq, seq, rowBytes);
          const dp = dots4(gRow, 0, vr, vpr, h0, lanes, dh);
          v128.store(dps + (<usize>j << 4), dp);
          total = f32x4.add(total, f32x4.mul(v128.load(pv + (<usize>j << 4)), dp));
        }
        for (let j = 0; j < visible; j++) {
          const at = dps + (<usize>j << 4);
          const p = v128.load(pv + (<usize>j << 4));
          v128.store(at, f32x4.mul(f32x4.mul(p, f32x4.sub(v128.load(at), total)), scale));
        }
        for (let l = 0; l < lanes; l++) {
          const hc = <usize>(h0 + l) * headBytes;
          const qo = qRow + hc;
          const go = gRow + hc;
          for (let j = 0; j < visible; j++) {
            const p = load<f32>(pv + (<usize>j << 4) + (<usize>l << 2));
            const ds = load<f32>(dps + (<usize>j << 4) + (<usize>l << 2));
            const gv = gvb != 0 ? rowAt(gvb, vi, b, j, seq, seq, rowBytes) + hc : 0;
            axpy2(gv, col(posAt(gvp, vi, j, seq, seq, rowBytes), hc), p, go, 0, dh);
            const kr = rowAt(kb, ki, b, j, seq, seq, rowBytes) + hc;
            const kpr = col(posAt(kp, ki, j, seq, seq, rowBytes), hc);
            axpy2(col(gqRow, hc), col(gqPos, hc), ds, kr, kpr, dh);
            const gk = gkb != 0 ? rowAt(gkb, ki, b, j, seq, seq, rowBytes) + hc : 0;
            axpy2(gk, col(posAt(gkp, ki, j, seq, seq, rowBytes), hc), ds, qo, 0, dh);
          }
        }
      }
    }
  }
}
