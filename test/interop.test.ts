// TransformerLens interop: the export's names, shapes and logits against a PyTorch forward pass,
// export → import bit for bit, a PyTorch-saved state_dict, and bad input (exit 2, nothing written).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import type { RunConfigInput } from '../src/config/schema.ts';
import { noGrad } from '../src/engine/tensor.ts';
import {
  exportableSpec,
  hookedTransformerConfig,
  parseHookedTransformerConfig,
} from '../src/interop/tl-config.ts';
import { withoutBuffers } from '../src/interop/tl-file.ts';
import { fromTransformerLens, toTransformerLens } from '../src/interop/tl-weights.ts';
import { buildModel, type ModelSpec, type TransformerSpec } from '../src/models/index.ts';
import { startRun } from '../src/runner/session.ts';
import { decodeCheckpoint, loadParams } from '../src/runs/checkpoint.ts';
import {
  createRunFolder,
  decodeSafetensors,
  encodeSafetensors,
  openRun,
  type RunFolder,
  readMetrics,
  type StoredTensor,
} from '../src/runs/index.ts';
import { buildTask, trainFractionOf } from '../src/tasks/index.ts';
import { UsageError } from '../src/util/errors.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { TINY_NANDA_TRANSFORMER, tinyGrokkingConfig } from './helpers/tiny-config.ts';
import { assertTorch, PYTHON, SKIP_TORCH } from './helpers/torch.ts';

const bin = path.resolve(import.meta.dirname, '../bin/groklab.mjs');
const PEER = path.resolve(import.meta.dirname, 'peers/tl_logits.py');
/**
 * groklab's engine and PyTorch sum in different orders, so float32 logits agree to rounding:
 * |Δlogit| ≤ 1e-5 · max(1, max |logit|), about 80 float32 ulps of the largest logit (measured:
 * 1.2e-5 with logits up to 40 for 1 layer, 1.3e-5 with logits up to 7 for 2 layers).
 */
const RELATIVE_TOLERANCE = 1e-5;

const tmp = tempDirs('interop');

function groklab(args: string[], cwd?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** x+y mod 23, 60% of pairs; checkpoints every 50 steps (and at powers of two before). */
function transformerRun(model: Partial<TransformerSpec>, lr: number, steps: number): RunConfigInput {
  return {
    seed: 1,
    task: { kind: 'modular', op: 'add', p: 23, train_fraction: 0.6 },
    model: { ...TINY_NANDA_TRANSFORMER, ...model },
    train: { ...tinyGrokkingConfig().train, lr, steps, warmup_steps: 10 },
    eval: { every: 50, log_points_per_decade: 0, checkpoint_every: 50 },
  };
}

/** Task flags of `import` for the runs above. */
const TASK_FLAGS = ['--task', 'add', '--p', '23', '--train-fraction', '0.6', '--seed', '1'];

let runsDir = '';
/** 1 layer, no LayerNorm, relu: groks by step ~650. */
let oneLayer: RunFolder;
/** 2 layers, pre-LayerNorm, gelu (gelu_new in TransformerLens). */
let twoLayer: RunFolder;

before(async () => {
  runsDir = path.join(tmp(), 'runs');
  oneLayer = (await startRun(runsDir, transformerRun({}, 1e-2, 800), { id: 'one-layer' })).run;
  twoLayer = (
    await startRun(runsDir, transformerRun({ layers: 2, layernorm: 'pre', activation: 'gelu' }, 3e-3, 400), {
      id: 'two-layer',
    })
  ).run;
});

function lastStep(run: RunFolder): number {
  return run.latestCheckpoint() as number;
}

function paramsAt(run: RunFolder, step: number): Map<string, StoredTensor> {
  return decodeCheckpoint(run.readCheckpoint(step)).params;
}

function readTensors(file: string): Record<string, StoredTensor> {
  return decodeSafetensors(new Uint8Array(fs.readFileSync(file))).tensors;
}

/** Every example of the run's task and groklab's logits at the last position, from the checkpoint at `step`. */
function groklabLogits(run: RunFolder, step: number): { tokens: Int32Array; logits: Float32Array } {
  const config = run.readConfig() as unknown as RunConfigInput & { seed: number };
  const task = buildTask(config.task);
  const model = buildModel(config.model as TransformerSpec, task, config.seed);
  loadParams(model, paramsAt(run, step));
  const logits = noGrad(() => model.forward(task.inputs, task.numExamples));
  return { tokens: task.inputs, logits: Float32Array.from(logits.data) };
}

/** The PyTorch peer's logits for `tokens`; `actFn` overrides the config's act_fn, `save` writes its state_dict. */
function torchLogits(
  configFile: string,
  modelFile: string,
  tokens: Int32Array,
  options: { actFn?: string; save?: string } = {},
): Float32Array {
  const dir = tmp();
  const tokensFile = path.join(dir, 'tokens.i32');
  const logitsFile = path.join(dir, 'logits.f32');
  fs.writeFileSync(tokensFile, new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength));
  const args = [PEER, configFile, modelFile, tokensFile, logitsFile];
  if (options.actFn) args.push('--act-fn', options.actFn);
  if (options.save) args.push('--save', options.save);
  const r = spawnSync(PYTHON, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `tl_logits.py failed:\n${r.stderr}`);
  const bytes = fs.readFileSync(logitsFile);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'logit counts differ');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function assertSameBits(
  actual: Map<string, StoredTensor>,
  expected: Map<string, StoredTensor>,
  where: string,
): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${where}: parameter names`);
  for (const [name, e] of expected) {
    const a = actual.get(name) as StoredTensor;
    assert.deepEqual(a.shape, e.shape, `${where}: shape of ${name}`);
    assert.ok(Buffer.from(a.data.buffer).equals(Buffer.from(e.data.buffer)), `${where}: bits of ${name}`);
  }
}

/** Everything in `dir`, hidden entries included (a staging folder left behind would show). */
function listing(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

describe('export to TransformerLens', () => {
  test('names, shapes and head layout are TransformerLens’s; gelu becomes gelu_new, pre-LN becomes LN', () => {
    const out = path.join(tmp(), 'export');
    const r = groklab(['export', twoLayer.dir, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const step = lastStep(twoLayer);
    const file = path.join(out, `step-${String(step).padStart(8, '0')}.safetensors`);
    const configFile = path.join(out, 'hooked_transformer_config.json');
    assert.deepEqual(r.stdout.trim().split('\n'), [file, configFile]);

    const cfg = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    assert.deepEqual(
      [
        cfg.n_layers,
        cfg.d_model,
        cfg.n_heads,
        cfg.d_head,
        cfg.d_mlp,
        cfg.n_ctx,
        cfg.d_vocab,
        cfg.d_vocab_out,
      ],
      [2, 32, 4, 8, 128, 3, 24, 23],
    );
    assert.equal(cfg.act_fn, 'gelu_new', "groklab's gelu is the tanh approximation");
    assert.equal(cfg.normalization_type, 'LN');

    const tensors = readTensors(file);
    const shapes = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, t.shape]));
    assert.deepEqual(shapes['embed.W_E'], [24, 32]);
    assert.deepEqual(shapes['pos_embed.W_pos'], [3, 32]);
    assert.deepEqual(shapes['blocks.1.attn.W_Q'], [4, 32, 8]);
    assert.deepEqual(shapes['blocks.1.attn.b_K'], [4, 8]);
    assert.deepEqual(shapes['blocks.1.attn.W_O'], [4, 8, 32]);
    assert.deepEqual(shapes['blocks.1.attn.b_O'], [32]);
    assert.deepEqual(shapes['blocks.1.mlp.W_in'], [32, 128]);
    assert.deepEqual(shapes['blocks.1.mlp.W_out'], [128, 32]);
    assert.deepEqual(shapes['blocks.0.ln2.w'], [32]);
    assert.deepEqual(shapes['ln_final.b'], [32]);
    assert.deepEqual(shapes['unembed.W_U'], [32, 23]);
    assert.deepEqual(shapes['unembed.b_U'], [23]);
    assert.equal(Object.keys(tensors).length, 2 + 2 * 16 + 2 + 2);

    // Head h of W_Q is columns h·d_head… of groklab's wq: W_Q[h, i, c] = wq[i, h·8 + c].
    const wq = paramsAt(twoLayer, step).get('blocks.1.attn.wq') as StoredTensor;
    const WQ = tensors['blocks.1.attn.W_Q'].data;
    for (const [h, i, c] of [
      [0, 0, 0],
      [1, 5, 3],
      [3, 31, 7],
    ]) {
      assert.equal(WQ[(h * 32 + i) * 8 + c], wq.data[i * 32 + h * 8 + c], `W_Q[${h}, ${i}, ${c}]`);
    }
    assert.ok(tensors['blocks.0.attn.b_Q'].data.every((x) => x === 0));
    assert.ok(tensors['unembed.b_U'].data.every((x) => x === 0));
  });

  for (const which of ['1 layer, no LayerNorm, relu', '2 layers, pre-LayerNorm, gelu'] as const) {
    test(`PyTorch computes groklab's logits from the export to float32 precision (${which})`, {
      skip: SKIP_TORCH,
    }, (t) => {
      assertTorch();
      const run = which.startsWith('1') ? oneLayer : twoLayer;
      const out = path.join(tmp(), 'export');
      const step = lastStep(run);
      assert.equal(groklab(['export', run.dir, '--step', String(step), '--out', out]).code, 0);
      const configFile = path.join(out, 'hooked_transformer_config.json');
      const modelFile = path.join(out, `step-${String(step).padStart(8, '0')}.safetensors`);
      const { tokens, logits } = groklabLogits(run, step);
      const theirs = torchLogits(configFile, modelFile, tokens);
      const delta = maxAbsDiff(theirs, logits);
      const tolerance = RELATIVE_TOLERANCE * Math.max(1, maxAbs(logits));
      t.diagnostic(
        `max |Δlogit| ${delta.toExponential(2)} (max |logit| ${maxAbs(logits).toFixed(2)}, tolerance ${tolerance.toExponential(2)})`,
      );
      assert.ok(delta <= tolerance, `max |Δlogit| ${delta} > ${tolerance}`);
      if (run === twoLayer) {
        // The activation mapping matters: TransformerLens's "gelu" (exact erf) is measurably different.
        const exact = maxAbsDiff(torchLogits(configFile, modelFile, tokens, { actFn: 'gelu' }), logits);
        t.diagnostic(`with act_fn "gelu" instead of "gelu_new": max |Δlogit| ${exact.toExponential(2)}`);
        assert.ok(exact > 10 * tolerance, `erf GELU gave max |Δlogit| ${exact}, within 10× tolerance`);
      }
    });
  }
});

describe('import from TransformerLens', () => {
  test('export → import: bit-identical parameters, the same split and evaluations; detect and analyze work on it', () => {
    const out = path.join(tmp(), 'export');
    assert.equal(groklab(['export', oneLayer.dir, '--step', 'all', '--out', out]).code, 0);
    const files = fs
      .readdirSync(out)
      .filter((f) => f.endsWith('.safetensors'))
      .map((f) => path.join(out, f));
    const config = path.join(out, 'hooked_transformer_config.json');
    const r = groklab([
      'import',
      ...files,
      '--config',
      config,
      ...TASK_FLAGS,
      '--runs-dir',
      runsDir,
      '--id',
      'imported',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`imported ${files.length} checkpoint\\(s\\)`));

    const imported = openRun(runsDir, 'imported');
    const steps = oneLayer.listCheckpoints();
    assert.deepEqual(imported.listCheckpoints(), steps);
    for (const step of steps)
      assertSameBits(paramsAt(imported, step), paramsAt(oneLayer, step), `step ${step}`);
    assert.deepEqual(imported.readSplit(), oneLayer.readSplit());
    const { model, task } = imported.readConfig() as unknown as RunConfigInput;
    assert.deepEqual(task, { kind: 'modular', op: 'add', p: 23, train_fraction: 0.6 });
    const { init: _init, ...originalModel } = (oneLayer.readConfig() as unknown as RunConfigInput)
      .model as TransformerSpec;
    assert.deepEqual(model, originalModel);
    assert.equal(imported.readStatus().state, 'finished');

    // The same engine evaluates the same parameters: the same numbers wherever both have a record.
    const records = readMetrics(imported.metricsPath).records;
    assert.deepEqual(
      records.map((m) => m.step),
      steps,
    );
    const original = new Map(readMetrics(oneLayer.metricsPath).records.map((m) => [m.step, m]));
    let shared = 0;
    for (const m of records) {
      const o = original.get(m.step);
      if (!o) continue;
      shared++;
      for (const key of ['train_loss', 'train_acc', 'test_loss', 'test_acc', 'weight_norm', 'norms']) {
        assert.deepEqual(m[key], o[key], `${key} at step ${m.step}`);
      }
    }
    assert.ok(shared >= 10, `only ${shared} steps in common`);

    const detected = groklab(['detect', imported.dir, '--json']);
    assert.equal(detected.code, 0, detected.stderr);
    const [result] = JSON.parse(detected.stdout);
    const [reference] = JSON.parse(groklab(['detect', oneLayer.dir, '--json']).stdout);
    assert.equal(result.measures.t_mem, reference.measures.t_mem);
    assert.equal(result.measures.t_grok_crossing, reference.measures.t_grok_crossing);
    assert.ok(result.measures.t_grok_crossing !== null, 'the one-layer run groks');

    const analyzed = groklab([
      'analyze',
      imported.dir,
      '--quiet',
      '--no-plots',
      '--hessian-steps',
      'none',
      '--prune-steps',
      'none',
    ]);
    assert.equal(analyzed.code, 0, analyzed.stderr);
    const analysis = JSON.parse(
      fs.readFileSync(path.join(imported.dir, 'analysis', 'analysis.json'), 'utf8'),
    );
    assert.equal(analysis.checkpoints.length, steps.length);
  });

  test('a state_dict saved from PyTorch, attention buffers included, imports to the same parameters', {
    skip: SKIP_TORCH,
  }, () => {
    assertTorch();
    const out = path.join(tmp(), 'export');
    const step = lastStep(twoLayer);
    assert.equal(groklab(['export', twoLayer.dir, '--out', out]).code, 0);
    const config = path.join(out, 'hooked_transformer_config.json');
    const saved = path.join(tmp(), 'state_dict.safetensors');
    const { tokens } = groklabLogits(twoLayer, step);
    torchLogits(config, path.join(out, `step-${String(step).padStart(8, '0')}.safetensors`), tokens, {
      save: saved,
    });
    const header = JSON.parse(
      fs
        .readFileSync(saved)
        .subarray(8, 8 + fs.readFileSync(saved).readUInt32LE(0))
        .toString(),
    );
    assert.equal(
      header['blocks.1.attn.mask'].dtype,
      'BOOL',
      'the saved state_dict has the causal mask buffer',
    );

    const r = groklab([
      'import',
      saved,
      '--config',
      config,
      ...TASK_FLAGS,
      '--steps',
      String(step),
      '--runs-dir',
      runsDir,
      '--id',
      'from-torch',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assertSameBits(paramsAt(openRun(runsDir, 'from-torch'), step), paramsAt(twoLayer, step), 'from PyTorch');
  });

  test('--split gives the training set (and the fraction); --set records training settings', () => {
    const out = path.join(tmp(), 'export');
    assert.equal(groklab(['export', twoLayer.dir, '--out', out]).code, 0);
    const splitFile = path.join(tmp(), 'split.json');
    fs.writeFileSync(splitFile, JSON.stringify(twoLayer.readSplit()));
    const file = path.join(out, `step-${String(lastStep(twoLayer)).padStart(8, '0')}.safetensors`);
    const args = ['import', file, '--config', path.join(out, 'hooked_transformer_config.json')];
    // Seed 99 would draw another split: the one given must be used.
    const flags = [
      '--task',
      'add',
      '--p',
      '23',
      '--seed',
      '99',
      '--split',
      splitFile,
      '--set',
      'train.lr=0.003',
    ];
    const r = groklab([...args, ...flags, '--runs-dir', runsDir, '--id', 'with-split']);
    assert.equal(r.code, 0, r.stderr);
    const imported = openRun(runsDir, 'with-split');
    assert.deepEqual(imported.readSplit(), twoLayer.readSplit());
    const config = imported.readConfig() as unknown as RunConfigInput;
    assert.equal(trainFractionOf(config.task), 317 / 529, 'round(0.6 · 529) = 317 training pairs');
    assert.equal(config.train.lr, 0.003);
    const [record] = readMetrics(imported.metricsPath).records;
    const original = readMetrics(twoLayer.metricsPath).records.find((m) => m.step === record.step);
    assert.equal(record.test_acc, original?.test_acc);
    assert.equal(record.lr, original?.lr);
  });
});

describe('bad input', () => {
  let out = '';
  let config = '';
  let good = '';
  let badRuns = '';

  before(async () => {
    out = path.join(tmp(), 'export');
    assert.equal(groklab(['export', oneLayer.dir, '--out', out]).code, 0);
    config = path.join(out, 'hooked_transformer_config.json');
    good = path.join(out, `step-${String(lastStep(oneLayer)).padStart(8, '0')}.safetensors`);
    badRuns = path.join(tmp(), 'runs');
    await startRun(badRuns, tinyGrokkingConfig({ train: { steps: 2 } }), { id: 'mlp' });
    await startRun(badRuns, transformerRun({ layernorm: 'post', activation: 'quadratic' }, 1e-3, 2), {
      id: 'post-ln',
    });
  });

  /** A copy of the good export with `edit` applied to its tensors (and its metadata replaced). */
  function edited(
    name: string,
    edit: (t: Record<string, StoredTensor>) => void,
    metadata: Record<string, string> = {},
  ): string {
    const { tensors } = decodeSafetensors(new Uint8Array(fs.readFileSync(good)));
    edit(tensors);
    const file = path.join(tmp(), name);
    fs.writeFileSync(file, encodeSafetensors(tensors, metadata));
    return file;
  }

  function configWith(changes: Record<string, unknown>): string {
    const file = path.join(tmp(), 'config.json');
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(config, 'utf8')), ...changes }));
    return file;
  }

  test('export: unknown step, MLP run, post-LN and quadratic transformer exit 2 naming the flag or field', () => {
    const cases: Array<[string[], RegExp[]]> = [
      [
        ['export', oneLayer.dir, '--step', '7'],
        [/--step: run "one-layer" has no checkpoint at step 7; allowed: all, 0, 1, 2, 4/],
      ],
      [['export', oneLayer.dir, '--step', 'last'], [/--step: must be an integer ≥ 0 or all/]],
      [['export', 'no-such-run', '--runs-dir', badRuns], [/run: run "no-such-run" does not exist/]],
      [
        ['export', 'mlp', '--runs-dir', badRuns],
        [/model\.kind: TransformerLens loads transformers only; this run is an mlp \(allowed: transformer\)/],
      ],
      [
        ['export', 'post-ln', '--runs-dir', badRuns],
        [
          /model\.layernorm: post has no TransformerLens equivalent.*allowed: none, pre/,
          /model\.activation: quadratic .*allowed: relu, gelu/,
        ],
      ],
    ];
    for (const [args, patterns] of cases) {
      const dir = path.join(tmp(), 'out');
      const r = groklab([...args, '--out', dir]);
      assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}\n${r.stderr}`);
      for (const pattern of patterns) assert.match(r.stderr, pattern, args.join(' '));
      assert.equal(fs.existsSync(dir), false, `${args.join(' ')} wrote ${dir}`);
    }
  });

  test('import: missing flags and files, unsupported config, nonzero biases, wrong task, unclear steps exit 2 and write nothing', () => {
    const biased = edited('biased-100.safetensors', (t) => {
      t['blocks.0.attn.b_Q'].data[3] = 0.5;
      t['unembed.b_U'].data[0] = -0.25;
    });
    const noStep = edited('model.safetensors', () => {});
    const twoLayers = configWith({ n_layers: 2 });
    const cases: Array<[string[], RegExp[]]> = [
      [
        [good],
        [
          /--config: required/,
          /--task: required \(one of add, sub/,
          /--p: required/,
          /--train-fraction: required unless --split/,
        ],
      ],
      [
        [path.join(out, 'missing-5.safetensors'), '--config', config, ...TASK_FLAGS],
        [/file: .*missing-5\.safetensors does not exist/],
      ],
      [
        [config, '--config', config, ...TASK_FLAGS],
        [/file: .*hooked_transformer_config\.json is not a safetensors checkpoint/],
      ],
      [
        [biased, '--config', config, ...TASK_FLAGS],
        [
          /blocks\.0\.attn\.b_Q: groklab's transformer has no query bias, so it must be all zeros; in .* element 3 is 0\.5/,
          /unembed\.b_U: groklab's transformer has no unembedding bias, so it must be all zeros; in .* element 0 is -0\.25/,
        ],
      ],
      [
        [
          good,
          '--config',
          configWith({ act_fn: 'gelu', normalization_type: 'LNPre', positional_embedding_type: 'rotary' }),
          ...TASK_FLAGS,
        ],
        [
          /act_fn: "gelu" has no groklab equivalent \(the exact erf GELU.*allowed: relu, gelu_new/,
          /normalization_type: "LNPre" has no groklab equivalent; allowed: null .*"LN"/,
          /positional_embedding_type: "rotary" has no groklab equivalent; allowed: "standard"/,
        ],
      ],
      [[good, '--config', twoLayers, ...TASK_FLAGS], [/blocks\.1\.attn\.W_Q: missing from/]],
      [
        [good, '--config', config, '--task', 'add', '--p', '29', '--train-fraction', '0.6'],
        [/d_vocab: must be 30 for x\+y mod 29/, /d_vocab_out: must be 29/],
      ],
      [
        [good, '--config', config, '--task', 'pow', '--p', '23', '--train-fraction', '0.6'],
        [/--task: op must be one of add, sub/],
      ],
      [
        [good, '--config', config, '--task', 'add', '--p', '23', '--train-fraction', '1.5'],
        [/--train-fraction: .*\(0, 1\)/],
      ],
      [
        [noStep, '--config', config, ...TASK_FLAGS],
        [/--steps: cannot tell the training step of .*model\.safetensors/],
      ],
      [[good, good, '--config', config, ...TASK_FLAGS], [/--steps: step 800 is given twice/]],
      [
        [good, noStep, '--config', config, ...TASK_FLAGS, '--steps', '1'],
        [/--steps: gives 1 step\(s\) for 2 file\(s\)/],
      ],
      [
        [good, '--config', config, ...TASK_FLAGS, '--steps', '1,x'],
        [/--steps: must be a comma-separated list/],
      ],
      [
        [good, '--config', config, ...TASK_FLAGS, '--set', 'model.d_model=64'],
        [/model\.d_model: cannot be set on import/],
      ],
      [
        [good, '--config', config, ...TASK_FLAGS, '--id', 'one-layer'],
        [/--id: run "one-layer" already exists/],
      ],
    ];
    const before = listing(runsDir);
    for (const [args, patterns] of cases) {
      const r = groklab(['import', ...args, '--runs-dir', runsDir]);
      assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}\n${r.stderr}`);
      for (const pattern of patterns) assert.match(r.stderr, pattern, args.join(' '));
      assert.deepEqual(listing(runsDir), before, `${args.join(' ')} left files in the runs directory`);
    }
  });
});

describe('interop units', () => {
  const spec = (layernorm: 'none' | 'pre'): TransformerSpec => ({
    kind: 'transformer',
    layers: 2,
    d_model: 8,
    heads: 2,
    d_mlp: 16,
    activation: 'relu',
    layernorm,
    init_scale: 1,
  });
  const io = { vocabSize: 6, seqLen: 3, numClasses: 5 };

  test('TransformerLens tensors convert back to the very same groklab parameters, with and without LayerNorm', () => {
    for (const layernorm of ['none', 'pre'] as const) {
      const model = buildModel(spec(layernorm), io, 7);
      const params = new Map(
        [...model.params].map(([name, p]) => [
          name,
          { shape: [...p.shape], data: Float32Array.from(p.data) },
        ]),
      );
      const tl = toTransformerLens(params, spec(layernorm), io);
      assert.equal('blocks.1.ln1.w' in tl, layernorm === 'pre');
      assertSameBits(fromTransformerLens(tl, spec(layernorm), io, 'x.safetensors'), params, layernorm);
    }
  });

  test('export refuses layernorm pre_replace and an MLP without bias, naming the field', () => {
    const problemsOf = (model: ModelSpec) => {
      try {
        exportableSpec(model);
      } catch (err) {
        assert.ok(err instanceof UsageError, String(err));
        return err.problems;
      }
      assert.fail(`${JSON.stringify(model)} was accepted`);
    };
    const [replace] = problemsOf({ ...spec('pre'), layernorm: 'pre_replace' });
    assert.equal(replace.field, 'model.layernorm');
    assert.match(replace.message, /^pre_replace has no TransformerLens equivalent .*allowed: none, pre$/);
    // The config writer refuses it too, rather than writing normalization_type null for a normalized model.
    assert.throws(
      () => hookedTransformerConfig({ ...spec('pre'), layernorm: 'pre_replace' }, io, 'x'),
      /check the spec with exportableSpec first/,
    );
    const [mlp] = problemsOf({
      kind: 'mlp',
      input: 'onehot',
      width: 4,
      depth: 2,
      activation: 'relu',
      init_scale: 1,
      bias: false,
    });
    assert.equal(mlp.field, 'model.kind');
    assert.match(mlp.message, /TransformerLens loads transformers only; this run is an mlp/);
    // The transformers it can represent still pass.
    for (const layernorm of ['none', 'pre'] as const)
      assert.equal(exportableSpec(spec(layernorm)).layernorm, layernorm);
  });

  test('HookedTransformerConfig: TransformerLens defaults fill absent keys; unknown keys become notes', () => {
    const {
      spec: s,
      io: sizes,
      notes,
    } = parseHookedTransformerConfig({
      n_layers: 1,
      d_model: 128,
      d_head: 32,
      n_ctx: 3,
      d_vocab: 114,
      act_fn: 'relu',
      n_heads: -1,
      d_vocab_out: 113,
      future_option: true,
    });
    assert.equal(s.heads, 4);
    assert.equal(s.d_mlp, 512, 'd_mlp defaults to 4·d_model');
    assert.equal(s.layernorm, 'pre', 'normalization_type defaults to LN');
    assert.deepEqual(sizes, { vocabSize: 114, seqLen: 3, numClasses: 113 });
    assert.match(notes.join(), /future_option/);
    assert.throws(
      () =>
        parseHookedTransformerConfig({
          n_layers: 1,
          d_model: 128,
          d_head: 48,
          n_ctx: 3,
          d_vocab: 5,
          act_fn: 'relu',
          n_heads: 2,
        }),
      (err: unknown) => err instanceof UsageError && err.problems.some((p) => p.field === 'n_heads'),
    );
  });

  test('withoutBuffers drops attention masks and IGNORE, keeping every other tensor and the metadata', () => {
    const kept = { 'embed.W_E': { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) } };
    const buffers = {
      'blocks.0.attn.mask': { shape: [3], data: Uint32Array.of(1, 0, 1) },
      'blocks.0.attn.IGNORE': { shape: [], data: Float32Array.of(-Infinity) },
    };
    const bytes = withoutBuffers(encodeSafetensors({ ...kept, ...buffers }, { step: '5' }));
    const decoded = decodeSafetensors(bytes);
    assert.deepEqual(Object.keys(decoded.tensors), ['embed.W_E']);
    assert.deepEqual(decoded.tensors['embed.W_E'], kept['embed.W_E']);
    assert.deepEqual(decoded.metadata, { step: '5' });
  });

  test('a run folder whose filling fails leaves nothing behind', () => {
    const dir = tmp();
    assert.throws(
      () =>
        createRunFolder(dir, 'half', { config: {}, split: {} }, (run) => {
          run.writeCheckpoint(0, new Uint8Array(8));
          throw new Error('disk full');
        }),
      /disk full/,
    );
    assert.deepEqual(listing(dir), []);
  });
});
