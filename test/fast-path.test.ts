// Training without hooks takes the fast path and gives the bits it gave before the models had hook
// points: three short runs against metrics recorded then (test/fixtures/golden/fast-path.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { getKernels } from '../src/engine/kernels-default.ts';
import { GOLDEN_FILE, trainGoldenRuns } from './fixtures/golden/fast-path.ts';
import { tempDirs } from './helpers/temp-dirs.ts';

const golden = JSON.parse(fs.readFileSync(GOLDEN_FILE, 'utf8')) as {
  kernels: string;
  runs: Record<string, unknown[]>;
};
const tmp = tempDirs('fast-path');

test('training metrics equal the recorded fast-path metrics bit for bit (nanda-113, 2-layer pre-LN, demo MLP)', {
  // The two wasm builds round differently (fused multiply-adds), so the bits belong to one build.
  skip: getKernels().name === golden.kernels ? false : `recorded with kernels ${golden.kernels}`,
}, async () => {
  const runs = await trainGoldenRuns(tmp());
  for (const [name, records] of Object.entries(golden.runs)) {
    assert.deepEqual(runs[name], records, `${name}: metrics differ from the recorded fast path`);
  }
});
