/**
 * Kernels on Node: the wasm module read synchronously from src/kernels (groklab-fma.wasm where
 * this V8 runs relaxed SIMD, else groklab.wasm), worker threads (threads.ts), and Node's default
 * kernels behind getKernels(), which follow GROKLAB_KERNELS (js | wasm | wasm-simd | auto) and
 * GROKLAB_THREADS (1..16 | auto).
 *
 * Node built-ins come from process.getBuiltinModule (Node ≥ 20.16) rather than `import`, so that
 * this module, which every op reaches through the kernel selection, also bundles for a browser,
 * where nodeDefaultKernels() returns null and none of the rest runs.
 */
import { UsageError } from '../util/errors.ts';
import type { Kernels } from './kernels.ts';
import { jsKernels } from './kernels-js.ts';
import { WasmKernels } from './kernels-wasm.ts';
import { type PoolOptions, parseThreadCount, startThreadPool } from './threads.ts';
import {
  checkModule,
  memoryImport,
  unsharedWasmBytes,
  type WasmInstance,
  wasmInstance,
} from './wasm-module.ts';

export { parseThreadCount } from './threads.ts';

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

/** The two builds of src/kernels/assembly (scripts/build-wasm.mjs). */
const WASM_URLS = {
  fma: new URL('../kernels/groklab-fma.wasm', import.meta.url),
  simd: new URL('../kernels/groklab.wasm', import.meta.url),
};
type WasmBuild = keyof typeof WASM_URLS;

interface Modules {
  /** As built: memory import shared, for threads. */
  shared: WebAssembly.Module;
  /** Memory import made unshared, for single-threaded instances. */
  unshared: WebAssembly.Module;
  initial: number;
  maximum: number | undefined;
}

const modules = new Map<WasmBuild, Modules>();
/** Why the wasm kernels could not be loaded, for the error GROKLAB_KERNELS=wasm throws. */
let wasmFailure: string | null = null;
let fmaRuns: boolean | null = null;

/**
 * Whether this V8 runs the relaxed-SIMD build. Node 20's V8 (11.3) has relaxed SIMD behind a
 * flag, on by default from V8 11.4 (Node 22): the flag is set only where it is needed, and it only
 * widens what the engine accepts.
 */
function fmaBuildRuns(): boolean {
  if (fmaRuns === null) {
    const bytes = process.getBuiltinModule('node:fs').readFileSync(WASM_URLS.fma);
    fmaRuns = WebAssembly.validate(bytes);
    if (!fmaRuns) {
      process.getBuiltinModule('node:v8').setFlagsFromString('--experimental-wasm-relaxed-simd');
      fmaRuns = WebAssembly.validate(bytes);
    }
  }
  return fmaRuns;
}

function loadModules(build: WasmBuild): Modules {
  let mods = modules.get(build);
  if (mods === undefined) {
    const bytes = process.getBuiltinModule('node:fs').readFileSync(WASM_URLS[build]);
    const shared = new WebAssembly.Module(bytes);
    checkModule(shared);
    const limits = memoryImport(bytes);
    mods = {
      shared,
      unshared: new WebAssembly.Module(unsharedWasmBytes(bytes)),
      initial: limits?.initial ?? 1,
      maximum: limits?.maximum,
    };
    modules.set(build, mods);
  }
  return mods;
}

function instantiate(build: WasmBuild, shared: boolean): WasmInstance {
  const mods = loadModules(build);
  const module = shared ? mods.shared : mods.unshared;
  const memory = new WebAssembly.Memory({ initial: mods.initial, maximum: mods.maximum, shared });
  return wasmInstance(module, memory, new WebAssembly.Instance(module, { env: { memory } }));
}

export interface NodeKernelsOptions extends PoolOptions {
  /** Threads for large products and passes, the calling one included (default 1: no workers). */
  threads?: number;
  /** Products of fewer flops stay on the calling thread (default MIN_PARALLEL_FLOPS). */
  minParallelFlops?: number;
  /** The SIMD128 build even where the relaxed-SIMD one runs (default false). */
  simd128Only?: boolean;
}

/**
 * WebAssembly SIMD kernels, or null if they cannot be instantiated (no SIMD support, missing
 * file): the relaxed-SIMD build where it runs (unless simd128Only), else the SIMD128 one. Each
 * call returns a new instance with its own memory; the compiled module is shared. With
 * threads > 1 the memory is shared and the workers start on the first large job.
 */
export function wasmKernels(options: NodeKernelsOptions = {}): WasmKernels | null {
  if (wasmFailure !== null) return null;
  const threads = options.threads ?? 1;
  try {
    const build: WasmBuild = !options.simd128Only && fmaBuildRuns() ? 'fma' : 'simd';
    const auxInstance = () => instantiate(build, false);
    if (threads === 1) return new WasmKernels(instantiate(build, false), { auxInstance });
    return new WasmKernels(instantiate(build, true), {
      threads,
      minParallelFlops: options.minParallelFlops,
      startPool: (setup, count) => startThreadPool(setup, count, options),
      replaceInstance: () => instantiate(build, false),
      auxInstance,
    });
  } catch (error) {
    wasmFailure = error instanceof Error ? error.message : String(error);
    return null;
  }
}

/** Kernels for a choice: wasm when available under auto; 'wasm' and 'wasm-simd' throw if it is not. */
export function kernelsFor(choice: KernelChoice, options: NodeKernelsOptions = {}): Kernels {
  if (choice === 'js') return jsKernels();
  const wasm = wasmKernels({ ...options, simd128Only: choice === 'wasm-simd' });
  if (wasm !== null) return wasm;
  if (choice !== 'auto') {
    throw new Error(
      `GROKLAB_KERNELS=${choice} but the WebAssembly SIMD kernels cannot be loaded: ${wasmFailure}`,
    );
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
 * The kernels getKernels() uses by default on Node: kernelsFromEnv() (on Node older than 20.16,
 * which lacks process.getBuiltinModule, the pure TypeScript kernels with a warning); null
 * elsewhere.
 */
export function nodeDefaultKernels(): Kernels | null {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  if (proc?.versions?.node === undefined) return null;
  if (typeof proc.getBuiltinModule !== 'function') {
    console.warn(
      `groklab: Node ${proc.version} lacks process.getBuiltinModule (Node ≥ 20.16): pure TypeScript kernels`,
    );
    return jsKernels();
  }
  return kernelsFromEnv();
}
