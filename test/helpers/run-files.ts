import fs from 'node:fs';
import path from 'node:path';
import type { RunConfigInput } from '../../src/config/schema.ts';
import { type RunState, writeStatusFile } from '../../src/runs/index.ts';
import { isEvalStep } from '../../src/train/schedule.ts';

/** Polls `condition` every 100 ms; throws after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A run's status.json as raw JSON, or null while it does not exist (or is being replaced). */
export function runStatus(runsDir: string, id: string): { state: string; step: number; pid: number } | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(runsDir, id, 'status.json'), 'utf8'));
  } catch {
    return null;
  }
}

/** Steps of a run's checkpoint files, read straight from the folder. */
export function checkpointSteps(runsDir: string, id: string): number[] {
  try {
    return fs.readdirSync(path.join(runsDir, id, 'checkpoints')).map((f) => Number(f.slice(5, 13)));
  } catch {
    return [];
  }
}

/** The step of every line of a run's metrics.jsonl, in file order. */
export function metricSteps(runsDir: string, id: string): number[] {
  return fs
    .readFileSync(path.join(runsDir, id, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l).step as number);
}

/** Evaluation steps of an uninterrupted run: every one, each once, in order. */
export function expectedSteps(config: RunConfigInput): number[] {
  const steps = [0];
  for (let s = 1; s <= (config.train.steps as number); s++)
    if (isEvalStep(config.eval as Parameters<typeof isEvalStep>[0], s)) steps.push(s);
  return steps;
}

/**
 * A run folder written by hand, without training: config.json as given, metrics.jsonl with these
 * records (one JSON line each) and a status in `state` at the last record's step. For report tests
 * that need logs of a given shape.
 */
export function writeRunFiles(
  runsDir: string,
  id: string,
  config: unknown,
  records: ReadonlyArray<Record<string, number>>,
  state: RunState = 'finished',
): string {
  const dir = path.join(runsDir, id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  writeStatusFile(path.join(dir, 'status.json'), { state, step: records.at(-1)?.step ?? 0 });
  return dir;
}
