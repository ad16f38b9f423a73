/**
 * The lab's training worker: one run, trained by the same experiment builder, trainer and wasm
 * kernels as `groklab train`, so its metrics equal the CLI's bit for bit. It posts every
 * evaluation and checkpoint to the page (protocol.ts), pauses at a step boundary with a checkpoint
 * (as Ctrl-C does on the CLI), and continues in place, or from a checkpoint with changed settings
 * exactly as `groklab resume --set` does (runner/restore.ts).
 */
import { parseRunConfig, type RunConfig } from '../../../src/config/schema.ts';
// Renamed: a call named use… reads as a React hook to the linter.
import { getKernels, useKernels as installKernels } from '../../../src/engine/kernels.ts';
import { kernelsFromWasmBytes } from '../../../src/engine/kernels-browser.ts';
import { buildExperiment, type Experiment } from '../../../src/experiment/build.ts';
import { restoreTrainer, resumedConfig } from '../../../src/runner/restore.ts';
import { encodeCheckpoint } from '../../../src/runs/checkpoint.ts';
import { splitToJson } from '../../../src/tasks/index.ts';
import { type EvalRecord, type Trainer, TrainingDiverged } from '../../../src/train/trainer.ts';
import { UsageError } from '../../../src/util/errors.ts';
import type { FromWorker, ResumePoint, ToWorker } from './protocol.ts';
import { embeddingSpectrum } from './spectrum.ts';

interface Session {
  runId: string;
  config: RunConfig;
  experiment: Experiment;
  trainer: Trainer;
  history: EvalRecord[];
  /** The latest checkpoint's step and bytes (a change continues from it). */
  checkpoint: { step: number; bytes: Uint8Array } | null;
}

let session: Session | null = null;
let kernelsReady: Promise<void> | null = null;
let pauseRequested = false;
let training = false;
/** A change waiting for the pause it asked for. */
let pendingChange: (ToWorker & { type: 'change' }) | null = null;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  (self as unknown as Worker).postMessage(message, transfer);
}

async function fetchBytes(file: string): Promise<Uint8Array<ArrayBuffer>> {
  const url = new URL(`./${file}`, import.meta.url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The relaxed-SIMD build where this browser validates it, else SIMD128; threads where isolated. */
async function loadKernels(threads: number): Promise<void> {
  let bytes = await fetchBytes('groklab-fma.wasm');
  if (!WebAssembly.validate(bytes)) bytes = await fetchBytes('groklab.wasm');
  const createWorker = () => new Worker(new URL('./chunk-worker.js', import.meta.url), { type: 'module' });
  let note: string | null = null;
  const onWarning = (message: string) => {
    note = message;
  };
  installKernels(await kernelsFromWasmBytes(bytes, { threads, createWorker, onWarning }));
  const kernels = getKernels();
  post({ type: 'kernels', name: kernels.name, threads: kernels.threads, note });
}

function problemsOf(error: unknown): Array<{ field: string; message: string }> | null {
  if (error instanceof UsageError) return error.problems.map((p) => ({ field: p.field, message: p.message }));
  return null;
}

function checkpointNow(s: Session): void {
  const { trainer, config } = s;
  const bytes = encodeCheckpoint(trainer.model, trainer.state(trainer.wallSeconds), config.train.optimizer);
  s.checkpoint = { step: trainer.step, bytes };
  // The page stores a copy; the worker keeps its own for a change made later.
  post({ type: 'checkpoint', step: trainer.step, bytes: bytes.slice() });
}

function startSession(runId: string, raw: unknown, resume: ResumePoint | undefined): Session {
  if (resume === undefined) {
    const config = parseRunConfig(raw);
    const experiment = buildExperiment(config);
    return { runId, config, experiment, trainer: experiment.createTrainer(), history: [], checkpoint: null };
  }
  const previous = parseRunConfig(resume.previousConfig);
  const config = resume.record
    ? resumedConfig(previous, resume.overrides, resume.fromRun, resume.step)
    : previous;
  const experiment = buildExperiment(config, resume.split);
  const history = resume.history.filter((r) => r.step <= resume.step);
  const { trainer, notice } = restoreTrainer(experiment, resume.checkpoint, config, history, resume.step);
  if (notice !== null) post({ type: 'notice', message: notice });
  return {
    runId,
    config,
    experiment,
    trainer,
    history,
    checkpoint: { step: resume.step, bytes: resume.checkpoint },
  };
}

/** Trains until the budget, the stop rule, a pause or a divergence. */
async function train(s: Session): Promise<void> {
  training = true;
  pauseRequested = false;
  const { trainer, config, experiment } = s;
  post({ type: 'state', state: 'running', step: trainer.step, message: 'training' });
  try {
    const reason = await trainer.run({
      onEval: (record) => {
        s.history.push(record);
        post({
          type: 'eval',
          record,
          spectrum: embeddingSpectrum(trainer.model, config, experiment.task, record.step),
        });
      },
      onCheckpoint: () => checkpointNow(s),
      onStep: () => pauseRequested,
    });
    if (reason === 'interrupted') {
      if (s.checkpoint?.step !== trainer.step) checkpointNow(s);
      post({ type: 'state', state: 'paused', step: trainer.step, message: `paused at step ${trainer.step}` });
    } else {
      const message =
        reason === 'threshold'
          ? `stop rule met: test acc ≥ ${config.train.stop_test_acc} for ${config.train.stop_patience} evaluations in a row`
          : 'step budget reached';
      post({ type: 'state', state: 'finished', step: trainer.step, message });
    }
  } catch (error) {
    const message =
      error instanceof TrainingDiverged
        ? `training diverged: the train loss is ${error.loss} at step ${error.step}`
        : error instanceof Error
          ? error.message
          : String(error);
    post({ type: 'state', state: 'failed', step: trainer.step, message });
  } finally {
    training = false;
  }
  const change = pendingChange;
  pendingChange = null;
  if (change !== null) applyChange(s, change);
}

/** Continues from the checkpoint at the current step with the changed settings, as `resume --set` does. */
function applyChange(s: Session, change: ToWorker & { type: 'change' }): void {
  if (s.checkpoint === null || s.checkpoint.step !== s.trainer.step) checkpointNow(s);
  const point = s.checkpoint as { step: number; bytes: Uint8Array };
  try {
    session = startSession(s.runId, undefined, {
      fromRun: s.runId,
      step: point.step,
      checkpoint: point.bytes,
      previousConfig: s.config,
      history: s.history,
      split: splitToJson(s.experiment.split),
      overrides: change.overrides,
      record: true,
    });
  } catch (error) {
    const problems = problemsOf(error);
    if (problems === null) throw error;
    post({ type: 'invalid', problems });
    post({ type: 'state', state: 'paused', step: s.trainer.step, message: 'the change was not applied' });
    return;
  }
  post({
    type: 'started',
    config: session.config,
    split: splitToJson(session.experiment.split),
    step: point.step,
  });
  void train(session);
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'start': {
      kernelsReady ??= loadKernels(message.threads);
      await kernelsReady;
      try {
        session = startSession(message.runId, message.config, message.resume);
      } catch (error) {
        const problems = problemsOf(error);
        if (problems === null) throw error;
        post({ type: 'invalid', problems });
        return;
      }
      post({
        type: 'started',
        config: session.config,
        split: splitToJson(session.experiment.split),
        step: session.trainer.step,
      });
      await train(session);
      return;
    }
    case 'pause':
      pauseRequested = true;
      return;
    case 'continue':
      if (session !== null && !training) await train(session);
      return;
    case 'change':
      if (session === null) return;
      if (training) {
        pendingChange = message;
        pauseRequested = true;
      } else {
        applyChange(session, message);
      }
      return;
  }
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  handle(event.data).catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    post({ type: 'state', state: 'failed', step: session?.trainer.step ?? 0, message });
  });
};
