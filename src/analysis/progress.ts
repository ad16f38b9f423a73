/** Nanda et al.'s restricted and excluded loss: moved to src/train/progress-circuit.ts (the trainer logs them too). */
export {
  circuitLogits,
  type ModularOperands,
  type ProgressMeasures,
  progressMeasures,
  type TrigCoefficients,
  trigCoefficients,
} from '../train/progress-circuit.ts';
