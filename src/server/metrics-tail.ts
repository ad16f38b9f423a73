/**
 * Reading metrics.jsonl while a trainer appends to it: only whole lines are taken. The bytes after
 * the last "\n" (a line being written, or torn by a crash) stay unread until their "\n" arrives, so
 * no client ever sees half a record. A reader remembers the byte offset where its complete lines
 * end and, on the next read, reads only the bytes after it.
 */
import fs from 'node:fs';
import type { MetricsRecord } from './api-types.ts';

export interface CompleteLines {
  records: MetricsRecord[];
  /** Byte offset just after the last complete line read. */
  offset: number;
  /** Lines that were not JSON objects with a numeric "step" (skipped, counted). */
  badLines: number;
  /** Identity of the file read (device and inode): a different one means the file was replaced. */
  file: string;
}

export function fileIdentity(stat: fs.Stats): string {
  return `${stat.dev}-${stat.ino}`;
}

function parseLine(line: string): MetricsRecord | null {
  if (line.trim() === '') return null;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    const step = (value as { step?: unknown }).step;
    return typeof step === 'number' && Number.isFinite(step) ? (value as MetricsRecord) : null;
  } catch {
    return null;
  }
}

/** Splits bytes into complete lines (up to the last "\n") and parses them. */
export function parseCompleteLines(bytes: Buffer): {
  records: MetricsRecord[];
  consumed: number;
  bad: number;
} {
  const end = bytes.lastIndexOf(0x0a) + 1;
  const records: MetricsRecord[] = [];
  let bad = 0;
  if (end === 0) return { records, consumed: 0, bad };
  for (const line of bytes.subarray(0, end).toString('utf8').split('\n')) {
    if (line.trim() === '') continue;
    const record = parseLine(line);
    if (record) records.push(record);
    else bad++;
  }
  return { records, consumed: end, bad };
}

export type TailRead =
  | { kind: 'lines'; lines: CompleteLines }
  | { kind: 'reset'; reason: string }
  | { kind: 'missing' };

/**
 * Reads the complete lines of `file` after byte `from`. `expectedFile` (from an earlier read) detects
 * a replaced file; a file shorter than `from` was truncated. Both are a 'reset': the reader must
 * start over from 0.
 */
export function readCompleteLinesFrom(file: string, from: number, expectedFile: string | null): TailRead {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw err;
  }
  try {
    const stat = fs.fstatSync(fd);
    const identity = fileIdentity(stat);
    if (expectedFile !== null && identity !== expectedFile) {
      return { kind: 'reset', reason: 'metrics.jsonl was replaced' };
    }
    if (stat.size < from) return { kind: 'reset', reason: 'metrics.jsonl was shortened' };
    const length = stat.size - from;
    const bytes = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const n = fs.readSync(fd, bytes, read, length - read, from + read);
      if (n === 0) break;
      read += n;
    }
    const { records, consumed, bad } = parseCompleteLines(bytes.subarray(0, read));
    return { kind: 'lines', lines: { records, offset: from + consumed, badLines: bad, file: identity } };
  } finally {
    fs.closeSync(fd);
  }
}

/** Follows one metrics file: each read() returns the records completed since the previous one. */
export class MetricsTail {
  readonly path: string;
  offset: number;
  file: string | null;

  constructor(path: string, offset = 0, file: string | null = null) {
    this.path = path;
    this.offset = offset;
    this.file = file;
  }

  read(): TailRead {
    const result = readCompleteLinesFrom(this.path, this.offset, this.file);
    if (result.kind === 'lines') {
      this.offset = result.lines.offset;
      this.file = result.lines.file;
    }
    return result;
  }
}

/**
 * The last complete record of a metrics file, read from its end (a run list must not read every
 * run's whole log). Null when the file is missing or has no complete record.
 */
export function readLastRecord(file: string): MetricsRecord | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const size = fs.fstatSync(fd).size;
    // Grow the window until it holds a whole line before the last "\n" (records are < 1 KiB usually).
    for (let window = 16_384; ; window *= 4) {
      const start = Math.max(0, size - window);
      const bytes = Buffer.alloc(size - start);
      fs.readSync(fd, bytes, 0, bytes.length, start);
      const end = bytes.lastIndexOf(0x0a);
      if (end < 0) {
        if (start === 0) return null;
        continue;
      }
      // Walk back over complete lines until one parses (a bad last line is skipped, like the reader does).
      let lineEnd = end;
      for (;;) {
        // (A negative offset would make lastIndexOf search from the end.)
        const previous = lineEnd === 0 ? -1 : bytes.lastIndexOf(0x0a, lineEnd - 1);
        if (previous < 0 && start > 0) break; // the line may begin before the window: widen it
        const record = parseLine(bytes.subarray(previous + 1, lineEnd).toString('utf8'));
        if (record) return record;
        if (previous < 0) return null; // the start of the file
        lineEnd = previous;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}
