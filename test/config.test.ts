// Config validation: every preset is valid, and bad input names the field and what is allowed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { applyOverrides, parseOverrides } from '../src/config/overrides.ts';
import { PRESETS } from '../src/config/presets.ts';
import { GROKLAB_VERSION, parseRunConfig } from '../src/config/schema.ts';
import { UsageError } from '../src/util/errors.ts';

function problemsOf(fn: () => unknown): Array<{ field: string; message: string }> {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${err}`);
    return err.problems;
  }
  assert.fail('expected an error');
}

const base = () => structuredClone(PRESETS['nanda-113'].config) as Record<string, unknown>;
const withSet = (...items: string[]) => parseRunConfig(applyOverrides(base(), parseOverrides(items)));

test('every preset resolves to a valid config with seed, split seed and version', () => {
  for (const [name, preset] of Object.entries(PRESETS)) {
    const config = parseRunConfig(preset.config);
    assert.equal(config.split_seed, config.seed, name);
    assert.equal(config.groklab_version, GROKLAB_VERSION);
  }
});

test('required presets carry the literature configurations', () => {
  const nanda = parseRunConfig(PRESETS['nanda-113'].config);
  assert.deepEqual(nanda.task, { kind: 'modular', op: 'add', p: 113, train_fraction: 0.3 });
  assert.equal(nanda.model.kind === 'transformer' && nanda.model.layernorm, 'none');
  assert.equal(nanda.train.weight_decay, 1);
  assert.equal(nanda.train.beta2, 0.98);
  assert.equal(nanda.train.batch_size, 'full');
  const power = parseRunConfig(PRESETS['power-97'].config);
  assert.equal(power.task.kind === 'modular' && power.task.op, 'div');
  assert.equal(power.model.kind === 'transformer' && power.model.layers, 2);
  assert.equal(power.train.batch_size, 512);
  assert.equal(power.train.warmup_steps, 10);
});

test('overrides: dotted keys, aliases, JSON values and plain strings', () => {
  const config = withSet(
    'train.weight_decay=0.3',
    'lr=3e-4',
    'task.op=add',
    'train.batch_size=128',
    'seed=7',
  );
  assert.equal(config.train.weight_decay, 0.3);
  assert.equal(config.train.lr, 3e-4);
  assert.equal(config.task.kind === 'modular' && config.task.op, 'add');
  assert.equal(config.train.batch_size, 128);
  assert.equal(config.seed, 7);
  assert.equal(config.split_seed, 7);
});

test('bad values name the field and what is allowed', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['task.train_fraction=1.5', 'task.train_fraction', /\(0, 1\)|< ?1|at most|≤/],
    ['task.train_fraction=0', 'task.train_fraction', /./],
    ['task.p=1', 'task.p', /2/],
    ['train.weight_decay=-1', 'train.weight_decay', /≥ 0/],
    ['train.steps=0', 'train.steps', /≥ 1/],
    ['train.lr=fast', 'train.lr', /number/],
    ['train.optimizer=lion', 'train.optimizer', /adamw.*adam.*sgd/],
    ['model.layernorm=maybe', 'model.layernorm', /none, pre, post/],
    ['model.heads=3', 'model.heads', /divide/],
    ['train.batch_size=0', 'train.batch_size', /full/],
    ['task.op=pow', 'task.op', /add/],
  ];
  for (const [item, field, pattern] of cases) {
    const problems = problemsOf(() => withSet(item));
    const hit = problems.find((p) => p.field === field);
    assert.ok(hit, `${item}: got ${JSON.stringify(problems)}`);
    assert.match(hit.message, pattern, item);
  }
});

test('unknown keys are rejected by name, with the allowed keys', () => {
  const problems = problemsOf(() => withSet('train.learning_rate=0.1'));
  assert.equal(problems[0].field, 'train.learning_rate');
  assert.match(problems[0].message, /allowed: optimizer, lr, weight_decay/);
  const model = problemsOf(() => withSet('model.width=3'));
  assert.equal(model[0].field, 'model.width');
  assert.match(model[0].message, /allowed: kind, layers, d_model/);
  const top = problemsOf(() => withSet('sed=3'));
  assert.equal(top[0].field, 'sed');
  const section = problemsOf(() => withSet('train.lr.value=3'));
  assert.equal(section[0].field, 'train.lr.value');
});

test('division needs a prime modulus', () => {
  const problems = problemsOf(() => withSet('task.op=div', 'task.p=48'));
  assert.ok(problems.some((p) => p.field === 'task.p' && /prime/.test(p.message)));
});

test('several problems are all reported at once', () => {
  const problems = problemsOf(() =>
    withSet('train.steps=0', 'train.weight_decay=-2', 'task.train_fraction=2'),
  );
  const fields = problems.map((p) => p.field).sort();
  assert.deepEqual(fields, ['task.train_fraction', 'train.steps', 'train.weight_decay']);
});

test('a --set item without = is rejected', () => {
  const problems = problemsOf(() => parseOverrides(['train.lr']));
  assert.match(problems[0].message, /key=value/);
});

test('GROKLAB_VERSION is package.json version', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../package.json'), 'utf8'));
  assert.equal(GROKLAB_VERSION, pkg.version);
});

/** Every module `file` imports, transitively (relative imports only; the rest are listed as packages). */
function importsOf(file: string, seen = new Set<string>(), packages = new Set<string>()) {
  if (seen.has(file)) return { seen, packages };
  seen.add(file);
  const source = fs.readFileSync(file, 'utf8');
  // Type-only imports vanish at run time; a browser never loads them.
  for (const m of source.matchAll(/^import (?!type )[^;]*? from '([^']+)';/gms)) {
    const specifier = m[1];
    if (specifier.startsWith('.')) importsOf(path.resolve(path.dirname(file), specifier), seen, packages);
    else packages.add(specifier);
  }
  return { seen, packages };
}

test('the config modules load in a browser: nothing from Node, no package but zod', () => {
  const dir = path.join(import.meta.dirname, '../src/config');
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const { seen, packages } = importsOf(path.join(dir, name));
    assert.ok(seen.size > 0);
    assert.deepEqual(
      [...packages].filter((p) => p !== 'zod'),
      [],
      `${name} imports, through ${[...seen].map((f) => path.basename(f)).join(', ')}`,
    );
  }
});
