import { getKernels } from '../kernel-selection.ts';
import { type ArrayKernels, type Loops, REFERENCE_LOOPS } from '../kernel-table/index.ts';
import type { Data } from '../tensor.ts';

/**
 * The wasm loops when every array is float32 and the wasm kernels are in use; null otherwise
 * (float64, or the JS kernels).
 */
export function arrayKernels(...arrays: Data[]): ArrayKernels | null {
  for (const x of arrays) if (!(x instanceof Float32Array)) return null;
  return getKernels().arrays;
}

/**
 * The loops an op runs on these arrays (and others of their dtype: ops never mix dtypes): the
 * wasm kernels where arrayKernels gives them, else the kernel table's TypeScript references.
 */
export function loopsFor(...arrays: Data[]): Loops {
  // The wasm kernels take only float32 arrays, which is all they are given here.
  return (arrayKernels(...arrays) as Loops | null) ?? REFERENCE_LOOPS;
}
