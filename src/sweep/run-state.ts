/**
 * Where a sweep's run stands on disk and what to do with it: skip it (finished), start it (no
 * folder), start it over (a folder without a checkpoint), resume it from its last checkpoint, or
 * leave it alone (its process is alive). Also the check that an existing folder belongs to the
 * sweep's cell, so a sweep never resumes or deletes someone else's run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseRunConfig, type RunConfig } from '../config/schema.ts';
import { isInterrupted, RUN_FILES, RunFolder, type RunStatus } from '../runs/index.ts';
import type { FinalMetrics } from './child-protocol.ts';
import { leafKeys } from './config-keys.ts';

export type RunDisposition =
  | { kind: 'finished'; step: number }
  | { kind: 'start' }
  | { kind: 'restart'; reason: string }
  | { kind: 'resume'; step: number; state: RunStatus['state'] | 'interrupted' }
  | { kind: 'busy'; pid: number; hostname: string };

/**
 * `takeover`: a status "running" written on another host is treated as dead. Only a queue worker
 * may say so: BullMQ hands a job to it only after the previous holder stopped renewing its lock.
 */
export function inspectRun(runsDir: string, runId: string, takeover = false): RunDisposition {
  const dir = path.join(runsDir, runId);
  if (!fs.existsSync(dir)) return { kind: 'start' };
  const run = new RunFolder(runsDir, runId);
  let status: RunStatus;
  try {
    status = run.readStatus();
  } catch (err) {
    return restartOrResume(run, `unreadable status (${(err as Error).message})`);
  }
  if (status.state === 'finished') return { kind: 'finished', step: status.step };
  if (
    status.state === 'running' &&
    !isInterrupted(status) &&
    !(takeover && status.hostname !== os.hostname())
  )
    return { kind: 'busy', pid: status.pid, hostname: status.hostname };
  const latest = run.latestCheckpoint();
  if (latest === null) return { kind: 'restart', reason: `${status.state} before its first checkpoint` };
  return { kind: 'resume', step: latest, state: isInterrupted(status) ? 'interrupted' : status.state };
}

function restartOrResume(run: RunFolder, reason: string): RunDisposition {
  const latest = run.latestCheckpoint();
  return latest === null ? { kind: 'restart', reason } : { kind: 'resume', step: latest, state: 'failed' };
}

/** Entries a run folder may hold (dot-prefixed temp files aside). */
const RUN_ENTRIES = new Set<string>([...Object.values(RUN_FILES), 'analysis', 'plots']);

/** Entries of a run folder that a run folder does not hold (a reason not to delete it). */
export function foreignEntries(runsDir: string, runId: string): string[] {
  return fs.readdirSync(path.join(runsDir, runId)).filter((e) => !e.startsWith('.') && !RUN_ENTRIES.has(e));
}

/**
 * Deletes a run folder that is to be started over. Refuses anything that does not look like a
 * run folder; the folder is renamed away first so a crash mid-delete leaves no half run behind.
 */
export function removeRunFolder(runsDir: string, runId: string): void {
  const dir = path.join(runsDir, runId);
  const strange = foreignEntries(runsDir, runId);
  if (strange.length > 0)
    throw new Error(
      `${dir} does not look like a run folder (it holds ${strange.join(', ')}); not deleting it`,
    );
  const trash = path.join(runsDir, `.${runId}.trash-${process.pid}`);
  fs.rmSync(trash, { recursive: true, force: true });
  fs.renameSync(dir, trash);
  fs.rmSync(trash, { recursive: true, force: true });
}

/**
 * How an existing run folder's config differs from the cell's ("" when it is the cell's run). The
 * task, model and seeds must match; train and eval too unless the run was resumed with changes
 * (recorded in its lineage). Unreadable configs are not compared (the run will be started over).
 */
export function configMismatch(runsDir: string, runId: string, cellConfig: Record<string, unknown>): string {
  const file = path.join(runsDir, runId, RUN_FILES.config);
  let stored: RunConfig;
  try {
    stored = parseRunConfig(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch {
    return '';
  }
  const cell = parseRunConfig(cellConfig);
  const fields = ['seed', 'split_seed', 'task', 'model'];
  if (!stored.lineage || stored.lineage.length === 0) fields.push('train', 'eval');
  const diffs: string[] = [];
  for (const field of fields) {
    const a = (stored as unknown as Record<string, unknown>)[field];
    const b = (cell as unknown as Record<string, unknown>)[field];
    if (isDeepStrictEqual(a, b)) continue;
    diffs.push(...describeDifference(field, a, b));
  }
  return diffs.slice(0, 4).join(', ');
}

/** `train.lr: 0.001 in the folder, 0.003 in the sweep` lines for the leaves that differ. */
export function describeDifference(prefix: string, a: unknown, b: unknown): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(a) || !isObject(b)) return [`${prefix}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`];
  const keys = new Set([...leafKeys(a), ...leafKeys(b)]);
  const get = (o: Record<string, unknown>, k: string) =>
    k.split('.').reduce<unknown>((v, part) => (isObject(v) ? v[part] : undefined), o);
  return [...keys]
    .filter((k) => !isDeepStrictEqual(get(a, k), get(b, k)))
    .map((k) => `${prefix}.${k}: ${JSON.stringify(get(a, k))} → ${JSON.stringify(get(b, k))}`);
}

/** The last evaluation of a run folder, as reported in sweep tables and job results. */
export function finalMetrics(run: RunFolder, step: number): FinalMetrics {
  const { records } = run.readMetrics();
  const last = records.at(-1) as Record<string, unknown> | undefined;
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  return { step, train_acc: num(last?.train_acc), test_acc: num(last?.test_acc), wall_s: num(last?.wall_s) };
}
