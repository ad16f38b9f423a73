import fs from 'node:fs';
import os from 'node:os';
import { readJsonFile, writeFileAtomic } from './atomic.ts';
import {
  formatJsonFile,
  mergeRunStatus,
  parseRunStatus,
  RUN_STATES,
  type RunState,
  type RunStatus,
  RunStatusSchema,
  type RunStatusUpdate,
} from './portable.ts';

// The schema and the merge are browser-safe (portable.ts); reading, writing and the liveness check
// of the process named in a status need Node.
export { RUN_STATES, type RunState, type RunStatus, RunStatusSchema, type RunStatusUpdate };

export function readStatusFile(file: string): RunStatus {
  return parseRunStatus(readJsonFile(file), file);
}

/**
 * Merges `update` into the current status (if any) and writes it atomically. pid and
 * hostname default to this process, since whoever writes the status is the one running the
 * run; a first write defaults to state running at step 0, started now.
 */
export function writeStatusFile(file: string, update: RunStatusUpdate, now = new Date()): RunStatus {
  const current = fs.existsSync(file) ? readStatusFile(file) : null;
  const status = mergeRunStatus(current, update, { pid: process.pid, hostname: os.hostname() }, now);
  writeFileAtomic(file, formatJsonFile(status));
  return status;
}

/**
 * Whether a status that says "running" belongs to a process that is gone. Only decidable on
 * the host that wrote it; elsewhere the run is assumed alive.
 */
export function isInterrupted(status: RunStatus, hostname = os.hostname()): boolean {
  if (status.state !== 'running' || status.hostname !== hostname) return false;
  return !isPidAlive(status.pid);
}

export function isPidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
