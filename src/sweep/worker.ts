/**
 * `groklab worker`: takes sweep jobs from the queue and trains each in a child process (as the local
 * pool does), starting the run or resuming it from its last checkpoint. A worker that dies loses
 * its job lock; BullMQ's stalled-job check on another worker puts the job back, and whoever takes
 * it resumes from the last checkpoint. SIGINT/SIGTERM: the running runs checkpoint and stop, their
 * jobs go back to the queue, and the worker exits; a second signal kills the runs at once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DelayedError, type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { launchRun, type RunChild } from './child-process.ts';
import { readSweepManifest, SWEEP_FILE, sweepDir } from './manifest.ts';
import {
  type JobProgress,
  openQueue,
  type QueueTarget,
  type SweepJobData,
  type SweepJobResult,
} from './queue.ts';

export interface WorkerOptions {
  target: QueueTarget;
  runsDir: string;
  concurrency: number;
  /** BullMQ lock duration: a worker silent this long loses its job (ms). */
  lockMs: number;
  /** How often this worker looks for jobs whose worker died (ms). */
  stalledMs: number;
  /** Times a job may be recovered from dead workers before it is failed. */
  maxStalls: number;
  /** Exit once the queue has no waiting, delayed or active job. */
  untilEmpty: boolean;
  /** Progress lines (`warn`: failures and misconfiguration, shown even when quiet). */
  log: (line: string, level?: 'info' | 'warn') => void;
}

/** Runs until stopped (or the queue is empty with `untilEmpty`); returns the exit code. */
export async function runWorker(options: WorkerOptions): Promise<number> {
  const { target, runsDir, log } = options;
  const me = `${os.hostname()}:${process.pid}`;
  const children = new Set<RunChild>();
  let stopping = false;

  const processJob = async (
    job: Job<SweepJobData, SweepJobResult>,
    token?: string,
  ): Promise<SweepJobResult> => {
    const data = job.data;
    if (stopping) {
      // Fetched just as the worker began to stop: leave it to the next worker.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const missing = sweepMissingHere(runsDir, data);
    if (missing) {
      // Not this worker's to run (its --runs-dir is not the shared folder): back in the queue for a
      // while, without using up an attempt, so that a correctly set-up worker can take it.
      log(`${data.run_id}: ${missing}`, 'warn');
      await job.moveToDelayed(Date.now() + 10_000, token);
      throw new DelayedError();
    }
    checkSameSweep(runsDir, data);
    let lastProgress = 0;
    let totalSteps = 0;
    let resumedFrom: number | null = null;
    const child = launchRun(
      { type: 'run', runsDir, runId: data.run_id, config: data.config, takeover: true },
      {
        onStarted: (info) => {
          totalSteps = info.totalSteps;
          resumedFrom = info.resumedFrom;
          const how =
            info.resumedFrom !== null
              ? `resuming from step ${info.resumedFrom}`
              : info.restarted
                ? `starting over (${info.restarted})`
                : 'starting';
          log(`${data.run_id}: ${how} (attempt ${job.attemptsMade + 1}, child pid ${child.pid})`);
        },
        onEval: (info) => {
          const now = Date.now();
          if (now - lastProgress < 1000) return;
          lastProgress = now;
          const progress: JobProgress = {
            step: info.step,
            total_steps: totalSteps,
            train_acc: info.train_acc,
            test_acc: info.test_acc,
          };
          job.updateProgress(progress as unknown as object).catch(() => {});
        },
      },
    );
    children.add(child);
    if (stopping) child.stop();
    const result = await child.result.finally(() => children.delete(child));
    switch (result.kind) {
      case 'done':
        if (result.reason === 'interrupted') {
          // Stopping: the run checkpointed; its job goes back to the queue for whoever comes next.
          log(`${data.run_id}: stopped at step ${result.metrics.step}; job back in the queue`);
          await job.moveToWait(token);
          throw new WaitingError();
        }
        log(
          `${data.run_id}: finished at step ${result.metrics.step}${result.metrics.test_acc !== null ? `, test acc ${result.metrics.test_acc.toFixed(3)}` : ''}`,
        );
        return {
          run_id: data.run_id,
          reason: result.reason,
          ...result.metrics,
          resumed_from: resumedFrom,
          hostname: os.hostname(),
          pid: process.pid,
        };
      case 'busy':
        throw new Error(`run is being trained by pid ${result.pid} on ${result.hostname}`);
      case 'final':
        log(`${data.run_id}: cannot run: ${result.message}`, 'warn');
        throw new UnrecoverableError(result.message);
      case 'failed':
        if (stopping) {
          // Killed by our own shutdown (e.g. before it could catch the signal): not the run's fault.
          await job.moveToWait(token);
          throw new WaitingError();
        }
        log(`${data.run_id}: ${result.message}`, 'warn');
        throw new Error(result.message);
    }
  };

  const worker = new Worker<SweepJobData, SweepJobResult>(target.queueName, processJob, {
    connection: target.connection,
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: options.stalledMs,
    maxStalledCount: options.maxStalls,
    name: me,
    autorun: false,
  });
  worker.on('error', (err) => log(`queue error: ${err.message}`, 'warn'));
  worker.on('failed', (job, err) => {
    if (job && err.name !== 'WaitingError')
      log(`${job.id}: attempt ${job.attemptsMade} failed: ${err.message}`, 'warn');
  });
  worker.on('stalled', (jobId) => log(`${jobId}: its worker stopped answering; job back in the queue`));

  const stop = async () => {
    if (stopping) {
      for (const child of children) child.kill();
      log('killed the running runs; their jobs return to the queue when their locks expire');
      process.exit(130);
    }
    stopping = true;
    log(
      children.size > 0
        ? `stopping: ${children.size} run(s) checkpoint and go back to the queue (signal again to kill them now)…`
        : 'stopping…',
    );
    for (const child of children) child.stop();
    await worker.close();
  };
  const onSignal = () => void stop();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let emptyTimer: NodeJS.Timeout | null = null;
  if (options.untilEmpty) {
    const queue = openQueue(target);
    emptyTimer = setInterval(async () => {
      const counts = await queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
      if (Object.values(counts).every((n) => n === 0) && children.size === 0 && !stopping) {
        log('queue is empty; exiting');
        if (emptyTimer) clearInterval(emptyTimer);
        await queue.close();
        await stop();
      }
    }, 2000);
  }

  log(
    `worker ${me}: queue "${target.queueName}" at ${target.url}, runs in ${path.resolve(runsDir)}, ${options.concurrency} at a time`,
  );
  try {
    await worker.run();
  } finally {
    if (emptyTimer) clearInterval(emptyTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}

/**
 * Why this worker cannot run a job of `data.sweep` (null when it can): a job may only run where its
 * sweep's manifest is, or the run would land in a folder nobody else sees.
 */
function sweepMissingHere(runsDir: string, data: SweepJobData): string | null {
  if (fs.existsSync(path.join(sweepDir(runsDir, data.sweep), SWEEP_FILE))) return null;
  return `sweep "${data.sweep}" has no manifest in this worker's runs dir ${path.resolve(runsDir)} (it was enqueued from ${data.runs_dir}); every worker must use the shared runs directory; job put back for another worker`;
}

/** The manifest here must be the sweep the job was enqueued for (not an older one of that name). */
function checkSameSweep(runsDir: string, data: SweepJobData): void {
  const manifest = readSweepManifest(runsDir, data.sweep);
  if (
    manifest.created_at !== data.sweep_created_at ||
    !manifest.cells.some((c) => c.run_id === data.run_id)
  ) {
    throw new UnrecoverableError(
      `sweep "${data.sweep}" in ${path.resolve(runsDir)} is not the one this job was enqueued for (manifest created ${manifest.created_at}, job ${data.sweep_created_at})`,
    );
  }
}
