/**
 * A groklab config.json next to someone else's log (in the log file's folder, or in a TensorBoard log
 * directory) says what the log is: its `task` gives the memorization band. Only `task` is read, so a
 * whole run config and a file holding just `{"task": {...}}` both work. The split is not known (the
 * log's trainer made its own), so the swap share is its expected value (baseline.ts).
 * A config.json that is not groklab's is ignored, and said so.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildTask, parseTaskSpec, trainFractionOf } from '../../tasks/index.ts';
import { UsageError } from '../../util/errors.ts';
import { baselineFromFraction } from '../baseline.ts';
import type { BaselineInfo, DataIssue } from '../types.ts';

export const CONFIG_FILE = 'config.json';

export interface ConfigNextToLog {
  baseline: BaselineInfo | null;
  /** The task in words ("x+y mod 113"), when the config was used. */
  task?: string;
  issues: DataIssue[];
}

/** Reads `dir`/config.json when there is one. */
export function readConfigNextTo(dir: string): ConfigNextToLog {
  const file = path.join(dir, CONFIG_FILE);
  if (!fs.existsSync(file)) return { baseline: null, issues: [] };
  const ignored = (severity: DataIssue['severity'], why: string): ConfigNextToLog => ({
    baseline: null,
    issues: [{ kind: 'ignored-config', severity, message: `${file} ${why}: not used for the baseline` }],
  });
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    return ignored('warning', `cannot be read as JSON (${(err as Error).message})`);
  }
  const task = typeof raw === 'object' && raw !== null && 'task' in raw ? raw.task : undefined;
  if (task === undefined) return ignored('info', 'has no groklab "task" section');
  try {
    const spec = parseTaskSpec(task);
    const data = buildTask(spec);
    return {
      baseline: baselineFromFraction(data, trainFractionOf(spec), `from ${file}`),
      task: data.description,
      issues: [],
    };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return ignored('warning', `has a task groklab cannot use (${err.message.replaceAll('\n', '; ')})`);
  }
}
