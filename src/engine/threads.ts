/**
 * Worker threads for the wasm kernels (Node only; see kernels-node.ts): the matrix product, and
 * the other kernels whose work splits into ranges of rows or columns (GemmPool.runRanges).
 *
 * Every thread runs an instance of the same compiled module on the same shared memory. A
 * product is cut into chunks, disjoint rectangles of C: bands of rows when m ≥ n, else bands of
 * columns (each chunk packs its own blocks of op(B), resp. op(A): cutting the larger side of C
 * repeats the smaller amount of packing). Chunks are claimed dynamically by the calling thread
 * and the workers, so a thread slowed down by other work on the machine takes fewer. Every
 * element of C is computed by one thread with the k-blocking of the whole product, so the
 * result is bit-identical for any number of threads (src/kernels/assembly/index.ts).
 *
 * A range kernel (KIND ≥ 1: bias and activation passes, column sums, look-ups, attention,
 * LayerNorm, cross-entropy; kernels-wasm.ts RANGE_KERNELS) is cut the same way into ranges of
 * rows, columns or sequences (planRanges), each computing its own outputs with the arithmetic of
 * the single-threaded call; values summed across rows (the cross-entropy total) are summed per
 * range of a size fixed by the problem alone, then in range order. So these too give the same
 * bits for any number of threads.
 *
 * Synchronization is by Atomics on control words in the shared memory (no message per call):
 * - TICKET = generation << 11 | chunks left. The caller writes the job (PARAMS, the chunk table
 *   at TABLE), then publishes a new generation with all chunks left and notifies. A thread
 *   claims chunk r-1 by compare-and-swap of r → r-1 and only then reads the job: a successful
 *   claim proves the job is still the current one (the caller rewrites the job only once all
 *   chunks are finished).
 * - FINISHED counts finished chunks; whoever finishes the last one notifies the caller, which
 *   waits for it after claiming what it could.
 * Idle workers spin briefly, then sleep in Atomics.wait on TICKET.
 *
 * Workers are started lazily (the first product large enough), are unref()'d so they never keep
 * the process alive, and die with it. A worker that throws reports it in ERROR; one that dies
 * or stops making progress (STALL) is detected by the caller's timed wait. Either way the pool
 * is closed with a warning and the job is computed again single-threaded on a fresh memory
 * (kernels-wasm.ts; unless it was adding into wasm-resident storage in place, which cannot be
 * redone: that throws).
 *
 * Node built-ins come from process.getBuiltinModule rather than `import`: this module is
 * reachable from kernels-default.ts, which browser bundles include (where it is never run).
 */
import type { Worker } from 'node:worker_threads';
import { UsageError } from '../util/errors.ts';
import { CTRL_BYTES, type GemmJob, type GemmPool, type KernelExports, type PoolSetup } from './kernels.ts';
import { MAX_CHUNKS } from './ranges.ts';

/** Indices of the control words (Int32) at PoolSetup.ctrl; shared with threads-worker.mjs. */
export const CTRL = {
  TICKET: 0,
  FINISHED: 1,
  /** 1 once a worker caught an exception, 2 once one is exiting (possibly mid-chunk). */
  ERROR: 2,
  /** Non-zero: workers return. */
  STOP: 3,
  /** Chunks computed by workers (statistics). */
  WORKER_CHUNKS: 4,
  /** c, a, b, m, n, k, transA, transB, accumulate, chunk count. */
  PARAMS: 8,
  /** 0: a product (PARAMS); k ≥ 1: the kernel named RANGE_KERNELS[k − 1], on ARGS. */
  KIND: 18,
  /** How many ARGS the kernel takes before its range. */
  ARGC: 19,
  /** Index of the argument each thread replaces with its own workspace (−1: none). */
  WORK_ARG: 20,
  /** i0, i1, j0, j1 of each chunk (a range kernel: start, end). */
  TABLE: 32,
  /** Float64 index of the range kernel's arguments. */
  ARGS_F64: 320,
  /** Float64 index of each chunk's return value (range kernels that return one). */
  RESULTS_F64: 352,
  INTS: CTRL_BYTES / 4,
} as const;

/** Most arguments a range kernel takes before its range (ARGS_F64 … RESULTS_F64). */
export const MAX_ARGS = 32;

/** Jobs are shared only while they run at least this many times faster than on one thread. */
const MIN_SPEEDUP = 1.15;
/** Wall time of shared jobs over which their speed-up is judged (ms). */
const SPEEDUP_WINDOW_MS = 40;
/** How long jobs stay on the calling thread once sharing did not pay off (ms). */
const SOLO_MS = 2000;

/** Bits of TICKET holding the chunks left; the generation is above them. */
export const REM_BITS = 11;
const REM_MASK = (1 << REM_BITS) - 1;
const GEN_MASK = (1 << (31 - REM_BITS)) - 1;
/** Chunks per thread: several, so that a slowed thread leaves its share to the others. */
const CHUNKS_PER_THREAD = 4;

export { MAX_CHUNKS } from './ranges.ts';
/** Most threads GROKLAB_THREADS may ask for; the default is one per core, at most 8. */
export const MAX_THREADS = 16;
const DEFAULT_MAX_THREADS = 8;
/**
 * How long an idle worker, or the caller waiting for the last chunks, polls before sleeping in
 * Atomics.wait (µs): waking a sleeping thread costs ~50 µs here, which polling saves when
 * products come back to back. Longer would burn a core during the other work of a step.
 */
const SPIN_US = 100;

// Micro-tile of the wasm kernel (src/kernels/assembly/params.ts): chunks are cut on multiples.
const MR = 4;
const NR = 8;
/** Smallest chunk: packing cost is repeated per chunk, so chunks must not be thin. */
const MIN_ROWS = 32;
const MIN_COLS = 64;

/** Default thread count: one per available core, at most 8. */
export function defaultThreadCount(): number {
  const os = process.getBuiltinModule('node:os');
  return Math.max(1, Math.min(DEFAULT_MAX_THREADS, os.availableParallelism()));
}

/** Parses GROKLAB_THREADS: unset, empty or 'auto' is the default; else an integer 1..MAX_THREADS. */
export function parseThreadCount(value: string | undefined): number {
  const v = value?.trim().toLowerCase() ?? '';
  if (v === '' || v === 'auto') return defaultThreadCount();
  const t = /^[0-9]+$/.test(v) ? Number(v) : Number.NaN;
  if (t >= 1 && t <= MAX_THREADS) return t;
  throw new UsageError({
    field: 'GROKLAB_THREADS',
    message: `must be an integer from 1 to ${MAX_THREADS} or auto (one per core, at most ${DEFAULT_MAX_THREADS}), got '${value}'`,
  });
}

/**
 * Cuts the m×n output into chunks for `threads` threads: [i0, i1, j0, j1] per chunk, flattened.
 * Bands of rows when m ≥ n (on multiples of MR), else of columns (multiples of NR).
 */
export function planChunks(m: number, n: number, threads: number): number[] {
  const byRows = m >= n;
  const size = byRows ? m : n;
  const unit = byRows ? MR : NR;
  const count = Math.max(
    1,
    Math.min(threads * CHUNKS_PER_THREAD, MAX_CHUNKS, Math.floor(size / (byRows ? MIN_ROWS : MIN_COLS))),
  );
  const out: number[] = [];
  let start = 0;
  for (let q = 1; q <= count; q++) {
    const end = q === count ? size : Math.round((q * size) / count / unit) * unit;
    if (end <= start) continue;
    if (byRows) out.push(start, end, 0, n);
    else out.push(0, m, start, end);
    start = end;
  }
  return out;
}

export interface PoolOptions {
  /**
   * Run jobs on the calling thread alone while sharing them does not pay off (shouldShare;
   * default true). Tests that need the workers to take part turn it off.
   */
  adaptive?: boolean;
  /** Give up on the workers when no chunk finishes for this long (ms). */
  stallMs?: number;
  /**
   * Tests only: make workers fail on their first chunk (throw, exit, or never finish it), or
   * take 20 ms more over each chunk (slow: as on a machine whose cores are busy).
   */
  fault?: 'throw' | 'exit' | 'hang' | 'slow';
}

const WORKER_URL = new URL('./threads-worker.mjs', import.meta.url);

/**
 * Starts threads-1 workers on setup's shared memory; null (after a warning) if they cannot be
 * started.
 */
export function startThreadPool(
  setup: PoolSetup,
  threads: number,
  options: PoolOptions = {},
): GemmPool | null {
  try {
    return new ThreadPool(setup, threads, options);
  } catch (error) {
    warn(`cannot start worker threads (${error instanceof Error ? error.message : String(error)})`);
    return null;
  }
}

function warn(reason: string): void {
  process.emitWarning(`the wasm kernels continue on one thread: ${reason}`, { code: 'GROKLAB_THREADS' });
}

class ThreadPool implements GemmPool {
  readonly threads: number;
  private readonly ctrl: Int32Array;
  /** A range kernel's arguments, and each chunk's return value (views of the control words). */
  private readonly args: Float64Array;
  private readonly results: Float64Array;
  private readonly setup: PoolSetup;
  private readonly stallMs: number;
  private readonly adaptive: boolean;
  private readonly workers: Worker[] = [];
  private readonly readyPromise: Promise<boolean>;
  private generation = 0;
  private chunksRun = 0;
  /** Speed-up accounting (shouldShare): one-thread work and wall time of recent jobs, in ms. */
  private windowWork = 0;
  private windowWall = 0;
  private soloUntil = 0;
  /** Why the pool stopped; null while it works. */
  private failure: string | null = null;
  private closed = false;

  constructor(setup: PoolSetup, threads: number, options: PoolOptions) {
    const { Worker } = process.getBuiltinModule('node:worker_threads');
    const memory = setup.instance.memory;
    if (memory.buffer instanceof ArrayBuffer) throw new Error('the wasm memory is not shared');
    this.threads = threads;
    this.setup = setup;
    this.stallMs = options.stallMs ?? 10_000;
    this.adaptive = options.adaptive ?? true;
    this.ctrl = new Int32Array(memory.buffer, setup.ctrl, CTRL.INTS);
    this.ctrl.fill(0);
    this.args = new Float64Array(memory.buffer, setup.ctrl + CTRL.ARGS_F64 * 8, MAX_ARGS);
    this.results = new Float64Array(memory.buffer, setup.ctrl + CTRL.RESULTS_F64 * 8, MAX_CHUNKS);
    const ready: Array<Promise<boolean>> = [];
    try {
      for (let t = 1; t < threads; t++) {
        const worker = new Worker(WORKER_URL, {
          workerData: {
            module: setup.instance.module,
            memory,
            ctrl: setup.ctrl,
            work: setup.work[t],
            layout: CTRL,
            kernels: setup.kernels,
            remBits: REM_BITS,
            spinMs: SPIN_US / 1000,
            fault: options.fault ?? null,
          },
          // The worker is plain JavaScript: no loader (tsx) to boot, whatever the parent runs with.
          execArgv: [],
        });
        worker.unref();
        this.workers.push(worker);
        ready.push(
          new Promise<boolean>((resolve) => {
            worker.once('message', () => resolve(true));
            worker.once('exit', () => resolve(false));
          }),
        );
        worker.on('error', (error) => this.fail(`worker thread ${t} crashed: ${error.message}`));
        worker.on('exit', (code) => this.fail(`worker thread ${t} exited (code ${code})`));
      }
    } catch (error) {
      this.close();
      throw error;
    }
    this.readyPromise = Promise.all(ready).then((all) => all.every(Boolean) && this.failure === null);
  }

  ready(): Promise<boolean> {
    return this.readyPromise;
  }

  stats(): { chunks: number; workerChunks: number } {
    return { chunks: this.chunksRun, workerChunks: Atomics.load(this.ctrl, CTRL.WORKER_CHUNKS) };
  }

  wake(): void {
    if (this.failure === null) Atomics.notify(this.ctrl, CTRL.TICKET);
  }

  run(job: GemmJob): boolean {
    if (this.failure !== null) return false;
    const ctrl = this.ctrl;
    const exports = this.setup.instance.exports;
    const work = this.setup.work[0];
    const { c, a, b, m, n, k } = job;
    const [tA, tB, acc] = [+job.transA, +job.transB, +job.accumulate];
    const table = planChunks(m, n, this.threads);
    if (table.length === 4) {
      this.chunksRun++;
      exports.matmul(c, a, b, work, m, n, k, tA, tB, acc, 0, m, 0, n);
      return true;
    }
    // The previous job is complete (run returns only then), so no thread reads these now.
    const p = CTRL.PARAMS;
    ctrl[p] = c;
    ctrl[p + 1] = a;
    ctrl[p + 2] = b;
    ctrl[p + 3] = m;
    ctrl[p + 4] = n;
    ctrl[p + 5] = k;
    ctrl[p + 6] = tA;
    ctrl[p + 7] = tB;
    ctrl[p + 8] = acc;
    ctrl[CTRL.KIND] = 0;
    ctrl.set(table, CTRL.TABLE);
    return this.dispatch(table.length / 4, (q) => {
      const t = CTRL.TABLE + 4 * q;
      exports.matmul(c, a, b, work, m, n, k, tA, tB, acc, ctrl[t], ctrl[t + 1], ctrl[t + 2], ctrl[t + 3]);
    });
  }

  runRanges(
    kind: number,
    args: readonly number[],
    ranges: readonly number[],
    results: Float64Array | null,
    workArg = -1,
  ): boolean {
    if (this.failure !== null) return false;
    const name = this.setup.kernels[kind - 1];
    if (name === undefined || args.length > MAX_ARGS)
      throw new RangeError(`runRanges: no kernel ${kind} of ${args.length} arguments`);
    const chunks = ranges.length / 2;
    if (chunks > MAX_CHUNKS) throw new RangeError(`runRanges: ${chunks} ranges, at most ${MAX_CHUNKS}`);
    const ctrl = this.ctrl;
    const fn = this.setup.instance.exports[name as keyof KernelExports] as unknown as (
      ...a: number[]
    ) => number;
    ctrl[CTRL.KIND] = kind;
    ctrl[CTRL.ARGC] = args.length;
    ctrl[CTRL.WORK_ARG] = workArg;
    this.args.set(args);
    for (let q = 0; q < chunks; q++) {
      ctrl[CTRL.TABLE + 4 * q] = ranges[2 * q];
      ctrl[CTRL.TABLE + 4 * q + 1] = ranges[2 * q + 1];
    }
    const done = this.dispatch(chunks, (q) => {
      const t = CTRL.TABLE + 4 * q;
      this.results[q] = fn(...args, ctrl[t], ctrl[t + 1]) ?? 0;
    });
    if (done && results !== null) results.set(this.results.subarray(0, chunks));
    return done;
  }

  /**
   * Publishes a job of `chunks` chunks (described in the control words), computes chunks with
   * `local` alongside the workers, and waits for all of them; false if the pool failed.
   */
  private dispatch(chunks: number, local: (q: number) => void): boolean {
    const ctrl = this.ctrl;
    this.chunksRun += chunks;
    ctrl[CTRL.PARAMS + 9] = chunks;
    Atomics.store(ctrl, CTRL.FINISHED, 0);
    this.generation = (this.generation + 1) & GEN_MASK;
    let ticket = (this.generation << REM_BITS) | chunks;
    Atomics.store(ctrl, CTRL.TICKET, ticket);
    Atomics.notify(ctrl, CTRL.TICKET);

    // Claim chunks alongside the workers.
    const start = performance.now();
    let localTime = 0;
    let localChunks = 0;
    let thrown: unknown = null;
    for (;;) {
      const left = ticket & REM_MASK;
      if (left === 0) break;
      const seen = Atomics.compareExchange(ctrl, CTRL.TICKET, ticket, ticket - 1);
      if (seen !== ticket) {
        ticket = seen;
        continue;
      }
      ticket--;
      if (thrown === null) {
        const t0 = performance.now();
        try {
          local(left - 1);
        } catch (error) {
          thrown = error; // rethrown once the workers are done with this job
        }
        localTime += performance.now() - t0;
        localChunks++;
      }
      Atomics.add(ctrl, CTRL.FINISHED, 1);
    }
    const done = this.awaitFinished(chunks);
    if (done && localChunks > 0) this.observe((localTime / localChunks) * chunks, performance.now() - start);
    if (thrown !== null) {
      if (!done) this.close();
      throw thrown;
    }
    if (!done) return false;
    const error = Atomics.load(ctrl, CTRL.ERROR);
    if (error !== 0) {
      this.fail(error === 1 ? 'a worker thread threw' : 'a worker thread exited');
      return false;
    }
    return true;
  }

  /**
   * Whether sharing jobs pays off now. On a machine whose cores are taken by other processes the
   * workers get little CPU: a job then waits for them, and their spinning takes CPU from the
   * calling thread. When the jobs of the last SPEEDUP_WINDOW_MS ran less than MIN_SPEEDUP times
   * faster than the calling thread alone would have run them, jobs stay on the calling thread for
   * SOLO_MS (the kernels' results are the same either way), then sharing is tried again.
   */
  shouldShare(): boolean {
    return this.failure === null && (!this.adaptive || performance.now() >= this.soloUntil);
  }

  /** Accounts a finished job: `work` ms on one thread (estimated), done in `wall` ms. */
  private observe(work: number, wall: number): void {
    this.windowWork += work;
    this.windowWall += wall;
    if (this.windowWall < SPEEDUP_WINDOW_MS) return;
    if (this.windowWork < MIN_SPEEDUP * this.windowWall) this.soloUntil = performance.now() + SOLO_MS;
    this.windowWork = 0;
    this.windowWall = 0;
  }

  /** Waits until `chunks` chunks are finished; false (pool failed) if progress stalls. */
  private awaitFinished(chunks: number): boolean {
    const ctrl = this.ctrl;
    let finished = Atomics.load(ctrl, CTRL.FINISHED);
    const start = performance.now();
    for (let i = 1; finished < chunks; i++) {
      if (i % 64 === 0 && performance.now() - start > SPIN_US / 1000) break;
      finished = Atomics.load(ctrl, CTRL.FINISHED);
    }
    let last = finished;
    let since = start;
    while (finished < chunks) {
      // Timed: a worker killed from outside never notifies, and its exit event cannot run
      // while we block.
      Atomics.wait(ctrl, CTRL.FINISHED, finished, 100);
      finished = Atomics.load(ctrl, CTRL.FINISHED);
      const now = performance.now();
      if (finished < chunks && Atomics.load(ctrl, CTRL.ERROR) === 2) {
        this.fail('a worker thread exited');
        return false;
      }
      if (finished !== last) {
        last = finished;
        since = now;
      } else if (now - since > this.stallMs) {
        this.fail(`no progress from the worker threads for ${Math.round(now - since)} ms`);
        return false;
      }
    }
    return true;
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.failure = reason;
    warn(reason);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failure ??= 'closed';
    Atomics.store(this.ctrl, CTRL.STOP, 1);
    Atomics.notify(this.ctrl, CTRL.TICKET);
    for (const worker of this.workers) void worker.terminate();
  }
}
