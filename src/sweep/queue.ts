/**
 * Sweeps over many machines with BullMQ on Redis. One queue (default name `groklab`) serves every
 * sweep; each run is one job whose id is the run id, so enqueueing a sweep again adds nothing that
 * is already queued. The job carries the sweep's name and identity (the manifest's created_at) and
 * the cell's config; workers train into their own --runs-dir, which must be the same shared folder
 * as the sweep's (checked against the manifest before a job is run).
 */
import path from 'node:path';
import { type Job, Queue } from 'bullmq';
import { RunFolder } from '../runs/index.ts';
import { UsageError } from '../util/errors.ts';
import type { FinalMetrics } from './child-protocol.ts';
import type { SweepPlan } from './expand.ts';
import type { SweepManifest } from './manifest.ts';
import type { RunReport } from './pool.ts';
import { estimateSeconds, type SweepProgress } from './progress.ts';
import type { RedisConnectionOptions } from './redis-url.ts';
import { finalMetrics, inspectRun } from './run-state.ts';

export const DEFAULT_QUEUE_NAME = 'groklab';
/** Completed and failed jobs are kept this long (so a rerun knows them), then Redis drops them. */
const KEEP_JOBS_SECONDS = 30 * 24 * 3600;

export interface QueueTarget {
  /** As given, for messages (password redacted by the caller). */
  url: string;
  connection: RedisConnectionOptions;
  queueName: string;
}

export interface SweepJobData {
  sweep: string;
  /** The manifest's created_at: tells this sweep from an older one of the same name. */
  sweep_created_at: string;
  run_id: string;
  /** The enqueuing machine's runs dir (informational: workers use their own --runs-dir). */
  runs_dir: string;
  config: Record<string, unknown>;
}

export interface SweepJobResult extends FinalMetrics {
  run_id: string;
  reason: string;
  resumed_from: number | null;
  hostname: string;
  pid: number;
}

export interface JobProgress {
  step: number;
  total_steps: number;
  train_acc: number | null;
  test_acc: number | null;
}

export function openQueue(target: QueueTarget): Queue<SweepJobData, SweepJobResult> {
  const queue = new Queue<SweepJobData, SweepJobResult>(target.queueName, { connection: target.connection });
  // Connection errors are retried by the client; commands that fail surface where they are awaited.
  queue.on('error', () => {});
  return queue;
}

const LIVE_STATES = ['active', 'waiting', 'wait', 'delayed', 'prioritized', 'waiting-children', 'paused'];

export interface EnqueueResult {
  added: number;
  alreadyQueued: number;
  finished: number;
}

/** Adds a job for every run that is not finished on disk and not already queued. */
export async function enqueueSweep(
  queue: Queue<SweepJobData, SweepJobResult>,
  plan: SweepPlan,
  manifest: SweepManifest,
  runsDir: string,
  retries: number,
): Promise<EnqueueResult> {
  const result: EnqueueResult = { added: 0, alreadyQueued: 0, finished: 0 };
  const toAdd: SweepJobData[] = [];
  for (const cell of plan.cells) {
    if (inspectRun(runsDir, cell.runId).kind === 'finished') {
      result.finished++;
      continue;
    }
    const data: SweepJobData = {
      sweep: manifest.name,
      sweep_created_at: manifest.created_at,
      run_id: cell.runId,
      runs_dir: path.resolve(runsDir),
      config: cell.config,
    };
    const job = await queue.getJob(cell.runId);
    if (job) {
      const state = await job.getState();
      const same = job.data?.sweep === data.sweep && job.data?.sweep_created_at === data.sweep_created_at;
      if (LIVE_STATES.includes(state)) {
        if (!same) {
          throw new UsageError({
            field: '--queue',
            message: `queue "${queue.name}" already has a ${state} job ${cell.runId} from another sweep (${job.data?.sweep ?? '?'} of ${job.data?.sweep_created_at ?? '?'}, runs dir ${job.data?.runs_dir ?? '?'}); use another sweep name or --queue-name`,
          });
        }
        result.alreadyQueued++;
        continue;
      }
      // Completed or failed earlier, yet the run is not finished on disk: it needs another go.
      await job.remove();
    }
    toAdd.push(data);
  }
  if (toAdd.length > 0) {
    await queue.addBulk(
      toAdd.map((data) => ({
        name: data.sweep,
        data,
        opts: {
          jobId: data.run_id,
          attempts: retries + 1,
          backoff: { type: 'fixed', delay: 2000 },
          removeOnComplete: { age: KEEP_JOBS_SECONDS },
          removeOnFail: { age: KEEP_JOBS_SECONDS },
        },
      })),
    );
  }
  result.added = toAdd.length;
  return result;
}

export interface FollowResult {
  reports: RunReport[];
  /** Following was stopped (Ctrl-C) before every run was done; the workers carry on. */
  interrupted: boolean;
}

/**
 * Watches the sweep's jobs (and run folders) until every run has finished or failed for good,
 * showing progress; Ctrl-C stops watching only.
 */
export async function followSweep(
  queue: Queue<SweepJobData, SweepJobResult>,
  plan: SweepPlan,
  runsDir: string,
  progress: SweepProgress,
  pollMs = 1000,
): Promise<FollowResult> {
  const reports = new Map<string, RunReport>();
  const durations: number[] = [];
  let interrupted = false;
  let warnedNoWorkers = false;
  let lastWorkerCheck = 0;
  const onSignal = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    while (!interrupted) {
      const running: Array<{ elapsed: number; fraction: number }> = [];
      let waiting = 0;
      const pending = plan.cells.filter((c) => !reports.has(c.runId));
      const looked = await lookUpJobs(
        queue,
        pending.map((c) => c.runId),
      );
      for (const [i, cell] of pending.entries()) {
        const base = { runId: cell.runId, values: cell.values, skipped: false, attempts: 0 };
        const { job, state } = looked[i];
        if (state === 'completed' && job) {
          const r = job.returnvalue as SweepJobResult | null;
          const run = new RunFolder(runsDir, cell.runId);
          const metrics = r ?? finalMetrics(run, run.readStatus().step);
          reports.set(cell.runId, { ...base, state: 'finished', attempts: job.attemptsMade, metrics });
          if (job.processedOn && job.finishedOn) durations.push((job.finishedOn - job.processedOn) / 1000);
          const acc = metrics.test_acc !== null ? `, test acc ${metrics.test_acc.toFixed(3)}` : '';
          progress.event(
            `${cell.runId}: finished at step ${metrics.step}${acc}${r ? ` on ${r.hostname}` : ''}`,
          );
        } else if (state === 'failed' && job) {
          const message = job.failedReason ?? 'failed';
          reports.set(cell.runId, { ...base, state: 'failed', attempts: job.attemptsMade, message });
          progress.event(`${cell.runId}: failed: ${message}`);
        } else if (state === 'active' && job) {
          const p = job.progress as Partial<JobProgress> | number;
          const fraction =
            typeof p === 'object' && p.step !== undefined && p.total_steps ? p.step / p.total_steps : 0;
          running.push({ elapsed: job.processedOn ? (Date.now() - job.processedOn) / 1000 : 0, fraction });
        } else if (state === 'unknown') {
          const disposition = inspectRun(runsDir, cell.runId);
          if (disposition.kind === 'finished') {
            const metrics = finalMetrics(new RunFolder(runsDir, cell.runId), disposition.step);
            reports.set(cell.runId, { ...base, state: 'finished', skipped: true, metrics });
          } else {
            const message =
              'its job is no longer in the queue; enqueue it again with the same groklab sweep --queue command';
            reports.set(cell.runId, { ...base, state: 'failed', message });
            progress.event(`${cell.runId}: ${message}`);
          }
        } else {
          waiting++;
        }
      }
      const done = [...reports.values()];
      const counts = {
        total: plan.cells.length,
        finished: done.filter((r) => r.state === 'finished').length,
        failed: done.filter((r) => r.state === 'failed').length,
        running: running.length,
        waiting,
      };
      progress.update(
        counts,
        estimateSeconds(durations, running, waiting, Math.max(1, running.length)),
        true,
      );
      if (reports.size === plan.cells.length) break;
      if (!warnedNoWorkers && waiting > 0 && running.length === 0 && Date.now() - lastWorkerCheck > 5000) {
        lastWorkerCheck = Date.now();
        if ((await queue.getWorkersCount()) === 0) {
          warnedNoWorkers = true;
          progress.event(
            `no worker is connected to queue "${queue.name}" yet; start one on each machine with: groklab worker --queue URL --runs-dir ${runsDir}`,
          );
        }
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.stop();
  }
  return {
    reports: plan.cells.map(
      (c) =>
        reports.get(c.runId) ?? {
          runId: c.runId,
          values: c.values,
          state: 'pending',
          skipped: false,
          attempts: 0,
        },
    ),
    interrupted,
  };
}

export type SweepJob = Job<SweepJobData, SweepJobResult>;

/** Jobs and their states, fetched a hundred at a time (a big sweep has thousands of jobs). */
async function lookUpJobs(
  queue: Queue<SweepJobData, SweepJobResult>,
  ids: readonly string[],
): Promise<Array<{ job: SweepJob | undefined; state: string }>> {
  const out: Array<{ job: SweepJob | undefined; state: string }> = [];
  for (let start = 0; start < ids.length; start += 100) {
    const chunk = await Promise.all(
      ids.slice(start, start + 100).map(async (id) => {
        const job = await queue.getJob(id);
        return { job, state: job ? await job.getState() : 'unknown' };
      }),
    );
    out.push(...chunk);
  }
  return out;
}
