import { detectRun, formatStep } from '../measures/index.ts';
import type { RunOutcome } from '../runner/session.ts';
import { formatSeconds } from './progress.ts';

export function printRunSummary(outcome: RunOutcome, out: NodeJS.WritableStream): void {
  const { run, reason, last } = outcome;
  const { measures, verdict } = detectRun(run.dir);
  const lines = [
    `run ${run.id} (${run.dir}): ${reason === 'interrupted' ? 'stopped, resumable' : 'finished'} at step ${last?.step ?? 0}`,
    last
      ? `  final: train acc ${last.train_acc.toFixed(4)}, test acc ${last.test_acc.toFixed(4)}, train loss ${last.train_loss.toExponential(2)}, test loss ${last.test_loss.toExponential(2)}, ‖θ‖ ${last.weight_norm.toFixed(1)}`
      : '  no evaluation yet',
    `  t_mem ${formatStep(measures.t_mem)} · t_grok onset ${formatStep(measures.t_grok_onset)} · first test acc ≥ 0.9 at ${formatStep(measures.t_grok_crossing)}`,
    `  verdict: ${verdict.label} (${verdict.reason}); more with groklab detect ${run.dir}`,
    `  training time ${formatSeconds(last?.wall_s ?? 0)}`,
  ];
  out.write(`${lines.join('\n')}\n`);
}
