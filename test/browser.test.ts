// The same engine and the same groklab.wasm train in a browser: the playground (web/playground)
// is bundled with esbuild, served on 127.0.0.1 and run in headless Chromium (Debian `chromium`,
// driven by playwright-core); its losses after each of a few training steps must equal, bit for
// bit, those of the same computation on Node. GROKLAB_SKIP_BROWSER=1 skips it (with a reason).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { useKernels } from '../src/engine/kernels.ts';
import { getKernels } from '../src/engine/kernels-default.ts';
import { kernelsFor } from '../src/engine/kernels-node.ts';
import { buildPlayground, servePlayground, WASM_FILES, wasmSource } from '../web/playground/build.ts';
import type { PlaygroundState } from '../web/playground/main.ts';
import {
  float64Bits,
  PLAYGROUND_CONFIGS,
  PLAYGROUND_STEPS,
  trainSteps,
} from '../web/playground/train-steps.ts';
import { CHROMIUM, launchChromium } from './helpers/chromium.ts';

const root = path.resolve(import.meta.dirname, '..');
const SCREENSHOT = path.join(root, 'test-artifacts/browser-playground.png');
const skip = process.env.GROKLAB_SKIP_BROWSER === '1';

test('the playground trains in headless Chromium with the wasm kernels, giving the losses Node gives', {
  skip: skip ? 'GROKLAB_SKIP_BROWSER=1: headless Chromium test skipped' : false,
  timeout: 300_000,
}, async (t) => {
  assert.ok(
    fs.existsSync(CHROMIUM),
    `${CHROMIUM} is missing: run \`apt-get install -y chromium\` (Debian package), ` +
      'or set GROKLAB_SKIP_BROWSER=1 to skip this test',
  );

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'groklab-playground-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const built = await buildPlayground(dir);
  assert.ok(built.inputs.includes('src/engine/kernels.ts'), 'the bundle holds the engine');
  assert.ok(built.inputs.includes('src/train/trainer.ts'), 'the bundle holds the trainer');

  const server = await servePlayground(dir);
  t.after(() => server.close());

  // Served as is: the bytes and the content type instantiateStreaming-style loaders expect.
  for (const file of WASM_FILES) {
    const wasmResponse = await fetch(new URL(file, server.url));
    assert.equal(wasmResponse.headers.get('content-type'), 'application/wasm');
    assert.equal(wasmResponse.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.equal(wasmResponse.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.deepEqual(
      new Uint8Array(await wasmResponse.arrayBuffer()),
      new Uint8Array(fs.readFileSync(wasmSource(file))),
    );
  }

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
  const logs: string[] = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  const t0 = performance.now();
  await page.goto(server.url);
  await page.waitForFunction(() => window.groklab?.done === true, undefined, { timeout: 240_000 });
  const browserMs = performance.now() - t0;
  const state = (await page.evaluate(() => window.groklab)) as PlaygroundState;
  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.equal(state.error, undefined, `the page failed: ${state.error}\nconsole:\n${logs.join('\n')}`);
  const result = state.result!;
  // Chromium has relaxed SIMD: the page runs the fused multiply-add build, as Node does.
  assert.equal(result.kernels, 'wasm-fma', 'the page must train with the wasm kernels, not the JS fallback');
  assert.equal(result.wasmFile, 'groklab-fma.wasm');
  assert.equal(result.wasmBytes, fs.statSync(wasmSource('groklab-fma.wasm')).size);
  assert.equal(result.crossOriginIsolated, true, 'COOP/COEP headers make the page cross-origin isolated');
  assert.ok(
    !logs.some((line) => line.includes('no wasm kernels registered')),
    `the page fell back to the JS kernels:\n${logs.join('\n')}`,
  );

  // Node: the default loader's kernels (wasm-fma, maybe threaded: same bits by contract). If
  // GROKLAB_KERNELS asks for others, load the same build explicitly: this compares the same .wasm.
  if (getKernels().name !== 'wasm-fma') useKernels(kernelsFor('wasm'));
  const nodeKernels = getKernels();
  assert.equal(nodeKernels.name, 'wasm-fma');

  t.diagnostic(`browser: ${result.userAgent}, ${browserMs.toFixed(0)} ms from load to result`);
  t.diagnostic(`node ${process.version}: ${nodeKernels.name}, ${nodeKernels.threads} thread(s)`);
  assert.deepEqual(Object.keys(result.runs), Object.keys(PLAYGROUND_CONFIGS));
  for (const [name, config] of Object.entries(PLAYGROUND_CONFIGS)) {
    const t1 = performance.now();
    const losses = trainSteps(config, PLAYGROUND_STEPS);
    const nodeMs = performance.now() - t1;
    const run = result.runs[name];
    t.diagnostic(
      `${name}: node ${nodeMs.toFixed(0)} ms, browser ${run.ms.toFixed(0)} ms; first losses node ` +
        `${losses.slice(0, 3).join(', ')}; browser ${run.losses.slice(0, 3).join(', ')}`,
    );
    assert.equal(losses.length, PLAYGROUND_STEPS);
    assert.ok(losses.every(Number.isFinite), `${name}: losses must be finite numbers, got ${losses}`);
    assert.ok(losses[losses.length - 1] < losses[0], `${name}: training lowers the train loss`);
    // Bit for bit: the same float32 products from the same wasm, the same JS arithmetic.
    assert.deepEqual(run.bits, losses.map(float64Bits), `${name}: browser and Node losses differ`);
    assert.deepEqual(run.losses, losses);
  }
});
