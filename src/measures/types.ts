/**
 * The structure `groklab detect` prints with --json and the library API returns. Field names are
 * snake_case like metrics.jsonl, so the JSON and the TypeScript objects are the same thing.
 * Steps are training steps (or whatever the log's x axis is, e.g. epochs); accuracies are in [0, 1].
 */

/** The metrics a log is read for; `step` is the x axis. */
export const ROLES = ['step', 'train_acc', 'test_acc', 'train_loss', 'test_loss', 'weight_norm'] as const;
export type Role = (typeof ROLES)[number];
export type MetricRole = Exclude<Role, 'step'>;

/**
 * Prieto et al.'s numerical-stability measures, read by name when a log has them (groklab's
 * trainer writes them to metrics.jsonl); older logs do not, and nothing else depends on them.
 */
export const STABILITY_COLUMNS = ['softmax_collapse', 'nlm_cosine'] as const;
export type StabilityColumn = (typeof STABILITY_COLUMNS)[number];
/** Every series a log is read for. */
export type SeriesRole = MetricRole | StabilityColumn;

/** One metric after cleaning: steps strictly ascending, every value finite. */
export interface Series {
  steps: number[];
  values: number[];
}

export type IssueKind =
  | 'missing-value'
  | 'missing-step'
  | 'non-finite'
  | 'invalid-value'
  | 'out-of-range'
  | 'percent-scale'
  | 'duplicate-step'
  | 'unsorted'
  | 'sparse'
  | 'malformed-row'
  | 'bad-line'
  | 'torn-tail'
  | 'truncated-record'
  | 'crc-mismatch'
  | 'undecodable-record'
  | 'ambiguous-column'
  | 'isolated-crossing'
  | 'unconfirmed-crossing'
  | 'baseline-estimated'
  | 'ignored-config'
  | 'broken-run';

/** Something about the input that was handled in a particular way, so it is said out loud. */
export interface DataIssue {
  kind: IssueKind;
  /** 'warning': the numbers may be affected; 'info': handled, worth knowing. */
  severity: 'info' | 'warning';
  /** The metric (role) concerned, when there is one. */
  metric?: SeriesRole | 'step';
  /** How many rows, values or steps. */
  count?: number;
  /** Up to five example steps (or row numbers, as the message says). */
  examples?: number[];
  message: string;
}

export type SourceKind = 'groklab-run' | 'csv' | 'jsonl' | 'tensorboard' | 'curve';

export interface SourceInfo {
  kind: SourceKind;
  /** File or folder read; null for an in-memory curve. */
  path: string | null;
  /** groklab runs: the run id, its task ("x+y mod 47") and its state (running, finished, ...). */
  run_id?: string;
  task?: string;
  state?: string;
}

/** The column (CSV/JSONL), key or TensorBoard tag used for each role; null when absent. */
export type ColumnsUsed = Record<Role, string | null>;

/**
 * 'task-split': a groklab run's task and its exact split; 'task-fraction': a task and a training
 * fraction (--task/--p/--train-fraction, or a groklab config.json next to a log), the split itself
 * unknown, so the swap share is its expected value over random splits.
 */
export type BaselineSource =
  | 'user'
  | 'classes'
  | 'task-split'
  | 'task-fraction'
  | 'first-evaluation'
  | 'real-inputs'
  | 'none';

/**
 * The test accuracy a model that only memorized can be expected to have: chance 1/classes plus what
 * the split's symmetry explains (test pairs whose swap (y,x) is a training pair with the same label).
 */
export interface BaselineInfo {
  /** The level the plateau is compared with (the band's high end); null when nothing at all is known. */
  value: number | null;
  /** 1/classes when the number of classes is known. */
  chance: number | null;
  classes: number | null;
  /** Share of test examples answered by a memorized swapped training pair (known task). */
  symmetric_share: number | null;
  /**
   * What memorization alone can score, from chance (a model that does not answer swapped pairs,
   * e.g. an MLP on concatenated one-hot inputs) to chance plus the swap share (one that does, e.g. a
   * transformer); null unless chance and the value are both known.
   */
  band: { low: number; high: number } | null;
  source: BaselineSource;
  /** Where the value came from, in words. */
  detail: string;
}

/** Where a plateau sits in the baseline band: near chance, near what swapped pairs explain, or neither. */
export type BandPosition = 'low-end' | 'between' | 'high-end' | 'above';

/** Test accuracy after memorization and before the jump (or to the end of the log when there is none). */
export interface PlateauInfo {
  /** Median smoothed test accuracy (the transition's plateau_level when there is a transition). */
  level: number;
  from_step: number;
  to_step: number;
  /** Medians of the plateau's first and last thirds (smoothed); null under 3 evaluations. */
  start_level: number | null;
  end_level: number | null;
  /** end_level − start_level. */
  drift: number | null;
  /** drift ≤ max(0.05, 0.15 × rise): level, not climbing; null when drift is. */
  flat: boolean | null;
  /** Where `level` sits in baseline.band (null without a band). */
  band_position: BandPosition | null;
  /** Its likely cause, in words. */
  cause: string;
}

/** How test accuracy moved over the last evaluations of the log. */
export interface EndTrend {
  /** The last evaluation's test accuracy and step. */
  last: number;
  last_step: number;
  /** Median of the last 3 evaluations minus median of the 3 before them. */
  change: number;
  /** Evaluations compared (6) and the first one's step. */
  evaluations: number;
  from_step: number;
  /** change ≥ 0.05: the log ends while test accuracy is still climbing. */
  rising: boolean;
}

export interface SamplingInfo {
  evaluations: number;
  first_step: number;
  last_step: number;
  spacing_min: number;
  spacing_median: number;
  spacing_max: number;
}

export interface Measures {
  /** First confirmed evaluation with train accuracy ≥ thresholds.mem (see thresholds.ts for the rule). */
  t_mem: number | null;
  /** The evaluation before t_mem: the true crossing lies in (t_mem_previous_eval, t_mem]. */
  t_mem_previous_eval: number | null;
  /** First confirmed evaluation with test accuracy ≥ thresholds.grok: the "first crossing" t_grok. */
  t_grok_crossing: number | null;
  t_grok_crossing_previous_eval: number | null;
  /** Onset of the jump, from the detector: the "onset" t_grok (transition.onset_step). */
  t_grok_onset: number | null;
  /** t_grok_crossing − t_mem and t_grok_onset − t_mem. */
  gap_crossing: number | null;
  gap_onset: number | null;
  /** t_grok_crossing / t_mem and t_grok_onset / t_mem (null when t_mem is 0). */
  ratio_crossing: number | null;
  ratio_onset: number | null;
  max_train_acc: number | null;
  max_test_acc: number | null;
  final_train_acc: number | null;
  final_test_acc: number | null;
  last_step: number | null;
}

/** The largest rise of the smoothed test accuracy, measured and validated. */
export interface Transition {
  /** Plateau near the baseline and a rise to well above it (both checks below). */
  valid: boolean;
  checks: {
    /** plateau_level ≤ baseline + max(0.05, 0.1·(1 − baseline)). */
    plateau_near_baseline: boolean | null;
    /** peak_level ≥ baseline + 0.5·(1 − baseline). */
    peak_well_above_baseline: boolean | null;
  };
  /** The interval between two evaluations where the smoothed test accuracy rose most. */
  largest_rise: { from_step: number; to_step: number; rise: number };
  /** Median smoothed test accuracy from memorization (or the start) up to the largest rise. */
  plateau_level: number;
  plateau_from_step: number;
  /** Highest smoothed test accuracy after the largest rise. */
  peak_level: number;
  /** First evaluation at which the smoothed curve is above plateau + 10% of the rise (and stays so until the jump). */
  onset_step: number;
  /** Steps where the smoothed curve crosses plateau + 10%, 50%, 90% of the rise (linear between evaluations). */
  t10: number;
  t50: number;
  t90: number;
  /** t90 − t10. */
  width_10_90: number;
  /** Upper bound on the evaluation grid: first evaluation ≥ 90% minus last evaluation < 10%. */
  width_10_90_max: number;
  /** width_10_90 / onset_step (null when the onset is step 0). */
  width_relative: number | null;
  /** ln(t90 / t10): the rise in e-folds of training time (null when t10 ≤ 0). */
  width_log: number | null;
  /** Steepest slope of the smoothed curve during the rise, per step, and the step where it is. */
  max_slope: number;
  max_slope_step: number;
  /** Steepest slope per unit of ln(step) during the rise (null when the rise starts at step 0). */
  max_slope_log: number | null;
}

export interface SigmoidFit {
  /** 'step': a(t) = c + (d−c)/(1+e^(−k(t−t0))); 'log_step': the same with ln t in place of t. */
  space: 'step' | 'log_step';
  /** Midpoint, in steps. */
  t0: number;
  /** Steepness per step ('step') or per unit of ln(step) ('log_step'). */
  k: number;
  c: number;
  d: number;
  /** Where the fitted curve is at 10% and 90% of its rise, in steps. */
  t10: number;
  t90: number;
  r2: number | null;
  rmse: number;
  points: number;
  iterations: number;
  converged: boolean;
}

export interface SigmoidFits {
  step: SigmoidFit | null;
  log_step: SigmoidFit | null;
  /** The fit with the higher R². */
  best: 'step' | 'log_step' | null;
}

export interface NormView {
  column: string;
  at_start: number | null;
  at_t_mem: number | null;
  at_onset: number | null;
  /** At t50 of the transition: "the norm at which the transition happened". */
  at_transition: number | null;
  at_t_grok_crossing: number | null;
  final: number | null;
  min: number;
  min_step: number;
  max: number;
  max_step: number;
  /** at_transition / at_t_mem. */
  ratio_transition_to_mem: number | null;
}

export interface InstabilityEpisode {
  metric: 'train_loss' | 'test_loss' | 'train_acc' | 'test_acc';
  /** First and last evaluation of the episode (last: null when it lasts to the end of the log). */
  from_step: number;
  to_step: number | null;
  /** Worst smoothed value in the episode and the reference it is compared with. */
  worst: number;
  reference: number;
}

export interface Instability {
  loss_spikes: InstabilityEpisode[];
  collapses: InstabilityEpisode[];
}

/**
 * The share of training examples whose loss is exactly 0 in the precision training computes it
 * (Prieto et al.'s softmax collapse: such an example gives no gradient), over the log.
 */
export interface SoftmaxCollapseView {
  /** The column (or tag) read. */
  column: string;
  /** The precision of the loss the share was measured in, when the run's config says it; else null. */
  loss_precision: 'float32' | 'float64' | null;
  final: number;
  final_step: number;
  max: number;
  max_step: number;
  /** First evaluation with the share ≥ COLLAPSE_HIGH (0.5); null when never. */
  t_collapse: number | null;
  /** First evaluation of the stretch ≥ COLLAPSE_HIGH that lasts to the end of the log; null when the end is below it. */
  high_since: number | null;
}

/**
 * cos(−∇L, θ): the cosine between the negative loss gradient and the parameters. Near 1, a step
 * mostly scales the weights up (naïve loss minimization, Prieto et al.).
 */
export interface NlmCosineView {
  column: string;
  final: number;
  final_step: number;
  /** Median of the last LATE_EVALUATIONS (5) evaluations (all of them when fewer), from `late_from_step` on. */
  median_late: number;
  late_from_step: number;
  late_evaluations: number;
  /** Highest value and its step: naïve loss minimization often peaks before the collapse and falls after it. */
  max: number;
  max_step: number;
}

/**
 * The "circuit forming" warning of a log with groklab's progress measures (eval.progress,
 * docs/early-warning.md): the step the trainer's rule fired at, read from the log, against t_grok.
 */
export interface EarlyWarningView {
  /** The column read (`progress/circuit_warning`). */
  column: string;
  /** The step at which the warning fired; null when the log has progress measures but it never fired. */
  step: number | null;
  /** t_grok_crossing − step: how far ahead of test accuracy it came (negative: after); null without both. */
  lead_steps: number | null;
  /** lead_steps / t_grok_crossing (null without both, or when t_grok is 0). */
  lead_fraction: number | null;
  /**
   * ahead: fired before t_grok; late: fired at or after it; missed: t_grok without a warning;
   * pending: fired, no t_grok in the log (yet: or a false alarm); quiet: neither.
   */
  outcome: 'ahead' | 'late' | 'missed' | 'pending' | 'quiet';
}

export const VERDICTS = [
  'grokked',
  'comprehension',
  'memorized-only',
  'no-fit',
  'gradual',
  'above-chance-plateau',
  'unstable',
  'undecided',
  'insufficient-data',
] as const;
export type VerdictLabel = (typeof VERDICTS)[number];

export interface Verdict {
  label: VerdictLabel;
  /** Why, in one sentence with the numbers. */
  reason: string;
  /** Further observations (e.g. "the run is still running: the verdict may change"). */
  notes: string[];
}

export interface DetectResult {
  source: SourceInfo;
  columns: ColumnsUsed;
  thresholds: { mem: number; grok: number };
  baseline: BaselineInfo;
  /** Evaluation sampling of the test-accuracy series. */
  sampling: SamplingInfo | null;
  measures: Measures;
  transition: Transition | null;
  /** Test accuracy between memorization and the jump: level, drift, place in the band, likely cause. */
  plateau: PlateauInfo | null;
  /** The test accuracy trend at the end of the log (null under 6 evaluations). */
  end_trend: EndTrend | null;
  sigmoid: SigmoidFits;
  weight_norm: NormView | null;
  instability: Instability;
  /** Softmax collapse over the log; null when the log has no softmax_collapse column. */
  softmax_collapse: SoftmaxCollapseView | null;
  /** The naïve-loss-minimization cosine; null when the log has no nlm_cosine column. */
  nlm_cosine: NlmCosineView | null;
  /** The circuit-forming warning; null when the log has no progress measures (`progress/*` columns). */
  early_warning: EarlyWarningView | null;
  verdict: Verdict;
  issues: DataIssue[];
}

/** A run in a runs directory that could not be analysed (the others still are). */
export interface DetectFailure {
  source: SourceInfo;
  error: string;
}

export type DetectOutcome = DetectResult | DetectFailure;

export function isFailure(outcome: DetectOutcome): outcome is DetectFailure {
  return 'error' in outcome;
}
