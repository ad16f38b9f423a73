import cliProgress from 'cli-progress';
import type { EvalRecord, StopReason } from '../train/trainer.ts';
import { formatSeconds } from '../util/format-time.ts';

/** Why training ended, as the progress display's last word says it. */
const ENDINGS: Record<StopReason | 'diverged', string> = {
  budget: 'step budget reached',
  threshold: 'stopped by the stop rule',
  interrupted: 'stopped by Ctrl-C',
  diverged: 'diverged (non-finite loss)',
};

/**
 * Training progress on stderr: a live bar on a terminal, otherwise (CI, pipes) a line every few
 * seconds. Shows step, latest train/test accuracy, steps per second and the time left, and, once the
 * progress measures' rule has fired (eval.progress, docs/early-warning.md), "circuit forming since
 * step N".
 */
export class TrainingProgress {
  private readonly bar: cliProgress.SingleBar | null;
  private last: EvalRecord | null = null;
  private startStep = 0;
  private startTime = performance.now();
  // -Infinity: the first step prints a line at once; later ones at most every 5 s.
  private lastLine = Number.NEGATIVE_INFINITY;
  /** Steps per second since start(); 0 until a step has been timed. */
  private rate = 0;

  constructor(
    private readonly totalSteps: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {
    this.bar =
      !quiet && stream.isTTY
        ? new cliProgress.SingleBar(
            {
              stream,
              format:
                '{bar} {value}/{total} | train {train} test {test} | {rate} steps/s | ETA {time_left}{warning}',
              barsize: 24,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          )
        : null;
  }

  start(step: number): void {
    this.startStep = step;
    this.startTime = performance.now();
    this.bar?.start(this.totalSteps, step, this.payload(step));
  }

  eval(record: EvalRecord): void {
    this.last = record;
  }

  step(step: number): void {
    const seconds = (performance.now() - this.startTime) / 1000;
    this.rate = seconds > 0 ? (step - this.startStep) / seconds : 0;
    if (this.bar) {
      this.bar.update(step, this.payload(step));
      return;
    }
    if (this.quiet) return;
    const now = performance.now();
    // The last step's line is finish()'s.
    if (now - this.lastLine < 5000) return;
    this.lastLine = now;
    const p = this.payload(step);
    this.stream.write(`${this.line(step)}  ETA ${p.time_left}\n`);
  }

  /**
   * Training ended at `step` (which may be short of the total, or past the last step() call when
   * the stop rule ends it): show that step and say why.
   */
  finish(step: number, reason: StopReason | 'diverged'): void {
    if (this.quiet) return;
    if (this.bar) {
      this.bar.update(step, this.payload(step));
      this.bar.stop();
      this.stream.write(`${ENDINGS[reason]} at step ${step}\n`);
      return;
    }
    this.stream.write(`${this.line(step)}  ${ENDINGS[reason]}\n`);
  }

  /** Takes the bar off the terminal without a last word (training failed). */
  stop(): void {
    this.bar?.stop();
  }

  private line(step: number): string {
    const p = this.payload(step);
    return `step ${step}/${this.totalSteps}  train ${p.train}  test ${p.test}  ${p.rate} steps/s${p.warning}`;
  }

  private payload(step: number) {
    // Before any step has been timed there is no rate, hence no time left: a dash, not "0s".
    const known = this.rate > 0;
    return {
      train: this.last ? this.last.train_acc.toFixed(3) : '  -  ',
      test: this.last ? this.last.test_acc.toFixed(3) : '  -  ',
      rate: known ? this.rate.toFixed(this.rate < 10 ? 1 : 0) : '-',
      time_left: formatSeconds(known ? (this.totalSteps - step) / this.rate : Number.NaN),
      warning: warningText(this.last),
    };
  }
}

/** "  circuit forming since step 600" once the record says the warning fired; else nothing. */
export function warningText(record: EvalRecord | null): string {
  const step = record?.progress?.circuit_warning;
  return step === undefined ? '' : `  circuit forming since step ${step}`;
}
