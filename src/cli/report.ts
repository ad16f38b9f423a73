import { detectRun, formatStep } from '../measures/index.ts';
import { type DivergedOutcome, describeStopRule, type RunOutcome } from '../runner/session.ts';
import { formatSeconds } from '../util/format-time.ts';

/** How a training session ended, and why, e.g. "finished at step 3000: step budget reached (train.steps)". */
export function describeEnd(outcome: RunOutcome | DivergedOutcome): string {
  const { run, config, step } = outcome;
  switch (outcome.reason) {
    case 'budget':
      return `finished at step ${step}: step budget reached (train.steps)`;
    case 'threshold':
      return `finished at step ${step}: stop rule met (${describeStopRule(config.train)})`;
    case 'interrupted':
      return `stopped by Ctrl-C at step ${step} (checkpoint written); continue with groklab resume ${run.dir}`;
    case 'diverged': {
      const from =
        outcome.lastGoodCheckpoint === null
          ? 'no checkpoint before it to resume from'
          : `resume from before it with gentler settings, e.g. groklab resume ${run.dir} --step ${outcome.lastGoodCheckpoint} --set lr=${Number((config.train.lr / 10).toPrecision(2))}`;
      return `failed at step ${step}: training diverged (train loss ${outcome.loss}); ${from}`;
    }
  }
}

export function printRunSummary(outcome: RunOutcome | DivergedOutcome, out: NodeJS.WritableStream): void {
  const { run, last } = outcome;
  const { measures, verdict, thresholds } = detectRun(run.dir);
  const lines = [
    `run ${run.id} (${run.dir}): ${describeEnd(outcome)}`,
    last
      ? `  final: train acc ${last.train_acc.toFixed(4)}, test acc ${last.test_acc.toFixed(4)}, train loss ${last.train_loss.toExponential(2)}, test loss ${last.test_loss.toExponential(2)}, ‖θ‖ ${last.weight_norm.toFixed(1)}`
      : '  no evaluation yet',
    `  t_mem ${formatStep(measures.t_mem)} · t_grok onset ${formatStep(measures.t_grok_onset)} · first test acc ≥ ${thresholds.grok} at ${formatStep(measures.t_grok_crossing)}`,
    `  verdict: ${verdict.label} (${verdict.reason}); more with groklab detect ${run.dir}`,
    `  training time ${formatSeconds(last?.wall_s ?? 0)}`,
  ];
  out.write(`${lines.join('\n')}\n`);
}
