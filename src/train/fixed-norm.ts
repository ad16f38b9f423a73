import type { Tensor } from '../engine/tensor.ts';

/**
 * train.fixed_norm (Omnigrok, Liu et al. 2023): training constrained to the sphere ‖θ‖₂ = w, the
 * norm over all parameters together. Their landscape code rescales every parameter by one factor
 * after each update (rescale(mlp, sqrt(L2_/L2_new))); so does this. The sum of squares is taken in
 * float64 and each scaled value rounded once to float32, so the norm lands on w to float32 rounding.
 */

/** ‖θ‖₂ over all the tensors, summed in float64. */
export function totalNorm(params: Iterable<Tensor>): number {
  let sum = 0;
  for (const p of params) {
    const d = p.data;
    for (let i = 0; i < d.length; i++) sum += d[i] * d[i];
  }
  return Math.sqrt(sum);
}

/**
 * Scales every parameter in place by norm / ‖θ‖₂. Parameters that are all zero or not finite are
 * left alone: there is no direction to scale (and a non-finite loss stops training next step).
 * Returns the factor applied (1 when none was).
 */
export function projectToNorm(params: Iterable<Tensor>, norm: number): number {
  const list = [...params];
  const current = totalNorm(list);
  if (!(current > 0) || !Number.isFinite(current)) return 1;
  const factor = norm / current;
  for (const p of list) {
    const d = p.data;
    for (let i = 0; i < d.length; i++) d[i] *= factor;
  }
  return factor;
}
