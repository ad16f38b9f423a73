// Vector math for the training kernels: exp and tanh on f32x4 lanes, in plain IEEE arithmetic
// (no fused multiply-add, no host Math), so that every engine gives the same bits.

// exp: x = n·ln 2 + r with |r| ≤ ln 2 / 2 (Cody–Waite: ln 2 in two parts, so n·C1 is exact),
// e^r by the degree-6 minimax polynomial of Cephes' expf (≈ 1 ulp), 2^n from the exponent bits.
const LOG2E: f32 = 1.44269504088896341;
const C1: f32 = 0.693359375;
const C2: f32 = -2.12194440e-4;
const P0: f32 = 1.9875691500e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;
/** Inputs are clamped to [XMIN, XMAX]: 2^n then stays a normal float (n from −126 to 127). */
const XMIN: f32 = -87.3365478515625;
const XMAX: f32 = 88.0;

/** 1.5·2^23: adding it rounds a float below 2^22 in magnitude to an integer (ties to even). */
const ROUND: f32 = 12582912.0;

/**
 * e^x per lane, relative error ≈ 1e-7. Below −87.34 it returns e^−87.34 ≈ 1.2e-38 rather than a
 * denormal or zero, above 88 it returns e^88 (callers use it on x ≤ 0 or inside tanh); NaN stays
 * NaN. n = round(x·log₂e) comes from the rounding constant, whose low mantissa bits then hold n,
 * so 2^n is an integer add and shift (cheaper than nearest and a float-to-int conversion).
 */
@inline
export function expv(x: v128): v128 {
  // pmax/pmin keep a NaN x (the comparison is false), as the loss must show it.
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(XMIN)), f32x4.splat(XMAX));
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(ROUND));
  const n = f32x4.sub(t, f32x4.splat(ROUND));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(C1)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(C2)));
  let p = f32x4.add(f32x4.mul(f32x4.splat(P0), r), f32x4.splat(P1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P5));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  // bits(t) = bits(ROUND) + n; 2^n has exponent field n + 127.
  const scale = i32x4.shl(i32x4.add(t, i32x4.splat(127 - 0x4b400000)), 23);
  return f32x4.mul(p, scale);
}

/** e^x for one value: the lanes' algorithm, so that scalar and vector loops agree bit for bit. */
@inline
export function expf(x: f32): f32 {
  return f32x4.extract_lane(expv(f32x4.splat(x)), 0);
}

/** tanh per lane as 1 − 2/(e^{2x} + 1): absolute error ≈ 1e-7, exactly ±1 beyond |x| ≈ 9. */
@inline
export function tanhv(x: v128): v128 {
  const e = expv(f32x4.add(x, x));
  const one = f32x4.splat(1);
  return f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(e, one)));
}

/** Sum of the four lanes, in lane order ((l0 + l1) + l2) + l3. */
@inline
export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Largest lane (NaN if any lane is NaN). */
@inline
export function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

const SQRT2: f64 = 1.41421356237309504880;
const LN2: f64 = 0.69314718055994530942;

/**
 * Natural logarithm of a positive, finite, normal f64 (what a softmax normalizer is), to about
 * 1 ulp: x = 2^e·m with m in [√½, √2), log m = 2·atanh(s) with s = (m − 1)/(m + 1), |s| ≤ 0.172,
 * by its series to s^21. Written out here because the standard library's log brings a table of
 * static data, which the module must not have (every instance on a shared memory would write it).
 */
export function logPositive(x: f64): f64 {
  const bits = reinterpret<i64>(x);
  let e = <i32>((bits >> 52) & 0x7ff) - 1023;
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (m >= SQRT2) {
    m *= 0.5;
    e += 1;
  }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let p: f64 = 1.0 / 21;
  p = p * s2 + 1.0 / 19;
  p = p * s2 + 1.0 / 17;
  p = p * s2 + 1.0 / 15;
  p = p * s2 + 1.0 / 13;
  p = p * s2 + 1.0 / 11;
  p = p * s2 + 1.0 / 9;
  p = p * s2 + 1.0 / 7;
  p = p * s2 + 1.0 / 5;
  p = p * s2 + 1.0 / 3;
  p = p * s2 + 1;
  return <f64>e * LN2 + 2 * s * p;
}
