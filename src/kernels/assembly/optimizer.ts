// Adam's update of one parameter tensor (src/train/optimizers.ts). The arithmetic is the float64
// arithmetic of its reference (src/engine/kernel-table/optimizer.ts), operation for operation (float32 values promoted, results
// rounded to float32 where the loop stores them), two lanes at a time: both give the same bits.

/**
 * Over n float32 values: gi = g + l2·w; m = β1·m + c1·gi; v = β2·v + c2·gi·gi (stored as float32);
 * w = w·shrink − (stepSize·m) / (√v / sqrtBias2 + eps), with the stored m and v.
 */
export function adamUpdate(
  w: usize,
  g: usize,
  m: usize,
  v: usize,
  n: i32,
  beta1: f64,
  c1: f64,
  beta2: f64,
  c2: f64,
  l2: f64,
  shrink: f64,
  stepSize: f64,
  sqrtBias2: f64,
  eps: f64,
): void {
  const vBeta1 = f64x2.splat(beta1);
  const vC1 = f64x2.splat(c1);
  const vBeta2 = f64x2.splat(beta2);
  const vC2 = f64x2.splat(c2);
  const vL2 = f64x2.splat(l2);
  const vShrink = f64x2.splat(shrink);
  const vStep = f64x2.splat(stepSize);
  const vSqrtBias2 = f64x2.splat(sqrtBias2);
  const vEps = f64x2.splat(eps);
  const pairEnd = <usize>(n & ~1) << 2;
  for (let o: usize = 0; o < pairEnd; o += 8) {
    const wi = load2(w + o);
    const gi = f64x2.add(load2(g + o), f64x2.mul(vL2, wi));
    const mi = store2(m + o, f64x2.add(f64x2.mul(vBeta1, load2(m + o)), f64x2.mul(vC1, gi)));
    const vi = store2(v + o, f64x2.add(f64x2.mul(vBeta2, load2(v + o)), f64x2.mul(f64x2.mul(vC2, gi), gi)));
    const denominator = f64x2.add(f64x2.div(f64x2.sqrt(vi), vSqrtBias2), vEps);
    store2(w + o, f64x2.sub(f64x2.mul(wi, vShrink), f64x2.div(f64x2.mul(vStep, mi), denominator)));
  }
  if (n & 1) {
    const o = pairEnd;
    const wi = <f64>load<f32>(w + o);
    const gi = <f64>load<f32>(g + o) + l2 * wi;
    const mi = <f64>(<f32>(beta1 * <f64>load<f32>(m + o) + c1 * gi));
    const vi = <f64>(<f32>(beta2 * <f64>load<f32>(v + o) + c2 * gi * gi));
    store<f32>(m + o, <f32>mi);
    store<f32>(v + o, <f32>vi);
    store<f32>(w + o, <f32>(wi * shrink - (stepSize * mi) / (Math.sqrt(vi) / sqrtBias2 + eps)));
  }
}

/** Two float32 values at p as float64 lanes. */
@inline
function load2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** Stores two float64 lanes at p as float32; returns them as stored (rounded), in float64. */
@inline
function store2(p: usize, x: v128): v128 {
  const rounded = f32x4.demote_f64x2_zero(x);
  v128.store64_lane(p, rounded, 0);
  return f64x2.promote_low_f32x4(rounded);
}
