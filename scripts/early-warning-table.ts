/**
 * The table of docs/early-warning.md: the circuit-forming warning measured over a finished sweep
 * (`groklab sweep --preset early-warning`), one row per run, then a summary per rule: the rule the
 * trainer logged (progress.circuit_warning) and, replayed over the same logs, each of its paths alone
 * and the weight-norm path (src/train/progress-rule.ts).
 *
 *   node --import tsx scripts/early-warning-table.ts RUNS_DIR [SWEEP_NAME]    (default early-warning)
 *   node --import tsx scripts/early-warning-table.ts --runs RUN_DIR...        (any run folders)
 *
 * t_grok is detect's confirmed crossing (test accuracy ≥ 0.9 on modular tasks). Lead = t_grok − the
 * warning's step. A warning in a run without t_grok is a false alarm within that run's budget.
 */
import fs from 'node:fs';
import path from 'node:path';
import { detectRun } from '../src/measures/index.ts';
import { readMetrics } from '../src/runs/index.ts';
import { replayWarning, type WarningPoint, type WarningRule } from '../src/train/progress-rule.ts';

interface RunRow {
  id: string;
  label: string;
  classes: number | null;
  tMem: number | null;
  tGrok: number | null;
  lastStep: number | null;
  finalTest: number | null;
  verdict: string;
  logged: number | null;
  points: WarningPoint[];
}

function runFolders(args: string[]): Array<{ dir: string; label: string }> {
  if (args[0] === '--runs') return args.slice(1).map((dir) => ({ dir, label: path.basename(dir) }));
  const [runsDir, name = 'early-warning'] = args;
  if (!runsDir) throw new Error('usage: early-warning-table.ts RUNS_DIR [SWEEP_NAME] | --runs RUN_DIR...');
  const sweep = JSON.parse(fs.readFileSync(path.join(runsDir, 'sweeps', name, 'sweep.json'), 'utf8')) as {
    cells: Array<{ run_id: string; values: Record<string, unknown> }>;
  };
  return sweep.cells.map((c) => ({
    dir: path.join(runsDir, c.run_id),
    label: Object.entries(c.values)
      .map(([k, v]) => (k === 'variant' ? String(v) : `${k} ${v}`))
      .join(', '),
  }));
}

function readRun(dir: string, label: string): RunRow {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as {
    task: { kind: string; op?: string; p?: number };
    train: { loss: string };
  };
  const records = readMetrics(path.join(dir, 'metrics.jsonl')).records as unknown as Array<
    WarningPoint & { progress?: { circuit_warning?: number } }
  >;
  const r = detectRun(dir);
  const modular = config.task.kind === 'modular' && config.train.loss !== 'mse';
  return {
    id: path.basename(dir),
    label,
    classes: modular ? (config.task.p ?? null) : null,
    tMem: r.measures.t_mem,
    tGrok: r.measures.t_grok_crossing,
    lastStep: r.measures.last_step,
    finalTest: r.measures.final_test_acc,
    verdict: r.verdict.label,
    logged: records.find((x) => x.progress?.circuit_warning !== undefined)?.progress?.circuit_warning ?? null,
    points: records,
  };
}

const RULES: Record<string, (classes: number | null) => WarningRule> = {
  'shipped (Fourier or excluded)': (classes) => ({ fourier: true, excluded: true, norm: false, classes }),
  'Fourier share alone': (classes) => ({ fourier: true, excluded: false, norm: false, classes }),
  'excluded loss alone': (classes) => ({ fourier: false, excluded: true, norm: false, classes }),
  'weight norm falling (norm_slope ≤ −0.1)': () => ({
    fourier: false,
    excluded: false,
    norm: true,
    classes: null,
  }),
};

const fmt = (x: number | null) => (x === null ? '—' : String(Math.round(x)));
const pct = (x: number) => `${Math.round(100 * x)}%`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function main(): void {
  const runs = runFolders(process.argv.slice(2)).map((r) => readRun(r.dir, r.label));
  const out: string[] = [];
  out.push(
    '| run | setting | t_mem | t_grok | last step | final test acc | verdict | warning (logged) | lead | lead / t_grok |',
    '|---|---|---:|---:|---:|---:|---|---:|---:|---:|',
  );
  for (const r of runs) {
    const shipped = replayWarning(r.points, RULES['shipped (Fourier or excluded)'](r.classes));
    if (shipped.warning_step !== r.logged) {
      throw new Error(`${r.id}: logged warning ${r.logged} but the rule replays to ${shipped.warning_step}`);
    }
    const lead = r.logged !== null && r.tGrok !== null ? r.tGrok - r.logged : null;
    out.push(
      `| ${r.id} | ${r.label} | ${fmt(r.tMem)} | ${fmt(r.tGrok)} | ${fmt(r.lastStep)} | ${r.finalTest?.toFixed(3) ?? '—'} | ${r.verdict} | ${fmt(r.logged)}${shipped.fired_by ? ` (${shipped.fired_by})` : ''} | ${fmt(lead)} | ${lead !== null && r.tGrok ? pct(lead / r.tGrok) : '—'} |`,
    );
  }
  out.push(
    '',
    '| rule | grokking runs | warned ahead | median lead (steps) | median lead / t_grok | missed or late | runs without t_grok | false alarms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const [name, make] of Object.entries(RULES)) {
    const grok = runs.filter((r) => r.tGrok !== null);
    const rest = runs.filter((r) => r.tGrok === null);
    const leads: number[] = [];
    const fractions: number[] = [];
    let missed = 0;
    for (const r of grok) {
      const step = replayWarning(r.points, make(r.classes)).warning_step;
      if (step !== null && step < (r.tGrok as number)) {
        leads.push((r.tGrok as number) - step);
        fractions.push(((r.tGrok as number) - step) / (r.tGrok as number));
      } else missed++;
    }
    const alarms = rest.filter((r) => replayWarning(r.points, make(r.classes)).warning_step !== null).length;
    out.push(
      `| ${name} | ${grok.length} | ${leads.length} | ${leads.length ? fmt(median(leads)) : '—'} | ${fractions.length ? pct(median(fractions)) : '—'} | ${missed} | ${rest.length} | ${alarms} |`,
    );
  }
  console.log(out.join('\n'));
}

main();
