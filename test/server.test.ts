// The dashboard server (src/server) without a browser: the JSON API over run folders written the
// way the trainer writes them, the live feeds (Server-Sent Events) while records are appended — torn
// lines included — and cleaned up when the client leaves, path traversal refused in every spelling,
// and `groklab serve` input checks. Run folders are made with the real run-folder code and synthetic
// metrics, so each case is fast and its numbers are known.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ANALYSIS_FORMAT } from '../src/analysis/types.ts';
import { main } from '../src/cli/main.ts';
import { parseRunConfig } from '../src/config/schema.ts';
import {
  createRunFolder,
  MetricsLog,
  type RunFolder,
  rewriteMetrics,
  writeJsonAtomic,
} from '../src/runs/index.ts';
import type { RunDetailResponse, RunListResponse, SweepDetailResponse } from '../src/server/api-types.ts';
import { type DashboardServer, RunCatalog, startDashboardServer } from '../src/server/index.ts';
import { parseCompleteLines, readLastRecord } from '../src/server/metrics-tail.ts';
import { thinMetrics } from '../src/server/thin-metrics.ts';
import { SWEEP_FORMAT, writeSweepManifest } from '../src/sweep/manifest.ts';
import { buildTask, makeSplit, splitToJson, trainFractionOf } from '../src/tasks/index.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { tinyGrokkingConfig } from './helpers/tiny-config.ts';

const root = path.resolve(import.meta.dirname, '..');
const makeDir = tempDirs('server');

/** One evaluation of a run that memorizes near step 40 and generalizes near step 250. */
function syntheticRecord(step: number) {
  const train = 1 / (1 + Math.exp(-(step - 40) / 5));
  const test = 0.03 + 0.97 / (1 + Math.exp(-(step - 250) / 12));
  return {
    step,
    train_loss: -Math.log(Math.max(train, 1e-4)),
    train_acc: train,
    test_loss: -Math.log(Math.max(test, 1e-4)),
    test_acc: test,
    weight_norm: 10 + 30 * train - 8 * (test - 0.03),
    norms: { 'layers.0.w': 8 + 20 * train, 'out.w': 5 + 10 * train },
    lr: 0.01,
    wall_s: step / 100,
  };
}

const STEPS = [0, 1, 2, 5, 10, 20, ...Array.from({ length: 40 }, (_, i) => 30 + 10 * i)];

/** A run folder as startRun makes it (config, split, status), with `steps` of the synthetic curve. */
function syntheticRun(
  runsDir: string,
  id: string,
  steps: number[],
  state: 'running' | 'finished' = 'finished',
) {
  const config = parseRunConfig(tinyGrokkingConfig({ train: { steps: 400 } }));
  const task = buildTask(config.task);
  const split = makeSplit(task.numExamples, trainFractionOf(config.task), config.split_seed);
  const run = createRunFolder(runsDir, id, { config, split: splitToJson(split) });
  const log = run.openMetricsLog();
  for (const s of steps) log.append(syntheticRecord(s));
  log.close();
  run.writeStatus({ state, step: steps[steps.length - 1] ?? 0 });
  return run;
}

interface SseEvent {
  event: string;
  id?: string;
  data: unknown;
}

/** Reads an SSE response into events as they arrive. */
function sseReader(response: Response) {
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = response.body!.getReader();
  const done = (async () => {
    for (;;) {
      const { value, done: end } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (end) return;
      buffer += decoder.decode(value, { stream: true });
      let cut = buffer.indexOf('\n\n');
      while (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const e: Partial<SseEvent> = {};
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) e.event = line.slice(7);
          else if (line.startsWith('id: ')) e.id = line.slice(4);
          else if (line.startsWith('data: ')) e.data = JSON.parse(line.slice(6));
        }
        if (e.event) events.push(e as SseEvent);
        cut = buffer.indexOf('\n\n');
      }
    }
  })();
  return { events, done };
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** GET with the path sent exactly as written (fetch would normalise "..") and the body as text. */
function rawGet(url: string, rawPath: string, headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(url);
  return new Promise<{ status: number; body: string; type: string }>((resolve, reject) => {
    const req = http.request({ hostname, port, path: rawPath, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function treeDigest(dir: string): string {
  const hash = crypto.createHash('sha256');
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      hash.update(`${path.relative(dir, p)}:${st.size}:${st.mtimeMs}\n`);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) hash.update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

describe('dashboard server', () => {
  let runsDir: string;
  let outside: string;
  let server: DashboardServer;
  let staticDir: string;
  let untouchedDigest: string;

  before(async () => {
    runsDir = makeDir();
    outside = makeDir();
    syntheticRun(runsDir, 'grokked-run', STEPS);
    syntheticRun(runsDir, 'untouched', STEPS);
    // "running" with a pid that is not alive on this host: interrupted.
    const gone = syntheticRun(runsDir, 'crashed', STEPS.slice(0, 12), 'running');
    writeJsonAtomic(gone.statusPath, {
      ...JSON.parse(fs.readFileSync(gone.statusPath, 'utf8')),
      pid: 2 ** 22 + 12345,
    });
    fs.mkdirSync(path.join(runsDir, 'not-a-run'));
    // A secret outside the runs directory, reachable only through symlinks.
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'root:x:0:0:TOP-SECRET\n');
    syntheticRun(outside, 'elsewhere', STEPS.slice(0, 10));
    fs.symlinkSync(path.join(outside, 'elsewhere'), path.join(runsDir, 'escape-link'));
    const leaky = syntheticRun(runsDir, 'leaky', STEPS.slice(0, 5));
    fs.rmSync(leaky.metricsPath);
    fs.symlinkSync(path.join(outside, 'secret.txt'), leaky.metricsPath);
    writeSweepManifest(runsDir, {
      format: SWEEP_FORMAT,
      name: 'wd-grid',
      created_at: '2026-01-01T00:00:00.000Z',
      spec: { base: 'tiny' },
      axes: [
        { key: 'train.weight_decay', values: [0.1, 1] },
        { key: 'seed', values: [0] },
      ],
      cells: [
        { run_id: 'grokked-run', values: { 'train.weight_decay': 1, seed: 0 } },
        { run_id: 'never-made', values: { 'train.weight_decay': 0.1, seed: 0 } },
      ],
    });
    fs.mkdirSync(path.join(runsDir, 'sweeps', 'escape'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(runsDir, 'sweeps', 'escape', 'sweep.json'));
    staticDir = makeDir();
    fs.writeFileSync(
      path.join(staticDir, 'index.html'),
      '<!doctype html><title>dash</title><div id=root></div>',
    );
    fs.mkdirSync(path.join(staticDir, 'assets'));
    fs.writeFileSync(path.join(staticDir, 'assets', 'app-123.js'), 'console.log("dashboard")');
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(staticDir, 'assets', 'linked.js'));
    untouchedDigest = treeDigest(path.join(runsDir, 'untouched'));
    server = await startDashboardServer({
      runsDir,
      port: 0,
      staticDir,
      pollMs: 200,
      listPollMs: 200,
      keepAliveMs: 60_000,
      detectIntervalMs: 100,
    });
  });
  after(() => server?.close());

  const api = async <T>(p: string): Promise<{ status: number; body: T }> => {
    const response = await fetch(new URL(p, server.url));
    return { status: response.status, body: (await response.json()) as T };
  };

  test('the run list has state, key config, last accuracies, verdict and t_grok for every run', async () => {
    const { status, body } = await api<RunListResponse>('/api/runs');
    assert.equal(status, 200);
    const byId = new Map(body.runs.map((r) => [r.id, r]));
    assert.deepEqual([...byId.keys()].sort(), [
      'crashed',
      'escape-link',
      'grokked-run',
      'leaky',
      'not-a-run',
      'untouched',
    ]);
    const run = byId.get('grokked-run')!;
    assert.equal(run.state, 'finished');
    assert.equal(run.preset, 'tiny-grokking');
    assert.equal(run.task, 'x+y mod 31');
    assert.equal(run.op, 'add');
    assert.equal(run.p, 31);
    assert.equal(run.train_fraction, 0.7);
    assert.equal(run.model, 'MLP 128×1 quadratic');
    assert.equal(run.optimizer, 'adamw');
    assert.equal(run.lr, 0.01);
    assert.equal(run.weight_decay, 1);
    assert.equal(run.seed, 0);
    assert.equal(run.step, 420);
    assert.equal(run.last?.step, 420);
    assert.ok(run.last!.test_acc! > 0.99);
    assert.equal(run.verdict, 'grokked');
    // The synthetic test accuracy crosses 0.9 between steps 270 and 280.
    assert.equal(run.t_grok, 280);
    assert.ok(run.t_mem !== null && run.t_mem >= 50 && run.t_mem <= 70, `t_mem ${run.t_mem}`);
    assert.deepEqual(run.sweeps, ['wd-grid']);
    assert.equal(byId.get('crashed')!.state, 'interrupted');
    assert.equal(byId.get('not-a-run')!.state, 'broken');
    // A run folder that is a symlink out of the runs directory is not read.
    assert.equal(byId.get('escape-link')!.state, 'broken');
    assert.equal(byId.get('leaky')!.state, 'broken');
    assert.ok(!JSON.stringify(body).includes('TOP-SECRET'));
    assert.deepEqual(
      body.sweeps.map((s) => [s.name, s.cells, s.grokked, s.states]),
      [['wd-grid', 2, 1, { finished: 1, missing: 1 }]],
    );
  });

  test('a run: config, status, every complete metrics record, the detector result', async () => {
    const { status, body } = await api<RunDetailResponse>('/api/runs/grokked-run');
    assert.equal(status, 200);
    assert.equal(body.metrics.length, STEPS.length);
    assert.deepEqual(
      body.metrics.map((m) => m.step),
      STEPS,
    );
    assert.equal(body.metrics_offset, fs.statSync(path.join(runsDir, 'grokked-run', 'metrics.jsonl')).size);
    assert.equal((body.config as { seed: number }).seed, 0);
    assert.equal(body.status?.state, 'finished');
    assert.equal(body.detect?.verdict.label, 'grokked');
    assert.equal(body.detect?.measures.t_grok_crossing, 280);
    assert.equal(body.has_analysis, false);
    assert.equal((await api('/api/runs/grokked-run/analysis')).status, 404);
    // max_points thins only logs longer than it; a bad value names the parameter.
    const capped = await api<RunDetailResponse>('/api/runs/grokked-run?max_points=4000');
    assert.deepEqual(capped.body, body);
    assert.equal(body.metrics_total, STEPS.length);
    for (const bad of ['1', '0', 'abc', '-5', '2.5']) {
      const r = await api<{ error: string; field: string }>(`/api/runs/grokked-run?max_points=${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.field, 'max_points');
      assert.match(r.body.error, /max_points must be an integer ≥ 2/);
    }
  });

  test('a long run is thinned for drawing on request: the extremes stay, the offset is the whole file', async () => {
    const dir = makeDir();
    const run = syntheticRun(dir, 'long-run', [0]);
    const steps = Array.from({ length: 30_000 }, (_, i) => i);
    const records = steps.map((step) => ({ ...syntheticRecord(step / 100), step }));
    records[17_777].train_loss = 42; // a one-evaluation loss spike
    fs.writeFileSync(run.metricsPath, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const longServer = await startDashboardServer({ runsDir: dir, port: 0, staticDir, keepAliveMs: 60_000 });
    try {
      const get = async (query: string) =>
        (await (
          await fetch(new URL(`/api/runs/long-run${query}`, longServer.url))
        ).json()) as RunDetailResponse;
      const full = await get('');
      const thin = await get('?max_points=500');
      assert.equal(full.metrics.length, 30_000);
      assert.equal(thin.metrics_total, 30_000);
      // Smooth curves keep about one record per bucket (their extremes sit at the bucket edges).
      assert.ok(thin.metrics.length <= 500 && thin.metrics.length >= 50, `${thin.metrics.length} records`);
      assert.equal(
        thin.metrics_offset,
        fs.statSync(run.metricsPath).size,
        'live updates continue after the whole file',
      );
      assert.deepEqual(thin.detect, full.detect, 'detection runs on every record');
      assert.ok(
        thin.metrics.some((m) => m.step === 17_777 && m.train_loss === 42),
        'the spike is kept',
      );
    } finally {
      await longServer.close();
    }
  });

  test('thinMetrics: at most N records, first and last, every early step, extremes per bucket, no long gaps', () => {
    const n = 100_000;
    const records = Array.from({ length: n }, (_, step) => ({
      step,
      train_loss: 1e-3,
      train_acc: 1,
      test_loss: 5 - 4 / (1 + Math.exp(-(step - 60_000) / 500)),
      test_acc: 0.01 + 0.98 / (1 + Math.exp(-(step - 60_000) / 500)),
      weight_norm: 50,
    }));
    records[73_333].train_loss = 7; // spike
    records[41_000].test_acc = 0; // dip
    const thin = thinMetrics(records, 2000);
    assert.ok(thin.length <= 2000, `${thin.length}`);
    assert.equal(thin[0], records[0]);
    assert.equal(thin[thin.length - 1], records[n - 1]);
    const steps = thin.map((r) => r.step);
    for (let i = 1; i < steps.length; i++) assert.ok(steps[i] > steps[i - 1], 'in order, no repeats');
    // Log axis: steps 0–6 fall in buckets of their own (100 buckets over ln(1 + step) ≤ 11.5).
    for (let s = 0; s <= 6; s++) assert.ok(steps.includes(s), `early step ${s} kept`);
    assert.ok(steps.includes(73_333) && steps.includes(41_000), 'the spike and the dip are kept');
    // Linear axis: 99 buckets of ~1010 steps, each with a kept record: no gap longer than two buckets.
    let gap = 0;
    for (let i = 1; i < steps.length; i++) gap = Math.max(gap, steps[i] - steps[i - 1]);
    assert.ok(gap <= 2 * Math.ceil(n / 99), `largest gap ${gap}`);
    // The jump's steepest stretch is drawn: some kept test_acc between 0.3 and 0.7.
    assert.ok(thin.some((r) => (r.test_acc ?? 0) > 0.3 && (r.test_acc ?? 0) < 0.7));
    assert.equal(thinMetrics(records.slice(0, 50), 2000).length, 50, 'short logs are untouched');
    assert.throws(() => thinMetrics(records, 1), /max must be an integer ≥ 2/);
  });

  test('the metrics readers take complete lines only', () => {
    const text = Buffer.from('{"step":1,"a":1}\n{"step":2}\nnot json\n{"step":3,"a":');
    const parsed = parseCompleteLines(text);
    assert.deepEqual(
      parsed.records.map((r) => r.step),
      [1, 2],
    );
    assert.equal(parsed.bad, 1);
    assert.equal(parsed.consumed, text.lastIndexOf('\n') + 1);
    const dir = makeDir();
    const file = path.join(dir, 'metrics.jsonl');
    fs.writeFileSync(
      file,
      `${JSON.stringify({ step: 7, pad: 'x'.repeat(40_000) })}\n{"step":8}\n{"step":9,"torn`,
    );
    assert.equal(readLastRecord(file)?.step, 8);
    fs.writeFileSync(file, `${JSON.stringify({ step: 7, pad: 'x'.repeat(40_000) })}\n`);
    assert.equal(readLastRecord(file)?.step, 7, 'a last line longer than the first read window');
    fs.writeFileSync(file, '{"step":1');
    assert.equal(readLastRecord(file), null);
  });

  test('live feed: appended records arrive once and in order, torn lines only when complete, status and detection changes', async () => {
    const run = syntheticRun(runsDir, 'live', STEPS.slice(0, 20), 'running');
    const detail = (await api<RunDetailResponse>('/api/runs/live')).body;
    assert.equal(detail.metrics.length, 20);
    assert.equal(detail.detect?.measures.t_grok_crossing, null, 'not generalized yet');
    const controller = new AbortController();
    const response = await fetch(
      new URL(
        `/api/runs/live/events?offset=${detail.metrics_offset}&file=${detail.metrics_file}`,
        server.url,
      ),
      { signal: controller.signal },
    );
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    const { events } = sseReader(response);
    await until('hello', () => events.some((e) => e.event === 'hello'));
    const metricsSteps = () =>
      events
        .filter((e) => e.event === 'metrics')
        .flatMap((e) => (e.data as { records: Array<{ step: number }> }).records.map((r) => r.step));

    const log = new MetricsLog(run.metricsPath);
    for (const s of STEPS.slice(20, 25)) log.append(syntheticRecord(s));
    await until('5 new records', () => metricsSteps().length === 5);
    assert.deepEqual(metricsSteps(), STEPS.slice(20, 25));

    // A line written in two parts: nothing is sent until its "\n" arrives.
    const line = `${JSON.stringify(syntheticRecord(STEPS[25]))}\n`;
    const fd = fs.openSync(run.metricsPath, 'a');
    fs.writeSync(fd, line.slice(0, 40));
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(metricsSteps().length, 5, 'half a line is not sent');
    fs.writeSync(fd, line.slice(40));
    fs.closeSync(fd);
    await until('the completed line', () => metricsSteps().length === 6);
    assert.equal(metricsSteps()[5], STEPS[25]);

    // The rest of the run: the jump happens, the detector finds it and says so.
    for (const s of STEPS.slice(26)) log.append(syntheticRecord(s));
    log.close();
    await until('every record', () => metricsSteps().length === STEPS.length - 20);
    assert.deepEqual(metricsSteps(), STEPS.slice(20));
    await until('t_grok in a detect event', () =>
      events.some(
        (e) => e.event === 'detect' && (e.data as RunDetailResponse).detect?.measures.t_grok_crossing === 280,
      ),
    );
    run.writeStatus({ state: 'finished', step: 420, message: 'step budget reached' });
    await until('the status change', () =>
      events.some((e) => e.event === 'status' && (e.data as { state: string }).state === 'finished'),
    );
    const lastMetrics = events.filter((e) => e.event === 'metrics').at(-1)!;
    assert.equal(lastMetrics.id, `${detail.metrics_file}:${fs.statSync(run.metricsPath).size}`);

    assert.equal(server.stats().streams, 1);
    assert.ok(server.stats().watchers >= 1);
    controller.abort();
    await until('the feed to be cleaned up', () => {
      const s = server.stats();
      return s.streams === 0 && s.watchers === 0 && s.timers === 0;
    });
  });

  test('live feed: a client reconnecting with Last-Event-ID gets exactly what it missed; a rewritten log is a reset', async () => {
    const run: RunFolder = syntheticRun(runsDir, 'resumed', STEPS.slice(0, 10), 'running');
    const detail = (await api<RunDetailResponse>('/api/runs/resumed')).body;
    const log = new MetricsLog(run.metricsPath);
    for (const s of STEPS.slice(10, 14)) log.append(syntheticRecord(s));
    log.close();
    const response = await fetch(new URL('/api/runs/resumed/events', server.url), {
      headers: { 'Last-Event-ID': `${detail.metrics_file}:${detail.metrics_offset}` },
    });
    const { events, done } = sseReader(response);
    await until('the missed records', () => events.some((e) => e.event === 'metrics'));
    const first = events.find((e) => e.event === 'metrics')!.data as { records: Array<{ step: number }> };
    assert.deepEqual(
      first.records.map((r) => r.step),
      STEPS.slice(10, 14),
    );
    // A resume from an earlier checkpoint rewrites metrics.jsonl (a new file): the client must start over.
    rewriteMetrics(run.metricsPath, STEPS.slice(0, 5).map(syntheticRecord));
    await until('reset', () => events.some((e) => e.event === 'reset'));
    await done; // the server ends the stream after a reset
    await until('no open feeds', () => server.stats().streams === 0 && server.stats().timers === 0);
  });

  test('the run-list feed sends the list, then only the rows that changed', async () => {
    const controller = new AbortController();
    const response = await fetch(new URL('/api/events', server.url), { signal: controller.signal });
    const { events } = sseReader(response);
    await until('the list', () => events.some((e) => e.event === 'runs'));
    const list = events.find((e) => e.event === 'runs')!.data as RunListResponse;
    assert.ok(list.runs.some((r) => r.id === 'grokked-run'));
    syntheticRun(runsDir, 'newcomer', STEPS.slice(0, 3), 'running');
    await until('the new row', () =>
      events.some(
        (e) =>
          e.event === 'rows' &&
          (e.data as { changed: Array<{ id: string }> }).changed.some((r) => r.id === 'newcomer'),
      ),
    );
    const update = events.find((e) => e.event === 'rows')!.data as { changed: Array<{ id: string }> };
    assert.ok(
      !update.changed.some((r) => r.id === 'untouched'),
      'rows that did not change are not sent again',
    );
    assert.equal(server.stats().listClients, 1);
    controller.abort();
    await until(
      'the list feed to stop',
      () => server.stats().listClients === 0 && server.stats().timers === 0,
    );
  });

  test('a sweep: every cell with its run state, t_grok, final test accuracy and verdict', async () => {
    const { status, body } = await api<SweepDetailResponse>('/api/sweeps/wd-grid');
    assert.equal(status, 200);
    assert.deepEqual(
      body.axes.map((a) => a.key),
      ['train.weight_decay', 'seed'],
    );
    const [grokked, missing] = body.cells;
    assert.equal(grokked.state, 'finished');
    assert.equal(grokked.verdict, 'grokked');
    assert.equal(grokked.t_grok, 280);
    assert.ok(grokked.final_test_acc! > 0.99);
    assert.equal(missing.state, 'missing');
    assert.equal(missing.t_grok, null);
    assert.equal((await api('/api/sweeps/no-such-sweep')).status, 404);
  });

  test('analysis.json is served as the parts the dashboard draws', async () => {
    const dir = path.join(runsDir, 'grokked-run', 'analysis');
    fs.mkdirSync(dir);
    const spectrum = (norms: number[]) => ({
      norms,
      gini: 0.5,
      ipr: 0.2,
      key: { frequencies: [2], gap_ratio: 3, energy_fraction: 0.8, sparse: true },
      run_key_energy_fraction: 0.8,
      per_column: { gini_mean: 0.5, top_share_mean: 0.5 },
    });
    const checkpoint = (step: number, norms: number[]) => ({
      step,
      losses: { train_loss: 0.1, test_loss: 1, train_acc: 1, test_acc: 0.5 },
      norms: { total: 30 + step / 100 },
      fourier: { embedding: spectrum(norms) },
      progress: { restricted_loss: 0.5, excluded_loss: 2, key_logit_energy_share: 0.7, key_frequencies: [2] },
      hessian: step === 256 ? { top_eigenvalues: [3, 2] } : null,
    });
    fs.writeFileSync(
      path.join(dir, 'analysis.json'),
      JSON.stringify({
        format: ANALYSIS_FORMAT,
        version: 1,
        run_id: 'grokked-run',
        generated_at: '2026-01-01T00:00:00.000Z',
        run: { state: 'finished', step: 420, checkpoints: [0, 256] },
        task: { description: 'x+y mod 31', p: 31, op: 'add', classes: 31 },
        model: { kind: 'mlp', parameters: 100 },
        key_frequencies: { frequencies: [2], source: 'embedding', from_step: 256 },
        detect: null,
        phases: null,
        curves: {
          step: [0],
          train_loss: [3],
          test_loss: [3],
          train_acc: [0],
          test_acc: [0],
          weight_norm: [10],
        },
        checkpoints: [checkpoint(256, [0, 1, 5, 1]), checkpoint(0, [0, 1, 1, 1])],
        notes: [],
      }),
    );
    const { status, body } = await api<{
      steps: number[];
      spectra: { embedding: { norms: number[][] } };
      hessian: unknown[];
    }>('/api/runs/grokked-run/analysis');
    assert.equal(status, 200);
    assert.deepEqual(body.steps, [0, 256]);
    assert.deepEqual(body.spectra.embedding.norms, [
      [0, 1, 1, 1],
      [0, 1, 5, 1],
    ]);
    assert.deepEqual(body.hessian, [{ step: 256, top_eigenvalues: [3, 2] }]);
    assert.equal((await api<RunDetailResponse>('/api/runs/grokked-run')).body.has_analysis, true);
  });

  test('path traversal in run ids, sweep names and file paths is refused in every spelling', async () => {
    const attempts = [
      '/api/runs/..%2F..%2Fetc%2Fpasswd',
      '/api/runs/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/api/runs/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd/events',
      '/api/runs/..%252F..%252Fetc%252Fpasswd',
      '/api/runs/%2Fetc%2Fpasswd',
      '/api/runs/..',
      '/api/runs/../../etc/passwd',
      '/api/runs/.%2e/.%2e/etc/passwd',
      '/api/runs/..%5C..%5Cetc%5Cpasswd',
      '/api/runs/escape-link',
      '/api/runs/escape-link/events',
      '/api/runs/leaky',
      '/api/runs/leaky/events',
      '/api/runs/sweeps',
      '/api/runs/.hidden',
      '/api/sweeps/..%2F..%2Fetc%2Fpasswd',
      '/api/sweeps/escape',
      '/../../etc/passwd',
      '/..%2F..%2Fetc%2Fpasswd',
      '/assets/..%2F..%2F..%2Fpackage.json',
      '/assets/../../package.json',
      '/assets/linked.js',
      '/%2Fetc%2Fpasswd',
      '//etc/passwd',
      '/runs/..%2F..%2Fetc%2Fpasswd',
      '/runs/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/sweeps/..%2Fsecret',
      `/api/runs/${encodeURIComponent(path.join(outside, 'elsewhere'))}`,
    ];
    const secret = /root:x:0:0|TOP-SECRET|"name": "groklab"/;
    for (const attempt of attempts) {
      const { status, body } = await rawGet(server.url, attempt);
      assert.ok([400, 404].includes(status), `${attempt}: status ${status}`);
      assert.doesNotMatch(body, secret, `${attempt} leaked a file`);
    }
    assert.equal((await api('/api/runs/..%2F..%2Fetc%2Fpasswd')).status, 400);
    assert.equal((await api('/api/runs/escape-link')).status, 404);
    assert.equal((await api('/api/runs/leaky')).status, 404);
    assert.equal((await api('/api/sweeps/escape')).status, 404);
  });

  test('static files and pages: the built UI by exact path, page routes, a read-only server bound to loopback names', async () => {
    const index = await rawGet(server.url, '/');
    assert.equal(index.status, 200);
    assert.match(index.body, /<title>dash<\/title>/);
    for (const page of ['/runs/grokked-run', '/runs', '/sweeps/wd-grid', '/compare?runs=a,b']) {
      assert.equal((await rawGet(server.url, page)).status, 200, page);
    }
    const js = await rawGet(server.url, '/assets/app-123.js');
    assert.equal(js.status, 200);
    assert.match(js.type, /^text\/javascript/);
    assert.equal((await rawGet(server.url, '/assets/missing.js')).status, 404);
    const response = await fetch(new URL('/api/runs', server.url), { method: 'POST' });
    assert.equal(response.status, 405);
    const rebound = await rawGet(server.url, '/api/runs', { Host: 'attacker.example' });
    assert.equal(rebound.status, 403, 'a loopback server answers only loopback host names (DNS rebinding)');
    assert.equal((await rawGet(server.url, '/api/runs', { Host: `localhost:${server.port}` })).status, 200);
    assert.equal(
      treeDigest(path.join(runsDir, 'untouched')),
      untouchedDigest,
      'the server wrote into a run folder',
    );
  });

  test('the catalog recomputes a run only when its files change', () => {
    const catalog = new RunCatalog(runsDir, { detectIntervalMs: 0 });
    const first = catalog.detect('untouched').detect;
    assert.equal(catalog.detect('untouched').detect, first, 'unchanged files: the cached result');
    const run = syntheticRun(runsDir, 'cache-probe', STEPS.slice(0, 10));
    const before = catalog.detect('cache-probe').detect;
    const log = run.openMetricsLog();
    log.append(syntheticRecord(1000));
    log.close();
    const afterAppend = catalog.detect('cache-probe').detect;
    assert.notEqual(afterAppend, before);
    assert.equal(afterAppend?.measures.last_step, 1000);
  });
});

describe('groklab serve', () => {
  test('bad DIR, --port and --host are usage errors (exit 2), all reported at once', async () => {
    const chunks: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => {
      chunks.push(String(s));
      return true;
    }) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main([
        'serve',
        path.join(os.tmpdir(), 'no-such-runs-dir-xyz'),
        '--port',
        '99999',
        '--host',
        'bad host!',
      ]);
    } finally {
      process.stderr.write = write;
    }
    assert.equal(code, 2);
    const text = chunks.join('');
    assert.match(text, /dir: runs directory .* does not exist/);
    assert.match(text, /--port: must be an integer from 0 to 65535/);
    assert.match(text, /--host: must be an IP address or a host name/);
  });

  test('a port in use is a usage error naming --port', async () => {
    const dir = makeDir();
    const busy = await startDashboardServer({ runsDir: dir, port: 0 });
    const chunks: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => {
      chunks.push(String(s));
      return true;
    }) as typeof process.stderr.write;
    try {
      assert.equal(await main(['serve', dir, '--port', String(busy.port), '--no-build']), 2);
    } finally {
      process.stderr.write = write;
      await busy.close();
    }
    assert.match(chunks.join(''), /--port: port \d+ is already in use/);
  });

  test('the command prints the URL, serves the API, warns when exposed, and stops on SIGTERM', {
    timeout: 60_000,
  }, async () => {
    const dir = makeDir();
    syntheticRun(dir, 'one', STEPS.slice(0, 8));
    const child = spawn(
      process.execPath,
      [path.join(root, 'bin/groklab.mjs'), 'serve', dir, '--port', '0', '--host', '0.0.0.0', '--no-build'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      err += c;
    });
    await until('the URL', () => /http:\/\/\S+/.test(out), 50_000);
    const url = /http:\/\/\S+/.exec(out)![0];
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.match(err, /warning: listening on 0\.0\.0\.0: anyone who can reach this machine/);
    const list = (await (await fetch(new URL('/api/runs', url))).json()) as RunListResponse;
    assert.deepEqual(
      list.runs.map((r) => r.id),
      ['one'],
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});

test('run rows describe every task and model kind from the validated config', async () => {
  const { describeModel, describeTask } = await import('../src/server/run-catalog.ts');
  const { PRESETS } = await import('../src/config/presets.ts');
  const described = Object.fromEntries(
    Object.entries(PRESETS).map(([name, preset]) => {
      const config = parseRunConfig(preset.config);
      return [name, `${describeTask(config.task)} · ${describeModel(config.model)}`];
    }),
  );
  assert.equal(described['nanda-113'], 'x+y mod 113 · transformer 1L d128 4h mlp512');
  assert.equal(described['parity-40-3'], 'sparse parity n=40 k=3 · MLP 1000×1 relu');
  assert.equal(described['s5-compose'].split(' · ')[0], 'S5 x·y');
  for (const text of Object.values(described)) assert.doesNotMatch(text, /undefined|null|NaN/);
});
