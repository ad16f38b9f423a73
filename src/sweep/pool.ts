/**
 * The local process pool: runs a sweep's cells on this machine, one child process per run and at
 * most `workers` at a time. Finished runs are skipped, interrupted ones resume from their last
 * checkpoint, a run whose child crashes is retried (from its last checkpoint) up to `retries`
 * times. Ctrl-C (or SIGTERM) asks every child to checkpoint and stop; a second one kills them.
 */
import { RunFolder } from '../runs/index.ts';
import { type ChildResult, launchRun, type RunChild } from './child-process.ts';
import type { FinalMetrics } from './child-protocol.ts';
import type { PlannedCell, SweepPlan } from './expand.ts';
import type { AxisValue } from './manifest.ts';
import { estimateSeconds, type SweepProgress } from './progress.ts';
import { finalMetrics, inspectRun } from './run-state.ts';

export type RunReportState = 'finished' | 'failed' | 'stopped' | 'busy' | 'pending';

export interface RunReport {
  runId: string;
  values: Record<string, AxisValue>;
  state: RunReportState;
  /** Finished before this sweep process started (nothing was run). */
  skipped: boolean;
  /** Child processes started for it by this sweep process. */
  attempts: number;
  message?: string;
  metrics?: FinalMetrics;
}

export interface PoolOptions {
  runsDir: string;
  plan: SweepPlan;
  workers: number;
  retries: number;
  progress: SweepProgress;
  /** Called before the process exits on a second Ctrl-C (e.g. to release the sweep lock). */
  onForcedExit?: () => void;
}

export interface PoolResult {
  reports: RunReport[];
  /** Stopped by Ctrl-C / SIGTERM before every run was done. */
  interrupted: boolean;
}

interface Active {
  cell: PlannedCell;
  child: RunChild;
  started: number;
  startStep: number;
  step: number;
  totalSteps: number;
}

export async function runLocalPool(options: PoolOptions): Promise<PoolResult> {
  const { runsDir, plan, progress } = options;
  const workers = Math.max(1, options.workers);
  const reports = new Map<string, RunReport>();
  const attempts = new Map<string, number>();
  const queue: PlannedCell[] = [];
  for (const cell of plan.cells) {
    const base = { runId: cell.runId, values: cell.values, attempts: 0, skipped: false };
    const disposition = inspectRun(runsDir, cell.runId);
    if (disposition.kind === 'finished') {
      const metrics = finalMetrics(new RunFolder(runsDir, cell.runId), disposition.step);
      reports.set(cell.runId, { ...base, state: 'finished', skipped: true, metrics });
    } else if (disposition.kind === 'busy') {
      const message = `being trained by pid ${disposition.pid} on ${disposition.hostname}; left alone`;
      reports.set(cell.runId, { ...base, state: 'busy', message });
      progress.event(`${cell.runId}: ${message}`);
    } else {
      queue.push(cell);
    }
  }

  const active = new Map<string, Active>();
  const durations: number[] = [];
  let interrupted = false;

  const counts = () => {
    const done = [...reports.values()];
    return {
      total: plan.cells.length,
      finished: done.filter((r) => r.state === 'finished').length,
      running: active.size,
      failed: done.filter((r) => r.state === 'failed').length,
      waiting: queue.length,
    };
  };
  const redraw = (force = false) => {
    const now = performance.now();
    const running = [...active.values()].map((a) => ({
      elapsed: (now - a.started) / 1000,
      fraction: a.totalSteps > a.startStep ? (a.step - a.startStep) / (a.totalSteps - a.startStep) : 0,
    }));
    progress.update(counts(), estimateSeconds(durations, running, queue.length, workers), force);
  };

  const onSignal = () => {
    if (interrupted) {
      for (const a of active.values()) a.child.kill();
      progress.event('killed the running runs; they resume from their last checkpoint next time');
      progress.stop();
      options.onForcedExit?.();
      process.exit(130);
    }
    interrupted = true;
    progress.event(
      'stopping: each running run checkpoints after its current step (Ctrl-C again to kill them now)…',
    );
    for (const a of active.values()) a.child.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const ticker = setInterval(() => redraw(), 1000);

  const launch = (cell: PlannedCell) => {
    attempts.set(cell.runId, (attempts.get(cell.runId) ?? 0) + 1);
    const entry: Active = {
      cell,
      child: undefined as unknown as RunChild,
      started: performance.now(),
      startStep: 0,
      step: 0,
      totalSteps: 0,
    };
    entry.child = launchRun(
      { type: 'run', runsDir, runId: cell.runId, config: cell.config, takeover: false },
      {
        onStarted: (info) => {
          entry.startStep = info.step;
          entry.step = info.step;
          entry.totalSteps = info.totalSteps;
          if (info.restarted) progress.event(`${cell.runId}: starting over (${info.restarted})`);
          if (info.resumedFrom !== null)
            progress.event(`${cell.runId}: resuming from step ${info.resumedFrom}`);
          redraw();
        },
        onEval: (info) => {
          entry.step = info.step;
        },
      },
    );
    active.set(cell.runId, entry);
  };

  const settle = (entry: Active, result: ChildResult) => {
    const { cell } = entry;
    const base = {
      runId: cell.runId,
      values: cell.values,
      attempts: attempts.get(cell.runId) ?? 1,
      skipped: false,
    };
    const seconds = (performance.now() - entry.started) / 1000;
    switch (result.kind) {
      case 'done': {
        const stopped = result.reason === 'interrupted';
        reports.set(cell.runId, {
          ...base,
          state: stopped ? 'stopped' : 'finished',
          metrics: result.metrics,
        });
        if (!stopped && result.reason !== 'already-finished') durations.push(seconds);
        const acc =
          result.metrics.test_acc !== null ? `, test acc ${result.metrics.test_acc.toFixed(3)}` : '';
        progress.event(
          stopped
            ? `${cell.runId}: stopped at step ${result.metrics.step} (resumable)`
            : `${cell.runId}: finished at step ${result.metrics.step}${acc} (${seconds.toFixed(1)} s)`,
        );
        return;
      }
      case 'busy': {
        const message = `being trained by pid ${result.pid} on ${result.hostname}; left alone`;
        reports.set(cell.runId, { ...base, state: 'busy', message });
        progress.event(`${cell.runId}: ${message}`);
        return;
      }
      case 'final':
        reports.set(cell.runId, { ...base, state: 'failed', message: result.message });
        progress.event(`${cell.runId}: failed: ${result.message}`);
        return;
      case 'failed': {
        if (interrupted) {
          reports.set(cell.runId, { ...base, state: 'stopped', message: result.message });
          return;
        }
        const retriesUsed = (attempts.get(cell.runId) ?? 1) - 1;
        if (retriesUsed < options.retries) {
          progress.event(
            `${cell.runId}: ${result.message}; retrying from its last checkpoint (retry ${retriesUsed + 1} of ${options.retries})`,
          );
          queue.unshift(cell);
          return;
        }
        reports.set(cell.runId, { ...base, state: 'failed', message: result.message });
        progress.event(`${cell.runId}: failed after ${retriesUsed + 1} attempt(s): ${result.message}`);
        return;
      }
    }
  };

  try {
    redraw(true);
    for (;;) {
      while (!interrupted && active.size < workers && queue.length > 0) launch(queue.shift() as PlannedCell);
      if (active.size === 0) break;
      const { entry, result } = await Promise.race(
        [...active.values()].map((entry) => entry.child.result.then((result) => ({ entry, result }))),
      );
      active.delete(entry.cell.runId);
      settle(entry, result);
      redraw(true);
    }
  } finally {
    clearInterval(ticker);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.stop();
  }

  for (const cell of queue) {
    reports.set(cell.runId, {
      runId: cell.runId,
      values: cell.values,
      state: 'pending',
      skipped: false,
      attempts: attempts.get(cell.runId) ?? 0,
    });
  }
  return {
    reports: plan.cells.map((c) => reports.get(c.runId) as RunReport),
    interrupted,
  };
}
