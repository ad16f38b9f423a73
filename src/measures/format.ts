/** Human-readable output of `groklab detect`: a report for one result, a table for several. */

import { alignColumns } from '../util/text-table.ts';
import { isBaselineKnown } from './baseline.ts';
import { COLLAPSE_HIGH } from './stability.ts';
import {
  type BaselineInfo,
  type DetectOutcome,
  type DetectResult,
  type EarlyWarningView,
  isFailure,
  type PlateauInfo,
  type SigmoidFit,
} from './types.ts';

/** Steps: whole numbers from 100 up, 3 significant digits below (epochs may be fractional). */
export function formatStep(x: number | null): string {
  if (x === null) return '—';
  if (Math.abs(x) >= 100 || Number.isInteger(x)) return String(Math.round(x));
  return x.toPrecision(3);
}

const num = (x: number | null, digits = 2) => (x === null ? '—' : x.toFixed(digits));
const sig = (x: number | null) => (x === null ? '—' : x.toPrecision(3));
/** A share as a percentage: "93%", "0.4%". */
const pct = (x: number) => `${Number((100 * x).toPrecision(2))}%`;

function describeSource(r: DetectResult): string {
  const s = r.source;
  const what =
    s.kind === 'groklab-run'
      ? `groklab run${s.task ? `, ${s.task}` : ''}${s.state ? `, ${s.state}` : ''}`
      : s.kind === 'curve'
        ? 'curve'
        : `${s.kind} log`;
  const sampling = r.sampling
    ? `; ${r.sampling.evaluations} test evaluations, steps ${formatStep(r.sampling.first_step)}–${formatStep(r.sampling.last_step)}, median spacing ${formatStep(r.sampling.spacing_median)}`
    : '';
  return `${s.path ?? '(curve)'} (${what}${sampling})`;
}

/** A change in accuracy: "+0.24", "−0.10"; one that rounds to zero is "+0.00". */
export function formatChange(x: number): string {
  const rounded = Number(x.toFixed(2));
  return `${rounded >= 0 ? '+' : '−'}${Math.abs(rounded).toFixed(2)}`;
}

function plateauLine(p: PlateauInfo): string {
  const shape =
    p.flat === null ? '' : `, ${p.flat ? 'flat' : 'climbing'} (drift ${formatChange(p.drift ?? 0)})`;
  return `${num(p.level)} ${p.cause}; steps ${formatStep(p.from_step)}–${formatStep(p.to_step)}${shape}`;
}

const POSITION_WORDS = {
  'low-end': 'at the low end (chance)',
  between: 'between the ends',
  'high-end': 'at the high end (swapped pairs answered)',
  above: 'above the band',
} as const;

/** "0.009 (chance 1/113) – 0.304 (chance + swapped pairs); the plateau 0.27 sits at the high end". */
function bandLine(b: BaselineInfo, plateau: PlateauInfo | null): string {
  if (b.source === 'real-inputs') return 'none: real-valued inputs (see baseline)';
  if (b.band === null) {
    return 'unknown: --task, --p and --train-fraction (or a groklab config.json next to the log) give it';
  }
  const chance = b.classes !== null ? `chance 1/${b.classes}` : 'chance';
  const where =
    plateau?.band_position != null
      ? `; the plateau ${num(plateau.level)} sits ${POSITION_WORDS[plateau.band_position]}`
      : '';
  return `${num(b.band.low, 3)} (${chance}) – ${num(b.band.high, 3)} (${chance} + swapped pairs)${where}`;
}

/** "step 600 · 750 steps (56% of t_grok) before t_grok", "none before t_grok", ... */
export function warningText(w: EarlyWarningView): string {
  const at = `step ${formatStep(w.step)}`;
  switch (w.outcome) {
    case 'ahead':
      return `${at} · ${formatStep(w.lead_steps)} steps${w.lead_fraction !== null ? ` (${Math.round(100 * w.lead_fraction)}% of t_grok)` : ''} before t_grok`;
    case 'late':
      return `${at} · not before t_grok (${formatStep(-(w.lead_steps ?? 0))} steps after)`;
    case 'missed':
      return 'none before t_grok';
    case 'pending':
      return `${at} · test accuracy has not followed (yet)`;
    default:
      return 'none';
  }
}

function fitLine(fit: SigmoidFit | null, best: boolean): string | null {
  if (!fit) return null;
  const unit = fit.space === 'step' ? 'per step' : 'per ln step';
  return `t0 ${formatStep(fit.t0)} · k ${sig(fit.k)} ${unit} · c ${num(fit.c)} · d ${num(fit.d)} · 10→90% ${formatStep(fit.t10)}–${formatStep(fit.t90)} · R² ${num(fit.r2, 3)} · RMSE ${num(fit.rmse, 3)} (${fit.points} points${fit.converged ? '' : ', not converged'})${best ? '  ← better fit' : ''}`;
}

export function formatReport(r: DetectResult): string {
  const m = r.measures;
  const tr = r.transition;
  const lines: string[] = [describeSource(r), `verdict: ${r.verdict.label}`, `  ${r.verdict.reason}`, ''];
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(44)} ${value}`);
  const bracket = (prev: number | null, at: number | null) =>
    at !== null && prev !== null
      ? `   (crossed between evaluations ${formatStep(prev)} and ${formatStep(at)})`
      : '';
  row(
    `t_mem (train acc ≥ ${r.thresholds.mem}, confirmed)`,
    `${formatStep(m.t_mem)}${bracket(m.t_mem_previous_eval, m.t_mem)}`,
  );
  row('t_grok onset (detector: jump starts)', formatStep(m.t_grok_onset));
  row(
    `t_grok crossing (test acc ≥ ${r.thresholds.grok}, confirmed)`,
    `${formatStep(m.t_grok_crossing)}${bracket(m.t_grok_crossing_previous_eval, m.t_grok_crossing)}`,
  );
  row('gap Δt = t_grok − t_mem', `onset ${formatStep(m.gap_onset)} · crossing ${formatStep(m.gap_crossing)}`);
  row('ratio t_grok / t_mem', `onset ${num(m.ratio_onset, 1)} · crossing ${num(m.ratio_crossing, 1)}`);
  if (r.plateau) row('plateau (smoothed test acc after t_mem)', plateauLine(r.plateau));
  if (tr) {
    row(
      'rise (smoothed test acc)',
      `plateau ${num(tr.plateau_level)} → peak ${num(tr.peak_level)}; 10/50/90% at ${formatStep(tr.t10)} / ${formatStep(tr.t50)} / ${formatStep(tr.t90)}`,
    );
    row(
      'width 10→90%',
      `${formatStep(tr.width_10_90)} steps (≤ ${formatStep(tr.width_10_90_max)} on the evaluation grid) = ${num(tr.width_relative === null ? null : 100 * tr.width_relative, 1)}% of the onset; ln(t90/t10) ${num(tr.width_log)}`,
    );
    row(
      'max slope',
      `${sig(tr.max_slope)} per step at ${formatStep(tr.max_slope_step)}; ${sig(tr.max_slope_log)} per ln step`,
    );
    row(
      'checks',
      `plateau near baseline: ${tr.checks.plateau_near_baseline ?? '—'} · peak well above baseline: ${tr.checks.peak_well_above_baseline ?? '—'}${isBaselineKnown(r.baseline) ? '' : ' (against an estimated baseline: the verdict judges the plateau by its shape instead)'}`,
    );
  } else {
    row('rise', 'no rise of test accuracy by 0.1 or more');
  }
  const logFit = fitLine(r.sigmoid.log_step, r.sigmoid.best === 'log_step');
  const stepFit = fitLine(r.sigmoid.step, r.sigmoid.best === 'step');
  if (logFit) row('sigmoid in ln(step)', logFit);
  if (stepFit) row('sigmoid in step', stepFit);
  const w = r.weight_norm;
  if (w) {
    row(
      `weight norm (${w.column})`,
      `start ${sig(w.at_start)} · t_mem ${sig(w.at_t_mem)} · transition (t50) ${sig(w.at_transition)} · t_grok ${sig(w.at_t_grok_crossing)} · final ${sig(w.final)}`,
    );
  }
  const collapse = r.softmax_collapse;
  if (collapse) {
    const loss = collapse.loss_precision ? `${collapse.loss_precision} ` : '';
    row(
      `softmax collapse (train, ${loss}loss = 0)`,
      `final ${pct(collapse.final)} at step ${formatStep(collapse.final_step)} · max ${pct(collapse.max)} at ${formatStep(collapse.max_step)} · t_collapse (≥ ${pct(COLLAPSE_HIGH)}) ${formatStep(collapse.t_collapse)}${collapse.high_since !== null && collapse.high_since !== collapse.t_collapse ? `, above it from ${formatStep(collapse.high_since)} on` : ''}`,
    );
  }
  const nlm = r.nlm_cosine;
  if (nlm) {
    row(
      'NLM cosine cos(−∇L, θ)',
      `final ${num(nlm.final)} at step ${formatStep(nlm.final_step)} · median of the last ${nlm.late_evaluations} evaluations ${num(nlm.median_late)} (from step ${formatStep(nlm.late_from_step)}) · max ${num(nlm.max)} at ${formatStep(nlm.max_step)}`,
    );
  }
  const warning = r.early_warning;
  if (warning) row('circuit-forming warning (progress measures)', warningText(warning));
  const trend = r.end_trend;
  if (trend) {
    row(
      'end of the log',
      `test acc ${num(trend.last)} at step ${formatStep(trend.last_step)}; ${formatChange(trend.change)} over the last ${trend.evaluations} evaluations${trend.rising ? ' (still rising)' : ''}`,
    );
  }
  row('baseline', `${num(r.baseline.value, 3)} (${r.baseline.source}): ${r.baseline.detail}`);
  row('memorization band', bandLine(r.baseline, r.plateau));
  const cols = Object.entries(r.columns)
    .filter(([, c]) => c !== null)
    .map(([role, c]) => `${role}=${c}`);
  if (collapse) cols.push(`softmax_collapse=${collapse.column}`);
  if (nlm) cols.push(`nlm_cosine=${nlm.column}`);
  if (warning) cols.push(`circuit_warning=${warning.column}`);
  row('columns', cols.join(' · '));
  if (r.issues.length > 0) {
    lines.push('', `issues (${r.issues.length}):`);
    for (const issue of r.issues) lines.push(`  - ${issue.severity}: ${issue.message}`);
  }
  if (r.verdict.notes.length > 0) {
    lines.push('', 'notes:');
    for (const note of r.verdict.notes) lines.push(`  - ${note}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One row per outcome, then each verdict's reason. */
export function formatTable(outcomes: DetectOutcome[]): string {
  const header = [
    'source',
    'verdict',
    't_mem',
    'onset',
    't_grok',
    'gap',
    'width',
    'plateau',
    'baseline',
    'issues',
  ];
  // Only logs with progress measures get the warning's column: the table of others is as it was.
  const warned = outcomes.some((o) => !isFailure(o) && o.early_warning !== null);
  if (warned) header.splice(5, 0, 'warning');
  const rows = outcomes.map((o) => {
    const name = o.source.run_id ?? o.source.path ?? '(curve)';
    if (isFailure(o)) return [name, 'error', ...header.slice(2).map(() => '')];
    const m = o.measures;
    const tr = o.transition;
    const warning = warned ? [o.early_warning ? formatStep(o.early_warning.step) : '—'] : [];
    return [
      name,
      o.verdict.label,
      formatStep(m.t_mem),
      formatStep(m.t_grok_onset),
      formatStep(m.t_grok_crossing),
      ...warning,
      formatStep(m.gap_onset),
      tr?.width_relative != null ? `${(100 * tr.width_relative).toFixed(1)}%` : '—',
      num(o.plateau?.level ?? null),
      o.baseline.band && o.baseline.band.high > o.baseline.band.low
        ? `${num(o.baseline.band.low, 3)}–${num(o.baseline.band.high)}`
        : num(o.baseline.value, 3),
      String(o.issues.filter((i) => i.severity === 'warning').length),
    ];
  });
  const out = [...alignColumns(header, rows, 2), ''];
  for (const o of outcomes) {
    const name = o.source.run_id ?? o.source.path ?? '(curve)';
    out.push(isFailure(o) ? `${name}: error: ${o.error}` : `${name}: ${o.verdict.reason}`);
  }
  out.push(
    '',
    `onset: first evaluation of the jump (detector); t_grok: first confirmed evaluation with test acc ≥ threshold;${warned ? ' warning: step of the circuit-forming warning (progress measures);' : ''} gap = onset − t_mem; width: 10→90% rise / onset; baseline: the memorization band (chance – chance + swapped pairs) when the task is known; issues: warnings (see --json or a single path)`,
  );
  return `${out.join('\n')}\n`;
}
