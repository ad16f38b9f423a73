/**
 * The WebAssembly SIMD kernels (either build: src/kernels/groklab-fma.wasm or groklab.wasm): every
 * kernel of the table (kernel-table/), called as its entry says, and shared with worker threads
 * when a call is large.
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
import { CTRL_BYTES, type KernelPool, type PoolSetup } from './kernel-pool.ts';
import {
  type ArrayKernels,
  KERNEL_NAMES,
  KERNELS,
  type KernelName,
  SHARED_KERNELS,
  type WasmFunction,
} from './kernel-table/index.ts';
import {
  type BlockSplit,
  Operand,
  type RangeSplit,
  type TileSplit,
  type Use,
  type View,
  type WasmCall,
  WORKSPACE,
} from './kernel-table/spec.ts';
import type { Kernels } from './kernels.ts';
import { planChunks, planRanges } from './ranges.ts';
import { align64, LinearMemory, WasmArena } from './wasm-memory.ts';
import { type WasmInstance, wasmInstance } from './wasm-module.ts';

/**
 * Below this many flops (2·m·n·k) a product stays on the calling thread: waking a sleeping
 * worker (~50 µs) costs about what it saves up to ~3 MFLOP (~100 µs on one thread).
 */
export const MIN_PARALLEL_FLOPS = 3e6;
/** Least work (elements touched) a 'ranges' kernel is shared for. */
const MIN_SPLIT_WORK = 1 << 17;

/** Each shared kernel's number in the pool's protocol. */
const KINDS = new Map(SHARED_KERNELS.map((name, kind) => [name, kind]));
/** What a call returns when the worker threads failed mid-call. */
const POOL_FAILED = Symbol('pool failed');

export interface WasmKernelsOptions {
  /** Threads (the calling one included) large calls run on: needs a shared memory and startPool. */
  threads?: number;
  /** Starts the pool, lazily on the first large call; null when it cannot (after a warning). */
  startPool?: (setup: PoolSetup, threads: number) => KernelPool | null;
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

/** An instance the kernels run on, with where its workspaces are. */
interface Target {
  readonly instance: WasmInstance;
  readonly mem: LinearMemory;
  /** Workspace of the calling thread. */
  readonly work: number;
  /** The instance arenas live in (false: the private fallback). */
  readonly main: boolean;
}

/** A kernel call made ready from its WasmCall: operands apart, every other argument a number. */
interface Prepared {
  /** The array arguments in order (null: absent), and how the kernel uses each. */
  readonly ops: Array<View | null>;
  readonly uses: Use[];
  /** All arguments; the places of the operands (opAt) and of the workspace (workArg) are filled in per call. */
  readonly args: number[];
  readonly opAt: number[];
  /** −1: none. */
  readonly workArg: number;
}

/**
 * Linear memory: [pool control words | one packing workspace per thread | arenas | scratch],
 * from heapBase() (the module has no static data). With a pool, every thread computes disjoint
 * outputs of a call in place.
 */
export class WasmKernels implements Kernels {
  /** Which build runs: wasm-fma (groklab-fma.wasm) or wasm-simd (groklab.wasm). */
  readonly name: 'wasm-fma' | 'wasm-simd';
  /** Every kernel of the table, on float32 arrays, and arenas in this memory. */
  readonly arrays: ArrayKernels;
  private main!: Target;
  private aux: Target | null = null;
  private threadCount: number;
  private pool: KernelPool | null = null;
  private startPool: WasmKernelsOptions['startPool'] | null;
  private readonly replaceInstance: (() => WasmInstance) | null;
  private readonly auxInstance: (() => WasmInstance) | null;
  private readonly minParallelFlops: number;
  private ctrl = 0;
  private work: number[] = [];
  /** Byte offsets of the current call's operands (reused: one call at a time). */
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
    this.arrays = bindKernels(
      (name, args) => this.run(name, args),
      () => this.newArena(),
    );
  }

  /** Threads large calls run on; drops to 1 if the pool fails. */
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
    this.run('matmul', [a, b, c, m, n, k, transA, transB, accumulate]);
  }

  /** A new arena in this memory (arena.ts). */
  newArena(): Arena {
    return new WasmArena(
      () => this.main.mem,
      (x) => this.arrays.fill(x, 0),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Threads

  /**
   * Starts the worker threads now rather than on the first large call; resolves to the number
   * of threads once they are all ready (1 if there are none or they failed).
   */
  async startThreads(): Promise<number> {
    const pool = this.threadCount > 1 ? this.ensurePool() : null;
    if (pool !== null && !(await pool.ready())) this.dropThreads();
    return this.threadCount;
  }

  /** Chunks of calls computed so far, and how many by workers (zeros without a pool). */
  threadStats(): { chunks: number; workerChunks: number } {
    return this.pool?.stats() ?? { chunks: 0, workerChunks: 0 };
  }

  /** Stops the worker threads; calls then run on the calling thread. Idempotent. */
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

  private ensurePool(): KernelPool | null {
    if (this.pool === null && this.startPool) {
      const start = this.startPool;
      this.startPool = null;
      const setup: PoolSetup = {
        instance: this.main.instance,
        ctrl: this.ctrl,
        work: this.work,
        kernels: SHARED_KERNELS,
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
    this.main = { instance, mem: new LinearMemory(instance.memory, base), work: this.work[0], main: true };
  }

  /** The pool, if this call is worth sharing and sharing pays off now (KernelPool.shouldShare). */
  private poolFor(split: RangeSplit | BlockSplit | TileSplit): KernelPool | null {
    if (this.threadCount === 1) return null;
    const large = 'flops' in split ? split.flops >= this.minParallelFlops : split.work >= MIN_SPLIT_WORK;
    if (!large) return null;
    const pool = this.ensurePool();
    return pool?.shouldShare() ? pool : null;
  }

  // -------------------------------------------------------------------------------------------
  // Calls

  /**
   * Calls kernel `name` with its reference's arguments: the table entry makes the wasm call, the
   * operands are placed (see place), the kernel runs, shared with the workers when it is large,
   * and outputs are copied back. If the workers fail mid-call, the call is made again on one
   * thread, unless an operand it adds into was partly updated in place (that cannot be undone: it
   * throws).
   */
  private run(name: KernelName, reference: readonly unknown[]): unknown {
    // The entry's wasm() takes the reference's arguments, which is what the callers pass.
    const lower = KERNELS[name].wasm as (...args: readonly unknown[]) => WasmCall | null;
    const call = lower(...reference);
    if (call === null) return undefined;
    if (call.workspace !== undefined) this.checkWork(call.workspace, name);
    const p = prepare(name, call);
    const pool = call.split === undefined ? null : this.poolFor(call.split);
    pool?.wake(); // waking overlaps copying the operands in
    for (;;) {
      const t = this.place(p.ops, p.uses);
      for (let i = 0; i < p.opAt.length; i++) p.args[p.opAt[i]] = this.ptrs[i];
      if (p.workArg >= 0) p.args[p.workArg] = t.work;
      const shared = t.main && pool !== null && this.pool === pool ? pool : null;
      const result = this.execute(t.instance.exports[name], name, p, call.split, shared);
      if (result === POOL_FAILED) {
        // A worker failed: its share may be missing, or still being written. Start over on a
        // fresh memory that no worker can reach (every operand is then copied there).
        const lost = p.ops.some((x, i) => x !== null && p.uses[i] === 'inout' && t.mem.owns(x));
        this.dropThreads();
        if (lost) {
          throw new Error(
            'wasm kernels: a worker thread failed while adding into wasm-resident storage; the partial ' +
              'result cannot be recovered (the kernels continue on one thread from now on)',
          );
        }
        continue;
      }
      this.finish(t, p.ops, p.uses);
      return result;
    }
  }

  /**
   * Runs a placed call: whole on the calling thread, or cut into chunks that the pool shares.
   * Every output element is computed by one thread with the arithmetic of the whole call, so the
   * bits do not depend on the thread count.
   */
  private execute(
    fn: WasmFunction,
    name: KernelName,
    p: Prepared,
    split: WasmCall['split'],
    pool: KernelPool | null,
  ): unknown {
    if (split === undefined) return fn(...p.args);
    const kind = KINDS.get(name) as number; // a kernel whose calls split is one the threads share
    if ('flops' in split) return this.byTiles(fn, kind, p, split, pool);
    if ('blocks' in split) return this.byBlocks(fn, kind, p, split, pool);
    return this.byRanges(fn, kind, p, split, pool);
  }

  /** A product, by tiles of its output (ranges.ts planChunks). */
  private byTiles(fn: WasmFunction, kind: number, p: Prepared, split: TileSplit, pool: KernelPool | null) {
    const { rows, cols } = split;
    const tiles = pool === null ? [] : planChunks(rows, cols, this.threadCount);
    if (pool === null || tiles.length <= 4) return fn(...p.args, 0, rows, 0, cols);
    return pool.run(kind, p.args, tiles, 4, null, p.workArg) ? undefined : POOL_FAILED;
  }

  /** A kernel over ranges of 0..over (ranges.ts planRanges). */
  private byRanges(fn: WasmFunction, kind: number, p: Prepared, split: RangeSplit, pool: KernelPool | null) {
    const ranges = pool === null ? [] : planRanges(split.over, this.threadCount, split.work);
    if (pool === null || ranges.length <= 2) return fn(...p.args, 0, split.over);
    return pool.run(kind, p.args, ranges, 2, null, p.workArg) ? undefined : POOL_FAILED;
  }

  /** A kernel called on fixed blocks, whose values are summed in block order. */
  private byBlocks(fn: WasmFunction, kind: number, p: Prepared, split: BlockSplit, pool: KernelPool | null) {
    const blocks = split.blocks;
    const sums = new Float64Array(blocks.length / 2);
    if (pool !== null && blocks.length > 2) {
      if (!pool.run(kind, p.args, blocks, 2, sums, p.workArg)) return POOL_FAILED;
    } else {
      for (let q = 0; q < sums.length; q++) sums[q] = fn(...p.args, blocks[2 * q], blocks[2 * q + 1]) ?? 0;
    }
    let total = 0;
    for (const v of sums) total += v;
    return total;
  }

  /** Kernels that use the calling thread's packing workspace as scratch need `floats` of it. */
  private checkWork(floats: number, kernel: string): void {
    if (floats * 4 > this.main.instance.exports.workBytes()) {
      throw new RangeError(`${kernel}: needs ${floats} floats of workspace, more than the kernels have`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Operands

  /**
   * Sets this.ptrs to the byte offsets of the operands (0 for null ones) and returns the target
   * to run on: the main instance, with operands from elsewhere copied into its scratch, or, when
   * that scratch cannot grow safely, the private instance with every operand copied in.
   */
  private place(ops: Array<View | null>, uses: Use[]): Target {
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
      this.copyInto(main, ops, uses, base, true);
      return main;
    }
    const aux = this.auxTarget();
    let all = 0;
    for (let i = 0; i < ops.length; i++) {
      const x = ops[i];
      if (x !== null && x.length > 0 && ops.indexOf(x) === i) all += align64(x.byteLength);
    }
    aux.mem.ensure(aux.mem.base + all);
    this.copyInto(aux, ops, uses, aux.mem.base, false);
    return aux;
  }

  /** Lays out operands from `at` on (all of them, or only those marked −1) and copies inputs in. */
  private copyInto(t: Target, ops: Array<View | null>, uses: Use[], at: number, onlyForeign: boolean): void {
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
      if (uses[i] !== 'out' || readsAgain(ops, uses, x, i))
        t.mem.copyIn(x as Float32Array | Int32Array, ptrs[i]);
    }
  }

  /** Copies outputs that do not live in t's memory back out. */
  private finish(t: Target, ops: Array<View | null>, uses: Use[]): void {
    const ptrs = this.ptrs;
    for (let i = 0; i < ops.length; i++) {
      const x = ops[i];
      if (x === null || x.length === 0 || uses[i] === 'in' || ops.indexOf(x) !== i) continue;
      if (t.main && t.mem.owns(x)) continue;
      t.mem.copyOut(x as Float32Array | Int32Array, ptrs[i]);
    }
    // An output listed twice (in place): copied out once, from its first position.
    for (let i = 0; i < ops.length; i++) {
      const x = ops[i];
      if (x === null || x.length === 0 || uses[i] === 'in') continue;
      const first = ops.indexOf(x);
      if (first !== i && uses[first] === 'in' && !(t.main && t.mem.owns(x))) {
        t.mem.copyOut(x as Float32Array | Int32Array, ptrs[i]);
      }
    }
  }

  private auxTarget(): Target {
    if (this.aux === null) {
      const instance = this.auxInstance?.() ?? freshInstance(this.main.instance);
      const ex = instance.exports;
      const work = align64(ex.heapBase());
      const base = align64(work + ex.workBytes());
      this.aux = { instance, mem: new LinearMemory(instance.memory, base), work, main: false };
    }
    return this.aux;
  }
}

/**
 * Checks a call's array arguments against what the entry says the kernel touches (before any
 * memory is touched), and lays the call out as numbers.
 */
function prepare(kernel: KernelName, call: WasmCall): Prepared {
  const ops: Array<View | null> = [];
  const uses: Use[] = [];
  const opAt: number[] = [];
  const args: number[] = [];
  let workArg = -1;
  const given = call.args;
  for (const key in given) {
    const value = given[key];
    if (value instanceof Operand) {
      check(kernel, key, value);
      opAt.push(args.length);
      ops.push(value.array);
      uses.push(value.use);
      args.push(0);
    } else if (value === WORKSPACE) {
      workArg = args.length;
      args.push(0);
    } else args.push(+value);
  }
  return { ops, uses, args, opAt, workArg };
}

/** An operand is float32 (or int32 ids), long enough, and its ids index rows that exist. */
function check(kernel: KernelName, key: string, { array, length, below }: Operand): void {
  if (array === null) return;
  if (array instanceof Float64Array)
    throw new TypeError(`${kernel}: ${key} is float64; the kernels take float32`);
  if (length !== undefined && array.length < length) {
    throw new RangeError(`${kernel}: ${key} has ${array.length} elements, needs ${length}`);
  }
  if (below === undefined) return;
  const end = length ?? array.length;
  for (let i = 0; i < end; i++) {
    const id = array[i];
    if (!(id >= 0 && id < below)) throw new RangeError(`${kernel}: id ${id} outside 0..${below - 1}`);
  }
}

/** The table's kernels as functions of float32 arrays, each made by `run`. */
function bindKernels(
  run: (name: KernelName, args: unknown[]) => unknown,
  newArena: () => Arena,
): ArrayKernels {
  const kernels: Record<string, unknown> = { newArena };
  for (const name of KERNEL_NAMES) kernels[name] = (...args: unknown[]) => run(name, args);
  // A function per kernel of the table, taking its reference's arguments: what ArrayKernels lists.
  return kernels as unknown as ArrayKernels;
}

/** Whether another position also lists x as read (so an 'out' operand must still be copied in). */
function readsAgain(ops: Array<View | null>, uses: Use[], x: View, i: number): boolean {
  for (let j = i + 1; j < ops.length; j++) if (ops[j] === x && uses[j] !== 'out') return true;
  return false;
}

/** A new instance of the same module on a memory of its own (same sharedness as the module's import). */
function freshInstance(like: WasmInstance): WasmInstance {
  const shared = isShared(like.memory);
  const memory = shared
    ? new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true })
    : new WebAssembly.Memory({ initial: 1, maximum: 65536 });
  return wasmInstance(like.module, memory, new WebAssembly.Instance(like.module, { env: { memory } }));
}

/** Whether a memory is shared (its buffer a SharedArrayBuffer, even where that global is hidden). */
export function isShared(memory: WebAssembly.Memory): boolean {
  return !(memory.buffer instanceof ArrayBuffer);
}
