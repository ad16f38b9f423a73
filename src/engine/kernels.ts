/**
 * Compute kernels: the float32 matrix product that dominates training time, and (wasm only) the
 * other loops of a training step over float32 arrays (ArrayKernels). This module is their public
 * face; each job has a module of its own:
 *
 *   kernel-table/        one entry per kernel: its TypeScript reference and how its wasm export
 *                        is called; the rest below is derived from it
 *   kernels-wasm.ts      the WebAssembly kernels at run time (memory, operands, threads)
 *   kernels-js.ts        the pure TypeScript kernels (the product only)
 *   kernels-node.ts      loading on Node (the .wasm read from disk, GROKLAB_KERNELS, threads)
 *   kernels-browser.ts   loading from bytes (browsers), threaded in a cross-origin isolated Web Worker
 *   kernel-selection.ts  which kernels getKernels() returns
 *   wasm-module.ts       checking and reading the compiled module
 *   thread-pool.ts       the pool that shares kernel calls among threads (Node and browsers)
 *   threads.ts           its worker threads on Node (worker_threads)
 *   threads-web.ts       its workers in a browser (Web Workers; serveChunksInWebWorker)
 *
 * Two implementations share one contract: WebAssembly (built from src/kernels/assembly by
 * scripts/build-wasm.mjs) and `js`, whose `arrays` is null: the ops then run the kernel table's
 * references. The wasm source is built twice: `wasm-fma` (src/kernels/groklab-fma.wasm, relaxed
 * SIMD: fused multiply-adds in the products, used wherever the engine supports it) and `wasm-simd`
 * (src/kernels/groklab.wasm, SIMD128 only). The two round products differently, so their results
 * differ in the last bits. Each is deterministic: the same inputs give bit-identical outputs on
 * every call, and the wasm kernels give the same bits whatever their number of threads.
 *
 * How kernels are obtained: `getKernels()` works with no set-up on Node (kernel-selection.ts);
 * in a browser, `useKernels(await kernelsFromWasmBytes(bytes, { threads, createWorker }))` once
 * before training: threaded inside a Web Worker of a cross-origin isolated page, else on one
 * thread (the lab, web/lab, does this); without it, the pure TypeScript kernels.
 *
 * Runs anywhere (Node, browsers, bundlers): no module here imports `node:` at run time.
 */
import type { ArrayKernels } from './kernel-table/index.ts';

export interface Kernels {
  /** wasm-fma: groklab-fma.wasm (relaxed SIMD); wasm-simd: groklab.wasm (SIMD128); js: TypeScript. */
  readonly name: 'wasm-fma' | 'wasm-simd' | 'js';
  /** Threads a large call runs on, the calling one included (1: single-threaded). */
  readonly threads: number;
  /** The other loops of a training step, and arenas to keep tensors in; null: none (js). */
  readonly arrays: ArrayKernels | null;
  /**
   * C = op(A)·op(B), or C += op(A)·op(B) when accumulate. Row-major, float32.
   * op(A) is m×k (A is stored k×m when transA), op(B) is k×n (B stored n×k when transB).
   * a, b, c may be any Float32Array (views included); c must not alias a or b.
   */
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
  ): void;
}

export { CTRL_BYTES, type KernelPool, type PoolSetup } from './kernel-pool.ts';
export { getKernels, useKernels, withKernels } from './kernel-selection.ts';
export {
  ACTIVATION_CODES,
  type AdamCoefficients,
  type ArrayKernels,
  type AttentionGrad,
  type AttentionSource,
  type KernelActivation,
  type KernelExports,
} from './kernel-table/index.ts';
export { kernelsFromWasmBytes } from './kernels-browser.ts';
export { jsKernels } from './kernels-js.ts';
export { type KernelChoice, parseKernelChoice } from './kernels-node.ts';
export { MIN_PARALLEL_FLOPS, WasmKernels, type WasmKernelsOptions } from './kernels-wasm.ts';
export {
  checkModule,
  type MemoryImport,
  memoryImport,
  unsharedWasmBytes,
  type WasmInstance,
  wasmInstance,
} from './wasm-module.ts';
