/**
 * Why the model grokked: measures over a run's checkpoints (Fourier circuits, progress measures,
 * norms and feature movement, Hessian curvature, attention, neuron frequencies, pruning) and
 * interventions through the models' hook points (frequency ablation, activation patching), written to
 * <run>/analysis/analysis.json by analyzeRun. docs/analysis.md documents every measure.
 */
export {
  type FrequencyAblation,
  frequencyAblationHook,
  frequencyRemoval,
  otherFrequencies,
} from './ablation.ts';
export { attentionGrids, type HeadSummary, summarizeAttention } from './attention.ts';
export { type Chunk, chunksOf, hookedLogits, PROBE_CHUNK } from './chunks.ts';
export { type FeatureMovement, featureMovement, linearCka } from './features.ts';
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
  type SpectrumSummary,
  selectKeyFrequencies,
  summarizeSpectrum,
  type ZpMatrix,
} from './fourier.ts';
export {
  centralDifferenceHvp,
  DEFAULT_EPSILON,
  flattenParams,
  frozenReluGradientOracle,
  type GradientOracle,
  type HessianSummary,
  type LanczosResult,
  lanczos,
  modelGradientOracle,
  topHessianEigenvalues,
} from './hessian.ts';
export {
  ABLATION_KINDS,
  type AblationKind,
  frequencyAblationAt,
  type PatchChoice,
  patchingAt,
} from './interventions.ts';
export { symmetricEigen } from './linalg.ts';
export { accuracyOf, type LossKind, meanLoss } from './losses.ts';
export { CLEAN_FRACTION, gridFrequencies, type NeuronFrequencySummary, summarizeNeurons } from './neurons.ts';
export { type NormsSummary, weightNorms } from './norms.ts';
export { type PatchedSite, type PatchingResult, patchEverySite } from './patching.ts';
export { locatePhases, type PhasesSummary } from './phases.ts';
export { type ProbeResult, probeModel } from './probe.ts';
export {
  circuitLogits,
  type ModularOperands,
  type ProgressMeasures,
  progressMeasures,
  trigCoefficients,
} from './progress.ts';
export {
  DEFAULT_PRUNE_FRACTIONS,
  DEFAULT_PRUNE_TOLERANCE,
  type PruningResult,
  pruningProbe,
} from './pruning.ts';
export {
  type AnalyzeRunOptions,
  type AnalyzeRunResult,
  analysisPath,
  analyzeRun,
  DEFAULT_HESSIAN_ITERATIONS,
  DEFAULT_HESSIAN_TOP,
  F64_BUDGET,
  type HessianDtype,
  type StepChoice,
} from './run-analysis.ts';
export * from './types.ts';
export { fourierViews, VIEW_NAMES, type ViewName, type Weights } from './views.ts';
