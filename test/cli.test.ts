// The CLI as users run it: exit codes, messages naming fields, and no run folder for rejected input.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDirs } from './helpers/temp-dirs.ts';

const bin = path.resolve(import.meta.dirname, '../bin/groklab.mjs');

function groklab(args: string[], runsDir: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, GROKLAB_RUNS: runsDir, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = tempDirs('cli');

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
    [['resume', '../../etc/passwd'], [/run: invalid run id/]],
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
