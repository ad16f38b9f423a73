/**
 * getKernels(), for code that imports it from here. Importing this module used to register Node's
 * default kernels; the kernel selection (kernel-selection.ts) now finds the platform's default
 * itself, so this is a plain re-export.
 */
export { getKernels } from './kernel-selection.ts';
