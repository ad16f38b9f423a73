/** `groklab runs`: the runs in a runs directory with their status and latest accuracies. */
import type { Command } from 'commander';
import { listRuns, type RunSummary } from '../runs/index.ts';
import type { EvalRecord } from '../train/trainer.ts';
import { alignColumns } from '../util/text-table.ts';
import { defaultRunsDir } from './defaults.ts';

export function registerRuns(program: Command): void {
  program
    .command('runs')
    .option('--runs-dir <dir>', 'where run folders live (env GROKLAB_RUNS)', defaultRunsDir())
    .option('--json', 'machine-readable output')
    .action((opts: { runsDir: string; json?: boolean }) => {
      const runs = listRuns(opts.runsDir);
      if (opts.json) process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
      else printRunsTable(runs, opts.runsDir, process.stdout);
    });
}

export function printRunsTable(runs: RunSummary[], runsDir: string, out: NodeJS.WritableStream): void {
  if (runs.length === 0) {
    out.write(`no runs in ${runsDir}\n`);
    return;
  }
  const rows = runs.map((r) => {
    const m = r.lastMetrics as Partial<EvalRecord> | null;
    const config = r.config as { preset?: string } | null;
    return [
      r.id,
      r.state,
      config?.preset ?? '-',
      String(r.step ?? '-'),
      m?.train_acc !== undefined ? m.train_acc.toFixed(3) : '-',
      m?.test_acc !== undefined ? m.test_acc.toFixed(3) : '-',
    ];
  });
  const header = ['run', 'status', 'preset', 'step', 'train acc', 'test acc'];
  for (const line of alignColumns(header, rows)) out.write(`${line}\n`);
}
