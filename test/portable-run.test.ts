// Run folders as data (src/runs/portable.ts): the bytes a page would export are the bytes the Node
// runner writes, a zip of them imports as a run that detect, resume and friends accept, detect on the
// zip or on the run in memory gives the folder's verdict, and the in-memory resume core
// (src/runner/restore.ts) continues a trainer exactly as `groklab resume` does.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { zipSync } from 'fflate';
import type { Override } from '../src/config/overrides.ts';
import { parseRunConfig } from '../src/config/schema.ts';
import { getKernels } from '../src/engine/kernels-default.ts';
import { buildExperiment } from '../src/experiment/build.ts';
import { analyzeLog } from '../src/measures/analyze.ts';
import { type DetectOutcome, type DetectResult, detectPath, detectRun } from '../src/measures/index.ts';
import { detectPortableRun, loadLogText } from '../src/measures/run-log.ts';
import { restoreTrainer, resumedConfig } from '../src/runner/restore.ts';
import { resumeRun, startRun } from '../src/runner/session.ts';
import { openRun } from '../src/runs/index.ts';
import { type PortableRun, runFolderFiles, unzipRunFolder, zipRunFolder } from '../src/runs/portable.ts';
import { readPortableRun, writePortableRun } from '../src/runs/portable-node.ts';
import type { EvalRecord } from '../src/train/trainer.ts';
import { UsageError } from '../src/util/errors.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { tinyGrokkingConfig } from './helpers/tiny-config.ts';

const tmp = tempDirs('portable');
const FIXTURES = path.resolve(import.meta.dirname, 'fixtures/measures');

/** Every file under `dir`, relative and "/"-separated, with its bytes. */
function filesOf(dir: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub === '' ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else files.set(rel, new Uint8Array(fs.readFileSync(path.join(dir, rel))));
    }
  };
  walk('');
  return files;
}

/** A DetectResult without where it was read from (the path differs between a folder, a zip and memory). */
function verdictOf(outcome: DetectOutcome): unknown {
  assert.ok(!('error' in outcome), `detect failed: ${JSON.stringify(outcome)}`);
  const result = outcome as DetectResult;
  return { ...result, source: { ...result.source, path: null } };
}

const MAIN = pathToFileURL(path.resolve(import.meta.dirname, '../src/cli/main.ts')).href;

/**
 * Runs the CLI from the sources (main.ts) in a child process, as a user would run it: in this one
 * its output would mix with the test runner's, which reports on stdout.
 */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `import { main } from ${JSON.stringify(MAIN)}; process.exitCode = await main(process.argv.slice(1));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code: code ?? -1, stdout, stderr };
}

const withoutWall = (records: readonly Record<string, unknown>[]) =>
  records.map(({ wall_s: _wall, ...rest }) => rest);

describe('portable run folders', () => {
  let runsDir = '';
  let runDir = '';
  const RUN_ID = 'tiny';

  before(async () => {
    runsDir = path.join(tmp(), 'runs');
    // x+y mod 31 groks near step 250 (tiny-config.ts); checkpoints at 0, 100, 200 and 300.
    const config = tinyGrokkingConfig({ train: { steps: 300 }, eval: { every: 10, checkpoint_every: 100 } });
    const outcome = await startRun(runsDir, config, { id: RUN_ID, hooks: { onNotice: () => {} } });
    runDir = outcome.run.dir;
    assert.equal(outcome.reason, 'budget');
  });

  test('runFolderFiles gives back the bytes of every file the runner wrote', () => {
    const run = readPortableRun(runDir);
    assert.equal(run.id, RUN_ID);
    // Log-spaced early checkpoints, then every 100 steps.
    assert.deepEqual([...run.checkpoints.keys()], [0, 1, 2, 4, 8, 16, 32, 64, 100, 200, 300]);
    const onDisk = filesOf(runDir);
    const made = runFolderFiles(run);
    assert.deepEqual(made.map((f) => f.path).sort(), [...onDisk.keys()].sort());
    for (const file of made) assert.deepEqual(file.bytes, onDisk.get(file.path), file.path);
  });

  test('a zip imports as the same folder, and detect, resume and the in-memory detect agree', async () => {
    const original = readPortableRun(runDir);
    const zip = zipRunFolder(original);
    // The same run gives the same zip: entries are dated at the status's updated_at.
    assert.deepEqual(zipRunFolder(original), zip);
    const work = tmp();
    const zipFile = path.join(work, 'tiny.zip');
    fs.writeFileSync(zipFile, zip);

    const into = path.join(work, 'runs');
    const imported = await cli(['import', zipFile, '--runs-dir', into]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(
      imported.stdout,
      new RegExp(
        `imported run tiny into .*: ${original.records.length} evaluation\\(s\\), checkpoints at step ${[...original.checkpoints.keys()].join(', ')}\n`,
      ),
    );
    const copy = filesOf(path.join(into, RUN_ID));
    const onDisk = filesOf(runDir);
    assert.deepEqual([...copy.keys()].sort(), [...onDisk.keys()].sort());
    for (const [name, bytes] of onDisk) assert.deepEqual(copy.get(name), bytes, name);
    assert.deepEqual(fs.readdirSync(into), [RUN_ID], 'no staging folder is left behind');

    const expected = verdictOf(detectRun(runDir));
    assert.deepEqual(verdictOf(detectRun(path.join(into, RUN_ID))), expected);
    const [fromZip] = detectPath(zipFile);
    assert.deepEqual(verdictOf(fromZip), expected);
    assert.equal((fromZip as DetectResult).source.path, zipFile);
    assert.equal((fromZip as DetectResult).source.run_id, RUN_ID);
    assert.deepEqual(verdictOf(detectPortableRun(unzipRunFolder(zip))), expected);
    assert.deepEqual(verdictOf(detectPortableRun(original)), expected);
    const json = await cli(['detect', zipFile, '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(verdictOf((JSON.parse(json.stdout) as DetectOutcome[])[0]), expected);

    // Under another id, and the same id again is refused without touching the first.
    const again = await cli(['import', zipFile, '--runs-dir', into]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /run: run "tiny" already exists in .*; import it under another id with --id/);
    const renamed = await cli(['import', zipFile, '--runs-dir', into, '--id', 'tiny-2']);
    assert.equal(renamed.code, 0, renamed.stderr);
    assert.deepEqual(fs.readdirSync(into).sort(), ['tiny', 'tiny-2']);

    const resumed = await cli(['resume', RUN_ID, '--runs-dir', into, '--set', 'steps=340', '--quiet']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const after = openRun(into, RUN_ID);
    assert.equal(after.readStatus().state, 'finished');
    assert.equal(after.readStatus().step, 340);
    assert.equal(after.readMetrics().records.at(-1)?.step, 340);
  });

  test('a zip of a run still training imports as stopped, so resume continues it', async () => {
    const run = readPortableRun(runDir);
    run.status = { ...run.status, state: 'running', pid: 1, hostname: 'a-browser-tab' };
    const back = unzipRunFolder(zipRunFolder(run));
    assert.equal(back.status.state, 'stopped');
    assert.match(String(back.status.message), /exported while running at step 300/);
    const into = path.join(tmp(), 'runs');
    writePortableRun(into, back);
    const resumed = await cli(['resume', RUN_ID, '--runs-dir', into, '--set', 'steps=320', '--quiet']);
    assert.equal(resumed.code, 0, resumed.stderr);
  });

  test('a broken zip exits 2 naming the zip and the file inside, and imports nothing', async () => {
    const good = unzipRunFolder(zipRunFolder(readPortableRun(runDir)));
    const text = (s: string) => new TextEncoder().encode(s);
    const entries = (run: PortableRun, top = run.id) =>
      Object.fromEntries(runFolderFiles(run).map((f) => [`${top}/${f.path}`, f.bytes]));
    const without = (name: string) => {
      const all = entries(good);
      delete all[`tiny/${name}`];
      return zipSync(all);
    };
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['not-a-zip.zip', text('config.json and friends, but not zipped'), /not a zip archive/],
      ['empty.zip', zipSync({}), /expected one top folder <run id>\/ .*; it is empty/],
      [
        'two-runs.zip',
        zipSync({ ...entries(good), ...entries({ ...good, id: 'other' }) }),
        /one top folder.*other, tiny/,
      ],
      ['no-config.zip', without('config.json'), /tiny\/config\.json is missing: not a groklab run folder/],
      ['no-status.zip', without('status.json'), /tiny\/status\.json is missing/],
      [
        'bad-config.zip',
        zipSync({ ...entries(good), 'tiny/config.json': text('{"task": ') }),
        /tiny\/config\.json is not valid JSON/,
      ],
      [
        'array-config.zip',
        zipSync({ ...entries(good), 'tiny/config.json': text('[1]') }),
        /tiny\/config\.json is not a JSON object/,
      ],
      [
        'bad-metrics.zip',
        zipSync({ ...entries(good), 'tiny/metrics.jsonl': text('{"step": 0}\nnot json\n{"step": 20}\n') }),
        /tiny\/metrics\.jsonl:2: invalid JSON in metrics log/,
      ],
      [
        'bad-checkpoint.zip',
        zipSync({ ...entries(good), 'tiny/checkpoints/final.safetensors': new Uint8Array(8) }),
        /tiny\/checkpoints\/final\.safetensors is not a checkpoint name: expected step-<8 or more digits>\.safetensors/,
      ],
      ['bad-id.zip', zipSync(entries(good, '-tiny')), /top folder "-tiny": invalid run id/],
    ];
    const work = tmp();
    const into = path.join(work, 'runs');
    const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // Through the CLI for a few (a child process each takes a second); every case through the
    // reader detect and import share, whose UsageError the CLI prints as `groklab: FIELD: MESSAGE`.
    const viaCli = new Set(['not-a-zip.zip', 'no-config.zip', 'bad-checkpoint.zip']);
    for (const [name, bytes, pattern] of cases) {
      const file = path.join(work, name);
      fs.writeFileSync(file, bytes);
      assert.throws(
        () => detectPath(file),
        (err: unknown) =>
          err instanceof UsageError && err.problems[0].field === file && pattern.test(err.message),
        name,
      );
      if (!viaCli.has(name)) continue;
      for (const args of [
        ['detect', file],
        ['import', file, '--runs-dir', into],
      ]) {
        const r = await cli(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`groklab: ${escaped(file)}: `), args.join(' '));
        assert.match(r.stderr, pattern, args.join(' '));
      }
    }
    assert.deepEqual(fs.existsSync(into) ? fs.readdirSync(into) : [], []);

    // Flags of TransformerLens imports, or more than one file, do not go with a zip.
    const zipFile = path.join(work, 'tiny.zip');
    fs.writeFileSync(zipFile, zipRunFolder(good));
    const mixed = await cli(['import', zipFile, 'other.safetensors', '--task', 'add', '--runs-dir', into]);
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /files: a \.zip is imported alone/);
    assert.match(mixed.stderr, /--task: is for TransformerLens checkpoints/);

    // A config that is JSON but not a groklab config: detect reads the curves (without the baseline,
    // as for such a folder), import refuses it, since resume and analyze could not use it.
    const foreign = path.join(work, 'foreign.zip');
    fs.writeFileSync(foreign, zipRunFolder({ ...good, config: { ...good.config, task: { kind: 'nope' } } }));
    const [read] = detectPath(foreign);
    assert.ok((read as DetectResult).issues.some((i) => i.kind === 'broken-run'));
    const refused = await cli(['import', foreign, '--runs-dir', into]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /foreign\.zip: tiny\/config\.json: task\.kind: /);
    assert.deepEqual(fs.existsSync(into) ? fs.readdirSync(into) : [], []);
  });

  test('a torn last metrics line in a zip is skipped and reported, as in a folder', () => {
    const work = tmp();
    const torn = path.join(work, 'runs', RUN_ID);
    fs.cpSync(runDir, torn, { recursive: true });
    fs.appendFileSync(path.join(torn, 'metrics.jsonl'), '{"step": 310, "train_ac');
    const run = readPortableRun(torn);
    assert.equal(run.tornTail, true);
    const files = runFolderFiles(run);
    const entries = Object.fromEntries(files.map((f) => [`${RUN_ID}/${f.path}`, f.bytes]));
    entries[`${RUN_ID}/metrics.jsonl`] = new Uint8Array(fs.readFileSync(path.join(torn, 'metrics.jsonl')));
    const zipFile = path.join(work, 'torn.zip');
    fs.writeFileSync(zipFile, zipSync(entries));
    const expected = verdictOf(detectRun(torn));
    assert.ok(
      (expected as DetectResult).issues.some((i) => i.kind === 'torn-tail'),
      'the folder reader reports the torn line',
    );
    assert.deepEqual(verdictOf(detectPath(zipFile)[0]), expected);
    assert.deepEqual(verdictOf(detectPortableRun(run)), expected);
  });

  test('resumedConfig + restoreTrainer continue a trainer exactly as resumeRun does', async () => {
    const overrides: Override[] = [
      { key: 'train.weight_decay', value: 0.3 },
      { key: 'train.lr', value: 5e-3 },
      { key: 'train.steps', value: 260 },
    ];
    const before = readPortableRun(runDir);
    const viaFiles = await resumeRun(runsDir, RUN_ID, {
      step: 100,
      forkId: 'tiny-fork',
      overrides,
      hooks: { onNotice: () => {} },
    });
    const forked = readPortableRun(viaFiles.run.dir);

    const previous = parseRunConfig(before.config);
    const config = resumedConfig(previous, overrides, RUN_ID, 100);
    const saved = forked.config as { lineage: Array<{ at: string }> };
    assert.deepEqual(
      { ...config, lineage: config.lineage?.map((l) => ({ ...l, at: '' })) },
      { ...saved, lineage: saved.lineage.map((l) => ({ ...l, at: '' })) },
    );
    assert.deepEqual(config.lineage?.at(-1), {
      from_run: RUN_ID,
      from_step: 100,
      overrides: { 'train.weight_decay': 0.3, 'train.lr': 5e-3, 'train.steps': 260 },
      at: config.lineage?.at(-1)?.at,
    });

    getKernels();
    const experiment = buildExperiment(config, before.split);
    const history = before.records as unknown as EvalRecord[];
    const checkpoint = before.checkpoints.get(100) as Uint8Array;
    const { trainer, notice } = restoreTrainer(experiment, checkpoint, config, history, 100);
    assert.equal(notice, null);
    const records: EvalRecord[] = [];
    await trainer.run({
      onEval: (r) => records.push(r),
      onCheckpoint: () => {},
    });
    assert.equal(trainer.step, 260);
    const expected = forked.records.filter((r) => r.step > 100);
    assert.ok(expected.length > 10);
    assert.deepEqual(withoutWall(records as unknown as Record<string, unknown>[]), withoutWall(expected));
  });

  test('resumedConfig refuses frozen sections and a step budget not above the checkpoint', () => {
    const previous = parseRunConfig(readPortableRun(runDir).config);
    assert.throws(
      () =>
        resumedConfig(
          previous,
          [
            { key: 'task.p', value: 37 },
            { key: 'model.width', value: 64 },
          ],
          RUN_ID,
          100,
        ),
      /task\.p: cannot change when resuming.*\nmodel\.width: cannot change when resuming/,
    );
    assert.throws(
      () => resumedConfig(previous, [{ key: 'train.steps', value: 100 }], RUN_ID, 100),
      /train\.steps: the checkpoint is at step 100; set train\.steps above it/,
    );
  });

  test('loadLogText reads a CSV or JSONL log as detect reads the file', () => {
    const csv = path.join(FIXTURES, 'wandb-export.csv');
    const fromFile = detectPath(csv);
    assert.deepEqual(analyzeLog(loadLogText(csv, fs.readFileSync(csv, 'utf8'))), fromFile[0]);

    const work = tmp();
    const jsonl = path.join(work, 'history.jsonl');
    fs.copyFileSync(path.join(runDir, 'metrics.jsonl'), jsonl);
    const text = fs.readFileSync(jsonl, 'utf8');
    assert.deepEqual(analyzeLog(loadLogText(jsonl, text)), detectPath(jsonl)[0]);
    // Without an extension the content says which: JSON lines start with "{".
    const bare = path.join(work, 'history');
    fs.writeFileSync(bare, text);
    assert.deepEqual(analyzeLog(loadLogText(bare, text)), detectPath(bare)[0]);
    assert.throws(() => loadLogText('empty.csv', 'step,train_acc\n'), /"empty\.csv" has no data rows/);
  });
});
