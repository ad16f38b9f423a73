/**
 * Compute kernels: the float32 matrix product that dominates training time, and (wasm only) the
 * other loops of a training step over float32 arrays (ArrayKernels).
 *
 * Two implementations share one contract: WebAssembly (kernels-wasm.ts, built from
 * src/kernels/assembly by scripts/build-wasm.mjs) and `js`, a pure TypeScript fallback, whose
 * `arrays` is null: the ops then run their own TypeScript loops. The wasm source is built twice:
 * `wasm-fma` (src/kernels/groklab-fma.wasm, relaxed SIMD: fused multiply-adds in the products,
 * used wherever the engine supports it) and `wasm-simd` (src/kernels/groklab.wasm, SIMD128 only).
 * The two round products differently, so their results differ in the last bits. Each is
 * deterministic: the same inputs give bit-identical outputs on every call, and the wasm kernels
 * give the same bits whatever their number of threads.
 *
 * This module runs anywhere (Node, browsers, bundlers): it has no `node:` imports. How kernels
 * are obtained:
 * - Node: `getKernels()` works with no set-up. ops/matmul.ts imports it through
 *   kernels-default.ts, which registers the Node loader (kernels-node.ts: reads the .wasm
 *   synchronously, GROKLAB_KERNELS, GROKLAB_THREADS, worker threads) as the default.
 * - Browser: `useKernels(await kernelsFromWasmBytes(bytes))` once before training;
 *   single-threaded, needs no cross-origin isolation. Without it `getKernels()` falls back to
 *   the pure TypeScript kernels (with a console warning).
 */
import { UsageError } from '../util/errors.ts';
import type { Arena } from './arena.ts';
import { type KernelActivation, WasmKernels } from './kernels-wasm.ts';
import { checkMatmulArgs } from './matmul-args.ts';

export {
  ACTIVATION_CODES,
  CTRL_BYTES,
  type KernelActivation,
  MIN_PARALLEL_FLOPS,
  WasmKernels,
} from './kernels-wasm.ts';

export interface Kernels {
  /** wasm-fma: groklab-fma.wasm (relaxed SIMD); wasm-simd: groklab.wasm (SIMD128); js: TypeScript. */
  readonly name: 'wasm-fma' | 'wasm-simd' | 'js';
  /** Threads a large product runs on, the calling one included (1: single-threaded). */
  readonly threads: number;
  /** The other loops of a training step, and arenas to keep tensors in; null: none (js). */
  readonly arrays: ArrayKernels | null;
  /**
   * C = op(A)·op(B), or C += op(A)·op(B) when accumulate. Row-major, float32.
   * op(A) is m×k (A is stored k×m when transA), op(B) is k×n (B stored n×k when transB).
   * a, b, c may be any Float32Array (views included); c must not alias a or b.
   */
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
  ): void;
}

/**
 * q, k or v rows for the attention kernels: `rows` itself, dense [batch, R, dim] (ids null), or
 * looked up: row (b, r) at absolute position t = seq − R + r is rows[ids[b·seq + t]] + pos[t]
 * (pos may be null), so that embedding-table rows need not be materialized.
 */
export interface AttentionSource {
  rows: Float32Array;
  pos: Float32Array | null;
  ids: Int32Array | null;
}

/** Where an AttentionSource's gradient goes: same layout (rows: dense or table; pos), null: not wanted. */
export interface AttentionGrad {
  rows: Float32Array | null;
  pos: Float32Array | null;
}

/**
 * Float32 loops of the training step besides the matrix product, each the counterpart of the
 * TypeScript loop of an op in ops/ (same meaning, float32 arithmetic, results equal up to
 * rounding). Arrays may be longer than needed; outputs must not overlap inputs unless stated.
 * Null arguments are absent (nothing computed for them).
 */
export interface ArrayKernels {
  /** A new arena in the kernels' memory, for a model's activations (arena.ts). */
  newArena(): Arena;
  fill(x: Float32Array, value: number): void;
  copy(dst: Float32Array, src: Float32Array): void;
  /** dst += src. */
  accumulate(dst: Float32Array, src: Float32Array): void;
  /** pre += bias on each of `rows` rows (if bias), then post = act(pre) (if post; may be pre). */
  biasAct(
    pre: Float32Array,
    post: Float32Array | null,
    bias: Float32Array | null,
    rows: number,
    cols: number,
    activation: KernelActivation,
  ): void;
  /**
   * gx (+)= g·act′(x) over gx.length elements; with `sums`, the elements are `rows` rows and
   * sums[j] += Σ_i (g·act′(x))[i, j] in row order (a bias gradient, as colSums would add it).
   */
  actBackward(
    gx: Float32Array,
    g: Float32Array,
    x: Float32Array,
    activation: KernelActivation,
    accumulate: boolean,
    rows?: number,
    sums?: Float32Array | null,
  ): void;
  /** out[i] = a[i] + b[i mod b.length] over out.length elements. */
  addRepeat(out: Float32Array, a: Float32Array, b: Float32Array): void;
  /** dst[j] (+)= Σ_i src[i, j] of a rows×cols matrix, row by row in order. */
  colSums(dst: Float32Array, src: Float32Array, rows: number, cols: number, accumulate: boolean): void;
  /** See ops/embedding.ts embedRows (pos null: no positional table). */
  embedRows(
    out: Float32Array,
    table: Float32Array,
    pos: Float32Array | null,
    ids: Int32Array,
    batch: number,
    seq: number,
    first: number,
    dim: number,
  ): void;
  /** Adds embedRows' adjoint into gt and gp. */
  embedRowsBackward(
    gt: Float32Array | null,
    gp: Float32Array | null,
    g: Float32Array,
    ids: Int32Array,
    batch: number,
    seq: number,
    first: number,
    dim: number,
  ): void;
  /** See ops/embedding.ts gatherSum. */
  rowSums(
    out: Float32Array,
    table: Float32Array,
    ids: Int32Array,
    batch: number,
    seq: number,
    vocab: number,
    dim: number,
  ): void;
  /** Adds rowSums' adjoint into gt. */
  scatterRowSums(
    gt: Float32Array,
    g: Float32Array,
    ids: Int32Array,
    batch: number,
    seq: number,
    vocab: number,
    dim: number,
  ): void;
  /** See ops/attention.ts; writes out and probs. */
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
  ): void;
  /** Adds the attention gradients into the targets of q, k and v. */
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
  ): void;
  /** See ops/layernorm.ts; writes out, normed and invStd (rows values). */
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
  ): void;
  /** Adds LayerNorm's gradients into gx, gGain, gBias. */
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
  ): void;
  /** Writes probs = softmax(x) per row; returns Σ_r (log Σ_j e^{x[r, j]} − x[r, labels[r]]). */
  crossEntropyForward(
    probs: Float32Array,
    x: Float32Array,
    labels: Int32Array,
    n: number,
    classes: number,
  ): number;
  /** gx (+)= scale·(probs − onehot(labels)), probs from crossEntropyForward. */
  crossEntropyBackward(
    gx: Float32Array,
    probs: Float32Array,
    labels: Int32Array,
    n: number,
    classes: number,
    scale: number,
    accumulate: boolean,
  ): void;
  /** One Adam update of a parameter tensor, in place on w, m and v: see src/train/optimizers.ts. */
  adamUpdate(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamCoefficients): void;
}

/** The per-step constants of an Adam update (src/train/optimizers.ts says how each is made). */
export interface AdamCoefficients {
  beta1: number;
  beta2: number;
  /** Coefficient of the L2 term added to the gradient (0 for decoupled weight decay). */
  l2: number;
  /** Factor of decoupled weight decay, 1 − lr·γ (1 without). */
  shrink: number;
  /** lr / (1 − β1^t). */
  stepSize: number;
  /** √(1 − β2^t). */
  sqrtBias2: number;
  eps: number;
}

// ---------------------------------------------------------------------------------------------
// Pure TypeScript

class JsKernels implements Kernels {
  readonly name = 'js';
  readonly threads = 1;
  readonly arrays = null;
  /** op(B) as a k×n row-major copy when B is transposed; grown, never shrunk. */
  private scratch = new Float32Array(0);

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
    if (!accumulate) c.fill(0, 0, m * n);
    if (m === 0 || n === 0 || k === 0) return;
    const bk = transB ? this.transposed(b, n, k) : b;
    // i-k-j order: inner loops run along rows of op(B) and C. Two rows of C and four steps of
    // k at a time: each loaded B value is used twice, each C value stored a quarter as often.
    const aStep = transA ? m : 1; // from one value of a row of op(A) to the next
    const aRow = transA ? 1 : k; // from one row of op(A) to the next
    const k4 = k - (k % 4);
    let i = 0;
    for (; i + 2 <= m; i += 2) {
      const x = i * aRow;
      const y = x + aRow;
      let p = 0;
      for (; p < k4; p += 4) {
        const px = x + p * aStep;
        const py = y + p * aStep;
        axpy2x4(c, i * n, bk, p * n, n, a, px, py, aStep);
      }
      for (; p < k; p++) {
        axpy1(c, i * n, bk, p * n, n, a[x + p * aStep]);
        axpy1(c, (i + 1) * n, bk, p * n, n, a[y + p * aStep]);
      }
    }
    if (i < m) {
      const x = i * aRow;
      for (let p = 0; p < k; p++) axpy1(c, i * n, bk, p * n, n, a[x + p * aStep]);
    }
  }

  /** B stored n×k, returned as op(B) k×n in the reused scratch buffer. */
  private transposed(b: Float32Array, n: number, k: number): Float32Array {
    if (this.scratch.length < n * k) this.scratch = new Float32Array(n * k);
    const t = this.scratch;
    for (let j = 0; j < n; j++) {
      const bj = j * k;
      for (let p = 0; p < k; p++) t[p * n + j] = b[bj + p];
    }
    return t;
  }
}

/**
 * Rows c0 and c0+n of C += A values · four consecutive rows of B (from b0, n apart). The A
 * values of the two rows start at a[px] and a[py], `step` apart.
 */
function axpy2x4(
  c: Float32Array,
  c0: number,
  b: Float32Array,
  b0: number,
  n: number,
  a: Float32Array,
  px: number,
  py: number,
  step: number,
): void {
  const x0 = a[px];
  const x1 = a[px + step];
  const x2 = a[px + 2 * step];
  const x3 = a[px + 3 * step];
  const y0 = a[py];
  const y1 = a[py + step];
  const y2 = a[py + 2 * step];
  const y3 = a[py + 3 * step];
  const b1 = b0 + n;
  const b2 = b1 + n;
  const b3 = b2 + n;
  const c1 = c0 + n;
  for (let j = 0; j < n; j++) {
    const u0 = b[b0 + j];
    const u1 = b[b1 + j];
    const u2 = b[b2 + j];
    const u3 = b[b3 + j];
    c[c0 + j] += x0 * u0 + x1 * u1 + x2 * u2 + x3 * u3;
    c[c1 + j] += y0 * u0 + y1 * u1 + y2 * u2 + y3 * u3;
  }
}

/** Row c0 of C += a0 · row b0 of B. */
function axpy1(c: Float32Array, c0: number, b: Float32Array, b0: number, n: number, a0: number): void {
  for (let j = 0; j < n; j++) c[c0 + j] += a0 * b[b0 + j];
}

/** Pure TypeScript kernels, always available. */
export function jsKernels(): Kernels {
  return new JsKernels();
}

// ---------------------------------------------------------------------------------------------
// WebAssembly SIMD

/** What src/kernels/assembly/index.ts exports. Offsets are bytes into the imported memory. */
export interface GemmExports {
  heapBase(): number;
  workBytes(): number;
  /** 1: the relaxed-SIMD build (fused multiply-adds in products), 0: the SIMD128 build. */
  fusedMultiplyAdd(): number;
  /** Rows i0..i1 × columns j0..j1 of C = op(A)·op(B) (or +=); see the AssemblyScript source. */
  matmul(
    c: number,
    a: number,
    b: number,
    work: number,
    m: number,
    n: number,
    k: number,
    transA: number,
    transB: number,
    accumulate: number,
    i0: number,
    i1: number,
    j0: number,
    j1: number,
  ): void;
}

/** All of src/kernels/assembly/index.ts's exports: the product and the ArrayKernels loops. */
export interface KernelExports extends GemmExports {
  fill(dst: number, n: number, value: number): void;
  copy(dst: number, src: number, n: number): void;
  accumulate(dst: number, src: number, n: number): void;
  biasAct(
    pre: number,
    post: number,
    bias: number,
    rows: number,
    cols: number,
    act: number,
    r0: number,
    r1: number,
  ): void;
  actBackward(
    gx: number,
    g: number,
    x: number,
    rows: number,
    cols: number,
    act: number,
    accumulate: number,
    sums: number,
    c0: number,
    c1: number,
  ): void;
  addRepeat(out: number, a: number, b: number, n: number, m: number, r0: number, r1: number): void;
  colSums(
    dst: number,
    src: number,
    rows: number,
    cols: number,
    accumulate: number,
    c0: number,
    c1: number,
  ): void;
  embedRows(
    out: number,
    table: number,
    pos: number,
    ids: number,
    batch: number,
    seq: number,
    first: number,
    dim: number,
    b0: number,
    b1: number,
  ): void;
  embedRowsBackward(
    gt: number,
    gp: number,
    g: number,
    ids: number,
    batch: number,
    seq: number,
    first: number,
    dim: number,
  ): void;
  rowSums(
    out: number,
    table: number,
    ids: number,
    batch: number,
    seq: number,
    vocab: number,
    dim: number,
  ): void;
  scatterRowSums(
    gt: number,
    g: number,
    ids: number,
    batch: number,
    seq: number,
    vocab: number,
    dim: number,
  ): void;
  attentionForward(
    out: number,
    probs: number,
    work: number,
    qb: number,
    qp: number,
    qi: number,
    kb: number,
    kp: number,
    ki: number,
    vb: number,
    vp: number,
    vi: number,
    batch: number,
    tq: number,
    seq: number,
    dim: number,
    heads: number,
    b0: number,
    b1: number,
  ): void;
  attentionBackward(
    gqb: number,
    gqp: number,
    gkb: number,
    gkp: number,
    gvb: number,
    gvp: number,
    g: number,
    probs: number,
    work: number,
    qb: number,
    qp: number,
    qi: number,
    kb: number,
    kp: number,
    ki: number,
    vb: number,
    vp: number,
    vi: number,
    batch: number,
    tq: number,
    seq: number,
    dim: number,
    heads: number,
  ): void;
  layerNormForward(
    out: number,
    normed: number,
    invStd: number,
    x: number,
    gain: number,
    bias: number,
    rows: number,
    dim: number,
    eps: number,
    r0: number,
    r1: number,
  ): void;
  layerNormBackward(
    gx: number,
    gGain: number,
    gBias: number,
    g: number,
    normed: number,
    invStd: number,
    gain: number,
    rows: number,
    dim: number,
  ): void;
  crossEntropyForward(
    probs: number,
    x: number,
    labels: number,
    n: number,
    classes: number,
    r0: number,
    r1: number,
  ): number;
  crossEntropyBackward(
    gx: number,
    probs: number,
    labels: number,
    n: number,
    classes: number,
    scale: number,
    accumulate: number,
    r0: number,
    r1: number,
  ): void;
  adamUpdate(
    w: number,
    g: number,
    m: number,
    v: number,
    n: number,
    beta1: number,
    c1: number,
    beta2: number,
    c2: number,
    l2: number,
    shrink: number,
    stepSize: number,
    sqrtBias2: number,
    eps: number,
  ): void;
}

/** Names of the functions either kernel build must export. */
const KERNEL_EXPORTS = [
  'heapBase',
  'workBytes',
  'matmul',
  'fill',
  'copy',
  'accumulate',
  'biasAct',
  'actBackward',
  'addRepeat',
  'colSums',
  'embedRows',
  'embedRowsBackward',
  'rowSums',
  'scatterRowSums',
  'attentionForward',
  'attentionBackward',
  'layerNormForward',
  'layerNormBackward',
  'crossEntropyForward',
  'crossEntropyBackward',
  'adamUpdate',
  'fusedMultiplyAdd',
] as const;

/** The module instantiated on a memory (its import env.memory). */
export interface WasmInstance {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly exports: KernelExports;
}

/** One product for a GemmPool: byte offsets into the shared memory, sizes, flags. */
export interface GemmJob {
  c: number;
  a: number;
  b: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  accumulate: boolean;
}

/** Where a GemmPool works: an instance on a shared memory and regions reserved for it. */
export interface PoolSetup {
  readonly instance: WasmInstance;
  /** Byte offset of CTRL_BYTES of control words. */
  readonly ctrl: number;
  /** Byte offset of each thread's workspace; work[0] is the calling thread's. */
  readonly work: readonly number[];
  /** Export names of the range kernels, kind 1, 2, … (kernels-wasm.ts RANGE_KERNELS). */
  readonly kernels: readonly string[];
}

/**
 * Threads that share products with the calling thread (src/engine/threads.ts on Node). The
 * interface lives here so that this module needs no Node API.
 */
export interface GemmPool {
  readonly threads: number;
  /**
   * Computes `job` with the calling thread and the workers; true when done. False if a worker
   * failed (after a warning): C may then be partly written and workers may still be writing
   * to the memory, which must be given up. Throws what the calling thread's share throws.
   */
  run(job: GemmJob): boolean;
  /**
   * Runs range kernel `kind` (PoolSetup.kernels[kind − 1]) on `args` and each [start, end) of
   * `ranges` (flattened pairs), the calling thread and the workers sharing the ranges; each range's
   * return value goes to `results` (if given). Argument `workArg` (if ≥ 0) is a workspace: each
   * thread passes its own. True when done; false as for run().
   */
  runRanges(
    kind: number,
    args: readonly number[],
    ranges: readonly number[],
    results: Float64Array | null,
    workArg?: number,
  ): boolean;
  /** Wakes sleeping workers ahead of run(), so that waking overlaps copying the operands in. */
  wake(): void;
  /**
   * Whether sharing jobs pays off now (false while the workers get too little CPU to help: jobs
   * then run on the calling thread alone, with the same results).
   */
  shouldShare(): boolean;
  /** Resolves once every worker is ready (false if the pool failed first). */
  ready(): Promise<boolean>;
  /** Chunks computed so far: all of them, and those computed by workers. */
  stats(): { chunks: number; workerChunks: number };
  /** Stops the workers. */
  close(): void;
}

export interface WasmKernelsOptions {
  /** Threads (the calling one included) large products run on: needs a shared memory and startPool. */
  threads?: number;
  /** Starts the pool, lazily on the first large product; null when it cannot (after a warning). */
  startPool?: (setup: PoolSetup, threads: number) => GemmPool | null;
  /** A fresh single-threaded instance on its own memory, used once the pool failed. */
  replaceInstance?: () => WasmInstance;
  /**
   * A single-threaded instance on its own unshared memory, for calls whose operands do not fit
   * the main memory without growing it under live arena views (made on first need; default: the
   * main module instantiated synchronously).
   */
  auxInstance?: () => WasmInstance;
  /** Products of fewer flops (2·m·n·k) stay on the calling thread. */
  minParallelFlops?: number;
}

/** Checks what the module exports and imports; throws an Error naming what is missing. */
export function checkModule(module: WebAssembly.Module): void {
  const exported = new Set(
    WebAssembly.Module.exports(module)
      .filter((e) => e.kind === 'function')
      .map((e) => e.name),
  );
  for (const name of KERNEL_EXPORTS) {
    if (!exported.has(name)) throw new Error(`wasm kernels: module does not export ${name}()`);
  }
  const imports = WebAssembly.Module.imports(module);
  if (imports.length !== 1 || imports[0].module !== 'env' || imports[0].name !== 'memory') {
    throw new Error('wasm kernels: module must import env.memory and nothing else');
  }
}

/** The exports of a module instantiated on `memory` (which must suit its memory import). */
export function wasmInstance(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  instance: WebAssembly.Instance,
): WasmInstance {
  return { module, memory, exports: instance.exports as unknown as KernelExports };
}

/** The memory import of a module: its limits and where its flags byte is. */
export interface MemoryImport {
  /** Byte offset of the limits flags (bit 0: has a maximum, bit 1: shared). */
  flagsAt: number;
  shared: boolean;
  /** Pages. */
  initial: number;
  maximum: number | undefined;
}

/** Finds the memory import in a wasm binary (null if it has none); throws on malformed input. */
export function memoryImport(bytes: Uint8Array): MemoryImport | null {
  let at = 8;
  const u32 = (): number => {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (at >= bytes.length) throw new Error('wasm kernels: truncated module');
      const byte = bytes[at++];
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
    }
    throw new Error('wasm kernels: malformed LEB128 in module');
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = u32();
    const end = at + size;
    if (id !== 2) {
      at = end;
      continue;
    }
    for (let count = u32(); count > 0; count--) {
      for (let name = 0; name < 2; name++) {
        const length = u32(); // module name, then field name
        at += length;
      }
      const kind = bytes[at++];
      if (kind === 0x02) {
        const flagsAt = at;
        const flags = bytes[at++];
        const initial = u32();
        const maximum = flags & 1 ? u32() : undefined;
        return { flagsAt, shared: (flags & 2) !== 0, initial, maximum };
      }
      if (kind === 0x00) u32();
      else if (kind === 0x01) {
        at++; // reference type
        const flags = bytes[at++];
        u32();
        if (flags & 1) u32();
      } else if (kind === 0x03) at += 2;
      else if (kind === 0x04) {
        at++;
        u32();
      } else throw new Error(`wasm kernels: unknown import kind ${kind}`);
    }
    return null;
  }
  return null;
}

/**
 * A copy of the module bytes whose memory import is not shared. The committed module declares
 * a shared memory for the worker threads; a single-threaded instance does better with an
 * unshared one, which needs no cross-origin isolation in browsers and copies operands in ~3×
 * faster. The module uses no atomic instruction, so the change is safe.
 */
export function unsharedWasmBytes(bytes: BufferSource): Uint8Array<ArrayBuffer> {
  const view = ArrayBuffer.isView(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : new Uint8Array(bytes);
  const copy = new Uint8Array(view);
  const memory = memoryImport(copy);
  if (memory?.shared) copy[memory.flagsAt] &= ~2;
  return copy;
}

/**
 * For browsers / custom loading: single-threaded kernels from the bytes of either build (a browser
 * without relaxed SIMD rejects groklab-fma.wasm: WebAssembly.validate tells which to fetch),
 * compiled and instantiated asynchronously, on an unshared memory (so no cross-origin
 * isolation is needed). Browser code then calls `useKernels()` with the result.
 */
export async function kernelsFromWasmBytes(bytes: BufferSource): Promise<Kernels> {
  const unshared = unsharedWasmBytes(bytes);
  const module = await WebAssembly.compile(unshared);
  checkModule(module);
  const limits = memoryImport(unshared);
  const instantiate = async (): Promise<WasmInstance> => {
    const memory = new WebAssembly.Memory({ initial: limits?.initial ?? 1, maximum: limits?.maximum });
    return wasmInstance(module, memory, await WebAssembly.instantiate(module, { env: { memory } }));
  };
  const main = await instantiate();
  // Instantiated now: browsers refuse synchronous instantiation of all but tiny modules.
  const aux = await instantiate();
  return new WasmKernels(main, { auxInstance: () => aux });
}

// ---------------------------------------------------------------------------------------------
// Selection

/**
 * auto: the best wasm build the engine runs, else js; wasm: the same, but an error if no wasm
 * build runs; wasm-simd: the SIMD128 build even where relaxed SIMD is available (to reproduce the
 * bits of an engine without it); js: TypeScript.
 */
export type KernelChoice = 'auto' | 'js' | 'wasm' | 'wasm-simd';

/** Parses GROKLAB_KERNELS: unset or empty means auto; anything but a KernelChoice is a usage error. */
export function parseKernelChoice(value: string | undefined): KernelChoice {
  const v = value?.trim().toLowerCase() ?? '';
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'js' || v === 'wasm' || v === 'wasm-simd') return v;
  throw new UsageError({
    field: 'GROKLAB_KERNELS',
    message: `must be js, wasm, wasm-simd or auto, got '${value}'`,
  });
}

let current: Kernels | null = null;
let defaultLoader: (() => Kernels) | null = null;

/** Makes `kernels` what getKernels() returns from now on (in a browser: after kernelsFromWasmBytes). */
export function useKernels(kernels: Kernels): void {
  current = kernels;
}

/**
 * Registers how getKernels() makes its kernels when useKernels() was not called. On Node,
 * kernels-node.ts registers its loader (GROKLAB_KERNELS, GROKLAB_THREADS) when kernels-default.ts
 * is imported.
 */
export function setDefaultKernels(loader: () => Kernels): void {
  defaultLoader = loader;
}

/**
 * The kernels matrix products use: those given to useKernels(), else the registered default
 * loader's (made once), else the pure TypeScript kernels with a console warning.
 */
export function getKernels(): Kernels {
  if (current === null) {
    if (defaultLoader !== null) current = defaultLoader();
    else {
      console.warn(
        'groklab: no wasm kernels registered, using the pure TypeScript ones; in a browser call ' +
          'useKernels(await kernelsFromWasmBytes(bytes)) first, on Node import src/engine/kernels-default.ts',
      );
      current = jsKernels();
    }
  }
  return current;
}
