import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { applyOverrides, parseOverrides } from '../src/config/overrides.ts';
import { parseRunConfig, type RunConfigInput } from '../src/config/schema.ts';
import { accuracy, crossEntropy } from '../src/engine/ops.ts';
import { noGrad } from '../src/engine/tensor.ts';
import { buildExperiment } from '../src/experiment/build.ts';
import { detectCapabilities } from '../src/measures/capability-paths.ts';
import { componentCrossings, componentsSpec, hasComponents, specToSvg } from '../src/plots/index.ts';
import {
  buildTask,
  makeMixtureSplit,
  parseTaskSpec,
  type TaskSpecInput,
  taskSize,
  trainFractionOf,
} from '../src/tasks/index.ts';
import { sliceExamples } from '../src/train/data.ts';
import { UsageError } from '../src/util/errors.ts';
import { writeRunWithLog } from './fixtures/measures/collapse-runs.ts';

function assertUsage(fn: () => unknown, field: string, text?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${String(err)}`);
    const hit = err.problems.find((p) => p.field === field);
    assert.ok(hit, `no problem on ${field}: ${err.message}`);
    if (text !== undefined) assert.ok(hit.message.includes(text), `"${hit.message}" lacks "${text}"`);
    return true;
  });
}

const mod = (a: number, m: number) => ((a % m) + m) % m;

const MIX: TaskSpecInput = {
  kind: 'mixture',
  components: [
    { kind: 'modular', op: 'add', p: 7, train_fraction: 0.5 },
    { kind: 'modular', op: 'x2y2', p: 11, train_fraction: 0.3 },
    { kind: 'dihedral', op: 'compose', n: 3, train_fraction: 0.6, name: 'd3' },
  ],
};

describe('mixture task', () => {
  it('writes [x, op_i, y, =] with one operator token per component and labels from each table', () => {
    const task = buildTask(MIX);
    // Operands and labels share ids 0..10 (the largest component, p = 11); '=' is 11, operators 12, 13, 14.
    assert.equal(task.numClasses, 11);
    assert.equal(task.vocabSize, 15);
    assert.equal(task.seqLen, 4);
    assert.equal(task.numExamples, 49 + 121 + 36);
    assert.equal(task.numExamples, taskSize(parseTaskSpec(MIX) as never));
    assert.deepEqual(
      task.components?.map((c) => [c.name, c.start, c.count]),
      [
        ['add', 0, 49],
        ['x2y2', 49, 121],
        ['d3', 170, 36],
      ],
    );
    const closed = [
      (x: number, y: number) => mod(x + y, 7),
      (x: number, y: number) => mod(x * x + y * y, 11),
    ];
    for (const [i, c] of (task.components ?? []).entries()) {
      for (let e = c.start; e < c.start + c.count; e++) {
        const [x, op, y, eq] = task.inputs.subarray(e * 4, e * 4 + 4);
        assert.equal(op, 12 + i);
        assert.equal(eq, 11);
        if (i < 2) assert.equal(task.labels[e], closed[i](x, y), `component ${c.name} at (${x}, ${y})`);
        // (x, y) ↔ (y, x) stays inside the component.
        const other = task.swapped?.[e] ?? -2;
        assert.ok(other >= c.start && other < c.start + c.count);
        assert.deepEqual([task.inputs[other * 4], task.inputs[other * 4 + 2]], [y, x]);
      }
    }
    // D3 (order 6): r·s = s·r⁻¹ is not commutative; r¹ (id 1) then s (id 3) gives r¹s (id 4).
    const d3 = task.components?.[2];
    assert.ok(d3);
    const rs = d3.start + 1 * 6 + 3;
    assert.deepEqual([task.inputs[rs * 4], task.inputs[rs * 4 + 2], task.labels[rs]], [1, 3, 4]);
  });

  it('splits each component by its own fraction, from the seed alone', () => {
    const task = buildTask(MIX);
    const components = task.components ?? [];
    const a = makeMixtureSplit(components, 3);
    const b = makeMixtureSplit(components, 3);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.train, makeMixtureSplit(components, 4).train);
    assert.equal(a.train.length + a.test.length, task.numExamples);
    for (const c of components) {
      const inside = (i: number) => i >= c.start && i < c.start + c.count;
      assert.equal(a.train.filter(inside).length, Math.round(c.trainFraction * c.count), c.name);
    }
    const trained = Math.round(0.5 * 49) + Math.round(0.3 * 121) + Math.round(0.6 * 36);
    assert.equal(trainFractionOf(MIX), trained / task.numExamples);
  });

  it('names problems by their path in the mixture', () => {
    assertUsage(
      () =>
        parseTaskSpec({
          kind: 'mixture',
          components: [{ kind: 'modular', op: 'add', p: 7, train_fraction: 0.5 }],
        }),
      'task.components',
      '2 to 8',
    );
    assertUsage(
      () =>
        parseTaskSpec({
          kind: 'mixture',
          components: [
            { kind: 'modular', op: 'add', p: 7, train_fraction: 0.5 },
            { kind: 'modular', op: 'div', p: 8, train_fraction: 0.5 },
          ],
        }),
      'task.components.1.p',
      'prime',
    );
    assertUsage(
      () =>
        parseTaskSpec({
          kind: 'mixture',
          components: [
            { kind: 'modular', op: 'add', p: 7, train_fraction: 0.5 },
            { kind: 'parity', n_bits: 4, k: 2, train_fraction: 0.5 },
          ],
        }),
      'task.components.1.kind',
      'modular, permutation, dihedral',
    );
    assertUsage(
      () =>
        parseTaskSpec({
          kind: 'mixture',
          components: [
            { kind: 'modular', op: 'add', p: 7, train_fraction: 0.5, name: 'a' },
            { kind: 'modular', op: 'sub', p: 7, train_fraction: 0.5, name: 'a' },
          ],
        }),
      'task.components.1.name',
      'already used',
    );
    assertUsage(
      () =>
        parseTaskSpec({
          kind: 'mixture',
          components: [
            { kind: 'modular', op: 'add', p: 7, train_fraction: 0.5, name: 'x y' },
            { kind: 'modular', op: 'sub', p: 7, train_fraction: 0.5, sequence: 'x_y' },
          ],
        }),
      'task.components.0.name',
      'letters, digits',
    );
    assertUsage(
      () =>
        parseTaskSpec({
          kind: 'mixture',
          components: [
            { kind: 'modular', op: 'add', p: 7, train_fraction: 0.5 },
            { kind: 'modular', op: 'sub', p: 7, train_fraction: 0.5, sequence: 'x_y' },
          ],
        }),
      'task.components.1.sequence',
    );
    // Same op twice without names: told apart by their sizes.
    const twice = buildTask({
      kind: 'mixture',
      components: [
        { kind: 'modular', op: 'add', p: 5, train_fraction: 0.5 },
        { kind: 'modular', op: 'add', p: 7, train_fraction: 0.5 },
      ],
    });
    assert.deepEqual(
      twice.components?.map((c) => c.name),
      ['add_5', 'add_7'],
    );
  });
});

const config = (steps: number): RunConfigInput => ({
  seed: 1,
  task: MIX,
  model: {
    kind: 'transformer',
    layers: 1,
    d_model: 32,
    heads: 2,
    d_mlp: 64,
    activation: 'relu',
    layernorm: 'none',
    init_scale: 1,
  },
  train: {
    optimizer: 'adamw',
    lr: 3e-3,
    weight_decay: 0.1,
    beta1: 0.9,
    beta2: 0.98,
    eps: 1e-8,
    momentum: 0,
    warmup_steps: 0,
    batch_size: 64,
    loss: 'cross_entropy',
    steps,
    stop_test_acc: null,
    stop_patience: 1,
  },
  eval: { every: 10, log_points_per_decade: 0, checkpoint_every: 1000 },
});

describe('metrics per component', () => {
  it('equal each component scored on its own, and the aggregate is their weighted mean', async () => {
    const experiment = buildExperiment(parseRunConfig(config(30)));
    const trainer = experiment.createTrainer();
    await trainer.run();
    const record = trainer.evaluate();
    const components = record.components ?? {};
    assert.deepEqual(Object.keys(components), ['add', 'x2y2', 'd3']);
    let correct = 0;
    let lossSum = 0;
    for (const group of experiment.test.groups ?? []) {
      // Scored independently: the component's own test examples through the model, one forward pass.
      const part = sliceExamples(experiment.test, group.start, group.start + group.count);
      assert.ok(part.labels.length > 0);
      const { acc, loss } = noGrad(() => {
        const logits = trainer.model.forward(part.tokens, part.count);
        return { acc: accuracy(logits, part.labels), loss: crossEntropy(logits, part.labels).item() };
      });
      assert.equal(components[group.name].test_acc, acc);
      assert.ok(Math.abs(components[group.name].test_loss - loss) < 1e-6, `${group.name} loss`);
      correct += acc * group.count;
      lossSum += loss * group.count;
    }
    assert.ok(Math.abs(record.test_acc - correct / experiment.test.count) < 1e-12);
    assert.ok(Math.abs(record.test_loss - lossSum / experiment.test.count) < 1e-6);
    // Train metrics per component are over each component's whole training set.
    const trainCounts = (experiment.train.groups ?? []).map((g) => g.count);
    assert.deepEqual(trainCounts, [Math.round(0.5 * 49), Math.round(0.3 * 121), Math.round(0.6 * 36)]);
  });
});

describe('--set into a mixture', () => {
  it('enters the components list by index, and says which indices exist', () => {
    const base = { task: structuredClone(MIX) };
    const changed = applyOverrides(base, parseOverrides(['task.components.1.train_fraction=0.7']));
    assert.equal(
      (changed.task as { components: { train_fraction: number }[] }).components[1].train_fraction,
      0.7,
    );
    for (const key of ['task.components.3.p=5', 'task.components.one.p=5']) {
      assertUsage(
        () => applyOverrides(base, parseOverrides([key])),
        key.split('=')[0],
        'components is a list of 3: name an entry by its index, 0 to 2',
      );
    }
  });
});

describe('a mixture run on small p', () => {
  it('logs each component, and its components generalize at different steps', async () => {
    // x+y and x−y mod 47 in one transformer, x+y with 80% of its pairs and x−y with 45%: the one
    // with more data generalizes first (measured: x+y ≥ 90% near step 500, x−y some hundreds of
    // steps later), while the aggregate climbs in between.
    const experiment = buildExperiment(
      parseRunConfig({
        seed: 0,
        task: {
          kind: 'mixture',
          components: [
            { kind: 'modular', op: 'add', p: 47, train_fraction: 0.8 },
            { kind: 'modular', op: 'sub', p: 47, train_fraction: 0.45 },
          ],
        },
        model: {
          kind: 'transformer',
          layers: 1,
          d_model: 128,
          heads: 4,
          d_mlp: 512,
          activation: 'relu',
          layernorm: 'none',
          init_scale: 1,
          init: 'nanda',
        },
        train: {
          optimizer: 'adamw',
          lr: 3e-3,
          weight_decay: 1,
          beta1: 0.9,
          beta2: 0.98,
          eps: 1e-8,
          momentum: 0,
          warmup_steps: 10,
          batch_size: 'full',
          loss: 'cross_entropy',
          steps: 2000,
          stop_test_acc: 0.95,
          stop_patience: 2,
        },
        eval: { every: 50, log_points_per_decade: 0, checkpoint_every: 1000 },
      }),
    );
    const records: { step: number; add: number; sub: number; all: number }[] = [];
    await experiment.createTrainer().run({
      onEval: (r) => {
        const c = r.components ?? {};
        records.push({ step: r.step, add: c.add.test_acc, sub: c.sub.test_acc, all: r.test_acc });
      },
    });
    const first = (name: 'add' | 'sub' | 'all') => records.find((r) => r[name] >= 0.9)?.step ?? null;
    const [add, sub, all] = [first('add'), first('sub'), first('all')];
    assert.ok(add !== null && sub !== null && all !== null, JSON.stringify(records.at(-1)));
    assert.ok(sub - add >= 200, `x+y at ${add}, x−y at ${sub}`);
    // The aggregate reaches 90% only once the slower component is most of the way there.
    assert.ok(all > add, `aggregate at ${all}`);
    const atAdd = records.find((r) => r.step === add);
    assert.ok(atAdd && atAdd.sub < 0.8, `x−y at ${atAdd?.sub} when x+y crossed`);
  });
});

describe('the components chart', () => {
  it('draws each component, the aggregate and each first crossing', async () => {
    // Two components: a jumps at step 100, b at step 1000; the aggregate is their mean.
    const steps = [0, 10, 30, 100, 300, 1000, 3000];
    const a = [0.02, 0.05, 0.1, 0.95, 0.99, 1, 1];
    const b = [0.02, 0.03, 0.04, 0.05, 0.3, 0.92, 1];
    const evaluations = steps.map((step, i) => ({
      step,
      train_acc: 1,
      test_acc: (a[i] + b[i]) / 2,
      train_loss: 0.01,
      test_loss: 1,
      weight_norm: 1,
      norms: {},
      components: {
        a: { train_acc: 1, test_acc: a[i], train_loss: 0.01, test_loss: 1 - a[i] + 0.01 },
        b: { train_acc: 1, test_acc: b[i], train_loss: 0.01, test_loss: 1 - b[i] + 0.01 },
      },
    }));
    assert.equal(hasComponents(evaluations), true);
    assert.deepEqual(
      componentCrossings(evaluations, 0.9).map((c) => [c.component, c.step]),
      [
        ['a', 100],
        ['b', 1000],
      ],
    );
    const spec = componentsSpec(
      { id: 'r', title: 'r', subtitle: [], evaluations, markers: [], lossName: 'cross-entropy' },
      { grokThreshold: 0.9 },
    );
    const svg = await specToSvg(spec);
    for (const text of ['all (aggregate)', '>a<', '>b<', 'test cross-entropy loss']) {
      assert.ok(svg.includes(text), `svg lacks ${text}`);
    }
    assert.equal(hasComponents(evaluations.map(({ components: _, ...rest }) => rest)), false);
  });
});

describe('hidden grokking in a mixture run', () => {
  // Log-spaced evaluations, each component a sharp logistic jump in ln(step) at its own step.
  const steps = [0, ...Array.from({ length: 41 }, (_, i) => Math.round(10 ** (1 + i / 10)))];
  const jump = (step: number, at: number) =>
    0.02 + 0.98 / (1 + Math.exp(-12 * (Math.log(Math.max(step, 1)) - Math.log(at))));
  const writeMixture = (id: string, at: Record<string, number>) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'groklab-hidden-'));
    const log: Record<string, unknown>[] = steps.map((step) => {
      const train = step >= 100 ? 1 : 0.05 + step / 120;
      const components = Object.fromEntries(
        Object.entries(at).map(([name, t]) => {
          const acc = jump(step, t);
          return [
            name,
            { train_loss: 0.01, train_acc: train, test_loss: 3 * (1 - acc) + 0.01, test_acc: acc },
          ];
        }),
      );
      const values = Object.values(components);
      const test = values.reduce((s, c) => s + c.test_acc, 0) / values.length;
      return {
        step,
        train_loss: 0.01,
        train_acc: train,
        test_loss: 3 * (1 - test) + 0.01,
        test_acc: test,
        weight_norm: 10,
        norms: {},
        lr: 0.001,
        wall_s: step / 100,
        components,
      };
    });
    writeRunWithLog(dir, id, log as Parameters<typeof writeRunWithLog>[2], { weight_decay: 1 });
    return path.join(dir, id);
  };
  const claimsOf = (dir: string) => {
    const detection = detectCapabilities([dir], { glob: 'test_acc/*' });
    const hidden = [...detection.hidden.values()][0];
    assert.ok(hidden);
    return { hidden, held: Object.fromEntries(hidden.claims.map((c) => [c.id, c.held])) };
  };

  it('holds when each component jumps at its own step, x±y first', () => {
    const { hidden, held } = claimsOf(
      writeMixture('spread', { add: 400, sub: 700, mul: 3000, x2xyy2: 12000 }),
    );
    assert.deepEqual(held, {
      'each-jumps-sharply': true,
      'at-own-steps': true,
      'aggregate-not-one-jump': true,
      'easy-ops-first': true,
    });
    assert.equal(hidden.hidden, true);
    assert.deepEqual(
      hidden.order.map((o) => o.name),
      ['test_acc/add', 'test_acc/sub', 'test_acc/mul', 'test_acc/x2xyy2'],
    );
    for (const [i, at] of [400, 700, 3000, 12000].entries()) {
      const t50 = hidden.order[i].t50 ?? 0;
      assert.ok(Math.abs(Math.log(t50 / at)) < 0.15, `t50 ${t50} for a jump at ${at}`);
    }
  });

  it('does not hold when the components jump together, or the hard ops first', () => {
    const together = claimsOf(writeMixture('together', { add: 1000, sub: 1000, mul: 1050 }));
    assert.equal(together.held['at-own-steps'], false);
    assert.equal(together.held['aggregate-not-one-jump'], false);
    assert.equal(together.hidden.hidden, false);
    const reversed = claimsOf(writeMixture('reversed', { add: 8000, mul: 500 }));
    assert.equal(reversed.held['easy-ops-first'], false);
    assert.equal(reversed.hidden.hidden, false);
  });
});
