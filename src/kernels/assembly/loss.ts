// Cross-entropy of n×classes logits against integer labels, fused with its softmax.

import { expv, hmax, hsum, logPositive } from './vmath';

/**
 * For each row r of r0..r1: probs[r] = softmax(x[r]) (max subtracted first); returns
 * Σ_r (lse[r] − x[r, labels[r]]) with lse[r] = log Σ_j e^{x[r, j]}, summed in f64 in row order
 * (the caller adds the ranges in order and divides by n). probs may be x (in place).
 */
export function crossEntropyForward(probs: usize, x: usize, labels: usize, n: i32, classes: i32, r0: i32, r1: i32): f64 {
  const rowBytes = <usize>classes << 2;
  const vecEnd = <usize>(classes & ~3) << 2;
  let total: f64 = 0;
  for (let r = r0; r < r1; r++) {
    const xo = x + <usize>r * rowBytes;
    const po = probs + <usize>r * rowBytes;
    const picked = load<f32>(xo + (<usize>load<i32>(labels + (<usize>r << 2)) << 2));
    let o: usize = 0;
    let mv = f32x4.splat(<f32>(-Infinity));
    for (; o < vecEnd; o += 16) mv = f32x4.pmax(mv, v128.load(xo + o));
    let mx = hmax(mv);
    for (; o < rowBytes; o += 4) mx = max(mx, load<f32>(xo + o));
    const m = f32x4.splat(mx);
    let zv = f32x4.splat(0);
    o = 0;
    for (; o < vecEnd; o += 16) {
      const e = expv(f32x4.sub(v128.load(xo + o), m));
      v128.store(po + o, e);
      zv = f32x4.add(zv, e);
    }
    let z = hsum(zv);
    for (; o < rowBytes; o += 4) {
      const e = f32x4.extract_lane(expv(f32x4.splat(load<f32>(xo + o) - mx)), 0);
      store<f32>(po + o, e);
      z += e;
    }
    const zs = f32x4.splat(z);
    o = 0;
    for (; o < vecEnd; o += 16) v128.store(po + o, f32x4.div(v128.load(po + o), zs));
    for (; o < rowBytes; o += 4) store<f32>(po + o, load<f32>(po + o) / z);
    total += <f64>mx + logPositive(<f64>z) - <f64>picked;
  }
  return total;
}

/** gx = s·(probs − onehot(labels)) for rows r0..r1, or gx += … when accumulating; probs from the forward. */
export function crossEntropyBackward(gx: usize, probs: usize, labels: usize, n: i32, classes: i32, s: f32, accumulate: bool, r0: i32, r1: i32): void {
  const rowBytes = <usize>classes << 2;
  const vecEnd = <usize>(classes & ~3) << 2;
  const sv = f32x4.splat(s);
  const one = f32x4.splat(1);
  for (let r = r0; r < r1; r++) {
    const po = probs + <usize>r * rowBytes;
    const go = gx + <usize>r * rowBytes;
    const label = i32x4.splat(load<i32>(labels + (<usize>r << 2)));
    let index = i32x4(0, 1, 2, 3);
    let o: usize = 0;
    for (; o < vecEnd; o += 16) {
      const onehot = v128.and(i32x4.eq(index, label), one);
      let d = f32x4.mul(sv, f32x4.sub(v128.load(po + o), onehot));
      if (accumulate) d = f32x4.add(v128.load(go + o), d);
      v128.store(go + o, d);
      index = i32x4.add(index, i32x4.splat(4));
    }
    for (; o < rowBytes; o += 4) {
      const onehot = v128.and(i32x4.eq(index, label), one);
      let d = f32x4.mul(sv, f32x4.sub(f32x4.splat(load<f32>(po + o)), onehot));
      if (accumulate) d = f32x4.add(f32x4.splat(load<f32>(go + o)), d);
      store<f32>(go + o, f32x4.extract_lane(d, 0));
      index = i32x4.add(index, i32x4.splat(1));
    }
  }
}
