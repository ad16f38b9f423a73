import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readJsonFile, SWEEPS_FOLDER, validateRunId, writeJsonAtomic } from '../runs/index.ts';
import { UsageError } from '../util/errors.ts';

/**
 * A sweep's manifest: `<runsDir>/sweeps/<name>/sweep.json`. The sweep's runs are ordinary run
 * folders in `<runsDir>` (ids listed in `cells`), so every run command, `detect`, `plot` and the
 * dashboard work on them unchanged; the manifest only says which runs form the grid and where
 * each sits on the axes. Reports go to `<runsDir>/sweeps/<name>/report/`.
 */
export const SWEEP_FORMAT = 'groklab-sweep/1';
export const SWEEP_FILE = 'sweep.json';

const axisValue = z.union([z.number(), z.string(), z.boolean()]);
export type AxisValue = z.infer<typeof axisValue>;

export const sweepManifestSchema = z.object({
  format: z.literal(SWEEP_FORMAT),
  name: z.string(),
  created_at: z.string(),
  /** The spec as the user wrote it (after defaults), kept so a rerun can check it is the same sweep. */
  spec: z.record(z.string(), z.unknown()),
  /**
   * Config keys varied, in spec order, each with its expanded values; the seed axis is `seed`, and
   * the axis of named variants (first, when the spec has variants) is `variant`.
   */
  axes: z.array(z.object({ key: z.string(), values: z.array(axisValue) })),
  /** What each variant overrides (full keys → values), by variant name; absent without variants. */
  variants: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  /** One cell per run: the run id and its value on every axis (including `seed`). */
  cells: z.array(z.object({ run_id: z.string(), values: z.record(z.string(), axisValue) })),
});
export type SweepManifest = z.infer<typeof sweepManifestSchema>;
export type SweepCell = SweepManifest['cells'][number];

export function sweepDir(runsDir: string, name: string): string {
  return path.join(runsDir, SWEEPS_FOLDER, validateSweepName(name));
}

/** Sweep names follow the run-id rule (they prefix the run ids and name a folder). */
export function validateSweepName(name: string): string {
  try {
    return validateRunId(name);
  } catch (err) {
    if (err instanceof UsageError)
      throw new UsageError(
        err.problems.map((p) => ({ field: 'name', message: p.message.replace('run id', 'sweep name') })),
      );
    throw err;
  }
}

export function writeSweepManifest(runsDir: string, manifest: SweepManifest): void {
  const dir = sweepDir(runsDir, manifest.name);
  fs.mkdirSync(dir, { recursive: true });
  writeJsonAtomic(path.join(dir, SWEEP_FILE), manifest);
}

/** Reads one sweep's manifest; UsageError (field `sweep`) when it is missing or malformed. */
export function readSweepManifest(runsDir: string, name: string): SweepManifest {
  const file = path.join(sweepDir(runsDir, name), SWEEP_FILE);
  if (!fs.existsSync(file)) {
    const known = listSweepNames(runsDir);
    throw new UsageError({
      field: 'sweep',
      message: `no sweep "${name}" in ${runsDir}${known.length > 0 ? `; sweeps: ${known.join(', ')}` : ' (there are no sweeps yet)'}`,
    });
  }
  const parsed = sweepManifestSchema.safeParse(readJsonFile(file));
  if (!parsed.success)
    throw new UsageError({ field: 'sweep', message: `${file} is not a groklab sweep manifest` });
  return parsed.data;
}

/** Names of the sweeps under `<runsDir>/sweeps` that have a manifest, sorted. */
export function listSweepNames(runsDir: string): string[] {
  const root = path.join(runsDir, SWEEPS_FOLDER);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter(
      (e) => e.isDirectory() && !e.name.startsWith('.') && fs.existsSync(path.join(root, e.name, SWEEP_FILE)),
    )
    .map((e) => e.name)
    .sort();
}
