// Grokfast's gradient filter (train.grad_filter): the filter against hand-computed sequences and an
// independent float64 computation, its state through checkpoints, its schema, and tiny training
// runs resumed from checkpoints (bit-identical to uninterrupted ones) or switching it on and off.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyOverrides, parseOverrides } from '../src/config/overrides.ts';
import { parseRunConfig, type RunConfigInput } from '../src/config/schema.ts';
import { Tensor } from '../src/engine/tensor.ts';
import { buildExperiment } from '../src/experiment/build.ts';
import { resumeRun, startRun } from '../src/runner/session.ts';
import { decodeCheckpoint, encodeCheckpoint } from '../src/runs/checkpoint.ts';
import type { RunFolder } from '../src/runs/index.ts';
import { createGradFilter, type GradFilter, stateFitsFilter } from '../src/train/grad-filter.ts';
import type { GradFilterSpec } from '../src/train/spec.ts';
import type { EvalRecord } from '../src/train/trainer.ts';
import { UsageError } from '../src/util/errors.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { tinyGrokkingConfig } from './helpers/tiny-config.ts';

const tmpRunsDir = tempDirs('grad-filter');

/** One parameter `w` of 3 elements whose gradient the test sets before each call. */
function oneParam(spec: GradFilterSpec): { filter: GradFilter; step(g: number[]): number[] } {
  const w = Tensor.param(new Float32Array(3), [3]);
  const filter = createGradFilter(spec, new Map([['w', w]])) as GradFilter;
  return {
    filter,
    step(g) {
      w.grad = Float32Array.from(g);
      filter.apply();
      return [...w.grad];
    },
  };
}

/** Grokfast's EMA filter in plain float64 (their gradfilter_ema): the filtered gradients. */
function emaReference(grads: number[][], alpha: number, lamb: number): number[][] {
  let state: number[] | null = null;
  return grads.map((g) => {
    const s = (state ?? g).map((v, i) => alpha * v + (1 - alpha) * g[i]);
    state = s;
    return g.map((v, i) => v + lamb * s[i]);
  });
}

/** Grokfast's MA filter in plain float64 (their gradfilter_ma, warmup on): the mean recomputed each step. */
function maReference(grads: number[][], window: number, lamb: number): number[][] {
  return grads.map((g, t) => {
    if (t + 1 < window) return [...g];
    const last = grads.slice(t + 1 - window, t + 1);
    return g.map((v, i) => v + (lamb * last.reduce((sum, h) => sum + h[i], 0)) / window);
  });
}

/** |got − want| ≤ 1e-6·max(1, |want|): float32 storage rounds each value by ≤ 2⁻²⁴ relative. */
function assertClose(got: number[], want: number[], what: string): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    const tolerance = 1e-6 * Math.max(1, Math.abs(want[i]));
    assert.ok(Math.abs(got[i] - want[i]) <= tolerance, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

/** Seeded gradients in [−2, 2), rounded to float32 as real gradients are. */
function randomGrads(steps: number, length: number, seed: number): number[][] {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return Math.fround((x / 2 ** 31) * 4 - 2);
  };
  return Array.from({ length: steps }, () => Array.from({ length }, next));
}

describe('the EMA filter', () => {
  it('gives the hand-computed sequence (alpha 0.5, lamb 2: every value exact in float32)', () => {
    // state₁ = g₁; then state ← ½·state + ½·g (the first call too), g ← g + 2·state.
    const grads = [
      [1, 2, -4],
      [3, 0, 4],
      [-2, 1, 2],
      [4, -1, 0.5],
      [0, 0, 0],
    ];
    // states: [1,2,-4], [2,1,0], [0,1,1], [2,0,0.75], [1,0,0.375]
    const want = [
      [3, 6, -12],
      [7, 2, 4],
      [-2, 3, 4],
      [8, -1, 2],
      [2, 0, 0.75],
    ];
    const f = oneParam({ kind: 'ema', alpha: 0.5, lamb: 2 });
    assert.deepEqual(
      grads.map((g) => f.step(g)),
      want,
    );
    assert.deepEqual(emaReference(grads, 0.5, 2), want, 'the float64 reference agrees with the hand table');
  });

  it('matches a float64 computation over 200 steps (alpha 0.98, lamb 2)', () => {
    const grads = randomGrads(200, 3, 7);
    const want = emaReference(grads, 0.98, 2);
    const f = oneParam({ kind: 'ema', alpha: 0.98, lamb: 2 });
    for (const [t, g] of grads.entries()) assertClose(f.step(g), want[t], `step ${t + 1}`);
  });
});

describe('the MA filter', () => {
  it('gives the hand-computed sequence (window 3, lamb 3: g + the window sum)', () => {
    const grads = [
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
      [-3, 0, 3],
      [0.5, -1, 2],
    ];
    const want = [
      [1, 2, 3], // 1 of 3: unchanged
      [4, 5, 6], // 2 of 3: unchanged
      [7 + 12, 8 + 15, 9 + 18], // sums of g1..g3: 12, 15, 18
      [-3 + 8, 0 + 13, 3 + 18], // g2..g4: 8, 13, 18
      [0.5 + 4.5, -1 + 7, 2 + 14], // g3..g5: 4.5, 7, 14
    ];
    const f = oneParam({ kind: 'ma', window: 3, lamb: 3 });
    const got = grads.map((g) => f.step(g));
    assert.deepEqual(got.slice(0, 2), want.slice(0, 2), 'before the window is full: unchanged, bit for bit');
    for (const [t, g] of got.entries()) assertClose(g, want[t], `step ${t + 1}`);
    for (const [t, g] of maReference(grads, 3, 3).entries())
      assertClose(g, want[t], `reference step ${t + 1}`);
  });

  it('leaves gradients unchanged until the window is full (window 10)', () => {
    const grads = randomGrads(12, 3, 3);
    const f = oneParam({ kind: 'ma', window: 10, lamb: 5 });
    const got = grads.map((g) => f.step(g));
    assert.deepEqual(got.slice(0, 9), grads.slice(0, 9));
    assert.notDeepEqual(got[9], grads[9], 'the 10th gradient is filtered');
  });

  it('keeps its running sum exact enough over 2000 steps (window 7, lamb 5)', () => {
    // The running sum adds and subtracts in float64; the reference recomputes the mean each step.
    const grads = randomGrads(2000, 3, 11);
    const want = maReference(grads, 7, 5);
    const f = oneParam({ kind: 'ma', window: 7, lamb: 5 });
    for (const [t, g] of grads.entries()) assertClose(f.step(g), want[t], `step ${t + 1}`);
  });
});

describe('filter state', () => {
  const specs: GradFilterSpec[] = [
    { kind: 'ema', alpha: 0.9, lamb: 2 },
    { kind: 'ma', window: 4, lamb: 5 },
  ];
  for (const spec of specs) {
    for (const at of [0, 1, 2, 7]) {
      it(`${spec.kind}: exported after ${at} steps and imported elsewhere, continues bit for bit`, () => {
        const grads = randomGrads(12, 3, 5);
        const whole = oneParam(spec);
        const want = grads.map((g) => whole.step(g));
        const first = oneParam(spec);
        const got = grads.slice(0, at).map((g) => first.step(g));
        const second = oneParam(spec);
        second.filter.importState(first.filter.exportState());
        got.push(...grads.slice(at).map((g) => second.step(g)));
        assert.deepEqual(got, want);
      });
    }
  }

  it('skips a parameter without a gradient, as the reference skips p.grad None', () => {
    const a = Tensor.param(new Float32Array(2), [2]);
    const b = Tensor.param(new Float32Array(2), [2]);
    const filter = createGradFilter(
      { kind: 'ma', window: 1, lamb: 1 },
      new Map([
        ['a', a],
        ['b', b],
      ]),
    );
    a.grad = Float32Array.from([1, 2]);
    filter?.apply();
    assert.deepEqual([...a.grad], [2, 4], 'window 1, lamb 1: g + g');
    assert.equal(b.grad, null);
    assert.deepEqual(filter?.exportState().seen, { a: 1 });
  });

  it('continues across a change of lamb only (the state averages raw gradients)', () => {
    assert.ok(stateFitsFilter({ kind: 'ema', alpha: 0.98, lamb: 5 }, { kind: 'ema', alpha: 0.98, lamb: 2 }));
    assert.ok(!stateFitsFilter({ kind: 'ema', alpha: 0.9, lamb: 2 }, { kind: 'ema', alpha: 0.98, lamb: 2 }));
    assert.ok(stateFitsFilter({ kind: 'ma', window: 100, lamb: 1 }, { kind: 'ma', window: 100, lamb: 5 }));
    assert.ok(!stateFitsFilter({ kind: 'ma', window: 50, lamb: 5 }, { kind: 'ma', window: 100, lamb: 5 }));
    assert.ok(!stateFitsFilter({ kind: 'ma', window: 100, lamb: 5 }, { kind: 'ema', alpha: 0.98, lamb: 5 }));
    const f = oneParam({ kind: 'ema', alpha: 0.5, lamb: 2 });
    assert.throws(
      () => f.filter.importState({ ...f.filter.exportState(), spec: { kind: 'ma', window: 3, lamb: 2 } }),
      /ma \(window 3/,
    );
  });

  it('goes through a checkpoint: filter.* tensors and metadata; none without a filter', () => {
    const config = parseRunConfig(
      tinyGrokkingConfig({ train: { grad_filter: { kind: 'ma', window: 3, lamb: 5 } } }),
    );
    const experiment = buildExperiment(config);
    const trainer = experiment.createTrainer();
    for (let i = 0; i < 5; i++) trainer.trainStep();
    const state = trainer.state(1.5);
    const decoded = decodeCheckpoint(encodeCheckpoint(trainer.model, state, 'adamw'));
    assert.ok(decoded.filter !== null);
    assert.deepEqual(decoded.filter.spec, { kind: 'ma', window: 3, lamb: 5 });
    const names = [...trainer.model.params.keys()];
    assert.deepEqual(decoded.filter.seen, Object.fromEntries(names.map((n) => [n, 5])));
    assert.deepEqual(
      [...decoded.filter.tensors.keys()].sort(),
      names.flatMap((n) => [`${n}.sum`, `${n}.window.0`, `${n}.window.1`, `${n}.window.2`]).sort(),
    );
    for (const [key, data] of state.filter?.tensors ?? []) {
      assert.deepEqual(decoded.filter.tensors.get(key), data, key);
    }
    assert.ok(decoded.filter.tensors.get(`${names[0]}.sum`) instanceof Float64Array);

    const plain = buildExperiment(parseRunConfig(tinyGrokkingConfig())).createTrainer();
    plain.trainStep();
    assert.equal(plain.state(0).filter, undefined);
    assert.equal(decodeCheckpoint(encodeCheckpoint(plain.model, plain.state(0), 'adamw')).filter, null);
  });
});

describe('train.grad_filter in the config', () => {
  const withFilter = (grad_filter: unknown) =>
    ({ ...tinyGrokkingConfig(), train: { ...tinyGrokkingConfig().train, grad_filter } }) as RunConfigInput;
  const problems = (raw: unknown) => {
    try {
      parseRunConfig(raw);
    } catch (err) {
      if (err instanceof UsageError) return err.problems;
      throw err;
    }
    assert.fail('expected a UsageError');
  };

  it('is optional (an old config reads back without it), null, ema or ma', () => {
    assert.equal('grad_filter' in parseRunConfig(tinyGrokkingConfig()).train, false);
    assert.equal(parseRunConfig(withFilter(null)).train.grad_filter, null);
    assert.deepEqual(parseRunConfig(withFilter({ kind: 'ema', alpha: 0.98, lamb: 2 })).train.grad_filter, {
      kind: 'ema',
      alpha: 0.98,
      lamb: 2,
    });
    for (const window of [1, 100, 10_000]) {
      assert.equal(parseRunConfig(withFilter({ kind: 'ma', window, lamb: 0 })).train.grad_filter?.kind, 'ma');
    }
  });

  it('names the field and what is allowed', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ kind: 'ema', alpha: 1, lamb: 2 }, 'train.grad_filter.alpha', /alpha must be in \(0, 1\)/],
      [{ kind: 'ema', alpha: 0, lamb: 2 }, 'train.grad_filter.alpha', /alpha must be in \(0, 1\)/],
      [{ kind: 'ema', lamb: 2 }, 'train.grad_filter.alpha', /alpha must be a number in \(0, 1\)/],
      [{ kind: 'ema', alpha: 0.9, lamb: -1 }, 'train.grad_filter.lamb', /lamb must be ≥ 0/],
      [{ kind: 'ma', window: 0, lamb: 5 }, 'train.grad_filter.window', /integer in \[1, 10000\]/],
      [{ kind: 'ma', window: 2.5, lamb: 5 }, 'train.grad_filter.window', /integer in \[1, 10000\]/],
      [{ kind: 'ma', window: 10_001, lamb: 5 }, 'train.grad_filter.window', /integer in \[1, 10000\]/],
      [{ kind: 'sma', window: 10, lamb: 5 }, 'train.grad_filter.kind', /kind must be one of ema, ma/],
      [{ window: 10, lamb: 5 }, 'train.grad_filter.kind', /kind must be one of ema, ma/],
      [
        { kind: 'ema', alpha: 0.9, lamb: 2, window: 5 },
        'train.grad_filter.window',
        /unknown key.*allowed: kind, alpha, lamb/,
      ],
      ['ema', 'train.grad_filter', /null, \{kind: ema, alpha, lamb\} or \{kind: ma, window, lamb\}/],
    ];
    for (const [value, field, message] of cases) {
      const found = problems(withFilter(value));
      assert.equal(found.length, 1, `${JSON.stringify(value)}: ${JSON.stringify(found)}`);
      assert.equal(found[0].field, field, JSON.stringify(value));
      assert.match(found[0].message, message, JSON.stringify(value));
    }
  });

  it('is set, cleared and changed by --set', () => {
    const base = tinyGrokkingConfig();
    const set = (config: unknown, ...items: string[]) =>
      parseRunConfig(applyOverrides(config as object, parseOverrides(items)));
    const ma = set(base, 'train.grad_filter={"kind":"ma","window":100,"lamb":5}');
    assert.deepEqual(ma.train.grad_filter, { kind: 'ma', window: 100, lamb: 5 });
    assert.deepEqual(set(ma, 'train.grad_filter.lamb=2').train.grad_filter, {
      kind: 'ma',
      window: 100,
      lamb: 2,
    });
    assert.equal(set(ma, 'train.grad_filter=null').train.grad_filter, null);
  });
});

function records(run: RunFolder): Record<string, unknown>[] {
  return (run.readMetrics().records as unknown as EvalRecord[]).map(({ wall_s: _wall, ...rest }) => rest);
}

function filterSeen(run: RunFolder, step: number): Record<string, number> | null {
  return decodeCheckpoint(run.readCheckpoint(step)).filter?.seen ?? null;
}

describe('training with a filter (x+y mod 31, MLP)', () => {
  const N = 120;
  const ema: GradFilterSpec = { kind: 'ema', alpha: 0.98, lamb: 2 };
  const ma: GradFilterSpec = { kind: 'ma', window: 20, lamb: 5 };

  {
    const filter = ema;
    it(`${filter.kind}: resumed from earlier checkpoints, equals the uninterrupted run bit for bit`, async () => {
      const runsDir = tmpRunsDir();
      const config = tinyGrokkingConfig({ train: { steps: N, grad_filter: filter } });
      const whole = (await startRun(runsDir, config, { id: 'whole' })).run;
      const plain = (await startRun(runsDir, tinyGrokkingConfig({ train: { steps: N } }), { id: 'plain' }))
        .run;
      assert.notDeepEqual(records(whole).at(-1), records(plain).at(-1), 'the filter changes training');
      // Step 1: one gradient seen; 8: ma's window not yet full; 64: full and wrapped around.
      for (const step of [1, 8, 64]) {
        const notices: string[] = [];
        const fork = (
          await resumeRun(runsDir, 'whole', {
            step,
            forkId: `from${step}`,
            hooks: { onNotice: (line) => notices.push(line) },
          })
        ).run;
        assert.deepEqual(notices, [], `from ${step}: the checkpoint's filter state is used`);
        assert.deepEqual(records(fork), records(whole), `resumed from step ${step}`);
        assert.deepEqual(filterSeen(fork, N), filterSeen(whole, N));
      }
      const seen = Object.values(filterSeen(whole, N) ?? {});
      assert.ok(seen.length > 0 && seen.every((n) => n === N), 'every parameter saw every gradient');
    });
  }

  it('ma: only the newest checkpoint keeps the window; resumed from it (interrupted), equals the uninterrupted run', async () => {
    const runsDir = tmpRunsDir();
    const config = tinyGrokkingConfig({ train: { steps: N, grad_filter: ma } });
    const whole = (await startRun(runsDir, config, { id: 'whole' })).run;
    const steps = whole.listCheckpoints();
    for (const step of steps) {
      const saved = decodeCheckpoint(whole.readCheckpoint(step));
      if (step === N) assert.equal(saved.filter?.tensors.size ? 'window' : 'none', 'window', `step ${step}`);
      else if (step > 0) {
        assert.equal(saved.filter, null, `step ${step}: the window was dropped`);
        assert.equal(JSON.parse(saved.filterDropped ?? 'null').kind, 'ma', `step ${step}: and says so`);
      }
    }
    // Stopped at step 50 (its own checkpoint, the newest, with the window) and resumed in place.
    const stopped = await startRun(runsDir, config, { id: 'b', hooks: { onStep: (step) => step === 50 } });
    assert.equal(stopped.reason, 'interrupted');
    const notices: string[] = [];
    const resumed = (await resumeRun(runsDir, 'b', { hooks: { onNotice: (line) => notices.push(line) } }))
      .run;
    assert.deepEqual(notices, []);
    assert.deepEqual(records(resumed), records(whole));
    // From an older checkpoint the window is refilled, and the notice says why.
    const older: string[] = [];
    await resumeRun(runsDir, 'whole', {
      step: 64,
      forkId: 'from64',
      hooks: { onNotice: (line) => older.push(line) },
    });
    assert.equal(older.length, 1);
    assert.match(older[0], /starts fresh at step 64 .*newest resume point/);
  });

  it('switches on at resume (starting fresh, said once, recorded), and off again', async () => {
    const runsDir = tmpRunsDir();
    const plain = (await startRun(runsDir, tinyGrokkingConfig({ train: { steps: 60 } }), { id: 'a' })).run;
    const notices: string[] = [];
    const hooks = { onNotice: (line: string) => notices.push(line) };
    const ema = { kind: 'ema', alpha: 0.98, lamb: 2 };
    await resumeRun(runsDir, 'a', {
      overrides: [
        { key: 'train.grad_filter', value: ema },
        { key: 'train.steps', value: 90 },
      ],
      hooks,
    });
    assert.deepEqual(notices, [
      'grad filter: ema (alpha 0.98, lamb 2) starts fresh at step 60 (the checkpoint holds no filter state)',
    ]);
    const config = plain.readConfig() as {
      train: { grad_filter?: unknown };
      lineage?: Array<{ overrides: Record<string, unknown> }>;
    };
    assert.deepEqual(config.train.grad_filter, ema);
    assert.deepEqual(config.lineage?.[0].overrides, { 'train.grad_filter': ema, 'train.steps': 90 });
    assert.equal(filterSeen(plain, 60), null);
    const seen = Object.values(filterSeen(plain, 90) ?? {});
    assert.ok(seen.length > 0 && seen.every((n) => n === 30), `fresh at 60: 30 gradients by 90 (${seen})`);

    // The same filter with another lamb continues its state, silently.
    notices.length = 0;
    await resumeRun(runsDir, 'a', {
      overrides: [
        { key: 'train.grad_filter.lamb', value: 5 },
        { key: 'train.steps', value: 100 },
      ],
      hooks,
    });
    assert.deepEqual(notices, []);
    assert.ok(Object.values(filterSeen(plain, 100) ?? {}).every((n) => n === 40));

    // Another window or kind starts fresh; null switches it off.
    notices.length = 0;
    await resumeRun(runsDir, 'a', {
      overrides: [
        { key: 'train.grad_filter', value: { kind: 'ma', window: 5, lamb: 5 } },
        { key: 'train.steps', value: 110 },
      ],
      hooks,
    });
    await resumeRun(runsDir, 'a', {
      overrides: [
        { key: 'train.grad_filter', value: null },
        { key: 'train.steps', value: 120 },
      ],
      hooks,
    });
    assert.deepEqual(notices, [
      'grad filter: ma (window 5, lamb 5) starts fresh at step 100 (the checkpoint holds the state of ema (alpha 0.98, lamb 5))',
      "grad filter: off from step 110; the checkpoint's ma (window 5, lamb 5) state is not used",
    ]);
    assert.ok(Object.values(filterSeen(plain, 110) ?? {}).every((n) => n === 10));
    assert.equal(filterSeen(plain, 120), null);
    assert.equal(plain.readStatus().state, 'finished');
    assert.equal((plain.readConfig() as { lineage?: unknown[] }).lineage?.length, 4);
  });
});
