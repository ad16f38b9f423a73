/**
 * What a run changed about training, read from its own config.json (never from a sweep's variant
 * names, which are only labels): the gradient filter (Grokfast), the loss and the precision of its
 * softmax, ⊥Grad, a fixed weight norm (Omnigrok) and weight decay, plus keys that say which runs share a task and which differ only
 * in the softmax's precision. The lever claims (lever-claims.ts) select runs by these.
 */
import type { RunConfig } from '../config/schema.ts';

/** Test accuracy whose first step Grokfast's paper compares ("steps to 95%"). */
export const FAST_TEST_ACC = 0.95;
/** Softmax collapse has set in once this share of training examples has a loss of exactly 0. */
export const COLLAPSE_LEVEL = 0.5;

export interface RunLevers {
  weight_decay: number;
  /** train.loss: cross_entropy, mse, stablemax_cross_entropy. */
  loss: string;
  /** train.loss_precision: float32 (also for configs written before the field) or float64. */
  loss_precision: string;
  /** The kind of train.grad_filter (ema, ma), or 'none'. */
  grad_filter: string;
  orthogonal_grad: boolean;
  /** train.fixed_norm (Omnigrok's constrained norm), or null when the norm is free. */
  fixed_norm: number | null;
  /** The task section, as canonical JSON: runs with equal keys train on the same task. */
  task_key: string;
  /** The whole config but loss_precision and bookkeeping, as canonical JSON: runs alike but for it. */
  alike_key: string;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON with object keys sorted at every level, so equal configs give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isMapping(value))
    return `{${Object.keys(value)
      .sort()
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** The levers of a config read back through the schema (fields it lacks take their defaults). */
export function leversOf(config: RunConfig): RunLevers {
  // Read by name, so configs from before a field existed give its default.
  const train: Record<string, unknown> = config.train;
  const filter = train.grad_filter;
  const { preset: _preset, groklab_version: _version, lineage: _lineage, ...rest } = config;
  const { loss_precision: _precision, ...trainRest } = train;
  return {
    weight_decay: config.train.weight_decay,
    loss: config.train.loss,
    loss_precision: typeof train.loss_precision === 'string' ? train.loss_precision : 'float32',
    grad_filter: isMapping(filter) && typeof filter.kind === 'string' ? filter.kind : 'none',
    orthogonal_grad: train.orthogonal_grad === true,
    fixed_norm: typeof train.fixed_norm === 'number' ? train.fixed_norm : null,
    task_key: canonicalJson(config.task),
    alike_key: canonicalJson({ ...rest, train: trainRest }),
  };
}
