/** `groklab train` and `groklab resume`: a training session with progress on stderr and a summary. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { applyOverrides, parseOverrides } from '../config/overrides.ts';
import { PRESETS } from '../config/presets.ts';
import { type RunHooks, type RunOutcome, resumeRun, startRun } from '../runner/session.ts';
import { UsageError } from '../util/errors.ts';
import { defaultRunsDir } from './defaults.ts';
import { TrainingProgress } from './progress.ts';
import { printRunSummary } from './report.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model from a preset (or a config file) into a new run folder')
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
      const outcome = await withProgress(opts.quiet ?? false, (hooks) =>
        startRun(opts.runsDir, raw, { id: opts.id, hooks }),
      );
      printRunSummary(outcome, process.stdout);
    });
}

export function registerResume(program: Command): void {
  program
    .command('resume')
    .description('continue a run from a checkpoint, optionally with changed training settings')
    .argument('<run>', 'run id')
    .option('--step <n>', 'checkpoint step (default: the latest)', parseStep)
    .option('--set <key=value>', 'change a train.* or eval.* field, e.g. train.weight_decay=1', collect, [])
    .option('--fork <id>', 'continue in a new run with this id, keeping the original untouched')
    .option('--discard-later', 'resume in place from an earlier checkpoint, deleting what came after it')
    .option('--runs-dir <dir>', 'where run folders live (env GROKLAB_RUNS)', defaultRunsDir())
    .option('--quiet', 'no progress output')
    .action(async (runId: string, opts: ResumeCliOptions) => {
      const overrides = parseOverrides(opts.set);
      const outcome = await withProgress(opts.quiet ?? false, (hooks) =>
        resumeRun(opts.runsDir, runId, {
          step: opts.step,
          overrides,
          forkId: opts.fork,
          discardLater: opts.discardLater,
          hooks,
        }),
      );
      printRunSummary(outcome, process.stdout);
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
  const preset = PRESETS[opts.preset];
  if (!preset)
    throw new UsageError({ field: '--preset', message: `unknown preset "${opts.preset}"; one of ${names}` });
  return { preset: opts.preset, ...structuredClone(preset.config) } as Record<string, unknown>;
}

function parseStep(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new UsageError({ field: '--step', message: 'must be an integer ≥ 0' });
  return n;
}

/**
 * Runs training with a progress display and Ctrl-C handling: the first Ctrl-C stops after the
 * current step with a checkpoint (resumable), a second one exits at once.
 */
async function withProgress(
  quiet: boolean,
  run: (hooks: RunHooks) => Promise<RunOutcome>,
): Promise<RunOutcome> {
  let progress: TrainingProgress | null = null;
  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write('\nstopping after this step (Ctrl-C again to quit at once)…\n');
  };
  process.on('SIGINT', onSigint);
  try {
    return await run({
      onStart: ({ runId, step, totalSteps }) => {
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
  } finally {
    (progress as TrainingProgress | null)?.stop();
    process.off('SIGINT', onSigint);
  }
}
