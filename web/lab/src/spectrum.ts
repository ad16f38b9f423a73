/**
 * The embedding's Fourier spectrum, computed in the training worker at every evaluation of a
 * modular task: how the key frequencies of Nanda et al.'s circuit emerge while test accuracy still
 * sits at chance. The same views and key-frequency rule as `groklab analyze` (src/analysis).
 */
import { frequencyEnergies, selectKeyFrequencies } from '../../../src/analysis/fourier.ts';
import { embeddingView } from '../../../src/analysis/views.ts';
import type { RunConfig } from '../../../src/config/schema.ts';
import type { Model } from '../../../src/models/model.ts';
import type { TaskData } from '../../../src/tasks/index.ts';
import type { Spectrum } from './protocol.ts';

/** The spectrum of `model`'s embedding now, or null when the task is not over Z_p. */
export function embeddingSpectrum(
  model: Model,
  config: RunConfig,
  task: TaskData,
  step: number,
): Spectrum | null {
  if (config.task.kind !== 'modular') return null;
  const p = config.task.p;
  if (p > model.io.vocabSize) return null;
  const energies = frequencyEnergies(...embeddingView(model, p, task.operandPositions));
  const key = selectKeyFrequencies(energies);
  return {
    step,
    p,
    norms: Array.from(energies, Math.sqrt),
    key: key.frequencies,
    keyShare: key.energy_fraction,
    sparse: key.sparse,
  };
}
