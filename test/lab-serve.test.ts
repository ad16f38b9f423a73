// `groklab serve` serves the built lab at /lab/, cross-origin isolated (COOP/COEP, so the kernels
// may use threads), with the kernel builds as application/wasm; without a built lab, /lab/ says how
// to build it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startDashboardServer } from '../src/server/index.ts';
import { tempDirs } from './helpers/temp-dirs.ts';

const tmp = tempDirs('lab-serve');

test('groklab serve serves the lab at /lab/, cross-origin isolated', async (t) => {
  const labDir = tmp();
  fs.writeFileSync(path.join(labDir, 'index.html'), '<!doctype html><title>groklab lab</title>');
  fs.writeFileSync(path.join(labDir, 'groklab.wasm'), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  const server = await startDashboardServer({ runsDir: tmp(), port: 0, labDir });
  t.after(() => server.close());

  const redirect = await fetch(new URL('/lab', server.url), { redirect: 'manual' });
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get('location'), '/lab/');

  const page = await fetch(new URL('/lab/', server.url));
  assert.equal(page.status, 200);
  assert.match(await page.text(), /groklab lab/);
  assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
  assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');

  const wasm = await fetch(new URL('/lab/groklab.wasm', server.url));
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  assert.equal(wasm.headers.get('cross-origin-resource-policy'), 'same-origin');
  assert.equal((await wasm.arrayBuffer()).byteLength, 8);

  assert.equal((await fetch(new URL('/lab/nothing.js', server.url))).status, 404);
  assert.equal((await fetch(new URL('/lab/../package.json', server.url))).status, 404);
});

test('without a built lab, /lab/ says how to build it', async (t) => {
  const server = await startDashboardServer({ runsDir: tmp(), port: 0, labDir: null });
  t.after(() => server.close());
  const page = await fetch(new URL('/lab/', server.url));
  assert.equal(page.status, 503);
  assert.match(await page.text(), /npm run build:lab/);
});
