/**
 * The kernel table: one entry per kernel of src/kernels/assembly, under the name of its export
 * (spec.ts says what an entry holds). Everything else about the kernels is derived from it here:
 * the functions ops call (Loops, ArrayKernels), the wasm exports the loader expects
 * (KernelExports) and the kernels the worker threads share (SHARED_KERNELS).
 *
 * Adding a kernel: write it in AssemblyScript (a file of src/kernels/assembly that index.ts
 * re-exports), then its entry, with its reference, in the file here of the same name (a new file
 * joins KERNELS below). test/engine-kernel-table.test.ts checks that both .wasm builds export
 * exactly the table's kernels with the parameters the entries pass, and that each kernel computes
 * what its reference computes.
 */
import type { Arena } from '../arena.ts';
import type { Data } from '../tensor.ts';
import { type AttentionGrad, type AttentionSource, attentionKernels } from './attention.ts';
import { elementwiseKernels } from './elementwise.ts';
import { embeddingKernels } from './embedding.ts';
import { gemmKernels } from './gemm.ts';
import { lossKernels } from './loss.ts';
import { normKernels } from './norm.ts';
import { optimizerKernels } from './optimizer.ts';
import type { KernelSpec } from './spec.ts';

export const KERNELS = {
  ...gemmKernels,
  ...elementwiseKernels,
  ...embeddingKernels,
  ...attentionKernels,
  ...normKernels,
  ...lossKernels,
  ...optimizerKernels,
} satisfies Record<string, KernelSpec>;

type Table = typeof KERNELS;
export type KernelName = keyof Table;
export const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];

/** The kernels the worker threads share, in the order of their numbers in the pool's protocol. */
export const SHARED_KERNELS: readonly KernelName[] = KERNEL_NAMES.filter(
  (name) => KERNELS[name].threads !== 'none',
);

/** Functions of the module that are not kernels: what the loader needs to lay out memory. */
export const MODULE_FUNCTIONS = ['heapBase', 'workBytes', 'fusedMultiplyAdd'] as const;

/** Every kernel as a function of float arrays, as its reference takes them (float32 or float64). */
export type Loops = { readonly [K in KernelName]: Table[K]['reference'] };

/** A reference's parameter as the wasm kernels take it: float32 where the reference takes either. */
type Float32Param<P> = P extends Data
  ? Float32Array
  : P extends AttentionSource<Data>
    ? AttentionSource
    : P extends AttentionGrad<Data>
      ? AttentionGrad
      : P;
type Float32Params<P extends unknown[]> = { [I in keyof P]: Float32Param<P[I]> };
type Float32Kernel<F extends (...args: never[]) => unknown> = (
  ...args: Float32Params<Parameters<F>>
) => ReturnType<F>;

/**
 * The loops of a training step on float32 arrays (the wasm kernels: their results equal the
 * references' up to float32 rounding), and arenas to keep tensors in. Arrays may be longer than
 * needed; outputs must not overlap inputs unless a kernel says so. Null arguments are absent.
 */
export type ArrayKernels = { readonly [K in KernelName]: Float32Kernel<Table[K]['reference']> } & {
  /** A new arena in the kernels' memory, for a model's activations (arena.ts). */
  newArena(): Arena;
};

/** Every kernel's reference: the loops ops run where the wasm kernels do not. */
export const REFERENCE_LOOPS = Object.fromEntries(
  KERNEL_NAMES.map((name) => [name, KERNELS[name].reference]),
) as Loops;

/** What a wasm build exports: the module functions, and each kernel (numbers in, a number or nothing out). */
export type KernelExports = { readonly [F in (typeof MODULE_FUNCTIONS)[number]]: () => number } & {
  readonly [K in KernelName]: WasmFunction;
};
export type WasmFunction = (...args: number[]) => number | undefined;

export type { AttentionGrad, AttentionSource } from './attention.ts';
export { ACTIVATION_CODES, type KernelActivation } from './elementwise.ts';
export type { AdamCoefficients } from './optimizer.ts';
