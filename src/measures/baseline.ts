/**
 * The "near chance" level a memorizing model's test accuracy is compared with.
 *
 * Chance is 1/classes, but for a commutative operation a network that memorized (a,b) can also answer
 * (b,a): test accuracy on the plateau then sits near the share of test pairs whose swap is a training
 * pair with the same answer, about the training fraction (0.27 at 30% on nanda-113, against
 * 1/113 = 0.009). So the baseline of a known task is computed from it and its split:
 *   baseline = s + (1 − s)/classes,  s = share of test examples whose swapped example is in the
 *   training set and has the same label.
 * It is the most a memorizer can be expected to score; a plateau below it (an MLP on one-hot inputs
 * does not share anything between (a,b) and (b,a)) is also "near chance". Hence the band
 * [1/classes, baseline]: which end a run sits at says which kind of memorizer it was.
 *
 * The split is known exactly for a groklab run (split.json); for someone else's log only the task and
 * the training fraction are (--task/--p/--train-fraction or a config.json next to the log), and s is
 * its expected value over random splits of that size.
 *
 * Precedence: --baseline (the user's number) > --classes (strict 1/N) > --task/--p/--train-fraction >
 * the task and split of a groklab run, or a config.json next to a log > an estimate from the first
 * evaluation (an untrained model scores chance).
 */
import {
  buildTask,
  isPrime,
  MODULAR_OPS,
  type ModularOp,
  PRIME_ONLY_OPS,
  type Split,
  TASK_LIMITS,
  type TaskData,
  taskSize,
  trainCount,
} from '../tasks/index.ts';
import type { FieldProblem } from '../util/errors.ts';
import type { BaselineInfo, BaselineSource, Series } from './types.ts';

/** Example i is answered by a memorized swap: (y,x) is another example with the same label. */
function answeredBySwap(task: TaskData, i: number): boolean {
  const j = task.swapped?.[i] ?? -1;
  return j >= 0 && j !== i && task.labels[j] === task.labels[i];
}

/** The baseline and band of a task whose swap share is `share`; `context` ends the detail in words. */
function baselineWithShare(
  task: TaskData,
  share: number,
  source: BaselineSource,
  context: string,
): BaselineInfo {
  const classes = task.numClasses;
  const chance = 1 / classes;
  const value = share + (1 - share) * chance;
  const detail =
    share > 0
      ? `chance 1/${classes} = ${fmt(chance)} plus ${(100 * share).toFixed(1)}% of test pairs whose swap (y,x) is a training pair with the same answer (${context})`
      : `chance 1/${classes} = ${fmt(chance)} (${context}; no test pair is answered by a swapped training pair)`;
  return {
    value,
    chance,
    classes,
    symmetric_share: share,
    band: { low: chance, high: value },
    source,
    detail,
  };
}

/**
 * A task of real-valued inputs (MNIST) has chance but no memorization band: a network that memorized
 * its training images also answers test images that resemble them, so what memorizing alone scores
 * is not known, and the plateau is judged by its shape (as with an estimated baseline).
 */
export function baselineForRealInputs(task: TaskData): BaselineInfo {
  const chance = 1 / task.numClasses;
  return {
    value: chance,
    chance,
    classes: task.numClasses,
    symmetric_share: null,
    band: null,
    source: 'real-inputs',
    detail: `chance 1/${task.numClasses} = ${fmt(chance)}; ${task.description} are real-valued inputs, with no memorization band: a memorizing network also answers test inputs that resemble its training inputs`,
  };
}

/** Exact, from a groklab run's split. */
export function baselineFromTask(task: TaskData, split: Split): BaselineInfo {
  const inTrain = new Uint8Array(task.numExamples);
  for (const i of split.train) inTrain[i] = 1;
  let explained = 0;
  for (const i of split.test) if (answeredBySwap(task, i) && inTrain[task.swapped![i]] === 1) explained++;
  return baselineWithShare(task, explained / split.test.length, 'task-split', task.description);
}

/**
 * Expected over random splits with `trainFraction` of the examples in training: a test example's
 * swap is one of the N − 1 other examples, in training with probability n_train / (N − 1).
 * `from` says where the task came from (a flag, a config file).
 */
export function baselineFromFraction(task: TaskData, trainFraction: number, from: string): BaselineInfo {
  const n = task.numExamples;
  const nTrain = trainCount(n, trainFraction);
  if (typeof nTrain === 'string') throw new RangeError(nTrain);
  let swappable = 0;
  for (let i = 0; i < n; i++) if (answeredBySwap(task, i)) swappable++;
  const share = (swappable / n) * (nTrain / (n - 1));
  const context = `${task.description}, ${percent(trainFraction)} of pairs in training, expected over random splits; ${from}`;
  return baselineWithShare(task, share, 'task-fraction', context);
}

/** What the user says a log is: one of groklab's modular operations, its modulus, the training fraction. */
export interface TaskHint {
  /** A modular op as groklab's config names it: add, sub, mul, div, ... */
  op: string;
  p: number;
  trainFraction: number;
}

/** Problems with a task hint, named after the flags (--task, --p, --train-fraction). */
export function taskHintProblems(hint: TaskHint): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const ops = MODULAR_OPS as readonly string[];
  if (!ops.includes(hint.op)) {
    problems.push({
      field: '--task',
      message: `must be one of groklab's modular operations: ${MODULAR_OPS.join(', ')}; got "${hint.op}"`,
    });
  }
  const { min, max } = TASK_LIMITS.modularP;
  if (!(Number.isInteger(hint.p) && hint.p >= min && hint.p <= max)) {
    problems.push({ field: '--p', message: `must be an integer in [${min}, ${max}], got ${hint.p}` });
  } else if ((PRIME_ONLY_OPS as readonly string[]).includes(hint.op) && !isPrime(hint.p)) {
    problems.push({
      field: '--p',
      message: `must be prime for --task ${hint.op} (it needs inverses mod p), got ${hint.p}`,
    });
  }
  const f = hint.trainFraction;
  if (!(f > 0 && f < 1)) {
    problems.push({ field: '--train-fraction', message: `must be in (0, 1), got ${f}` });
  } else if (problems.length === 0) {
    const spec = { kind: 'modular', op: hint.op as ModularOp, p: hint.p, train_fraction: f } as const;
    const count = trainCount(taskSize(spec), f);
    if (typeof count === 'string') problems.push({ field: '--train-fraction', message: count });
  }
  return problems;
}

/** The baseline of a (valid) task hint. */
export function baselineFromHint(hint: TaskHint): BaselineInfo {
  const op = hint.op as ModularOp; // checked by taskHintProblems (buildTask checks again)
  const task = buildTask({ kind: 'modular', op, p: hint.p, train_fraction: hint.trainFraction });
  return baselineFromFraction(
    task,
    hint.trainFraction,
    `from --task ${hint.op} --p ${hint.p} --train-fraction ${hint.trainFraction}`,
  );
}

export interface BaselineOptions {
  classes?: number;
  baseline?: number;
}

/**
 * Picks the baseline by the precedence above; `fromTask` is the task's (a hint, a groklab run, a
 * config.json next to the log), `test` the test accuracy.
 */
export function resolveBaseline(
  options: BaselineOptions,
  fromTask: BaselineInfo | null,
  test: Series | null,
): BaselineInfo {
  const classes = options.classes ?? fromTask?.classes ?? null;
  const chance = classes !== null ? 1 / classes : null;
  if (options.baseline !== undefined) {
    const b = options.baseline;
    return {
      value: b,
      chance,
      classes,
      symmetric_share: null,
      band: chance !== null ? { low: Math.min(chance, b), high: Math.max(chance, b) } : null,
      source: 'user',
      detail: `given with --baseline ${options.baseline}`,
    };
  }
  if (options.classes !== undefined) {
    return {
      value: 1 / options.classes,
      chance: 1 / options.classes,
      classes: options.classes,
      symmetric_share: null,
      band: { low: 1 / options.classes, high: 1 / options.classes },
      source: 'classes',
      detail: `chance 1/${options.classes} = ${fmt(1 / options.classes)} (--classes ${options.classes})`,
    };
  }
  if (fromTask) return fromTask;
  if (test && test.values.length > 0) {
    return {
      value: test.values[0],
      chance: null,
      classes: null,
      symmetric_share: null,
      band: null,
      source: 'first-evaluation',
      detail: `estimated as the test accuracy of the first evaluation (step ${test.steps[0]}); pass --task OP --p P --train-fraction F, --classes N or --baseline B`,
    };
  }
  return {
    value: null,
    chance: null,
    classes: null,
    symmetric_share: null,
    band: null,
    source: 'none',
    detail: 'no test accuracy',
  };
}

/** A baseline is known when it comes from the user or the task, not estimated from the log. */
export function isBaselineKnown(baseline: BaselineInfo): boolean {
  return (
    baseline.source !== 'first-evaluation' && baseline.source !== 'real-inputs' && baseline.source !== 'none'
  );
}

function fmt(x: number): string {
  return x >= 0.01 ? x.toFixed(3) : x.toPrecision(2);
}

function percent(f: number): string {
  return `${Number((100 * f).toFixed(1))}%`;
}
