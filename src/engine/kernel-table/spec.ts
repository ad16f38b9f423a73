/**
 * What one entry of the kernel table says about a kernel:
 * - `reference`: the TypeScript implementation, float64 arithmetic on float32 or float64 arrays.
 *   It is the kernel's contract (its comment is the kernel's documentation), what the ops run
 *   wherever the wasm kernels do not (float64, GROKLAB_KERNELS=js), and what tests hold the wasm
 *   kernel to.
 * - `threads`: whether, and how, the worker threads share a call (Sharing).
 * - `wasm`: how the export of the same name in src/kernels/assembly is called for the
 *   reference's arguments: its arguments, named and in order as in the AssemblyScript, array
 *   arguments marked with how the kernel uses them and how many elements it needs.
 *
 * kernels-wasm.ts derives the wasm kernels from the entries, threads.ts the kernels the workers
 * run; test/engine-kernel-table.test.ts checks the entries against both .wasm builds.
 */

/** The arrays kernels take: float32 data and int32 ids (float64 only in references). */
export type View = Float32Array | Float64Array | Int32Array;

/**
 * How the worker threads share a call of a kernel:
 * - 'ranges': its last two parameters are a range [start, end) of rows, columns or sequences,
 *   each range computing its own outputs (threads.ts hands ranges to threads);
 * - 'tiles': its last four are a rectangle [i0, i1) × [j0, j1) of a product's output (the GEMM);
 * - 'none': one thread makes the call.
 */
export type Sharing = 'none' | 'ranges' | 'tiles';

/** How a kernel uses an array: reads it, writes every element it touches without reading, or both. */
export type Use = 'in' | 'out' | 'inout';

/** An array argument: the kernel gets its byte offset in linear memory (0 when the array is null). */
export class Operand {
  constructor(
    readonly array: View | null,
    readonly use: Use,
    /** Elements the kernel touches (the array may be longer); undefined: not checked. */
    readonly length: number | undefined,
    /** For ids: every one of the first `length` values must lie in 0..below−1. */
    readonly below: number | undefined,
  ) {}
}

/** A float32 array the kernel reads (null: absent, offset 0). */
export const input = (x: View | null, length?: number): Operand => new Operand(x, 'in', length, undefined);
/** A float32 array the kernel writes in full (its contents before do not matter). */
export const output = (x: View | null, length?: number): Operand => new Operand(x, 'out', length, undefined);
/** A float32 array the kernel reads and writes (adds into it). */
export const inout = (x: View | null, length?: number): Operand => new Operand(x, 'inout', length, undefined);
/** Int32 ids (token ids, labels) the kernel reads: indices of rows, each checked to lie below `below`. */
export const ids = (x: Int32Array | null, length: number, below?: number): Operand =>
  new Operand(x, 'in', length, below);

/** The argument that is the calling thread's workspace (its byte offset; each worker passes its own). */
export const WORKSPACE = Symbol('workspace');

/** One argument of a wasm kernel: an array, the workspace, or a number (booleans pass as 0 or 1). */
export type WasmArg = Operand | typeof WORKSPACE | number | boolean;

/** A 'ranges' call: ranges of 0..over; `work` elements touched (whether sharing pays off). */
export interface RangeSplit {
  readonly over: number;
  readonly work: number;
}

/**
 * A 'ranges' call that returns a value: it is made for each of the fixed `blocks` (flattened
 * [start, end) pairs) and the values are summed in block order. The blocks depend on the problem
 * alone, so the sum is the same for any number of threads.
 */
export interface BlockSplit {
  readonly blocks: readonly number[];
  readonly work: number;
}

/** A 'tiles' call: the product's output is rows × cols; `flops` floating-point operations in all. */
export interface TileSplit {
  readonly rows: number;
  readonly cols: number;
  readonly flops: number;
}

type SplitOf<S extends Sharing> = S extends 'ranges'
  ? { readonly split: RangeSplit | BlockSplit }
  : S extends 'tiles'
    ? { readonly split: TileSplit }
    : { readonly split?: undefined };

/** A call of a wasm kernel, made from the reference's arguments by the table entry's `wasm`. */
export type WasmCall<S extends Sharing = Sharing> = SplitOf<S> & {
  /**
   * The export's arguments in parameter order, named as its parameters are; a shared kernel's
   * trailing range (or rectangle) parameters are left out: the caller appends them.
   */
  readonly args: Readonly<Record<string, WasmArg>>;
  /** Floats of the workspace the kernel uses (kernels that take WORKSPACE). */
  readonly workspace?: number;
};

/** Any reference: a function of arrays and numbers. */
export type Reference = (...args: never[]) => unknown;

export interface KernelSpec<F extends Reference = Reference, S extends Sharing = Sharing> {
  readonly reference: F;
  readonly threads: S;
  /**
   * The wasm call for the reference's arguments, after checking what the operands cannot tell
   * (shapes that must divide, aliasing); null when there is nothing to compute (it then finishes
   * trivial cases itself, such as zeroing an output).
   */
  readonly wasm: (...args: Parameters<F>) => WasmCall<S> | null;
}

/** A table entry; typed by its reference, so that `wasm` receives the reference's arguments. */
export function kernel<F extends Reference, S extends Sharing>(spec: KernelSpec<F, S>): KernelSpec<F, S> {
  return spec;
}
