/**
 * Every path the server reads is resolved here, so nothing outside the runs directory can be read:
 * names from URLs are checked against the run-id / sweep-name rule first (no "/", no "..", no
 * leading dot), then the resolved path (and, through symlinks, the real path) must lie inside the
 * runs directory's real path. A run folder, or any file in it, that is a symlink leading out of
 * the runs directory is treated as absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RUN_FILES, SWEEPS_FOLDER, validateRunId } from '../runs/index.ts';
import { SWEEP_FILE, validateSweepName } from '../sweep/manifest.ts';

/** Something that is not there (or not allowed to be seen, which looks the same): HTTP 404. */
export class NotFoundError extends Error {
  /** Why, for the run list and logs; the HTTP answer says only `message`. */
  readonly detail: string;

  constructor(message: string, detail = message) {
    super(message);
    this.name = 'NotFoundError';
    this.detail = detail;
  }
}

const OUTSIDE = 'it, or a file in it, is a symlink that leads outside the runs directory (not read)';

/** The runs directory as the server sees it: its resolved path and its real path (symlinks followed). */
export interface RunsRoot {
  dir: string;
  real: string;
}

export function runsRoot(runsDir: string): RunsRoot {
  const dir = path.resolve(runsDir);
  return { dir, real: fs.realpathSync.native(dir) };
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * `p` if it exists and its real path is inside the runs directory; null when it does not exist.
 * NotFoundError when it leads outside (a symlink), so the caller answers as if it were absent.
 * `p`'s parent must be the runs directory or a path this function already accepted: then a `p`
 * that is not a symlink is inside too, and only symlinks need their real path resolved.
 */
export function existingInside(root: RunsRoot, p: string): string | null {
  const resolved = path.resolve(p);
  if (!isInside(root.dir, resolved)) throw new NotFoundError('not found', OUTSIDE);
  const stat = fs.lstatSync(resolved, { throwIfNoEntry: false });
  if (!stat) return null;
  if (!stat.isSymbolicLink()) return resolved;
  let real: string;
  try {
    real = fs.realpathSync.native(resolved);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; // a dangling link
    throw err;
  }
  if (!isInside(root.real, real)) throw new NotFoundError('not found', OUTSIDE);
  return resolved;
}

/** The files of a run the server reads; each is checked before anything reads it. */
const RUN_READ_FILES = [RUN_FILES.config, RUN_FILES.split, RUN_FILES.metrics, RUN_FILES.status];

/**
 * The folder of run `id`: UsageError (HTTP 400) for a bad id, NotFoundError (404) when it does not
 * exist, is not a folder, or it or one of the files the server reads leads out of the runs directory.
 */
export function runDirOf(root: RunsRoot, id: string): string {
  validateRunId(id);
  const missing = `no run "${id}"`;
  try {
    const dir = existingInside(root, path.join(root.dir, id));
    if (dir === null) throw new NotFoundError(missing);
    if (!fs.statSync(dir).isDirectory()) throw new NotFoundError(missing, 'not a folder');
    for (const name of RUN_READ_FILES) existingInside(root, path.join(dir, name));
    return dir;
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError(missing, err.detail);
    throw err;
  }
}

/** A file inside a run folder (already checked with runDirOf); null when absent. */
export function runFileOf(root: RunsRoot, runDir: string, ...parts: string[]): string | null {
  return existingInside(root, path.join(runDir, ...parts));
}

/** The manifest of sweep `name`: UsageError for a bad name, NotFoundError when absent or escaping. */
export function sweepFileOf(root: RunsRoot, name: string): string {
  validateSweepName(name);
  const sweeps = existingInside(root, path.join(root.dir, SWEEPS_FOLDER));
  const folder = sweeps && existingInside(root, path.join(sweeps, name));
  const file = folder && existingInside(root, path.join(folder, SWEEP_FILE));
  if (!file) throw new NotFoundError(`no sweep "${name}"`);
  return file;
}
