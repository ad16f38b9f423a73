import { MR, NR } from './params';

/**
 * MR×NR micro-kernel: tile = or += (A panel)·(B panel) over kc steps, tile rows `ldc` bytes
 * apart. Panels are packed: per step, MR floats of A then NR floats of B, contiguous.
 *
 * 4×8 is the largest tile V8 keeps in registers: its scheduler issues all six loads of a step
 * before the arithmetic, so 8 accumulators + 6 loaded vectors + 1 product fill the 15
 * allocatable xmm registers. Wider tiles spill; unrolling the loop spills too. With separate
 * multiplies and adds this runs at ~11 flop/cycle on Zen 3, held back by the number of
 * instructions; fused multiply-adds (the relaxed-SIMD build) take a third of them away.
 */
export function microKernel(ap: usize, bp: usize, kc: i32, cp: usize, ldc: usize, add: bool): void {
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  const end = ap + <usize>kc * MR * 4;
  while (ap < end) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const a0 = v128.load32_splat(ap);
    c00 = madd(a0, b0, c00);
    c01 = madd(a0, b1, c01);
    const a1 = v128.load32_splat(ap, 4);
    c10 = madd(a1, b0, c10);
    c11 = madd(a1, b1, c11);
    const a2 = v128.load32_splat(ap, 8);
    c20 = madd(a2, b0, c20);
    c21 = madd(a2, b1, c21);
    const a3 = v128.load32_splat(ap, 12);
    c30 = madd(a3, b0, c30);
    c31 = madd(a3, b1, c31);
    ap += MR * 4;
    bp += NR * 4;
  }
  const c1 = cp + ldc;
  const c2 = c1 + ldc;
  const c3 = c2 + ldc;
  if (add) {
    c00 = f32x4.add(v128.load(cp), c00);
    c01 = f32x4.add(v128.load(cp, 16), c01);
    c10 = f32x4.add(v128.load(c1), c10);
    c11 = f32x4.add(v128.load(c1, 16), c11);
    c20 = f32x4.add(v128.load(c2), c20);
    c21 = f32x4.add(v128.load(c2, 16), c21);
    c30 = f32x4.add(v128.load(c3), c30);
    c31 = f32x4.add(v128.load(c3, 16), c31);
  }
  v128.store(cp, c00);
  v128.store(cp, c01, 16);
  v128.store(c1, c10);
  v128.store(c1, c11, 16);
  v128.store(c2, c20);
  v128.store(c2, c21, 16);
  v128.store(c3, c30);
  v128.store(c3, c31, 16);
}

/**
 * c + a·b per lane: in the relaxed-SIMD build one fused multiply-add (rounded once) wherever the
 * CPU has FMA, which is what V8 then emits; in the SIMD128 build a multiply and an add (rounded
 * twice).
 */
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}
