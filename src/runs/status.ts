import fs from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import { readJsonFile, writeJsonAtomic } from './atomic.ts';

export const RUN_STATES = ['running', 'finished', 'stopped', 'failed'] as const;
export type RunState = (typeof RUN_STATES)[number];

// Loose: fields added by later versions survive a read-modify-write by this one.
export const RunStatusSchema = z.looseObject({
  state: z.enum(RUN_STATES),
  step: z.number().int().nonnegative(),
  pid: z.number().int(),
  hostname: z.string(),
  started_at: z.string(),
  updated_at: z.string(),
  /** Set once when the run folder is made; listRuns sorts by it. */
  created_at: z.string().optional(),
  message: z.string().optional(),
  /**
   * The kernels this session trains with (wasm-fma, wasm-simd or js): their products round
   * differently, so the same config gives the same bits only on the same kernels.
   */
  kernels: z.string().optional(),
});

export type RunStatus = z.infer<typeof RunStatusSchema>;

/** What writeStatus callers may set; updated_at is always "now". */
export type RunStatusUpdate = Partial<Omit<RunStatus, 'updated_at'>>;

export function readStatusFile(file: string): RunStatus {
  const parsed = RunStatusSchema.safeParse(readJsonFile(file));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${file} is not a valid run status: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/**
 * Merges `update` into the current status (if any) and writes it atomically. pid and
 * hostname default to this process, since whoever writes the status is the one running the
 * run; a first write defaults to state running at step 0, started now.
 */
export function writeStatusFile(file: string, update: RunStatusUpdate, now = new Date()): RunStatus {
  const current = fs.existsSync(file) ? readStatusFile(file) : null;
  const stamp = now.toISOString();
  const merged = {
    state: 'running',
    step: 0,
    started_at: stamp,
    ...current,
    pid: process.pid,
    hostname: os.hostname(),
    ...update,
    updated_at: stamp,
  };
  // Validate before writing, so a bad update never replaces a good status.
  const parsed = RunStatusSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid run status update: ${issues.join('; ')}`);
  }
  writeJsonAtomic(file, parsed.data);
  return parsed.data;
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
