// The kernel module of groklab, WebAssembly SIMD: what the loader needs to lay out memory (the
// functions below), and every kernel, re-exported whole from the files that define them (the
// GEMM, and the other loops of a training step). Each exported kernel has an entry of the same name
// in src/engine/kernel-table (its TypeScript reference and how it is called); a test checks that
// the two lists agree. Built by scripts/build-wasm.mjs; loaded by src/engine/kernels-wasm.ts, which
// owns the memory layout and passes byte offsets: operands already in linear memory (arena
// tensors) are used in place, others are copied into scratch.
//
// Threads: the memory is imported and may be shared (src/engine/threads.ts runs one instance
// per thread on the same memory). There is no static data (an active data segment would be
// rewritten by every instantiation) and no other mutable state in memory.

import { KC, MC, MR, NC, NR } from './params';

/**
 * Bytes of workspace one `matmul` call needs (packed blocks, then an MR×NR edge tile),
 * independent of the shapes. Each concurrent caller needs its own.
 */
export function workBytes(): usize {
  return (MC * KC + KC * NC + MR * NR) * 4;
}

/** 1 in the relaxed-SIMD build, whose products use fused multiply-adds; 0 in the SIMD128 build. */
export function fusedMultiplyAdd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

/** First byte of linear memory free for the caller, 64-byte aligned. */
export function heapBase(): usize {
  return (__heap_base + 63) & ~63;
}

// Only the kernel files are re-exported whole: a helper they export for each other (vmath, pack,
// microkernel, activations) would otherwise become an export of the module.
export * from './gemm';
export * from './elementwise';
export * from './embedding';
export * from './attention';
export * from './norm';
export * from './loss';
export * from './optimizer';
