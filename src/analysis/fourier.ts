/**
 * The Fourier view over Z_p: the basis, energies, key frequencies and sparsity live in
 * src/util/fourier.ts (the trainer's progress measures use them too) and are re-exported here; what
 * the analysis stores per weight matrix and checkpoint (SpectrumSummary) is built here.
 */
import {
  gini,
  inverseParticipationRatio,
  type KeyFrequencySelection,
  selectKeyFrequencies,
} from '../util/fourier.ts';

export {
  columnEnergies,
  columnsOver,
  type FourierBasis,
  fourierBasis,
  frequencyEnergies,
  gini,
  inverseParticipationRatio,
  type KeyFrequencySelection,
  rowsOver,
  SPARSE_GAP_MIN,
  selectKeyFrequencies,
  type ZpMatrix,
} from '../util/fourier.ts';

/** What the analysis stores per weight matrix and checkpoint. */
export interface SpectrumSummary {
  /** √energy per frequency 0..⌊p/2⌋ (index = frequency), over all columns. */
  norms: number[];
  /** Gini of `norms` over frequencies 1..⌊p/2⌋ (the constant carries no token information). */
  gini: number;
  /** IPR of the energies over frequencies 1..⌊p/2⌋. */
  ipr: number;
  /** Key frequencies picked at this checkpoint alone. */
  key: KeyFrequencySelection;
  /** Share of the non-constant energy in the run's key frequencies (the run-level set). */
  run_key_energy_fraction: number | null;
  /**
   * The same per column (for an MLP's first layer: per neuron), averaged over columns with energy:
   * a network can use every frequency overall while each neuron uses one.
   */
  per_column: { gini_mean: number; top_share_mean: number };
}

/** Summary of per-column energies ([count, F], from columnEnergies). */
export function summarizeSpectrum(
  perColumn: Float64Array,
  frequencies: number,
  runKeys: readonly number[] | null,
): SpectrumSummary {
  const energies = new Float64Array(frequencies);
  for (let i = 0; i < perColumn.length; i++) energies[i % frequencies] += perColumn[i];
  const nonConstant = energies.subarray(1);
  const norms = Array.from(energies, Math.sqrt);
  let total = 0;
  for (const e of nonConstant) total += e;
  const runKeyEnergy = runKeys ? runKeys.reduce((s, k) => s + (energies[k] ?? 0), 0) : 0;
  return {
    norms,
    gini: gini(norms.slice(1)),
    ipr: inverseParticipationRatio(nonConstant),
    key: selectKeyFrequencies(energies),
    run_key_energy_fraction: runKeys && total > 0 ? runKeyEnergy / total : null,
    per_column: columnSparsity(perColumn, frequencies),
  };
}

function columnSparsity(perColumn: Float64Array, frequencies: number): SpectrumSummary['per_column'] {
  let giniSum = 0;
  let topSum = 0;
  let used = 0;
  for (let o = 0; o < perColumn.length; o += frequencies) {
    const e = perColumn.subarray(o + 1, o + frequencies);
    let total = 0;
    let top = 0;
    for (const x of e) {
      total += x;
      if (x > top) top = x;
    }
    if (total <= 0) continue;
    giniSum += gini(Array.from(e, Math.sqrt));
    topSum += top / total;
    used++;
  }
  return { gini_mean: used > 0 ? giniSum / used : 0, top_share_mean: used > 0 ? topSum / used : 0 };
}
