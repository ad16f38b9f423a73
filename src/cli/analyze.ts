import path from 'node:path';
import type { Command } from 'commander';
import {
  ABLATION_KINDS,
  type AblationKind,
  type AnalysisDocument,
  type AnalyzeRunOptions,
  analyzeRun,
  type CheckpointLosses,
  DEFAULT_HESSIAN_ITERATIONS,
  DEFAULT_HESSIAN_TOP,
  type HessianDtype,
  type PatchChoice,
  type StepChoice,
} from '../analysis/index.ts';
import { type AnalysisPlots, writeAnalysisCharts } from '../plots/analysis.ts';
import { checkFormats, type PlotFormat } from '../plots/index.ts';
import { resolveRunFolder } from '../runs/index.ts';
import { type FieldProblem, UsageError } from '../util/errors.ts';
import { defaultRunsDir } from './defaults.ts';

interface AnalyzeCliOptions {
  runsDir: string;
  every?: string;
  steps?: string;
  keyFreqs?: string;
  hessianSteps: string;
  hessianIters?: string;
  hessianTop?: string;
  hessianDtype: string;
  pruneSteps: string;
  ablate?: string;
  patch?: string;
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
  format: string;
  /** false with --no-plots. */
  plots: boolean;
}

interface ParsedCliOptions {
  analysis: AnalyzeRunOptions;
  /** null with --no-plots. */
  formats: PlotFormat[] | null;
}

/** Adds `analyze` to a commander program; the report goes to `out`, progress to `err`. */
export function registerAnalyze(
  program: Command,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): void {
  program
    .command('analyze')
    .description(
      'measure why a run grokked, over its checkpoints: Fourier spectra and key frequencies, restricted/excluded loss, phases, norms, feature movement, Hessian, attention, neuron frequencies, pruning; on request frequency ablation and activation patching; writes <run>/analysis/analysis.json and its charts (spectrum, progress, norms, hessian, pruning) as SVG and PNG',
    )
    .argument('<run>', 'run id (in --runs-dir) or the path of a run folder')
    .option('--runs-dir <dir>', 'where run folders live (env GROKLAB_RUNS)', defaultRunsDir())
    .option('--every <n>', 'analyse every n-th checkpoint, plus the last (default: all)')
    .option('--steps <list>', 'analyse only these checkpoint steps, e.g. 0,1000,5000')
    .option(
      '--key-freqs <list>',
      'key frequencies to use, e.g. 14,35,41 (default: picked from the latest checkpoint)',
    )
    .option('--hessian-steps <list>', 'checkpoints for the Hessian eigenvalues: auto, none, or steps', 'auto')
    .option('--hessian-iters <n>', `Lanczos iterations (default ${DEFAULT_HESSIAN_ITERATIONS})`)
    .option('--hessian-top <k>', `how many top eigenvalues (default ${DEFAULT_HESSIAN_TOP})`)
    .option('--hessian-dtype <d>', 'auto, f64 (exact, slow for big models) or f32', 'auto')
    .option('--prune-steps <list>', 'checkpoints for the pruning probe: auto, none, or steps', 'auto')
    .option(
      '--ablate <kinds>',
      `interventions at the latest checkpoint (${ABLATION_KINDS.join(', ')}): freq keeps only the key frequencies of the embedding, then removes them (modular tasks)`,
    )
    .option(
      '--patch <steps>',
      'activation patching TARGET:SOURCE: run checkpoint TARGET with one site at a time taken from checkpoint SOURCE (e.g. 1000:7500, memorizing:grokked), or auto (the memorizing checkpoint from the latest)',
    )
    .option('--force', 'ignore an existing analysis.json and analyse everything again')
    .option('--format <list>', 'comma-separated chart formats: svg, png', 'svg,png')
    .option('--no-plots', 'write analysis.json only, no charts')
    .option('--json', 'print analysis.json instead of the summary')
    .option('--quiet', 'no progress output')
    .action(async (runArg: string, opts: AnalyzeCliOptions) => {
      const { analysis, formats } = parseOptions(opts);
      const run = resolveRunFolder(runArg, opts.runsDir);
      const started = performance.now();
      const say = opts.quiet ? undefined : (message: string) => err.write(`analyze ${run.id}: ${message}\n`);
      const result = analyzeRun(run, { ...analysis, onProgress: say });
      // Drawn from the document just written, so a run still training gets charts of its checkpoints so far.
      let plots: AnalysisPlots | null = null;
      if (formats !== null) {
        const plotStarted = performance.now();
        plots = await writeAnalysisCharts(result.document, path.dirname(result.path), formats);
        say?.(`${plots.charts.length} charts in ${((performance.now() - plotStarted) / 1000).toFixed(1)} s`);
      }
      if (opts.json) out.write(`${JSON.stringify(result.document, null, 2)}\n`);
      else
        out.write(
          formatSummary(result.document, result.path, result.analysed, (performance.now() - started) / 1000) +
            (plots ? formatPlots(plots, path.dirname(result.path)) : ''),
        );
    });
}

function parseOptions(opts: AnalyzeCliOptions): ParsedCliOptions {
  const problems: FieldProblem[] = [];
  const integer = (
    field: string,
    value: string | undefined,
    min: number,
    max: number,
  ): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push({ field, message: `must be an integer in ${min}..${max}, got "${value}"` });
      return undefined;
    }
    return n;
  };
  const list = (field: string, value: string | undefined, min: number): number[] | undefined => {
    if (value === undefined) return undefined;
    const parts = value.split(',').map((s) => s.trim());
    const numbers = parts.map(Number);
    if (parts.some((s, i) => s === '' || !Number.isSafeInteger(numbers[i]) || numbers[i] < min)) {
      problems.push({
        field,
        message: `must be a comma-separated list of integers ≥ ${min}, got "${value}"`,
      });
      return undefined;
    }
    return numbers;
  };
  const choice = (field: string, value: string): StepChoice | undefined =>
    value === 'auto' || value === 'none' ? value : list(field, value, 0);
  const dtype = opts.hessianDtype;
  if (dtype !== 'auto' && dtype !== 'f32' && dtype !== 'f64') {
    problems.push({ field: '--hessian-dtype', message: `must be auto, f32 or f64, got "${dtype}"` });
  }
  const ablate = (value: string | undefined): AblationKind[] | undefined => {
    if (value === undefined) return undefined;
    const kinds = value.split(',').map((s) => s.trim());
    const known = (k: string): k is AblationKind => (ABLATION_KINDS as readonly string[]).includes(k);
    if (kinds.some((k) => !known(k))) {
      problems.push({
        field: '--ablate',
        message: `must be one of ${ABLATION_KINDS.join(', ')}, got "${value}"`,
      });
      return undefined;
    }
    return kinds.filter(known);
  };
  const patch = (value: string | undefined): PatchChoice | undefined => {
    if (value === undefined) return undefined;
    if (value === 'auto') return 'auto';
    const match = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(value);
    if (!match) {
      problems.push({
        field: '--patch',
        message: `must be auto or TARGET:SOURCE, two checkpoint steps (e.g. 1000:7500 runs step 1000 with activations from step 7500), got "${value}"`,
      });
      return undefined;
    }
    return { target: Number(match[1]), source: Number(match[2]) };
  };
  const options: AnalyzeRunOptions = {
    every: integer('--every', opts.every, 1, 1_000_000),
    steps: list('--steps', opts.steps, 0),
    keyFrequencies: list('--key-freqs', opts.keyFreqs, 1),
    hessianSteps: choice('--hessian-steps', opts.hessianSteps),
    hessianIterations: integer('--hessian-iters', opts.hessianIters, 1, 500),
    hessianTop: integer('--hessian-top', opts.hessianTop, 1, 100),
    hessianDtype: dtype as HessianDtype,
    pruneSteps: choice('--prune-steps', opts.pruneSteps),
    ablate: ablate(opts.ablate),
    patch: patch(opts.patch),
    force: opts.force ?? false,
  };
  if (options.every !== undefined && options.steps !== undefined) {
    problems.push({ field: '--every', message: 'give either --every or --steps, not both' });
  }
  const iterations = options.hessianIterations ?? DEFAULT_HESSIAN_ITERATIONS;
  if ((options.hessianTop ?? DEFAULT_HESSIAN_TOP) > iterations) {
    problems.push({ field: '--hessian-top', message: `must be ≤ the Lanczos iterations (${iterations})` });
  }
  let formats: PlotFormat[] | null = null;
  if (opts.plots !== false) {
    try {
      formats = checkFormats(
        opts.format
          .split(',')
          .map((f) => f.trim().toLowerCase())
          .filter((f) => f !== ''),
      );
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length > 0) throw new UsageError(problems);
  return { analysis: options, formats };
}

/** The charts written (as stems with their formats) and those that do not apply, with the reason. */
export function formatPlots(plots: AnalysisPlots, dir: string): string {
  const stems = new Map<string, string[]>();
  for (const file of plots.written) {
    const ext = path.extname(file);
    const stem = file.slice(0, -ext.length);
    stems.set(stem, [...(stems.get(stem) ?? []), ext.slice(1)]);
  }
  const lines = [''];
  const written = [...stems].map(
    ([stem, exts]) => `${path.basename(stem)}.${exts.length > 1 ? `{${exts.join(',')}}` : exts[0]}`,
  );
  lines.push(`  charts in ${dir}: ${written.length > 0 ? written.join(', ') : 'none'}`);
  for (const s of plots.skipped) lines.push(`  no ${s.name} chart: ${s.reason}`);
  return `${lines.join('\n')}\n`;
}

const fmt = (x: number | null | undefined, digits = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);

/** A human summary: the key frequencies, one line per checkpoint, phases, Hessian and pruning. */
export function formatSummary(
  doc: AnalysisDocument,
  file: string,
  analysed: number[],
  seconds: number,
): string {
  const lines: string[] = [];
  lines.push(
    `run ${doc.run_id}: ${doc.checkpoints.length} checkpoints in the analysis (${analysed.length} analysed now, ${seconds.toFixed(1)} s) → ${file}`,
  );
  lines.push(`  ${doc.task.description} · ${doc.model.kind} · ${doc.model.parameters} parameters`);
  if (doc.detect) {
    const d = doc.detect;
    lines.push(
      `  detect: ${d.verdict} (t_mem ${d.t_mem ?? '-'}, onset ${d.t_grok_onset ?? '-'}, test acc ≥ ${d.grok_threshold ?? 0.9} at ${d.t_grok_crossing ?? '-'})`,
    );
  } else if (doc.detect_error) {
    lines.push(`  detect: ${doc.detect_error}`);
  }
  const keys = doc.key_frequencies;
  if (keys) {
    const how =
      keys.source === 'user'
        ? 'given'
        : keys.source === 'embedding'
          ? `sparse embedding spectrum at step ${keys.from_step}, gap ${fmt(keys.gap_ratio, 1)}`
          : `embedding spectrum not sparse at step ${keys.from_step} (gap ${fmt(keys.gap_ratio, 2)}): all frequencies`;
    lines.push(`  key frequencies: ${frequencyList(keys.frequencies)} (${how})`);
  }
  lines.push('');
  lines.push(
    '   step  train acc  test acc  emb gini  emb ipr  neuron top  restricted  excluded    ‖θ‖   Δθ/‖θ₀‖  CKA(init)',
  );
  for (const c of doc.checkpoints) {
    const emb = c.fourier?.embedding;
    lines.push(
      [
        String(c.step).padStart(7),
        fmt(c.losses.train_acc).padStart(10),
        fmt(c.losses.test_acc).padStart(9),
        fmt(emb?.gini).padStart(9),
        fmt(emb?.ipr).padStart(8),
        fmt(c.neurons?.mean_fraction).padStart(11),
        fmt(c.progress?.restricted_loss).padStart(11),
        fmt(c.progress?.excluded_loss).padStart(9),
        fmt(c.norms.total, 1).padStart(6),
        fmt(c.norms.distance_from_init.relative, 2).padStart(9),
        fmt(c.features.cka_to_init).padStart(10),
      ].join(' '),
    );
  }
  if (doc.phases) {
    lines.push('');
    const phases = doc.phases.phases
      .map((p) => `${p.name.replace('_', ' ')} ${p.from}–${p.to ?? '…'}`)
      .join(' · ');
    const checks = Object.entries(doc.phases.checks)
      .map(([k, v]) => `${k.replaceAll('_', ' ')}: ${v === null ? 'n/a' : v ? 'yes' : 'no'}`)
      .join('; ');
    const rule =
      doc.phases.cleanup_start_rule === 'plateau-exit'
        ? " (cleanup start: where test accuracy left its plateau; detect's onset is not after t_mem)"
        : '';
    lines.push(`  phases: ${phases}${rule}`);
    lines.push(`  ${checks}`);
  }
  const withHessian = doc.checkpoints.filter((c) => c.hessian);
  if (withHessian.length > 0) {
    lines.push('');
    for (const c of withHessian) {
      const h = c.hessian!;
      lines.push(
        `  Hessian at step ${c.step}: top eigenvalues ${h.top_eigenvalues.map((x) => x.toPrecision(4)).join(', ')} (${h.dtype}, ±${h.hvp_error_estimate.toExponential(1)}, ${h.seconds.toFixed(1)} s)`,
      );
    }
  }
  const withPruning = doc.checkpoints.filter((c) => c.pruning);
  if (withPruning.length > 0) {
    lines.push('');
    for (const c of withPruning) {
      const p = c.pruning!;
      // Keeping a test accuracy that was near chance anyway says nothing.
      const test =
        p.baseline.test_acc >= 0.5
          ? `, test accuracy up to ${fmt(p.critical_fraction.test, 3)}`
          : ' (test accuracy was low to begin with)';
      lines.push(
        `  pruning at step ${c.step} (train acc ${fmt(p.baseline.train_acc)}, test acc ${fmt(p.baseline.test_acc)}): train accuracy kept up to ${fmt(p.critical_fraction.train, 3)} of the weights pruned${test}`,
      );
    }
  }
  if (doc.ablation) lines.push('', ...formatAblation(doc.ablation));
  if (doc.patching) lines.push('', ...formatPatching(doc.patching));
  for (const note of doc.notes) lines.push(`  note: ${note}`);
  return `${lines.join('\n')}\n`;
}

/** Frequencies as a list, or their count when there are many (a key set of "all"). */
function frequencyList(frequencies: readonly number[]): string {
  return frequencies.length > 12 ? `${frequencies.length} frequencies` : frequencies.join(', ');
}

/** One row of losses and accuracies under a label. */
function lossRow(label: string, l: CheckpointLosses, width: number): string {
  return [
    `    ${label.padEnd(width)}`,
    fmt(l.train_acc).padStart(9),
    fmt(l.test_acc).padStart(9),
    fmt(l.train_loss, 4).padStart(11),
    fmt(l.test_loss, 4).padStart(10),
  ].join(' ');
}

function formatAblation(a: NonNullable<AnalysisDocument['ablation']>): string[] {
  const width = 28;
  return [
    `  frequency ablation at step ${a.step} (key frequencies ${frequencyList(a.key_frequencies)}; through ${a.site}, constant kept):`,
    `    ${''.padEnd(width)} train acc  test acc  train loss  test loss`,
    lossRow('unablated', a.unablated, width),
    lossRow('key frequencies only', a.key_only, width),
    lossRow('key frequencies removed', a.without_key, width),
  ];
}

function formatPatching(p: NonNullable<AnalysisDocument['patching']>): string[] {
  const width = Math.max(24, ...p.sites.map((s) => s.site.length + 2));
  const restored = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(0)}%`);
  return [
    `  activation patching: step ${p.target_step} run with one site from step ${p.source_step} (test acc ${fmt(p.baseline.target.test_acc)} unpatched, ${fmt(p.baseline.source.test_acc)} at step ${p.source_step}):`,
    `    ${'site'.padEnd(width)} train acc  test acc  train loss  test loss  restored (test acc, loss)`,
    lossRow(`none (step ${p.target_step})`, p.baseline.target, width),
    ...p.sites.map(
      (s) =>
        `${lossRow(s.site, s, width)}  ${restored(s.restored_test_acc).padStart(8)}, ${restored(s.restored_test_loss)}`,
    ),
  ];
}
