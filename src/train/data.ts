import { Rng } from '../util/rng.ts';

/** Token sequences and labels of one side of a split, contiguous for fast batching. */
export interface Examples {
  tokens: Int32Array;
  labels: Int32Array;
  count: number;
  seqLen: number;
  /** Mixtures: each component's rows [start, start+count) of this set, for metrics per component. */
  groups?: ExampleGroup[];
}

export interface ExampleGroup {
  name: string;
  start: number;
  count: number;
}

/**
 * The examples at `indices` (ascending, as a split keeps them). With a mixture's components, also
 * where each component's examples lie among them: contiguous, since components are ranges of the task.
 */
export function selectExamples(
  inputs: Int32Array,
  labels: Int32Array,
  seqLen: number,
  indices: Int32Array,
  components?: readonly { name: string; start: number; count: number }[],
): Examples {
  const tokens = new Int32Array(indices.length * seqLen);
  const selected = new Int32Array(indices.length);
  indices.forEach((ex, i) => {
    tokens.set(inputs.subarray(ex * seqLen, (ex + 1) * seqLen), i * seqLen);
    selected[i] = labels[ex];
  });
  const examples: Examples = { tokens, labels: selected, count: indices.length, seqLen };
  if (components) examples.groups = groupsOf(indices, components);
  return examples;
}

function groupsOf(
  indices: Int32Array,
  components: readonly { name: string; start: number; count: number }[],
): ExampleGroup[] {
  for (let i = 1; i < indices.length; i++) {
    if (indices[i] <= indices[i - 1])
      throw new Error('selectExamples: component groups need ascending indices');
  }
  // First row at or after `value` (indices ascending).
  const lowerBound = (value: number) => {
    let lo = 0;
    let hi = indices.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (indices[mid] < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return components.map((c) => {
    const start = lowerBound(c.start);
    return { name: c.name, start, count: lowerBound(c.start + c.count) - start };
  });
}

/** Rows [start, end) of a set of examples, without copying. */
export function sliceExamples(ex: Examples, start: number, end: number): Examples {
  return {
    tokens: ex.tokens.subarray(start * ex.seqLen, end * ex.seqLen),
    labels: ex.labels.subarray(start, end),
    count: end - start,
    seqLen: ex.seqLen,
  };
}

/**
 * Minibatches that depend only on (seed, step): each epoch is a seeded permutation of the
 * training set cut into consecutive batches (the last one may be smaller). Nothing needs to be
 * checkpointed for a resumed run to draw the same batches.
 */
export class MinibatchSchedule {
  private epoch = -1;
  private order = new Int32Array(0);
  private readonly batch: Examples;

  constructor(
    private readonly train: Examples,
    private readonly batchSize: number,
    private readonly seed: number,
  ) {
    this.batch = {
      tokens: new Int32Array(batchSize * train.seqLen),
      labels: new Int32Array(batchSize),
      count: 0,
      seqLen: train.seqLen,
    };
  }

  get stepsPerEpoch(): number {
    return Math.ceil(this.train.count / this.batchSize);
  }

  /** The batch for 1-based `step`. The returned object is reused by the next call. */
  batchFor(step: number): Examples {
    const epoch = Math.floor((step - 1) / this.stepsPerEpoch);
    if (epoch !== this.epoch) {
      this.order = new Rng((this.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0).shuffle(
        Int32Array.from({ length: this.train.count }, (_, i) => i),
      );
      this.epoch = epoch;
    }
    const start = ((step - 1) % this.stepsPerEpoch) * this.batchSize;
    const end = Math.min(start + this.batchSize, this.train.count);
    const { seqLen } = this.train;
    for (let i = start; i < end; i++) {
      const ex = this.order[i];
      this.batch.tokens.set(this.train.tokens.subarray(ex * seqLen, (ex + 1) * seqLen), (i - start) * seqLen);
      this.batch.labels[i - start] = this.train.labels[ex];
    }
    const count = end - start;
    return {
      tokens: this.batch.tokens.subarray(0, count * seqLen),
      labels: this.batch.labels.subarray(0, count),
      count,
      seqLen,
    };
  }
}
