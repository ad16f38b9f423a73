/**
 * Kernels on Node: the wasm module read synchronously from src/kernels/groklab.wasm, worker
 * threads (threads.ts), and the default loader behind getKernels(), which follows
 * GROKLAB_KERNELS (js | wasm | auto) and GROKLAB_THREADS (1..16 | auto).
 *
 * Node built-ins come from process.getBuiltinModule (Node ≥ 20.16) rather than `import`, so that
 * this module, which ops/matmul.ts reaches through kernels-default.ts, also bundles for a
 * browser, where registerNodeKernels() does nothing and none of the rest runs.
 */
import {
  checkModule,
  jsKernels,
  type KernelChoice,
  type Kernels,
  memoryImport,
  parseKernelChoice,
  setDefaultKernels,
  unsharedWasmBytes,
  type WasmInstance,
  WasmKernels,
  wasmInstance,
} from './kernels.ts';
import { type PoolOptions, parseThreadCount, startThreadPool } from './threads.ts';

export { parseThreadCount } from './threads.ts';

const WASM_URL = new URL('../kernels/groklab.wasm', import.meta.url);

interface Modules {
  /** As built: memory import shared, for threads. */
  shared: WebAssembly.Module;
  /** Memory import made unshared, for single-threaded instances. */
  unshared: WebAssembly.Module;
  initial: number;
  maximum: number | undefined;
}

let modules: Modules | null = null;
/** Why the wasm kernels could not be loaded, for the error GROKLAB_KERNELS=wasm throws. */
let wasmFailure: string | null = null;

function loadModules(): Modules {
  if (modules === null) {
    const bytes = process.getBuiltinModule('node:fs').readFileSync(WASM_URL);
    const shared = new WebAssembly.Module(bytes);
    checkModule(shared);
    const limits = memoryImport(bytes);
    modules = {
      shared,
      unshared: new WebAssembly.Module(unsharedWasmBytes(bytes)),
      initial: limits?.initial ?? 1,
      maximum: limits?.maximum,
    };
  }
  return modules;
}

function instantiate(shared: boolean): WasmInstance {
  const mods = loadModules();
  const module = shared ? mods.shared : mods.unshared;
  const memory = new WebAssembly.Memory({ initial: mods.initial, maximum: mods.maximum, shared });
  return wasmInstance(module, memory, new WebAssembly.Instance(module, { env: { memory } }));
}

export interface NodeKernelsOptions extends PoolOptions {
  /** Threads for large products and passes, the calling one included (default 1: no workers). */
  threads?: number;
  /** Products of fewer flops stay on the calling thread (default MIN_PARALLEL_FLOPS). */
  minParallelFlops?: number;
}

/**
 * WebAssembly SIMD kernels, or null if they cannot be instantiated (no SIMD support, missing
 * file). Each call returns a new instance with its own memory; the compiled module is shared.
 * With threads > 1 the memory is shared and the workers start on the first large job.
 */
export function wasmKernels(options: NodeKernelsOptions = {}): WasmKernels | null {
  if (wasmFailure !== null) return null;
  const threads = options.threads ?? 1;
  try {
    const auxInstance = () => instantiate(false);
    if (threads === 1) return new WasmKernels(instantiate(false), { auxInstance });
    return new WasmKernels(instantiate(true), {
      threads,
      minParallelFlops: options.minParallelFlops,
      startPool: (setup, count) => startThreadPool(setup, count, options),
      replaceInstance: () => instantiate(false),
      auxInstance,
    });
  } catch (error) {
    wasmFailure = error instanceof Error ? error.message : String(error);
    return null;
  }
}

/** Kernels for a choice: wasm when available under auto; 'wasm' throws if it is not. */
export function kernelsFor(choice: KernelChoice, options: NodeKernelsOptions = {}): Kernels {
  if (choice === 'js') return jsKernels();
  const wasm = wasmKernels(options);
  if (wasm !== null) return wasm;
  if (choice === 'wasm') {
    throw new Error(`GROKLAB_KERNELS=wasm but the WebAssembly SIMD kernels cannot be loaded: ${wasmFailure}`);
  }
  return jsKernels();
}

/** The kernels the environment asks for: GROKLAB_KERNELS and GROKLAB_THREADS (both validated). */
export function kernelsFromEnv(env: Record<string, string | undefined> = process.env): Kernels {
  const choice = parseKernelChoice(env.GROKLAB_KERNELS);
  const threads = parseThreadCount(env.GROKLAB_THREADS);
  return kernelsFor(choice, { threads });
}

/**
 * Makes kernelsFromEnv() the default behind getKernels(), when running on Node (on Node
 * older than 20.16, which lacks process.getBuiltinModule, the default warns and uses the pure
 * TypeScript kernels). Elsewhere does nothing.
 */
export function registerNodeKernels(): void {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  if (proc?.versions?.node === undefined) return;
  if (typeof proc.getBuiltinModule !== 'function') {
    setDefaultKernels(() => {
      console.warn(
        `groklab: Node ${proc.version} lacks process.getBuiltinModule (Node ≥ 20.16): pure TypeScript kernels`,
      );
      return jsKernels();
    });
    return;
  }
  setDefaultKernels(() => kernelsFromEnv());
}
