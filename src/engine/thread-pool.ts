/**
 * The thread pool of the wasm kernels, on any platform: it shares the calls of the kernels whose
 * table entry says how (kernel-table/spec.ts Sharing), the product by tiles of its output, the
 * other loops by ranges of rows, columns or sequences. How workers are made and talk back is the
 * platform's part (WorkerPlatform): Node's worker_threads in threads.ts, Web Workers in
 * threads-web.ts. Everything else is here. Browser-safe.
 *
 * Every thread runs an instance of the same compiled module on the same shared memory. A call is
 * cut into chunks (ranges.ts): disjoint tiles of a product's C (bands of rows when m ≥ n, else of
 * columns), or ranges that each compute their own outputs with the arithmetic of the
 * single-threaded call; values summed across rows (the cross-entropy total) are summed per block
 * of a size fixed by the problem alone, then in block order. Chunks are claimed dynamically by the
 * calling thread and the workers, so a thread slowed down by other work on the machine takes
 * fewer. Every output element is computed by one thread the way one thread computes it, so the
 * results are bit-identical for any number of threads (src/kernels/assembly/gemm.ts).
 *
 * Synchronization is by Atomics on control words in the shared memory (no message per call):
 * - TICKET = generation << 11 | chunks left. The caller writes the job (KIND, ARGS, the chunk
 *   table at TABLE), then publishes a new generation with all chunks left and notifies. A thread
 *   claims chunk r-1 by compare-and-swap of r → r-1 and only then reads the job: a successful
 *   claim proves the job is still the current one (the caller rewrites the job only once all
 *   chunks are finished).
 * - FINISHED counts finished chunks; whoever finishes the last one notifies the caller, which
 *   waits for it after claiming what it could.
 * Idle workers spin briefly, then sleep in Atomics.wait on TICKET (threads-worker-loop.mjs).
 *
 * A worker that throws reports it in ERROR; one that dies mid-chunk says so in ERROR where its
 * platform lets it (Node), and one that dies silently or stops making progress (STALL) is found
 * by the caller's timed wait: the platform's events (a crash, an exit) cannot reach a caller
 * blocked in Atomics.wait. Either way the pool is closed with a warning and the call is made
 * again single-threaded on a fresh memory (kernels-wasm.ts; unless it was adding into
 * wasm-resident storage in place, which cannot be redone: that throws).
 */
import { CTRL_BYTES, type KernelPool, type PoolSetup } from './kernel-pool.ts';
import type { KernelName, WasmFunction } from './kernel-table/index.ts';
import { MAX_CHUNKS } from './ranges.ts';

/** Indices of the control words (Int32) at PoolSetup.ctrl; shared with threads-worker-loop.mjs. */
export const CTRL = {
  TICKET: 0,
  FINISHED: 1,
  /** 1 once a worker caught an exception, 2 once one is exiting (possibly mid-chunk). */
  ERROR: 2,
  /** Non-zero: workers return. */
  STOP: 3,
  /** Chunks computed by workers (statistics). */
  WORKER_CHUNKS: 4,
  /** Chunks of the current job. */
  CHUNKS: 5,
  /** The job's kernel: PoolSetup.kernels[KIND]. */
  KIND: 6,
  /** How many ARGS the kernel takes before a chunk's numbers. */
  ARGC: 7,
  /** Index of the argument each thread replaces with its own workspace (−1: none). */
  WORK_ARG: 8,
  /** Numbers per chunk: 2 (a range: start, end) or 4 (a tile: i0, i1, j0, j1). */
  WIDTH: 9,
  /** Each chunk's numbers, 4 places per chunk. */
  TABLE: 32,
  /** Float64 index of the kernel's arguments. */
  ARGS_F64: 320,
  /** Float64 index of each chunk's return value (kernels that return one). */
  RESULTS_F64: 352,
  INTS: CTRL_BYTES / 4,
} as const;

/** Most threads a pool may have (its chunks: at most 4 per thread, MAX_CHUNKS in all). */
export const MAX_THREADS = 16;

/** Most arguments a kernel takes before a chunk's numbers (ARGS_F64 … RESULTS_F64). */
export const MAX_ARGS = 32;

/** Bits of TICKET holding the chunks left; the generation is above them. */
export const REM_BITS = 11;
const REM_MASK = (1 << REM_BITS) - 1;
const GEN_MASK = (1 << (31 - REM_BITS)) - 1;

/** Jobs are shared only while they run at least this many times faster than on one thread. */
const MIN_SPEEDUP = 1.15;
/** Wall time of shared jobs over which their speed-up is judged (ms). */
const SPEEDUP_WINDOW_MS = 40;
/** How long jobs stay on the calling thread once sharing did not pay off (ms). */
const SOLO_MS = 2000;
/**
 * How long an idle worker, or the caller waiting for the last chunks, polls before sleeping in
 * Atomics.wait (µs): waking a sleeping thread costs ~50 µs here, which polling saves when
 * products come back to back. Longer would burn a core during the other work of a step.
 */
const SPIN_US = 100;

/**
 * What a worker is given to serve the pool (serveChunks in threads-worker-loop.mjs): structured-
 * cloneable, so that it travels as Node's workerData or in a Web Worker's first message.
 */
export interface WorkerSetup {
  /** The compiled module, whose memory import is shared. */
  readonly module: WebAssembly.Module;
  /** The shared memory the calling thread's instance runs on. */
  readonly memory: WebAssembly.Memory;
  /** Byte offset of the control words. */
  readonly ctrl: number;
  /** Byte offset of this worker's own workspace. */
  readonly work: number;
  readonly layout: typeof CTRL;
  readonly kernels: readonly KernelName[];
  readonly remBits: number;
  /** How long an idle worker polls before sleeping (ms). */
  readonly spinMs: number;
}

/** What a platform's worker tells the pool, from the calling thread's event loop. */
export interface WorkerEvents {
  /** The worker serves chunks. */
  ready(): void;
  /** The worker crashed or exited: why, for the warning. */
  failed(reason: string): void;
}

/** A started worker, as far as the pool needs it. */
export interface ChunkWorker {
  terminate(): void;
}

/** The part of a pool that differs between Node and browsers. */
export interface WorkerPlatform {
  /**
   * Starts worker `index` (1 … threads-1) serving `setup`; it reports through `events`. Throws
   * if it cannot be started.
   */
  spawn(setup: WorkerSetup, index: number, events: WorkerEvents): ChunkWorker;
  /** Gives a warning to the user (the pool's failures). */
  warn(message: string): void;
}

export interface SharedPoolOptions {
  /**
   * Run jobs on the calling thread alone while sharing them does not pay off (shouldShare;
   * default true). Tests that need the workers to take part turn it off.
   */
  adaptive?: boolean;
  /** Give up on the workers when no chunk finishes for this long (ms; default 10 000). */
  stallMs?: number;
}

/** The warning given when the pool stops for `reason`. */
export function oneThreadWarning(reason: string): string {
  return `the wasm kernels continue on one thread: ${reason}`;
}

/**
 * Starts threads-1 workers on setup's shared memory; null (after a warning) if they cannot be
 * started.
 */
export function startPool(
  setup: PoolSetup,
  threads: number,
  platform: WorkerPlatform,
  options: SharedPoolOptions = {},
): KernelPool | null {
  try {
    return new ThreadPool(setup, threads, platform, options);
  } catch (error) {
    platform.warn(
      oneThreadWarning(
        `cannot start worker threads (${error instanceof Error ? error.message : String(error)})`,
      ),
    );
    return null;
  }
}

class ThreadPool implements KernelPool {
  readonly threads: number;
  private readonly ctrl: Int32Array;
  /** A job's arguments, and each chunk's return value (views of the control words). */
  private readonly args: Float64Array;
  private readonly results: Float64Array;
  /** The calling thread's functions of the shared kernels, by kind. */
  private readonly kernels: WasmFunction[];
  private readonly stallMs: number;
  private readonly adaptive: boolean;
  private readonly platform: WorkerPlatform;
  private readonly workers: ChunkWorker[] = [];
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

  constructor(setup: PoolSetup, threads: number, platform: WorkerPlatform, options: SharedPoolOptions) {
    const memory = setup.instance.memory;
    if (memory.buffer instanceof ArrayBuffer) throw new Error('the wasm memory is not shared');
    this.threads = threads;
    this.platform = platform;
    this.kernels = setup.kernels.map((name) => setup.instance.exports[name]);
    this.stallMs = options.stallMs ?? 10_000;
    this.adaptive = options.adaptive ?? true;
    this.ctrl = new Int32Array(memory.buffer, setup.ctrl, CTRL.INTS);
    this.ctrl.fill(0);
    this.args = new Float64Array(memory.buffer, setup.ctrl + CTRL.ARGS_F64 * 8, MAX_ARGS);
    this.results = new Float64Array(memory.buffer, setup.ctrl + CTRL.RESULTS_F64 * 8, MAX_CHUNKS);
    const ready: Array<Promise<boolean>> = [];
    try {
      for (let t = 1; t < threads; t++) {
        ready.push(
          new Promise<boolean>((resolve) => {
            const events: WorkerEvents = {
              ready: () => resolve(true),
              failed: (reason) => {
                resolve(false);
                this.fail(reason);
              },
            };
            const workerSetup: WorkerSetup = {
              module: setup.instance.module,
              memory,
              ctrl: setup.ctrl,
              work: setup.work[t],
              layout: CTRL,
              kernels: setup.kernels,
              remBits: REM_BITS,
              spinMs: SPIN_US / 1000,
            };
            this.workers.push(platform.spawn(workerSetup, t, events));
          }),
        );
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

  run(
    kind: number,
    args: readonly number[],
    chunks: readonly number[],
    width: number,
    results: Float64Array | null,
    workArg: number,
  ): boolean {
    if (this.failure !== null) return false;
    const fn = this.kernels[kind];
    if (fn === undefined || args.length > MAX_ARGS)
      throw new RangeError(`run: no kernel ${kind} of ${args.length} arguments`);
    const count = chunks.length / width;
    if (count > MAX_CHUNKS) throw new RangeError(`run: ${count} chunks, at most ${MAX_CHUNKS}`);
    // The previous job is complete (run returns only then), so no thread reads these now.
    const ctrl = this.ctrl;
    ctrl[CTRL.KIND] = kind;
    ctrl[CTRL.ARGC] = args.length;
    ctrl[CTRL.WORK_ARG] = workArg;
    ctrl[CTRL.WIDTH] = width;
    this.args.set(args);
    for (let q = 0; q < count; q++) {
      for (let i = 0; i < width; i++) ctrl[CTRL.TABLE + 4 * q + i] = chunks[width * q + i];
    }
    const done = this.dispatch(count, (q) => {
      const own = chunks.slice(width * q, width * (q + 1));
      this.results[q] = fn(...args, ...own) ?? 0;
    });
    if (done && results !== null) results.set(this.results.subarray(0, count));
    return done;
  }

  /**
   * Publishes a job of `chunks` chunks (described in the control words), computes chunks with
   * `local` alongside the workers, and waits for all of them; false if the pool failed.
   */
  private dispatch(chunks: number, local: (q: number) => void): boolean {
    const ctrl = this.ctrl;
    this.chunksRun += chunks;
    ctrl[CTRL.CHUNKS] = chunks;
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
    this.platform.warn(oneThreadWarning(reason));
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failure ??= 'closed';
    Atomics.store(this.ctrl, CTRL.STOP, 1);
    Atomics.notify(this.ctrl, CTRL.TICKET);
    for (const worker of this.workers) worker.terminate();
  }
}
