/**
 * A sweep's report, `<runsDir>/sweeps/<name>/report/`:
 *
 *   runs.csv    one row per run: axis values, state, t_mem, t_grok (onset, first crossing), gap,
 *               ratio, final accuracies, losses and weight norm, steps, verdict and its reason
 *   cells.csv   one row per cell of the grid, aggregated over seeds
 *   runs.json   the same rows and cells, the claim checks, the plots, thresholds and axes
 *   report.md   a readable summary: claims, plots, tables, definitions
 *   phase-<metric>.svg|png, variant-accuracy.svg|png, gap-vs-inverse-decay.svg|png,
 *   t-grok-vs-fraction.svg|png
 *
 * Everything is gathered (gather.ts: DuckDB over the run folders), checked (claims.ts) and
 * rendered in memory first; then the folder is written as a whole: built next to the old one and
 * renamed into place, so a reader sees the old report or the new one, never a mix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KEY_ALIASES } from '../config/overrides.ts';
import type { AnalyzeOptions } from '../measures/index.ts';
import { checkFormats, PLOT_FORMATS, type PlotFormat, specToSvg, svgToPng } from '../plots/index.ts';
import { fsyncDir, writeFileAtomic } from '../runs/index.ts';
import { readSweepManifest, sweepDir } from '../sweep/manifest.ts';
import { type ClaimCheck, checkClaims } from './claims.ts';
import {
  FEATURE_MOVEMENT_MIN,
  FEATURE_PROBE_EXAMPLES,
  measureSweepFeatures,
  type RunFeatureMovement,
} from './feature-movement.ts';
import {
  CELL_COLUMNS,
  type Flat,
  flatCell,
  flatRun,
  formatMarkdown,
  formatTerminal,
  type ReportText,
  RUN_COLUMNS,
  toCsv,
} from './format.ts';
import { gatherSweep, type SweepAxis } from './gather.ts';
import { INIT_SCALE_AXIS, type InitScaleRun, initScaleRuns } from './init-scale.ts';
import { type LuResult, luAnalysis } from './lu.ts';
import { choosePhaseAxes, type PhaseChoice, planPlots, type SkippedPlot } from './plots.ts';

export { PHASE_METRICS, type PhaseMetric } from './plots.ts';

export const REPORT_FOLDER = 'report';
export const REPORT_FORMAT = 'groklab-sweep-report/1';

export interface SweepReportOptions {
  /** Phase diagram axes (keys or aliases such as `wd`, `frac`); default the first two non-seed axes. */
  x?: string;
  y?: string;
  /** Phase diagram value: t_grok (default), test_acc or gap. */
  metric?: string;
  formats?: readonly string[];
  /** Passed to detectRun for every run (thresholds, baseline). */
  detect?: AnalyzeOptions;
  /** Time stamp written into the report (default now). */
  now?: Date;
}

/** runs.json. */
export interface SweepReportJson {
  format: typeof REPORT_FORMAT;
  sweep: string;
  runs_dir: string;
  generated_at: string;
  axes: SweepAxis[];
  /** What each variant overrides (full keys → values), when the sweep has variants. */
  variants?: Record<string, Record<string, unknown>>;
  thresholds: { mem: number; grok: number };
  summary: Record<string, number>;
  phase_diagram: PhaseChoice | null;
  plots: Array<{ name: string; description: string; files: string[] }>;
  plots_not_drawn: SkippedPlot[];
  claims: ClaimCheck[];
  /** Sweeps over model.init_scale: the per-run delay and feature movement (init-scale.ts). */
  init_scale?: {
    probe_examples: number;
    movement_min: number;
    runs: InitScaleRun[];
    /** Each run's 1 − CKA to step 0 at every checkpoint. */
    features: RunFeatureMovement[];
  };
  /** Sweeps over train.fixed_norm: Omnigrok's LU reading (lu.ts). */
  lu?: LuResult;
  runs: Flat[];
  cells: Flat[];
}

export interface BuiltReport {
  json: SweepReportJson;
  /** The terminal table. */
  text: string;
  /** Files of the report folder: name → contents. */
  files: Array<{ name: string; data: string | Uint8Array }>;
  /** Where they go. */
  dir: string;
}

/**
 * Reads the sweep, measures its runs, checks the claims and renders everything, without writing.
 * Bad options and unknown sweeps throw UsageError before any run is read.
 */
export async function buildSweepReport(
  runsDir: string,
  name: string,
  options: SweepReportOptions = {},
): Promise<BuiltReport> {
  const manifest = readSweepManifest(runsDir, name);
  const phase = choosePhaseAxes(manifest.axes, options, KEY_ALIASES);
  const formats: PlotFormat[] = checkFormats(options.formats ?? PLOT_FORMATS);
  const gathered = await gatherSweep(runsDir, manifest, { detect: options.detect });
  // Reading every checkpoint costs time: only sweeps over α have a claim that needs it.
  const features = manifest.axes.some((a) => a.key === INIT_SCALE_AXIS)
    ? measureSweepFeatures(
        runsDir,
        gathered.rows.filter((r) => r.state === 'finished').map((r) => r.run_id),
      )
    : undefined;
  const claims = checkClaims({ ...gathered, features });
  const initScale = features ? initScaleRuns(gathered.rows, features) : undefined;
  const plan = planPlots(manifest.name, gathered, phase);
  const lu = luAnalysis(gathered.axes, gathered.rows) ?? undefined;

  const files: BuiltReport['files'] = [];
  const plots: SweepReportJson['plots'] = [];
  for (const p of plan.plots) {
    const svg = await specToSvg(p.spec);
    const names: string[] = [];
    for (const f of formats) {
      const file = `${p.stem}.${f}`;
      files.push({ name: file, data: f === 'svg' ? svg : svgToPng(svg) });
      names.push(file);
    }
    plots.push({ name: p.stem, description: p.description, files: names });
  }

  const generatedAt = (options.now ?? new Date()).toISOString();
  const resolvedRunsDir = path.resolve(runsDir);
  const summary: Record<string, number> = { runs: gathered.rows.length };
  for (const r of gathered.rows) summary[r.state] = (summary[r.state] ?? 0) + 1;
  const json: SweepReportJson = {
    format: REPORT_FORMAT,
    sweep: manifest.name,
    runs_dir: resolvedRunsDir,
    generated_at: generatedAt,
    axes: manifest.axes,
    ...(manifest.variants ? { variants: manifest.variants } : {}),
    thresholds: gathered.thresholds,
    summary,
    phase_diagram: phase,
    plots,
    plots_not_drawn: plan.skipped,
    claims,
    ...(features && initScale
      ? {
          init_scale: {
            probe_examples: FEATURE_PROBE_EXAMPLES,
            movement_min: FEATURE_MOVEMENT_MIN,
            runs: initScale,
            features,
          },
        }
      : {}),
    ...(lu ? { lu } : {}),
    runs: gathered.rows.map((r) => flatRun(r, manifest.axes)),
    cells: gathered.cells.map((c) => flatCell(c, manifest.axes)),
  };
  const text: ReportText = {
    name: manifest.name,
    runsDir: resolvedRunsDir,
    generatedAt,
    axes: manifest.axes,
    variants: manifest.variants,
    rows: gathered.rows,
    cells: gathered.cells,
    claims,
    initScale,
    lu,
    thresholds: gathered.thresholds,
    phase,
    plots: plots.map((p) => ({ stem: p.name, description: p.description, files: p.files })),
    skipped: plan.skipped,
  };
  const axisKeys = manifest.axes.map((a) => a.key);
  const cellKeys = axisKeys.filter((k) => k !== 'seed');
  files.push(
    { name: 'runs.csv', data: toCsv(json.runs, ['run_id', ...axisKeys, ...RUN_COLUMNS]) },
    { name: 'cells.csv', data: toCsv(json.cells, [...cellKeys, ...CELL_COLUMNS]) },
    { name: 'runs.json', data: `${JSON.stringify(json, null, 2)}\n` },
    { name: 'report.md', data: formatMarkdown(text) },
  );
  return {
    json,
    text: formatTerminal(text),
    files,
    dir: path.join(sweepDir(runsDir, manifest.name), REPORT_FOLDER),
  };
}

/**
 * Replaces the report folder by `files` as a whole: written into a temporary sibling, then renamed
 * into place (the old folder is moved aside first and removed after). Returns the paths written.
 */
export function writeReportFolder(dir: string, files: BuiltReport['files']): string[] {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  const tmp = path.join(parent, `.${base}.tmp-${process.pid}`);
  const old = path.join(parent, `.${base}.old-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    for (const f of files) writeFileAtomic(path.join(tmp, f.name), f.data);
    fsyncDir(tmp);
    fs.rmSync(old, { recursive: true, force: true });
    const hadOld = fs.existsSync(dir);
    if (hadOld) fs.renameSync(dir, old);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      if (hadOld) fs.renameSync(old, dir);
      throw err;
    }
    fsyncDir(parent);
    fs.rmSync(old, { recursive: true, force: true });
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return files.map((f) => path.join(dir, f.name));
}

/** Builds and writes a sweep's report; returns it with the paths written. */
export async function sweepReport(
  runsDir: string,
  name: string,
  options: SweepReportOptions = {},
): Promise<BuiltReport & { paths: string[] }> {
  const built = await buildSweepReport(runsDir, name, options);
  return { ...built, paths: writeReportFolder(built.dir, built.files) };
}
