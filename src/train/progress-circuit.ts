/**
 * Progress measures of Nanda et al. (2023) for c = a ± b mod p, computed from the logits alone, so
 * they apply to any architecture.
 *
 * The logits over all p² pairs form a cube L(a, b, c). For each frequency k ≥ 1 (w = 2πk/p) we take
 * the two directions cos(w·s) and sin(w·s) of that cube, s = (a + σb − c) mod p (σ = +1 for a+b,
 * −1 for a−b), and project L onto them with one scalar each, over the whole cube:
 *   α_k = ⟨L, cos(w·s)⟩ / ⟨cos(w·s), cos(w·s)⟩,  β_k likewise with sin.
 * The circuit part of the key frequencies K is r(s) = Σ_{k∈K} α_k cos(w_k s) + β_k sin(w_k s).
 *   restricted loss: the loss of the logits r alone. r depends on (a, b, c) only through s and the
 *     answer is s = 0, so the restricted loss is the same for every pair (train and test alike).
 *   excluded loss: the loss of L − r on the training pairs: the model with its key-frequency
 *     circuit removed.
 * A model whose logits are exactly r has restricted loss = its full loss and excluded loss = log p.
 * Nanda et al.'s notebook projects the MLP activations onto cos/sin(w(a+b)) instead (a larger
 * subspace, needing the architecture); this is the logit-level definition of the paper's text.
 *
 * Here in src/train so that the trainer logs them at evaluations (progress-measures.ts) exactly as the
 * analysis computes them offline (src/analysis/progress.ts re-exports this module).
 */
import { type LossKind, meanLoss } from './progress-losses.ts';

/** Operands of each example of a modular task, with the sign of b in the answer. */
export interface ModularOperands {
  p: number;
  /** +1 for a+b, −1 for a−b. */
  sign: 1 | -1;
  a: Int32Array;
  b: Int32Array;
}

export interface TrigCoefficients {
  /** α_k and β_k for k = 0..⌊p/2⌋ (index = frequency; β is 0 where sin vanishes). */
  cos: Float64Array;
  sin: Float64Array;
  /** Share of the logits' energy (after removing each pair's mean over c) in each frequency's two directions. */
  energyShare: Float64Array;
}

/**
 * α_k, β_k of the logit cube. The logits must cover every pair (a, b) exactly once. Since each
 * direction depends on s only, ⟨L, f(s)⟩ = Σ_s f(s)·S(s) with S(s) the sum of the logits with that
 * residue: one pass over the cube, then p² work.
 */
export function trigCoefficients(logits: ArrayLike<number>, operands: ModularOperands): TrigCoefficients {
  const { p, sign, a, b } = operands;
  const n = a.length;
  if (n !== p * p) throw new Error(`trigCoefficients: needs all ${p * p} pairs, got ${n}`);
  const residueSums = new Float64Array(p);
  let centered = 0;
  for (let i = 0; i < n; i++) {
    const base = (((a[i] + sign * b[i]) % p) + p) % p;
    const o = i * p;
    let mean = 0;
    for (let c = 0; c < p; c++) mean += logits[o + c];
    mean /= p;
    // s = (base − c) mod p, stepped down instead of a modulo per entry (the same sums, in the same order).
    let s = base;
    for (let c = 0; c < p; c++) {
      const z = logits[o + c];
      residueSums[s] += z;
      centered += (z - mean) ** 2;
      s = s === 0 ? p - 1 : s - 1;
    }
  }
  const frequencies = Math.floor(p / 2) + 1;
  const cos = new Float64Array(frequencies);
  const sin = new Float64Array(frequencies);
  const energyShare = new Float64Array(frequencies);
  for (let k = 1; k < frequencies; k++) {
    let sc = 0;
    let ss = 0;
    let cc = 0;
    let s2 = 0;
    for (let s = 0; s < p; s++) {
      const angle = (2 * Math.PI * k * s) / p;
      const cs = Math.cos(angle);
      const sn = Math.sin(angle);
      sc += residueSums[s] * cs;
      ss += residueSums[s] * sn;
      cc += cs * cs;
      s2 += sn * sn;
    }
    // Each residue s appears p² times in the cube, so ⟨f, f⟩ = p²·Σ_s f(s)².
    cos[k] = sc / (p * p * cc);
    sin[k] = s2 > 1e-9 ? ss / (p * p * s2) : 0;
    const energy = cos[k] * cos[k] * p * p * cc + (s2 > 1e-9 ? sin[k] * sin[k] * p * p * s2 : 0);
    energyShare[k] = centered > 0 ? energy / centered : 0;
  }
  return { cos, sin, energyShare };
}

/** r(s) for s = 0..p−1: the circuit logits of the given frequencies. */
export function circuitLogits(
  coefficients: TrigCoefficients,
  keys: readonly number[],
  p: number,
): Float64Array {
  const r = new Float64Array(p);
  for (const k of keys) {
    if (!(k >= 1 && k < coefficients.cos.length))
      throw new RangeError(`frequency ${k} outside 1..${coefficients.cos.length - 1}`);
    for (let s = 0; s < p; s++) {
      const angle = (2 * Math.PI * k * s) / p;
      r[s] += coefficients.cos[k] * Math.cos(angle) + coefficients.sin[k] * Math.sin(angle);
    }
  }
  return r;
}

export interface ProgressMeasures {
  key_frequencies: number[];
  /** Loss of the key-frequency circuit logits r alone (identical on every pair). */
  restricted_loss: number;
  /** Loss of L − r on the training pairs. */
  excluded_loss: number;
  /** Share of the logits' centered energy in the key directions cos/sin(w(a ± b − c)). */
  key_logit_energy_share: number;
  /** That share for every frequency 0..⌊p/2⌋ (index = frequency; 0 at frequency 0). */
  logit_energy_share: number[];
}

/**
 * Restricted and excluded loss for the key frequencies `keys`. `labels` are the answers of the
 * examples (a ± b mod p), `train` the rows of the training pairs.
 */
export function progressMeasures(
  logits: ArrayLike<number>,
  operands: ModularOperands,
  labels: ArrayLike<number>,
  train: ArrayLike<number>,
  keys: readonly number[],
  loss: LossKind,
): ProgressMeasures {
  const { p, sign, a, b } = operands;
  const coefficients = trigCoefficients(logits, operands);
  const r = circuitLogits(coefficients, keys, p);
  const residue = (row: number, c: number) => (((a[row] + sign * b[row] - c) % p) + p) % p;
  const restricted = meanLoss(logits, p, labels, null, loss, (row, c) => r[residue(row, c)]);
  const excluded = meanLoss(logits, p, labels, train, loss, (row, c, z) => z - r[residue(row, c)]);
  let keyShare = 0;
  for (const k of keys) keyShare += coefficients.energyShare[k];
  return {
    key_frequencies: [...keys],
    restricted_loss: restricted,
    excluded_loss: excluded,
    key_logit_energy_share: keyShare,
    logit_energy_share: Array.from(coefficients.energyShare),
  };
}

/**
 * The restricted and excluded loss of `progressMeasures`, computed for the trainer at every
 * evaluation: the restricted loss from the one row of circuit logits (r(−c) for the answer 0: every
 * pair's row is a rotation of it, so the analysis's mean over all p² pairs equals it up to rounding),
 * the excluded loss over the training pairs as there.
 */
export function circuitLosses(
  logits: ArrayLike<number>,
  operands: ModularOperands,
  labels: ArrayLike<number>,
  train: ArrayLike<number>,
  keys: readonly number[],
  loss: LossKind,
): { restricted_loss: number; excluded_loss: number } {
  const { p, sign, a, b } = operands;
  const r = circuitLogits(trigCoefficients(logits, operands), keys, p);
  const row = new Float64Array(p);
  for (let c = 0; c < p; c++) row[c] = r[(p - c) % p];
  const base = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) base[i] = (((a[i] + sign * b[i]) % p) + p) % p;
  const excluded = meanLoss(logits, p, labels, train, loss, (i, c, z) => {
    const s = base[i] - c;
    return z - r[s < 0 ? s + p : s];
  });
  return { restricted_loss: meanLoss(row, p, [0], null, loss), excluded_loss: excluded };
}
