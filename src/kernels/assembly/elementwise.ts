// Elementwise kernels of the training step: bias adds with the activation that follows them, the
// activations' adjoints, broadcast adds, accumulation and column sums. Arguments are byte offsets
// of f32 arrays (4-byte aligned) and element counts; every loop runs four lanes at a time and
// finishes the tail through the same lane function, so results do not depend on where a vector
// starts.

import { ACT_GELU, ACT_NONE, ACT_RELU, ACT_SQUARE } from './activations';
import { expv, tanhv } from './vmath';

const GELU_C: f32 = 0.7978845608028654; // √(2/π)
const GELU_A: f32 = 0.044715;

@inline
function gelu(x: v128): v128 {
  const x3 = f32x4.mul(f32x4.mul(x, x), x);
  const t = tanhv(f32x4.mul(f32x4.splat(GELU_C), f32x4.add(x, f32x4.mul(f32x4.splat(GELU_A), x3))));
  return f32x4.mul(f32x4.mul(f32x4.splat(0.5), x), f32x4.add(f32x4.splat(1), t));
}

@inline
function geluDerivative(x: v128): v128 {
  const x2 = f32x4.mul(x, x);
  const inner = f32x4.mul(f32x4.splat(GELU_C), f32x4.add(x, f32x4.mul(f32x4.splat(GELU_A), f32x4.mul(x2, x))));
  const t = tanhv(inner);
  const dInner = f32x4.mul(f32x4.splat(GELU_C), f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(3 * GELU_A), x2)));
  const half = f32x4.splat(0.5);
  const left = f32x4.mul(half, f32x4.add(f32x4.splat(1), t));
  const right = f32x4.mul(f32x4.mul(half, x), f32x4.mul(f32x4.sub(f32x4.splat(1), f32x4.mul(t, t)), dInner));
  return f32x4.add(left, right);
}

/** act(x) per lane; `act` is a constant wherever this is inlined, so the branches fold away. */
@inline
function activation(x: v128, act: i32): v128 {
  if (act == ACT_RELU) return f32x4.max(x, f32x4.splat(0));
  if (act == ACT_SQUARE) return f32x4.mul(x, x);
  if (act == ACT_GELU) return gelu(x);
  return x;
}

/** g·act′(x) per lane. */
@inline
function adjoint(g: v128, x: v128, act: i32): v128 {
  if (act == ACT_RELU) return v128.and(g, f32x4.gt(x, f32x4.splat(0)));
  if (act == ACT_SQUARE) return f32x4.mul(f32x4.mul(f32x4.splat(2), x), g);
  if (act == ACT_GELU) return f32x4.mul(g, geluDerivative(x));
  return g;
}

@inline
function biasActLoop(pre: usize, post: usize, bias: usize, cols: i32, act: i32, r0: i32, r1: i32): void {
  const rowBytes = <usize>cols << 2;
  const vecEnd = <usize>(cols & ~3) << 2;
  for (let i = r0; i < r1; i++) {
    const x = pre + <usize>i * rowBytes;
    const y = post + <usize>i * rowBytes;
    let o: usize = 0;
    for (; o < vecEnd; o += 16) {
      let v = v128.load(x + o);
      if (bias != 0) {
        v = f32x4.add(v, v128.load(bias + o));
        v128.store(x + o, v);
      }
      if (post != 0) v128.store(y + o, activation(v, act));
    }
    for (; o < rowBytes; o += 4) {
      let v = f32x4.splat(load<f32>(x + o));
      if (bias != 0) {
        v = f32x4.add(v, f32x4.splat(load<f32>(bias + o)));
        store<f32>(x + o, f32x4.extract_lane(v, 0));
      }
      if (post != 0) store<f32>(y + o, f32x4.extract_lane(activation(v, act), 0));
    }
  }
}

/**
 * For rows r0..r1 of a rows×cols matrix `pre`: pre += bias (each row; skipped when bias is 0),
 * then post = act(pre) (skipped when post is 0; post may be pre). The epilogue of x·W + b and its
 * activation.
 */
export function biasAct(pre: usize, post: usize, bias: usize, rows: i32, cols: i32, act: i32, r0: i32, r1: i32): void {
  if (act == ACT_RELU) biasActLoop(pre, post, bias, cols, ACT_RELU, r0, r1);
  else if (act == ACT_SQUARE) biasActLoop(pre, post, bias, cols, ACT_SQUARE, r0, r1);
  else if (act == ACT_GELU) biasActLoop(pre, post, bias, cols, ACT_GELU, r0, r1);
  else biasActLoop(pre, post, bias, cols, ACT_NONE, r0, r1);
}

@inline
function actBackwardLoop(gx: usize, g: usize, x: usize, rows: i32, cols: i32, act: i32, accumulate: bool, sums: usize, c0: i32, c1: i32): void {
  const rowBytes = <usize>cols << 2;
  const first = <usize>c0 << 2;
  const end = <usize>c1 << 2;
  const vecEnd = first + (<usize>((c1 - c0) & ~3) << 2);
  for (let i = 0; i < rows; i++) {
    const base = <usize>i * rowBytes;
    let o = first;
    for (; o < vecEnd; o += 16) {
      let d = adjoint(v128.load(g + base + o), v128.load(x + base + o), act);
      if (sums != 0) v128.store(sums + o, f32x4.add(v128.load(sums + o), d));
      if (accumulate) d = f32x4.add(v128.load(gx + base + o), d);
      v128.store(gx + base + o, d);
    }
    for (; o < end; o += 4) {
      let d = adjoint(f32x4.splat(load<f32>(g + base + o)), f32x4.splat(load<f32>(x + base + o)), act);
      if (sums != 0) store<f32>(sums + o, load<f32>(sums + o) + f32x4.extract_lane(d, 0));
      if (accumulate) d = f32x4.add(f32x4.splat(load<f32>(gx + base + o)), d);
      store<f32>(gx + base + o, f32x4.extract_lane(d, 0));
    }
  }
}

/**
 * For columns c0..c1 of rows×cols matrices: gx = g·act′(x), or gx += g·act′(x) when
 * accumulating; and, when sums is not 0, sums[j] += Σ_i g·act′(x) over the rows, in row order (a
 * bias gradient: the same sums colSums would make of the result, in the same pass).
 */
export function actBackward(gx: usize, g: usize, x: usize, rows: i32, cols: i32, act: i32, accumulate: bool, sums: usize, c0: i32, c1: i32): void {
  if (act == ACT_RELU) {
    if (accumulate) actBackwardLoop(gx, g, x, rows, cols, ACT_RELU, true, sums, c0, c1);
    else actBackwardLoop(gx, g, x, rows, cols, ACT_RELU, false, sums, c0, c1);
  } else if (act == ACT_SQUARE) {
    if (accumulate) actBackwardLoop(gx, g, x, rows, cols, ACT_SQUARE, true, sums, c0, c1);
    else actBackwardLoop(gx, g, x, rows, cols, ACT_SQUARE, false, sums, c0, c1);
  } else if (act == ACT_GELU) {
    if (accumulate) actBackwardLoop(gx, g, x, rows, cols, ACT_GELU, true, sums, c0, c1);
    else actBackwardLoop(gx, g, x, rows, cols, ACT_GELU, false, sums, c0, c1);
  } else if (accumulate) actBackwardLoop(gx, g, x, rows, cols, ACT_NONE, true, sums, c0, c1);
  else actBackwardLoop(gx, g, x, rows, cols, ACT_NONE, false, sums, c0, c1);
}

/**
 * out[i] = a[i] + b[i mod m] for the blocks r0..r1 of m elements each (n = blocks·m): a bias or a
 * table repeated along rows.
 */
export function addRepeat(out: usize, a: usize, b: usize, n: i32, m: i32, r0: i32, r1: i32): void {
  const blockBytes = <usize>m << 2;
  const vecEnd = <usize>(m & ~3) << 2;
  for (let i = r0; i < r1; i++) {
    const base = <usize>i * blockBytes;
    let o: usize = 0;
    for (; o < vecEnd; o += 16) v128.store(out + base + o, f32x4.add(v128.load(a + base + o), v128.load(b + o)));
    for (; o < blockBytes; o += 4) store<f32>(out + base + o, load<f32>(a + base + o) + load<f32>(b + o));
  }
}

/** dst[i] += src[i] for i < n. */
export function accumulate(dst: usize, src: usize, n: i32): void {
  const end = <usize>n << 2;
  const vecEnd = <usize>(n & ~3) << 2;
  let o: usize = 0;
  for (; o < vecEnd; o += 16) v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  for (; o < end; o += 4) store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
}

/** dst[0..n) = value. */
export function fill(dst: usize, n: i32, value: f32): void {
  const end = <usize>n << 2;
  const vecEnd = <usize>(n & ~3) << 2;
  const v = f32x4.splat(value);
  let o: usize = 0;
  for (; o < vecEnd; o += 16) v128.store(dst + o, v);
  for (; o < end; o += 4) store<f32>(dst + o, value);
}

/**
 * dst[j] = Σ_i src[i, j] over the rows of a rows×cols matrix, or dst[j] += … when accumulating,
 * for the columns c0..c1: the bias gradient. Each column is summed row by row in order, as the
 * TypeScript loop does, so the two agree bit for bit; src is streamed row after row while dst
 * stays in cache.
 */
export function colSums(dst: usize, src: usize, rows: i32, cols: i32, accumulate: bool, c0: i32, c1: i32): void {
  const rowBytes = <usize>cols << 2;
  const first = <usize>c0 << 2;
  const end = <usize>c1 << 2;
  const vecEnd = first + (<usize>((c1 - c0) & ~3) << 2);
  let r = 0;
  if (!accumulate) {
    if (rows == 0) {
      for (let o = first; o < end; o += 4) store<f32>(dst + o, 0);
      return;
    }
    memory.copy(dst + first, src + first, end - first);
    r = 1;
  }
  for (; r < rows; r++) {
    const p = src + <usize>r * rowBytes;
    let o = first;
    for (; o < vecEnd; o += 16) v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(p + o)));
    for (; o < end; o += 4) store<f32>(dst + o, load<f32>(dst + o) + load<f32>(p + o));
  }
}

/** dst[0..n) = src[0..n) (the ranges may overlap). */
export function copy(dst: usize, src: usize, n: i32): void {
  memory.copy(dst, src, <usize>n << 2);
}
