// The analysis (src/analysis, `groklab analyze`): every measure against a case with a known answer,
// then a real grokking run end to end (the JSON layout, incremental re-runs, the CLI's bad input).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import {
  type AnalysisDocument,
  analyzeRun,
  columnEnergies,
  columnsOver,
  featureMovement,
  flattenParams,
  fourierBasis,
  frequencyEnergies,
  frozenReluGradientOracle,
  gini,
  gridFrequencies,
  inverseParticipationRatio,
  lanczos,
  linearCka,
  locatePhases,
  type ModularOperands,
  meanLoss,
  modelGradientOracle,
  probeModel,
  progressMeasures,
  pruningProbe,
  rowsOver,
  selectKeyFrequencies,
  summarizeSpectrum,
  symmetricEigen,
  topHessianEigenvalues,
  trigCoefficients,
  weightNorms,
} from '../src/analysis/index.ts';
import type { RunConfigInput } from '../src/config/schema.ts';
import { noGrad, type Tensor } from '../src/engine/tensor.ts';
import { buildModel, type ModelSpec } from '../src/models/index.ts';
import { resumeRun, startRun } from '../src/runner/session.ts';
import { openRun, type RunFolder } from '../src/runs/index.ts';
import { buildTask } from '../src/tasks/index.ts';
import { selectExamples } from '../src/train/data.ts';
import { UsageError } from '../src/util/errors.ts';
import { Rng } from '../src/util/rng.ts';
import { analyzeCli } from './helpers/analyze-cli.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { tinyGrokkingConfig } from './helpers/tiny-config.ts';

const tmpDir = tempDirs('analysis');

const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} is not within ${tol} of ${expected}`);

/** [p, cols] row-major with entry (x, c) = f(x, c). */
function matrix(p: number, cols: number, f: (x: number, c: number) => number): Float64Array {
  const m = new Float64Array(p * cols);
  for (let x = 0; x < p; x++) for (let c = 0; c < cols; c++) m[x * cols + c] = f(x, c);
  return m;
}

/** Operands of all p² pairs, a-major (the task order). */
function allPairs(p: number, sign: 1 | -1 = 1): ModularOperands {
  const a = new Int32Array(p * p);
  const b = new Int32Array(p * p);
  for (let i = 0; i < p * p; i++) {
    a[i] = Math.floor(i / p);
    b[i] = i % p;
  }
  return { p, sign, a, b };
}

describe('Fourier view over Z_p', () => {
  it('the real DFT basis is orthonormal for odd and even p (1e-12)', () => {
    for (const p of [7, 8, 47]) {
      const { rows } = fourierBasis(p);
      for (let i = 0; i < p; i++) {
        for (let j = 0; j < p; j++) {
          let s = 0;
          for (let x = 0; x < p; x++) s += rows[i * p + x] * rows[j * p + x];
          close(s, i === j ? 1 : 0, 1e-12, `p=${p} ⟨row ${i}, row ${j}⟩`);
        }
      }
    }
  });

  it('a pure cosine embedding at frequency k: key frequency k, Gini (K−1)/K, IPR 1', () => {
    const p = 47;
    const k = 14;
    const K = 23;
    // 16 columns, each cos(2πkx/p + φ_c) with its own phase and amplitude.
    const embed = matrix(p, 16, (x, c) => (1 + c / 4) * Math.cos((2 * Math.PI * k * x) / p + c));
    const energies = frequencyEnergies(rowsOver(embed, p, 16));
    let total = 0;
    for (const e of energies) total += e;
    for (let f = 0; f < energies.length; f++)
      if (f !== k) assert.ok(energies[f] < 1e-20 * total, `frequency ${f}`);
    const key = selectKeyFrequencies(energies);
    assert.deepEqual(key.frequencies, [k]);
    assert.equal(key.sparse, true);
    close(key.energy_fraction, 1, 1e-12, 'energy fraction');
    const summary = summarizeSpectrum(columnEnergies(rowsOver(embed, p, 16)), K + 1, [k]);
    close(summary.gini, (K - 1) / K, 1e-9, 'Gini');
    close(summary.ipr, 1, 1e-12, 'IPR');
    close(summary.run_key_energy_fraction ?? Number.NaN, 1, 1e-12, 'run key energy fraction');
    close(summary.per_column.top_share_mean, 1, 1e-12, 'per-column top share');
  });

  it('two equal frequencies: both found, Gini (K−2)/K, IPR 1/2', () => {
    const p = 31;
    const K = 15;
    const m = matrix(
      p,
      8,
      (x, c) => Math.cos((2 * Math.PI * 3 * x) / p + c) + Math.sin((2 * Math.PI * 11 * x) / p + 2 * c),
    );
    const energies = frequencyEnergies(rowsOver(m, p, 8));
    assert.deepEqual(selectKeyFrequencies(energies).frequencies, [3, 11]);
    close(gini(Array.from(energies.subarray(1), Math.sqrt)), (K - 2) / K, 1e-6, 'Gini');
    close(inverseParticipationRatio(energies.subarray(1)), 0.5, 1e-6, 'IPR');
  });

  it('a random Gaussian embedding: low Gini, IPR near 1/K, not sparse', () => {
    const p = 47;
    const rng = new Rng(3);
    const m = matrix(p, 128, () => rng.normal());
    const energies = frequencyEnergies(rowsOver(m, p, 128));
    const g = gini(Array.from(energies.subarray(1), Math.sqrt));
    // Each frequency's energy is χ² with 256 degrees of freedom: norms vary by ~4%, Gini ≈ 0.025.
    assert.ok(g < 0.1, `Gini ${g}`);
    const ipr = inverseParticipationRatio(energies.subarray(1));
    close(ipr, 1 / 23, 0.2 / 23, 'IPR');
    assert.equal(selectKeyFrequencies(energies).sparse, false);
  });

  it("energies add up to the matrix's squared norm (Parseval) and rows/columns views agree", () => {
    const p = 12;
    const rng = new Rng(5);
    const m = matrix(p, 5, () => rng.normal());
    let norm = 0;
    for (const x of m) norm += x * x;
    const energies = frequencyEnergies(rowsOver(m, p, 5));
    close(
      energies.reduce((s, e) => s + e, 0),
      norm,
      1e-10 * norm,
      'Σ energies',
    );
    const transposed = new Float64Array(5 * p);
    for (let x = 0; x < p; x++) for (let c = 0; c < 5; c++) transposed[c * p + x] = m[x * 5 + c];
    const viaColumns = frequencyEnergies(columnsOver(transposed, 5, p, p));
    for (let f = 0; f < energies.length; f++)
      close(viaColumns[f], energies[f], 1e-10 * norm, `frequency ${f}`);
  });
});

/** Logits of a model that is exactly the trigonometric circuit: Σ_k A_k cos(w_k s) + B_k sin(w_k s), s = a ± b − c. */
function circuitCube(p: number, terms: Array<[number, number, number]>, sign: 1 | -1 = 1): Float64Array {
  const { a, b } = allPairs(p);
  const logits = new Float64Array(p * p * p);
  for (let i = 0; i < p * p; i++) {
    for (let c = 0; c < p; c++) {
      const s = a[i] + sign * b[i] - c;
      let z = 0;
      for (const [k, A, B] of terms)
        z += A * Math.cos((2 * Math.PI * k * s) / p) + B * Math.sin((2 * Math.PI * k * s) / p);
      logits[i * p + c] = z;
    }
  }
  return logits;
}

function labelsOf(p: number, sign: 1 | -1 = 1): Int32Array {
  const { a, b } = allPairs(p);
  return Int32Array.from(a, (x, i) => (((x + sign * b[i]) % p) + p) % p);
}

describe('progress measures (restricted and excluded loss)', () => {
  const p = 23;
  const terms: Array<[number, number, number]> = [
    [4, 3, 0.5],
    [9, 2.5, -1],
    [10, 2, 0],
  ];
  const keys = [4, 9, 10];
  const train = Int32Array.from({ length: 150 }, (_, i) => (i * 7) % (p * p));

  it('logits that are exactly the circuit: restricted loss = full loss, excluded loss = log p (1e-12)', () => {
    for (const sign of [1, -1] as const) {
      const logits = circuitCube(p, terms, sign);
      const labels = labelsOf(p, sign);
      const full = meanLoss(logits, p, labels, null, 'cross_entropy');
      const m = progressMeasures(logits, allPairs(p, sign), labels, train, keys, 'cross_entropy');
      close(m.restricted_loss, full, 1e-12, `restricted loss (sign ${sign})`);
      close(m.excluded_loss, Math.log(p), 1e-12, `excluded loss (sign ${sign})`);
      close(m.key_logit_energy_share, 1, 1e-12, 'key share of the logit energy');
    }
  });

  it('recovers the coefficients, ignores per-pair offsets, and excludes only the key part', () => {
    const clean = circuitCube(p, terms);
    const other = circuitCube(p, [[6, 1.5, 0]]);
    const rng = new Rng(11);
    const logits = new Float64Array(clean.length);
    for (let i = 0; i < p * p; i++) {
      const offset = rng.normal() * 5; // softmax ignores a constant per pair
      for (let c = 0; c < p; c++) logits[i * p + c] = clean[i * p + c] + other[i * p + c] + offset;
    }
    const coefficients = trigCoefficients(logits, allPairs(p));
    for (const [k, A, B] of terms) {
      close(coefficients.cos[k], A, 1e-12, `α_${k}`);
      close(coefficients.sin[k], B, 1e-12, `β_${k}`);
    }
    close(coefficients.cos[6], 1.5, 1e-12, 'α_6');
    const labels = labelsOf(p);
    const m = progressMeasures(logits, allPairs(p), labels, train, keys, 'cross_entropy');
    close(
      m.restricted_loss,
      meanLoss(clean, p, labels, null, 'cross_entropy'),
      1e-12,
      'restricted = loss of the key circuit alone',
    );
    close(
      m.excluded_loss,
      meanLoss(other, p, labels, train, 'cross_entropy'),
      1e-12,
      'excluded = loss of what is left',
    );
  });

  it('a memorizing lookup table has almost none of its logit energy in the key directions', () => {
    const rng = new Rng(2);
    const logits = Float64Array.from({ length: p * p * p }, () => rng.normal());
    const m = progressMeasures(logits, allPairs(p), labelsOf(p), train, keys, 'cross_entropy');
    // Each direction holds ~1/(p²−p·…) of random energy: 6 of ~p³ dimensions.
    assert.ok(m.key_logit_energy_share < 0.01, `share ${m.key_logit_energy_share}`);
    assert.ok(m.restricted_loss > Math.log(p) - 0.05, `restricted ${m.restricted_loss}`);
  });
});

describe('neuron frequencies over the (a, b) grid', () => {
  it('a neuron of the circuit has its frequency with fraction 1; noise and constants do not', () => {
    const p = 17;
    const { a, b } = allPairs(p);
    const width = 3;
    const rng = new Rng(4);
    const values = new Float32Array(p * p * width);
    for (let i = 0; i < p * p; i++) {
      const wa = (2 * Math.PI * 5 * a[i]) / p;
      const wb = (2 * Math.PI * 5 * b[i]) / p;
      values[i * width] = Math.cos(wa + 0.3) * Math.cos(wb - 1) + 0.5 * Math.sin(wa) + 2;
      values[i * width + 1] = rng.normal();
      values[i * width + 2] = 1.5;
    }
    const found = gridFrequencies(values, width, allPairs(p));
    assert.equal(found.frequency[0], 5);
    close(found.fraction[0], 1, 1e-5, 'fraction of the circuit neuron');
    assert.ok(found.fraction[1] < 0.2, `noise fraction ${found.fraction[1]}`);
    assert.deepEqual([found.frequency[2], found.fraction[2]], [0, 0]);
  });
});

describe('norms and feature movement', () => {
  it('weight norms, sum of squares and distance from initialization', () => {
    const weights = new Map([
      ['layers.0.w', { shape: [2], data: [3, 4] }],
      ['layers.0.b', { shape: [1], data: [12] }],
      ['out.w', { shape: [1], data: [0] }],
    ]);
    const init = new Map([
      ['layers.0.w', { shape: [2], data: [3, 0] }],
      ['layers.0.b', { shape: [1], data: [0] }],
      ['out.w', { shape: [1], data: [4] }],
    ]);
    const n = weightNorms(weights, init);
    assert.equal(n.total, 13);
    assert.equal(n.sum_squares, 169);
    assert.deepEqual(n.per_tensor, { 'layers.0.w': 5, 'layers.0.b': 12, 'out.w': 0 });
    assert.deepEqual(n.per_layer, { 'layers.0': 13, out: 0 });
    // moved: (0, 4), 12, −4 → √(16 + 144 + 16); initial norm 5.
    close(n.distance_from_init.total, Math.sqrt(176), 1e-12, 'distance');
    close(n.distance_from_init.relative, Math.sqrt(176) / 5, 1e-12, 'relative distance');
  });

  it('CKA is 1 for rotated and scaled features, small for unrelated ones', () => {
    const rows = 400;
    const cols = 6;
    const rng = new Rng(8);
    const x = Float64Array.from({ length: rows * cols }, () => rng.normal());
    // A rotation in the (0, 1) plane, times 3, plus a constant shift: the same features.
    const y = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      y.set(
        x.subarray(o, o + cols).map((v) => 3 * v + 1),
        o,
      );
      y[o] = 3 * (0.6 * x[o] - 0.8 * x[o + 1]);
      y[o + 1] = 3 * (0.8 * x[o] + 0.6 * x[o + 1]);
    }
    close(linearCka(x, y, rows, cols, cols) ?? 0, 1, 1e-5, 'CKA of a rotation');
    const z = Float64Array.from({ length: rows * cols }, () => rng.normal());
    const unrelated = linearCka(x, z, rows, cols, cols) ?? 1;
    assert.ok(unrelated < 0.1, `CKA of independent features ${unrelated}`);
    const same = featureMovement('h', x, x, rows, cols);
    assert.deepEqual([same.relative_change, Math.round((same.cka_to_init ?? 0) * 1e6) / 1e6], [0, 1]);
  });
});

describe('Hessian: Lanczos with Hessian-vector products', () => {
  it('symmetricEigen and Lanczos find a known spectrum (1e-9)', () => {
    const n = 40;
    const rng = new Rng(6);
    // Q·diag(λ)·Qᵀ with Q from Gram-Schmidt of a random matrix; λ = 10, 9, 8.5, then ≤ 5.
    const lambda = Array.from({ length: n }, (_, i) =>
      i === 0 ? 10 : i === 1 ? 9 : i === 2 ? 8.5 : 5 - (5 * i) / n,
    );
    const q: Float64Array[] = [];
    for (let i = 0; i < n; i++) {
      const v = Float64Array.from({ length: n }, () => rng.normal());
      for (const u of q) {
        let d = 0;
        for (let j = 0; j < n; j++) d += u[j] * v[j];
        for (let j = 0; j < n; j++) v[j] -= d * u[j];
      }
      const len = Math.hypot(...v);
      q.push(v.map((x) => x / len));
    }
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += q[k][i] * lambda[k] * q[k][j];
    const eig = symmetricEigen(a, n);
    const sorted = [...lambda].sort((x, y) => y - x);
    for (let i = 0; i < n; i++) close(eig.values[i], sorted[i], 1e-9, `eigenvalue ${i}`);
    const apply = (v: Float64Array) => {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i] += a[i * n + j] * v[j];
      return out;
    };
    const full = lanczos(apply, n, { iterations: n, top: 3 });
    assert.equal(full.eigenvalues.length, 3);
    for (const [i, l] of [10, 9, 8.5].entries())
      close(full.eigenvalues[i], l, 1e-9, `Lanczos eigenvalue ${i}`);
    for (const r of full.residuals) assert.ok(r < 1e-8, `residual ${r}`);
  });

  it('on a tiny float64 MLP: the Lanczos top eigenvalues match a dense finite-difference Hessian (1e-6 relative)', () => {
    const p = 5;
    const task = buildTask({ kind: 'modular', op: 'add', p, train_fraction: 0.5 });
    const spec: ModelSpec = {
      kind: 'mlp',
      input: 'onehot',
      width: 4,
      depth: 1,
      activation: 'quadratic',
      init_scale: 1,
    };
    const model = buildModel(spec, task, 3, 'f64');
    const examples = selectExamples(
      task.inputs,
      task.labels,
      task.seqLen,
      Int32Array.from({ length: 25 }, (_, i) => i),
    );
    const oracle = modelGradientOracle(model, examples, 'cross_entropy');
    const theta = flattenParams(model);
    const n = theta.length; // 18·4 + 4 + 4·5 + 5 = 101
    assert.equal(n, 101);
    // Dense Hessian, column i by central differences of gradients along e_i (ε = 1e-4).
    const eps = 1e-4;
    const dense = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      const plus = Float64Array.from(theta);
      const minus = Float64Array.from(theta);
      plus[i] += eps;
      minus[i] -= eps;
      const gp = oracle.gradient(plus).grad;
      const gm = oracle.gradient(minus).grad;
      for (let j = 0; j < n; j++) dense[j * n + i] = (gp[j] - gm[j]) / (2 * eps);
    }
    // Spot-check entries against second differences of the loss alone (independent of backprop):
    // truncation ~ε²·L⁗ and rounding ~1e-16/ε², both ≲ 1e-7 with ε = 1e-4.
    const lossAt = (t: Float64Array) => oracle.gradient(t).loss;
    const rng = new Rng(9);
    let scale = 0;
    for (const x of dense) scale = Math.max(scale, Math.abs(x));
    for (let trial = 0; trial < 12; trial++) {
      const i = rng.int(n);
      const j = rng.int(n);
      const at = (si: number, sj: number) => {
        const t = Float64Array.from(theta);
        t[i] += si * eps;
        t[j] += sj * eps;
        return lossAt(t);
      };
      const second = (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * eps * eps);
      close(dense[j * n + i], second, 1e-5 * scale, `H[${j}, ${i}]`);
    }
    const exact = symmetricEigen(dense, n).values;
    const summary = topHessianEigenvalues(model, examples, 'cross_entropy', { iterations: 60, top: 3 });
    assert.equal(summary.dtype, 'f64');
    for (let i = 0; i < 3; i++) {
      close(summary.top_eigenvalues[i], exact[i], 1e-6 * Math.abs(exact[0]), `eigenvalue ${i}`);
    }
    assert.ok(
      summary.hvp_error_estimate < 1e-6 * Math.abs(exact[0]),
      `HVP error ${summary.hvp_error_estimate}`,
    );
    // The model's own parameters are left as they were.
    assert.deepEqual(flattenParams(model), theta);
  });
});

describe('Hessian of a ReLU network', () => {
  it('freezing the masks keeps the loss and gradient at θ and matches a dense Hessian away from kinks', () => {
    const p = 5;
    const task = buildTask({ kind: 'modular', op: 'add', p, train_fraction: 0.5 });
    const spec: ModelSpec = {
      kind: 'mlp',
      input: 'onehot',
      width: 6,
      depth: 2,
      activation: 'relu',
      init_scale: 1,
    };
    const model = buildModel(spec, task, 2, 'f64');
    const examples = selectExamples(
      task.inputs,
      task.labels,
      task.seqLen,
      Int32Array.from({ length: 25 }, (_, i) => i),
    );
    const theta = flattenParams(model);
    const plain = modelGradientOracle(model, examples, 'cross_entropy').gradient(theta);
    const frozen = frozenReluGradientOracle(model, examples, 'cross_entropy');
    const atTheta = frozen.gradient(theta);
    close(atTheta.loss, plain.loss, 1e-12, 'loss at θ');
    for (let i = 0; i < theta.length; i++) close(atTheta.grad[i], plain.grad[i], 1e-12, `gradient ${i}`);
    // Dense Hessian of the frozen-mask loss by differences of its gradients, against Lanczos.
    const n = theta.length;
    const eps = 1e-4;
    const dense = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      const plus = Float64Array.from(theta);
      const minus = Float64Array.from(theta);
      plus[i] += eps;
      minus[i] -= eps;
      const gp = frozen.gradient(plus).grad;
      const gm = frozen.gradient(minus).grad;
      for (let j = 0; j < n; j++) dense[j * n + i] = (gp[j] - gm[j]) / (2 * eps);
    }
    const exact = symmetricEigen(dense, n).values;
    const summary = topHessianEigenvalues(model, examples, 'cross_entropy', {
      iterations: 60,
      top: 2,
    });
    assert.equal(summary.relu_masks, 'frozen at θ');
    for (let i = 0; i < 2; i++)
      close(summary.top_eigenvalues[i], exact[i], 1e-6 * Math.abs(exact[0]), `eigenvalue ${i}`);
  });
});

describe('pruning probe', () => {
  // A hand-built lookup table for x+y mod 5: neuron (a, b) fires (ReLU(2[x=a] + 2[y=b] − 3) = 1) only
  // on that pair and votes for (a+b) mod 5. 75 weights carry it (50 in layer 0, 25 in the output);
  // the other 500 of the 575 weight-matrix entries are noise below 1e-3. Pruning the 500 smallest
  // keeps 100% accuracy; the 501st removes the weakest vote (neuron (4, 4), label 3), whose logits
  // then all equal 0 and the tie goes to class 0: one pair in 25 wrong, accuracy 0.96.
  it('finds exactly the share of weights a hand-made lookup table can lose: 500 of 575', () => {
    const p = 5;
    const task = buildTask({ kind: 'modular', op: 'add', p, train_fraction: 0.5 });
    const spec: ModelSpec = {
      kind: 'mlp',
      input: 'onehot',
      width: 25,
      depth: 1,
      activation: 'relu',
      init_scale: 1,
    };
    const model = buildModel(spec, task, 0);
    const rng = new Rng(1);
    const w0 = model.params.get('layers.0.w') as Tensor;
    const b0 = model.params.get('layers.0.b') as Tensor;
    const out = model.params.get('out.w') as Tensor;
    const outB = model.params.get('out.b') as Tensor;
    const noise = () => (rng.uniform() - 0.5) * 2e-3;
    for (let i = 0; i < w0.size; i++) w0.data[i] = noise();
    for (let i = 0; i < out.size; i++) out.data[i] = noise();
    b0.data.fill(-3);
    outB.data.fill(0);
    for (let a = 0; a < p; a++) {
      for (let b = 0; b < p; b++) {
        const neuron = a * p + b;
        w0.data[a * 25 + neuron] = 2; // position 0, token a
        w0.data[(task.vocabSize + b) * 25 + neuron] = 2; // position 1, token b
        out.data[neuron * p + ((a + b) % p)] = 1 + 0.01 * (24 - neuron);
      }
    }
    const before = flattenParams(model);
    const evaluate = () =>
      noGrad(() => {
        const logits = model.forward(task.inputs, task.numExamples).data;
        let correct = 0;
        for (let i = 0; i < task.numExamples; i++) {
          let best = 0;
          for (let c = 1; c < p; c++) if (logits[i * p + c] > logits[i * p + best]) best = c;
          if (best === task.labels[i]) correct++;
        }
        const acc = correct / task.numExamples;
        return { train_acc: acc, test_acc: acc };
      });
    const result = pruningProbe(model, evaluate, { fractions: [0, 0.5, 0.8, 0.85, 0.87, 0.9] });
    assert.equal(result.prunable_weights, 575);
    assert.deepEqual(result.baseline, { train_acc: 1, test_acc: 1 });
    assert.deepEqual(result.train_acc, [1, 1, 1, 1, 1, result.train_acc[5]]);
    assert.ok(result.train_acc[5] < 0.99);
    assert.equal(result.max_fraction.train, 0.87);
    assert.equal(result.critical_fraction.train, 500 / 575);
    assert.deepEqual(flattenParams(model), before, 'weights restored');
  });
});

describe('the probe forward pass', () => {
  it("gives the models' own logits (float64, 1e-12) for transformers and MLPs", () => {
    const task = buildTask({ kind: 'modular', op: 'add', p: 7, train_fraction: 0.5 });
    const specs: ModelSpec[] = [
      {
        kind: 'transformer',
        layers: 2,
        d_model: 8,
        heads: 2,
        d_mlp: 16,
        activation: 'relu',
        layernorm: 'pre',
        init_scale: 1,
      },
      {
        kind: 'transformer',
        layers: 1,
        d_model: 8,
        heads: 4,
        d_mlp: 12,
        activation: 'gelu',
        layernorm: 'post',
        init_scale: 1,
      },
      // nanda-113's layout.
      {
        kind: 'transformer',
        layers: 1,
        d_model: 8,
        heads: 2,
        d_mlp: 12,
        activation: 'relu',
        layernorm: 'none',
        init_scale: 1,
        init: 'nanda',
      },
      { kind: 'mlp', input: 'embed', embed_dim: 5, width: 9, depth: 2, activation: 'gelu', init_scale: 1 },
      { kind: 'mlp', input: 'onehot', width: 9, depth: 1, activation: 'quadratic', init_scale: 1 },
    ];
    for (const spec of specs) {
      const model = buildModel(spec, task, 1, 'f64');
      const own = noGrad(() => model.forward(task.inputs, task.numExamples)).data;
      const probe = probeModel(model, task.inputs, task.numExamples);
      assert.equal(probe.logits.length, own.length);
      for (let i = 0; i < own.length; i++) close(probe.logits[i], own[i], 1e-12, `${spec.kind} logit ${i}`);
      if (spec.kind === 'transformer') {
        assert.equal(probe.attention.length, spec.layers);
        // Attention from the answer position is a distribution over the keys.
        const seq = task.seqLen;
        for (const probs of probe.attention) {
          assert.equal(probs.length, task.numExamples * spec.heads * seq);
          for (let r = 0; r < probs.length / seq; r++) {
            let s = 0;
            for (let j = 0; j < seq; j++) s += probs[r * seq + j];
            close(s, 1, 1e-12, 'attention row sum');
          }
        }
      }
    }
  });
});

describe('phases', () => {
  it('places memorization, circuit formation and cleanup and checks them against the progress measures', () => {
    const point = (step: number, test: number, restricted: number, excluded: number, squares: number) => ({
      step,
      train_loss: 0.001,
      test_loss: test,
      restricted_loss: restricted,
      excluded_loss: excluded,
      sum_squares: squares,
    });
    const series = [
      point(0, 4.7, 4.7, 4.7, 100),
      point(1000, 9, 4.5, 0.01, 300),
      point(3000, 8, 2, 0.3, 320),
      point(6000, 6, 0.5, 1.2, 310),
      point(9000, 0.5, 0.1, 4, 150),
      point(12000, 0.01, 0.01, 4.5, 120),
    ];
    const result = locatePhases({ t_mem: 1000, t_grok_onset: 6000, t_grok_crossing: 9000 }, series);
    assert.deepEqual(result.phases, [
      { name: 'memorization', from: 0, to: 1000 },
      { name: 'circuit_formation', from: 1000, to: 6000 },
      { name: 'cleanup', from: 6000, to: 9000 },
    ]);
    assert.deepEqual(result.checks, {
      excluded_loss_rises_before_cleanup: true,
      restricted_loss_leads_test_loss: true,
      weights_fall_during_cleanup: true,
    });
    assert.equal(result.evidence.restricted_below_test_from, 1000);
    assert.equal(result.cleanup_start_rule, 'detect-onset');
    // A commutative task: test accuracy rose to the training fraction during memorization, so the
    // detector's onset (500) precedes t_mem; the cleanup starts where the accuracy leaves 0.6 for good.
    const curve = {
      step: [0, 500, 1000, 3000, 5000, 6000, 7000, 8000, 9000, 12000],
      test_acc: [0, 0.5, 0.6, 0.61, 0.58, 0.62, 0.7, 0.85, 0.95, 1],
    };
    const symmetric = locatePhases({ t_mem: 1000, t_grok_onset: 500, t_grok_crossing: 9000 }, series, curve);
    // plateau median 0.61 (1000..8000), best after crossing 1 → threshold 0.649; last ≤ it: 6000.
    assert.equal(symmetric.cleanup_start, 7000);
    assert.equal(symmetric.cleanup_start_rule, 'plateau-exit');
    assert.deepEqual(symmetric.phases.at(-1), { name: 'cleanup', from: 7000, to: 9000 });
    const memorizing = locatePhases({ t_mem: 1000, t_grok_onset: null, t_grok_crossing: null }, series);
    assert.deepEqual(memorizing.phases.at(-1), { name: 'circuit_formation', from: 1000, to: null });
    // No cleanup yet: nothing to judge.
    assert.deepEqual(memorizing.checks, {
      excluded_loss_rises_before_cleanup: null,
      restricted_loss_leads_test_loss: null,
      weights_fall_during_cleanup: null,
    });
  });
});

describe('groklab analyze on a real run', () => {
  const runsDir = tmpDir();
  let run: RunFolder;
  let doc: AnalysisDocument;
  const fast = { hessianIterations: 8, hessianTop: 2 } as const;

  before(async () => {
    run = (await startRun(runsDir, tinyGrokkingConfig({ train: { steps: 200 } }), { id: 'tiny' })).run;
    doc = analyzeRun(run, fast).document;
  });

  it('writes analysis/analysis.json with every checkpoint, ascending, and the run curves', () => {
    const file = path.join(run.dir, 'analysis', 'analysis.json');
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), JSON.parse(JSON.stringify(doc)));
    assert.equal(doc.format, 'groklab-analysis-1');
    assert.deepEqual(
      doc.checkpoints.map((c) => c.step),
      run.listCheckpoints(),
    );
    assert.deepEqual(
      doc.curves.step,
      run.readMetrics().records.map((r) => r.step),
    );
    assert.equal(doc.task.p, 31);
    for (const c of doc.checkpoints) {
      assert.equal(c.fourier?.embedding?.norms.length, 16);
      assert.ok(c.progress && c.neurons && c.features);
      assert.equal(c.attention, null);
    }
  });

  it('recomputes the logged losses from the checkpoints (float32, 1e-5)', () => {
    const metrics = new Map(run.readMetrics().records.map((r) => [r.step, r]));
    for (const c of doc.checkpoints) {
      const m = metrics.get(c.step);
      if (!m) continue;
      close(
        c.losses.train_loss,
        m.train_loss as number,
        1e-5 * Math.max(1, m.train_loss as number),
        `train loss at ${c.step}`,
      );
      close(c.losses.test_acc, m.test_acc as number, 1e-9, `test acc at ${c.step}`);
    }
  });

  it('runs the Hessian and pruning probe at the automatic checkpoints', () => {
    const withHessian = doc.checkpoints.filter((c) => c.hessian);
    assert.ok(
      withHessian.some((c) => c.step === 200),
      'the last checkpoint has a Hessian',
    );
    for (const c of withHessian) {
      assert.equal(c.hessian?.top_eigenvalues.length, 2);
      assert.ok((c.hessian?.top_eigenvalues[0] ?? 0) >= (c.hessian?.top_eigenvalues[1] ?? 0));
    }
    const last = doc.checkpoints.at(-1);
    assert.ok(last?.pruning && last.pruning.fractions.length === last.pruning.train_acc.length);
  });

  it('re-running analyses only new checkpoints; a changed key set refreshes the progress measures only', async () => {
    assert.deepEqual(analyzeRun(run, fast).analysed, []);
    const before = run.listCheckpoints();
    await resumeRun(runsDir, 'tiny', { overrides: [{ key: 'train.steps', value: 300 }] });
    const added = run.listCheckpoints().filter((s) => !before.includes(s));
    assert.deepEqual(added, [300]);
    const again = analyzeRun(run, fast);
    const sameKeys =
      JSON.stringify(again.document.key_frequencies?.frequencies) ===
      JSON.stringify(doc.key_frequencies?.frequencies);
    assert.deepEqual(again.analysed, sameKeys ? added : run.listCheckpoints());
    const user = analyzeRun(run, { ...fast, keyFrequencies: [3, 7] });
    assert.deepEqual(user.analysed, run.listCheckpoints());
    assert.deepEqual(user.document.key_frequencies?.frequencies, [3, 7]);
    assert.deepEqual(user.document.checkpoints.at(-1)?.progress?.key_frequencies, [3, 7]);
  });

  it('the CLI reports bad options as usage errors and prints the summary', async () => {
    const runCli = analyzeCli;
    for (const bad of [
      ['tiny', '--runs-dir', runsDir, '--every', '0'],
      ['tiny', '--runs-dir', runsDir, '--hessian-dtype', 'f16'],
      ['tiny', '--runs-dir', runsDir, '--steps', '1,77'],
      ['tiny', '--runs-dir', runsDir, '--key-freqs', '0,99'],
      ['nope', '--runs-dir', runsDir],
    ]) {
      await assert.rejects(runCli(bad), UsageError, bad.join(' '));
    }
    const text = await runCli([run.dir, '--quiet', '--hessian-steps', 'none', '--prune-steps', 'none']);
    assert.match(text, /run tiny: \d+ checkpoints/);
    assert.match(text, /phases: memorization 0–/);
  });
});

describe('groklab analyze on a transformer run', () => {
  it('adds attention summaries and the heatmaps of the last checkpoint', async () => {
    const runsDir = tmpDir();
    const model: RunConfigInput['model'] = {
      kind: 'transformer',
      layers: 1,
      d_model: 16,
      heads: 2,
      d_mlp: 32,
      activation: 'relu',
      layernorm: 'none',
      init_scale: 1,
    };
    const config = {
      ...tinyGrokkingConfig({ model, train: { steps: 20 } }),
      task: { kind: 'modular', op: 'add', p: 11, train_fraction: 0.5 },
    } as RunConfigInput;
    const run = openRun(runsDir, (await startRun(runsDir, config, { id: 'tf' })).run.id);
    const { document } = analyzeRun(run, { hessianSteps: 'none', pruneSteps: 'none' });
    const last = document.checkpoints.at(-1);
    assert.equal(last?.attention?.length, 2);
    for (const head of last?.attention ?? []) {
      assert.equal(head.mean_to_position.length, 3);
      close(
        head.mean_to_position.reduce((a, b) => a + b, 0),
        1,
        1e-5,
        'mean attention over positions',
      );
    }
    for (const grid of document.attention_grid?.heads ?? []) assert.ok(grid.every((x) => x >= 0 && x <= 1));
    assert.ok(last?.fourier?.mlp_in && last.fourier.neuron_logit && last.fourier.unembedding);
    assert.equal(document.attention_grid?.step, 20);
    assert.equal(document.attention_grid?.heads.length, 2);
    assert.equal(document.attention_grid?.heads[0].length, 121);
  });
});
