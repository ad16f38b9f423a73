// Types of threads-worker-loop.mjs (plain JavaScript, so that workers boot without a loader).
import type { WasmFunction } from './kernel-table/index.ts';
import type { WorkerSetup } from './thread-pool.ts';

/** How a worker talks to its platform. */
export interface ChunkWorkerIo {
  /** Tells the pool the worker serves chunks. */
  ready(): void;
  /** Runs `hook` when the thread exits, where the platform has such an event. */
  onExit?(hook: () => void): void;
}

/** A Node worker thread's io: 'ready' to parentPort, the process's 'exit' event. */
export function nodeWorkerIo(): ChunkWorkerIo;

/** Serves the pool until it stops (see threads-worker-loop.mjs). */
export function serveChunks(
  data: WorkerSetup,
  wrapKernel?: (kernel: WasmFunction, name: string) => WasmFunction,
  io?: ChunkWorkerIo,
): void;
