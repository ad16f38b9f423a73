/**
 * Charts of groklab runs, as SVG and PNG, without a browser:
 *
 *   plotRun(runDir, outDir?, options?)          <outDir>/curves.{svg,png} and norms.{svg,png}, and
 *                                               stability.{svg,png} when the log has softmax_collapse
 *                                               or nlm_cosine (default outDir: <runDir>/plots)
 *   plotComparison(runDirs, outFile, options?)  <outFile>.{svg,png}: the runs' accuracies together
 *
 * Both return the paths written. Everything is read and rendered before anything is written, and
 * each file is written atomically, so bad input (UsageError) leaves no file behind. The lower-level
 * renderRunCharts / renderComparison / writeCharts let a caller validate and render many runs first
 * and write them all at the end (the CLI does). Curves come from metrics.jsonl, the markers (t_mem,
 * onset of the jump, first crossing) from src/measures' detectRun.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RunConfig } from '../config/schema.ts';
import { readRunConfig } from '../experiment/open.ts';
import { type AnalyzeOptions, COLLAPSE_HIGH, type DetectResult, detectRun } from '../measures/index.ts';
import { RUN_FILES, readMetrics, writeFileAtomic } from '../runs/index.ts';
import { trainFractionOf } from '../tasks/index.ts';
import type { TrainSpec } from '../train/spec.ts';
import { UsageError } from '../util/errors.ts';
import { componentsSpec, hasComponents } from './component-specs.ts';
import { specToSvg, svgToPng } from './render.ts';
import {
  type ComparisonRun,
  comparisonSpec,
  type Evaluation,
  hasStability,
  learningCurvesSpec,
  type Marker,
  type RunChartData,
  stabilitySpec,
  weightNormSpec,
} from './specs.ts';

export * from './analysis-specs/index.ts';
export * from './component-specs.ts';
export { fontFiles, type Pixels, PNG_SCALE, specToSvg, svgToPixels, svgToPng } from './render.ts';
export * from './specs.ts';
export * from './sweep-specs.ts';

export const PLOT_FORMATS = ['svg', 'png'] as const;
export type PlotFormat = (typeof PLOT_FORMATS)[number];

export interface PlotOptions {
  /** Which files to write (default both). */
  formats?: readonly PlotFormat[];
  /** Passed to detectRun: thresholds and baseline of the markers. */
  detect?: AnalyzeOptions;
}

/** A rendered chart not yet written. */
export interface RenderedFile {
  path: string;
  data: string | Uint8Array;
}

/** Everything read from one run folder. */
export interface LoadedRun {
  dir: string;
  id: string;
  chart: RunChartData;
  detect: DetectResult;
}

/** Throws UsageError unless `formats` is a non-empty list of known formats; returns it deduplicated. */
export function checkFormats(formats: readonly string[]): PlotFormat[] {
  const unknown = formats.filter((f) => !(PLOT_FORMATS as readonly string[]).includes(f));
  if (unknown.length > 0 || formats.length === 0) {
    throw new UsageError({
      field: '--format',
      message: `${unknown.length > 0 ? `unknown format "${unknown.join('", "')}"` : 'no format given'}; use ${PLOT_FORMATS.join(', ')} (comma-separated)`,
    });
  }
  return [...new Set(formats)] as PlotFormat[];
}

/** Reads a run folder: its curves, its measures and the words of its title. UsageError when it is none. */
export function loadRun(runDir: string, detectOptions: AnalyzeOptions = {}): LoadedRun {
  const dir = path.resolve(runDir);
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stat) throw new UsageError({ field: 'run', message: `"${runDir}" does not exist` });
  const isRun =
    stat.isDirectory() &&
    fs.existsSync(path.join(dir, RUN_FILES.config)) &&
    fs.existsSync(path.join(dir, RUN_FILES.metrics));
  if (!isRun) {
    throw new UsageError({
      field: 'run',
      message: `"${runDir}" is not a groklab run folder (config.json and metrics.jsonl)`,
    });
  }
  const { records } = readMetrics(path.join(dir, RUN_FILES.metrics));
  const evaluations = records.map(toEvaluation).sort((a, b) => a.step - b.step);
  if (evaluations.length === 0) {
    throw new UsageError({ field: 'run', message: `"${runDir}" has no evaluations yet: nothing to plot` });
  }
  const detect = detectRun(dir, detectOptions);
  const config = configOrNull(dir);
  const id = path.basename(dir);
  const chart: RunChartData = {
    id,
    title: `${id}: ${detect.source.task ?? config?.task.kind ?? 'unknown task'}`,
    subtitle: subtitleOf(config, detect),
    evaluations,
    markers: markersOf(detect),
    lossName: LOSS_NAMES[config?.train.loss ?? 'cross_entropy'],
  };
  return { dir, id, chart, detect };
}

const LOSS_NAMES: Record<TrainSpec['loss'], string> = {
  cross_entropy: 'cross-entropy',
  mse: 'MSE',
  stablemax_cross_entropy: 'StableMax cross-entropy',
};

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function toEvaluation(r: Record<string, unknown> & { step: number }): Evaluation {
  const norms: Record<string, number> = {};
  if (typeof r.norms === 'object' && r.norms !== null) {
    for (const [k, v] of Object.entries(r.norms)) if (num(v) !== null) norms[k] = v as number;
  }
  const evaluation: Evaluation = {
    step: r.step,
    train_acc: num(r.train_acc),
    test_acc: num(r.test_acc),
    train_loss: num(r.train_loss),
    test_loss: num(r.test_loss),
    weight_norm: num(r.weight_norm),
    norms,
    softmax_collapse: num(r.softmax_collapse),
    nlm_cosine: num(r.nlm_cosine),
  };
  if (typeof r.components === 'object' && r.components !== null) {
    evaluation.components = {};
    for (const [name, c] of Object.entries(r.components as Record<string, Record<string, unknown>>)) {
      if (typeof c !== 'object' || c === null) continue;
      evaluation.components[name] = {
        train_acc: num(c.train_acc),
        test_acc: num(c.test_acc),
        train_loss: num(c.train_loss),
        test_loss: num(c.test_loss),
      };
    }
  }
  return evaluation;
}

/** The run's config, or null when config.json is missing or invalid: the curves are drawn from the metrics alone. */
function configOrNull(dir: string): RunConfig | null {
  try {
    return readRunConfig(dir);
  } catch {
    return null;
  }
}

function percent(x: number): string {
  return `${Number((x * 100).toPrecision(3))}%`;
}

const OPTIMIZER_NAMES = { adamw: 'AdamW', adam: 'Adam', sgd: 'SGD' } as const;

/** "MLP width 256 (quadratic) · AdamW lr 0.003, wd 0.5 · 50% of pairs for training · verdict". */
function subtitleOf(config: RunConfig | null, detect: DetectResult): string[] {
  const parts: string[] = [];
  if (config !== null) {
    const { model, train, task } = config;
    if (model.kind === 'mlp') parts.push(`MLP width ${model.width} (${model.activation})`);
    else parts.push(`transformer ${model.layers} layer${model.layers === 1 ? '' : 's'}, d ${model.d_model}`);
    parts.push(`${OPTIMIZER_NAMES[train.optimizer]} lr ${train.lr}, weight decay ${train.weight_decay}`);
    parts.push(
      task.kind === 'mnist'
        ? `${task.train_size} training images`
        : `${percent(trainFractionOf(task))} of the data for training`,
    );
  }
  const state = detect.source.state;
  const verdict = `groklab detect: ${detect.verdict.label}${state && state !== 'finished' ? ` (run ${state}: may change)` : ''}`;
  return parts.length > 0 ? [parts.join(' · '), verdict] : [verdict];
}

/** The rules drawn on every chart of a run. */
export function markersOf(detect: DetectResult): Marker[] {
  const m = detect.measures;
  const markers: Marker[] = [];
  if (m.t_mem !== null) {
    markers.push({
      kind: 't_mem',
      step: m.t_mem,
      label: `t_mem ${m.t_mem}: train acc ≥ ${percent(detect.thresholds.mem)}`,
    });
  }
  if (m.t_grok_onset !== null) {
    markers.push({
      kind: 'onset',
      step: m.t_grok_onset,
      label: `t_grok onset ${m.t_grok_onset}: the jump starts`,
    });
  }
  if (m.t_grok_crossing !== null) {
    markers.push({
      kind: 'crossing',
      step: m.t_grok_crossing,
      label: `t_grok ${m.t_grok_crossing}: test acc ≥ ${percent(detect.thresholds.grok)}`,
    });
  }
  return markers;
}

async function renderFiles(
  spec: Parameters<typeof specToSvg>[0],
  stem: string,
  formats: readonly PlotFormat[],
): Promise<RenderedFile[]> {
  const svg = await specToSvg(spec);
  return formats.map((f) => ({ path: `${stem}.${f}`, data: f === 'svg' ? svg : svgToPng(svg) }));
}

/** Renders curves, norms and (when the log has them) stability of a loaded run into `outDir` (default <run>/plots) without writing them. */
export async function renderRunCharts(
  run: LoadedRun,
  outDir: string = path.join(run.dir, 'plots'),
  formats: readonly PlotFormat[] = PLOT_FORMATS,
): Promise<RenderedFile[]> {
  const files = [
    ...(await renderFiles(learningCurvesSpec(run.chart), path.join(outDir, 'curves'), formats)),
    ...(await renderFiles(weightNormSpec(run.chart), path.join(outDir, 'norms'), formats)),
  ];
  // Runs written before the trainer measured them have neither column, and no such chart.
  if (hasStability(run.chart.evaluations)) {
    const spec = stabilitySpec(run.chart, { collapseLevel: COLLAPSE_HIGH });
    files.push(...(await renderFiles(spec, path.join(outDir, 'stability'), formats)));
  }
  // Mixture runs: one curve per component.
  if (hasComponents(run.chart.evaluations)) {
    const spec = componentsSpec(run.chart, { grokThreshold: run.detect.thresholds.grok });
    files.push(...(await renderFiles(spec, path.join(outDir, 'components'), formats)));
  }
  return files;
}

/** Unique legend labels: run ids, or paths relative to the working directory when ids repeat. */
export function comparisonLabels(runs: LoadedRun[]): string[] {
  const ids = runs.map((r) => r.id);
  const labels = ids.map((id, i) =>
    ids.indexOf(id) !== ids.lastIndexOf(id) ? path.relative('.', runs[i].dir) : id,
  );
  return labels.map((l, i) => (labels.indexOf(l) !== i ? `${l} (${i + 1})` : l));
}

/** `outFile` without a .svg/.png extension. */
function stemOf(outFile: string): string {
  return outFile.replace(/\.(svg|png)$/i, '');
}

/** Renders the comparison chart of loaded runs to `<outFile>.svg|png` without writing it. */
export async function renderComparison(
  runs: LoadedRun[],
  outFile: string,
  formats: readonly PlotFormat[] = PLOT_FORMATS,
): Promise<RenderedFile[]> {
  const labels = comparisonLabels(runs);
  const entries: ComparisonRun[] = runs.map((r, i) => ({
    label: labels[i],
    evaluations: r.chart.evaluations,
    tGrok: r.detect.measures.t_grok_crossing,
  }));
  const grokThreshold = runs[0]?.detect.thresholds.grok ?? 0.9;
  return renderFiles(comparisonSpec(entries, { grokThreshold }), stemOf(outFile), formats);
}

/** Writes rendered charts, each atomically (folders created as needed); returns their paths. */
export function writeCharts(files: RenderedFile[]): string[] {
  for (const f of files) {
    fs.mkdirSync(path.dirname(f.path), { recursive: true });
    writeFileAtomic(f.path, f.data);
  }
  return files.map((f) => f.path);
}

/** Learning curves, weight norms and, when the log has them, the stability measures of one run; returns the paths written. */
export async function plotRun(runDir: string, outDir?: string, options: PlotOptions = {}): Promise<string[]> {
  const formats = checkFormats(options.formats ?? PLOT_FORMATS);
  const run = loadRun(runDir, options.detect);
  return writeCharts(await renderRunCharts(run, outDir ?? path.join(run.dir, 'plots'), formats));
}

/**
 * Accuracies of several runs on one chart, written to `outFile` with each format's extension
 * (a .svg or .png extension on `outFile` is replaced); returns the paths written.
 */
export async function plotComparison(
  runDirs: string[],
  outFile: string,
  options: PlotOptions = {},
): Promise<string[]> {
  const formats = checkFormats(options.formats ?? PLOT_FORMATS);
  if (runDirs.length === 0) throw new UsageError({ field: 'run', message: 'no runs to compare' });
  const runs = runDirs.map((d) => loadRun(d, options.detect));
  return writeCharts(await renderComparison(runs, outFile, formats));
}
