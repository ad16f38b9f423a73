/** `groklab detect PATH...`: did it grok, when, and how sharply (src/measures). */
import type { Command } from 'commander';
import {
  type AnalyzeOptions,
  type ColumnOverrides,
  DEFAULT_GROK_THRESHOLD,
  DEFAULT_MEM_THRESHOLD,
  type DetectOutcome,
  detectPath,
  formatReport,
  formatTable,
  isFailure,
  MNIST_GROK_THRESHOLD,
  optionProblems,
  type TaskHint,
} from '../measures/index.ts';
import { MODULAR_OPS, TASK_LIMITS } from '../tasks/index.ts';
import { type FieldProblem, UsageError } from '../util/errors.ts';
import { numberFlag } from './number-flag.ts';

interface DetectCliOptions {
  json?: boolean;
  step?: string;
  trainAcc?: string;
  testAcc?: string;
  trainLoss?: string;
  testLoss?: string;
  weightNorm?: string;
  memThreshold?: string;
  grokThreshold?: string;
  classes?: string;
  baseline?: string;
  task?: string;
  p?: string;
  trainFraction?: string;
}

/** Adds `detect` to a commander program; output goes to `out` (stdout by default). */
export function registerDetect(program: Command, out: NodeJS.WritableStream = process.stdout): void {
  program
    .command('detect')
    .description(
      'detect and measure grokking in runs or training logs: t_mem, t_grok (onset and first crossing), gap, sharpness, sigmoid fit, verdict',
    )
    .argument(
      '<paths...>',
      'a run folder, a runs directory (all runs: a table), a zip of a run folder (a lab export), a CSV or JSONL file, or a TensorBoard event file or directory',
    )
    .option('--json', 'machine-readable output: a JSON array with one result per run or file')
    .option(
      '--step <col>',
      'column with the step (default: trainer/global_step, global_step, step, ..., epoch)',
    )
    .option(
      '--train-acc <col>',
      'column with train accuracy (default: auto-detected, e.g. train_acc, train/acc)',
    )
    .option('--test-acc <col>', 'column with test accuracy (default: auto-detected, e.g. test_acc, val/acc)')
    .option('--train-loss <col>', 'column with train loss')
    .option('--test-loss <col>', 'column with test loss')
    .option('--weight-norm <col>', 'column with the total weight norm')
    .option(
      '--mem-threshold <x>',
      `train accuracy that counts as memorized, in (0, 1] (default ${DEFAULT_MEM_THRESHOLD})`,
    )
    .option(
      '--grok-threshold <x>',
      `test accuracy that counts as generalized, in (0, 1] (default ${DEFAULT_GROK_THRESHOLD}; ${MNIST_GROK_THRESHOLD} for a groklab run on mnist)`,
    )
    .option('--classes <n>', 'number of classes: baseline is chance 1/n')
    .option(
      '--baseline <b>',
      'test accuracy expected from memorization alone, in [0, 1) (overrides --classes)',
    )
    .option(
      '--task <op>',
      `what the log trained on, a modular operation as groklab names it (${MODULAR_OPS.join(', ')}); with --p and --train-fraction it gives the memorization band (default: from a groklab config.json next to the log)`,
    )
    .option('--p <p>', 'the modulus of --task')
    .option('--train-fraction <f>', 'share of all pairs in the training set, in (0, 1), for --task')
    .action((paths: string[], opts: DetectCliOptions) => {
      const options = parseOptions(opts);
      const outcomes: DetectOutcome[] = paths.flatMap((p) => detectPath(p, options));
      if (opts.json) out.write(`${JSON.stringify(outcomes, null, 2)}\n`);
      else if (outcomes.length === 1 && !isFailure(outcomes[0])) out.write(formatReport(outcomes[0]));
      else out.write(formatTable(outcomes));
    });
}

/** Turns the flag strings into AnalyzeOptions; every bad value is reported at once. */
function parseOptions(opts: DetectCliOptions): AnalyzeOptions {
  const problems: FieldProblem[] = [];
  const options: AnalyzeOptions = {
    memThreshold: numberFlag(problems, '--mem-threshold', opts.memThreshold),
    grokThreshold: numberFlag(problems, '--grok-threshold', opts.grokThreshold),
    classes: numberFlag(problems, '--classes', opts.classes),
    baseline: numberFlag(problems, '--baseline', opts.baseline),
  };
  const columns: ColumnOverrides = {
    step: opts.step,
    train_acc: opts.trainAcc,
    test_acc: opts.testAcc,
    train_loss: opts.trainLoss,
    test_loss: opts.testLoss,
    weight_norm: opts.weightNorm,
  };
  options.columns = Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined));
  options.task = taskHint(problems, opts);
  problems.push(...optionProblems(options));
  if (problems.length > 0) throw new UsageError(problems);
  return options;
}

/** --task, --p and --train-fraction go together: all three, or none. */
function taskHint(problems: FieldProblem[], opts: DetectCliOptions): TaskHint | undefined {
  const flags = [
    { field: '--task', value: opts.task, allowed: `one of ${MODULAR_OPS.join(', ')}` },
    {
      field: '--p',
      value: opts.p,
      allowed: `the modulus, an integer in [${TASK_LIMITS.modularP.min}, ${TASK_LIMITS.modularP.max}]`,
    },
    { field: '--train-fraction', value: opts.trainFraction, allowed: 'in (0, 1)' },
  ];
  const given = flags.filter((f) => f.value !== undefined).map((f) => f.field);
  if (given.length === 0) return undefined;
  if (given.length < flags.length) {
    for (const { field, value, allowed } of flags) {
      if (value === undefined) {
        problems.push({
          field,
          message: `required with ${given.join(' and ')} (${allowed}): --task, --p and --train-fraction go together`,
        });
      }
    }
    return undefined;
  }
  const p = numberFlag(problems, '--p', opts.p);
  const trainFraction = numberFlag(problems, '--train-fraction', opts.trainFraction);
  if (opts.task === undefined || p === undefined || trainFraction === undefined) return undefined;
  return { op: opts.task, p, trainFraction };
}
