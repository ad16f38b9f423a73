/** `groklab train` and `groklab resume`: a training session with progress on stderr and a summary. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { applyOverrides, parseOverrides } from '../config/overrides.ts';
import { PRESETS, presetRunConfig } from '../config/presets.ts';
import {
  describeStopRule,
  RunDiverged,
  type RunHooks,
  type RunOutcome,
  resumeRun,
  type StartInfo,
  startRun,
} from '../runner/session.ts';
import { resolveRunFolder } from '../runs/index.ts';
import { CommandExit, UsageError } from '../util/errors.ts';
import { defaultRunsDir } from './defaults.ts';
import { TrainingProgress } from './progress.ts';
import { printRunSummary } from './report.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerTrain(program: Command): void {
  program
    .command('train')
    .option('--preset <name>', 'preset to start from (see `groklab presets`)')
    .option('--config <file>', 'a JSON config file instead of a preset')
    .option(
      '--set <key=value>',
      'change one config field, e.g. train.weight_decay=0.3 (repeatable)',
      collect,
      [],
    )
    .option('--runs-dir <dir>', 'where run folders live (env GROKLAB_RUNS)', defaultRunsDir())
    .option('--id <id>', 'run id (default: <preset>-<UTC time>)')
    .option('--quiet', 'no progress output')
    .action(async (opts: TrainOptions) => {
      const raw = applyOverrides(baseConfig(opts), parseOverrides(opts.set));
      await trainWithSummary(opts.quiet ?? false, (hooks) =>
        startRun(opts.runsDir, raw, { id: opts.id, hooks }),
      );
    });
}

export function registerResume(program: Command): void {
  program
    .command('resume')
    .argument('<run>', 'run id (in --runs-dir) or the path of a run folder')
    .option('--step <n>', 'checkpoint step (default: the latest)', parseStep)
    .option('--set <key=value>', 'change a train.* or eval.* field, e.g. train.weight_decay=1', collect, [])
    .option('--fork <id>', 'continue in a new run with this id, keeping the original untouched')
    .option('--discard-later', 'resume in place from an earlier checkpoint, deleting what came after it')
    .option('--runs-dir <dir>', 'where run folders live (env GROKLAB_RUNS)', defaultRunsDir())
    .option('--quiet', 'no progress output')
    .action(async (runArg: string, opts: ResumeCliOptions) => {
      const overrides = parseOverrides(opts.set);
      // A run given by path lives in that path's parent, which is also where --fork puts the new run.
      const run = resolveRunFolder(runArg, opts.runsDir);
      await trainWithSummary(opts.quiet ?? false, (hooks) =>
        resumeRun(run.runsDir, run.id, {
          step: opts.step,
          overrides,
          forkId: opts.fork,
          discardLater: opts.discardLater,
          hooks,
        }),
      );
    });
}

interface TrainOptions {
  preset?: string;
  config?: string;
  set: string[];
  runsDir: string;
  id?: string;
  quiet?: boolean;
}

interface ResumeCliOptions {
  step?: number;
  set: string[];
  fork?: string;
  discardLater?: boolean;
  runsDir: string;
  quiet?: boolean;
}

function baseConfig(opts: TrainOptions): Record<string, unknown> {
  if (opts.preset !== undefined && opts.config !== undefined) {
    throw new UsageError({ field: '--config', message: 'give either --preset or --config, not both' });
  }
  if (opts.config !== undefined) {
    try {
      return JSON.parse(readFileSync(path.resolve(opts.config), 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError({
        field: '--config',
        message: `cannot read ${opts.config}: ${(err as Error).message}`,
      });
    }
  }
  const names = Object.keys(PRESETS).join(', ');
  if (opts.preset === undefined)
    throw new UsageError({ field: '--preset', message: `required; one of ${names}` });
  return presetRunConfig(opts.preset);
}

function parseStep(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new UsageError({ field: '--step', message: 'must be an integer ≥ 0' });
  return n;
}

/** Trains, then prints the summary; a run that diverged gets its summary too, and exit code 1. */
async function trainWithSummary(
  quiet: boolean,
  run: (hooks: RunHooks) => Promise<RunOutcome>,
): Promise<void> {
  try {
    printRunSummary(await withProgress(quiet, run), process.stdout);
  } catch (err) {
    if (!(err instanceof RunDiverged)) throw err;
    printRunSummary(err.outcome, process.stdout);
    throw new CommandExit(1);
  }
}

/**
 * A resume whose history already meets the stop rule would stop at its next evaluation: say so
 * before it starts, and how to train on anyway.
 */
function warnIfStopRuleMet({ step, config, stopRuleMet }: StartInfo): void {
  if (!stopRuleMet) return;
  const rule = describeStopRule(config.train);
  process.stderr.write(
    `note: the stop rule (${rule}) is already met at step ${step}, so training stops at the next evaluation;\n` +
      '      to train on, also pass --set train.stop_test_acc=null (or a higher train.stop_test_acc)\n',
  );
}

/**
 * Runs training with a progress display and Ctrl-C handling: the first Ctrl-C stops after the
 * current step with a checkpoint (resumable), a second one exits at once.
 */
async function withProgress(
  quiet: boolean,
  run: (hooks: RunHooks) => Promise<RunOutcome>,
): Promise<RunOutcome> {
  // Declared with `as` so that TypeScript does not narrow it to null: the hooks below assign it.
  let progress = null as TrainingProgress | null;
  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write('\nstopping after this step (Ctrl-C again to quit at once)…\n');
  };
  process.on('SIGINT', onSigint);
  try {
    const outcome = await run({
      onStart: (info) => {
        warnIfStopRuleMet(info);
        const { runId, step, totalSteps } = info;
        if (!quiet) process.stderr.write(`run ${runId}: training from step ${step} to ${totalSteps}\n`);
        progress = new TrainingProgress(totalSteps, process.stderr, quiet);
        progress.start(step);
      },
      onEval: (record) => progress?.eval(record),
      onStep: (step) => {
        progress?.step(step);
        return stopRequested;
      },
    });
    progress?.finish(outcome.step, outcome.reason);
    return outcome;
  } catch (err) {
    if (err instanceof RunDiverged) progress?.finish(err.outcome.step, 'diverged');
    throw err;
  } finally {
    progress?.stop();
    process.off('SIGINT', onSigint);
  }
}
