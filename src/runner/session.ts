import { applyOverrides, type Override } from '../config/overrides.ts';
import { parseRunConfig, type RunConfig } from '../config/schema.ts';
import { getKernels } from '../engine/kernels-default.ts';
import { buildModel, type Model } from '../models/index.ts';
import {
  createRunFolder,
  isInterrupted,
  newRunId,
  openRun,
  type RunFolder,
  readMetrics,
  rewriteMetrics,
  truncateMetricsAfter,
  writeJsonAtomic,
} from '../runs/index.ts';
import {
  buildTask,
  makeSplit,
  type Split,
  splitFromJson,
  splitToJson,
  type TaskData,
} from '../tasks/index.ts';
import { type Examples, selectExamples } from '../train/data.ts';
import { type EvalRecord, type StopReason, Trainer } from '../train/trainer.ts';
import { UsageError } from '../util/errors.ts';
import { decodeCheckpoint, encodeCheckpoint, loadParams } from './checkpoint.ts';

export interface RunHooks {
  /** Once training is about to start (or continue) at `step` of `totalSteps`, in run `runId`. */
  onStart?(info: { runId: string; step: number; totalSteps: number }): void;
  onEval?(record: EvalRecord): void;
  /** After every training step; return true to stop (the run is checkpointed and marked stopped). */
  onStep?(step: number): boolean | undefined;
}

export interface RunOutcome {
  run: RunFolder;
  config: RunConfig;
  reason: StopReason;
  last: EvalRecord | null;
}

/** A validated config with its dataset and split: everything needed before anything is written. */
interface Prepared {
  config: RunConfig;
  task: TaskData;
  split: Split;
  train: Examples;
  test: Examples;
}

function prepare(config: RunConfig, split?: Split): Prepared {
  // Loads the kernels now, so a bad GROKLAB_KERNELS or GROKLAB_THREADS is reported before a run folder exists.
  getKernels();
  const task = buildTask(config.task);
  const chosen = split ?? makeSplit(task.numExamples, config.task.train_fraction, config.split_seed);
  return {
    config,
    task,
    split: chosen,
    train: selectExamples(task.inputs, task.labels, task.seqLen, chosen.train),
    test: selectExamples(task.inputs, task.labels, task.seqLen, chosen.test),
  };
}

function createModel(p: Prepared): Model {
  return buildModel(p.config.model, p.task, p.config.seed);
}

/** Validates `raw`, then creates `runsDir/<id>` and trains. Bad input throws UsageError before any file exists. */
export async function startRun(
  runsDir: string,
  raw: unknown,
  options: { id?: string; hooks?: RunHooks } = {},
): Promise<RunOutcome> {
  const config = parseRunConfig(raw);
  const prepared = prepare(config);
  const model = createModel(prepared);
  const id = options.id ?? newRunId(config.preset ?? 'run', runsDir);
  const run = createRunFolder(runsDir, id, {
    config: config as unknown as Record<string, unknown>,
    split: splitToJson(prepared.split),
  });
  const trainer = new Trainer(model, prepared.train, prepared.test, config.train, config.eval, config.seed);
  return execute(run, prepared, trainer, options.hooks ?? {});
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

/** Keys a resume may change: the checkpoint's parameters and split fix the task, model and seeds. */
const RESUMABLE_SECTIONS = ['train', 'eval'];

/**
 * Continues a run from a checkpoint, optionally with changed training settings (e.g. weight decay
 * turned on to induce grokking in a run that only memorized). In place when resuming from the latest
 * checkpoint; from an earlier one the run is forked so that no history is lost, unless `discardLater`.
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
  const frozen = overrides.filter((o) => !RESUMABLE_SECTIONS.includes(o.key.split('.')[0]));
  if (frozen.length > 0) {
    throw new UsageError(
      frozen.map((o) => ({
        field: o.key,
        message: 'cannot change when resuming (the checkpoint depends on it); allowed: train.*, eval.*',
      })),
    );
  }
  const previous = parseRunConfig(source.readConfig());
  const config = parseRunConfig(applyOverrides(previous, overrides));
  if (config.train.steps <= step) {
    throw new UsageError({
      field: 'train.steps',
      message: `the checkpoint is at step ${step}; set train.steps above it to continue (e.g. --set train.steps=${step + config.train.steps})`,
    });
  }
  const split = splitFromJson(source.readSplit(), buildTask(config.task).numExamples);
  const prepared = prepare(config, split);
  const model = createModel(prepared);
  loadParams(model, checkpoint.params);

  const fork = options.forkId !== undefined || (step < latest && !options.discardLater);
  const lineageEntry = {
    from_run: runId,
    from_step: step,
    overrides: Object.fromEntries(overrides.map((o) => [o.key, o.value])),
    at: new Date().toISOString(),
  };
  const resolved: RunConfig = { ...config, lineage: [...(previous.lineage ?? []), lineageEntry] };
  const historyRecords = source.readMetrics().records.filter((r) => r.step <= step);
  const history = historyRecords as unknown as EvalRecord[];

  let run: RunFolder;
  if (fork) {
    const id = options.forkId ?? newRunId(`${runId}-from${step}`, runsDir);
    run = createRunFolder(runsDir, id, {
      config: resolved as unknown as Record<string, unknown>,
      split: splitToJson(split),
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
    if (overrides.length > 0) writeJsonAtomic(run.configPath, resolved);
  }

  const trainer = new Trainer(model, prepared.train, prepared.test, config.train, config.eval, config.seed);
  const sameOptimizer = checkpoint.optimizerKind === config.train.optimizer;
  trainer.restore(
    {
      step,
      wallSeconds: checkpoint.wallSeconds,
      // A different optimizer starts with fresh moments; the same one continues exactly.
      optimizer: sameOptimizer ? checkpoint.optimizer : { tensors: new Map(), updates: 0 },
    },
    history,
    sameOptimizer,
  );
  return execute(run, { ...prepared, config: resolved }, trainer, options.hooks ?? {});
}

async function execute(
  run: RunFolder,
  prepared: Prepared,
  trainer: Trainer,
  hooks: RunHooks,
): Promise<RunOutcome> {
  const { config } = prepared;
  const log = run.openMetricsLog();
  const latest: { record: EvalRecord | null } = { record: null };
  let lastCheckpoint = -1;
  const checkpoint = (step: number) => {
    run.writeCheckpoint(
      step,
      encodeCheckpoint(trainer.model, trainer.state(trainer.wallSeconds), config.train.optimizer),
    );
    lastCheckpoint = step;
  };
  run.writeStatus({ state: 'running', step: trainer.step, message: undefined, kernels: getKernels().name });
  hooks.onStart?.({ runId: run.id, step: trainer.step, totalSteps: config.train.steps });
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
      if (lastCheckpoint !== trainer.step) checkpoint(trainer.step);
      run.writeStatus({
        state: 'stopped',
        step: trainer.step,
        message: 'interrupted; resume with groklab resume',
      });
    } else {
      const message =
        reason === 'threshold' ? 'stopped: test accuracy reached the threshold' : 'step budget reached';
      run.writeStatus({ state: 'finished', step: trainer.step, message });
    }
    return { run, config, reason, last: latest.record ?? lastRecord(run) };
  } catch (err) {
    run.writeStatus({ state: 'failed', step: trainer.step, message: String((err as Error).message ?? err) });
    throw err;
  } finally {
    log.close();
  }
}

function lastRecord(run: RunFolder): EvalRecord | null {
  const { records } = readMetrics(run.metricsPath);
  return records.length > 0 ? (records[records.length - 1] as unknown as EvalRecord) : null;
}
