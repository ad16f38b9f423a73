/** `groklab plot RUN...`: learning curves, weight norms and a comparison of runs as SVG and PNG (src/plots). */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  checkFormats,
  type LoadedRun,
  loadRun,
  type RenderedFile,
  renderComparison,
  renderRunCharts,
  writeCharts,
} from '../plots/index.ts';
import { resolveRunFolder } from '../runs/index.ts';
import { UsageError } from '../util/errors.ts';
import { defaultRunsDir } from './defaults.ts';

interface PlotCliOptions {
  out?: string;
  format: string;
  runsDir: string;
}

/** Adds `plot` to a commander program; the paths written are listed on `out` (stdout by default). */
export function registerPlot(program: Command, out: NodeJS.WritableStream = process.stdout): void {
  program
    .command('plot')
    .description(
      'draw learning curves (accuracy, loss; t_mem and t_grok marked) and weight norms of runs, and for several runs a comparison chart, as SVG and PNG',
    )
    .argument('<runs...>', 'run folders, or run ids in --runs-dir')
    .option(
      '--out <dir>',
      'output folder (default: <run>/plots for each run, and the current folder for comparison.svg|png); with several runs each run gets <dir>/<run id>/',
    )
    .option('--format <list>', 'comma-separated formats: svg, png', 'svg,png')
    .option('--runs-dir <dir>', 'where run ids are looked up (env GROKLAB_RUNS)', defaultRunsDir())
    .action(async (runArgs: string[], opts: PlotCliOptions) => {
      const formats = checkFormats(
        opts.format
          .split(',')
          .map((f) => f.trim().toLowerCase())
          .filter((f) => f !== ''),
      );
      if (opts.out !== undefined) checkOutDir(opts.out);
      // Everything is read and rendered before the first file is written.
      const runs = runArgs.map((arg) => loadRun(resolveRunFolder(arg, opts.runsDir).dir));
      const files: RenderedFile[] = [];
      if (runs.length === 1) {
        files.push(...(await renderRunCharts(runs[0], opts.out ?? path.join(runs[0].dir, 'plots'), formats)));
      } else {
        const names = folderNames(runs);
        for (const [i, run] of runs.entries()) {
          const dir = opts.out !== undefined ? path.join(opts.out, names[i]) : path.join(run.dir, 'plots');
          files.push(...(await renderRunCharts(run, dir, formats)));
        }
        files.push(...(await renderComparison(runs, path.join(opts.out ?? '.', 'comparison'), formats)));
      }
      for (const written of writeCharts(files)) out.write(`${written}\n`);
    });
}

function checkOutDir(dir: string): void {
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (stat && !stat.isDirectory()) {
    throw new UsageError({ field: '--out', message: `"${dir}" exists and is not a folder` });
  }
}

/** Sub-folder names under --out: run ids, numbered when two runs share an id. */
function folderNames(runs: LoadedRun[]): string[] {
  const ids = runs.map((r) => r.id);
  return ids.map((id, i) => (ids.indexOf(id) !== ids.lastIndexOf(id) ? `${id}-${i + 1}` : id));
}
