/** Kernels from the bytes of a kernel build: how browsers (and any custom loader) get the wasm kernels. */
import type { Kernels } from './kernels.ts';
import { WasmKernels } from './kernels-wasm.ts';
import {
  checkModule,
  memoryImport,
  unsharedWasmBytes,
  type WasmInstance,
  wasmInstance,
} from './wasm-module.ts';

/**
 * For browsers / custom loading: single-threaded kernels from the bytes of either build (a browser
 * without relaxed SIMD rejects groklab-fma.wasm: WebAssembly.validate tells which to fetch),
 * compiled and instantiated asynchronously, on an unshared memory (so no cross-origin
 * isolation is needed). Browser code then calls `useKernels()` with the result.
 */
export async function kernelsFromWasmBytes(bytes: BufferSource): Promise<Kernels> {
  const unshared = unsharedWasmBytes(bytes);
  const module = await WebAssembly.compile(unshared);
  checkModule(module);
  const limits = memoryImport(unshared);
  const instantiate = async (): Promise<WasmInstance> => {
    const memory = new WebAssembly.Memory({ initial: limits?.initial ?? 1, maximum: limits?.maximum });
    return wasmInstance(module, memory, await WebAssembly.instantiate(module, { env: { memory } }));
  };
  const main = await instantiate();
  // Instantiated now: browsers refuse synchronous instantiation of all but tiny modules.
  const aux = await instantiate();
  return new WasmKernels(main, { auxInstance: () => aux });
}
