import fs from 'node:fs';
import { writeFileAtomic } from './atomic.ts';
import { formatMetricsLine, type MetricsRead, type MetricsRecord, parseMetricsText } from './portable.ts';

export type { MetricsRead, MetricsRecord };

/**
 * Append-only metrics file. Each record is one whole line written by a single write on an
 * O_APPEND fd and then fsynced, so after a crash the file holds complete lines plus at most
 * one torn last line, which readMetrics skips.
 */
export class MetricsLog {
  readonly path: string;
  /** True when opening found a torn last line (from an earlier crash) and cut it off. */
  readonly repairedTornTail: boolean;
  private fd: number | null;

  constructor(path: string) {
    this.path = path;
    // Appending after a torn line would glue the new record onto the fragment and corrupt a
    // line in the middle of the file, so drop the fragment first.
    this.repairedTornTail = cutTornTail(path);
    this.fd = fs.openSync(path, 'a');
  }

  append(record: MetricsRecord): void {
    if (this.fd === null) throw new Error(`metrics log ${this.path} is closed`);
    const line = Buffer.from(formatMetricsLine(record), 'utf8');
    const written = fs.writeSync(this.fd, line);
    if (written !== line.length) {
      throw new Error(`short write to ${this.path}: ${written} of ${line.length} bytes`);
    }
    fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === null) return;
    fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** Truncates `path` after its last "\n"; returns whether anything was cut. */
function cutTornTail(path: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return false;
    const text = fs.readFileSync(fd);
    const keep = text.lastIndexOf(0x0a) + 1;
    if (keep === size) return false;
    fs.ftruncateSync(fd, keep);
    fs.fsyncSync(fd);
    return true;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads all complete records. A missing file reads as empty. A last line without "\n" is a
 * torn write and is skipped (and reported); a bad line anywhere else is real corruption and
 * throws, naming the line.
 */
export function readMetrics(path: string): MetricsRead {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], tornTail: false };
    throw err;
  }
  return parseMetricsText(text, path);
}

/** Replaces the whole file atomically with `records`. Close any open MetricsLog on it first. */
export function rewriteMetrics(path: string, records: MetricsRecord[]): void {
  writeFileAtomic(path, records.map(formatMetricsLine).join(''));
}

/**
 * Keeps only records with step <= `step` (and drops a torn tail), e.g. before resuming from
 * the checkpoint at `step`. Returns how many records were removed. Close any open
 * MetricsLog on the file first: it would keep appending to the replaced file.
 */
export function truncateMetricsAfter(path: string, step: number): number {
  const { records, tornTail } = readMetrics(path);
  const kept = records.filter((r) => r.step <= step);
  if (kept.length !== records.length || tornTail) rewriteMetrics(path, kept);
  return records.length - kept.length;
}
