/**
 * `groklab analyze`: every measure over a run's checkpoints, written to <run>/analysis/analysis.json.
 *
 * Incremental: a checkpoint already in analysis.json (same file size and mtime) is not analysed
 * again; the file is rewritten atomically after every checkpoint, so a run that is still training can
 * be analysed now and again later, and an interrupted analysis keeps what it finished. When the run's
 * key frequencies change (they come from the latest checkpoint), only the measures that depend on
 * them are recomputed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { GROKLAB_VERSION } from '../config/schema.ts';
import { detectRun } from '../measures/index.ts';
import { buildModel } from '../models/index.ts';
import { isInterrupted, type RunFolder, readJsonFile, writeJsonAtomic } from '../runs/index.ts';
import { UsageError } from '../util/errors.ts';
import { type RunContext, runContext } from './context.ts';
import { fourierBasis } from './fourier.ts';
import { topHessianEigenvalues } from './hessian.ts';
import { type AblationKind, frequencyAblationAt, type PatchChoice, patchingAt } from './interventions.ts';
import { accuracyOf } from './losses.ts';
import {
  allLogits,
  attentionGridOf,
  fourierOf,
  loadCheckpoint,
  measureCheckpoint,
  progressOf,
} from './measure-checkpoint.ts';
import { locatePhases } from './phases.ts';
import { probeModel } from './probe.ts';
import { pruningProbe } from './pruning.ts';
import {
  ANALYSIS_DIR,
  ANALYSIS_FILE,
  ANALYSIS_FORMAT,
  ANALYSIS_VERSION,
  type AnalysisDocument,
  type CheckpointAnalysis,
  type HessianRecord,
  type KeyFrequencySet,
} from './types.ts';

export type StepChoice = 'auto' | 'none' | number[];
export type HessianDtype = 'auto' | 'f32' | 'f64';

export interface AnalyzeRunOptions {
  /** Analyse every N-th checkpoint (in step order), plus the last. Default 1: all. */
  every?: number;
  /** Analyse only these checkpoint steps (plus those chosen for the Hessian and pruning). */
  steps?: number[];
  /** Key frequencies to use instead of picking them from the latest checkpoint's embedding. */
  keyFrequencies?: number[];
  hessianSteps?: StepChoice;
  hessianIterations?: number;
  hessianTop?: number;
  /** 'auto': float64 when parameters × training examples ≤ F64_BUDGET, else float32. */
  hessianDtype?: HessianDtype;
  pruneSteps?: StepChoice;
  /** Interventions at the latest checkpoint: 'freq' ablates the embedding's key frequencies (modular tasks). */
  ablate?: readonly AblationKind[];
  /** Activation patching between two checkpoints. */
  patch?: PatchChoice;
  /** Ignore an existing analysis.json and start over. */
  force?: boolean;
  onProgress?: (message: string) => void;
}

export const DEFAULT_HESSIAN_ITERATIONS = 20;
export const DEFAULT_HESSIAN_TOP = 5;
/** Above this many parameter·example products, float64 gradients (TypeScript matmul) get slow. */
export const F64_BUDGET = 6e7;

export interface AnalyzeRunResult {
  document: AnalysisDocument;
  path: string;
  /** Checkpoints analysed (or refreshed) by this call. */
  analysed: number[];
}

export function analysisPath(run: RunFolder): string {
  return path.join(run.dir, ANALYSIS_DIR, ANALYSIS_FILE);
}

function loadPrevious(file: string, runId: string): AnalysisDocument | null {
  if (!fs.existsSync(file)) return null;
  try {
    const doc = readJsonFile(file) as Partial<AnalysisDocument>;
    if (doc.format !== ANALYSIS_FORMAT || doc.version !== ANALYSIS_VERSION || doc.run_id !== runId)
      return null;
    return doc as AnalysisDocument;
  } catch {
    return null; // unreadable: recomputed and replaced
  }
}

function sourceOf(run: RunFolder, step: number): CheckpointAnalysis['source'] {
  const stat = fs.statSync(run.checkpointPath(step));
  return { bytes: stat.size, mtime_ms: Math.round(stat.mtimeMs) };
}

function checkSteps(field: string, steps: number[], available: number[]): void {
  const missing = steps.filter((s) => !available.includes(s));
  if (missing.length > 0) {
    throw new UsageError({
      field,
      message: `no checkpoint at step ${missing.join(', ')}; available: ${available.join(', ')}`,
    });
  }
}

function selectSteps(available: number[], options: AnalyzeRunOptions): number[] {
  if (options.steps) {
    checkSteps('--steps', options.steps, available);
    return [...new Set(options.steps)].sort((a, b) => a - b);
  }
  const every = options.every ?? 1;
  const chosen = available.filter((_, i) => i % every === 0);
  const last = available[available.length - 1];
  if (!chosen.includes(last)) chosen.push(last);
  return chosen;
}

function nearestCheckpoint(available: number[], step: number | null): number | null {
  if (step === null) return null;
  return available.reduce((best, s) => (Math.abs(s - step) < Math.abs(best - step) ? s : best));
}

function resolveChoice(
  field: string,
  choice: StepChoice,
  available: number[],
  auto: () => Array<number | null>,
): number[] {
  if (choice === 'none') return [];
  const steps = choice === 'auto' ? auto().filter((s): s is number => s !== null) : choice;
  if (choice !== 'auto') checkSteps(field, steps, available);
  return [...new Set(steps)].sort((a, b) => a - b);
}

/** The two checkpoints of --patch: given, or 'auto' = the memorizing checkpoint patched from the latest. */
function resolvePatch(
  choice: PatchChoice,
  available: number[],
  memorizing: number | null,
  tMem: number | null,
  cleanupStart: number | null,
): { target: number; source: number } {
  if (choice !== 'auto') {
    checkSteps('--patch', [choice.target, choice.source], available);
    if (choice.target === choice.source) {
      throw new UsageError({
        field: '--patch',
        message: `the two steps must differ, got ${choice.target} twice`,
      });
    }
    return choice;
  }
  const latest = available[available.length - 1];
  if (memorizing === null || memorizing === latest) {
    throw new UsageError({
      field: '--patch',
      message: `auto needs a run that memorized and then generalized (t_mem ${tMem ?? 'none'}, cleanup start ${cleanupStart ?? 'none'}); give two checkpoint steps as TARGET:SOURCE, e.g. ${available[0]}:${latest}`,
    });
  }
  return { target: memorizing, source: latest };
}

function chooseKeySet(ctx: RunContext, lastStep: number, user: number[] | undefined): KeyFrequencySet | null {
  if (ctx.p === null) return null;
  const top = fourierBasis(ctx.p).frequencies - 1;
  if (user) {
    const bad = user.filter((k) => !Number.isInteger(k) || k < 1 || k > top);
    if (bad.length > 0) {
      throw new UsageError({
        field: '--key-freqs',
        message: `frequencies must be integers in 1..${top}, got ${bad.join(', ')}`,
      });
    }
    return {
      frequencies: [...new Set(user)].sort((a, b) => a - b),
      source: 'user',
      from_step: null,
      gap_ratio: null,
      sparse: null,
    };
  }
  loadCheckpoint(ctx, lastStep);
  const key = fourierOf(ctx, null)?.embedding?.key;
  if (!key) return null;
  const all = Array.from({ length: top }, (_, i) => i + 1);
  return {
    frequencies: key.sparse ? key.frequencies : all,
    source: key.sparse ? 'embedding' : 'all',
    from_step: lastStep,
    gap_ratio: key.gap_ratio,
    sparse: key.sparse,
  };
}

function sameNumbers(a: readonly number[] | null, b: readonly number[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function curvesOf(run: RunFolder): AnalysisDocument['curves'] {
  const { records } = run.readMetrics();
  const column = (key: string) =>
    records.map((r) => (typeof r[key] === 'number' && Number.isFinite(r[key]) ? (r[key] as number) : null));
  return {
    step: records.map((r) => r.step),
    train_loss: column('train_loss'),
    test_loss: column('test_loss'),
    train_acc: column('train_acc'),
    test_acc: column('test_acc'),
    weight_norm: column('weight_norm'),
  };
}

function hessianAt(
  ctx: RunContext,
  step: number,
  options: { iterations: number; top: number; dtype: HessianDtype },
): HessianRecord {
  const dtype =
    options.dtype === 'auto'
      ? ctx.parameters * ctx.train.count <= F64_BUDGET
        ? 'f64'
        : 'f32'
      : options.dtype;
  const model = dtype === 'f64' ? buildModel(ctx.config.model, ctx.io, ctx.config.seed, 'f64') : ctx.model;
  ctx.experiment.loadCheckpoint(model, step);
  const summary = topHessianEigenvalues(model, ctx.train, ctx.loss, {
    iterations: options.iterations,
    top: options.top,
  });
  return { ...summary, requested_iterations: options.iterations, requested_top: options.top };
}

function pruningAt(ctx: RunContext, step: number): CheckpointAnalysis['pruning'] {
  loadCheckpoint(ctx, step);
  const { task, split } = ctx;
  return pruningProbe(ctx.model, () => {
    const logits = allLogits(ctx);
    return {
      train_acc: accuracyOf(logits, task.numClasses, task.labels, split.train),
      test_acc: accuracyOf(logits, task.numClasses, task.labels, split.test),
    };
  });
}

/** Analyses the run's checkpoints and writes analysis/analysis.json; returns the document. */
export function analyzeRun(run: RunFolder, options: AnalyzeRunOptions = {}): AnalyzeRunResult {
  const say = options.onProgress ?? (() => {});
  const available = run.listCheckpoints();
  if (available.length === 0) {
    throw new UsageError({ field: 'run', message: `run "${run.id}" has no checkpoints yet` });
  }
  const ctx = runContext(run);
  const file = analysisPath(run);
  const previous = options.force ? null : loadPrevious(file, run.id);
  const records = new Map<number, CheckpointAnalysis>();
  for (const r of previous?.checkpoints ?? []) {
    // A checkpoint rewritten since (a resume with --discard-later) is analysed again.
    if (available.includes(r.step)) {
      const now = sourceOf(run, r.step);
      if (now.bytes === r.source.bytes && now.mtime_ms === r.source.mtime_ms) records.set(r.step, r);
    }
  }
  // Checkpoints unchanged since the previous analysis: its interventions on them still hold.
  const unchanged = new Set(records.keys());

  const notes: string[] = [];
  const status = (() => {
    try {
      return run.readStatus();
    } catch {
      return null;
    }
  })();
  if (status && isInterrupted(status)) {
    notes.push(`the run's process stopped without finishing (status says running): analysed its checkpoints`);
  } else if (status?.state === 'running') {
    notes.push(
      `the run was still training: analysed the checkpoints up to step ${available[available.length - 1]}`,
    );
  }

  let detect: AnalysisDocument['detect'] = null;
  let detectError: string | null = null;
  try {
    const d = detectRun(run.dir);
    detect = {
      verdict: d.verdict.label,
      t_mem: d.measures.t_mem,
      t_grok_onset: d.measures.t_grok_onset,
      t_grok_crossing: d.measures.t_grok_crossing,
      grok_threshold: d.thresholds.grok,
    };
  } catch (err) {
    detectError = (err as Error).message;
  }

  const lastStep = available[available.length - 1];
  const selected = selectSteps(available, options);
  // The memorizing network: halfway through circuit formation (train data memorized, test accuracy
  // still on its plateau; the checkpoint just before the onset already has part of the jump).
  const tMem = detect?.t_mem ?? null;
  const cleanupStart = detect
    ? locatePhases(
        { t_mem: tMem, t_grok_onset: detect.t_grok_onset, t_grok_crossing: detect.t_grok_crossing },
        [],
        curvesOf(run),
      ).cleanup_start
    : null;
  const memorizing =
    tMem !== null && cleanupStart !== null && cleanupStart > tMem
      ? nearestCheckpoint(available, (tMem + cleanupStart) / 2)
      : null;
  const hessianSteps = resolveChoice('--hessian-steps', options.hessianSteps ?? 'auto', available, () => [
    nearestCheckpoint(available, tMem),
    memorizing,
    nearestCheckpoint(available, detect?.t_grok_crossing ?? null),
    lastStep,
  ]);
  const pruneSteps = resolveChoice('--prune-steps', options.pruneSteps ?? 'auto', available, () => [
    memorizing,
    lastStep,
  ]);
  const steps = [...new Set([...selected, ...hessianSteps, ...pruneSteps])].sort((a, b) => a - b);

  const keySet = chooseKeySet(ctx, lastStep, options.keyFrequencies);
  const keys = keySet?.frequencies ?? null;
  const keysChanged = previous !== null && !sameNumbers(previous.key_frequencies?.frequencies ?? null, keys);
  if (keySet?.source === 'all') {
    notes.push(
      `no frequency stands out in the embedding spectrum at step ${lastStep} (gap ratio ${keySet.gap_ratio?.toFixed(2) ?? '∞'} < 2): progress measures use all ${keys?.length} frequencies`,
    );
  }
  if (ctx.p !== null && !ctx.circuit) {
    notes.push('restricted and excluded loss are defined for a+b and a−b mod p only');
  }
  const ablateFrequencies = options.ablate?.includes('freq') ?? false;
  if (ablateFrequencies && (ctx.p === null || !keys || keys.length === 0)) {
    throw new UsageError({
      field: '--ablate',
      message: `freq needs a modular task (a∘b mod p) with a Fourier view of its embedding; this run is ${ctx.task.description}`,
    });
  }
  const patchSteps = options.patch
    ? resolvePatch(options.patch, available, memorizing, tMem, cleanupStart)
    : null;
  let ablation =
    previous?.ablation &&
    unchanged.has(previous.ablation.step) &&
    sameNumbers(previous.ablation.key_frequencies, keys)
      ? previous.ablation
      : null;
  let patching =
    previous?.patching &&
    unchanged.has(previous.patching.target_step) &&
    unchanged.has(previous.patching.source_step)
      ? previous.patching
      : null;

  // Attention heatmaps are kept for the latest analysed checkpoint only.
  const gridStep = steps[steps.length - 1];
  let attentionGrid = previous?.attention_grid ?? null;
  const analysed: number[] = [];
  const write = () => {
    const doc = assemble(ctx, records, keySet, detect, detectError, attentionGrid, notes, status, available, {
      ablation,
      patching,
    });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeJsonAtomic(file, doc);
    return doc;
  };

  for (const step of steps) {
    const started = performance.now();
    const existing = records.get(step);
    if (existing && !keysChanged) continue;
    if (existing) {
      loadCheckpoint(ctx, step);
      existing.fourier = fourierOf(ctx, keys);
      existing.progress = progressOf(ctx, allLogits(ctx), keys);
    } else {
      const measured = measureCheckpoint(ctx, step, sourceOf(run, step), keys);
      records.set(step, measured.record);
      if (step === gridStep) attentionGrid = attentionGridOf(ctx, step, measured.probe);
    }
    analysed.push(step);
    write();
    say(`step ${step}: measures in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  }
  if (ctx.config.model.kind === 'transformer' && attentionGrid?.step !== gridStep) {
    loadCheckpoint(ctx, gridStep);
    const probe = probeModel(ctx.model, ctx.task.inputs, ctx.task.numExamples);
    attentionGrid = attentionGridOf(ctx, gridStep, probe);
  }

  const iterations = options.hessianIterations ?? DEFAULT_HESSIAN_ITERATIONS;
  const top = options.hessianTop ?? DEFAULT_HESSIAN_TOP;
  const dtype = options.hessianDtype ?? 'auto';
  for (const step of hessianSteps) {
    const record = records.get(step) as CheckpointAnalysis;
    const h = record.hessian;
    const fresh =
      h !== null &&
      h.requested_iterations === iterations &&
      h.requested_top === top &&
      (dtype === 'auto' || h.dtype === dtype);
    if (fresh) continue;
    record.hessian = hessianAt(ctx, step, { iterations, top, dtype });
    write();
    say(
      `step ${step}: Hessian top eigenvalue ${record.hessian.top_eigenvalues[0]?.toPrecision(4)} in ${record.hessian.seconds.toFixed(1)} s`,
    );
  }
  for (const step of pruneSteps) {
    const record = records.get(step) as CheckpointAnalysis;
    if (record.pruning !== null) continue;
    const started = performance.now();
    record.pruning = pruningAt(ctx, step);
    write();
    say(`step ${step}: pruning probe in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  if (ablateFrequencies && keys) {
    const started = performance.now();
    ablation = frequencyAblationAt(ctx, lastStep, keys);
    write();
    say(`step ${lastStep}: frequency ablation in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  if (patchSteps) {
    const started = performance.now();
    patching = patchingAt(ctx, patchSteps.target, patchSteps.source);
    write();
    say(
      `step ${patchSteps.target} patched from step ${patchSteps.source}: ${patching.sites.length} sites in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  return { document: write(), path: file, analysed };
}

function assemble(
  ctx: RunContext,
  records: Map<number, CheckpointAnalysis>,
  keySet: KeyFrequencySet | null,
  detect: AnalysisDocument['detect'],
  detectError: string | null,
  attentionGrid: AnalysisDocument['attention_grid'],
  notes: string[],
  status: { state: string; step: number | null } | null,
  available: number[],
  interventions: Pick<AnalysisDocument, 'ablation' | 'patching'>,
): AnalysisDocument {
  const checkpoints = [...records.values()].sort((a, b) => a.step - b.step);
  const { config, task, split } = ctx;
  const curves = curvesOf(ctx.run);
  const phases = detect
    ? locatePhases(
        { t_mem: detect.t_mem, t_grok_onset: detect.t_grok_onset, t_grok_crossing: detect.t_grok_crossing },
        checkpoints.map((c) => ({
          step: c.step,
          train_loss: c.losses.train_loss,
          test_loss: c.losses.test_loss,
          restricted_loss: c.progress?.restricted_loss ?? null,
          excluded_loss: c.progress?.excluded_loss ?? null,
          sum_squares: c.norms.sum_squares,
        })),
        curves,
      )
    : null;
  return {
    format: ANALYSIS_FORMAT,
    version: ANALYSIS_VERSION,
    groklab_version: GROKLAB_VERSION,
    run_id: ctx.run.id,
    generated_at: new Date().toISOString(),
    run: { state: status?.state ?? 'unknown', step: status?.step ?? null, checkpoints: available },
    task: {
      kind: config.task.kind,
      description: task.description,
      p: config.task.kind === 'modular' ? config.task.p : null,
      op: 'op' in config.task ? String(config.task.op) : null,
      classes: task.numClasses,
      train_examples: split.train.length,
      test_examples: split.test.length,
    },
    model: { kind: config.model.kind, parameters: ctx.parameters, spec: config.model },
    key_frequencies: keySet,
    detect,
    detect_error: detectError,
    phases,
    curves,
    checkpoints,
    attention_grid: attentionGrid,
    ablation: interventions.ablation,
    patching: interventions.patching,
    notes,
  };
}
