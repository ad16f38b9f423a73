// Charts of `groklab analyze` (src/plots/analysis-specs/, src/plots/analysis.ts): a real tiny run is
// analysed through the CLI, and the numbers in each chart's spec are checked against analysis.json;
// then the SVG's text and the PNG's size, a run analysed again after training on, a run that is not
// modular arithmetic, and bad options.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { AnalysisDocument } from '../src/analysis/index.ts';
import type { RunConfigInput } from '../src/config/schema.ts';
import { plotAnalysis, readAnalysisDocument } from '../src/plots/analysis.ts';
import {
  ANALYSIS_CHART_NAMES,
  analysisChartSpecs,
  PNG_SCALE,
  PROGRESS_SERIES,
  type phaseBands,
  specToSvg,
  spectrumRows,
  spectrumSpec,
  wrapLine,
} from '../src/plots/index.ts';
import { resumeRun, startRun } from '../src/runner/session.ts';
import { openRun } from '../src/runs/index.ts';
import { UsageError } from '../src/util/errors.ts';
import { analyzeCli } from './helpers/analyze-cli.ts';
import { tempDirs } from './helpers/temp-dirs.ts';
import { tinyGrokkingConfig } from './helpers/tiny-config.ts';

// biome-ignore lint/suspicious/noExplicitAny: specs are walked as plain JSON
type Loose = any;

const tmpDir = tempDirs('analysis-plots');

function readDoc(runDir: string): AnalysisDocument {
  return JSON.parse(fs.readFileSync(path.join(runDir, 'analysis', 'analysis.json'), 'utf8'));
}

/** Every layer of a spec (through vconcat and layer), depth first. */
function layers(spec: Loose): Loose[] {
  const found: Loose[] = [];
  const walk = (node: Loose) => {
    if (!node || typeof node !== 'object') return;
    if (node.mark) found.push(node);
    for (const child of [...(node.vconcat ?? []), ...(node.layer ?? [])]) walk(child);
  };
  walk(spec);
  return found;
}

function layer(spec: Loose, name: string): Loose {
  const found = layers(spec).find((l) => l.name === name);
  assert.ok(found, `a layer named ${name}`);
  return found;
}

/** The texts of all <text> elements. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

/** Items drawn in the mark group whose class ends in `name` (e.g. "embedding_cells_marks"). */
function markItems(svg: string, name: string): number {
  const start = svg.indexOf(`role-mark ${name}"`);
  assert.ok(start >= 0, `a mark group ${name}`);
  // The group ends where the next mark group starts.
  const rest = svg.slice(start);
  const end = rest.indexOf('role-mark ', 20);
  return (rest.slice(0, end === -1 ? undefined : end).match(/<path /g) ?? []).length;
}

function pngHeader(png: Uint8Array): { width: number; height: number } {
  assert.deepEqual(
    [...png.subarray(0, 8)],
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    'PNG signature',
  );
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  assert.equal(String.fromCharCode(...png.subarray(12, 16)), 'IHDR');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function svgSize(svg: string): { width: number; height: number } {
  const m = svg.match(/^<svg[^>]* width="(\d+(?:\.\d+)?)" height="(\d+(?:\.\d+)?)"/);
  assert.ok(m, 'an <svg> with width and height');
  return { width: Number(m[1]), height: Number(m[2]) };
}

const FAST = ['--quiet', '--hessian-iters', '6', '--hessian-top', '2'];

describe('groklab analyze charts on a real modular run', () => {
  const runsDir = tmpDir();
  let runDir: string;
  let doc: AnalysisDocument;
  let firstSummary: string;
  let secondSummary: string;
  let firstSpectrumSvg: string;

  before(async () => {
    // 100 steps first (the run "so far"), analysed; then trained on to 200 and analysed again.
    const { run } = await startRun(runsDir, tinyGrokkingConfig({ train: { steps: 100 } }), { id: 'tiny' });
    runDir = run.dir;
    // The Hessian and pruning probe only in the second analysis (they take most of its time).
    firstSummary = await analyzeCli([
      'tiny',
      '--runs-dir',
      runsDir,
      '--quiet',
      '--hessian-steps',
      'none',
      '--prune-steps',
      'none',
    ]);
    firstSpectrumSvg = fs.readFileSync(path.join(runDir, 'analysis', 'spectrum.svg'), 'utf8');
    await resumeRun(runsDir, 'tiny', { overrides: [{ key: 'train.steps', value: 200 }] });
    secondSummary = await analyzeCli(['tiny', '--runs-dir', runsDir, ...FAST, '--key-freqs', '3,7']);
    doc = readDoc(runDir);
  });

  it('writes every chart as SVG and PNG next to analysis.json and lists them in the summary', () => {
    for (const name of ANALYSIS_CHART_NAMES) {
      for (const ext of ['svg', 'png']) {
        assert.ok(fs.existsSync(path.join(runDir, 'analysis', `${name}.${ext}`)), `${name}.${ext}`);
      }
    }
    assert.match(
      secondSummary,
      /charts in .*analysis: spectrum\.\{svg,png\}, progress\.\{svg,png\}, norms\.\{svg,png\}, hessian\.\{svg,png\}, pruning\.\{svg,png\}/,
    );
    assert.match(
      firstSummary,
      /charts in .*analysis: spectrum\.\{svg,png\}, progress\.\{svg,png\}, norms\.\{svg,png\}\n/,
    );
    assert.match(firstSummary, /no hessian chart: no Hessian eigenvalues/);
    assert.match(firstSummary, /no pruning chart: no pruning probe/);
    assert.deepEqual(
      fs.readdirSync(path.join(runDir, 'analysis')).filter((f) => f.includes('.tmp')),
      [],
      'no temporary files left',
    );
  });

  it('charts drawn while the run was shorter show its checkpoints so far; analysing again redraws them', () => {
    const stepLabels = (svg: string) => {
      const start = svg.indexOf('checkpoint step (one column');
      assert.ok(start > 0);
      return new Set(svgTexts(svg));
    };
    const before = stepLabels(firstSpectrumSvg);
    assert.ok(before.has('100') && !before.has('200'), 'first drawing ends at step 100');
    const after = stepLabels(fs.readFileSync(path.join(runDir, 'analysis', 'spectrum.svg'), 'utf8'));
    assert.ok(after.has('200'), 'redrawn with the checkpoint at step 200');
    assert.deepEqual(
      doc.checkpoints.map((c) => c.step),
      openRun(runsDir, 'tiny').listCheckpoints(),
    );
    assert.equal(doc.checkpoints.at(-1)?.step, 200);
  });

  it('spectrum: one row per view, frequency and checkpoint; shares sum to 1 (1e-9) and are each norm² over the sum', () => {
    const rows = spectrumRows(doc);
    const views = ['embedding', 'unembedding'];
    const K = 15; // p = 31
    assert.equal(rows.length, views.length * doc.checkpoints.length * K);
    for (const view of views) {
      for (const c of doc.checkpoints) {
        const mine = rows.filter((r) => r.view === view && r.step === c.step);
        assert.deepEqual(
          mine.map((r) => r.frequency),
          Array.from({ length: K }, (_, i) => i + 1),
        );
        const sum = mine.reduce((s, r) => s + r.share, 0);
        assert.ok(Math.abs(sum - 1) <= 1e-9, `${view} at ${c.step}: shares sum to ${sum}`);
        const norms = c.fourier?.[view as 'embedding']?.norms ?? [];
        const energy = norms.slice(1).reduce((s, x) => s + x * x, 0);
        for (const r of mine) {
          assert.equal(r.norm, norms[r.frequency]);
          assert.ok(Math.abs(r.share - norms[r.frequency] ** 2 / energy) <= 1e-12);
        }
      }
    }
    const spec = spectrumSpec(doc) as Loose;
    assert.deepEqual(spec.datasets.spectrum, rows);
    const cells = layer(spec, 'embedding_cells');
    assert.deepEqual(
      cells.encoding.x.scale.domain,
      doc.checkpoints.map((c) => c.step),
    );
    assert.equal(cells.encoding.color.field, 'share');
    const last = doc.checkpoints.at(-1);
    assert.ok(last?.fourier?.embedding);
    const panel = spec.vconcat[0].vconcat[0];
    assert.match(panel.title.text, new RegExp(`Gini ${last.fourier.embedding.gini.toFixed(3)} at step 200`));
  });

  it("spectrum: the marked key frequencies are analysis.json's (given with --key-freqs), in the SVG too", async () => {
    assert.deepEqual(doc.key_frequencies?.frequencies, [3, 7]);
    assert.equal(doc.key_frequencies?.source, 'user');
    const spec = spectrumSpec(doc) as Loose;
    assert.deepEqual(spec.datasets.key_frequencies, [{ frequency: 3 }, { frequency: 7 }]);
    const axis = layer(spec, 'embedding_cells').encoding.y.axis;
    assert.equal(axis.labelColor.condition.test, 'indexof([3,7], datum.value) >= 0');
    const svg = fs.readFileSync(path.join(runDir, 'analysis', 'spectrum.svg'), 'utf8');
    assert.equal(markItems(svg, 'embedding_key_marks_marks'), 2);
    assert.equal(markItems(svg, 'embedding_cells_marks'), doc.checkpoints.length * 15);
    // A key set of every frequency (nothing stands out) is not marked.
    const all = structuredClone(doc);
    all.key_frequencies = {
      frequencies: Array.from({ length: 15 }, (_, i) => i + 1),
      source: 'all',
      from_step: 200,
      gap_ratio: 1.1,
      sparse: false,
    };
    assert.deepEqual((spectrumSpec(all) as Loose).datasets.key_frequencies, []);
  });

  it("progress: the restricted and excluded loss drawn are analysis.json's; train/test loss from its curves; phases as bands", () => {
    const { charts } = analysisChartSpecs(doc);
    const spec = charts.find((c) => c.name === 'progress')?.spec as Loose;
    assert.ok(spec);
    const losses: Array<{ step: number; series: string; value: number }> = spec.datasets.losses;
    const drawn = (series: string) =>
      losses.filter((r) => r.series === series).map((r) => [r.step, r.value] as [number, number]);
    assert.deepEqual(
      drawn(PROGRESS_SERIES.restricted),
      doc.checkpoints.map((c) => [c.step, c.progress?.restricted_loss]),
    );
    assert.deepEqual(
      drawn(PROGRESS_SERIES.excluded),
      doc.checkpoints.map((c) => [c.step, c.progress?.excluded_loss]),
    );
    const testLoss = doc.curves.step.map((s, i) => [s, doc.curves.test_loss[i]]);
    assert.deepEqual(drawn(PROGRESS_SERIES.test), testLoss);
    assert.equal(layer(spec, 'loss_lines').encoding.y.scale.type, 'log');
    assert.equal(layer(spec, 'loss_lines').encoding.x.scale.type, 'symlog');
    // The phase bands are the phases of analysis.json.
    assert.ok(doc.phases && doc.phases.phases.length >= 2, 'the tiny run memorizes within 200 steps');
    const bands = spec.datasets.phases as ReturnType<typeof phaseBands>;
    assert.deepEqual(
      bands.map((b) => [b.phase, b.step, b.step_end]),
      doc.phases.phases.map((p) => [p.name, p.from, p.to ?? 200]),
    );
    assert.ok(layer(spec, 'loss_memorization_band'));
    const shares = spec.datasets.shares as Array<{ step: number; series: string; value: number }>;
    assert.deepEqual(
      shares.filter((r) => r.series === PROGRESS_SERIES.logitShare).map((r) => r.value),
      doc.checkpoints.map((c) => c.progress?.key_logit_energy_share),
    );
  });

  it("norms, Hessian and pruning charts draw analysis.json's numbers", () => {
    const { charts, skipped } = analysisChartSpecs(doc);
    assert.deepEqual(skipped, []);
    const spec = (name: string) => charts.find((c) => c.name === name)?.spec as Loose;
    const norms = spec('norms').datasets;
    const at = (rows: Loose[], series: string) => rows.filter((r) => r.series === series).map((r) => r.value);
    assert.deepEqual(
      at(norms.norm, 'total'),
      doc.checkpoints.map((c) => c.norms.total),
    );
    assert.deepEqual(
      at(norms.norm, 'layers.0'),
      doc.checkpoints.map((c) => c.norms.per_layer['layers.0']),
    );
    assert.deepEqual(
      norms.sum_squares.map((r: Loose) => r.value),
      doc.checkpoints.map((c) => c.norms.sum_squares),
    );
    assert.deepEqual(
      at(norms.distance, 'out'),
      doc.checkpoints.map((c) => c.norms.distance_from_init.per_layer.out),
    );
    assert.deepEqual(
      norms.cka.map((r: Loose) => r.value),
      doc.checkpoints.map((c) => c.features.cka_to_init).filter((x) => x !== null),
    );
    const withHessian = doc.checkpoints.filter((c) => c.hessian);
    assert.ok(withHessian.length > 0);
    const eigen = spec('hessian').datasets.eigenvalues as Loose[];
    for (const c of withHessian) {
      const positive = (c.hessian?.top_eigenvalues ?? []).filter((x) => x > 0);
      assert.deepEqual(
        eigen.filter((r) => r.step === c.step).map((r) => r.value),
        positive,
      );
    }
    const pruned = doc.checkpoints.filter((c) => c.pruning);
    const pruning = spec('pruning').datasets;
    for (const c of pruned) {
      const train = pruning.pruning.filter((r: Loose) => r.step === c.step && r.split === 'train');
      assert.deepEqual(
        train.map((r: Loose) => [r.fraction, r.accuracy]),
        c.pruning?.fractions.map((f, i) => [f, c.pruning?.train_acc[i]]),
      );
    }
    assert.deepEqual(
      pruning.critical.map((r: Loose) => r.fraction),
      pruned.map((c) => c.pruning?.critical_fraction.train),
    );
  });

  it('every spec compiles without a Vega-Lite warning', () => {
    for (const { name, spec } of analysisChartSpecs(doc).charts) {
      const warnings: string[] = [];
      const logger = {
        level: () => logger,
        error: (...m: unknown[]) => warnings.push(`error ${m.join(' ')}`) && logger,
        warn: (...m: unknown[]) => warnings.push(m.join(' ')) && logger,
        info: () => logger,
        debug: () => logger,
      };
      compile(spec as TopLevelSpec, { logger: logger as Loose });
      assert.deepEqual(warnings, [], name);
    }
  });

  it('the SVGs carry their axis titles as text; the PNGs decode at twice the SVG size', () => {
    const titles: Record<string, string[]> = {
      spectrum: ['frequency k', 'checkpoint step (one column per analysed checkpoint: not to scale)'],
      progress: ['loss (log scale)', 'accuracy, share', 'training step (log scale; step 0 at the left edge)'],
      norms: ['‖θ‖', 'Σθ²', '‖θ − θ₀‖', 'CKA(Φ, Φ₀)'],
      hessian: ['eigenvalue (log scale)'],
      pruning: ['fraction of the weights pruned', 'accuracy'],
    };
    for (const name of ANALYSIS_CHART_NAMES) {
      const svg = fs.readFileSync(path.join(runDir, 'analysis', `${name}.svg`), 'utf8');
      const texts = svgTexts(svg);
      for (const title of titles[name]) assert.ok(texts.includes(title), `${name}: axis title "${title}"`);
      assert.ok(
        texts.some((t) => t.endsWith(': tiny')),
        `${name}: chart title names the run`,
      );
      const png = new Uint8Array(fs.readFileSync(path.join(runDir, 'analysis', `${name}.png`)));
      const size = svgSize(svg);
      assert.deepEqual(pngHeader(png), {
        width: Math.round(size.width * PNG_SCALE),
        height: Math.round(size.height * PNG_SCALE),
      });
    }
  });

  it('plotAnalysis draws from analysis.json alone, only the formats asked for', async () => {
    const out = tmpDir();
    const result = await plotAnalysis(runDir, { formats: ['svg'], outDir: out });
    assert.deepEqual(result.charts, [...ANALYSIS_CHART_NAMES]);
    assert.deepEqual(fs.readdirSync(out).sort(), ANALYSIS_CHART_NAMES.map((n) => `${n}.svg`).sort());
    // The same spec renders to the same SVG as the CLI wrote (up to Vega's global ids of clip paths and gradients).
    const spec = spectrumSpec(readAnalysisDocument(runDir));
    assert.ok(spec);
    const ids = (svg: string) => svg.replace(/(clip|gradient_)\d+/g, '$1#');
    const same =
      ids(fs.readFileSync(path.join(out, 'spectrum.svg'), 'utf8')) === ids(await specToSvg(spec)) &&
      ids(fs.readFileSync(path.join(runDir, 'analysis', 'spectrum.svg'), 'utf8')) ===
        ids(await specToSvg(spec));
    assert.ok(same, 'plotAnalysis, the CLI and the spec give the same SVG');
    await assert.rejects(plotAnalysis(tmpDir()), UsageError);
    await assert.rejects(plotAnalysis(runDir, { formats: ['gif' as 'svg'], outDir: tmpDir() }), UsageError);
  });

  it('subtitles wrap at " · " into lines of at most 100 characters', () => {
    const parts = Array.from({ length: 12 }, (_, i) => `part ${i} ${'x'.repeat(20)}`);
    const lines = wrapLine(parts.join(' · '));
    assert.ok(lines.length > 1);
    assert.ok(lines.every((l) => l.length <= 100));
    assert.equal(lines.join(' · '), parts.join(' · '));
  });
});

describe('groklab analyze charts on a run that is not modular arithmetic', () => {
  it('sparse parity: no spectrum or progress chart and no error; bad formats exit before any work; --no-plots draws nothing', async () => {
    const runsDir = tmpDir();
    const config: RunConfigInput = {
      ...tinyGrokkingConfig({ train: { steps: 40 }, eval: { every: 10, checkpoint_every: 20 } }),
      task: { kind: 'parity', n_bits: 8, k: 2, train_fraction: 0.5 },
      model: { kind: 'mlp', input: 'onehot', width: 32, depth: 1, activation: 'relu', init_scale: 1 },
    } as RunConfigInput;
    const { run } = await startRun(runsDir, config, { id: 'parity' });
    const dir = path.join(run.dir, 'analysis');

    await assert.rejects(
      analyzeCli(['parity', '--runs-dir', runsDir, '--format', 'svg,gif']),
      (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.deepEqual(
          err.problems.map((p) => p.field),
          ['--format'],
        );
        return true;
      },
    );
    assert.ok(!fs.existsSync(dir), 'nothing analysed or written after bad input');

    await analyzeCli(['parity', '--runs-dir', runsDir, '--quiet', '--no-plots']);
    assert.deepEqual(fs.readdirSync(dir), ['analysis.json']);

    const text = await analyzeCli(['parity', '--runs-dir', runsDir, '--quiet', '--format', 'png']);
    assert.match(text, /charts in .*: norms\.png/);
    assert.match(text, /no spectrum chart: no Fourier view: the task \(parity\) is not modular arithmetic/);
    assert.match(text, /no progress chart: no restricted\/excluded loss/);
    const files = fs.readdirSync(dir).sort();
    assert.ok(files.includes('norms.png'));
    assert.ok(!files.some((f) => f.startsWith('spectrum') || f.startsWith('progress') || f.endsWith('.svg')));
    const doc = readDoc(run.dir);
    assert.equal(doc.checkpoints[0].fourier, null);
    const { charts, skipped } = analysisChartSpecs(doc);
    assert.deepEqual(skipped.map((s) => s.name).slice(0, 2), ['spectrum', 'progress']);
    assert.ok(charts.some((c) => c.name === 'norms'));
    assert.equal(spectrumSpec(doc), null);
  });
});
