/**
 * `groklab sweep-report SPEC|DIR`: one table of a sweep's runs (DuckDB over the run folders), the
 * aggregates per cell, phase diagrams and the claim checks, written to
 * `<runs-dir>/sweeps/<name>/report/` (src/sweep-report/report.ts). The table goes to stdout, the paths
 * written to stderr.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { type AnalyzeOptions, optionProblems } from '../measures/index.ts';
import { PLOT_FORMATS } from '../plots/index.ts';
import { SWEEPS_FOLDER } from '../runs/index.ts';
import { listSweepNames, SWEEP_FILE, validateSweepName } from '../sweep/manifest.ts';
import { readSweepSpecFile } from '../sweep/spec.ts';
import { PHASE_METRICS, sweepReport } from '../sweep-report/report.ts';
import { type FieldProblem, UsageError } from '../util/errors.ts';
import { defaultRunsDir } from './defaults.ts';
import { numberFlag } from './number-flag.ts';

interface SweepReportCliOptions {
  runsDir: string;
  x?: string;
  y?: string;
  metric: string;
  formats?: string;
  format?: string;
  json?: boolean;
  memThreshold?: string;
  grokThreshold?: string;
}

/** Adds `sweep-report` to a commander program. */
export function registerSweepReport(
  program: Command,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): void {
  program
    .command('sweep-report')
    .description(
      "gather a sweep's runs into one table (DuckDB), aggregate over seeds, draw phase diagrams and check the claims about weight decay and training fraction; writes <runs-dir>/sweeps/<name>/report/",
    )
    .argument(
      '<sweep>',
      'a sweep spec file (its name), a sweep folder (<runs-dir>/sweeps/<name>), a runs folder holding one sweep, or a sweep name',
    )
    .option(
      '--runs-dir <dir>',
      'where run folders live, for a spec file or a name (env GROKLAB_RUNS)',
      defaultRunsDir(),
    )
    .option(
      '--x <key>',
      'phase diagram x axis: a config key or alias (wd, frac, ...); default the first non-seed axis',
    )
    .option('--y <key>', 'phase diagram y axis; default the next non-seed axis')
    .option(
      '--metric <name>',
      `phase diagram value: ${PHASE_METRICS.join(', ')} (median t_grok, mean final test accuracy, median t_grok − t_mem)`,
      't_grok',
    )
    .option('--formats <list>', `comma-separated chart formats: ${PLOT_FORMATS.join(', ')} (default: all)`)
    .addOption(new Option('--format <list>', 'same as --formats').hideHelp())
    .option('--mem-threshold <x>', 'train accuracy that counts as memorized, in (0, 1] (as in detect)')
    .option('--grok-threshold <x>', 'test accuracy that counts as generalized, in (0, 1] (as in detect)')
    .option('--json', 'print runs.json (rows, cells, claims) instead of the tables')
    .action(async (target: string, opts: SweepReportCliOptions) => {
      const detect = parseThresholds(opts);
      const formats = parseFormats(opts.formats ?? opts.format ?? PLOT_FORMATS.join(','));
      const { runsDir, name } = resolveSweepTarget(target, opts.runsDir);
      const report = await sweepReport(runsDir, name, {
        x: opts.x,
        y: opts.y,
        metric: opts.metric,
        formats,
        detect,
      });
      out.write(opts.json ? `${JSON.stringify(report.json, null, 2)}\n` : report.text);
      for (const p of report.paths) err.write(`${p}\n`);
    });
}

function parseFormats(list: string): string[] {
  const formats = list
    .split(',')
    .map((f) => f.trim().toLowerCase())
    .filter((f) => f !== '');
  const unknown = formats.filter((f) => !(PLOT_FORMATS as readonly string[]).includes(f));
  if (formats.length === 0 || unknown.length > 0) {
    throw new UsageError({
      field: '--formats',
      message: `${unknown.length > 0 ? `unknown format "${unknown.join('", "')}"` : 'no format given'}; use ${PLOT_FORMATS.join(', ')} (comma-separated)`,
    });
  }
  return formats;
}

function parseThresholds(opts: SweepReportCliOptions): AnalyzeOptions {
  const problems: FieldProblem[] = [];
  const options: AnalyzeOptions = {
    memThreshold: numberFlag(problems, '--mem-threshold', opts.memThreshold),
    grokThreshold: numberFlag(problems, '--grok-threshold', opts.grokThreshold),
  };
  problems.push(...optionProblems(options));
  if (problems.length > 0) throw new UsageError(problems);
  return options;
}

/**
 * Where the sweep is: a sweep folder `<runsDir>/sweeps/<name>` (or the `sweeps` folder, or a runs
 * folder, when it holds exactly one sweep), a spec file (its `name`, else its base name, in
 * `runsDir`), or a bare sweep name in `runsDir`.
 */
export function resolveSweepTarget(target: string, runsDir: string): { runsDir: string; name: string } {
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  if (stat?.isDirectory()) {
    const dir = path.resolve(target);
    if (fs.existsSync(path.join(dir, SWEEP_FILE))) {
      const parent = path.dirname(dir);
      if (path.basename(parent) !== SWEEPS_FOLDER) {
        throw new UsageError({
          field: 'sweep',
          message: `${target} has a ${SWEEP_FILE} but is not in a runs folder's ${SWEEPS_FOLDER}/ folder, so its runs cannot be found`,
        });
      }
      return { runsDir: path.dirname(parent), name: path.basename(dir) };
    }
    const root = path.basename(dir) === SWEEPS_FOLDER ? path.dirname(dir) : dir;
    const names = listSweepNames(root);
    if (names.length === 1) return { runsDir: root, name: names[0] };
    throw new UsageError({
      field: 'sweep',
      message:
        names.length === 0
          ? `${target} holds no sweep (no ${SWEEPS_FOLDER}/<name>/${SWEEP_FILE}); run groklab sweep first`
          : `${target} holds ${names.length} sweeps (${names.join(', ')}): give one, e.g. ${path.join(root, SWEEPS_FOLDER, names[0])}`,
    });
  }
  if (stat?.isFile()) {
    const { raw, context } = readSweepSpecFile(target);
    const named = typeof raw === 'object' && raw !== null ? (raw as { name?: unknown }).name : undefined;
    const name = typeof named === 'string' && named !== '' ? named : context.defaultName;
    if (name === undefined)
      throw new UsageError({ field: 'sweep', message: `${target} names no sweep (no "name" key)` });
    return { runsDir, name: validateSweepName(name) };
  }
  // Neither file nor folder: a sweep name, if it looks like one.
  if (/[/\\]/.test(target) || /\.(ya?ml|json)$/i.test(target))
    throw new UsageError({ field: 'sweep', message: `${target} does not exist` });
  return { runsDir, name: validateSweepName(target) };
}
