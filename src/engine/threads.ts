/**
 * Worker threads for the wasm kernels on Node (see kernels-node.ts): the thread pool of
 * thread-pool.ts, whose workers are node:worker_threads running threads-worker.mjs (the chunk
 * loop of threads-worker-loop.mjs). Browsers have their own face, threads-web.ts.
 *
 * Workers are started lazily (the first call large enough), are unref()'d so they never keep the
 * process alive, and die with it. A worker that exits mid-chunk says so in the control words
 * (its 'exit' hook), so the caller need not wait for the stall timeout.
 *
 * Node built-ins come from process.getBuiltinModule rather than `import`: this module is
 * reachable from the kernel selection, which browser bundles include (where it is never run).
 */
import { UsageError } from '../util/errors.ts';
import type { KernelPool, PoolSetup } from './kernel-pool.ts';
import { MAX_THREADS, type SharedPoolOptions, startPool, type WorkerPlatform } from './thread-pool.ts';

export { MAX_CHUNKS, planChunks } from './ranges.ts';
export { CTRL, MAX_ARGS, MAX_THREADS, REM_BITS } from './thread-pool.ts';

/** The default number of threads is one per core, at most this; GROKLAB_THREADS may ask for up to MAX_THREADS. */
const DEFAULT_MAX_THREADS = 8;

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

export interface PoolOptions extends SharedPoolOptions {
  /**
   * The module each worker runs instead of threads-worker.mjs: one that runs the same loop
   * (threads-worker-loop.mjs) with something added, as tests do to make workers fail
   * (test/engine-fault-worker.mjs); `settings` reaches it as workerData.settings.
   */
  worker?: { url: URL; settings?: unknown };
}

const WORKER_URL = new URL('./threads-worker.mjs', import.meta.url);

/** Node's workers: worker_threads given their setup as workerData, warnings as process warnings. */
function nodePlatform(options: PoolOptions): WorkerPlatform {
  return {
    spawn(setup, index, events) {
      const { Worker } = process.getBuiltinModule('node:worker_threads');
      const worker = new Worker(options.worker?.url ?? WORKER_URL, {
        workerData: { ...setup, settings: options.worker?.settings },
        // The worker is plain JavaScript: no loader (tsx) to boot, whatever the parent runs with.
        execArgv: [],
      });
      worker.unref();
      worker.once('message', () => events.ready());
      worker.on('error', (error) => events.failed(`worker thread ${index} crashed: ${error.message}`));
      worker.on('exit', (code) => events.failed(`worker thread ${index} exited (code ${code})`));
      return { terminate: () => void worker.terminate() };
    },
    warn(message) {
      process.emitWarning(message, { code: 'GROKLAB_THREADS' });
    },
  };
}

/**
 * Starts threads-1 worker threads on setup's shared memory; null (after a warning) if they
 * cannot be started.
 */
export function startThreadPool(
  setup: PoolSetup,
  threads: number,
  options: PoolOptions = {},
): KernelPool | null {
  return startPool(setup, threads, nodePlatform(options), options);
}
