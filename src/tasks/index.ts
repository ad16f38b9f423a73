/**
 * Datasets for grokking experiments: modular arithmetic, permutation and dihedral groups, sparse
 * parity, real MNIST digits; a spec (zod-validated) becomes token sequences read at the last position,
 * split by seed (MNIST brings its own split).
 * Binary operations are written [x, y, =] unless the spec's `sequence` says otherwise (binary.ts).
 */
import { UsageError } from '../util/errors.ts';
import { buildDihedral } from './dihedral.ts';
import { buildMixture } from './mixture.ts';
import { loadMnist } from './mnist.ts';
import { buildModular } from './modular.ts';
import { buildParity } from './parity.ts';
import { buildPermutation } from './permutation.ts';
import { issuesToProblems, type TaskSpec, type TaskSpecInput, taskSchema } from './spec.ts';
import type { TaskData } from './types.ts';

export { BINARY_SEQUENCES, type BinarySequence, DEFAULT_SEQUENCE } from './binary.ts';
export { DIHEDRAL_OPS, type DihedralOp, dihedralCompose } from './dihedral.ts';
export { encodeIdx, IdxFormatError, parseIdx } from './idx.ts';
export {
  COMPONENT_NAME_PATTERN,
  componentNames,
  MIXTURE_MAX_COMPONENTS,
  type MixtureComponentSpec,
  makeMixtureSplit,
} from './mixture.ts';
export { buildMnist, MNIST_FILES, type MnistBytes } from './mnist.ts';
export {
  isPrime,
  MODULAR_FORMULAS,
  MODULAR_OPS,
  type ModularOp,
  type ModularOptions,
  modInverse,
  PRIME_ONLY_OPS,
} from './modular.ts';
export { PARITY_ENUMERATE_MAX_BITS } from './parity.ts';
export {
  composePermutations,
  invertPermutation,
  PERMUTATION_FORMULAS,
  PERMUTATION_OPS,
  type PermutationOp,
  permutationRank,
  permutations,
} from './permutation.ts';
export {
  issuesToProblems,
  TASK_HELP,
  TASK_KINDS,
  TASK_LIMITS,
  TASK_OPS,
  type TaskKind,
  type TaskSpec,
  type TaskSpecInput,
  taskSchema,
  taskSize,
  trainFractionOf,
} from './spec.ts';
export { makeSplit, type Split, type SplitJson, splitFromJson, splitToJson, trainCount } from './split.ts';
export type { TaskComponent, TaskData } from './types.ts';

/** Validates a raw `task` object; problems name fields as `task.<key>`. */
export function parseTaskSpec(raw: unknown): TaskSpec {
  const parsed = taskSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(issuesToProblems(parsed.error.issues, 'task'));
  return parsed.data;
}

/**
 * Builds the dataset of a spec. Validates it first (also the checks zod's per-field schema cannot
 * make: prime p for div ops, k ≤ n_bits, ...), throwing UsageError with fields like `task.p`, so an
 * unchecked spec cannot yield a wrong dataset.
 */
export function buildTask(spec: TaskSpecInput): TaskData {
  const s = parseTaskSpec(spec);
  switch (s.kind) {
    case 'modular':
      return buildModular(s.op, s.p, { sequence: s.sequence, nonzeroY: s.nonzero_y });
    case 'permutation':
      return buildPermutation(s.op, s.n, s.sequence);
    case 'dihedral':
      return buildDihedral(s.op, s.n, s.sequence);
    case 'parity':
      return buildParity(s.n_bits, s.k, s.seed, s.n_samples);
    case 'mnist':
      return loadMnist({ trainSize: s.train_size, testSize: s.test_size, seed: s.seed });
    case 'mixture':
      return buildMixture(s.components);
  }
}
