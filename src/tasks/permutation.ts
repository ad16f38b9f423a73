import { type BinarySequence, DEFAULT_SEQUENCE, tabulateBinaryOp } from './binary.ts';
import type { TaskData } from './types.ts';

/**
 * Operations on the symmetric group S_n. Convention: a permutation is the map i -> perm[i], and
 * (x·y)(i) = x(y(i)), i.e. apply y first, then x (function composition).
 */
export const PERMUTATION_OPS = ['compose', 'conjugate', 'xyx'] as const;
export type PermutationOp = (typeof PERMUTATION_OPS)[number];

export const PERMUTATION_FORMULAS: Record<PermutationOp, string> = {
  compose: 'x·y',
  conjugate: 'x·y·x⁻¹',
  xyx: 'x·y·x',
};

/** All permutations of 0..n-1 in lexicographic order; element id = position in this list. */
export function permutations(n: number): number[][] {
  const out: number[][] = [];
  const rec = (prefix: number[], rest: number[]) => {
    if (rest.length === 0) {
      out.push(prefix);
      return;
    }
    // rest stays ascending, so taking its items in order yields lexicographic order.
    for (let i = 0; i < rest.length; i++) {
      rec([...prefix, rest[i]], [...rest.slice(0, i), ...rest.slice(i + 1)]);
    }
  };
  rec(
    [],
    Array.from({ length: n }, (_, i) => i),
  );
  return out;
}

/** Lexicographic rank of a permutation (its Lehmer code read in the factorial number system). */
export function permutationRank(perm: readonly number[]): number {
  const n = perm.length;
  let rank = 0;
  for (let i = 0; i < n; i++) {
    let smaller = 0;
    for (let j = i + 1; j < n; j++) if (perm[j] < perm[i]) smaller++;
    rank = rank * (n - i) + smaller;
  }
  return rank;
}

/** (x·y)(i) = x(y(i)). */
export function composePermutations(x: readonly number[], y: readonly number[]): number[] {
  return y.map((yi) => x[yi]);
}

export function invertPermutation(x: readonly number[]): number[] {
  const inv = new Array<number>(x.length);
  x.forEach((xi, i) => {
    inv[xi] = i;
  });
  return inv;
}

/** Every pair (x, y) of S_n, labelled by the op's result, written as `sequence` says; n! ² examples. */
export function buildPermutation(
  op: PermutationOp,
  n: number,
  sequence: BinarySequence = DEFAULT_SEQUENCE,
): TaskData {
  const perms = permutations(n);
  const order = perms.length;
  // Tabulate composition once by rank; the other ops are then two table lookups.
  const mul = new Int32Array(order * order);
  for (let a = 0; a < order; a++) {
    for (let b = 0; b < order; b++) {
      mul[a * order + b] = permutationRank(composePermutations(perms[a], perms[b]));
    }
  }
  const inv = perms.map((x) => permutationRank(invertPermutation(x)));
  const m = (a: number, b: number) => mul[a * order + b];
  const f: Record<PermutationOp, (x: number, y: number) => number> = {
    compose: m,
    conjugate: (x, y) => m(m(x, y), inv[x]),
    xyx: (x, y) => m(m(x, y), x),
  };
  return tabulateBinaryOp(`S${n} ${PERMUTATION_FORMULAS[op]}`, order, f[op], sequence);
}
