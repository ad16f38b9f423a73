/**
 * The names of the progress measures under `progress` in metrics.jsonl (progress-measures.ts computes
 * them, docs/early-warning.md defines them). Without imports, so that readers of logs (src/measures)
 * can name the columns without loading the trainer.
 */

/** EvalRecord.progress: an object of numbers; a measure that does not apply is absent. */
export interface ProgressRecord {
  /** Modular tasks: share of the embedding's non-constant Fourier energy in its top k frequencies. */
  fourier_top_share?: number;
  /** x±y on the full grid: Nanda et al.'s restricted loss (the key-frequency logits alone). */
  restricted_loss?: number;
  /** x±y on the full grid: the training loss with the key-frequency part of the logits removed. */
  excluded_loss?: number;
  /** d ln‖θ‖ / d ln(step) over the evaluations from half the step on. */
  norm_slope?: number;
  /** ‖Φ − Φ₀‖/‖Φ₀‖ of the last hidden layer on a fixed probe batch. */
  feature_change?: number;
  /** The step at which the circuit-forming warning fired (progress-rule.ts); absent before. */
  circuit_warning?: number;
}

/** The names of ProgressRecord's fields, in the order the record writes them. */
export const PROGRESS_FIELDS = [
  'fourier_top_share',
  'restricted_loss',
  'excluded_loss',
  'norm_slope',
  'feature_change',
  'circuit_warning',
] as const satisfies ReadonlyArray<keyof ProgressRecord>;
