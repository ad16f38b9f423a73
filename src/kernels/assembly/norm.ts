// LayerNorm over the rows of a rows×dim matrix, with learned gain and bias (reference:
// src/engine/kernel-table/norm.ts). Row statistics are summed in four lanes and finished in f64.

import { hsum } from './vmath';

/** Σ x over n floats at p, in four lanes then the tail. */
@inline
function rowSum(p: usize, n: i32): f32 {
  const end = <usize>n << 2;
  const vecEnd = <usize>(n & ~3) << 2;
  let acc = f32x4.splat(0);
  let o: usize = 0;
  for (; o < vecEnd; o += 16) acc = f32x4.add(acc, v128.load(p + o));
  let s = hsum(acc);
  for (; o < end; o += 4) s += load<f32>(p + o);
  return s;
}

/** Σ (x − mu)² over n floats at p. */
@inline
function rowSquares(p: usize, mu: f32, n: i32): f32 {
  const end = <usize>n << 2;
  const vecEnd = <usize>(n & ~3) << 2;
  const m = f32x4.splat(mu);
  let acc = f32x4.splat(0);
  let o: usize = 0;
  for (; o < vecEnd; o += 16) {
    const d = f32x4.sub(v128.load(p + o), m);
    acc = f32x4.add(acc, f32x4.mul(d, d));
  }
  let s = hsum(acc);
  for (; o < end; o += 4) {
    const d = load<f32>(p + o) - mu;
    s += d * d;
  }
  return s;
}

/**
 * normed = (x − mean)/√(var + eps) per row, out = normed·gain + bias; invStd[r] = 1/√(var + eps).
 * out, normed and invStd are written, for rows r0..r1.
 */
export function layerNormForward(out: usize, normed: usize, invStd: usize, x: usize, gain: usize, bias: usize, rows: i32, dim: i32, eps: f32, r0: i32, r1: i32): void {
  const rowBytes = <usize>dim << 2;
  const end = rowBytes;
  const vecEnd = <usize>(dim & ~3) << 2;
  for (let r = r0; r < r1; r++) {
    const xo = x + <usize>r * rowBytes;
    const no = normed + <usize>r * rowBytes;
    const oo = out + <usize>r * rowBytes;
    const mu = <f32>(<f64>rowSum(xo, dim) / dim);
    const variance = <f64>rowSquares(xo, mu, dim) / dim;
    const inv = <f32>(1 / Math.sqrt(variance + <f64>eps));
    store<f32>(invStd + (<usize>r << 2), inv);
    const m = f32x4.splat(mu);
    const iv = f32x4.splat(inv);
    let o: usize = 0;
    for (; o < vecEnd; o += 16) {
      const n = f32x4.mul(f32x4.sub(v128.load(xo + o), m), iv);
      v128.store(no + o, n);
      v128.store(oo + o, f32x4.add(f32x4.mul(n, v128.load(gain + o)), v128.load(bias + o)));
    }
    for (; o < end; o += 4) {
      const n = (load<f32>(xo + o) - mu) * inv;
      store<f32>(no + o, n);
      store<f32>(oo + o, n * load<f32>(gain + o) + load<f32>(bias + o));
    }
  }
}

/**
 * Adds LayerNorm's gradients: gGain += Σ_r g⊙normed, gBias += Σ_r g (each skipped when 0), and
 * gx += invStd/D · (D·ĝ − Σĝ − normed·Σ(ĝ⊙normed)) with ĝ = g⊙gain (skipped when gx is 0).
 */
export function layerNormBackward(gx: usize, gGain: usize, gBias: usize, g: usize, normed: usize, invStd: usize, gain: usize, rows: i32, dim: i32): void {
  const rowBytes = <usize>dim << 2;
  const end = rowBytes;
  const vecEnd = <usize>(dim & ~3) << 2;
  for (let r = 0; r < rows; r++) {
    const go = g + <usize>r * rowBytes;
    const no = normed + <usize>r * rowBytes;
    let o: usize = 0;
    if (gGain != 0 || gBias != 0) {
      for (; o < vecEnd; o += 16) {
        const gv = v128.load(go + o);
        if (gGain != 0) v128.store(gGain + o, f32x4.add(v128.load(gGain + o), f32x4.mul(gv, v128.load(no + o))));
        if (gBias != 0) v128.store(gBias + o, f32x4.add(v128.load(gBias + o), gv));
      }
      for (; o < end; o += 4) {
        const gs = load<f32>(go + o);
        if (gGain != 0) store<f32>(gGain + o, load<f32>(gGain + o) + gs * load<f32>(no + o));
        if (gBias != 0) store<f32>(gBias + o, load<f32>(gBias + o) + gs);
      }
    }
    if (gx == 0) continue;
    let sg = f32x4.splat(0);
    let sgn = f32x4.splat(0);
    o = 0;
    for (; o < vecEnd; o += 16) {
      const gh = f32x4.mul(v128.load(go + o), v128.load(gain + o));
      sg = f32x4.add(sg, gh);
      sgn = f32x4.add(sgn, f32x4.mul(gh, v128.load(no + o)));
    }
    let sumG = hsum(sg);
    let sumGN = hsum(sgn);
    for (; o < end; o += 4) {
      const gh = load<f32>(go + o) * load<f32>(gain + o);
      sumG += gh;
      sumGN += gh * load<f32>(no + o);
    }
    const k = load<f32>(invStd + (<usize>r << 2)) / <f32>dim;
    const xo = gx + <usize>r * rowBytes;
    const kv = f32x4.splat(k);
    const dv = f32x4.splat(<f32>dim);
    const sgv = f32x4.splat(sumG);
    const sgnv = f32x4.splat(sumGN);
    o = 0;
    for (; o < vecEnd; o += 16) {
      const gh = f32x4.mul(v128.load(go + o), v128.load(gain + o));
      const t = f32x4.sub(f32x4.sub(f32x4.mul(dv, gh), sgv), f32x4.mul(v128.load(no + o), sgnv));
      v128.store(xo + o, f32x4.add(v128.load(xo + o), f32x4.mul(kv, t)));
    }
    for (; o < end; o += 4) {
      const gh = load<f32>(go + o) * load<f32>(gain + o);
      const t = <f32>dim * gh - sumG - load<f32>(no + o) * sumGN;
      store<f32>(xo + o, load<f32>(xo + o) + k * t);
    }
  }
}
