// Charts of runs (src/plots, `groklab plot`): the specs carry the right marks and the measured
// t_mem / t_grok, the SVG is well-formed with real text, the PNG is drawn with text, and the CLI
// writes everything or nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { PRESETS } from '../src/config/presets.ts';
import { parseRunConfig } from '../src/config/schema.ts';
import { detectRun } from '../src/measures/index.ts';
import {
  COLLAPSE_COLOR,
  comparisonSpec,
  decadeLabel,
  hasStability,
  learningCurvesSpec,
  loadRun,
  markerRows,
  NLM_COLOR,
  plotComparison,
  plotRun,
  specToSvg,
  stabilitySpec,
  stepTicks,
  svgToPixels,
  svgToPng,
  TEST_COLOR,
  TRAIN_COLOR,
  weightNormSpec,
} from '../src/plots/index.ts';
import { startRun } from '../src/runner/session.ts';
import { createRunFolder, type MetricsRecord, rewriteMetrics } from '../src/runs/index.ts';
import { makeSplit, splitToJson, trainFractionOf } from '../src/tasks/index.ts';
import { UsageError } from '../src/util/errors.ts';

// biome-ignore lint/suspicious/noExplicitAny: specs are walked as plain JSON
type Loose = any;

const bin = path.resolve(import.meta.dirname, '../bin/groklab.mjs');
const made: string[] = [];
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'groklab-plots-'));
  made.push(dir);
  return dir;
};
after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

const STEPS = [0, 1, 2, 3, 5, 8, 13, 20, ...Array.from({ length: 80 }, (_, i) => 25 * (i + 1))];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** A grokking-shaped log: train accuracy reaches 1 near step 100, test accuracy jumps near 1000. */
function grokkingRecords(delay = 1): MetricsRecord[] {
  return STEPS.map((step) => {
    const train = 0.02 + 0.98 * sigmoid(8 * (Math.log((step + 1) / 60) / Math.log(10)) * 3);
    const test = 0.02 + 0.98 * sigmoid((step - 1000 * delay) / (60 * delay));
    const wn = 10 + 60 * sigmoid((step - 80) / 30) - 20 * sigmoid((step - 1100 * delay) / 100);
    return {
      step,
      train_loss: -Math.log(Math.min(train, 0.999999)),
      train_acc: train,
      test_loss: -Math.log(test),
      test_acc: test,
      weight_norm: wn,
      norms: { 'layers.0.w': 0.8 * wn, 'out.w': 0.5 * wn },
      lr: 3e-3,
      wall_s: step / 40,
    };
  });
}

/**
 * The same log with Prieto et al.'s measures as the trainer writes them: the share of training
 * examples at loss 0 rising after the jump to 0.6, cos(−∇L, θ) from step 1 on (none at step 0).
 */
function withStability(records: MetricsRecord[], fields = { collapse: true, nlm: true }): MetricsRecord[] {
  return records.map((r) => ({
    ...r,
    ...(fields.collapse ? { softmax_collapse: 0.6 * sigmoid((r.step - 1500) / 150) } : {}),
    ...(fields.nlm && r.step > 0 ? { nlm_cosine: 0.9 * sigmoid((r.step - 300) / 200) - 0.1 } : {}),
  }));
}

/** A run folder of the `demo` config holding `records` (finished). */
function syntheticRun(runsDir: string, id: string, records: MetricsRecord[]): string {
  const config = parseRunConfig(PRESETS.demo.config);
  const split = splitToJson(makeSplit(47 * 47, trainFractionOf(config.task), config.split_seed));
  const run = createRunFolder(runsDir, id, { config: config as unknown as Record<string, unknown>, split });
  rewriteMetrics(run.metricsPath, records);
  run.writeStatus({ state: 'finished', step: records[records.length - 1].step });
  return run.dir;
}

/** Throws unless every tag is closed in order and text holds no raw "<" or bare "&". */
function assertWellFormedXml(xml: string): void {
  const token =
    /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g;
  const stack: string[] = [];
  let last = 0;
  for (const m of xml.matchAll(token)) {
    const text = xml.slice(last, m.index);
    assert.ok(!text.includes('<'), `stray "<" before offset ${m.index}`);
    assert.ok(!/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i.test(text), `bare "&" before ${m.index}`);
    last = (m.index ?? 0) + m[0].length;
    const [, closing, name, , selfClosing] = m;
    if (name === undefined || selfClosing === '/') continue;
    if (closing === '/') assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else stack.push(name);
  }
  assert.ok(!xml.slice(last).includes('<'), 'unparsed markup at the end');
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.ok(xml.startsWith('<svg'), 'an <svg> document');
}

/** The texts of all <text> elements. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

/** Number of vertices of the line path in group `cls` whose aria-label ends in `series` (e.g. "split: test"). */
function linePoints(svg: string, cls: string, series: string): number {
  const group = svg.slice(svg.indexOf(`class="mark-line role-mark ${cls}"`));
  const path = group.match(new RegExp(`<path aria-label="[^"]*${series}"[^>]* d="([^"]*)"`));
  assert.ok(path, `a "${series}" line in ${cls}`);
  return (path[1].match(/[ML]/g) ?? []).length;
}

function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Distinct RGBA values and the share of pixels that are not white. */
function inkStats(rgba: Uint8Array): { colors: number; ink: number } {
  const colors = new Set<number>();
  let ink = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    const c = ((rgba[i] << 24) | (rgba[i + 1] << 16) | (rgba[i + 2] << 8) | rgba[i + 3]) >>> 0;
    colors.add(c);
    if (c !== 0xffffffff) ink++;
  }
  return { colors: colors.size, ink: ink / (rgba.length / 4) };
}

function differingPixels(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i += 4) {
    if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) n++;
  }
  return n;
}

const runsDir = tmp();
const grokRun = syntheticRun(runsDir, 'grok', grokkingRecords());
const slowRun = syntheticRun(runsDir, 'slow', grokkingRecords(1.5));
const stableRun = syntheticRun(runsDir, 'stability', withStability(grokkingRecords()));

describe('specs', () => {
  const loaded = loadRun(grokRun);
  const measured = detectRun(grokRun).measures;

  it('the synthetic run groks, and its markers are the measured t_mem, onset and first crossing', () => {
    assert.equal(loaded.detect.verdict.label, 'grokked', loaded.detect.verdict.reason);
    assert.ok(measured.t_mem !== null && measured.t_grok_onset !== null && measured.t_grok_crossing !== null);
    assert.deepEqual(
      loaded.chart.markers.map((m) => [m.kind, m.step]),
      [
        ['t_mem', measured.t_mem],
        ['onset', measured.t_grok_onset],
        ['crossing', measured.t_grok_crossing],
      ],
    );
    assert.match(loaded.chart.markers[0].label, /^t_mem \d+: train acc ≥ 99%$/);
    assert.match(loaded.chart.markers[2].label, /^t_grok \d+: test acc ≥ 90%$/);
  });

  it('learning curves: accuracy and log-loss panels over a symlog step axis, rules at the markers', () => {
    const spec = learningCurvesSpec(loaded.chart) as Loose;
    assert.equal(spec.vconcat.length, 2);
    const [acc, loss] = spec.vconcat;
    const accLine = acc.layer[0];
    assert.equal(accLine.mark.type, 'line');
    assert.equal(accLine.encoding.x.field, 'step');
    assert.equal(accLine.encoding.x.scale.type, 'symlog');
    assert.deepEqual(accLine.encoding.x.scale.domain, [0, 2000]);
    assert.deepEqual(accLine.encoding.y.scale.domain, [0, 1]);
    assert.deepEqual(accLine.encoding.color.scale.range, [TRAIN_COLOR, TEST_COLOR]);
    assert.equal(loss.layer[0].encoding.y.scale.type, 'log');
    assert.match(loss.layer[0].encoding.x.axis.title, /log scale; step 0/);
    assert.equal(spec.datasets.accuracy.length, 2 * STEPS.length);
    assert.equal(spec.datasets.loss.length, 2 * STEPS.length);
    // One rule per marker in each panel, one label per marker above the accuracy panel.
    const rules = (layers: Array<{ mark: { type: string } }>) => layers.filter((l) => l.mark.type === 'rule');
    assert.equal(rules(acc.layer).length, 3);
    assert.equal(rules(loss.layer).length, 3);
    assert.equal(acc.layer.filter((l: { mark: { type: string } }) => l.mark.type === 'text').length, 3);
    assert.deepEqual(
      spec.datasets.markers.map((m: { step: number }) => m.step),
      [measured.t_mem, measured.t_grok_onset, measured.t_grok_crossing],
    );
    // Labels on distinct rows above the panel.
    const rows = spec.datasets.markers.map((m: { y: number }) => m.y);
    assert.equal(new Set(rows).size, 3);
    assert.ok(rows.every((y: number) => y < 0));
  });

  it('weight norms: total and per-tensor lines; comparison: a colour per run, train dashed', () => {
    const norms = weightNormSpec(loaded.chart) as Loose;
    assert.deepEqual(norms.layer[0].encoding.color.scale.domain, ['total ‖θ‖', 'layers.0.w', 'out.w']);
    assert.equal(norms.datasets.norms.length, 3 * STEPS.length);
    assert.equal(norms.layer.filter((l: { mark: { type: string } }) => l.mark.type === 'rule').length, 3);
    const slow = loadRun(slowRun);
    const cmp = comparisonSpec(
      [
        { label: 'grok', evaluations: loaded.chart.evaluations, tGrok: 1000 },
        { label: 'slow', evaluations: slow.chart.evaluations, tGrok: null },
      ],
      { grokThreshold: 0.9 },
    ) as Loose;
    const line = cmp.layer[0];
    assert.deepEqual(line.encoding.color.scale.domain, ['grok', 'slow']);
    assert.equal(new Set(line.encoding.color.scale.range).size, 2);
    assert.deepEqual(line.encoding.strokeDash.scale.domain, ['test', 'train']);
    assert.notDeepEqual(line.encoding.strokeDash.scale.range[0], line.encoding.strokeDash.scale.range[1]);
    assert.deepEqual(cmp.datasets.tgrok, [{ run: 'grok', step: 1000, value: 0.9 }]);
  });

  it('stability: softmax collapse (with the 50% line) above the NLM cosine, only for logs that have them', () => {
    assert.equal(hasStability(loaded.chart.evaluations), false);
    const run = loadRun(stableRun);
    assert.equal(hasStability(run.chart.evaluations), true);
    const spec = stabilitySpec(run.chart, { collapseLevel: 0.5 }) as Loose;
    assert.equal(spec.vconcat.length, 2);
    const [collapse, nlm] = spec.vconcat;
    const line = (panel: Loose, name: string) => panel.layer.find((l: Loose) => l.name === name);
    const collapseLine = line(collapse, 'collapse_line');
    assert.equal(collapseLine.mark.color, COLLAPSE_COLOR);
    assert.equal(collapseLine.encoding.x.scale.type, 'symlog');
    assert.deepEqual(collapseLine.encoding.y.scale.domain, [0, 1]);
    assert.equal(collapseLine.encoding.x.axis.labels, false, 'the step axis is drawn under the last panel');
    assert.deepEqual(line(collapse, 'collapse_level_rule').data.values, [{ level: 0.5 }]);
    const nlmLine = line(nlm, 'nlm_line');
    assert.equal(nlmLine.mark.color, NLM_COLOR);
    assert.deepEqual(nlmLine.encoding.y.scale.domain, [-1, 1]);
    assert.match(nlmLine.encoding.x.axis.title, /log scale/);
    assert.equal(spec.datasets.collapse.length, STEPS.length);
    // No cosine at step 0: the step just taken does not exist yet.
    assert.equal(spec.datasets.nlm.length, STEPS.length - 1);
    assert.equal(spec.datasets.nlm[0].step, STEPS[1]);
    // The markers as on the other charts: rules in both panels, labels above the first.
    const marks = (panel: Loose, type: string) =>
      panel.layer.filter((l: Loose) => l.mark.type === type && l.data.name === 'markers').length;
    assert.deepEqual(
      [marks(collapse, 'rule'), marks(nlm, 'rule'), marks(collapse, 'text'), marks(nlm, 'text')],
      [3, 3, 3, 0],
    );
    // A loss without a softmax (mse) has the cosine only: one panel, with the step axis.
    const mse = loadRun(
      syntheticRun(tmp(), 'mse', withStability(grokkingRecords(), { collapse: false, nlm: true })),
    );
    const one = stabilitySpec(mse.chart, { collapseLevel: 0.5 }) as Loose;
    assert.equal(one.vconcat.length, 1);
    assert.equal(line(one.vconcat[0], 'nlm_line').encoding.x.axis.labels, undefined);
    assert.equal(one.datasets.collapse.length, 0);
  });

  it('axis helpers: ticks 0, 1, 3, 10, ...; decades as numbers or powers of ten; labels left of late rules', () => {
    assert.deepEqual(stepTicks(2000), [0, 1, 3, 10, 30, 100, 300, 1000]);
    assert.deepEqual(stepTicks(200000), [0, 1, 10, 100, 1000, 10000, 100000]);
    assert.deepEqual([-7, -3, 0, 2, 5].map(decadeLabel), ['10⁻⁷', '0.001', '1', '100', '10⁵']);
    const rows = markerRows(
      [
        { kind: 'crossing', step: 1500, label: 'c' },
        { kind: 't_mem', step: 2, label: 'm' },
      ],
      2000,
    );
    assert.deepEqual(
      rows.map((r) => [r.kind, r.align]),
      [
        ['t_mem', 'left'],
        ['crossing', 'right'],
      ],
    );
  });
});

describe('rendering', () => {
  const loaded = loadRun(grokRun);
  const svgPromise = specToSvg(learningCurvesSpec(loaded.chart));

  it('the SVG is well-formed, with axis titles, legend and marker labels as text, and one vertex per evaluation', async () => {
    const svg = await svgPromise;
    assertWellFormedXml(svg);
    const texts = svgTexts(svg);
    for (const t of [
      'accuracy',
      'training step (log scale; step 0 at the left edge)',
      'cross-entropy loss (log scale)',
      'train',
      'test',
      'grok: x+y mod 47',
      ...loaded.chart.markers.map((m) => m.label),
    ]) {
      assert.ok(texts.includes(t), `text "${t}" in ${JSON.stringify(texts)}`);
    }
    assert.ok(texts.includes('1,000') && texts.includes('100%'), 'tick labels');
    assert.equal(linePoints(svg, 'accuracy_lines_marks', 'split: test'), STEPS.length);
    assert.equal(linePoints(svg, 'accuracy_lines_marks', 'split: train'), STEPS.length);
    assert.equal(linePoints(svg, 'loss_lines_marks', 'split: test'), STEPS.length);
  });

  it('the PNG is twice the SVG size, drawn, and its text is rendered with the bundled font', async () => {
    const svg = await svgPromise;
    const png = svgToPng(svg);
    assert.deepEqual([...png.slice(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const w = Number(svg.match(/^<svg[^>]* width="(\d+)"/)?.[1]);
    const h = Number(svg.match(/^<svg[^>]* height="(\d+)"/)?.[1]);
    assert.ok(w > 600 && h > 500, `SVG ${w}×${h}`);
    assert.deepEqual(pngSize(png), { width: 2 * w, height: 2 * h });

    const full = svgToPixels(svg);
    const stats = inkStats(full.rgba);
    assert.ok(stats.colors > 100, `${stats.colors} colours`);
    assert.ok(stats.ink > 0.02 && stats.ink < 0.5, `ink ${stats.ink}`);
    // Without the axis title "accuracy" the picture differs: text is drawn, not skipped.
    const untitled = svgToPixels(svg.replace('>accuracy</text>', '></text>'));
    assert.ok(differingPixels(full.rgba, untitled.rgba) > 100);
    // Generic sans-serif resolves to the bundled DejaVu Sans, whatever the machine has installed.
    const word = (text: string) =>
      svgToPixels(
        `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><text x="5" y="28" font-size="20" font-family="sans-serif">${text}</text></svg>`,
        1,
      );
    assert.ok(inkStats(word('Grok').rgba).ink > 0.03);
    assert.equal(inkStats(word('').rgba).ink, 0);
  });

  it('plotRun and plotComparison write SVG and PNG files and return their paths', async () => {
    const out = path.join(tmp(), 'charts');
    const written = await plotRun(grokRun, out);
    assert.deepEqual(
      written.map((p) => path.relative(out, p)),
      ['curves.svg', 'curves.png', 'norms.svg', 'norms.png'],
    );
    const normsSvg = fs.readFileSync(path.join(out, 'norms.svg'), 'utf8');
    assertWellFormedXml(normsSvg);
    assert.ok(svgTexts(normsSvg).includes('total ‖θ‖'));
    assert.equal(linePoints(normsSvg, 'total_norm_line_marks', 'series: total ‖θ‖'), STEPS.length);

    const cmp = await plotComparison([grokRun, slowRun], path.join(out, 'both.png'), { formats: ['svg'] });
    assert.deepEqual(cmp, [path.join(out, 'both.svg')]);
    const svg = fs.readFileSync(cmp[0], 'utf8');
    assertWellFormedXml(svg);
    const texts = svgTexts(svg);
    assert.ok(texts.includes('grok') && texts.includes('slow') && texts.includes('train'));
    assert.equal((svg.match(/aria-roledescription="point"/g) ?? []).length, 2, 'a dot per run at t_grok');

    // A log with the stability measures gets their chart too, one vertex per evaluation that has each.
    const stableOut = path.join(tmp(), 'stable');
    assert.deepEqual(
      (await plotRun(stableRun, stableOut)).map((p) => path.relative(stableOut, p)),
      ['curves.svg', 'curves.png', 'norms.svg', 'norms.png', 'stability.svg', 'stability.png'],
    );
    const stabilitySvg = fs.readFileSync(path.join(stableOut, 'stability.svg'), 'utf8');
    assertWellFormedXml(stabilitySvg);
    const stabilityTexts = svgTexts(stabilitySvg);
    for (const t of [
      'train examples with loss exactly 0',
      'NLM cosine cos(−∇L, θ)',
      '50%',
      'training step (log scale; step 0 at the left edge)',
    ]) {
      assert.ok(stabilityTexts.includes(t), `text "${t}" in ${JSON.stringify(stabilityTexts)}`);
    }
    const vertices = (cls: string) => {
      const group = stabilitySvg.slice(stabilitySvg.indexOf(`class="mark-line role-mark ${cls}"`));
      return (group.match(/<path[^>]* d="([^"]*)"/)?.[1].match(/[ML]/g) ?? []).length;
    };
    assert.equal(vertices('collapse_line_marks'), STEPS.length);
    assert.equal(vertices('nlm_line_marks'), STEPS.length - 1);
    assert.ok(inkStats(svgToPixels(stabilitySvg).rgba).ink > 0.02, 'the PNG is drawn');

    await assert.rejects(plotRun(path.join(runsDir, 'missing'), out), UsageError);
    await assert.rejects(
      plotRun(grokRun, out, { formats: ['gif' as 'svg'] }),
      /--format: unknown format "gif"/,
    );
  });
});

describe('groklab plot', () => {
  const groklab = (args: string[], cwd?: string) => {
    const r = spawnSync(process.execPath, [bin, 'plot', ...args], { encoding: 'utf8', cwd });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('bad input exits 2 and writes nothing', () => {
    const missing = groklab([path.join(runsDir, 'missing')]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(
      missing.stderr,
      /groklab: run: no run folder at .*missing \(it does not exist\); give the path of a run folder or a run id/,
    );
    // A good run next to a missing one: nothing is written for the good one either.
    const half = groklab([grokRun, path.join(runsDir, 'missing')]);
    assert.equal(half.code, 2);
    const format = groklab([grokRun, '--format', 'svg,gif']);
    assert.equal(format.code, 2);
    assert.match(format.stderr, /--format: unknown format "gif"/);
    assert.ok(!fs.existsSync(path.join(grokRun, 'plots')));
  });

  it('a real run gets curves and norms in <run>/plots; several runs also a comparison', async () => {
    const dir = tmp();
    // x+y mod 11, a few steps: a real trainer's metrics.jsonl, norms and status.
    await startRun(
      dir,
      {
        ...PRESETS.demo.config,
        task: { kind: 'modular', op: 'add', p: 11, train_fraction: 0.5 },
        model: { kind: 'mlp', input: 'onehot', width: 16, depth: 1, activation: 'quadratic', init_scale: 1 },
        train: { ...PRESETS.demo.config.train, steps: 40 },
        eval: { every: 10, log_points_per_decade: 3, checkpoint_every: 1000 },
      },
      { id: 'tiny' },
    );
    const tiny = path.join(dir, 'tiny');
    const one = groklab([tiny]);
    assert.equal(one.code, 0, one.stderr);
    // A trainer that records softmax_collapse (cross-entropy) gets the stability chart as well.
    const measured = fs.readFileSync(path.join(tiny, 'metrics.jsonl'), 'utf8').includes('"softmax_collapse"');
    const charts = ['curves', 'norms', ...(measured ? ['stability'] : [])];
    for (const f of charts.flatMap((c) => [`${c}.svg`, `${c}.png`])) {
      assert.ok(fs.statSync(path.join(tiny, 'plots', f)).size > 1000, f);
    }
    assert.equal(one.stdout.trim().split('\n').length, 2 * charts.length);

    const out = path.join(dir, 'out');
    const several = groklab(['tiny', grokRun, '--out', out, '--format', 'png'], dir);
    assert.equal(several.code, 0, several.stderr);
    assert.deepEqual(fs.readdirSync(out).sort(), ['comparison.png', 'grok', 'tiny']);
    assert.deepEqual(fs.readdirSync(path.join(out, 'grok')).sort(), ['curves.png', 'norms.png']);
  });
});
