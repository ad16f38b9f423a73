/**
 * getKernels() with the platform's default loader registered: what ops/matmul.ts imports.
 *
 * Why a module of its own: kernels.ts must stay importable by browser bundles (no `node:`
 * imports), yet on Node getKernels() must work synchronously with no set-up call. Importing
 * this module registers the Node loader (kernels-node.ts: the kernel build read from disk,
 * GROKLAB_KERNELS, GROKLAB_THREADS, worker threads) before any product runs. In a browser the
 * registration is a no-op (kernels-node.ts reaches Node only through process.getBuiltinModule,
 * at run time), so the same import bundles as is; the page calls
 * `useKernels(await kernelsFromWasmBytes(bytes))` before training, or gets the pure
 * TypeScript kernels.
 */
import { registerNodeKernels } from './kernels-node.ts';

registerNodeKernels();

export { getKernels } from './kernels.ts';
