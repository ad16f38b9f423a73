/**
 * The WebAssembly SIMD kernels (either build: src/kernels/groklab-fma.wasm or groklab.wasm): the
 * matrix product, on worker threads when one is large, and the other loops of a training step (ArrayKernels in kernels.ts).
 *
 * Operands. A kernel reads and writes linear memory. An array that already lies there (arena
 * storage, see arena.ts and wasm-memory.ts) is used in place; any other array is copied into
 * scratch past the arenas and, if the kernel writes it, copied back. When scratch cannot grow
 * without detaching live arena views (an unshared memory), the call runs on a second, private
 * instance with its own memory (`aux`) instead. Either way the same code computes the same bits.
 *
 * Browser-safe: no Node APIs (kernels-node.ts and threads.ts bring the workers on Node).
 */
import type { Arena } from './arena.ts';
import type {
  AdamCoefficients,
  ArrayKernels,
  AttentionGrad,
  AttentionSource,
  GemmJob,
  GemmPool,
  KernelExports,
  Kernels,
  PoolSetup,
  WasmInstance,
  WasmKernelsOptions,
} from './kernels.ts';
import { checkMatmulArgs } from './matmul-args.ts';
import { planRanges } from './ranges.ts';
import { align64, LinearMemory, WasmArena } from './wasm-memory.ts';

/** Bytes at heapBase() reserved for the control words of a thread pool (src/engine/threads.ts). */
export const CTRL_BYTES = 4096;
/**
 * Below this many flops (2·m·n·k) a product stays on the calling thread: waking a sleeping
 * worker (~50 µs) costs about what it saves up to ~3 MFLOP (~100 µs on one thread).
 */
export const MIN_PARALLEL_FLOPS = 3e6;

/**
 * Kernels whose last two parameters are a range of rows, columns or sequences: the worker threads
 * share them (threads.ts). A kernel's kind number is its index here plus one.
 */
export const RANGE_KERNELS = [
  'biasAct',
  'actBackward',
  'addRepeat',
  'colSums',
  'embedRows',
  'attentionForward',
  'layerNormForward',
  'crossEntropyForward',
  'crossEntropyBackward',
] as const;
type RangeKernel = (typeof RANGE_KERNELS)[number];
const KINDS = Object.fromEntries(RANGE_KERNELS.map((name, i) => [name, i + 1])) as Record<
  RangeKernel,
  number
>;

/** What `call`'s function returns when the worker threads failed mid-call. */
const POOL_FAILED = Symbol('pool failed');
/** Least work (elements touched) a range kernel is shared for. */
const MIN_SPLIT_WORK = 1 << 17;

/** Blocks of rows whose losses crossEntropyForward sums separately: fixed by n alone. */
function lossBlocks(n: number): number[] {
  const size = Math.max(256, Math.ceil(n / 64));
  const out: number[] = [];
  for (let start = 0; start < n; start += size) out.push(start, Math.min(n, start + size));
  return out;
}

/** Activation codes of the kernels (src/kernels/assembly/elementwise.ts). */
export const ACTIVATION_CODES = { none: 0, relu: 1, quadratic: 2, gelu: 3 } as const;
export type KernelActivation = keyof typeof ACTIVATION_CODES;

type View = Float32Array | Int32Array;
/** How a kernel uses an operand. */
const IN = 0;
const OUT = 1;
const INOUT = 2;

/** An instance the kernels run on, with where its workspaces are. */
interface Target {
  readonly instance: WasmInstance;
  readonly exports: KernelExports;
  readonly mem: LinearMemory;
  /** Workspace of the calling thread. */
  readonly work: number;
  /** The instance arenas live in (false: the private fallback). */
  readonly main: boolean;
}

/**
 * Linear memory: [pool control words | one packing workspace per thread | arenas | scratch],
 * from heapBase() (the module has no static data). With a pool, every thread computes a disjoint
 * part of a product's C in place.
 */
export class WasmKernels implements Kernels, ArrayKernels {
  /** Which build runs: wasm-fma (groklab-fma.wasm) or wasm-simd (groklab.wasm). */
  readonly name: 'wasm-fma' | 'wasm-simd';
  private main!: Target;
  private aux: Target | null = null;
  private threadCount: number;
  private pool: GemmPool | null = null;
  private startPool: WasmKernelsOptions['startPool'] | null;
  private readonly replaceInstance: (() => WasmInstance) | null;
  private readonly auxInstance: (() => WasmInstance) | null;
  private readonly minParallelFlops: number;
  private ctrl = 0;
  private work: number[] = [];
  /** Pointers of the current call's operands (reused: one call at a time). */
  private readonly ptrs: number[] = [];

  constructor(instance: WasmInstance, options: WasmKernelsOptions = {}) {
    const threads = options.threads ?? 1;
    if (!Number.isSafeInteger(threads) || threads < 1)
      throw new RangeError(`threads must be ≥ 1, got ${threads}`);
    this.startPool = options.startPool ?? null;
    this.threadCount = this.startPool !== null && isShared(instance.memory) ? threads : 1;
    this.replaceInstance = options.replaceInstance ?? null;
    this.auxInstance = options.auxInstance ?? null;
    this.minParallelFlops = options.minParallelFlops ?? MIN_PARALLEL_FLOPS;
    this.setInstance(instance);
    this.name = instance.exports.fusedMultiplyAdd() === 1 ? 'wasm-fma' : 'wasm-simd';
  }

  get arrays(): ArrayKernels {
    return this;
  }

  /** Threads large products run on; drops to 1 if the pool fails. */
  get threads(): number {
    return this.threadCount;
  }

  matmul(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
  ): void {
    checkMatmulArgs(a, b, c, m, n, k);
    if (m === 0 || n === 0) return;
    if (k === 0) {
      if (!accumulate) c.fill(0, 0, m * n);
      return;
    }
    const ops: View[] = [prefix(a, m * k), prefix(b, k * n), prefix(c, m * n)];
    const modes = [IN, IN, accumulate ? INOUT : OUT];
    const pool = this.threadCount > 1 && 2 * m * n * k >= this.minParallelFlops ? this.sharing() : null;
    pool?.wake();
    const p = this.ptrs;
    for (;;) {
      const t = this.place(ops, modes);
      if (pool !== null && t.main && this.pool === pool) {
        const job: GemmJob = { c: p[2], a: p[0], b: p[1], m, n, k, transA, transB, accumulate };
        if (!pool.run(job)) {
          // A worker failed: its share may be missing, or still being written. Start over on a
          // fresh memory that no worker can reach (every operand is then copied there).
          const lostSum = accumulate && t.mem.owns(ops[2]);
          this.dropThreads();
          if (lostSum) {
            throw new Error(
              'wasm kernels: a worker thread failed while adding a product into wasm-resident storage; ' +
                'the partial sum cannot be recovered (matmul continues on one thread from now on)',
            );
          }
          continue;
        }
      } else {
        t.exports.matmul(p[2], p[0], p[1], t.work, m, n, k, +transA, +transB, +accumulate, 0, m, 0, n);
      }
      this.finish(t, ops, modes);
      return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // ArrayKernels

  newArena(): Arena {
    return new WasmArena(
      () => this.main.mem,
      (x) => this.fill(x, 0),
    );
  }

  fill(x: Float32Array, value: number): void {
    this.call([x], [OUT], ({ exports: e }, p) => e.fill(p[0], x.length, value));
  }

  copy(dst: Float32Array, src: Float32Array): void {
    need(src, dst.length, 'copy: src');
    this.call([dst, src], [OUT, IN], ({ exports: e }, p) => e.copy(p[0], p[1], dst.length));
  }

  accumulate(dst: Float32Array, src: Float32Array): void {
    need(src, dst.length, 'accumulate: src');
    this.call([dst, src], [INOUT, IN], ({ exports: e }, p) => e.accumulate(p[0], p[1], dst.length));
  }

  biasAct(
    pre: Float32Array,
    post: Float32Array | null,
    bias: Float32Array | null,
    rows: number,
    cols: number,
    activation: KernelActivation,
  ): void {
    need(pre, rows * cols, 'biasAct: pre');
    if (post) need(post, rows * cols, 'biasAct: post');
    if (bias) need(bias, cols, 'biasAct: bias');
    const code = ACTIVATION_CODES[activation];
    this.call([pre, post, bias], [bias ? INOUT : IN, OUT, IN], (t, p) =>
      this.split(t, 'biasAct', [p[0], p[1], p[2], rows, cols, code], rows, rows * cols),
    );
  }

  actBackward(
    gx: Float32Array,
    g: Float32Array,
    x: Float32Array,
    activation: KernelActivation,
    accumulate: boolean,
    rows = 1,
    sums: Float32Array | null = null,
  ): void {
    const n = gx.length;
    const cols = rows === 0 ? 0 : n / rows;
    if (!Number.isInteger(cols)) throw new RangeError(`actBackward: ${n} elements are not ${rows} rows`);
    need(g, n, 'actBackward: g');
    need(x, n, 'actBackward: x');
    if (sums) need(sums, cols, 'actBackward: sums');
    const code = ACTIVATION_CODES[activation];
    // Split by columns: each column's sum then runs over all rows in order, as on one thread.
    this.call([gx, g, x, sums], [accumulate ? INOUT : OUT, IN, IN, INOUT], (t, p) =>
      this.split(t, 'actBackward', [p[0], p[1], p[2], rows, cols, code, +accumulate, p[3]], cols, n),
    );
  }

  addRepeat(out: Float32Array, a: Float32Array, b: Float32Array): void {
    const n = out.length;
    const m = b.length;
    need(a, n, 'addRepeat: a');
    if (m === 0 ? n !== 0 : n % m !== 0) throw new RangeError(`addRepeat: ${n} is not a multiple of ${m}`);
    if (n === 0) return;
    this.call([out, a, b], [OUT, IN, IN], (t, p) =>
      this.split(t, 'addRepeat', [p[0], p[1], p[2], n, m], n / m, n),
    );
  }

  colSums(dst: Float32Array, src: Float32Array, rows: number, cols: number, accumulate: boolean): void {
    need(dst, cols, 'colSums: dst');
    need(src, rows * cols, 'colSums: src');
    this.call([dst, src], [accumulate ? INOUT : OUT, IN], (t, p) =>
      this.split(t, 'colSums', [p[0], p[1], rows, cols, +accumulate], cols, rows * cols),
    );
  }

  embedRows(
    out: Float32Array,
    table: Float32Array,
    pos: Float32Array | null,
    ids: Int32Array,
    batch: number,
    seq: number,
    first: number,
    dim: number,
  ): void {
    need(out, batch * (seq - first) * dim, 'embedRows: out');
    need(ids, batch * seq, 'embedRows: ids');
    if (pos) need(pos, seq * dim, 'embedRows: pos');
    checkIds(ids, table.length / dim, 'embedRows');
    this.call([out, table, pos, ids], [OUT, IN, IN, IN], (t, p) =>
      this.split(t, 'embedRows', [p[0], p[1], p[2], p[3], batch, seq, first, dim], batch, out.length),
    );
  }

  embedRowsBackward(
    gt: Float32Array | null,
    gp: Float32Array | null,
    g: Float32Array,
    ids: Int32Array,
    batch: number,
    seq: number,
    first: number,
    dim: number,
  ): void {
    need(g, batch * (seq - first) * dim, 'embedRowsBackward: g');
    need(ids, batch * seq, 'embedRowsBackward: ids');
    if (gp) need(gp, seq * dim, 'embedRowsBackward: gp');
    if (gt) checkIds(ids, gt.length / dim, 'embedRowsBackward');
    this.call([gt, gp, g, ids], [INOUT, INOUT, IN, IN], ({ exports: e }, p) =>
      e.embedRowsBackward(p[0], p[1], p[2], p[3], batch, seq, first, dim),
    );
  }

  rowSums(
    out: Float32Array,
    table: Float32Array,
    ids: Int32Array,
    batch: number,
    seq: number,
    vocab: number,
    dim: number,
  ): void {
    need(out, batch * dim, 'rowSums: out');
    need(table, seq * vocab * dim, 'rowSums: table');
    need(ids, batch * seq, 'rowSums: ids');
    checkIds(ids, vocab, 'rowSums');
    if (seq === 0) {
      out.fill(0, 0, batch * dim);
      return;
    }
    this.call([out, table, ids], [OUT, IN, IN], ({ exports: e }, p) =>
      e.rowSums(p[0], p[1], p[2], batch, seq, vocab, dim),
    );
  }

  scatterRowSums(
    gt: Float32Array,
    g: Float32Array,
    ids: Int32Array,
    batch: number,
    seq: number,
    vocab: number,
    dim: number,
  ): void {
    need(gt, seq * vocab * dim, 'scatterRowSums: gt');
    need(g, batch * dim, 'scatterRowSums: g');
    need(ids, batch * seq, 'scatterRowSums: ids');
    checkIds(ids, vocab, 'scatterRowSums');
    this.call([gt, g, ids], [INOUT, IN, IN], ({ exports: e }, p) =>
      e.scatterRowSums(p[0], p[1], p[2], batch, seq, vocab, dim),
    );
  }

  attentionForward(
    out: Float32Array,
    probs: Float32Array,
    q: AttentionSource,
    k: AttentionSource,
    v: AttentionSource,
    batch: number,
    tq: number,
    seq: number,
    dim: number,
    heads: number,
  ): void {
    need(out, batch * tq * dim, 'attention: out');
    need(probs, batch * heads * tq * seq, 'attention: probs');
    checkSource(q, batch, tq, seq, dim, 'attention: q');
    checkSource(k, batch, seq, seq, dim, 'attention: k');
    checkSource(v, batch, seq, seq, dim, 'attention: v');
    this.checkWork(dim + 4 * seq + 8, 'attention');
    this.call(
      [out, probs, q.rows, q.pos, q.ids, k.rows, k.pos, k.ids, v.rows, v.pos, v.ids],
      [OUT, OUT, IN, IN, IN, IN, IN, IN, IN, IN, IN],
      (t, p) =>
        // Scratch (a query row, the scores): each thread's packing workspace, idle between products.
        this.split(
          t,
          'attentionForward',
          [
            p[0],
            p[1],
            t.work,
            p[2],
            p[3],
            p[4],
            p[5],
            p[6],
            p[7],
            p[8],
            p[9],
            p[10],
            batch,
            tq,
            seq,
            dim,
            heads,
          ],
          batch,
          batch * tq * seq * dim,
          2,
        ),
    );
  }

  attentionBackward(
    gq: AttentionGrad,
    gk: AttentionGrad,
    gv: AttentionGrad,
    g: Float32Array,
    probs: Float32Array,
    q: AttentionSource,
    k: AttentionSource,
    v: AttentionSource,
    batch: number,
    tq: number,
    seq: number,
    dim: number,
    heads: number,
  ): void {
    need(g, batch * tq * dim, 'attentionBackward: g');
    need(probs, batch * heads * tq * seq, 'attentionBackward: probs');
    checkSource(q, batch, tq, seq, dim, 'attentionBackward: q');
    checkSource(k, batch, seq, seq, dim, 'attentionBackward: k');
    checkSource(v, batch, seq, seq, dim, 'attentionBackward: v');
    checkGrad(gq, q, 'attentionBackward: gq');
    checkGrad(gk, k, 'attentionBackward: gk');
    checkGrad(gv, v, 'attentionBackward: gv');
    this.checkWork(dim + 12 * seq + 8, 'attentionBackward');
    this.call(
      [
        gq.rows,
        gq.pos,
        gk.rows,
        gk.pos,
        gv.rows,
        gv.pos,
        g,
        probs,
        q.rows,
        q.pos,
        q.ids,
        k.rows,
        k.pos,
        k.ids,
        v.rows,
        v.pos,
        v.ids,
      ],
      [INOUT, INOUT, INOUT, INOUT, INOUT, INOUT, IN, IN, IN, IN, IN, IN, IN, IN, IN, IN, IN],
      (t, p) =>
        t.exports.attentionBackward(
          p[0],
          p[1],
          p[2],
          p[3],
          p[4],
          p[5],
          p[6],
          p[7],
          t.work,
          p[8],
          p[9],
          p[10],
          p[11],
          p[12],
          p[13],
          p[14],
          p[15],
          p[16],
          batch,
          tq,
          seq,
          dim,
          heads,
        ),
    );
  }

  layerNormForward(
    out: Float32Array,
    normed: Float32Array,
    invStd: Float32Array,
    x: Float32Array,
    gain: Float32Array,
    bias: Float32Array,
    rows: number,
    dim: number,
    eps: number,
  ): void {
    need(out, rows * dim, 'layerNorm: out');
    need(normed, rows * dim, 'layerNorm: normed');
    need(invStd, rows, 'layerNorm: invStd');
    need(x, rows * dim, 'layerNorm: x');
    need(gain, dim, 'layerNorm: gain');
    need(bias, dim, 'layerNorm: bias');
    this.call([out, normed, invStd, x, gain, bias], [OUT, OUT, OUT, IN, IN, IN], (t, p) =>
      this.split(
        t,
        'layerNormForward',
        [p[0], p[1], p[2], p[3], p[4], p[5], rows, dim, eps],
        rows,
        2 * rows * dim,
      ),
    );
  }

  layerNormBackward(
    gx: Float32Array | null,
    gGain: Float32Array | null,
    gBias: Float32Array | null,
    g: Float32Array,
    normed: Float32Array,
    invStd: Float32Array,
    gain: Float32Array,
    rows: number,
    dim: number,
  ): void {
    if (gx) need(gx, rows * dim, 'layerNormBackward: gx');
    if (gGain) need(gGain, dim, 'layerNormBackward: gGain');
    if (gBias) need(gBias, dim, 'layerNormBackward: gBias');
    need(g, rows * dim, 'layerNormBackward: g');
    need(normed, rows * dim, 'layerNormBackward: normed');
    need(invStd, rows, 'layerNormBackward: invStd');
    need(gain, dim, 'layerNormBackward: gain');
    this.call(
      [gx, gGain, gBias, g, normed, invStd, gain],
      [INOUT, INOUT, INOUT, IN, IN, IN, IN],
      ({ exports: e }, p) => e.layerNormBackward(p[0], p[1], p[2], p[3], p[4], p[5], p[6], rows, dim),
    );
  }

  crossEntropyForward(
    probs: Float32Array,
    x: Float32Array,
    labels: Int32Array,
    n: number,
    classes: number,
  ): number {
    need(probs, n * classes, 'crossEntropy: probs');
    need(x, n * classes, 'crossEntropy: x');
    need(labels, n, 'crossEntropy: labels');
    checkIds(labels.subarray(0, n), classes, 'crossEntropy');
    if (n === 0) return 0;
    // Row losses are summed per block of rows, then the blocks in order: blocks that do not depend
    // on the thread count keep the sum the same whatever the threads.
    const blocks = lossBlocks(n);
    const sums = new Float64Array(blocks.length / 2);
    return this.call([probs, x, labels], [OUT, IN, IN], (t, p) => {
      const args = [p[0], p[1], p[2], n, classes];
      const pool = this.poolFor(t, n * classes);
      if (pool !== null && blocks.length > 2) {
        if (!pool.runRanges(KINDS.crossEntropyForward, args, blocks, sums)) return POOL_FAILED;
      } else {
        for (let q = 0; q < sums.length; q++) {
          sums[q] = t.exports.crossEntropyForward(
            p[0],
            p[1],
            p[2],
            n,
            classes,
            blocks[2 * q],
            blocks[2 * q + 1],
          );
        }
      }
      let total = 0;
      for (const v of sums) total += v;
      return total;
    });
  }

  crossEntropyBackward(
    gx: Float32Array,
    probs: Float32Array,
    labels: Int32Array,
    n: number,
    classes: number,
    scale: number,
    accumulate: boolean,
  ): void {
    need(gx, n * classes, 'crossEntropyBackward: gx');
    need(probs, n * classes, 'crossEntropyBackward: probs');
    need(labels, n, 'crossEntropyBackward: labels');
    checkIds(labels.subarray(0, n), classes, 'crossEntropyBackward');
    if (n === 0) return;
    this.call([gx, probs, labels], [accumulate ? INOUT : OUT, IN, IN], (t, p) =>
      this.split(
        t,
        'crossEntropyBackward',
        [p[0], p[1], p[2], n, classes, scale, +accumulate],
        n,
        n * classes,
      ),
    );
  }

  adamUpdate(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamCoefficients): void {
    const n = w.length;
    need(g, n, 'adamUpdate: g');
    need(m, n, 'adamUpdate: m');
    need(v, n, 'adamUpdate: v');
    // 1 − β is computed here as the TypeScript loop computes it, in float64.
    this.call([w, g, m, v], [INOUT, IN, INOUT, INOUT], ({ exports: e }, p) =>
      e.adamUpdate(
        p[0],
        p[1],
        p[2],
        p[3],
        n,
        c.beta1,
        1 - c.beta1,
        c.beta2,
        1 - c.beta2,
        c.l2,
        c.shrink,
        c.stepSize,
        c.sqrtBias2,
        c.eps,
      ),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Threads

  /**
   * Starts the worker threads now rather than on the first large product; resolves to the
   * number of threads once they are all ready (1 if there are none or they failed).
   */
  async startThreads(): Promise<number> {
    const pool = this.threadCount > 1 ? this.ensurePool() : null;
    if (pool !== null && !(await pool.ready())) this.dropThreads();
    return this.threadCount;
  }

  /** Chunks of products computed so far, and how many by workers (zeros without a pool). */
  threadStats(): { chunks: number; workerChunks: number } {
    return this.pool?.stats() ?? { chunks: 0, workerChunks: 0 };
  }

  /** Stops the worker threads; products then run on the calling thread. Idempotent. */
  close(): void {
    this.pool?.close();
    this.pool = null;
    this.startPool = null;
    this.threadCount = 1;
  }

  /** Bytes of linear memory in use (main instance, and the fallback one if it was needed). */
  memoryBytes(): number {
    return this.main.mem.byteLength + (this.aux?.mem.byteLength ?? 0);
  }

  /** Kernels that use the calling thread's packing workspace as scratch need `floats` of it. */
  private checkWork(floats: number, what: string): void {
    if (floats * 4 > this.main.exports.workBytes()) {
      throw new RangeError(`${what}: needs ${floats} floats of workspace, more than the kernels have`);
    }
  }

  private ensurePool(): GemmPool | null {
    if (this.pool === null && this.startPool) {
      const start = this.startPool;
      this.startPool = null;
      const setup: PoolSetup = {
        instance: this.main.instance,
        ctrl: this.ctrl,
        work: this.work,
        kernels: RANGE_KERNELS,
      };
      this.pool = start(setup, this.threadCount);
      if (this.pool === null) this.dropThreads();
    }
    return this.pool;
  }

  /** After a pool failure: single-threaded from now on, on a fresh memory when possible. */
  private dropThreads(): void {
    this.close();
    if (this.replaceInstance !== null) this.setInstance(this.replaceInstance());
  }

  private setInstance(instance: WasmInstance): void {
    const ex = instance.exports;
    this.ctrl = ex.heapBase();
    const workBytes = align64(ex.workBytes());
    const first = align64(this.ctrl + CTRL_BYTES);
    this.work = Array.from({ length: this.threadCount }, (_, t) => first + t * workBytes);
    const base = first + this.threadCount * workBytes;
    this.main = {
      instance,
      exports: ex,
      mem: new LinearMemory(instance.memory, base),
      work: this.work[0],
      main: true,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Operands

  /**
   * Runs `fn` on the instance that holds the operands (see place), then copies outputs back. If
   * `fn` reports that the worker threads failed, the call is made again on one thread, unless an
   * operand it adds into was partly updated in place (that cannot be undone: it throws).
   */
  private call<R>(
    ops: Array<View | null>,
    modes: number[],
    fn: (t: Target, ptrs: number[]) => R | typeof POOL_FAILED,
  ): R {
    for (;;) {
      const t = this.place(ops, modes);
      const result = fn(t, this.ptrs);
      if (result === POOL_FAILED) {
        const lost = ops.some((x, i) => x !== null && modes[i] === INOUT && t.mem.owns(x));
        this.dropThreads();
        if (lost) {
          throw new Error(
            'wasm kernels: a worker thread failed while adding into wasm-resident storage; the partial ' +
              'result cannot be recovered (the kernels continue on one thread from now on)',
          );
        }
        continue;
      }
      this.finish(t, ops, modes);
      return result;
    }
  }

  /** The pool, when `t` is the main instance and `work` elements are worth sharing; else null. */
  private poolFor(t: Target, work: number): GemmPool | null {
    return t.main && this.threadCount > 1 && work >= MIN_SPLIT_WORK ? this.sharing() : null;
  }

  /** The pool, if there is one and sharing jobs pays off now (GemmPool.shouldShare). */
  private sharing(): GemmPool | null {
    const pool = this.ensurePool();
    return pool?.shouldShare() ? pool : null;
  }

  /**
   * Runs range kernel `name` on args over 0..total (its last two parameters), split across the
   * threads when the work is large: every output element is computed by one thread, with the same
   * arithmetic as on one, so the bits do not depend on the thread count. `workArg`: the index of
   * an argument that is the calling thread's workspace (each thread uses its own).
   */
  private split(t: Target, name: RangeKernel, args: number[], total: number, work: number, workArg = -1) {
    const pool = this.poolFor(t, work);
    const ranges = pool === null ? null : planRanges(total, this.threadCount, work);
    if (pool === null || ranges === null || ranges.length <= 2) {
      (t.exports[name] as unknown as (...a: number[]) => number)(...args, 0, total);
      return undefined;
    }
    return pool.runRanges(KINDS[name], args, ranges, null, workArg) ? undefined : POOL_FAILED;
  }

  /**
   * Sets this.ptrs to the byte offsets of the operands (0 for null ones) and returns the target
   * to run on: the main instance, with operands from elsewhere copied into its scratch, or, when
   * that scratch cannot grow safely, the private instance with every operand copied in.
   */
  private place(ops: Array<View | null>, modes: number[]): Target {
    const main = this.main;
    const ptrs = this.ptrs;
    ptrs.length = ops.length;
    let foreign = 0;
    for (let i = 0; i < ops.length; i++) {
      const x = ops[i];
      if (x === null || x.length === 0) ptrs[i] = 0;
      else if (main.mem.owns(x)) ptrs[i] = x.byteOffset;
      else {
        ptrs[i] = -1;
        if (ops.indexOf(x) === i) foreign += align64(x.byteLength);
      }
    }
    if (foreign === 0) return main;
    const mem = main.mem;
    mem.scratchHighWater = Math.max(mem.scratchHighWater, foreign);
    const base = mem.scratchBase();
    if (base + foreign <= mem.byteLength || mem.canGrow()) {
      mem.ensure(base + foreign);
      this.copyInto(main, ops, modes, base, true);
      return main;
    }
    const aux = this.auxTarget();
    let all = 0;
    for (let i = 0; i < ops.length; i++) {
      const x = ops[i];
      if (x !== null && x.length > 0 && ops.indexOf(x) === i) all += align64(x.byteLength);
    }
    aux.mem.ensure(aux.mem.base + all);
    this.copyInto(aux, ops, modes, aux.mem.base, false);
    return aux;
  }

  /** Lays out operands from `at` on (all of them, or only those marked −1) and copies inputs in. */
  private copyInto(
    t: Target,
    ops: Array<View | null>,
    modes: number[],
    at: number,
    onlyForeign: boolean,
  ): void {
    const ptrs = this.ptrs;
    for (let i = 0; i < ops.length; i++) {
      const x = ops[i];
      if (x === null || x.length === 0 || (onlyForeign && ptrs[i] !== -1)) continue;
      const first = ops.indexOf(x);
      if (first !== i) {
        ptrs[i] = ptrs[first];
        continue;
      }
      ptrs[i] = at;
      at += align64(x.byteLength);
      if (modes[i] !== OUT || writesAgain(ops, modes, x, i)) t.mem.copyIn(x, ptrs[i]);
    }
  }

  /** Copies outputs that do not live in t's memory back out. */
  private finish(t: Target, ops: Array<View | null>, modes: number[]): void {
    const ptrs = this.ptrs;
    for (let i = 0; i < ops.length; i++) {
      const x = ops[i];
      if (x === null || x.length === 0 || modes[i] === IN || ops.indexOf(x) !== i) continue;
      if (t.main && t.mem.owns(x)) continue;
      t.mem.copyOut(x, ptrs[i]);
    }
    // An output listed twice (in place): copied out once, from its first position.
    for (let i = 0; i < ops.length; i++) {
      const x = ops[i];
      if (x === null || x.length === 0 || modes[i] === IN) continue;
      const first = ops.indexOf(x);
      if (first !== i && modes[first] === IN && !(t.main && t.mem.owns(x))) t.mem.copyOut(x, ptrs[i]);
    }
  }

  private auxTarget(): Target {
    if (this.aux === null) {
      const instance = this.auxInstance?.() ?? freshInstance(this.main.instance);
      const ex = instance.exports;
      const work = align64(ex.heapBase());
      const base = align64(work + ex.workBytes());
      this.aux = { instance, exports: ex, mem: new LinearMemory(instance.memory, base), work, main: false };
    }
    return this.aux;
  }
}

/** Whether another position also lists x as read (so an OUT operand must still be copied in). */
function writesAgain(ops: Array<View | null>, modes: number[], x: View, i: number): boolean {
  for (let j = i + 1; j < ops.length; j++) if (ops[j] === x && modes[j] !== OUT) return true;
  return false;
}

/** A new instance of the same module on a memory of its own (same sharedness as the module's import). */
function freshInstance(like: WasmInstance): WasmInstance {
  const shared = isShared(like.memory);
  const memory = shared
    ? new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true })
    : new WebAssembly.Memory({ initial: 1, maximum: 65536 });
  const instance = new WebAssembly.Instance(like.module, { env: { memory } });
  return { module: like.module, memory, exports: instance.exports as unknown as KernelExports };
}

/** Whether a memory is shared (its buffer a SharedArrayBuffer, even where that global is hidden). */
export function isShared(memory: WebAssembly.Memory): boolean {
  return !(memory.buffer instanceof ArrayBuffer);
}

/** The first `length` elements of `x` (no new view when that is all of it). */
function prefix(x: Float32Array, length: number): Float32Array {
  return x.length === length ? x : x.subarray(0, length);
}

/** A row source of `rows` rows per sequence: dense, or looked up (see AttentionSource). */
function checkSource(
  x: AttentionSource,
  batch: number,
  rows: number,
  seq: number,
  dim: number,
  what: string,
): void {
  if (x.ids === null) {
    need(x.rows, batch * rows * dim, what);
    return;
  }
  need(x.ids, batch * seq, `${what} ids`);
  if (x.pos) need(x.pos, seq * dim, `${what} positions`);
  checkIds(x.ids, Math.floor(x.rows.length / dim), what);
}

/** A gradient target has its source's layout. */
function checkGrad(g: AttentionGrad, x: AttentionSource, what: string): void {
  if (g.rows) need(g.rows, x.rows.length, what);
  if (g.pos) {
    if (x.pos === null || x.ids === null)
      throw new RangeError(`${what}: positions gradient without positions`);
    need(g.pos, x.pos.length, `${what} positions`);
  }
}

function need(x: View, length: number, what: string): void {
  if (x.length < length) throw new RangeError(`${what} has ${x.length} elements, needs ${length}`);
}

/** Ids index rows of a table: out-of-range ids would read or write outside it. */
function checkIds(ids: Int32Array, rows: number, op: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < rows)) throw new RangeError(`${op}: id ${id} outside 0..${rows - 1}`);
  }
}
