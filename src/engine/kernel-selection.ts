/**
 * Which kernels the ops use. getKernels() returns the kernels given to useKernels() (or, while it
 * runs, to withKernels()), else the platform's default, made on first use: on Node the wasm
 * kernels that GROKLAB_KERNELS and GROKLAB_THREADS ask for (kernels-node.ts); elsewhere the pure
 * TypeScript kernels, with a warning (a browser page calls
 * `useKernels(await kernelsFromWasmBytes(bytes))` before training).
 *
 * The choice is the state of this module alone, and only these calls set it: importing a module
 * does not (the Node default used to be registered by importing kernels-default.ts, which now
 * only re-exports getKernels). Everything that computes asks getKernels() when it runs, so the
 * kernels can be changed between runs, or for the extent of a function with withKernels().
 */
import type { Kernels } from './kernels.ts';
import { jsKernels } from './kernels-js.ts';
import { nodeDefaultKernels } from './kernels-node.ts';

/** Set by useKernels / withKernels; null: the platform's default. */
let chosen: Kernels | null = null;
/** The platform's default, once made. */
let platformDefault: Kernels | null = null;

/** Makes `kernels` what getKernels() returns from now on (in a browser: after kernelsFromWasmBytes). */
export function useKernels(kernels: Kernels): void {
  chosen = kernels;
}

/** Runs `fn` with `kernels` as what getKernels() returns, then restores the previous choice. */
export function withKernels<T>(kernels: Kernels, fn: () => T): T {
  const previous = chosen;
  chosen = kernels;
  try {
    return fn();
  } finally {
    chosen = previous;
  }
}

/** The kernels in use: those chosen, else the platform's default (made once). */
export function getKernels(): Kernels {
  if (chosen !== null) return chosen;
  platformDefault ??= defaultKernels();
  return platformDefault;
}

/**
 * The platform's default kernels: Node's (nodeDefaultKernels) when `node`, else the pure
 * TypeScript kernels with a warning that says how a page gets the wasm ones.
 */
export function defaultKernels(node = true): Kernels {
  const onNode = node ? nodeDefaultKernels() : null;
  if (onNode !== null) return onNode;
  console.warn(
    'groklab: no wasm kernels chosen, using the pure TypeScript ones; in a browser call ' +
      'useKernels(await kernelsFromWasmBytes(bytes)) before training',
  );
  return jsKernels();
}
