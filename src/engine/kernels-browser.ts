/**
 * Kernels from the bytes of a kernel build: how browsers (and any custom loader) get the wasm
 * kernels, single-threaded, or with a thread pool of Web Workers (threads-web.ts).
 */
import type { Kernels } from './kernels.ts';
import { WasmKernels } from './kernels-wasm.ts';
import { MAX_THREADS, type SharedPoolOptions } from './thread-pool.ts';
import { startWebThreadPool } from './threads-web.ts';
import {
  checkModule,
  memoryImport,
  unsharedWasmBytes,
  type WasmInstance,
  wasmInstance,
} from './wasm-module.ts';

export { serveChunksInWebWorker } from './threads-web.ts';

export interface BrowserKernelsOptions extends SharedPoolOptions {
  /**
   * Threads large calls run on, the calling one included (default 1). More than 1 needs
   * createWorker, a cross-origin isolated page, and a calling thread that may block (a Web
   * Worker): else the kernels are single-threaded, with a warning saying why.
   */
  threads?: number;
  /**
   * Makes one worker of the pool: a Web Worker whose script calls serveChunksInWebWorker(), e.g.
   * `() => new Worker(new URL('./chunk-worker.js', import.meta.url), { type: 'module' })`.
   */
  createWorker?: () => Worker;
  /** Where warnings go (why threads are not used, or why the pool stopped); default console.warn. */
  onWarning?: (message: string) => void;
  /** Products of fewer flops (2·m·n·k) stay on the calling thread (default MIN_PARALLEL_FLOPS). */
  minParallelFlops?: number;
}

/** Whether this thread may block in Atomics.wait: a Web Worker may, a page's main thread not. */
function canBlock(): boolean {
  try {
    // Returns 'not-equal' at once where blocking is allowed; throws a TypeError where it is not.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why kernelsFromWasmBytes(bytes, options) would run on one thread although options.threads > 1;
 * null when it can start the pool (its workers may still fail to start: then it warns).
 */
export function webThreadsUnavailable(options: BrowserKernelsOptions): string | null {
  if ((options.threads ?? 1) <= 1) return 'one thread was asked for';
  if (options.createWorker === undefined) return "no createWorker was given to make the pool's workers";
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== true) {
    return (
      'the page is not cross-origin isolated, so it cannot share memory with workers (serve it with ' +
      'Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)'
    );
  }
  if (typeof SharedArrayBuffer === 'undefined') return 'this browser has no SharedArrayBuffer';
  if (!canBlock()) {
    return (
      "this thread may not block in Atomics.wait (a page's main thread may not): make the kernels " +
      'in a Web Worker'
    );
  }
  return null;
}

const defaultWarn = (message: string): void => console.warn(`groklab: ${message}`);

/**
 * Kernels from the bytes of either build (a browser without relaxed SIMD rejects
 * groklab-fma.wasm: WebAssembly.validate tells which to fetch), compiled and instantiated
 * asynchronously. Browser code then calls `useKernels()` with the result.
 *
 * Single-threaded (the default) they run on an unshared memory, which needs no cross-origin
 * isolation. With options.threads > 1 (see BrowserKernelsOptions for what that needs) they run
 * on a shared memory, and the pool's workers are started and ready before this resolves (they
 * cannot start while the calling thread is blocked). Where threads cannot be used, or the
 * workers fail to start, the kernels are single-threaded after a warning; `threads` on the
 * result tells. The results are bit-identical either way.
 */
export async function kernelsFromWasmBytes(
  bytes: BufferSource,
  options: BrowserKernelsOptions = {},
): Promise<Kernels> {
  const threads = options.threads ?? 1;
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new RangeError(`threads must be an integer from 1 to ${MAX_THREADS}, got ${threads}`);
  }
  const warn = options.onWarning ?? defaultWarn;
  const unshared = unsharedWasmBytes(bytes);
  const single = await WebAssembly.compile(unshared);
  checkModule(single);
  const limits = memoryImport(unshared);
  const initial = limits?.initial ?? 1;
  const unsharedMemory = () => new WebAssembly.Memory({ initial, maximum: limits?.maximum });
  const instantiate = async (): Promise<WasmInstance> => {
    const memory = unsharedMemory();
    return wasmInstance(single, memory, await WebAssembly.instantiate(single, { env: { memory } }));
  };
  // Instantiated now: browsers refuse synchronous instantiation of all but tiny modules on a
  // page's main thread.
  const aux = await instantiate();

  const plan = threads > 1 ? threadPlan(bytes, options) : null;
  if (plan === null || typeof plan === 'string') {
    if (plan !== null) warn(`${threads} threads were asked for, but the wasm kernels run on one: ${plan}`);
    return new WasmKernels(await instantiate(), { auxInstance: () => aux });
  }

  // The module as built: its memory import is shared, so that every thread's instance runs on it.
  const module = await WebAssembly.compile(bytes);
  checkModule(module);
  const memory = new WebAssembly.Memory({ initial, maximum: plan.maximum, shared: true });
  const main = wasmInstance(module, memory, await WebAssembly.instantiate(module, { env: { memory } }));
  const kernels = new WasmKernels(main, {
    threads,
    minParallelFlops: options.minParallelFlops,
    startPool: (setup, count) =>
      startWebThreadPool(setup, count, {
        createWorker: plan.createWorker,
        warn,
        adaptive: options.adaptive,
        stallMs: options.stallMs,
      }),
    // Synchronous (the pool failed mid-call): allowed here, since threads run only in a worker.
    replaceInstance: () => {
      const fresh = unsharedMemory();
      return wasmInstance(single, fresh, new WebAssembly.Instance(single, { env: { memory: fresh } }));
    },
    auxInstance: () => aux,
  });
  // Started now: workers cannot start while the calling thread blocks in a kernel call.
  await kernels.startThreads();
  return kernels;
}

/** What threads need (options.threads > 1), or why they cannot be used. */
function threadPlan(
  bytes: BufferSource,
  options: BrowserKernelsOptions,
): { createWorker: () => Worker; maximum: number | undefined } | string {
  const refusal = webThreadsUnavailable(options);
  if (refusal !== null || options.createWorker === undefined) return refusal ?? 'no createWorker';
  const view = ArrayBuffer.isView(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : new Uint8Array(bytes);
  const built = memoryImport(view);
  if (built === null || !built.shared) return "this kernel build's memory import is not shared";
  return { createWorker: options.createWorker, maximum: built.maximum };
}
