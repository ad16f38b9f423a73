/**
 * The circuit-forming warning in a log (docs/early-warning.md): groklab's trainer, with
 * eval.progress on, logs its progress measures under `progress` and, once its rule fires, the step it
 * fired at as `progress.circuit_warning` in every later record. A run folder's and a JSONL log's
 * reader name them `progress/<measure>`; a CSV export may too. A log without any of them gives null,
 * so older logs are read exactly as before.
 */
import { PROGRESS_FIELDS } from '../train/progress-fields.ts';
import type { LogTable } from './series.ts';
import type { EarlyWarningView, Measures } from './types.ts';

export const WARNING_COLUMN = 'progress/circuit_warning';

/** The measure a column holds: its part after "progress/" (or "progress."), or null. */
function progressField(column: string): string | null {
  const m = /^progress[/.](.+)$/.exec(column);
  return m && (PROGRESS_FIELDS as readonly string[]).includes(m[1]) ? m[1] : null;
}

const asNumber = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v)
    ? v
    : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
      ? Number(v)
      : null;

/** The warning's step and its lead on t_grok; null when the log has no progress measure with a number. */
export function earlyWarningView(table: LogTable, measures: Measures): EarlyWarningView | null {
  const columns = table.columns.filter((c) => progressField(c) !== null);
  const present = columns.some((c) => table.rows.some((r) => asNumber(r[c]) !== null));
  if (!present) return null;
  const column = columns.find((c) => progressField(c) === 'circuit_warning') ?? WARNING_COLUMN;
  let step: number | null = null;
  for (const row of table.rows) {
    const v = asNumber(row[column]);
    // The first logged value: every later record repeats it.
    if (v !== null) {
      step = v;
      break;
    }
  }
  const tGrok = measures.t_grok_crossing;
  const lead = step !== null && tGrok !== null ? tGrok - step : null;
  const outcome: EarlyWarningView['outcome'] =
    step === null
      ? tGrok === null
        ? 'quiet'
        : 'missed'
      : tGrok === null
        ? 'pending'
        : (lead as number) > 0
          ? 'ahead'
          : 'late';
  return {
    column,
    step,
    lead_steps: lead,
    lead_fraction: lead !== null && tGrok !== null && tGrok > 0 ? lead / tGrok : null,
    outcome,
  };
}
