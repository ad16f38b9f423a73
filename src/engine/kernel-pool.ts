/**
 * The contract between the wasm kernels (kernels-wasm.ts) and the threads that share their calls
 * (thread-pool.ts, with workers from threads.ts on Node and threads-web.ts in browsers). Here so
 * that the kernels need no platform API.
 */
import type { KernelName } from './kernel-table/index.ts';
import type { WasmInstance } from './wasm-module.ts';

/** Where a pool works: an instance on a shared memory and regions reserved for it. */
export interface PoolSetup {
  readonly instance: WasmInstance;
  /** Byte offset of CTRL_BYTES of control words. */
  readonly ctrl: number;
  /** Byte offset of each thread's workspace; work[0] is the calling thread's. */
  readonly work: readonly number[];
  /** Export names of the kernels the threads share; a job names one by its index here. */
  readonly kernels: readonly KernelName[];
}

/** Threads that share kernel calls with the calling thread. */
export interface KernelPool {
  readonly threads: number;
  /**
   * Runs kernel `kind` (PoolSetup.kernels[kind]) on `args` followed by each chunk's `width`
   * numbers (a range: start, end; a tile of a product: i0, i1, j0, j1), `chunks` holding them
   * flattened; the calling thread and the workers share the chunks. Each chunk's return value
   * goes to `results` (if given). Argument `workArg` (if ≥ 0) is a workspace: each thread passes
   * its own. True when done; false if a worker failed (after a warning): outputs may then be
   * partly written and workers may still be writing to the memory, which must be given up.
   * Throws what the calling thread's share throws.
   */
  run(
    kind: number,
    args: readonly number[],
    chunks: readonly number[],
    width: number,
    results: Float64Array | null,
    workArg: number,
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

/** Bytes at heapBase() reserved for the control words of a pool (thread-pool.ts CTRL). */
export const CTRL_BYTES = 4096;
