/**
 * A mixture of tasks trained in one model: several binary operations, each example written
 * [x, op_i, y, =] with one operator token per component, so the model must read the operator to know
 * which table to answer from. Operand ids are shared across components (0 … size−1, size the largest
 * component's), labels too; '=' is `size` and component i's operator token is size + 1 + i.
 * Components keep their examples contiguous and in their own order, so a split sorted by index keeps
 * each component's examples together (the trainer scores each component on its own range).
 */
import { Rng } from '../util/rng.ts';
import { buildDihedral } from './dihedral.ts';
import { buildModular } from './modular.ts';
import { buildPermutation } from './permutation.ts';
import type { Split } from './split.ts';
import type { TaskComponent, TaskData } from './types.ts';

/** A component as its spec gives it (see spec.ts): a binary-operation task without `sequence`. */
export type MixtureComponentSpec =
  | {
      name?: string;
      kind: 'modular';
      op: Parameters<typeof buildModular>[0];
      p: number;
      train_fraction: number;
      nonzero_y?: boolean;
    }
  | {
      name?: string;
      kind: 'permutation';
      op: Parameters<typeof buildPermutation>[0];
      n: number;
      train_fraction: number;
    }
  | {
      name?: string;
      kind: 'dihedral';
      op: Parameters<typeof buildDihedral>[0];
      n: number;
      train_fraction: number;
    };

/** The most components a mixture may have: each is a curve in every chart. */
export const MIXTURE_MAX_COMPONENTS = 8;

/** Allowed component names: they become column names (`test_acc/<name>`) and file-safe labels. */
export const COMPONENT_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,40}$/;

/**
 * The name each component goes by: its `name`, else its op, with the size appended when two
 * components would otherwise share one (add mod 97 and add mod 113: add_97, add_113).
 */
export function componentNames(components: readonly MixtureComponentSpec[]): string[] {
  const sizeOf = (c: MixtureComponentSpec) => (c.kind === 'modular' ? c.p : c.n);
  const opCount = new Map<string, number>();
  for (const c of components) if (c.name === undefined) opCount.set(c.op, (opCount.get(c.op) ?? 0) + 1);
  return components.map((c) => c.name ?? ((opCount.get(c.op) ?? 0) > 1 ? `${c.op}_${sizeOf(c)}` : c.op));
}

function buildComponent(spec: MixtureComponentSpec): TaskData {
  switch (spec.kind) {
    case 'modular':
      return buildModular(spec.op, spec.p, { nonzeroY: spec.nonzero_y });
    case 'permutation':
      return buildPermutation(spec.op, spec.n);
    case 'dihedral':
      return buildDihedral(spec.op, spec.n);
  }
}

/** The mixture's dataset. The caller has validated the specs (spec.ts): unique names, valid parts. */
export function buildMixture(components: readonly MixtureComponentSpec[]): TaskData {
  // Each part tabulated as [x, y, =], from which its operands and labels are read back.
  const parts = components.map(buildComponent);
  const names = componentNames(components);
  const size = Math.max(...parts.map((t) => t.numClasses));
  const eq = size;
  const seqLen = 4;
  const numExamples = parts.reduce((n, t) => n + t.numExamples, 0);
  const inputs = new Int32Array(numExamples * seqLen);
  const labels = new Int32Array(numExamples);
  const swapped = new Int32Array(numExamples);
  const ranges: TaskComponent[] = [];
  let start = 0;
  parts.forEach((part, i) => {
    const op = size + 1 + i;
    for (let e = 0; e < part.numExamples; e++) {
      const x = part.inputs[e * part.seqLen];
      const y = part.inputs[e * part.seqLen + 1];
      inputs.set([x, op, y, eq], (start + e) * seqLen);
      labels[start + e] = part.labels[e];
      const other = part.swapped?.[e] ?? -1;
      swapped[start + e] = other === -1 ? -1 : start + other;
    }
    ranges.push({
      name: names[i],
      description: part.description,
      start,
      count: part.numExamples,
      trainFraction: components[i].train_fraction,
    });
    start += part.numExamples;
  });
  return {
    description: `mixture of ${parts.map((t) => t.description).join('; ')}`,
    vocabSize: size + 1 + parts.length,
    seqLen,
    numClasses: size,
    inputs,
    labels,
    numExamples,
    swapped,
    operandPositions: [0, 2],
    components: ranges,
  };
}

/**
 * The split of a mixture: each component split by its own training fraction, the components' shuffles
 * drawn one after the other from one seeded stream, so the split depends only on the specs and `seed`.
 */
export function makeMixtureSplit(components: readonly TaskComponent[], seed: number): Split {
  const rng = new Rng(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (const c of components) {
    const order = Int32Array.from({ length: c.count }, (_, i) => c.start + i);
    rng.shuffle(order);
    const n = Math.round(c.trainFraction * c.count);
    for (let i = 0; i < c.count; i++) (i < n ? train : test).push(order[i]);
  }
  return { train: Int32Array.from(train).sort(), test: Int32Array.from(test).sort() };
}
