/**
 * A run folder as data: what a browser (web/lab) holds in memory and exports, and what the Node
 * RunFolder writes to disk. Browser-safe: no Node import is reachable from here. The text of every
 * run file is formatted here and only here (folder.ts, metrics.ts and status.ts write these bytes),
 * so a run built in a page and zipped is byte for byte the folder `groklab train` would have made.
 *
 * Zip layout: one top folder `<id>/` holding config.json, split.json, metrics.jsonl, status.json and
 * checkpoints/step-XXXXXXXX.safetensors, as `zip -r run.zip <id>/` makes from a run folder.
 */
import { unzipSync, type Zippable, zipSync } from 'fflate';
import { z } from 'zod';
import { UsageError } from '../util/errors.ts';

/** Folder inside a runs directory that holds sweep manifests and reports; never a run id. */
export const SWEEPS_FOLDER = 'sweeps';

export const RUN_FILES = {
  config: 'config.json',
  split: 'split.json',
  metrics: 'metrics.jsonl',
  status: 'status.json',
  checkpoints: 'checkpoints',
} as const;

// First character alphanumeric: no ".", "..", hidden names (temp folders are dot-prefixed)
// or names that look like CLI flags.
export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const MAX_RUN_ID_LENGTH = 128;
export const CHECKPOINT_FILE = /^step-(\d{8,})\.safetensors$/;

/** Throws UsageError (field `run`) unless `id` is a safe folder name. */
export function validateRunId(id: string): string {
  if (typeof id !== 'string' || id === '') {
    throw new UsageError({ field: 'run', message: 'run id must not be empty' });
  }
  if (id === SWEEPS_FOLDER) {
    throw new UsageError({
      field: 'run',
      message: `"${SWEEPS_FOLDER}" is reserved for sweep manifests; choose another run id`,
    });
  }
  if (!RUN_ID.test(id) || id.length > MAX_RUN_ID_LENGTH) {
    throw new UsageError({
      field: 'run',
      message: `invalid run id ${JSON.stringify(id)}: use letters, digits, ".", "_" and "-", starting with a letter or digit, at most ${MAX_RUN_ID_LENGTH} characters`,
    });
  }
  return id;
}

/** `step-00001234.safetensors`: the name of the checkpoint at `step` in checkpoints/. */
export function checkpointFileName(step: number): string {
  if (!Number.isSafeInteger(step) || step < 0) throw new Error(`invalid checkpoint step ${step}`);
  return `step-${String(step).padStart(8, '0')}.safetensors`;
}

// ---------------------------------------------------------------------------------------------
// Formatting: the bytes of each file.

/** config.json, split.json and status.json: JSON with two-space indents and a trailing newline. */
export function formatJsonFile(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** One evaluation; `step` is the training step it was taken at, the rest is up to the trainer. */
export interface MetricsRecord {
  step: number;
  [key: string]: unknown;
}

export interface MetricsRead {
  records: MetricsRecord[];
  /** The file ended in a line without "\n": a write cut short by a crash. It was skipped. */
  tornTail: boolean;
}

export function checkMetricsRecord(record: unknown, where: string): MetricsRecord {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new Error(`${where}: metrics record is not a JSON object`);
  }
  const step = (record as { step?: unknown }).step;
  if (typeof step !== 'number' || !Number.isFinite(step)) {
    throw new Error(`${where}: metrics record has no numeric "step"`);
  }
  return record as MetricsRecord;
}

/** One line of metrics.jsonl, "\n" included. */
export function formatMetricsLine(record: MetricsRecord): string {
  checkMetricsRecord(record, 'cannot write');
  return `${JSON.stringify(record)}\n`;
}

/**
 * metrics.jsonl's records. A last line without "\n" is a torn write and is skipped (and reported);
 * a bad line anywhere else is real corruption and throws, naming `where:line`.
 */
export function parseMetricsText(text: string, where: string): MetricsRead {
  const lines = text.split('\n');
  // After the last "\n" split() leaves "" for a clean file and the fragment for a torn one.
  const tail = lines.pop() ?? '';
  const records: MetricsRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const at = `${where}:${i + 1}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      throw new Error(`${at}: invalid JSON in metrics log (${(err as Error).message})`);
    }
    records.push(checkMetricsRecord(parsed, at));
  });
  return { records, tornTail: tail !== '' };
}

// ---------------------------------------------------------------------------------------------
// status.json: its schema and how an update is merged (the file itself is written by status.ts).

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

/** `value` as a run status; Error `<where> is not a valid run status: ...` otherwise. */
export function parseRunStatus(value: unknown, where: string): RunStatus {
  const parsed = RunStatusSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${where} is not a valid run status: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/**
 * The status after `update`: merged into `current` (null for a first write: state running at step
 * 0, started now), with pid and hostname those of `writer` (whoever writes the status is the one
 * running the run; a page may say e.g. `{ pid: 0, hostname: 'browser' }`), updated_at `now`.
 * Validated, so a bad update never replaces a good status.
 */
export function mergeRunStatus(
  current: RunStatus | null,
  update: RunStatusUpdate,
  writer: { pid: number; hostname: string },
  now: Date = new Date(),
): RunStatus {
  const stamp = now.toISOString();
  const merged = {
    state: 'running',
    step: 0,
    started_at: stamp,
    ...current,
    pid: writer.pid,
    hostname: writer.hostname,
    ...update,
    updated_at: stamp,
  };
  const parsed = RunStatusSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid run status update: ${issues.join('; ')}`);
  }
  return parsed.data;
}

// ---------------------------------------------------------------------------------------------
// A run folder in memory.

export interface PortableRun {
  /** The run id: the folder's name. */
  id: string;
  /** config.json: the fully resolved run config. */
  config: Record<string, unknown>;
  /** split.json. */
  split: unknown;
  /** metrics.jsonl, one record per evaluation, in file order. */
  records: MetricsRecord[];
  /** status.json. */
  status: Record<string, unknown>;
  /** Checkpoint step → its safetensors bytes. */
  checkpoints: Map<number, Uint8Array>;
  /**
   * metrics.jsonl ended in a torn line (a crash mid-write), which was skipped, as the folder reader
   * skips it; detect reports it. Files written from this run hold only the complete records.
   */
  tornTail?: boolean;
}

export interface RunFile {
  /** Relative to the run folder, "/"-separated: config.json, checkpoints/step-00000100.safetensors, ... */
  path: string;
  bytes: Uint8Array;
}

const utf8 = new TextEncoder();

/**
 * The files of the run folder, as RunFolder writes them: config.json, split.json, metrics.jsonl,
 * status.json, then the checkpoints by ascending step.
 */
export function runFolderFiles(run: PortableRun): RunFile[] {
  const files: RunFile[] = [
    { path: RUN_FILES.config, bytes: utf8.encode(formatJsonFile(run.config)) },
    { path: RUN_FILES.split, bytes: utf8.encode(formatJsonFile(run.split)) },
    { path: RUN_FILES.metrics, bytes: utf8.encode(run.records.map(formatMetricsLine).join('')) },
    { path: RUN_FILES.status, bytes: utf8.encode(formatJsonFile(run.status)) },
  ];
  for (const step of [...run.checkpoints.keys()].sort((a, b) => a - b)) {
    files.push({
      path: `${RUN_FILES.checkpoints}/${checkpointFileName(step)}`,
      bytes: run.checkpoints.get(step) as Uint8Array,
    });
  }
  return files;
}

/** Zip timestamps are DOS times: from 1980 on. */
const EARLIEST_ZIP_TIME = Date.UTC(1980, 0, 1, 12);

/**
 * The run folder as a zip: one top folder `<id>/` (and its checkpoints/ folder, even when empty).
 * Checkpoints are stored (float32 weights hardly compress, and deflating them would take seconds in
 * a page); the text files are deflated. Every entry is dated at the status's updated_at, so the
 * same run gives the same bytes.
 */
export function zipRunFolder(run: PortableRun): Uint8Array {
  validateRunId(run.id);
  const updated = typeof run.status.updated_at === 'string' ? Date.parse(run.status.updated_at) : Number.NaN;
  const mtime = new Date(Number.isFinite(updated) ? Math.max(updated, EARLIEST_ZIP_TIME) : EARLIEST_ZIP_TIME);
  const folder: Zippable = { [RUN_FILES.checkpoints]: {} };
  const checkpoints = folder[RUN_FILES.checkpoints] as Record<string, Zippable[string]>;
  for (const file of runFolderFiles(run)) {
    const [first, second] = file.path.split('/');
    if (second === undefined) folder[first] = [file.bytes, { level: 6 }];
    else checkpoints[second] = [file.bytes, { level: 0 }];
  }
  return zipSync({ [run.id]: folder }, { mtime });
}

/** macOS Finder adds these to zips it makes; they are not part of the run. */
const IGNORED_TOP = new Set(['__MACOSX']);

/**
 * Reads a zip of one run folder (zipRunFolder's layout, or `zip -r` of a run folder). Every problem
 * is a UsageError whose field is `name` (the zip's file name, for messages) saying which file inside
 * is wrong and how: not a zip, not one top folder, a missing or invalid config.json / split.json /
 * metrics.jsonl / status.json, a file in checkpoints/ not named step-N.safetensors. A torn last
 * metrics line is skipped (tornTail), as the folder reader skips it. Other files (analysis.json,
 * plots) are not part of a PortableRun and are left out.
 *
 * A zip is a snapshot: a status that says "running" reads as "stopped" at its step, since nothing
 * trains it after the export; `groklab resume` then continues it.
 */
export function unzipRunFolder(bytes: Uint8Array, name = 'zip'): PortableRun {
  const fail = (message: string) => new UsageError({ field: name, message });
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (err) {
    throw fail(`not a zip archive (${(err as Error).message})`);
  }
  const names = Object.keys(entries).filter((n) => !IGNORED_TOP.has(n.split('/')[0]));
  const tops = [...new Set(names.map((n) => n.split('/')[0]))].sort();
  if (tops.length !== 1 || !names.some((n) => n.includes('/'))) {
    const found = tops.length === 0 ? 'it is empty' : `its top level holds ${tops.slice(0, 5).join(', ')}`;
    throw fail(
      `expected one top folder <run id>/ holding ${RUN_FILES.config} (a run folder zipped); ${found}`,
    );
  }
  const id = tops[0];
  try {
    validateRunId(id);
  } catch (err) {
    throw fail(`top folder ${JSON.stringify(id)}: ${(err as UsageError).problems[0].message}`);
  }

  const text = (file: string): string => {
    const data = entries[`${id}/${file}`];
    if (data === undefined) throw fail(`${id}/${file} is missing: not a groklab run folder`);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(data);
    } catch {
      throw fail(`${id}/${file} is not UTF-8 text`);
    }
  };
  const json = (file: string): unknown => {
    try {
      return JSON.parse(text(file));
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw fail(`${id}/${file} is not valid JSON: ${(err as Error).message}`);
    }
  };
  const object = (file: string): Record<string, unknown> => {
    const value = json(file);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw fail(`${id}/${file} is not a JSON object`);
    }
    return value as Record<string, unknown>;
  };

  const config = object(RUN_FILES.config);
  const split = json(RUN_FILES.split);
  let metrics: MetricsRead;
  try {
    metrics = parseMetricsText(text(RUN_FILES.metrics), `${id}/${RUN_FILES.metrics}`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw fail((err as Error).message);
  }
  const status = object(RUN_FILES.status);
  if (status.state === 'running') {
    status.state = 'stopped';
    status.message = `exported while running at step ${String(status.step)}; resume to continue`;
  }

  const checkpoints = new Map<number, Uint8Array>();
  const prefix = `${id}/${RUN_FILES.checkpoints}/`;
  for (const entry of names.filter((n) => n.startsWith(prefix)).sort()) {
    const file = entry.slice(prefix.length);
    // Directory entries, and temp files of unfinished writes (dot-prefixed, as listCheckpoints skips).
    if (file === '' || file.endsWith('/') || file.startsWith('.')) continue;
    const m = CHECKPOINT_FILE.exec(file);
    if (!m) {
      throw fail(
        `${entry} is not a checkpoint name: expected step-<8 or more digits>.safetensors, e.g. step-00000100.safetensors`,
      );
    }
    const step = Number(m[1]);
    if (!Number.isSafeInteger(step)) throw fail(`${entry}: step ${m[1]} is too large`);
    if (checkpoints.has(step)) throw fail(`${entry}: a second checkpoint for step ${step}`);
    checkpoints.set(step, entries[entry]);
  }
  return { id, config, split, records: metrics.records, status, checkpoints, tornTail: metrics.tornTail };
}
