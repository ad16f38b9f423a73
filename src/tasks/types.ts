/**
 * The shape every dataset takes, whatever the task: fixed-length token sequences whose answer is read at
 * the last position (the trailing '=' token, or y's position for binary tasks written [x, y]), so one
 * transformer and one MLP serve every task. Real-valued inputs (MNIST) are one token per example, its
 * index into `features`.
 */
export interface TaskData {
  /** Human readable, e.g. "x+y mod 113", "S5 x·y·x⁻¹", "sparse parity n=40 k=3 (bits 3,17,22)". */
  description: string;
  /** Number of input token ids, including the '=' (and operator) token where the sequence has one. */
  vocabSize: number;
  /** Tokens per example, including the trailing '=' token where the sequence has one. */
  seqLen: number;
  /** Number of label classes. */
  numClasses: number;
  /** numExamples × seqLen token ids, row-major. */
  inputs: Int32Array;
  /** One label per example, in [0, numClasses). */
  labels: Int32Array;
  numExamples: number;
  /**
   * Binary operations only: for each example, the index of the example with operands swapped
   * (x,y)->(y,x), or -1 when that pair is not in the dataset (div or nonzero_y with x=0). Used to
   * explain the "plateau above chance" of commutative ops: a memorised (x,y) also answers (y,x).
   */
  swapped?: Int32Array;
  /**
   * Binary operations only: the positions of x and y in each sequence ([0, 1], or [0, 2] when an
   * operator token sits between them).
   */
  operandPositions?: readonly [number, number];
  /** Sparse parity only: the relevant bit positions (token positions), ascending. */
  relevantBits?: number[];
  /**
   * Tasks of real-valued inputs (MNIST): numExamples × dim values, row i example i's input. Each
   * example's one token is then its own index, which an MLP with `input: features` looks up here.
   */
  features?: { dim: number; values: Float32Array };
  /**
   * Data sets that come with their own train and test sets (MNIST): the split, which replaces the
   * seeded one a train_fraction would draw.
   */
  split?: { train: Int32Array; test: Int32Array };
  /**
   * Mixtures only (mixture.ts): each component's examples, the contiguous range [start, start+count),
   * in the order of the spec.
   */
  components?: TaskComponent[];
}

/** One task of a mixture: where its examples are, and how it is named in metrics and charts. */
export interface TaskComponent {
  /** Unique in its mixture; metrics name it as `test_acc/<name>`. */
  name: string;
  /** e.g. "x+y mod 97". */
  description: string;
  start: number;
  count: number;
  /** The share of its examples that train. */
  trainFraction: number;
}
