/**
 * Text output of `groklab detect FILE --capabilities GLOB`: per log, a table (one row per capability),
 * a compact text timeline on a log step axis, then each capability's reason and notes.
 */
import { alignColumns } from '../util/text-table.ts';
import {
  type CapabilityOutcome,
  type CapabilityResult,
  fmt,
  isCapabilityFailure,
  times,
} from './capabilities.ts';
import { formatStep } from './format.ts';

/** Columns of the text timeline. */
export const TIMELINE_WIDTH = 48;

/** Timeline marks, in the order a later one overwrites an earlier one. */
export const TIMELINE_MARKS = {
  evaluation: '·',
  gradual: '░',
  decline: '▒',
  jump: '█',
  t_mem: 'M',
} as const;

const JUMPS = new Set(['grokked', 'jumped-early', 'jumped']);

/** The text timeline's axis: log steps from the smallest positive evaluation step to the largest. */
export interface TimelineAxis {
  min: number;
  max: number;
  width: number;
}

export function timelineAxisOf(steps: readonly number[], width = TIMELINE_WIDTH): TimelineAxis {
  const positive = steps.filter((s) => s > 0);
  const min = positive.length > 0 ? Math.min(...positive) : 1;
  const max = Math.max(min * 10, ...positive);
  return { min, max, width };
}

/** The column of `step`: step 0 (and anything below the axis) at the left edge, then ln(step) from min to max. */
export function timelineColumn(step: number, axis: TimelineAxis): number {
  if (step <= 0 || step < axis.min) return 0;
  const x = Math.log(step / axis.min) / Math.log(axis.max / axis.min);
  return Math.min(axis.width - 1, 1 + Math.round(x * (axis.width - 2)));
}

/** One capability's row of the text timeline (its evaluations must be known: `steps`). */
export function timelineRow(r: CapabilityResult, steps: readonly number[], axis: TimelineAxis): string {
  const row = new Array<string>(axis.width).fill(' ');
  for (const s of steps) row[timelineColumn(s, axis)] = TIMELINE_MARKS.evaluation;
  const span = (from: number, to: number, mark: string) => {
    const a = timelineColumn(from, axis);
    const b = timelineColumn(to, axis);
    for (let i = a; i <= b; i++) row[i] = mark;
  };
  if (r.decline) span(r.decline.t10, r.decline.t90, TIMELINE_MARKS.decline);
  const c = r.change;
  if (c && JUMPS.has(r.label)) span(Math.max(c.t10, 0), c.t90, TIMELINE_MARKS.jump);
  else if (c && r.label === 'rising-gradually' && c.significance.significant)
    span(Math.max(c.t10, 0), c.t90, TIMELINE_MARKS.gradual);
  if (r.t_mem !== null) row[timelineColumn(r.t_mem, axis)] = TIMELINE_MARKS.t_mem;
  return row.join('');
}

/** The labels under the timeline: its ends and the powers of ten between, each where it falls. */
export function timelineLabels(axis: TimelineAxis): string {
  const row = new Array<string>(axis.width + 8).fill(' ');
  const put = (label: string, col: number) => {
    const at = Math.min(Math.max(0, col - Math.floor(label.length / 2)), row.length - label.length);
    if (row.slice(Math.max(0, at - 1), at + label.length + 1).some((c) => c !== ' ')) return;
    for (let i = 0; i < label.length; i++) row[at + i] = label[i];
  };
  put(compactStep(axis.min), 1);
  put(compactStep(axis.max), axis.width - 1);
  for (let p = 10 ** Math.ceil(Math.log10(axis.min)); p < axis.max; p *= 10)
    put(compactStep(p), timelineColumn(p, axis));
  return row.join('').trimEnd();
}

/** 1, 10, 100, 1k, 10k, 100k, 1M, ... */
function compactStep(x: number): string {
  const short = (v: number) => String(Number(v.toPrecision(3)));
  if (x >= 1e6) return `${short(x / 1e6)}M`;
  if (x >= 1e3) return `${short(x / 1e3)}k`;
  return short(x);
}

function widthText(r: CapabilityResult): string {
  const c = r.change;
  if (!c || r.label === 'flat' || r.label === 'insufficient-data' || r.label === 'declined') return '—';
  const s = c.sharpness;
  if (s.beyond_log) return `>${times(c.t90 / Math.max(c.t10, 1e-9))}`;
  const factor = s.width_log !== null ? times(Math.exp(s.width_log)) : formatStep(s.width_10_90);
  if (s.resolution !== 'grid-limited') return factor;
  return s.width_log_max !== null ? `≤${times(Math.exp(s.width_log_max))}` : 'grid';
}

function changeText(r: CapabilityResult): string {
  const back = (x: number) => fmt(r.scale === 'log' ? Math.exp(x) : x);
  const c = r.label === 'declined' ? r.decline : r.change;
  if (c && r.label !== 'flat' && r.label !== 'insufficient-data')
    return `${back(c.from_level)} → ${back(c.to_level)}`;
  if (r.label === 'rising-gradually' || r.label === 'declined') {
    const t = r.trend;
    if (t) return `${back(t.first_mean)} → ${back(t.last_mean)}`;
  }
  if (r.first_value !== null && r.last_value !== null) return `${fmt(r.first_value)} … ${fmt(r.last_value)}`;
  return '—';
}

function zText(r: CapabilityResult): string {
  const c = r.label === 'declined' ? (r.decline ?? null) : r.change;
  const z = c?.significance.z ?? null;
  if (z === null || r.label === 'insufficient-data') return '—';
  if (!Number.isFinite(z)) return '∞';
  return z >= 100 ? '>100' : z.toFixed(1);
}

function kindText(r: CapabilityResult): string {
  const arrow = r.direction === 'higher-is-better' ? '↑' : '↓';
  return `${r.kind}${r.scale === 'log' ? ' (ln)' : ''} ${arrow}${r.direction_from === 'trend' ? '?' : ''}`;
}

/** "run-7 (csv log)": how a log is named above its capabilities. */
function sourceName(r: Pick<CapabilityResult, 'source'>): string {
  const s = r.source;
  const what = s.kind === 'groklab-run' ? `groklab run${s.task ? `, ${s.task}` : ''}` : `${s.kind} log`;
  return `${s.path ?? '(curve)'} (${what})`;
}

/**
 * The report: for each log, its table, timeline, reasons and notes; `evaluations(r)` gives the
 * steps each capability was evaluated at (for the timeline's dots).
 */
export function formatCapabilities(
  outcomes: CapabilityOutcome[],
  glob: string,
  evaluations: (r: CapabilityResult) => readonly number[],
  unmatched: string[] = [],
): string {
  const lines: string[] = [];
  const groups = new Map<string, CapabilityOutcome[]>();
  for (const o of outcomes) {
    const key = o.source.path ?? '(curve)';
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  for (const group of groups.values()) {
    const failure = group.find(isCapabilityFailure);
    if (failure) {
      lines.push(`${failure.source.path}: error: ${failure.error}`, '');
      continue;
    }
    const results = group as CapabilityResult[];
    const first = results[0];
    lines.push(
      `${sourceName(first)}: ${results.length} ${results.length === 1 ? 'capability' : 'capabilities'} matching '${glob}' (x axis: ${first.step_column})`,
      '',
    );
    const header = ['capability', 'kind', 'label', 't_grok', 't50', 'width', 'change', 'z', 't_mem', 'evals'];
    const rows = results.map((r) => [
      r.name,
      kindText(r),
      r.label,
      formatStep(r.t_grok),
      formatStep(r.change && r.label !== 'flat' && r.label !== 'declined' ? r.change.t50 : null),
      widthText(r),
      changeText(r),
      zText(r),
      formatStep(r.t_mem),
      String(r.evaluations),
    ]);
    lines.push(...alignColumns(header, rows, 3).map((l) => `  ${l}`), '');

    const axis = timelineAxisOf(results.flatMap((r) => evaluations(r)));
    const nameWidth = Math.max(...results.map((r) => r.name.length));
    lines.push(
      `  timeline (ln step, step 0 at the left edge: ${TIMELINE_MARKS.evaluation} evaluation, ${TIMELINE_MARKS.t_mem} t_mem, ${TIMELINE_MARKS.jump} jump 10→90%, ${TIMELINE_MARKS.gradual} gradual rise, ${TIMELINE_MARKS.decline} decline)`,
    );
    for (const r of results) {
      lines.push(`  ${r.name.padEnd(nameWidth)}  ${timelineRow(r, evaluations(r), axis)}  ${r.label}`);
    }
    lines.push(`  ${' '.repeat(nameWidth)}  ${timelineLabels(axis)}`, '');

    for (const r of results) {
      lines.push(`  ${r.name}: ${r.reason}`);
      for (const note of r.notes) lines.push(`    note: ${note}`);
      for (const issue of r.issues) lines.push(`    ${issue.severity}: ${issue.message}`);
    }
    lines.push('');
  }
  if (unmatched.length > 0) lines.push(`no column matching '${glob}' in: ${unmatched.join(', ')}`, '');
  lines.push(
    't_grok: first evaluation of a jump; t50: its midpoint; width: its 10→90% rise as a factor of training time (≤×N: too few evaluations inside it, only the bound is known); change: level before → after; z: the change in standard errors of the noise (≥ 4 counts); kind: ↑ higher is better, ↓ lower, ? guessed from the trend (docs/measures.md, per capability)',
  );
  return `${lines.join('\n')}\n`;
}
