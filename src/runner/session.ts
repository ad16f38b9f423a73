import type { Override } from '../config/overrides.ts';
import { parseRunConfig, type RunConfig } from '../config/schema.ts';
import { getKernels } from '../engine/kernels-default.ts';
import { buildExperiment, type Experiment } from '../experiment/build.ts';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  holdsFilterWindow,
  withoutFilterWindow,
} from '../runs/checkpoint.ts';
import {
  createRunFolder,
  isInterrupted,
  newRunId,
  openRun,
  type RunFolder,
  readMetrics,
  rewriteMetrics,
  truncateMetricsAfter,
  writeFileAtomic,
} from '../runs/index.ts';
import { formatJsonFile } from '../runs/portable.ts';
import { splitToJson } from '../tasks/index.ts';
import type { TrainSpec } from '../train/spec.ts';
import { type EvalRecord, type StopReason, type Trainer, TrainingDiverged } from '../train/trainer.ts';
import { UsageError } from '../util/errors.ts';
import { checkResumableOverrides, restoreTrainer, resumedConfig } from './restore.ts';

export interface RunHooks {
  /** Once training is about to start (or continue) at `step` of `totalSteps`, in run `runId`. */
  onStart?(info: StartInfo): void;
  onEval?(record: EvalRecord): void;
  /** After every training step; return true to stop (the run is checkpointed and marked stopped). */
  onStep?(step: number): boolean | undefined;
  /**
   * A one-line note about how training continues (e.g. a gradient filter starting fresh at a
   * resume). Without this hook the line goes to stderr.
   */
  onNotice?(line: string): void;
}

export interface StartInfo {
  runId: string;
  step: number;
  totalSteps: number;
  config: RunConfig;
  /** The restored history already meets the stop rule, so the run stops at its next evaluation. */
  stopRuleMet: boolean;
}

export interface RunOutcome {
  run: RunFolder;
  config: RunConfig;
  reason: StopReason;
  /** The last step trained; a checkpoint at that step exists (where `resume` continues). */
  step: number;
  /** The last evaluation, which may be a few steps before `step`. */
  last: EvalRecord | null;
}

/** A run whose train loss became NaN or infinite at `step`: marked failed, training stopped there. */
export interface DivergedOutcome extends Omit<RunOutcome, 'reason'> {
  reason: 'diverged';
  loss: number;
  /** The latest checkpoint before the divergence, to resume from with gentler settings. */
  lastGoodCheckpoint: number | null;
}

/** Thrown by startRun and resumeRun when training diverged; the run folder says so in its status. */
export class RunDiverged extends Error {
  constructor(readonly outcome: DivergedOutcome) {
    super(divergedMessage(outcome));
    this.name = 'RunDiverged';
  }
}

function divergedMessage(o: DivergedOutcome): string {
  const checkpoint =
    o.lastGoodCheckpoint === null
      ? 'no checkpoint before it'
      : `the last checkpoint before it is at step ${o.lastGoodCheckpoint}`;
  return `training diverged: the train loss is ${o.loss} at step ${o.step}; ${checkpoint}`;
}

/** The stop rule in words, e.g. "test acc ≥ 0.99 for 5 evaluations in a row". */
export function describeStopRule(train: Pick<TrainSpec, 'stop_test_acc' | 'stop_patience'>): string {
  if (train.stop_test_acc === null) return 'none';
  const atLeast = `test acc ≥ ${train.stop_test_acc}`;
  return train.stop_patience === 1 ? atLeast : `${atLeast} for ${train.stop_patience} evaluations in a row`;
}

/** The config's experiment, with the kernels loaded first: a bad GROKLAB_KERNELS or GROKLAB_THREADS is reported before a run folder exists. */
function prepare(config: RunConfig, savedSplit?: unknown): Experiment {
  getKernels();
  return buildExperiment(config, savedSplit);
}

/** Validates `raw`, then creates `runsDir/<id>` and trains. Bad input throws UsageError before any file exists. */
export async function startRun(
  runsDir: string,
  raw: unknown,
  options: { id?: string; hooks?: RunHooks } = {},
): Promise<RunOutcome> {
  const config = parseRunConfig(raw);
  const experiment = prepare(config);
  const trainer = experiment.createTrainer();
  const id = options.id ?? newRunId(config.preset ?? 'run', runsDir);
  const run = createRunFolder(runsDir, id, {
    config: config as unknown as Record<string, unknown>,
    split: splitToJson(experiment.split),
  });
  return execute(run, config, trainer, options.hooks ?? {});
}

export interface ResumeOptions {
  /** Checkpoint step to resume from; default the latest. */
  step?: number;
  overrides?: Override[];
  /** Continue in a new run with this id (history up to the checkpoint copied) instead of in place. */
  forkId?: string;
  /** Resume in place even from an earlier checkpoint, deleting the later metrics and checkpoints. */
  discardLater?: boolean;
  hooks?: RunHooks;
}

/**
 * Continues a run from a checkpoint, optionally with changed training settings (e.g. weight decay
 * turned on to induce grokking in a run that only memorized). In place when resuming from the latest
 * checkpoint; from an earlier one the run is forked so that no history is lost, unless `discardLater`.
 * The config and the trainer come from restore.ts (what a page uses to do the same in memory).
 */
export async function resumeRun(
  runsDir: string,
  runId: string,
  options: ResumeOptions = {},
): Promise<RunOutcome> {
  const source = openRun(runsDir, runId);
  const checkpoints = source.listCheckpoints();
  const latest = checkpoints.length > 0 ? checkpoints[checkpoints.length - 1] : null;
  if (latest === null)
    throw new UsageError({ field: 'run', message: `run "${runId}" has no checkpoint to resume from` });
  const step = options.step ?? latest;
  const checkpoint = decodeCheckpoint(source.readCheckpoint(step));

  const overrides = options.overrides ?? [];
  checkResumableOverrides(overrides);
  const previous = parseRunConfig(source.readConfig());
  const resolved = resumedConfig(previous, overrides, runId, step);
  const experiment = prepare(resolved, source.readSplit());
  const historyRecords = source.readMetrics().records.filter((r) => r.step <= step);
  const history = historyRecords as unknown as EvalRecord[];
  const { trainer, notice } = restoreTrainer(experiment, checkpoint, resolved, history, step);

  const fork = options.forkId !== undefined || (step < latest && !options.discardLater);
  let run: RunFolder;
  if (fork) {
    const id = options.forkId ?? newRunId(`${runId}-from${step}`, runsDir);
    run = createRunFolder(runsDir, id, {
      config: resolved as unknown as Record<string, unknown>,
      split: splitToJson(experiment.split),
    });
    rewriteMetrics(run.metricsPath, historyRecords);
    for (const s of checkpoints.filter((s) => s <= step)) run.writeCheckpoint(s, source.readCheckpoint(s));
  } else {
    run = source;
    const status = run.readStatus();
    if (status.state === 'running' && status.pid !== process.pid && !isInterrupted(status)) {
      throw new UsageError({
        field: 'run',
        message: `run "${runId}" is still training (pid ${status.pid} on ${status.hostname}); stop it first, or use --fork`,
      });
    }
    truncateMetricsAfter(run.metricsPath, step);
    run.deleteCheckpointsAfter(step);
    if (overrides.length > 0) writeFileAtomic(run.configPath, formatJsonFile(resolved));
  }

  if (notice !== null) notify(options.hooks ?? {}, notice);
  return execute(run, resolved, trainer, options.hooks ?? {});
}

/**
 * Rewrites an older resume point without its MA filter window: from the bytes kept when it was
 * written, or, for the checkpoint a session resumed from, by reading it back.
 */
function dropFilterWindow(run: RunFolder, holder: { step: number; without: Uint8Array | null }): void {
  if (holder.without !== null) {
    run.writeCheckpoint(holder.step, holder.without);
    return;
  }
  const bytes = run.readCheckpoint(holder.step);
  if (holdsFilterWindow(bytes)) run.writeCheckpoint(holder.step, withoutFilterWindow(bytes));
}

function notify(hooks: RunHooks, line: string): void {
  if (hooks.onNotice) hooks.onNotice(line);
  else process.stderr.write(`${line}\n`);
}

async function execute(
  run: RunFolder,
  config: RunConfig,
  trainer: Trainer,
  hooks: RunHooks,
): Promise<RunOutcome> {
  const log = run.openMetricsLog();
  const latest: { record: EvalRecord | null } = { record: null };
  let lastCheckpoint = -1;
  const filter = trainer.gradFilterSpec;
  // An MA filter's window is 100× the parameters for Grokfast-MA (177 MB for grokfast-97): it is
  // written only at resume points (multiples of checkpoint_every and a session's last checkpoint),
  // and kept only in the newest of them, whose bytes without it are held here for when it is not.
  const maWindow = filter?.kind === 'ma' ? filter : null;
  let windowHolder: { step: number; without: Uint8Array | null } | null =
    maWindow !== null && trainer.step > 0 ? { step: trainer.step, without: null } : null;
  const checkpoint = (step: number, last: boolean) => {
    const encode = (withFilter: boolean) =>
      encodeCheckpoint(
        trainer.model,
        trainer.state(trainer.wallSeconds, withFilter),
        config.train.optimizer,
        maWindow ?? undefined,
      );
    if (maWindow === null) {
      run.writeCheckpoint(step, encode(true));
    } else if (!last && step % config.eval.checkpoint_every !== 0) {
      run.writeCheckpoint(step, encode(false));
    } else {
      run.writeCheckpoint(step, encode(true));
      if (windowHolder !== null && windowHolder.step !== step) dropFilterWindow(run, windowHolder);
      windowHolder = { step, without: encode(false) };
    }
    lastCheckpoint = step;
  };
  run.writeStatus({ state: 'running', step: trainer.step, message: undefined, kernels: getKernels().name });
  hooks.onStart?.({
    runId: run.id,
    step: trainer.step,
    totalSteps: config.train.steps,
    config,
    stopRuleMet: trainer.stopRuleMet,
  });
  try {
    const reason = await trainer.run({
      onEval: (record) => {
        log.append(record as unknown as Record<string, unknown> & { step: number });
        run.writeStatus({ state: 'running', step: record.step });
        latest.record = record;
        hooks.onEval?.(record);
      },
      onCheckpoint: checkpoint,
      onStep: (step) => hooks.onStep?.(step),
    });
    if (reason === 'interrupted') {
      // Also when the step's scheduled checkpoint left out an MA window: the resume point needs it.
      const windowMissing = maWindow !== null && windowHolder?.step !== trainer.step;
      if (lastCheckpoint !== trainer.step || windowMissing) checkpoint(trainer.step, true);
      run.writeStatus({
        state: 'stopped',
        step: trainer.step,
        message: 'interrupted; resume with groklab resume',
      });
    } else {
      const message =
        reason === 'threshold' ? `stop rule met: ${describeStopRule(config.train)}` : 'step budget reached';
      run.writeStatus({ state: 'finished', step: trainer.step, message });
    }
    return { run, config, reason, step: trainer.step, last: latest.record ?? lastRecord(run) };
  } catch (err) {
    if (err instanceof TrainingDiverged) {
      const outcome: DivergedOutcome = {
        run,
        config,
        reason: 'diverged',
        step: err.step,
        loss: err.loss,
        last: latest.record ?? lastRecord(run),
        lastGoodCheckpoint: lastCheckpointBefore(run, err.step),
      };
      const diverged = new RunDiverged(outcome);
      run.writeStatus({ state: 'failed', step: err.step, message: diverged.message });
      throw diverged;
    }
    run.writeStatus({ state: 'failed', step: trainer.step, message: String((err as Error).message ?? err) });
    throw err;
  } finally {
    log.close();
  }
}

/** A checkpoint at the diverged step itself may already hold parameters that give a NaN loss. */
function lastCheckpointBefore(run: RunFolder, step: number): number | null {
  const before = run.listCheckpoints().filter((s) => s < step);
  return before.length > 0 ? before[before.length - 1] : null;
}

function lastRecord(run: RunFolder): EvalRecord | null {
  const { records } = readMetrics(run.metricsPath);
  return records.length > 0 ? (records[records.length - 1] as unknown as EvalRecord) : null;
}
