// Interventions through hook points (`groklab analyze --ablate freq`, `--patch`): closed forms of the
// frequency projection, then a small transformer run that groks with a few key frequencies, where the
// answers are known: removing the key frequencies destroys test accuracy, removing the others barely
// matters; patching the logits restores the source checkpoint exactly, patching nothing does not.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  type AnalysisDocument,
  analyzeRun,
  fourierBasis,
  frequencyAblationHook,
  frequencyRemoval,
  hookedLogits,
  otherFrequencies,
} from '../src/analysis/index.ts';
import { main } from '../src/cli/main.ts';
import type { RunConfigInput } from '../src/config/schema.ts';
import { buildModel, type ModelIO, type ModelSpec } from '../src/models/index.ts';
import { startRun } from '../src/runner/session.ts';
import type { RunFolder } from '../src/runs/index.ts';
import { UsageError } from '../src/util/errors.ts';
import { Rng } from '../src/util/rng.ts';
import { analyzeCli } from './helpers/analyze-cli.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { TINY_NANDA_TRANSFORMER, tinyGrokkingConfig } from './helpers/tiny-config.ts';

const tmpDir = tempDirs('interventions');

describe('frequency ablation of the embedding', () => {
  const p = 11;
  const io: ModelIO = { vocabSize: p + 1, seqLen: 3, numClasses: p };

  it('removes exactly the components of the given frequencies of the operand rows (1e-12)', () => {
    // A table whose operand rows are cos(2π·2x/p)·u + sin(2π·4x/p)·w + c: frequencies 2, 4 and the constant.
    const model = buildModel(
      {
        kind: 'transformer',
        layers: 1,
        d_model: 4,
        heads: 1,
        d_mlp: 4,
        activation: 'relu',
        layernorm: 'none',
        init_scale: 1,
      },
      io,
      1,
      'f64',
    );
    const { input } = model.roles();
    const rng = new Rng(2);
    const [u, w, c] = [0, 1, 2].map(() => Array.from({ length: 4 }, () => rng.normal()));
    const wave = (k: number, x: number, f: (a: number) => number) => f((2 * Math.PI * k * x) / p);
    for (let x = 0; x < p; x++)
      for (let j = 0; j < 4; j++)
        input.table.data[x * 4 + j] = wave(2, x, Math.cos) * u[j] + wave(4, x, Math.sin) * w[j] + c[j];
    const answerRow = Array.from(input.table.data.subarray(p * 4));
    const delta = frequencyRemoval(input, io, p, [2]);
    for (let x = 0; x < p; x++)
      for (let j = 0; j < 4; j++)
        assert.ok(
          Math.abs(input.table.data[x * 4 + j] + delta[x * 4 + j] - (wave(4, x, Math.sin) * w[j] + c[j])) <
            1e-12,
        );
    assert.deepEqual(Array.from(delta.subarray(p * 4)), [0, 0, 0, 0], "the answer token's row is kept");
    assert.deepEqual(answerRow.length, 4);
    assert.deepEqual(otherFrequencies(p, [2, 4]), [1, 3, 5]);
    assert.equal(fourierBasis(p).frequencies, 6);
  });

  for (const spec of [
    { kind: 'mlp', input: 'onehot', width: 6, depth: 1, activation: 'relu', init_scale: 1 },
    { kind: 'mlp', input: 'embed', embed_dim: 3, width: 6, depth: 1, activation: 'gelu', init_scale: 1 },
    {
      kind: 'transformer',
      layers: 1,
      d_model: 4,
      heads: 2,
      d_mlp: 8,
      activation: 'relu',
      layernorm: 'pre',
      init_scale: 1,
    },
  ] satisfies ModelSpec[]) {
    it(`the hook runs the model as if its embedding were ablated: ${spec.kind} ${spec.kind === 'mlp' ? spec.input : spec.layernorm} (1e-12)`, () => {
      const model = buildModel(spec, io, 3, 'f64');
      const tokens = Int32Array.from(
        { length: p * p * 3 },
        (_, i) => [Math.floor(i / 3 / p), Math.floor(i / 3) % p, p][i % 3],
      );
      const { input } = model.roles();
      const hook = frequencyAblationHook(input, io, p, [1, 3]);
      const hooked = hookedLogits(model, tokens, p * p, () => ({ [input.site]: hook }));
      const delta = frequencyRemoval(input, io, p, [1, 3]);
      for (let i = 0; i < delta.length; i++) input.table.data[i] += delta[i];
      const edited = hookedLogits(model, tokens, p * p);
      for (let i = 0; i < edited.length; i++)
        assert.ok(Math.abs(hooked[i] - edited[i]) < 1e-12, `logit ${i}`);
    });
  }
});

/** x+y mod 31, 60% of pairs, a 1-layer transformer (Nanda et al.'s layout, d 32): groks by step ~450 with two key frequencies. */
function groksWithKeyFrequencies(): RunConfigInput {
  return {
    ...tinyGrokkingConfig({
      model: TINY_NANDA_TRANSFORMER,
      train: { steps: 600, lr: 3e-3 },
      eval: { every: 10, checkpoint_every: 100 },
    }),
    task: { kind: 'modular', op: 'add', p: 31, train_fraction: 0.6 },
  } as RunConfigInput;
}

describe('ablation and patching on a grokked transformer run', () => {
  const runsDir = tmpDir();
  let run: RunFolder;
  let doc: AnalysisDocument;

  before(async () => {
    run = (await startRun(runsDir, groksWithKeyFrequencies(), { id: 'tf' })).run;
    doc = analyzeRun(run, {
      hessianSteps: 'none',
      pruneSteps: 'none',
      ablate: ['freq'],
      patch: 'auto',
    }).document;
  });

  it('removing the key frequencies destroys test accuracy; removing all the others barely changes it', () => {
    const a = doc.ablation;
    assert.ok(a, 'ablation in analysis.json');
    assert.equal(doc.key_frequencies?.source, 'embedding');
    assert.deepEqual(a.key_frequencies, doc.key_frequencies?.frequencies);
    assert.equal(a.step, run.listCheckpoints().at(-1));
    assert.equal(a.site, 'embed');
    assert.ok(a.unablated.test_acc > 0.95, `unablated test acc ${a.unablated.test_acc}`);
    assert.ok(a.key_only.test_acc > a.unablated.test_acc - 0.05, `key only ${a.key_only.test_acc}`);
    // Chance is 1/31 = 0.032.
    assert.ok(a.without_key.test_acc < 0.2, `without key ${a.without_key.test_acc}`);
    assert.ok(a.without_key.test_loss > Math.log(31), `without key loss ${a.without_key.test_loss}`);
  });

  it('patching the logits restores the source exactly; patching nothing leaves the memorizing network', () => {
    const patching = doc.patching;
    assert.ok(patching, 'patching in analysis.json');
    assert.equal(patching.source_step, run.listCheckpoints().at(-1));
    assert.ok(patching.target_step < patching.source_step);
    const { target, source } = patching.baseline;
    assert.ok(
      source.test_acc > 0.95 && target.test_acc < source.test_acc - 0.2,
      JSON.stringify(patching.baseline),
    );
    assert.deepEqual(
      patching.sites.map((s) => s.site),
      buildModel(doc.model.spec, { vocabSize: 32, seqLen: 3, numClasses: 31 }, 0)
        .hookPoints()
        .map((p) => p.name),
    );
    const site = (name: string) => patching.sites.find((s) => s.site === name);
    const logits = site('logits');
    assert.deepEqual(
      [logits?.test_acc, logits?.test_loss, logits?.train_acc, logits?.restored_test_acc],
      [source.test_acc, source.test_loss, source.train_acc, 1],
    );
    // ReLU(pre) is post: patching either is the same intervention.
    const { site: _pre, ...pre } = site('blocks.0.mlp.pre') ?? {};
    const { site: _post, ...post } = site('blocks.0.mlp.post') ?? {};
    assert.deepEqual(pre, post);
  });

  it('the CLI prints both, keeps them on a later plain analyze, and rejects bad values with exit code 2', async () => {
    const quick = ['--quiet', '--no-plots', '--hessian-steps', 'none', '--prune-steps', 'none'];
    const runCli = (args: string[]) => analyzeCli([run.dir, ...quick, ...args]);
    const text = await runCli([
      '--ablate',
      'freq',
      '--patch',
      `${doc.patching?.target_step}:${doc.patching?.source_step}`,
    ]);
    assert.match(
      text,
      /frequency ablation at step \d+ \(key frequencies [\d, ]+; through embed, constant kept\)/,
    );
    assert.match(text, /key frequencies removed\s+0\.\d+\s+0\.\d+/);
    assert.match(text, /activation patching: step \d+ run with one site from step \d+/);
    assert.match(text, /\n\s+logits\s+1\.000\s+\S+\s+\S+\s+\S+\s+100%, 100%/);
    const again = analyzeRun(run, { hessianSteps: 'none', pruneSteps: 'none' }).document;
    assert.deepEqual([again.ablation, again.patching], [doc.ablation, doc.patching]);

    const problems = async (args: string[]) => {
      try {
        await runCli(args);
      } catch (err) {
        if (err instanceof UsageError) return err.problems;
        throw err;
      }
      assert.fail(`${args.join(' ')} was accepted`);
    };
    assert.deepEqual(await problems(['--ablate', 'neurons']), [
      { field: '--ablate', message: 'must be one of freq, got "neurons"' },
    ]);
    for (const bad of ['100', '100:x', 'auto:3']) {
      const [problem] = await problems(['--patch', bad]);
      assert.equal(problem.field, '--patch');
      assert.match(problem.message, /must be auto or TARGET:SOURCE/);
    }
    assert.match(
      (await problems(['--patch', '100:777']))[0].message,
      /no checkpoint at step 777; available: /,
    );
    assert.match((await problems(['--patch', '100:100']))[0].message, /must differ/);

    const stderr: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => stderr.push(chunk) > 0) as typeof process.stderr.write;
    try {
      assert.equal(await main(['analyze', run.dir, '--ablate', 'freqs']), 2);
    } finally {
      process.stderr.write = write;
    }
    assert.deepEqual(stderr, ['groklab: --ablate: must be one of freq, got "freqs"\n']);
  });

  it('--ablate freq on a task without Z_p is a usage error', async () => {
    const parity = {
      ...tinyGrokkingConfig({ train: { steps: 10 } }),
      task: { kind: 'parity', n_bits: 6, k: 2, train_fraction: 0.5 },
    } as RunConfigInput;
    const other = (await startRun(tmpDir(), parity, { id: 'parity' })).run;
    assert.throws(
      () => analyzeRun(other, { hessianSteps: 'none', pruneSteps: 'none', ablate: ['freq'] }),
      (err: unknown) =>
        err instanceof UsageError && err.problems[0].field === '--ablate' && /modular task/.test(err.message),
    );
  });
});
