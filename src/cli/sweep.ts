/**
 * `groklab sweep SPEC` (a grid of runs, here in a process pool or on a BullMQ queue) and
 * `groklab worker` (takes a queue's jobs on one machine). Spec format: docs/sweeps.md.
 */
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { planSweep, type SweepPlan } from '../sweep/expand.ts';
import type { RunReport } from '../sweep/pool.ts';
import { runLocalPool } from '../sweep/pool.ts';
import { lockSweep, prepareSweep } from '../sweep/prepare.ts';
import { SWEEP_PRESETS } from '../sweep/presets.ts';
import { SweepProgress } from '../sweep/progress.ts';
import {
  DEFAULT_QUEUE_NAME,
  enqueueSweep,
  followSweep,
  openQueue,
  type QueueTarget,
} from '../sweep/queue.ts';
import { checkRedisReachable, parseRedisUrl, redactRedisUrl } from '../sweep/redis-url.ts';
import { parseSweepSpec, readSweepSpecFile } from '../sweep/spec.ts';
import { formatSweepTable } from '../sweep/table.ts';
import { runWorker } from '../sweep/worker.ts';
import { CommandExit, UsageError } from '../util/errors.ts';
import { defaultRunsDir } from './defaults.ts';

interface SweepCliOptions {
  preset?: string;
  runsDir: string;
  workers?: number;
  retries: number;
  queue?: string;
  queueName: string;
  wait: boolean;
  dryRun?: boolean;
  quiet?: boolean;
}

interface WorkerCliOptions {
  queue: string;
  queueName: string;
  runsDir: string;
  concurrency?: number;
  lockMs: number;
  stalledMs: number;
  maxStalls: number;
  untilEmpty?: boolean;
  quiet?: boolean;
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description(
      'train a grid of runs from a sweep spec (YAML or JSON): here, one process per run, or on a Redis queue for many machines; resumable',
    )
    .argument('[spec]', 'sweep spec file (see docs/sweeps.md)')
    .option(
      '--preset <name>',
      `a built-in sweep instead of a file (${Object.keys(SWEEP_PRESETS).join(', ')})`,
    )
    .option(
      '--runs-dir <dir>',
      'where run folders live (env GROKLAB_RUNS); shared by all machines with --queue',
      defaultRunsDir(),
    )
    .option('--workers <n>', 'runs at a time (default: one per core)', positiveInt('--workers'))
    .option(
      '--retries <k>',
      'times a crashed run is retried from its last checkpoint',
      nonNegativeInt('--retries'),
      2,
    )
    .option(
      '--queue <url>',
      'enqueue the runs on a BullMQ queue at redis://HOST:PORT[/DB] for groklab worker',
    )
    .option('--queue-name <name>', 'BullMQ queue name', DEFAULT_QUEUE_NAME)
    .option('--no-wait', 'with --queue: enqueue and return instead of following progress')
    .option('--dry-run', 'check the spec and list the runs; write nothing')
    .option('--quiet', 'no progress output')
    .action(async (specFile: string | undefined, opts: SweepCliOptions) => {
      exitWith(await sweepCommand(specFile, opts));
    });
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('take sweep runs from a BullMQ queue and train them (one per core), until stopped')
    .requiredOption(
      '--queue <url>',
      'the queue at redis://HOST:PORT[/DB] (as given to groklab sweep --queue)',
    )
    .option('--queue-name <name>', 'BullMQ queue name', DEFAULT_QUEUE_NAME)
    .option(
      '--runs-dir <dir>',
      'the shared runs folder, as the sweep sees it (env GROKLAB_RUNS)',
      defaultRunsDir(),
    )
    .option('--concurrency <n>', 'runs at a time (default: one per core)', positiveInt('--concurrency'))
    .option(
      '--lock-ms <ms>',
      'job lock: a worker silent this long loses its job to another',
      positiveInt('--lock-ms'),
      30_000,
    )
    .option(
      '--stalled-ms <ms>',
      'how often to look for jobs of dead workers',
      positiveInt('--stalled-ms'),
      30_000,
    )
    .option(
      '--max-stalls <n>',
      'times a job may be recovered from dead workers before it fails',
      positiveInt('--max-stalls'),
      3,
    )
    .option('--until-empty', 'exit once the queue has no waiting or running job (e.g. for batch schedulers)')
    .option('--quiet', 'log errors only')
    .action(async (opts: WorkerCliOptions) => {
      const target = queueTarget(opts.queue, opts.queueName);
      await checkRedisReachable(target.connection, opts.queue);
      const log = (line: string, level: 'info' | 'warn' = 'info') => {
        if (!opts.quiet || level === 'warn')
          process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
      };
      exitWith(
        await runWorker({
          target,
          runsDir: opts.runsDir,
          concurrency: opts.concurrency ?? os.availableParallelism(),
          lockMs: opts.lockMs,
          stalledMs: opts.stalledMs,
          maxStalls: opts.maxStalls,
          untilEmpty: opts.untilEmpty ?? false,
          log,
        }),
      );
    });
}

async function sweepCommand(specFile: string | undefined, opts: SweepCliOptions): Promise<number> {
  const plan = loadPlan(specFile, opts.preset);
  const { spec } = plan;
  if (opts.dryRun) {
    process.stdout.write(
      `sweep ${spec.name}: ${plan.cells.length} runs (${spec.axes.map((a) => `${a.key} × ${a.values.length}`).join(', ')})\n`,
    );
    for (const cell of plan.cells) {
      const values = Object.entries(cell.values).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
      process.stdout.write(`${cell.runId}  ${values.join('  ')}\n`);
    }
    return 0;
  }
  // Every check (including the queue's reachability) comes before the manifest is written.
  const target = opts.queue !== undefined ? queueTarget(opts.queue, opts.queueName) : null;
  if (target) await checkRedisReachable(target.connection, target.url);
  const manifest = prepareSweep(opts.runsDir, plan);
  const progress = new SweepProgress(`sweep ${spec.name}`, process.stderr, opts.quiet ?? false);

  if (target) {
    const queue = openQueue(target);
    try {
      const added = await enqueueSweep(queue, plan, manifest, opts.runsDir, opts.retries);
      if (!opts.quiet) {
        process.stderr.write(
          `sweep ${spec.name}: ${plan.cells.length} runs; ${added.added} enqueued on "${target.queueName}" at ${redactRedisUrl(target.url)}, ${added.alreadyQueued} already queued, ${added.finished} finished\n`,
        );
      }
      if (!opts.wait) {
        if (!opts.quiet)
          process.stderr.write(
            `start workers with: groklab worker --queue ${redactRedisUrl(target.url)} --runs-dir ${path.resolve(opts.runsDir)}\n`,
          );
        return 0;
      }
      const followed = await followSweep(queue, plan, opts.runsDir, progress);
      return finish(
        followed.reports,
        followed.interrupted,
        plan,
        opts.runsDir,
        'the workers carry on; follow them again with the same command',
      );
    } finally {
      await queue.close();
    }
  }

  const release = lockSweep(opts.runsDir, spec.name);
  try {
    const result = await runLocalPool({
      runsDir: opts.runsDir,
      plan,
      workers: opts.workers ?? os.availableParallelism(),
      retries: opts.retries,
      progress,
      onForcedExit: release,
    });
    return finish(
      result.reports,
      result.interrupted,
      plan,
      opts.runsDir,
      'rerun the same command to continue',
    );
  } finally {
    release();
  }
}

/** Prints the table and returns the exit code: 0 all finished, 1 otherwise, 130 after Ctrl-C. */
function finish(
  reports: RunReport[],
  interrupted: boolean,
  plan: SweepPlan,
  runsDir: string,
  hint: string,
): number {
  process.stdout.write(formatSweepTable(reports, plan.spec.axes, runsDir));
  const finished = reports.filter((r) => r.state === 'finished').length;
  const failed = reports.filter((r) => r.state === 'failed').length;
  process.stdout.write(
    `sweep ${plan.spec.name}: ${finished}/${reports.length} finished${failed > 0 ? `, ${failed} failed` : ''}; manifest ${path.join(runsDir, 'sweeps', plan.spec.name, 'sweep.json')}\n`,
  );
  if (interrupted) {
    process.stderr.write(`interrupted; ${hint}\n`);
    return 130;
  }
  return finished === reports.length ? 0 : 1;
}

function loadPlan(specFile: string | undefined, preset: string | undefined): SweepPlan {
  if ((specFile === undefined) === (preset === undefined)) {
    throw new UsageError({
      field: 'spec',
      message:
        specFile === undefined
          ? `give a sweep spec file or --preset (one of ${Object.keys(SWEEP_PRESETS).join(', ')})`
          : 'give a sweep spec file or --preset, not both',
    });
  }
  if (preset !== undefined) {
    const entry = SWEEP_PRESETS[preset];
    if (!entry)
      throw new UsageError({
        field: '--preset',
        message: `unknown sweep preset "${preset}"; one of ${Object.keys(SWEEP_PRESETS).join(', ')}`,
      });
    return planSweep(
      parseSweepSpec(structuredClone(entry.spec), { defaultName: preset, baseDir: process.cwd() }),
    );
  }
  const { raw, context } = readSweepSpecFile(specFile as string);
  return planSweep(parseSweepSpec(raw, context));
}

function queueTarget(url: string, queueName: string): QueueTarget {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(queueName))
    throw new UsageError({ field: '--queue-name', message: 'use letters, digits, ".", "_" and "-"' });
  return { url, connection: parseRedisUrl(url), queueName };
}

/** Ends the command with `code` (0: nothing to do). */
function exitWith(code: number): void {
  if (code !== 0) throw new CommandExit(code);
}

function positiveInt(field: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError({ field, message: 'must be an integer ≥ 1' });
    return n;
  };
}

function nonNegativeInt(field: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) throw new UsageError({ field, message: 'must be an integer ≥ 0' });
    return n;
  };
}
