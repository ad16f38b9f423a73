import type { TaskData } from './types.ts';

/**
 * How an example (x, y) of a binary operation is written as tokens; the answer is read at the last
 * position. Operands are the ids 0 … size−1.
 *   x_y_eq:    [x, y, =] with '=' = size (the default).
 *   x_op_y_eq: [x, ∘, y, =] with '=' = size and the operator token ∘ = size + 1 (Power et al.'s
 *              "a ∘ b =", as in Grokfast's code).
 *   x_y:       [x, y], no '=' (the answer read at y's position): for an MLP on one-hot inputs, the
 *              concatenated one-hot x and y of Prieto et al.
 */
export const BINARY_SEQUENCES = ['x_y_eq', 'x_op_y_eq', 'x_y'] as const;
export type BinarySequence = (typeof BINARY_SEQUENCES)[number];

/** The sequence of a spec that does not name one: every config written before the option existed. */
export const DEFAULT_SEQUENCE: BinarySequence = 'x_y_eq';

interface Layout {
  seqLen: number;
  /** Number of token ids: the operands, then '=' and the operator token where the layout has them. */
  vocabSize: number;
  /** Positions of x and y in a sequence. */
  operands: readonly [number, number];
  /** Writes the example's tokens into row (seqLen long). */
  write(row: Int32Array, x: number, y: number): void;
}

function layoutOf(sequence: BinarySequence, size: number): Layout {
  const eq = size;
  const op = size + 1;
  switch (sequence) {
    case 'x_y_eq':
      return { seqLen: 3, vocabSize: size + 1, operands: [0, 1], write: (r, x, y) => r.set([x, y, eq]) };
    case 'x_op_y_eq':
      return { seqLen: 4, vocabSize: size + 2, operands: [0, 2], write: (r, x, y) => r.set([x, op, y, eq]) };
    case 'x_y':
      return { seqLen: 2, vocabSize: size, operands: [0, 1], write: (r, x, y) => r.set([x, y]) };
  }
}

/**
 * Tabulates a binary operation on {0..size-1}, each example written as `sequence` says.
 * `op` returns the label, or -1 to leave the pair out (e.g. division by zero).
 * Examples are ordered x-major then y, whatever the sequence, so the dataset (and a seeded split of
 * it) is the same for every run.
 */
export function tabulateBinaryOp(
  description: string,
  size: number,
  op: (x: number, y: number) => number,
  sequence: BinarySequence = DEFAULT_SEQUENCE,
): TaskData {
  const labelOf = new Int32Array(size * size);
  let count = 0;
  for (let x = 0; x < size; x++) {
    for (let y = 0; y < size; y++) {
      const label = op(x, y);
      if (label !== -1 && !(Number.isInteger(label) && label >= 0 && label < size)) {
        throw new Error(`${description}: op(${x}, ${y}) = ${label} is outside [0, ${size})`);
      }
      labelOf[x * size + y] = label;
      if (label !== -1) count++;
    }
  }

  const layout = layoutOf(sequence, size);
  const { seqLen } = layout;
  const inputs = new Int32Array(count * seqLen);
  const labels = new Int32Array(count);
  // Operands of each example, and the example index of each (x, y) pair (-1 if left out): `swapped`.
  const xs = new Int32Array(count);
  const ys = new Int32Array(count);
  const indexOf = new Int32Array(size * size).fill(-1);
  let e = 0;
  for (let x = 0; x < size; x++) {
    for (let y = 0; y < size; y++) {
      const label = labelOf[x * size + y];
      if (label === -1) continue;
      layout.write(inputs.subarray(e * seqLen, (e + 1) * seqLen), x, y);
      labels[e] = label;
      xs[e] = x;
      ys[e] = y;
      indexOf[x * size + y] = e;
      e++;
    }
  }
  const swapped = new Int32Array(count);
  for (let i = 0; i < count; i++) swapped[i] = indexOf[ys[i] * size + xs[i]];

  return {
    description,
    vocabSize: layout.vocabSize,
    seqLen,
    numClasses: size,
    inputs,
    labels,
    numExamples: count,
    swapped,
    operandPositions: layout.operands,
  };
}
