#!/usr/bin/env node
// Builds the AssemblyScript kernels (src/kernels/assembly: the GEMM and the other loops of a
// training step) twice, from the same source:
//   src/kernels/groklab-fma.wasm  relaxed SIMD: the products use fused multiply-adds (~25% faster);
//   src/kernels/groklab.wasm      SIMD128 only: for engines without relaxed SIMD.
// Usage: node scripts/build-wasm.mjs [--out-dir DIR]
// The output is deterministic: test/kernels.test.ts rebuilds into a temp directory and compares
// both files byte for byte with the committed artifacts.
import { mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const entry = 'src/kernels/assembly/index.ts';

/** Output file name → the wasm features it is built with besides SIMD128 and threads. */
const BUILDS = {
  'groklab-fma.wasm': ['relaxed-simd'],
  'groklab.wasm': [],
};

function parseOutDir(argv) {
  const i = argv.indexOf('--out-dir');
  if (i === -1) return resolve(root, 'src/kernels');
  const value = argv[i + 1];
  if (!value) throw new Error('--out-dir needs a directory');
  return resolve(value);
}

const outDir = parseOutDir(process.argv.slice(2));
mkdirSync(outDir, { recursive: true });

for (const [file, features] of Object.entries(BUILDS)) {
  const out = join(outDir, file);
  // Flags are all here (no asconfig.json): release build, SIMD, no GC runtime (the kernels never
  // allocate), no name/debug sections. Memory is imported (env.memory) and declared shared, so
  // that several threads can run instances on one memory (src/engine/threads.ts); a shared
  // memory needs a maximum: 65536 pages, the whole 4 GiB of wasm32. Single-threaded loaders give
  // it an unshared memory instead, by clearing the shared flag of the import
  // (src/engine/wasm-module.ts).
  const { error, stderr } = await asc.main(
    [
      entry,
      '--baseDir',
      root,
      '--outFile',
      relative(root, out),
      '-O3',
      '--converge',
      '--noAssert',
      '--runtime',
      'stub',
      '--enable',
      'simd',
      '--enable',
      'threads',
      ...features.flatMap((feature) => ['--enable', feature]),
      '--importMemory',
      '--noExportMemory',
      '--sharedMemory',
      '--initialMemory',
      '1',
      '--maximumMemory',
      '65536',
    ],
    {},
  );
  if (error) {
    process.stderr.write(stderr.toString());
    process.stderr.write(`build-wasm: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`build-wasm: wrote ${relative(process.cwd(), out) || out}\n`);
}
