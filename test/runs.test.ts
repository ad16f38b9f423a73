import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  createRunFolder,
  decodeSafetensors,
  encodeSafetensors,
  listRuns,
  MetricsLog,
  newRunId,
  openRun,
  readMetrics,
  resolveRunFolder,
  rewriteMetrics,
  type StoredTensor,
  truncateMetricsAfter,
  validateRunId,
  writeFileAtomic,
  writeJsonAtomic,
} from '../src/runs/index.ts';
import { UsageError } from '../src/util/errors.ts';

const made: string[] = [];
after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'groklab-runs-'));
  made.push(dir);
  return dir;
}

function isRunUsageError(err: unknown): boolean {
  return err instanceof UsageError && err.problems.some((p) => p.field === 'run');
}

/** A pid that is certainly not running: a child that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  assert.ok(child.pid);
  return child.pid;
}

describe('safetensors', () => {
  it('round-trips every dtype with metadata, scalars and zero-size tensors', () => {
    const tensors: Record<string, StoredTensor> = {
      'w.f32': { shape: [2, 3], data: Float32Array.from([1, -2.5, 3e-8, Math.PI, -0, 1e30]) },
      'w.f64': { shape: [3], data: Float64Array.from([Math.PI, -1e-300, Number.MAX_VALUE]) },
      'idx.i32': { shape: [2, 2], data: Int32Array.from([-1, 0, 2147483647, -2147483648]) },
      'rng.u32': { shape: [4], data: Uint32Array.from([0, 1, 0xffffffff, 0x9e3779b9]) },
      scalar: { shape: [], data: Float64Array.from([42.5]) },
      empty: { shape: [0, 5], data: new Float32Array(0) },
      odd: { shape: [1], data: Float32Array.from([7]) }, // puts later tensors at odd offsets
    };
    const metadata = { step: '100', format: 'groklab' };
    const bytes = encodeSafetensors(tensors, metadata);
    const decoded = decodeSafetensors(bytes);
    assert.deepEqual(decoded.metadata, metadata);
    assert.deepEqual(Object.keys(decoded.tensors), Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const got = decoded.tensors[name];
      assert.deepEqual(got.shape, t.shape, name);
      assert.equal(got.data.constructor, t.data.constructor, name);
      assert.deepEqual(Array.from(got.data), Array.from(t.data), name);
      assert.equal(got.data.byteOffset % got.data.BYTES_PER_ELEMENT, 0, `${name} aligned`);
    }
    assert.ok(Object.is(decoded.tensors['w.f32'].data[4], -0));
    // Deterministic: insertion order does not matter.
    const reversed = Object.fromEntries(Object.entries(tensors).reverse());
    assert.deepEqual(encodeSafetensors(reversed, { format: 'groklab', step: '100' }), bytes);
  });

  it('decodes a view at an odd byte offset into aligned copies', () => {
    const bytes = encodeSafetensors({ x: { shape: [2], data: Float64Array.from([1.5, -2]) } });
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const { tensors } = decodeSafetensors(shifted.subarray(3));
    assert.deepEqual(Array.from(tensors.x.data), [1.5, -2]);
    assert.equal(tensors.x.data.byteOffset, 0);
  });

  it('matches a hand-built byte layout', () => {
    const header =
      '{"__metadata__":{"format":"pt"},' +
      '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}';
    assert.equal(header.length, 139); // padded with 5 spaces to 144 = 0x90
    const expected = Buffer.concat([
      Buffer.from([0x90, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from(`${header}     `, 'ascii'),
      Buffer.from([0x00, 0x00, 0x80, 0x3f]), // 1.0f
      Buffer.from([0x00, 0x00, 0x00, 0xc0]), // -2.0f
      Buffer.from([0x07, 0x00, 0x00, 0x00]), // int32 7
    ]);
    const bytes = encodeSafetensors(
      { b: { shape: [1], data: Int32Array.from([7]) }, a: { shape: [2], data: Float32Array.from([1, -2]) } },
      { format: 'pt' },
    );
    assert.deepEqual(Buffer.from(bytes), expected);
    const decoded = decodeSafetensors(new Uint8Array(expected));
    assert.deepEqual(Array.from(decoded.tensors.a.data), [1, -2]);
    assert.deepEqual(Array.from(decoded.tensors.b.data), [7]);
  });

  it('rejects corrupt files', () => {
    const good = encodeSafetensors({
      a: { shape: [2], data: Float32Array.from([1, 2]) },
      b: { shape: [1], data: Int32Array.from([3]) },
    });
    const headerLen = Number(new DataView(good.buffer).getBigUint64(0, true));
    const headerText = new TextDecoder().decode(good.subarray(8, 8 + headerLen));
    const withHeader = (text: string, data: Uint8Array = good.subarray(8 + headerLen)): Uint8Array => {
      const json = new TextEncoder().encode(text);
      const out = new Uint8Array(8 + json.length + data.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      out.set(data, 8 + json.length);
      return out;
    };
    const cases: [string, Uint8Array, RegExp][] = [
      ['too short', good.subarray(0, 5), /too short/],
      ['truncated data', good.subarray(0, good.length - 1), /corrupt/],
      ['truncated header', good.subarray(0, 8 + headerLen - 4), /exceeds the file size/],
      ['trailing bytes', Uint8Array.from([...good, 0]), /cover/],
      ['huge header length', Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), /too large/],
      ['not JSON', withHeader('{"a": nope}'), /not valid JSON/],
      ['JSON array', withHeader('[1,2]'), /not valid JSON|not a JSON object/],
      ['offsets out of range', withHeader(headerText.replace('[8,12]', '[8,16]')), /ends at byte 16/],
      ['shape mismatch', withHeader(headerText.replace('"shape":[2]', '"shape":[3]')), /needs 12 bytes/],
      ['overlap', withHeader(headerText.replace('[8,12]', '[4,8]')), /gap or overlap/],
      ['bad metadata', withHeader('{"__metadata__":{"x":1}}', new Uint8Array(0)), /not a string/],
      [
        'unsupported dtype',
        withHeader('{"h":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}', new Uint8Array(2)),
        /unsupported safetensors dtype "BF16".*F32, F64, I32, U32/,
      ],
    ];
    assert.doesNotThrow(() => decodeSafetensors(withHeader(headerText)));
    for (const [label, bytes, message] of cases) {
      assert.throws(() => decodeSafetensors(bytes), message, label);
    }
  });

  it('rejects bad input when encoding', () => {
    assert.throws(
      () => encodeSafetensors({ a: { shape: [3], data: new Float32Array(2) } }),
      /needs 3 elements, data has 2/,
    );
    assert.throws(
      () => encodeSafetensors({ a: { shape: [2], data: new Uint8Array(2) as unknown as Float32Array } }),
      /unsupported/,
    );
    assert.throws(() => encodeSafetensors({ a: { shape: [-1], data: new Float32Array(0) } }), /shape/);
  });
});

describe('atomic writes', () => {
  it('replaces content and leaves no temp files', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'x.json');
    writeFileAtomic(file, 'old');
    writeJsonAtomic(file, { a: 1 });
    assert.equal(fs.readFileSync(file, 'utf8'), '{\n  "a": 1\n}\n');
    writeFileAtomic(file, Uint8Array.from([1, 2, 3]));
    assert.deepEqual([...fs.readFileSync(file)], [1, 2, 3]);
    assert.deepEqual(fs.readdirSync(dir), ['x.json']);
  });

  it('cleans up its temp file when the rename fails', () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub', 'keep'), '');
    assert.throws(() => writeFileAtomic(path.join(dir, 'sub'), 'data'));
    assert.deepEqual(fs.readdirSync(dir), ['sub']);
  });
});

describe('metrics log', () => {
  it('appends and reads records', () => {
    const file = path.join(tmpDir(), 'metrics.jsonl');
    assert.deepEqual(readMetrics(file), { records: [], tornTail: false });
    const log = new MetricsLog(file);
    log.append({ step: 0, train_loss: 4.6 });
    log.append({ step: 100, train_loss: 1.2, test_acc: 0.5 });
    log.close();
    assert.equal(
      fs.readFileSync(file, 'utf8'),
      '{"step":0,"train_loss":4.6}\n{"step":100,"train_loss":1.2,"test_acc":0.5}\n',
    );
    assert.deepEqual(readMetrics(file), {
      records: [
        { step: 0, train_loss: 4.6 },
        { step: 100, train_loss: 1.2, test_acc: 0.5 },
      ],
      tornTail: false,
    });
    assert.throws(() => new MetricsLog(file).append({ loss: 1 } as unknown as { step: number }), /step/);
  });

  it('ignores and reports a torn trailing line, and repairs it before appending', () => {
    const file = path.join(tmpDir(), 'metrics.jsonl');
    fs.writeFileSync(file, '{"step":0,"loss":3}\n{"step":10,"lo');
    assert.deepEqual(readMetrics(file), { records: [{ step: 0, loss: 3 }], tornTail: true });
    const log = new MetricsLog(file);
    assert.equal(log.repairedTornTail, true);
    log.append({ step: 10, loss: 2 });
    log.close();
    assert.deepEqual(readMetrics(file), {
      records: [
        { step: 0, loss: 3 },
        { step: 10, loss: 2 },
      ],
      tornTail: false,
    });
  });

  it('throws on a corrupt line in the middle', () => {
    const file = path.join(tmpDir(), 'metrics.jsonl');
    fs.writeFileSync(file, '{"step":0}\n{oops\n{"step":2}\n');
    assert.throws(() => readMetrics(file), /metrics\.jsonl:2: invalid JSON/);
  });

  it('truncates after a step and rewrites atomically', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'metrics.jsonl');
    rewriteMetrics(
      file,
      [0, 100, 200, 300].map((step) => ({ step, acc: step / 300 })),
    );
    fs.appendFileSync(file, '{"step":40');
    assert.equal(truncateMetricsAfter(file, 200), 1);
    assert.deepEqual(readMetrics(file), {
      records: [0, 100, 200].map((step) => ({ step, acc: step / 300 })),
      tornTail: false,
    });
    assert.equal(truncateMetricsAfter(file, 1000), 0);
    assert.deepEqual(fs.readdirSync(dir), ['metrics.jsonl']);
  });
});

describe('run folders', () => {
  const config = { seed: 1, groklab_version: '0.1.0', preset: 'modadd' };
  const split = { train: [0, 2], test: [1, 3] };

  it('creates a complete run folder', () => {
    const runsDir = path.join(tmpDir(), 'runs');
    const run = createRunFolder(runsDir, 'r1', { config, split });
    assert.deepEqual(fs.readdirSync(runsDir), ['r1']);
    assert.deepEqual(fs.readdirSync(run.dir).sort(), [
      'checkpoints',
      'config.json',
      'metrics.jsonl',
      'split.json',
      'status.json',
    ]);
    const opened = openRun(runsDir, 'r1');
    assert.deepEqual(opened.readConfig(), config);
    assert.deepEqual(opened.readSplit(), split);
    const status = opened.readStatus();
    assert.equal(status.state, 'running');
    assert.equal(status.step, 0);
    assert.equal(status.pid, process.pid);
    assert.equal(status.hostname, os.hostname());
    assert.deepEqual(opened.readMetrics(), { records: [], tornTail: false });
  });

  it('leaves nothing behind when creation fails', () => {
    const runsDir = path.join(tmpDir(), 'runs');
    // JSON.stringify throws on a BigInt, half-way through making the folder.
    assert.throws(() => createRunFolder(runsDir, 'r1', { config, split: { n: 1n } }), /BigInt/);
    assert.deepEqual(fs.readdirSync(runsDir), []);
  });

  it('refuses a duplicate id without touching the existing run', () => {
    const runsDir = tmpDir();
    createRunFolder(runsDir, 'r1', { config, split });
    assert.throws(() => createRunFolder(runsDir, 'r1', { config: { seed: 2 }, split }), isRunUsageError);
    assert.deepEqual(openRun(runsDir, 'r1').readConfig(), config);
    assert.deepEqual(fs.readdirSync(runsDir), ['r1']);
  });

  it('rejects unsafe run ids', () => {
    const runsDir = tmpDir();
    for (const id of [
      '../../etc/passwd',
      'a/b',
      'a\\b',
      '',
      '.',
      '..',
      '.hidden',
      '-flag',
      'a b',
      'x'.repeat(200),
    ]) {
      assert.throws(() => validateRunId(id), isRunUsageError, JSON.stringify(id));
      assert.throws(
        () => createRunFolder(runsDir, id, { config, split }),
        isRunUsageError,
        JSON.stringify(id),
      );
      assert.throws(() => openRun(runsDir, id), isRunUsageError, JSON.stringify(id));
    }
    assert.deepEqual(fs.readdirSync(runsDir), []);
    for (const id of ['modadd-20240101-120000', 'a.b_c-D9', '7']) assert.equal(validateRunId(id), id);
  });

  it('makes timestamped ids with a suffix when taken', () => {
    const runsDir = tmpDir();
    const now = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
    const id = newRunId('modadd', runsDir, now);
    assert.equal(id, 'modadd-20240102-030405');
    createRunFolder(runsDir, id, { config, split });
    assert.equal(newRunId('modadd', runsDir, now), 'modadd-20240102-030405-2');
    fs.mkdirSync(path.join(runsDir, 'modadd-20240102-030405-2'));
    assert.equal(newRunId('modadd', runsDir, now), 'modadd-20240102-030405-3');
    assert.equal(newRunId('../evil preset', runsDir, now), 'evil-preset-20240102-030405');
  });

  it('reports a missing run with the existing ids', () => {
    const runsDir = tmpDir();
    assert.throws(() => openRun(runsDir, 'nope'), /does not exist in .*no runs yet/);
    createRunFolder(runsDir, 'alpha', { config, split });
    assert.throws(
      () => openRun(runsDir, 'nope'),
      (err: unknown) => isRunUsageError(err) && /does not exist in .*existing runs: alpha/.test(String(err)),
    );
  });

  it('resolves a run given by id, or by the path of its folder (relative or absolute)', () => {
    const root = tmpDir();
    const runsDir = path.join(root, 'runs');
    const otherRunsDir = path.join(root, 'elsewhere');
    createRunFolder(runsDir, 'r1', { config, split });
    fs.mkdirSync(path.join(root, 'not-a-run'));

    const byId = resolveRunFolder('r1', runsDir);
    assert.equal(byId.dir, path.join(runsDir, 'r1'));
    assert.equal(byId.runsDir, runsDir);
    // A path wins over --runs-dir, and its parent becomes the runs directory.
    const relative = path.relative(process.cwd(), path.join(runsDir, 'r1'));
    for (const arg of [relative, `${relative}/`, path.join(runsDir, 'r1')]) {
      const run = resolveRunFolder(arg, otherRunsDir);
      assert.equal(run.id, 'r1', arg);
      assert.equal(run.runsDir, runsDir, arg);
      assert.deepEqual(run.readConfig(), config, arg);
    }

    const problem = (arg: string) => {
      try {
        resolveRunFolder(arg, runsDir);
      } catch (err) {
        assert.ok(isRunUsageError(err), `${arg}: ${err}`);
        return (err as UsageError).problems[0].message;
      }
      assert.fail(`${arg} resolved`);
    };
    assert.match(problem(path.join(root, 'runs', 'r2')), /^no run folder at .*r2 \(it does not exist\)/);
    assert.match(problem(path.join(root, 'not-a-run')), /\(it has no config\.json\)/);
    assert.ok(
      problem('./nope').startsWith(`no run folder at ./nope (${path.resolve('nope')} does not exist); `),
      problem('./nope'),
    );
    assert.match(problem('r2'), /run "r2" does not exist in .*existing runs: r1/);
  });

  it('writes, lists, reads and deletes checkpoints in step order', () => {
    const run = createRunFolder(tmpDir(), 'r1', { config, split });
    assert.equal(run.latestCheckpoint(), null);
    for (const step of [1000, 20, 300, 100_000_000]) run.writeCheckpoint(step, Uint8Array.from([step % 256]));
    // A temp file of an unfinished write must not count.
    fs.writeFileSync(path.join(run.checkpointsDir, '.step-00000500.safetensors.tmp-1-0'), 'x');
    assert.equal(path.basename(run.checkpointPath(20)), 'step-00000020.safetensors');
    assert.deepEqual(run.listCheckpoints(), [20, 300, 1000, 100_000_000]);
    assert.equal(run.latestCheckpoint(), 100_000_000);
    assert.deepEqual([...run.readCheckpoint(300)], [300 % 256]);
    assert.throws(
      () => run.readCheckpoint(301),
      (err: unknown) => err instanceof UsageError && /available: 20, 300/.test(err.message),
    );
    assert.deepEqual(run.deleteCheckpointsAfter(300), [1000, 100_000_000]);
    assert.deepEqual(run.listCheckpoints(), [20, 300]);
  });

  it('merges status updates', () => {
    const run = createRunFolder(tmpDir(), 'r1', { config, split });
    const before = run.readStatus();
    run.writeStatus({ step: 500, message: 'half way' });
    const after = run.writeStatus({ state: 'finished', step: 1000, message: undefined });
    assert.equal(after.state, 'finished');
    assert.equal(after.step, 1000);
    assert.equal(after.message, undefined);
    assert.equal(after.created_at, before.created_at);
    assert.equal(after.started_at, before.started_at);
    assert.deepEqual(run.readStatus(), JSON.parse(JSON.stringify(after)));
    assert.throws(() => run.writeStatus({ step: -1 }), /invalid run status/);
    assert.equal(run.readStatus().step, 1000);
  });

  it('lists runs with running, finished, interrupted and broken states', async () => {
    const runsDir = tmpDir();
    const make = (id: string) => createRunFolder(runsDir, id, { config: { ...config, id }, split });
    const tick = () => new Promise((resolve) => setTimeout(resolve, 5)); // distinct created_at

    make('running');
    await tick();
    const finished = make('finished');
    finished.writeStatus({ state: 'finished', step: 3000 });
    const log = finished.openMetricsLog();
    log.append({ step: 1000, acc: 0.5 });
    log.append({ step: 3000, acc: 1 });
    log.close();
    await tick();
    make('interrupted').writeStatus({ step: 200, pid: deadPid() });
    await tick();
    make('elsewhere').writeStatus({ pid: deadPid(), hostname: `not-${os.hostname()}` });
    await tick();
    fs.writeFileSync(make('broken-config').configPath, '{ nope');
    fs.rmSync(make('broken-status').statusPath);
    fs.mkdirSync(path.join(runsDir, 'empty'));
    fs.mkdirSync(path.join(runsDir, '.r9.tmp-12345')); // a creation in progress
    fs.writeFileSync(path.join(runsDir, 'stray.txt'), '');

    const runs = listRuns(runsDir);
    const byId = Object.fromEntries(runs.map((r) => [r.id, r]));
    assert.deepEqual(Object.keys(byId).sort(), [
      'broken-config',
      'broken-status',
      'elsewhere',
      'empty',
      'finished',
      'interrupted',
      'running',
    ]);
    assert.equal(byId.running.state, 'running');
    assert.equal(byId.running.lastMetrics, null);
    assert.deepEqual(byId.running.config, { ...config, id: 'running' });
    assert.equal(byId.finished.state, 'finished');
    assert.equal(byId.finished.step, 3000);
    assert.deepEqual(byId.finished.lastMetrics, { step: 3000, acc: 1 });
    assert.equal(byId.interrupted.state, 'interrupted');
    assert.equal(byId.interrupted.step, 200);
    assert.equal(byId.elsewhere.state, 'running'); // cannot check a pid on another host
    for (const id of ['broken-config', 'broken-status', 'empty']) {
      assert.equal(byId[id].state, 'broken', id);
      assert.ok(byId[id].reason, id);
    }
    assert.match(byId['broken-config'].reason ?? '', /config\.json is not valid JSON/);
    const created = ['running', 'finished', 'interrupted', 'elsewhere'];
    assert.deepEqual(
      runs.map((r) => r.id).filter((id) => created.includes(id)),
      created,
    );
    assert.deepEqual(listRuns(path.join(runsDir, 'missing')), []);
  });
});
