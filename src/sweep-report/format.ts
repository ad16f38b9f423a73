/**
 * The sweep report as text: flat records (one column per axis) for runs.csv/cells.csv/runs.json, a
 * plain-text table for the terminal, and report.md.
 */
import { formatStep } from '../measures/index.ts';
import type { AxisValue } from '../sweep/manifest.ts';
import { VARIANT_AXIS } from '../sweep/variants.ts';
import { alignColumns, markdownTable } from '../util/text-table.ts';
import type { ClaimCheck } from './claims.ts';
import { FEATURE_MOVEMENT_MIN, FEATURE_PROBE_EXAMPLES } from './feature-movement.ts';
import type { SweepAxis, SweepCellRow, SweepRunRow } from './gather.ts';
import { SEED_AXIS } from './gather.ts';
import { type InitScaleRun, initScaleTable } from './init-scale.ts';
import { COLLAPSE_LEVEL, FAST_TEST_ACC } from './levers.ts';
import { type LuResult, luMarkdown, luTerminal } from './lu-text.ts';
import { formatAxisValue, type PhaseChoice, type SkippedPlot } from './plots.ts';

export type Flat = Record<string, AxisValue | null>;

/** Columns of runs.csv after run_id and the axes, in this order. */
export const RUN_COLUMNS = [
  'state',
  'steps_budget',
  'steps_run',
  'evaluations',
  'last_eval_step',
  't_mem',
  't_grok_onset',
  't_grok_crossing',
  'gap_onset',
  'gap_crossing',
  'ratio_onset',
  'ratio_crossing',
  'final_train_acc',
  'final_test_acc',
  'final_train_loss',
  'final_test_loss',
  'final_weight_norm',
  'max_train_acc',
  'max_test_acc',
  't_test_acc_95',
  't_collapse',
  'final_collapse',
  'final_nlm_cosine',
  'wall_s',
  'weight_decay',
  'loss',
  'loss_precision',
  'grad_filter',
  'orthogonal_grad',
  'fixed_norm',
  'verdict',
  'verdict_reason',
  'error',
] as const satisfies readonly (keyof SweepRunRow)[];

/** Columns of cells.csv after the non-seed axes. */
export const CELL_COLUMNS = [
  'runs',
  'finished',
  'pending',
  'broken',
  'measured',
  'memorized',
  'generalized',
  'grokked',
  'frac_grokked',
  'frac_generalized',
  'median_t_mem',
  'median_t_grok_crossing',
  'median_t_grok_onset',
  'median_gap_crossing',
  'median_ratio_crossing',
  'median_t_test_acc_95',
  'mean_final_test_acc',
  'mean_final_train_acc',
  'verdict',
] as const satisfies readonly (keyof SweepCellRow)[];

export function flatRun(row: SweepRunRow, axes: SweepAxis[]): Flat {
  const out: Flat = { run_id: row.run_id };
  for (const a of axes) out[a.key] = row.values[a.key] ?? null;
  for (const c of RUN_COLUMNS) out[c] = row[c];
  return out;
}

export function flatCell(cell: SweepCellRow, axes: SweepAxis[]): Flat {
  const out: Flat = {};
  for (const a of axes) if (a.key !== SEED_AXIS) out[a.key] = cell.values[a.key] ?? null;
  for (const c of CELL_COLUMNS) out[c] = cell[c];
  return out;
}

function csvField(v: AxisValue | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** RFC 4180 CSV with a header; null is an empty field. */
export function toCsv(records: Flat[], columns: readonly string[]): string {
  const lines = [columns.map(csvField).join(',')];
  for (const r of records) lines.push(columns.map((c) => csvField(r[c] ?? null)).join(','));
  return `${lines.join('\n')}\n`;
}

/** Short column names for axes in tables: the last part of the key ("weight_decay"). */
function shortKey(key: string): string {
  return key.split('.').at(-1) ?? key;
}

function shortKeys(axes: SweepAxis[]): string[] {
  const names = axes.map((a) => shortKey(a.key));
  // Two axes with the same last part keep their whole keys.
  return names.map((n, i) => (names.indexOf(n) !== names.lastIndexOf(n) ? axes[i].key : n));
}

const acc = (x: number | null) => (x === null ? '—' : x.toFixed(3));
const ratio = (x: number | null) => (x === null ? '—' : x.toFixed(1));

/**
 * Whether the tables show the lever measures (steps to 95% test accuracy, softmax collapse): for a
 * sweep of variants, or one whose runs use a lever (a gradient filter, StableMax, a float64 softmax,
 * ⊥Grad). Other sweeps keep their tables as they were; runs.csv always has the columns.
 */
export function showsLevers(rows: readonly SweepRunRow[], axes: readonly SweepAxis[]): boolean {
  return (
    axes.some((a) => a.key === VARIANT_AXIS) ||
    rows.some(
      (r) =>
        (r.grad_filter !== null && r.grad_filter !== 'none') ||
        r.loss === 'stablemax_cross_entropy' ||
        r.loss_precision === 'float64' ||
        r.orthogonal_grad === true,
    )
  );
}

const share = (x: number | null) => (x === null ? '—' : x.toFixed(2));

function runTableRows(
  rows: SweepRunRow[],
  axes: SweepAxis[],
  levers: boolean,
): { header: string[]; body: string[][] } {
  const header = [
    'run',
    ...shortKeys(axes),
    'state',
    'steps',
    't_mem',
    'onset',
    't_grok',
    'gap',
    'ratio',
    'train acc',
    'test acc',
    '‖θ‖',
    ...(levers ? ['t 95%', 'collapse', 't collapse'] : []),
    'verdict',
  ];
  const body = rows.map((r) => [
    r.run_id,
    ...axes.map((a) => formatAxisValue(r.values[a.key])),
    r.state,
    r.steps_run === null
      ? '—'
      : `${formatStep(r.steps_run)}${r.steps_budget !== null ? `/${formatStep(r.steps_budget)}` : ''}`,
    formatStep(r.t_mem),
    formatStep(r.t_grok_onset),
    formatStep(r.t_grok_crossing),
    formatStep(r.gap_crossing),
    ratio(r.ratio_crossing),
    acc(r.final_train_acc),
    acc(r.final_test_acc),
    r.final_weight_norm === null ? '—' : r.final_weight_norm.toFixed(1),
    ...(levers ? [formatStep(r.t_test_acc_95), share(r.final_collapse), formatStep(r.t_collapse)] : []),
    r.verdict ?? '—',
  ]);
  return { header, body };
}

function cellTableRows(
  cells: SweepCellRow[],
  axes: SweepAxis[],
  levers: boolean,
): { header: string[]; body: string[][] } {
  const cellAxes = axes.filter((a) => a.key !== SEED_AXIS);
  const header = [
    ...shortKeys(cellAxes),
    'runs',
    'done',
    'grokked',
    'generalized',
    'median t_mem',
    'median t_grok',
    'median gap',
    ...(levers ? ['median t 95%'] : []),
    'mean test acc',
    'verdict',
  ];
  const body = cells.map((c) => [
    ...cellAxes.map((a) => formatAxisValue(c.values[a.key])),
    String(c.runs),
    String(c.finished),
    `${c.grokked}/${c.measured}`,
    `${c.generalized}/${c.measured}`,
    formatStep(c.median_t_mem),
    formatStep(c.median_t_grok_crossing),
    formatStep(c.median_gap_crossing),
    ...(levers ? [formatStep(c.median_t_test_acc_95)] : []),
    acc(c.mean_final_test_acc),
    c.verdict ?? '—',
  ]);
  return { header, body };
}

const tableArgs = (t: { header: string[]; body: string[][] }): [string[], string[][]] => [t.header, t.body];

function plainTable(header: string[], body: string[][]): string {
  return `${alignColumns(header, body).join('\n')}\n`;
}

export interface ReportText {
  name: string;
  runsDir: string;
  generatedAt: string;
  axes: SweepAxis[];
  /** What each variant overrides, by name (the manifest's), when the sweep has variants. */
  variants?: Record<string, Record<string, unknown>>;
  rows: SweepRunRow[];
  cells: SweepCellRow[];
  claims: ClaimCheck[];
  /** Sweeps over model.init_scale: the per-run delay and feature movement. */
  initScale?: InitScaleRun[];
  /** Sweeps over train.fixed_norm: the LU reading. */
  lu?: LuResult;
  thresholds: { mem: number; grok: number };
  phase: PhaseChoice | null;
  plots: Array<{ stem: string; description: string; files: string[] }>;
  skipped: SkippedPlot[];
}

/** Counts of runs per state, e.g. "28 finished, 1 running, 1 not-started". */
export function stateSummary(rows: SweepRunRow[]): string {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  return [...counts.entries()].map(([s, n]) => `${n} ${s}`).join(', ');
}

/** What the terminal shows: the runs, the cells and one line per claim. */
export function formatTerminal(t: ReportText): string {
  const levers = showsLevers(t.rows, t.axes);
  const runs = runTableRows(t.rows, t.axes, levers);
  const cells = cellTableRows(t.cells, t.axes, levers);
  const claims = t.claims.map((c) => `  ${c.status.padEnd(10)} ${c.id}: ${c.why}`).join('\n');
  return [
    `sweep ${t.name}: ${t.rows.length} runs (${stateSummary(t.rows)})`,
    '',
    plainTable(runs.header, runs.body),
    'per cell, over seeds:',
    plainTable(cells.header, cells.body),
    ...(t.initScale ? ['per run, init scale α:', plainTable(...tableArgs(initScaleTable(t.initScale)))] : []),
    ...(t.lu ? luTerminal(t.lu) : []),
    'claims:',
    `${claims}\n`,
  ].join('\n');
}

const STATUS_MARK: Record<ClaimCheck['status'], string> = {
  held: '✅ held',
  'not held': '❌ not held',
  'not tested': '➖ not tested',
};

export function formatMarkdown(t: ReportText): string {
  const out: string[] = [];
  out.push(`# Sweep \`${t.name}\``, '');
  out.push(
    `Generated ${t.generatedAt} by \`groklab sweep-report\` from the run folders in \`${t.runsDir}\`: ${t.rows.length} runs (${stateSummary(t.rows)}).`,
    '',
  );
  out.push('Axes:', '');
  for (const a of t.axes) out.push(`- \`${a.key}\`: ${a.values.map((v) => formatAxisValue(v)).join(', ')}`);
  out.push('');
  if (t.variants && Object.keys(t.variants).length > 0) {
    out.push('Variants (overrides of the base config):', '');
    for (const [name, overrides] of Object.entries(t.variants)) {
      const list = Object.entries(overrides).map(([k, v]) => `\`${k}\` = \`${JSON.stringify(v)}\``);
      out.push(`- **${name}**: ${list.length > 0 ? list.join(', ') : 'the base config as is'}`);
    }
    out.push('');
  }
  out.push('## Claims', '');
  out.push(
    'Checked against the finished runs of this sweep (a run still going may yet change them); computed, not assumed.',
    '',
  );
  out.push(
    markdownTable(
      ['claim', 'status', 'why'],
      t.claims.map((c) => [c.claim, STATUS_MARK[c.status], c.why]),
    ),
  );
  if (t.lu) out.push(...luMarkdown(t.lu));
  out.push('## Plots', '');
  if (t.plots.length === 0) out.push('No plots: see below.', '');
  for (const p of t.plots) {
    const png = p.files.find((f) => f.endsWith('.png'));
    const shown = png ?? p.files[0];
    out.push(`- ${p.description}: ${p.files.map((f) => `[${f}](${f})`).join(', ')}`);
    if (shown) out.push('', `  ![${p.stem}](${shown})`, '');
  }
  for (const s of t.skipped) out.push(`- not drawn: ${s.plot}, because ${s.reason}`);
  if (t.phase)
    out.push(
      '',
      `The phase diagram's axes are ${t.phase.x}${t.phase.y ? ` (x) and ${t.phase.y} (y)` : ''}; choose others with \`--x KEY --y KEY\`, and the value with \`--metric t_grok|test_acc|gap\`.`,
    );
  out.push('');
  const levers = showsLevers(t.rows, t.axes);
  const cells = cellTableRows(t.cells, t.axes, levers);
  out.push('## Cells (over seeds)', '', markdownTable(cells.header, cells.body));
  const runs = runTableRows(t.rows, t.axes, levers);
  out.push('## Runs', '', markdownTable(runs.header, runs.body));
  if (t.initScale) {
    out.push('## Init scale α: delay and feature movement (per run)', '');
    out.push(markdownTable(...tableArgs(initScaleTable(t.initScale))));
  }
  const notes = t.rows.filter((r) => r.error !== null);
  if (notes.length > 0) {
    out.push('Runs with problems:', '');
    for (const r of notes) out.push(`- \`${r.run_id}\` (${r.state}): ${r.error}`);
    out.push('');
  }
  out.push('## Definitions', '');
  out.push(
    `- **t_mem**: first (confirmed) evaluation with train accuracy ≥ ${t.thresholds.mem}.`,
    `- **t_grok** (\`t_grok_crossing\`): first (confirmed) evaluation with test accuracy ≥ ${t.thresholds.grok}; **onset** (\`t_grok_onset\`): where the detector's jump begins. Both as in \`groklab detect\` (docs/measures.md).`,
    '- **gap** Δt = t_grok − t_mem; **ratio** = t_grok / t_mem.',
    '- **verdict**: `groklab detect`\'s label (grokked, comprehension, memorized-only, no-fit, ...); "grokked" needs memorization first, a plateau near the baseline and a sharp jump at ≥ 2× t_mem.',
    ...(levers
      ? [
          `- **t 95%** (\`t_test_acc_95\`): first evaluation with test accuracy ≥ ${FAST_TEST_ACC} (Grokfast's measure, not confirmed by later evaluations).`,
          `- **collapse** (\`final_collapse\`): the share of training examples whose loss is exactly 0 at the last evaluation (softmax collapse, metrics.jsonl \`softmax_collapse\`); **t collapse**: first evaluation where it reached ${COLLAPSE_LEVEL}.`,
          '- Runs enter the lever claims by their own config (gradient filter, loss and its precision, ⊥Grad, weight decay), not by their variant names.',
        ]
      : []),
    ...(t.initScale
      ? [
          '- **t_grok/t_mem** (α table): the delay ratio; "≥" where test accuracy never crossed, from the steps trained.',
          `- **max 1−CKA**: the largest movement of the last hidden layer's features from step 0 (1 − linear CKA, on up to ${FEATURE_PROBE_EXAMPLES} test examples) over the run's checkpoints; **t_feat**: the first checkpoint where it reached half that ("never" when the maximum is below ${FEATURE_MOVEMENT_MIN}); **grok ckpt**: the first checkpoint at or after t_grok; **rise after t_mem**: how much further the features moved after memorizing (from the last checkpoint at or before t_mem to the largest later movement), **its half at**: the first checkpoint where half of that rise was done ("small" below ${FEATURE_MOVEMENT_MIN}).`,
        ]
      : []),
    '- **Medians over seeds** are censored: a run that never reached the threshold counts as later than every run that did, so the median is shown only where at least half the runs got there.',
    `- Final values are those of each run's last evaluation; steps are \`steps run / budget\`. Numbers here are rounded; runs.csv, cells.csv and runs.json have them in full.`,
    '',
  );
  return out.join('\n');
}
