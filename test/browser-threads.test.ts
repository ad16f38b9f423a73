// The wasm kernels' thread pool in a browser: a page (test/fixtures/browser-threads) bundled with
// esbuild starts a module worker that makes the kernels with 2 threads, whose pool's workers are
// module workers running serveChunksInWebWorker(), and trains a small transformer. Served with
// COOP/COEP (cross-origin isolated) it must train on 2 threads with the workers computing chunks;
// served without, on 1 thread with the reason given; on a page's main thread threads are refused,
// and a pool whose workers cannot load falls back to 1 thread with a warning.
// Either way the losses equal, bit for bit, the same steps on Node single-threaded.
// GROKLAB_SKIP_BROWSER=1 skips it (with a reason).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';
import { withKernels } from '../src/engine/kernels.ts';
import { kernelsFor } from '../src/engine/kernels-node.ts';
import { noNodeBuiltins } from '../web/lab/build.ts';
import {
  THREADS_CONFIG,
  THREADS_STEPS,
  type ThreadsResult,
  type ThreadsRun,
} from './fixtures/browser-threads/protocol.ts';
import { float64Bits, trainSteps } from './fixtures/browser-threads/train-steps.ts';
import { CHROMIUM, launchChromium } from './helpers/chromium.ts';

const root = path.resolve(import.meta.dirname, '..');
const fixture = path.join(root, 'test/fixtures/browser-threads');
const skip = process.env.GROKLAB_SKIP_BROWSER === '1';

/** Bundles the page, the training worker and the chunk worker into `outdir`; the bundle inputs by entry. */
async function buildPage(outdir: string): Promise<Record<string, string[]>> {
  const result = await build({
    entryPoints: ['page.ts', 'train-worker.ts', 'chunk-worker.ts'].map((f) => path.join(fixture, f)),
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: root,
    plugins: [noNodeBuiltins],
  });
  fs.copyFileSync(path.join(fixture, 'index.html'), path.join(outdir, 'index.html'));
  fs.copyFileSync(path.join(root, 'src/kernels/groklab-fma.wasm'), path.join(outdir, 'groklab-fma.wasm'));
  const inputs: Record<string, string[]> = {};
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    inputs[path.basename(file)] = Object.keys(output.inputs).sort();
  }
  return inputs;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
};

/**
 * Serves `dir` on 127.0.0.1: under /isolated/ with COOP same-origin and COEP require-corp (the
 * page is cross-origin isolated), under /plain/ without.
 */
async function serve(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const match = /^\/(isolated|plain)\/(.*)$/.exec(pathname);
    const name = match === null ? '' : match[2] === '' ? 'index.html' : match[2];
    const file = path.join(dir, name);
    if (match === null || name.includes('/') || !fs.existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const isolation =
      match[1] === 'isolated'
        ? {
            'Cross-Origin-Opener-Policy': 'same-origin',
            'Cross-Origin-Embedder-Policy': 'require-corp',
            'Cross-Origin-Resource-Policy': 'same-origin',
          }
        : {};
    res.writeHead(200, {
      ...isolation,
      'Cache-Control': 'no-store',
      'Content-Type': CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream',
    });
    res.end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/** A run's timings, skipping its first step (arenas are sized there). */
function timing(run: ThreadsRun): string {
  const steps = run.stepMs.slice(1);
  const evals = run.evalMs.slice(1);
  const total = steps.reduce((a, b) => a + b, 0) + evals.reduce((a, b) => a + b, 0);
  return (
    `${run.threads} thread(s): trainStep median ${median(steps).toFixed(1)} ms, evaluate median ` +
    `${median(evals).toFixed(1)} ms, steps 2-${run.stepMs.length} with evaluation ${total.toFixed(0)} ms; ` +
    `load ${run.loadMs.toFixed(0)} ms; chunks ${run.stats.chunks}, by workers ${run.stats.workerChunks}`
  );
}

test('the wasm kernels train on 2 threads in headless Chromium, with the bits of Node single-threaded', {
  skip: skip ? 'GROKLAB_SKIP_BROWSER=1: headless Chromium test skipped' : false,
  timeout: 300_000,
}, async (t) => {
  assert.ok(
    fs.existsSync(CHROMIUM),
    `${CHROMIUM} is missing: run \`apt-get install -y chromium\` (Debian package), ` +
      'or set GROKLAB_SKIP_BROWSER=1 to skip this test',
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'groklab-browser-threads-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const inputs = await buildPage(dir);
  assert.ok(inputs['chunk-worker.js'].includes('src/engine/threads-worker-loop.mjs'));
  assert.ok(
    !inputs['chunk-worker.js'].includes('src/engine/kernels-wasm.ts'),
    'the chunk worker bundles the loop, not the engine',
  );
  const server = await serve(dir);
  t.after(() => server.close());

  const nodeLosses = withKernels(kernelsFor('wasm', { threads: 1 }), () =>
    trainSteps(THREADS_CONFIG, THREADS_STEPS),
  );
  assert.ok(nodeLosses[nodeLosses.length - 1] < nodeLosses[0], 'training lowers the train loss');
  const nodeBits = nodeLosses.map(float64Bits);

  const browser = await launchChromium();
  t.after(() => browser.close());

  async function open(mode: 'isolated' | 'plain'): Promise<ThreadsResult> {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(new URL(`${mode}/`, server.url).href);
    await page.waitForFunction(
      () => window.threadsResult !== undefined || window.threadsError !== undefined,
      {
        timeout: 240_000,
      },
    );
    const error = await page.evaluate(() => window.threadsError);
    assert.equal(error, undefined, `${mode}: the page failed: ${error}\nconsole:\n${logs.join('\n')}`);
    const result = (await page.evaluate(() => window.threadsResult)) as ThreadsResult;
    await page.close();
    return result;
  }

  await t.test('cross-origin isolated: 2 threads, workers compute chunks, the bits of Node', async (t) => {
    const result = await open('isolated');
    t.diagnostic(`${result.userAgent}, ${result.hardwareConcurrency} cores`);
    assert.equal(result.crossOriginIsolated, true);
    assert.equal(result.mainThread.threads, 1, 'no threads on the main thread');
    assert.equal(result.mainThread.warnings.length, 1);
    assert.match(result.mainThread.warnings[0], /may not block in Atomics\.wait .*main thread.*Web Worker/);
    assert.deepEqual(
      result.runs.map((run) => [run.asked, run.threads, run.kernels]),
      [
        [2, 2, 'wasm-fma'],
        [1, 1, 'wasm-fma'],
        [2, 2, 'wasm-fma'],
      ],
    );
    for (const run of result.runs) {
      t.diagnostic(timing(run));
      assert.deepEqual(run.warnings, []);
      assert.deepEqual(run.bits, nodeBits, `${run.threads} thread(s): browser and Node losses differ`);
      if (run.threads === 2) {
        assert.ok(run.stats.workerChunks > 0, `workers computed chunks: ${JSON.stringify(run.stats)}`);
        assert.ok(run.stats.workerChunks < run.stats.chunks, JSON.stringify(run.stats));
      }
    }
    // A pool whose workers cannot start: one thread, and the warning says why.
    t.diagnostic(`missing worker script: ${result.missingWorker.warnings.join(' | ')}`);
    assert.equal(result.missingWorker.threads, 1);
    assert.equal(result.missingWorker.warnings.length, 1, result.missingWorker.warnings.join('\n'));
    assert.match(
      result.missingWorker.warnings[0],
      /the wasm kernels continue on one thread: worker thread 1 crashed/,
    );
  });

  await t.test('not cross-origin isolated: 1 thread, the reason given, the bits of Node', async (t) => {
    const result = await open('plain');
    assert.equal(result.crossOriginIsolated, false);
    for (const run of result.runs) {
      t.diagnostic(timing(run));
      assert.equal(run.threads, 1);
      assert.deepEqual(run.stats, { chunks: 0, workerChunks: 0 });
      if (run.asked === 2) {
        assert.equal(run.warnings.length, 1, run.warnings.join('\n'));
        assert.match(
          run.warnings[0],
          /2 threads were asked for.*not cross-origin isolated.*Cross-Origin-Opener-Policy: same-origin/,
        );
      } else assert.deepEqual(run.warnings, []);
      assert.deepEqual(run.bits, nodeBits);
    }
  });
});
