/** `groklab export RUN`: a run's checkpoint for TransformerLens (src/interop). */
import path from 'node:path';
import type { Command } from 'commander';
import { exportRun, exportSteps } from '../interop/export.ts';
import { resolveRunFolder } from '../runs/index.ts';
import { UsageError } from '../util/errors.ts';
import { defaultRunsDir } from './defaults.ts';

interface ExportCliOptions {
  step?: string;
  out?: string;
  runsDir: string;
}

/** Adds `export` to a commander program; the paths written are listed on `out`. */
export function registerExport(program: Command, out: NodeJS.WritableStream = process.stdout): void {
  program
    .command('export')
    .description(
      "write a run's checkpoint with TransformerLens's parameter names and shapes (safetensors) and its HookedTransformerConfig (JSON): HookedTransformer(HookedTransformerConfig(**cfg)).load_state_dict(state, strict=False)",
    )
    .argument('<run>', 'run id (in --runs-dir) or the path of a run folder')
    .option('--step <n>', 'checkpoint step, or all (default: the latest)')
    .option('--out <dir>', 'output folder (default: <run>/transformerlens)')
    .option('--runs-dir <dir>', 'where run ids are looked up (env GROKLAB_RUNS)', defaultRunsDir())
    .action((runArg: string, opts: ExportCliOptions) => {
      const run = resolveRunFolder(runArg, opts.runsDir);
      const steps = exportSteps(run, parseStep(opts.step));
      for (const file of exportRun(run, steps, opts.out ?? path.join(run.dir, 'transformerlens'))) {
        out.write(`${file}\n`);
      }
    });
}

function parseStep(value: string | undefined): number | 'all' | undefined {
  if (value === undefined || value === 'all') return value;
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
    throw new UsageError({ field: '--step', message: `must be an integer ≥ 0 or all, got "${value}"` });
  }
  return n;
}
