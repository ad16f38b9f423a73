#!/usr/bin/env node
// Builds the AssemblyScript kernels (src/kernels/assembly: the GEMM and the other loops of a
// training step) into src/kernels/groklab.wasm.
// Usage: node scripts/build-wasm.mjs [--out PATH]
// The output is deterministic: test/kernels.test.ts rebuilds into a temp file and compares it
// byte for byte with the committed artifact.
import { mkdirSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = 'src/kernels/assembly/index.ts';

function parseOut(argv) {
  const i = argv.indexOf('--out');
  if (i === -1) return resolve(root, 'src/kernels/groklab.wasm');
  const value = argv[i + 1];
  if (!value) throw new Error('--out needs a path');
  return resolve(value);
}

const out = parseOut(process.argv.slice(2));
mkdirSync(dirname(out), { recursive: true });

// Flags are all here (no asconfig.json): release build, SIMD, no GC runtime (the kernels never
// allocate), no name/debug sections. Memory is imported (env.memory) and declared shared, so
// that several threads can run instances on one memory (src/engine/threads.ts); a shared memory
// needs a maximum: 65536 pages, the whole 4 GiB of wasm32. Single-threaded loaders give it an
// unshared memory instead, by clearing the shared flag of the import (src/engine/kernels.ts).
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
