/**
 * The Fourier view over Z_p (Nanda et al. 2023): a real orthonormal DFT basis, the energy of a weight
 * matrix per frequency, the key frequencies, and the sparsity of the spectrum (Gini, IPR).
 *
 * Basis rows, for x = 0..p−1: 1/√p (frequency 0); √(2/p)·cos(2πkx/p) and √(2/p)·sin(2πkx/p) for
 * k = 1..⌊(p−1)/2⌋; and (−1)^x/√p (frequency p/2) when p is even. Being orthonormal, the energies
 * of all frequencies add up to the squared Frobenius norm of the matrix.
 *
 * Pure maths with no imports, here below everything so that the trainer's progress measures
 * (src/train/progress-measures.ts) and the analysis (src/analysis/fourier.ts re-exports it) share it.
 */

export interface FourierBasis {
  p: number;
  /** p×p row-major; row r is one unit-norm basis function of x. */
  rows: Float64Array;
  /** Frequency of each row. */
  frequencyOfRow: Int32Array;
  /** Number of distinct frequencies, ⌊p/2⌋ + 1 (frequency 0 included). */
  frequencies: number;
}

const bases = new Map<number, FourierBasis>();

export function fourierBasis(p: number): FourierBasis {
  if (!Number.isInteger(p) || p < 2) throw new RangeError(`fourierBasis: p must be an integer ≥ 2, got ${p}`);
  const cached = bases.get(p);
  if (cached) return cached;
  const rows = new Float64Array(p * p);
  const frequencyOfRow = new Int32Array(p);
  const c = Math.sqrt(2 / p);
  for (let x = 0; x < p; x++) rows[x] = 1 / Math.sqrt(p);
  let r = 1;
  for (let k = 1; 2 * k < p; k++) {
    for (let x = 0; x < p; x++) {
      const angle = (2 * Math.PI * k * x) / p;
      rows[r * p + x] = c * Math.cos(angle);
      rows[(r + 1) * p + x] = c * Math.sin(angle);
    }
    frequencyOfRow[r] = k;
    frequencyOfRow[r + 1] = k;
    r += 2;
  }
  if (p % 2 === 0) {
    for (let x = 0; x < p; x++) rows[r * p + x] = (x % 2 === 0 ? 1 : -1) / Math.sqrt(p);
    frequencyOfRow[r] = p / 2;
  }
  const basis = { p, rows, frequencyOfRow, frequencies: Math.floor(p / 2) + 1 };
  bases.set(p, basis);
  return basis;
}

/** A matrix whose entries are read as m[x·xStride + c·cStride] for x in Z_p and c in 0..count−1. */
export interface ZpMatrix {
  data: ArrayLike<number>;
  p: number;
  count: number;
  xStride: number;
  cStride: number;
}

/** The rows 0..p−1 of a row-major [rows, cols] matrix, as functions of the row index x. */
export function rowsOver(data: ArrayLike<number>, p: number, cols: number, firstRow = 0): ZpMatrix {
  const offset = firstRow * cols;
  const view = offset === 0 ? data : subarray(data, offset, offset + p * cols);
  return { data: view, p, count: cols, xStride: cols, cStride: 1 };
}

/** The columns 0..p−1 of a row-major [rows, cols] matrix, as functions of the column index x. */
export function columnsOver(data: ArrayLike<number>, rows: number, cols: number, p: number): ZpMatrix {
  if (p > cols) throw new RangeError(`columnsOver: ${cols} columns, need ${p}`);
  return { data, p, count: rows, xStride: 1, cStride: cols };
}

function subarray(data: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  if (data instanceof Float32Array || data instanceof Float64Array) return data.subarray(from, to);
  return Array.prototype.slice.call(data, from, to) as number[];
}

/**
 * Energy per column and frequency: [count, ⌊p/2⌋+1] row-major. Matrices given together must have the
 * same p and column count, and their energies are added (e.g. one neuron's weights from both positions).
 */
export function columnEnergies(...matrices: ZpMatrix[]): Float64Array {
  if (matrices.length === 0) throw new Error('columnEnergies: no matrix');
  const { p, count } = matrices[0];
  const basis = fourierBasis(p);
  const f = basis.frequencies;
  const energies = new Float64Array(count * f);
  const column = new Float64Array(p);
  for (const m of matrices) {
    if (m.p !== p || m.count !== count) throw new Error('columnEnergies: matrices of different shapes');
    for (let c = 0; c < count; c++) {
      for (let x = 0; x < p; x++) column[x] = m.data[x * m.xStride + c * m.cStride];
      for (let r = 0; r < p; r++) {
        let coef = 0;
        const base = r * p;
        for (let x = 0; x < p; x++) coef += basis.rows[base + x] * column[x];
        energies[c * f + basis.frequencyOfRow[r]] += coef * coef;
      }
    }
  }
  return energies;
}

/** Energy (sum of squared coefficients) per frequency over all columns, summed over the matrices given. */
export function frequencyEnergies(...matrices: ZpMatrix[]): Float64Array {
  const perColumn = columnEnergies(...matrices);
  const f = fourierBasis(matrices[0].p).frequencies;
  const energies = new Float64Array(f);
  for (let i = 0; i < perColumn.length; i++) energies[i % f] += perColumn[i];
  return energies;
}

/**
 * Gini coefficient of non-negative values: 0 when all are equal, (n−1)/n when one value holds
 * everything (the largest possible for n values). G = Σᵢ(2i − n − 1)·xᵢ / (n·Σx) with x ascending.
 */
export function gini(values: ArrayLike<number>): number {
  const x = Array.from(values).sort((a, b) => a - b);
  const n = x.length;
  let total = 0;
  let weighted = 0;
  for (let i = 0; i < n; i++) {
    if (x[i] < 0) throw new RangeError('gini needs non-negative values');
    total += x[i];
    weighted += (2 * (i + 1) - n - 1) * x[i];
  }
  return total > 0 ? weighted / (n * total) : 0;
}

/** Inverse participation ratio Σ sₖ² of the energy shares sₖ: 1/n for a flat spectrum, 1 for one frequency. */
export function inverseParticipationRatio(energies: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < energies.length; i++) total += energies[i];
  if (total <= 0) return 0;
  let s = 0;
  for (let i = 0; i < energies.length; i++) s += (energies[i] / total) ** 2;
  return s;
}

/** A cut at a gap at least this large (weakest kept / strongest dropped energy) counts as a sparse spectrum. */
export const SPARSE_GAP_MIN = 2;

export interface KeyFrequencySelection {
  /** Ascending. */
  frequencies: number[];
  /** Energy of the weakest selected frequency over the strongest unselected one; null when the rest is exactly 0. */
  gap_ratio: number | null;
  /** Share of the non-constant energy held by the selected frequencies. */
  energy_fraction: number;
  /** gap_ratio ≥ SPARSE_GAP_MIN (or null): a few frequencies stand out. Otherwise the cut is noise. */
  sparse: boolean;
}

/**
 * Key frequencies: sort the non-constant frequencies by energy and cut where the energy drops most,
 * i.e. keep the top m maximizing e₍ₘ₎/e₍ₘ₊₁₎ with m ≤ max(1, ⌊K/2⌋) of the K frequencies, since key
 * frequencies are by definition a minority. Always returns at least one; whether the cut means
 * anything shows in gap_ratio (≈ 1 for a flat, random spectrum; large for a sparse one) and `sparse`.
 */
export function selectKeyFrequencies(energies: ArrayLike<number>): KeyFrequencySelection {
  const candidates = Array.from({ length: energies.length - 1 }, (_, i) => i + 1);
  if (candidates.length === 0) return { frequencies: [], gap_ratio: null, energy_fraction: 0, sparse: false };
  const sorted = [...candidates].sort((a, b) => energies[b] - energies[a] || a - b);
  const total = candidates.reduce((s, k) => s + energies[k], 0);
  const maxKeep = Math.max(1, Math.floor(candidates.length / 2));
  let best = 1;
  let bestRatio = -1;
  for (let m = 1; m <= maxKeep && m < sorted.length; m++) {
    const above = energies[sorted[m - 1]];
    const below = energies[sorted[m]];
    const ratio = below > 0 ? above / below : above > 0 ? Number.POSITIVE_INFINITY : 1;
    if (ratio > bestRatio) {
      bestRatio = ratio;
      best = m;
    }
  }
  const frequencies = sorted.slice(0, best).sort((a, b) => a - b);
  const kept = frequencies.reduce((s, k) => s + energies[k], 0);
  const gap = Number.isFinite(bestRatio) ? bestRatio : null;
  return {
    frequencies,
    gap_ratio: gap,
    energy_fraction: total > 0 ? kept / total : 0,
    sparse: total > 0 && (gap === null || gap >= SPARSE_GAP_MIN),
  };
}
