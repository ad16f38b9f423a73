/**
 * Everything checked before a sweep writes its first byte: the manifest of an earlier sweep of the
 * same name must describe the same grid, and existing run folders with the sweep's run ids must be
 * its runs. Then the manifest is written (or kept, so `created_at` identifies the sweep).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isPidAlive } from '../runs/index.ts';
import { UsageError } from '../util/errors.ts';
import { manifestOf, type SweepPlan } from './expand.ts';
import {
  readSweepManifest,
  SWEEP_FILE,
  type SweepManifest,
  sweepDir,
  writeSweepManifest,
} from './manifest.ts';
import { configMismatch, describeDifference, foreignEntries, inspectRun } from './run-state.ts';

/** Validates the plan against what is on disk and writes (or keeps) the manifest; returns it. */
export function prepareSweep(runsDir: string, plan: SweepPlan): SweepManifest {
  const next = manifestOf(plan);
  const existing = fs.existsSync(path.join(sweepDir(runsDir, plan.spec.name), SWEEP_FILE))
    ? readSweepManifest(runsDir, plan.spec.name)
    : null;
  if (existing) {
    const changes = sweepDifferences(existing, next);
    if (changes.length > 0) {
      throw new UsageError({
        field: 'name',
        message: `a different sweep named "${plan.spec.name}" already exists in ${runsDir} (${changes.join('; ')}); give this one a new name (e.g. name: ${plan.spec.name}-2), or delete ${sweepDir(runsDir, plan.spec.name)} and its runs to start over`,
      });
    }
  }
  const foreign: string[] = [];
  for (const cell of plan.cells) {
    if (!fs.existsSync(path.join(runsDir, cell.runId))) continue;
    const diff = configMismatch(runsDir, cell.runId, cell.config);
    if (diff !== '') foreign.push(`${cell.runId} (${diff})`);
    else if (inspectRun(runsDir, cell.runId).kind === 'restart') {
      // It will be deleted and started over: only if it is a run folder and nothing more.
      const strange = foreignEntries(runsDir, cell.runId);
      if (strange.length > 0) foreign.push(`${cell.runId} (also holds ${strange.join(', ')})`);
    }
  }
  if (foreign.length > 0) {
    throw new UsageError({
      field: 'name',
      message: `folders with this sweep's run ids hold other things: ${foreign.slice(0, 3).join('; ')}${foreign.length > 3 ? `; and ${foreign.length - 3} more` : ''}; choose another sweep name or move those runs away`,
    });
  }
  if (existing && isDeepStrictEqual(existing.spec, next.spec)) return existing;
  // Same grid, new wording (e.g. a description): keep the sweep's identity, refresh the spec.
  const manifest = existing ? { ...next, created_at: existing.created_at } : next;
  writeSweepManifest(runsDir, manifest);
  return manifest;
}

/** What makes `next` a different sweep from `existing` (empty: the same grid of the same runs). */
export function sweepDifferences(existing: SweepManifest, next: SweepManifest): string[] {
  const changes: string[] = [];
  const keysBefore = existing.axes.map((a) => a.key);
  const keysAfter = next.axes.map((a) => a.key);
  if (!isDeepStrictEqual(keysBefore, keysAfter)) {
    changes.push(`axes ${keysBefore.join(', ')} → ${keysAfter.join(', ')}`);
  } else {
    for (const [i, axis] of next.axes.entries()) {
      const before = existing.axes[i].values;
      if (!isDeepStrictEqual(before, axis.values))
        changes.push(`${axis.key} ${list(before)} → ${list(axis.values)}`);
    }
  }
  // Same variant names (the axis above), different overrides: different runs.
  for (const [name, after] of Object.entries(next.variants ?? {})) {
    const before = existing.variants?.[name];
    if (before !== undefined && !isDeepStrictEqual(before, after))
      changes.push(`variant ${name} ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
  }
  const baseBefore = existing.spec.base_config;
  const baseAfter = next.spec.base_config;
  if (baseBefore !== undefined && !isDeepStrictEqual(baseBefore, baseAfter)) {
    const diffs = describeDifference('', baseBefore, baseAfter).map((d) => d.replace(/^\./, ''));
    changes.push(`base config ${diffs.slice(0, 4).join(', ')}${diffs.length > 4 ? ', …' : ''}`);
  }
  if (changes.length === 0 && !isDeepStrictEqual(existing.cells, next.cells)) changes.push('different cells');
  return changes;
}

function list(values: readonly unknown[]): string {
  const shown = values.slice(0, 8).map((v) => JSON.stringify(v));
  return `[${shown.join(', ')}${values.length > 8 ? `, … (${values.length})` : ''}]`;
}

/**
 * One local sweep process per sweep at a time: `<sweep dir>/lock.json` holds the owner's pid and
 * host, created exclusively; a lock whose process is gone (same host) is taken over. Returns the
 * release function.
 */
export function lockSweep(runsDir: string, name: string): () => void {
  const file = path.join(sweepDir(runsDir, name), 'lock.json');
  const mine = JSON.stringify({ pid: process.pid, hostname: os.hostname(), at: new Date().toISOString() });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx' });
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8') === mine) fs.rmSync(file);
        } catch {
          // Already gone.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner: { pid?: number; hostname?: string } = {};
    try {
      owner = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      // Unreadable (being written): treated as stale below only if it stays so.
    }
    const alive =
      owner.hostname !== os.hostname() || (typeof owner.pid === 'number' && isPidAlive(owner.pid));
    if (alive && owner.pid !== undefined) {
      throw new UsageError({
        field: 'name',
        message: `sweep "${name}" is already running (pid ${owner.pid} on ${owner.hostname}); wait for it or stop it, or delete ${file} if that process is gone`,
      });
    }
    fs.rmSync(file, { force: true });
  }
  throw new UsageError({ field: 'name', message: `cannot lock sweep "${name}" (${file})` });
}
