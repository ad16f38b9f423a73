import { z } from 'zod';
import type { FieldProblem } from '../util/errors.ts';
import { strictObject } from '../util/schema.ts';
import { BINARY_SEQUENCES } from './binary.ts';
import { DIHEDRAL_OPS } from './dihedral.ts';
import { COMPONENT_NAME_PATTERN, componentNames, MIXTURE_MAX_COMPONENTS } from './mixture.ts';
import { MNIST_TEST_IMAGES, MNIST_TRAIN_IMAGES } from './mnist.ts';
import { isPrime, MODULAR_OPS, PRIME_ONLY_OPS } from './modular.ts';
import { PARITY_ENUMERATE_MAX_BITS } from './parity.ts';
import { PERMUTATION_OPS } from './permutation.ts';
import { trainCount } from './split.ts';

/** Bounds on sizes, chosen so the largest dataset stays a few million examples. */
export const TASK_LIMITS = {
  /** p² examples. */
  modularP: { min: 2, max: 2000 },
  /** (n!)² examples: 6! = 720 gives 518,400. */
  permutationN: { min: 2, max: 6 },
  /** (2n)² examples. */
  dihedralN: { min: 3, max: 1000 },
  parityBits: { min: 2, max: 128 },
  /** Only when n_bits > 16; below that every input is enumerated. */
  paritySamples: { min: 2, max: 100_000 },
} as const;

export const TASK_KINDS = ['modular', 'permutation', 'dihedral', 'parity', 'mnist', 'mixture'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** The allowed ops of each kind, for help text (parity has none). */
export const TASK_OPS: Record<TaskKind, readonly string[]> = {
  modular: MODULAR_OPS,
  permutation: PERMUTATION_OPS,
  dihedral: DIHEDRAL_OPS,
  parity: [],
  mnist: [],
  mixture: [],
};

const list = (values: readonly string[]) => values.join(', ');

/** An integer in [min, max], one message for every way of missing it. */
function intIn(name: string, min: number, max: number) {
  const error = `${name} must be an integer in [${min}, ${max}]`;
  return z.int({ error }).min(min, { error }).max(max, { error });
}

function opEnum<const T extends readonly [string, ...string[]]>(ops: T) {
  return z.enum(ops, { error: `op must be one of ${list(ops)}` });
}

const trainFraction = z
  .number({ error: 'train_fraction must be a number in (0, 1)' })
  .gt(0, { error: 'train_fraction must be in (0, 1)' })
  .lt(1, { error: 'train_fraction must be in (0, 1)' });

/**
 * Tokens of each example of a binary operation (binary.ts). Optional, and absent means x_y_eq, so a
 * config written before the option existed reads back unchanged and builds the same data.
 */
const sequence = z
  .enum(BINARY_SEQUENCES, {
    error: `sequence must be one of ${list(BINARY_SEQUENCES)} ([x, y, =], [x, op, y, =], [x, y])`,
  })
  .optional();

/** Modular only: leave out y = 0 (Grokfast's x·y mod p). Optional; absent means false. */
const nonzeroY = z.boolean({ error: 'nonzero_y must be true or false' }).optional();

/** A problem relative to the task object: `key` is a key of it. */
interface TaskIssue {
  key: string;
  message: string;
}

const modularSchema = strictObject({
  kind: z.literal('modular'),
  op: opEnum(MODULAR_OPS),
  p: intIn('p', TASK_LIMITS.modularP.min, TASK_LIMITS.modularP.max),
  train_fraction: trainFraction,
  sequence,
  nonzero_y: nonzeroY,
});

const permutationSchema = strictObject({
  kind: z.literal('permutation'),
  op: opEnum(PERMUTATION_OPS),
  n: intIn('n', TASK_LIMITS.permutationN.min, TASK_LIMITS.permutationN.max),
  train_fraction: trainFraction,
  sequence,
});

const dihedralSchema = strictObject({
  kind: z.literal('dihedral'),
  op: opEnum(DIHEDRAL_OPS),
  n: intIn('n', TASK_LIMITS.dihedralN.min, TASK_LIMITS.dihedralN.max),
  train_fraction: trainFraction,
  sequence,
});

const paritySchema = strictObject({
  kind: z.literal('parity'),
  n_bits: intIn('n_bits', TASK_LIMITS.parityBits.min, TASK_LIMITS.parityBits.max),
  k: intIn('k', 1, TASK_LIMITS.parityBits.max),
  n_samples: intIn('n_samples', TASK_LIMITS.paritySamples.min, TASK_LIMITS.paritySamples.max).optional(),
  /**
   * Picks the relevant bits and the sampled inputs. Separate from the run's seed, so runs that differ
   * only in training seed study the same task.
   */
  seed: intIn('seed', 0, 2 ** 32 - 1).default(0),
  train_fraction: trainFraction,
});

/**
 * Real MNIST digits (mnist.ts): `train_size` training images, the first ones (Omnigrok's code takes
 * range(train_points)) or, with `seed`, a seeded choice; evaluated on the first `test_size` test
 * images (absent: all 10,000). The data set fixes the split, so there is no train_fraction.
 */
const mnistSchema = strictObject({
  kind: z.literal('mnist'),
  train_size: intIn('train_size', 1, MNIST_TRAIN_IMAGES),
  test_size: intIn('test_size', 1, MNIST_TEST_IMAGES).optional(),
  seed: intIn('seed', 0, 2 ** 32 - 1).optional(),
});

/** A component's name: optional (default: its op), unique within the mixture. */
const componentName = z
  .string({ error: 'name must be a string' })
  .regex(COMPONENT_NAME_PATTERN, {
    error: 'name must be 1 to 40 characters of letters, digits, _ . or -',
  })
  .optional();

/**
 * A mixture's component: a binary-operation task written [x, op_i, y, =] by the mixture (so no
 * `sequence` of its own), with an optional name.
 */
const componentSchema = z.discriminatedUnion(
  'kind',
  [
    modularSchema.omit({ sequence: true }).extend({ name: componentName }),
    permutationSchema.omit({ sequence: true }).extend({ name: componentName }),
    dihedralSchema.omit({ sequence: true }).extend({ name: componentName }),
  ],
  {
    error: (iss) =>
      typeof iss.input !== 'object' || iss.input === null || Array.isArray(iss.input)
        ? 'a component must be an object'
        : 'kind must be one of modular, permutation, dihedral (a mixture mixes binary operations)',
  },
);

/** Several binary-operation tasks in one model (mixture.ts); each has its own size and training fraction. */
const mixtureSchema = strictObject({
  kind: z.literal('mixture'),
  components: z
    .array(componentSchema, { error: 'components must be an array of tasks' })
    .min(2, { error: `components must list 2 to ${MIXTURE_MAX_COMPONENTS} tasks` })
    .max(MIXTURE_MAX_COMPONENTS, { error: `components must list 2 to ${MIXTURE_MAX_COMPONENTS} tasks` }),
});

type ModularSpec = z.output<typeof modularSchema>;
type PermutationSpec = z.output<typeof permutationSchema>;
type DihedralSpec = z.output<typeof dihedralSchema>;
type ParitySpec = z.output<typeof paritySchema>;
type MnistSpec = z.output<typeof mnistSchema>;
type MixtureSpec = z.output<typeof mixtureSchema>;
type AnySpec = ModularSpec | PermutationSpec | DihedralSpec | ParitySpec | MnistSpec | MixtureSpec;

/** Number of examples a (shape-valid) spec produces, without building it. */
export function taskSize(spec: AnySpec): number {
  switch (spec.kind) {
    case 'modular':
      // Only div and nonzero_y leave pairs out (y = 0); div_odd subtracts when y is even, 0 included.
      return spec.op === 'div' || spec.nonzero_y === true ? spec.p * (spec.p - 1) : spec.p * spec.p;
    case 'permutation': {
      let order = 1;
      for (let i = 2; i <= spec.n; i++) order *= i;
      return order * order;
    }
    case 'dihedral':
      return 4 * spec.n * spec.n;
    case 'parity':
      return spec.n_bits <= PARITY_ENUMERATE_MAX_BITS ? 2 ** spec.n_bits : (spec.n_samples ?? 0);
    case 'mnist':
      return spec.train_size + (spec.test_size ?? MNIST_TEST_IMAGES);
    case 'mixture':
      return spec.components.reduce((n, c) => n + taskSize(c), 0);
  }
}

/** Checks across fields that a per-field schema cannot express. */
function semanticIssues(spec: AnySpec): TaskIssue[] {
  if (spec.kind === 'mixture') return mixtureIssues(spec);
  const issues: TaskIssue[] = [];
  if (spec.kind === 'modular' && PRIME_ONLY_OPS.includes(spec.op) && !isPrime(spec.p)) {
    issues.push({
      key: 'p',
      message: `p must be prime for op ${spec.op} (it needs inverses mod p); ${spec.p} is not prime`,
    });
  }
  if (spec.kind === 'parity') {
    if (spec.k > spec.n_bits) {
      issues.push({ key: 'k', message: `k must be at most n_bits (${spec.n_bits}), got ${spec.k}` });
    }
    const sampled = spec.n_bits > PARITY_ENUMERATE_MAX_BITS;
    if (sampled && spec.n_samples === undefined) {
      issues.push({
        key: 'n_samples',
        message: `n_samples is required when n_bits > ${PARITY_ENUMERATE_MAX_BITS} (inputs are sampled)`,
      });
    }
    if (!sampled && spec.n_samples !== undefined) {
      issues.push({
        key: 'n_samples',
        message: `n_samples must be omitted when n_bits ≤ ${PARITY_ENUMERATE_MAX_BITS}: all 2^n_bits inputs are used`,
      });
    }
  }
  if (issues.length === 0 && spec.kind !== 'mnist') {
    // Out-of-range fractions are already reported by the field's own check.
    const inRange = spec.train_fraction > 0 && spec.train_fraction < 1;
    const n = inRange ? trainCount(taskSize(spec), spec.train_fraction) : 0;
    if (typeof n === 'string') issues.push({ key: 'train_fraction', message: n });
  }
  return issues;
}

/** Each component's own checks (as `components.<i>.<key>`), and names that are unique. */
function mixtureIssues(spec: MixtureSpec): TaskIssue[] {
  const issues: TaskIssue[] = spec.components.flatMap((c, i) =>
    semanticIssues(c).map((iss) => ({ key: `components.${i}.${iss.key}`, message: iss.message })),
  );
  const names = componentNames(spec.components);
  names.forEach((name, i) => {
    const first = names.indexOf(name);
    if (first !== i) {
      issues.push({
        key: `components.${i}.name`,
        message: `component name "${name}" is already used by component ${first}; give each a unique name`,
      });
    }
  });
  return issues;
}

const unionSchema = z.discriminatedUnion(
  'kind',
  [modularSchema, permutationSchema, dihedralSchema, paritySchema, mnistSchema, mixtureSchema],
  {
    // Zod's types list only invalid_union here, but a non-object input arrives as invalid_type.
    error: (iss) =>
      typeof iss.input !== 'object' || iss.input === null || Array.isArray(iss.input)
        ? 'task must be an object'
        : `kind must be one of ${list(TASK_KINDS)}`,
  },
);

/**
 * Zod schema of the `task` part of a run config: shape checks per kind, then the cross-field checks
 * (prime p for div ops, k ≤ n_bits, n_samples, a train fraction leaving both sides non-empty).
 * Issue paths are relative to the task object.
 */
export const taskSchema = unionSchema.superRefine((spec, ctx) => {
  for (const { key, message } of semanticIssues(spec)) {
    // Mixture keys are paths (components.1.p): numbers stay numbers, as zod's own paths have them.
    const path = key.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k));
    ctx.addIssue({ code: 'custom', path, message });
  }
});

/** A validated task spec (defaults filled in). */
export type TaskSpec = z.output<typeof taskSchema>;
/** A task spec as written in a config (parity `seed`, `sequence`, `nonzero_y`, mnist `test_size` and `seed` may be omitted). */
export type TaskSpecInput = z.input<typeof taskSchema>;

/**
 * The share of the task's examples that train: train_fraction, or for MNIST (which has none)
 * train_size over all the examples used.
 */
export function trainFractionOf(task: TaskSpecInput): number {
  if (task.kind === 'mnist')
    return task.train_size / (task.train_size + (task.test_size ?? MNIST_TEST_IMAGES));
  if (task.kind === 'mixture') {
    // Each component trains round(fraction × size) of its examples (mixture.ts).
    const sizes = task.components.map((c) => taskSize(c as AnySpec));
    const trained = task.components.reduce((n, c, i) => n + Math.round(c.train_fraction * sizes[i]), 0);
    return trained / sizes.reduce((a, b) => a + b, 0);
  }
  return task.train_fraction;
}

/** Zod issues as field problems, fields prefixed (e.g. `task.p`). */
export function issuesToProblems(issues: readonly z.core.$ZodIssue[], prefix: string): FieldProblem[] {
  const field = (path: readonly PropertyKey[]) =>
    [prefix, ...path.map(String)].filter((s) => s !== '').join('.');
  // An unknown key is reported at the key itself (task.foo), one problem per key.
  return issues.flatMap((iss) =>
    iss.code === 'unrecognized_keys'
      ? iss.keys.map((key) => ({ field: field([...iss.path, key]), message: iss.message }))
      : [{ field: field(iss.path), message: iss.message }],
  );
}

const sequenceHelp = `sequence (${list(BINARY_SEQUENCES)}; default x_y_eq = [x, y, =], x_op_y_eq = [x, op, y, =], x_y = [x, y])`;

/** One line per kind, for CLI help. */
export const TASK_HELP: readonly string[] = [
  `modular: op (${list(MODULAR_OPS)}), p in [${TASK_LIMITS.modularP.min}, ${TASK_LIMITS.modularP.max}] (prime for div, div_odd), train_fraction, ${sequenceHelp}, nonzero_y (default false: true leaves out y = 0)`,
  `permutation: S_n, op (${list(PERMUTATION_OPS)}), n in [${TASK_LIMITS.permutationN.min}, ${TASK_LIMITS.permutationN.max}], train_fraction, ${sequenceHelp}`,
  `dihedral: D_n of order 2n, op (${list(DIHEDRAL_OPS)}), n in [${TASK_LIMITS.dihedralN.min}, ${TASK_LIMITS.dihedralN.max}], train_fraction, ${sequenceHelp}`,
  `parity: n_bits in [${TASK_LIMITS.parityBits.min}, ${TASK_LIMITS.parityBits.max}], k in [1, n_bits], n_samples (only when n_bits > ${PARITY_ENUMERATE_MAX_BITS}), seed (default 0), train_fraction`,
  `mixture: components (2 to ${MIXTURE_MAX_COMPONENTS} tasks of kind modular, permutation or dihedral, each with its own fields and train_fraction, and an optional name, default its op), written [x, op_i, y, =] with one operator token per component; metrics per component`,
  `mnist: real MNIST digits (needs model.kind mlp with input features), train_size in [1, ${MNIST_TRAIN_IMAGES}], test_size in [1, ${MNIST_TEST_IMAGES}] (default all), seed (absent: the first train_size images; a number: a seeded choice)`,
];
