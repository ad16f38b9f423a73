/** `groklab detect PATH...`: did it grok, when, and how sharply (src/measures). */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  type CapabilityResult,
  capabilityOptionProblems,
  isCapabilityFailure,
} from '../measures/capabilities.ts';
import { formatCapabilities } from '../measures/capability-format.ts';
import { detectCapabilities } from '../measures/capability-paths.ts';
import { formatHiddenGrokking } from '../measures/hidden-grokking.ts';
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
import { capabilityTimelineSpec, type TimelineCapability } from '../plots/capability-specs.ts';
import { specToSvg, svgToPng } from '../plots/render.ts';
import { writeFileAtomic } from '../runs/index.ts';
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
  capabilities?: string;
  timeline?: string;
  evalSize?: string;
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
    .option(
      '--capabilities <glob>',
      "one result per column whose name matches the glob, each judged on its own curve: t_grok, sharpness, a label (grokked, jumped-early, jumped, rising-gradually, declined, flat, insufficient-data). * matches within one '/' segment, ** across segments, ? one character, {a,b} either; quote it so the shell leaves it alone: --capabilities 'test_acc/*' or 'eval/*/acc'",
    )
    .option(
      '--timeline <file>',
      'with --capabilities: also draw the event timeline, one row per capability, to FILE (.svg or .png)',
    )
    .option(
      '--eval-size <n>',
      'with --capabilities: examples each accuracy was measured on, for its binomial noise (default: read off the values when they are counts out of N, else the residuals alone)',
    )
    .action(async (paths: string[], opts: DetectCliOptions) => {
      if (opts.capabilities !== undefined) {
        await capabilitiesAction(paths, opts, out);
        return;
      }
      const options = parseOptions(opts);
      const outcomes: DetectOutcome[] = paths.flatMap((p) => detectPath(p, options));
      if (opts.json) out.write(`${JSON.stringify(outcomes, null, 2)}\n`);
      else if (outcomes.length === 1 && !isFailure(outcomes[0])) out.write(formatReport(outcomes[0]));
      else out.write(formatTable(outcomes));
    });
}

/** The flags of whole-run detection that mean nothing per capability. */
const RUN_ONLY_FLAGS: Array<[keyof DetectCliOptions, string]> = [
  ['trainAcc', '--train-acc'],
  ['testAcc', '--test-acc'],
  ['trainLoss', '--train-loss'],
  ['testLoss', '--test-loss'],
  ['weightNorm', '--weight-norm'],
  ['classes', '--classes'],
  ['baseline', '--baseline'],
  ['task', '--task'],
  ['p', '--p'],
  ['trainFraction', '--train-fraction'],
];

/** `detect --capabilities`: one result per matching column, its table and timeline, or --json. */
async function capabilitiesAction(
  paths: string[],
  opts: DetectCliOptions,
  out: NodeJS.WritableStream,
): Promise<void> {
  const problems: FieldProblem[] = [];
  for (const [key, flag] of RUN_ONLY_FLAGS) {
    if (opts[key] !== undefined) {
      problems.push({
        field: flag,
        message:
          'judges one run as a whole and does not apply with --capabilities (each capability is judged on its own curve; its train column is found by name)',
      });
    }
  }
  const glob = opts.capabilities as string;
  const options = {
    glob,
    step: opts.step,
    memThreshold: numberFlag(problems, '--mem-threshold', opts.memThreshold),
    grokThreshold: numberFlag(problems, '--grok-threshold', opts.grokThreshold),
    evalSize: numberFlag(problems, '--eval-size', opts.evalSize),
  };
  problems.push(...capabilityOptionProblems(options));
  if (opts.timeline !== undefined && !/\.(svg|png)$/i.test(opts.timeline)) {
    problems.push({ field: '--timeline', message: `must name a .svg or .png file, got "${opts.timeline}"` });
  }
  if (problems.length > 0) throw new UsageError(problems);
  // Every input is read and checked before anything is written.
  const detection = detectCapabilities(paths, options);
  if (opts.timeline !== undefined) await writeTimeline(opts.timeline, detection, glob);
  if (opts.json) out.write(`${JSON.stringify(detection.outcomes, null, 2)}\n`);
  else {
    out.write(
      formatCapabilities(detection.outcomes, glob, (r) => detection.steps.get(r) ?? [], detection.unmatched),
    );
    for (const [where, claims] of detection.hidden) {
      out.write(`\n${where}: ${formatHiddenGrokking(claims).join('\n')}\n`);
    }
  }
}

async function writeTimeline(
  file: string,
  detection: ReturnType<typeof detectCapabilities>,
  glob: string,
): Promise<void> {
  const results = detection.outcomes.filter((o): o is CapabilityResult => !isCapabilityFailure(o));
  const sources = [...new Set(results.map((r) => r.source.path ?? '(curve)'))];
  const jumps = new Set(['grokked', 'jumped-early', 'jumped']);
  const rows: TimelineCapability[] = results.map((r) => {
    const change =
      r.label === 'declined'
        ? r.decline
        : r.label === 'flat' || r.label === 'insufficient-data'
          ? null
          : r.change;
    const span =
      change && (jumps.has(r.label) || change.significance.significant)
        ? { from: change.t10, to: change.t90 }
        : null; // a slow drift found only by the ends' test gets no bar
    return {
      name: sources.length > 1 ? `${path.basename(r.source.path ?? '')}: ${r.name}` : r.name,
      label: r.label,
      evaluations: detection.steps.get(r) ?? [],
      t_mem: r.t_mem,
      onset: r.t_grok,
      span,
    };
  });
  const spec = capabilityTimelineSpec(rows, {
    title: `Capabilities matching '${glob}'`,
    subtitle: [
      sources.length === 1 ? sources[0] : `${sources.length} logs`,
      'bar: 10→90% of the change, ▲ onset of a jump, ◆ t_mem of its train column, ticks: evaluations',
    ],
  });
  const svg = await specToSvg(spec);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomic(file, /\.png$/i.test(file) ? svgToPng(svg) : svg);
}

/** Turns the flag strings into AnalyzeOptions; every bad value is reported at once. */
function parseOptions(opts: DetectCliOptions): AnalyzeOptions {
  const problems: FieldProblem[] = [];
  for (const [value, flag] of [
    [opts.timeline, '--timeline'],
    [opts.evalSize, '--eval-size'],
  ] as const) {
    if (value !== undefined) problems.push({ field: flag, message: 'applies only with --capabilities GLOB' });
  }
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
