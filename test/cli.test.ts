// The CLI as users run it: exit codes, messages naming fields, and no run folder for rejected input.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { TrainingProgress } from '../src/cli/progress.ts';
import { openRun } from '../src/runs/index.ts';
import type { EvalRecord } from '../src/train/trainer.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { tinyGrokkingConfig } from './helpers/tiny-config.ts';

const bin = path.resolve(import.meta.dirname, '../bin/groklab.mjs');

function groklab(args: string[], runsDir: string, env: Record<string, string> = {}, cwd?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GROKLAB_RUNS: runsDir, ...env },
    cwd,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = tempDirs('cli');

/** Writes a tiny seeded config (x+y mod 31, see tinyGrokkingConfig) for `train --config`. */
function tinyConfigFile(dir: string, options: Parameters<typeof tinyGrokkingConfig>[0]): string {
  const file = path.join(dir, 'tiny.json');
  fs.writeFileSync(file, JSON.stringify(tinyGrokkingConfig(options)));
  return file;
}

test('bad input exits 2 with one line per problem and creates no run folder', () => {
  const cases: Array<[string[], RegExp[]]> = [
    [['train', '--preset', 'nope'], [/--preset: unknown preset "nope"; one of demo, nanda-113/]],
    [['train'], [/--preset: required/]],
    [['train', '--preset', 'demo', '--set', 'train.wd=1'], [/train\.wd: /]],
    [['train', '--preset', 'demo', '--set', 'train.lr=abc'], [/train\.lr: lr must be a number/]],
    [
      [
        'train',
        '--preset',
        'demo',
        '--set',
        'task.train_fraction=1.2',
        '--set',
        'train.steps=0',
        '--set',
        'p=1',
      ],
      [/task\.train_fraction: .*\(0, 1\)/, /train\.steps: .*≥ 1/, /task\.p: /],
    ],
    [['train', '--preset', 'demo', '--set', 'wd=-0.5'], [/train\.weight_decay: weight_decay must be ≥ 0/]],
    [['train', '--preset', 'demo', '--set', 'task.op=div', '--set', 'task.p=50'], [/task\.p: .*prime/]],
    [['train', '--preset', 'demo', '--bogus'], [/unknown option/]],
    [['resume', 'no-such-run'], [/run: run "no-such-run" does not exist/]],
    [['resume', '../../etc/passwd'], [/run: no run folder at \.\.\/\.\.\/etc\/passwd \(.* does not exist\)/]],
    [['resume', 'runs/no-such-run'], [/run: no run folder at runs\/no-such-run \(.* does not exist\)/]],
  ];
  for (const [args, patterns] of cases) {
    const runsDir = path.join(tmp(), 'runs');
    const r = groklab(args, runsDir);
    assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}\n${r.stderr}`);
    for (const pattern of patterns) assert.match(r.stderr, pattern, args.join(' '));
    const made = fs.existsSync(runsDir) ? fs.readdirSync(runsDir) : [];
    assert.deepEqual(made, [], `${args.join(' ')} left ${made}`);
  }
});

test('bad engine settings in the environment exit 2 before a run folder exists', () => {
  for (const [name, value, pattern] of [
    ['GROKLAB_THREADS', '0', /GROKLAB_THREADS: must be an integer from 1 to 16 or auto/],
    ['GROKLAB_KERNELS', 'gpu', /GROKLAB_KERNELS/],
  ] as const) {
    const runsDir = path.join(tmp(), 'runs');
    const r = groklab(['train', '--preset', 'demo', '--set', 'steps=5'], runsDir, { [name]: value });
    assert.equal(r.code, 2, `${name}=${value}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.deepEqual(fs.existsSync(runsDir) ? fs.readdirSync(runsDir) : [], []);
  }
});

test('presets lists every preset with a description', () => {
  const r = groklab(['presets'], tmp());
  assert.equal(r.code, 0);
  for (const name of ['demo', 'nanda-113', 'power-97'])
    assert.match(r.stdout, new RegExp(`^${name} +\\S`, 'm'));
});

test('a reader that closes the pipe early (groklab presets | head) ends the command quietly, exit 0', async () => {
  // The read end is closed before the command writes anything: every write then fails with EPIPE.
  const child = spawn(process.execPath, [bin, 'presets'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(stderr, '', 'no stack trace');
  assert.equal(code, 0);
});

test('runs on an empty directory says so', () => {
  const dir = tmp();
  const r = groklab(['runs'], dir);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /no runs/);
});

describe('resume', () => {
  test('takes the path of a run folder, relative or absolute, as well as a run id', () => {
    const root = tmp();
    const runsDir = path.join(root, 'runs');
    // GROKLAB_RUNS points elsewhere: a run given by path must not be looked up there.
    const elsewhere = path.join(root, 'elsewhere');
    const config = tinyConfigFile(root, { train: { steps: 20 } });
    const trained = groklab(
      ['train', '--config', config, '--id', 'a', '--runs-dir', runsDir, '--quiet'],
      elsewhere,
    );
    assert.equal(trained.code, 0, trained.stderr);

    const relative = groklab(['resume', 'runs/a', '--set', 'steps=30', '--quiet'], elsewhere, {}, root);
    assert.equal(relative.code, 0, relative.stderr);
    assert.match(relative.stdout, /^run a \(.*\): finished at step 30: step budget reached/);
    assert.equal(openRun(runsDir, 'a').readStatus().step, 30);

    // --fork puts the new run next to the one given by path.
    const absolute = groklab(
      ['resume', path.join(runsDir, 'a'), '--set', 'steps=40', '--fork', 'b', '--quiet'],
      elsewhere,
    );
    assert.equal(absolute.code, 0, absolute.stderr);
    assert.match(absolute.stdout, /^run b \(.*\): finished at step 40: step budget reached/);
    assert.deepEqual(fs.readdirSync(runsDir).sort(), ['a', 'b']);
    assert.equal(fs.existsSync(elsewhere), false);

    fs.mkdirSync(path.join(root, 'empty'));
    const notARun = groklab(['resume', path.join(root, 'empty')], elsewhere);
    assert.equal(notARun.code, 2);
    assert.match(notARun.stderr, /run: no run folder at .*empty \(it has no config\.json\)/);
  });

  test('says up front when the stop rule is already met, and the summary says the rule stopped the run', () => {
    const root = tmp();
    const runsDir = path.join(root, 'runs');
    // Test acc ≥ 0.9 is reached around step 240 (see tiny-config.ts); evaluations every 10 steps.
    const config = tinyConfigFile(root, { train: { steps: 1000, stop_test_acc: 0.9, stop_patience: 2 } });
    const trained = groklab(['train', '--config', config, '--id', 'g', '--quiet'], runsDir);
    assert.equal(trained.code, 0, trained.stderr);
    const rule = 'test acc ≥ 0\\.9 for 2 evaluations in a row';
    const stoppedAt = Number(
      new RegExp(`^run g \\(.*\\): finished at step (\\d+): stop rule met \\(${rule}\\)`).exec(
        trained.stdout,
      )?.[1],
    );
    assert.ok(stoppedAt > 100 && stoppedAt < 1000, trained.stdout);
    assert.equal(trained.stderr, '', 'nothing to note on a fresh run');

    const resumed = groklab(['resume', 'g', '--set', 'steps=2000', '--quiet'], runsDir);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(
      resumed.stderr,
      new RegExp(
        `^note: the stop rule \\(${rule}\\) is already met at step ${stoppedAt}, so training stops at the next evaluation`,
      ),
    );
    assert.match(resumed.stderr, /--set train\.stop_test_acc=null/);
    assert.match(
      resumed.stdout,
      new RegExp(`finished at step ${stoppedAt + 10}: stop rule met \\(${rule}\\)`),
    );

    // As the note says: without the rule it trains on to the budget, and there is nothing to note.
    const onward = groklab(
      ['resume', 'g', '--set', 'train.stop_test_acc=null', '--set', `steps=${stoppedAt + 30}`, '--quiet'],
      runsDir,
    );
    assert.equal(onward.code, 0, onward.stderr);
    assert.equal(onward.stderr, '');
    assert.match(onward.stdout, new RegExp(`finished at step ${stoppedAt + 30}: step budget reached`));
  });
});

test('after Ctrl-C the summary and the progress name the step of the checkpoint written, not the last evaluation', async () => {
  const root = tmp();
  const runsDir = path.join(root, 'runs');
  // One evaluation (step 0) and checkpoints at powers of two only: the stop lands between them.
  const config = tinyConfigFile(root, {
    train: { steps: 100_000 },
    eval: { every: 100_000, log_points_per_decade: 0, checkpoint_every: 100_000 },
  });
  const child = spawn(
    process.execPath,
    [bin, 'train', '--config', config, '--id', 'c', '--runs-dir', runsDir],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    // The SIGINT handler is in place once training has started; let it take some steps first.
    // Only one Ctrl-C: a second one quits at once.
    if (!interrupted && /training from step 0/.test(stderr)) {
      interrupted = true;
      setTimeout(() => child.kill('SIGINT'), 500);
    }
  });
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0, stderr);
  const run = openRun(runsDir, 'c');
  const checkpoint = run.latestCheckpoint();
  assert.ok(checkpoint !== null && checkpoint > 0, `checkpoints: ${run.listCheckpoints()}`);
  assert.equal(run.readStatus().step, checkpoint);
  assert.match(
    stdout,
    new RegExp(`^run c \\(.*\\): stopped by Ctrl-C at step ${checkpoint} \\(checkpoint written\\)`),
  );
  assert.match(stderr, new RegExp(`step ${checkpoint}/100000 .*stopped by Ctrl-C\\n`));
});

test('a run whose loss becomes NaN stops there, is marked failed and says so in its summary (exit 1)', () => {
  const root = tmp();
  const runsDir = path.join(root, 'runs');
  // Plain SGD at lr 100 blows up within a few steps.
  const config = tinyConfigFile(root, { train: { optimizer: 'sgd', lr: 100, steps: 200 } });
  const r = groklab(['train', '--config', config, '--id', 'd', '--quiet'], runsDir);
  assert.equal(r.code, 1, r.stderr);
  const at =
    /^run d \(.*\): failed at step (\d+): training diverged \(train loss (NaN|-?Infinity)\); resume from before it with gentler settings, e\.g\. groklab resume \S+ --step (\d+) --set lr=10$/m.exec(
      r.stdout,
    );
  assert.ok(at, r.stdout);
  const step = Number(at[1]);
  assert.ok(step < 200, 'stopped at once, not at the budget');
  const run = openRun(runsDir, 'd');
  assert.equal(run.readStatus().state, 'failed');
  assert.equal(run.readStatus().step, step);
  assert.match(run.readStatus().message ?? '', /training diverged/);
  assert.ok(Number(at[3]) < step);
  const records = run.readMetrics().records as unknown as EvalRecord[];
  assert.ok(records.length > 0);
  for (const record of records) assert.ok(Number.isFinite(record.train_loss), `step ${record.step}`);
});

/** A stand-in for stderr that keeps what is written; `isTTY` picks the bar or the line display. */
function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = {
    isTTY,
    columns: 160,
    write(chunk: string) {
      chunks.push(String(chunk));
      return true;
    },
  };
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

function evalRecord(step: number, testAcc: number): EvalRecord {
  return {
    step,
    train_loss: 0.01,
    train_acc: 1,
    test_loss: 0.1,
    test_acc: testAcc,
    weight_norm: 70,
    norms: {},
    lr: 1e-3,
    wall_s: 1,
  };
}

describe('training progress', () => {
  for (const isTTY of [false, true]) {
    const kind = isTTY ? 'bar (terminal)' : 'lines (pipe)';

    test(`${kind}: no "ETA 0s" before any step has been timed`, () => {
      const { stream, text } = fakeStream(isTTY);
      const progress = new TrainingProgress(3000, stream);
      progress.start(0);
      progress.step(0);
      progress.stop();
      assert.ok(text().length > 0, 'something was shown');
      assert.doesNotMatch(text(), /ETA 0s/);
      assert.match(text(), /ETA -/);
    });

    test(`${kind}: when the stop rule ends the run, shows the step it stopped at and why`, async () => {
      const { stream, text } = fakeStream(isTTY);
      const progress = new TrainingProgress(3000, stream);
      progress.start(0);
      await new Promise((resolve) => setTimeout(resolve, 5));
      for (let step = 1; step < 2475; step++) progress.step(step);
      progress.eval(evalRecord(2475, 0.994));
      // The trainer ends at step 2475 before its step() call: finish() is the only news of it.
      progress.finish(2475, 'threshold');
      progress.stop();
      const shown = text();
      if (isTTY) {
        assert.match(shown, /2475\/3000 \| train 1\.000 test 0\.994/);
        assert.match(shown, /stopped by the stop rule at step 2475\n$/);
      } else {
        assert.match(shown, /step 2475\/3000 +train 1\.000 +test 0\.994 .*stopped by the stop rule\n$/);
      }
    });
  }

  test('quiet shows nothing, not even the ending', () => {
    const { stream, text } = fakeStream(true);
    const progress = new TrainingProgress(100, stream, true);
    progress.start(0);
    progress.step(1);
    progress.finish(1, 'interrupted');
    assert.equal(text(), '');
  });
});

test('formatSeconds rounds before it splits into units', async () => {
  const { formatSeconds } = await import('../src/util/format-time.ts');
  assert.deepEqual([0, 42.4, 59.6, 187, 3599.6, 7500, Number.NaN].map(formatSeconds), [
    '0s',
    '42s',
    '1m00s',
    '3m07s',
    '1h00m',
    '2h05m',
    '-',
  ]);
});

test('help lists every command, and each command describes itself when loaded on its own', () => {
  const runsDir = tmp();
  const list = groklab(['--help'], runsDir);
  assert.equal(list.code, 0);
  for (const name of ['train', 'resume', 'runs', 'presets', 'detect', 'analyze', 'export', 'import', 'sweep'])
    assert.match(list.stdout, new RegExp(`^  ${name} `, 'm'));
  const summaryOnly = groklab(['train', '--help'], runsDir);
  assert.match(
    summaryOnly.stdout,
    /\n\ntrain a model from a preset \(or a config file\) into a new run folder\n/,
  );
  const ownDescription = groklab(['help', 'analyze'], runsDir);
  assert.match(ownDescription.stdout, /measure why a run grokked, over its checkpoints/);
});
