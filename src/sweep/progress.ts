/**
 * Sweep progress on stderr: on a terminal one status line redrawn in place, with event lines (a run
 * finished, failed, retried) printed above it; elsewhere (CI, pipes, log files) the event lines
 * plus a status line every 15 s. Quiet: nothing.
 */
import { formatSeconds } from '../util/format-time.ts';

export interface SweepCounts {
  total: number;
  finished: number;
  running: number;
  failed: number;
  waiting: number;
}

export class SweepProgress {
  private lastDraw = 0;
  private lastLine = '';
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {}

  private get tty(): boolean {
    return this.stream.isTTY === true;
  }

  /** A line that stays (run finished, failed, ...). */
  event(line: string): void {
    if (this.quiet) return;
    if (this.tty && this.drawn) this.stream.write('\r\x1b[K');
    this.stream.write(`${line}\n`);
    if (this.tty && this.lastLine !== '') {
      this.stream.write(this.lastLine);
      this.drawn = true;
    } else this.drawn = false;
  }

  update(counts: SweepCounts, etaSeconds: number | null, force = false): void {
    if (this.quiet) return;
    const line = `${this.label}: ${counts.finished}/${counts.total} done · ${counts.running} running · ${counts.failed} failed · ${counts.waiting} waiting · ETA ${etaSeconds === null ? '-' : formatSeconds(etaSeconds)}`;
    const now = performance.now();
    if (this.tty) {
      if (!force && now - this.lastDraw < 250) {
        this.lastLine = line;
        return;
      }
      this.stream.write(`\r\x1b[K${line}`);
      this.drawn = true;
    } else {
      if (!force && now - this.lastDraw < 15_000) return;
      this.stream.write(`${line}\n`);
    }
    this.lastLine = line;
    this.lastDraw = now;
  }

  stop(): void {
    if (this.quiet) return;
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
    this.lastLine = '';
  }
}

/**
 * Estimated seconds left: each running run's remaining time from its own pace (or the mean run
 * time while it is too early to tell), plus the waiting runs at the mean time of the runs completed
 * so far, spread over the workers. Null until there is anything to go on.
 */
export function estimateSeconds(
  completedDurations: readonly number[],
  running: ReadonlyArray<{ elapsed: number; fraction: number }>,
  waiting: number,
  workers: number,
): number | null {
  const mean =
    completedDurations.length > 0
      ? completedDurations.reduce((a, b) => a + b, 0) / completedDurations.length
      : null;
  let work = 0;
  for (const r of running) {
    if (r.fraction >= 0.05) work += (r.elapsed * (1 - r.fraction)) / r.fraction;
    else if (mean !== null) work += Math.max(0, mean - r.elapsed);
    else return null;
  }
  if (waiting > 0) {
    const perRun = mean ?? averagePace(running);
    if (perRun === null) return null;
    work += waiting * perRun;
  }
  return work / Math.max(1, Math.min(workers, running.length + waiting));
}

function averagePace(running: ReadonlyArray<{ elapsed: number; fraction: number }>): number | null {
  const known = running.filter((r) => r.fraction >= 0.05);
  if (known.length === 0) return null;
  return known.reduce((s, r) => s + r.elapsed / r.fraction, 0) / known.length;
}
