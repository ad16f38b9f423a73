/**
 * The core of `groklab resume`, without files: the config a resume continues with (validated, with
 * its lineage entry) and a trainer restored from a checkpoint's bytes. session.ts's resumeRun uses
 * both; a page (web/lab) uses them to change settings mid-run or fork from a checkpoint, recorded
 * and continued exactly as `groklab resume --set ...` would. Browser-safe: no Node import reachable.
 */
import { applyOverrides, type Override } from '../config/overrides.ts';
import { parseRunConfig, type RunConfig } from '../config/schema.ts';
import type { Experiment } from '../experiment/build.ts';
import { type DecodedCheckpoint, decodeCheckpoint, loadParams } from '../runs/checkpoint.ts';
import { describeGradFilter, type GradFilterState, stateFitsFilter } from '../train/grad-filter.ts';
import type { GradFilterSpec } from '../train/spec.ts';
import type { EvalRecord, Trainer } from '../train/trainer.ts';
import { UsageError } from '../util/errors.ts';

/** Keys a resume may change: the checkpoint's parameters and split fix the task, model and seeds. */
export const RESUMABLE_SECTIONS: readonly string[] = ['train', 'eval'];

/** UsageError listing every override outside RESUMABLE_SECTIONS. */
export function checkResumableOverrides(overrides: readonly Override[]): void {
  const frozen = overrides.filter((o) => !RESUMABLE_SECTIONS.includes(o.key.split('.')[0]));
  if (frozen.length > 0) {
    throw new UsageError(
      frozen.map((o) => ({
        field: o.key,
        message: 'cannot change when resuming (the checkpoint depends on it); allowed: train.*, eval.*',
      })),
    );
  }
}

/** One entry of a config's `lineage`: where a resumed run came from and what it changed. */
export interface LineageEntry {
  from_run: string;
  from_step: number;
  overrides: Record<string, unknown>;
  at: string;
}

/**
 * The config a run resumed from the checkpoint at `step` of run `fromRun` continues with: `previous`
 * with `overrides` applied (train.* and eval.* only), train.steps above `step`, and a lineage entry
 * `{ from_run, from_step, overrides, at }` appended, as `groklab resume --set ...` records it.
 * UsageError naming each bad override.
 */
export function resumedConfig(
  previous: RunConfig,
  overrides: readonly Override[],
  fromRun: string,
  step: number,
  at: Date = new Date(),
): RunConfig {
  checkResumableOverrides(overrides);
  const config = parseRunConfig(applyOverrides(previous, overrides));
  if (config.train.steps <= step) {
    throw new UsageError({
      field: 'train.steps',
      message: `the checkpoint is at step ${step}; set train.steps above it to continue (e.g. --set train.steps=${step + config.train.steps})`,
    });
  }
  const entry: LineageEntry = {
    from_run: fromRun,
    from_step: step,
    overrides: Object.fromEntries(overrides.map((o) => [o.key, o.value])),
    at: at.toISOString(),
  };
  return { ...config, lineage: [...(previous.lineage ?? []), entry] };
}

export interface RestoredTrainer {
  trainer: Trainer;
  /** A one-line note on how training continues (e.g. a gradient filter starting fresh), if any. */
  notice: string | null;
}

/**
 * A trainer of `experiment` (built from `config` and the run's saved split) continuing from the
 * checkpoint at `step`: its parameters, and its optimizer moments when the optimizer is the same
 * (another starts fresh), its gradient filter state when it fits config's filter, its tally of
 * training batches, and the stop rule's streak replayed from `history` (the run's evaluations up to
 * `step`; later ones are ignored). `checkpoint` is the checkpoint's bytes, or them decoded.
 */
export function restoreTrainer(
  experiment: Experiment,
  checkpoint: Uint8Array | DecodedCheckpoint,
  config: RunConfig,
  history: readonly EvalRecord[],
  step: number,
): RestoredTrainer {
  const decoded = checkpoint instanceof Uint8Array ? decodeCheckpoint(checkpoint) : checkpoint;
  const model = experiment.createModel();
  loadParams(model, decoded.params);
  const trainer = experiment.createTrainer(model);
  const sameOptimizer = decoded.optimizerKind === config.train.optimizer;
  const filter = resumedFilterState(config.train.grad_filter, decoded.filter, decoded.filterDropped, step);
  trainer.restore(
    {
      step,
      wallSeconds: decoded.wallSeconds,
      // A different optimizer starts with fresh moments; the same one continues exactly.
      optimizer: sameOptimizer ? decoded.optimizer : { tensors: new Map(), updates: 0 },
      ...(filter.state !== null ? { filter: filter.state } : {}),
      ...(decoded.trainBatches !== null ? { trainBatches: decoded.trainBatches } : {}),
    },
    history.filter((r) => r.step <= step),
    sameOptimizer,
  );
  return { trainer, notice: filter.notice };
}

/**
 * The gradient filter state a resume continues with: the checkpoint's when it is of the filter the
 * config asks for (lamb may differ: the state does not depend on it), else none, with a note saying
 * the filter starts fresh or is off.
 */
function resumedFilterState(
  wanted: GradFilterSpec | null | undefined,
  saved: GradFilterState | null,
  dropped: string | null,
  step: number,
): { state: GradFilterState | null; notice: string | null } {
  if (wanted === null || wanted === undefined) {
    const notice =
      saved === null
        ? null
        : `grad filter: off from step ${step}; the checkpoint's ${describeGradFilter(saved.spec)} state is not used`;
    return { state: null, notice };
  }
  if (saved !== null && stateFitsFilter(wanted, saved.spec)) return { state: saved, notice: null };
  const had =
    saved !== null
      ? `the state of ${describeGradFilter(saved.spec)}`
      : dropped !== null
        ? "no filter state: an MA filter's window is kept only in a run's newest resume point, a multiple of checkpoint_every or a session's last checkpoint"
        : 'no filter state';
  return {
    state: null,
    notice: `grad filter: ${describeGradFilter(wanted)} starts fresh at step ${step} (the checkpoint holds ${had})`,
  };
}
