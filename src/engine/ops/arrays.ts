import type { ArrayKernels } from '../kernels.ts';
import { getKernels } from '../kernels-default.ts';
import type { Data } from '../tensor.ts';

/**
 * The wasm loops when every array is float32 and the wasm kernels are in use; null otherwise
 * (float64, or the JS kernels), and the op runs its TypeScript loop instead.
 */
export function arrayKernels(...arrays: Data[]): ArrayKernels | null {
  for (const x of arrays) if (!(x instanceof Float32Array)) return null;
  return getKernels().arrays;
}
