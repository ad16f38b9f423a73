/** The table printed when a sweep ends: every run with its axis values, state and final accuracies. */
import path from 'node:path';
import { detectRun } from '../measures/index.ts';
import { alignColumns } from '../util/text-table.ts';
import { shortKey } from './config-keys.ts';
import type { RunReport } from './pool.ts';
import type { SweepAxis } from './spec.ts';

export function formatSweepTable(
  reports: readonly RunReport[],
  axes: readonly SweepAxis[],
  runsDir: string,
): string {
  const header = [
    'run',
    ...axes.map((a) => shortKey(a.key)),
    'state',
    'step',
    'train acc',
    'test acc',
    'verdict',
  ];
  const rows = reports.map((r) => {
    const m = r.metrics;
    return [
      r.runId,
      ...axes.map((a) => String(r.values[a.key])),
      r.state + (r.skipped ? ' (before)' : '') + (r.attempts > 1 ? ` (${r.attempts} tries)` : ''),
      m ? String(m.step) : '-',
      m?.train_acc != null ? m.train_acc.toFixed(3) : '-',
      m?.test_acc != null ? m.test_acc.toFixed(3) : '-',
      r.state === 'finished' ? verdictOf(path.join(runsDir, r.runId)) : '-',
    ];
  });
  const lines = alignColumns(header, rows);
  const problems = reports.filter((r) => r.message !== undefined && r.state !== 'finished');
  for (const r of problems) lines.push(`${r.runId}: ${r.state}: ${r.message}`);
  return `${lines.join('\n')}\n`;
}

function verdictOf(runDir: string): string {
  try {
    return detectRun(runDir).verdict.label;
  } catch {
    return '?';
  }
}
