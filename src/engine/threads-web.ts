/**
 * Worker threads for the wasm kernels in browsers: the thread pool of thread-pool.ts, whose
 * workers are Web Workers made by the page's code (createWorker) and running
 * serveChunksInWebWorker(). Each is sent its setup (the compiled module and the shared memory
 * among it) in its first message and answers 'ready'. kernels-browser.ts starts the pool.
 *
 * Browsers give a worker no exit event, and a worker's 'error' event reaches the calling thread
 * only when it returns to its event loop: a worker that dies mid-chunk is found by the pool's
 * stall timeout, unless it could still say so (threads-worker-loop.mjs).
 */
import type { KernelPool, PoolSetup } from './kernel-pool.ts';
import { type SharedPoolOptions, startPool, type WorkerPlatform, type WorkerSetup } from './thread-pool.ts';
import { serveChunks } from './threads-worker-loop.mjs';

export interface WebPoolOptions extends SharedPoolOptions {
  /** Makes one worker: a Web Worker whose script calls serveChunksInWebWorker(). */
  createWorker: () => Worker;
  /** Where the pool's warnings go. */
  warn: (message: string) => void;
  /** Give up on a worker that is not ready this long after it was made (ms; default 30 000). */
  readyTimeoutMs?: number;
}

/** The text of a worker's 'error' event: an ErrorEvent's message, or a failed load's nothing. */
function errorText(event: Event): string {
  const message = (event as Partial<ErrorEvent>).message;
  return typeof message === 'string' && message !== '' ? message : 'its script failed to load or run';
}

function webPlatform(options: WebPoolOptions): WorkerPlatform {
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  return {
    spawn(setup, index, events) {
      const worker = options.createWorker();
      let ready = false;
      const timer = setTimeout(
        () => events.failed(`worker thread ${index} was not ready after ${readyTimeoutMs} ms`),
        readyTimeoutMs,
      );
      worker.addEventListener('message', (event: MessageEvent) => {
        if (event.data !== 'ready' || ready) return;
        ready = true;
        clearTimeout(timer);
        events.ready();
      });
      worker.addEventListener('error', (event) => {
        clearTimeout(timer);
        event.preventDefault(); // reported as the pool's warning instead
        events.failed(`worker thread ${index} crashed: ${errorText(event)}`);
      });
      worker.addEventListener('messageerror', () => {
        clearTimeout(timer);
        events.failed(`worker thread ${index} could not read a message`);
      });
      try {
        worker.postMessage(setup);
      } catch (error) {
        clearTimeout(timer);
        worker.terminate();
        throw error;
      }
      return {
        terminate: () => {
          clearTimeout(timer);
          worker.terminate();
        },
      };
    },
    warn: options.warn,
  };
}

/**
 * Starts threads-1 Web Workers on setup's shared memory; null (after a warning) if they cannot
 * be started. The calling thread must be able to block in Atomics.wait (a Web Worker, not a
 * page's main thread), and must return to its event loop before the workers can start: await
 * the pool's ready().
 */
export function startWebThreadPool(
  setup: PoolSetup,
  threads: number,
  options: WebPoolOptions,
): KernelPool | null {
  return startPool(setup, threads, webPlatform(options), options);
}

/** What serveChunksInWebWorker needs of the worker's global scope. */
interface WorkerScope {
  addEventListener(
    type: 'message',
    listener: (event: MessageEvent) => void,
    options?: { once?: boolean },
  ): void;
  postMessage(message: unknown): void;
}

/**
 * The body of a thread-pool worker in a browser, called at the top level of its module: takes
 * the setup from the first message, answers 'ready', and serves chunks until the pool stops.
 * Throws if this is not a Web Worker.
 */
export function serveChunksInWebWorker(): void {
  if (!('WorkerGlobalScope' in globalThis) || 'document' in globalThis) {
    throw new Error('serveChunksInWebWorker() must run in a Web Worker (one that createWorker() makes)');
  }
  const scope = globalThis as unknown as WorkerScope;
  scope.addEventListener(
    'message',
    (event) => {
      serveChunks(event.data as WorkerSetup, undefined, { ready: () => scope.postMessage('ready') });
    },
    { once: true },
  );
}
