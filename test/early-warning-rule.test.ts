// The circuit-forming rule (src/train/progress-rule.ts) on synthetic evaluations with known answers,
// and how detect, its report and table, and the CLI progress line show the warning. Logs without
// progress measures read exactly as before.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrainingProgress } from '../src/cli/progress.ts';
import { analyzeLog } from '../src/measures/analyze.ts';
import { formatReport, formatTable } from '../src/measures/format.ts';
import { loadLogText } from '../src/measures/run-log.ts';
import {
  CONFIRM,
  defaultRule,
  EXCLUDED_LEVEL,
  FOURIER_RISE,
  replayWarning,
  type WarningPoint,
} from '../src/train/progress-rule.ts';
import type { EvalRecord } from '../src/train/trainer.ts';

const P = 59;
const rule = defaultRule(P);

/**
 * Evaluations every 100 steps to `last`: train accuracy from 0.2 to 1 at step 200 (t_mem), test
 * accuracy 0.05 until `grokAt`, 1 from there; progress measures from the functions given.
 */
function series(
  options: {
    last?: number;
    grokAt?: number | null;
    share?: (step: number) => number | undefined;
    excluded?: (step: number) => number | undefined;
    slope?: (step: number) => number | undefined;
    train?: (step: number) => number;
  } = {},
): WarningPoint[] {
  const out: WarningPoint[] = [];
  for (let step = 0; step <= (options.last ?? 3000); step += 100) {
    const progress: NonNullable<WarningPoint['progress']> = {};
    const share = options.share?.(step);
    const excluded = options.excluded?.(step);
    if (share !== undefined) progress.fourier_top_share = share;
    if (excluded !== undefined) progress.excluded_loss = excluded;
    const slope = options.slope?.(step);
    if (slope !== undefined) progress.norm_slope = slope;
    out.push({
      step,
      train_acc: options.train?.(step) ?? (step >= 200 ? 1 : 0.2 + step / 500),
      test_acc: options.grokAt != null && step >= options.grokAt ? 1 : 0.05,
      progress,
    });
  }
  return out;
}

describe('the circuit-forming rule on synthetic evaluations', () => {
  it('Fourier path: fires at the third evaluation in a row past S_mem + 0.2·(1 − S_mem)', () => {
    assert.equal(FOURIER_RISE, 0.2);
    assert.equal(CONFIRM, 3);
    // S_mem = 0.25 at t_mem 200, so the bar is 0.25 + 0.2·0.75 = 0.4: crossed from step 1000 on.
    const share = (step: number) => (step <= 200 ? 0.25 : step < 1000 ? 0.3 : 0.45);
    const state = replayWarning(series({ share, grokAt: 2000 }), rule);
    assert.equal(state.t_mem, 200);
    assert.equal(state.share_at_mem, 0.25);
    assert.equal(state.warning_step, 1200);
    assert.equal(state.fired_by, 'fourier');
  });

  it('excluded path: the third evaluation with excluded loss ≥ ½·ln p and ‖θ‖ not growing; not on a single spike', () => {
    const bar = EXCLUDED_LEVEL * Math.log(P);
    const excluded = (step: number) => (step === 600 ? 2 * bar : step >= 1500 ? bar + 1e-9 : 0.1);
    const flat = () => -0.01;
    const state = replayWarning(series({ excluded, slope: flat, grokAt: 2500 }), rule);
    assert.equal(state.warning_step, 1700);
    assert.equal(state.fired_by, 'excluded');
    // The excluded path needs ln p: without the number of classes it is off.
    assert.equal(
      replayWarning(series({ excluded, slope: flat, grokAt: 2500 }), defaultRule(null)).warning_step,
      null,
    );
    // A growing norm (no weight decay: the logits' scale grows) or no slope yet: it does not hold.
    assert.equal(replayWarning(series({ excluded, slope: () => 0.05 }), rule).warning_step, null);
    assert.equal(replayWarning(series({ excluded }), rule).warning_step, null);
    const turns = (step: number) => (step < 1600 ? 0.05 : 0);
    assert.equal(replayWarning(series({ excluded, slope: turns }), rule).warning_step, 1800);
  });

  it('stays silent on a memorize-only run whose share drifts (+0.1 over 3000 steps) or sits flat', () => {
    const drift = (step: number) => 0.2 + (0.1 * step) / 3000;
    assert.equal(replayWarning(series({ share: drift, excluded: () => 0.05 }), rule).warning_step, null);
    assert.equal(replayWarning(series({ share: () => 0.22 }), rule).warning_step, null);
  });

  it('needs agreement in a row: an alternating share never fires; a dip of train accuracy restarts the count', () => {
    const alternating = (step: number) => (step <= 200 ? 0.25 : (step / 100) % 2 === 0 ? 0.6 : 0.3);
    assert.equal(replayWarning(series({ share: alternating }), rule).warning_step, null);
    const high = (step: number) => (step <= 200 ? 0.25 : 0.6);
    const dip = (step: number) => (step < 200 ? 0.5 : step === 500 ? 0.9 : 1);
    // Qualifying from 300; the dip at 500 restarts the count: 600, 700, 800.
    assert.equal(replayWarning(series({ share: high, train: dip }), rule).warning_step, 800);
  });

  it('says nothing before memorization, or once test accuracy has arrived', () => {
    const share = (step: number) => (step < 200 ? 0.9 : 0.9);
    // Already at 0.9 at t_mem: no rise from there.
    assert.equal(replayWarning(series({ share }), rule).warning_step, null);
    const late = (step: number) => (step <= 200 ? 0.25 : step >= 1500 ? 0.6 : 0.3);
    assert.equal(replayWarning(series({ share: late, grokAt: 1500 }), rule).warning_step, null);
    const never = (step: number) => step * 0;
    assert.equal(replayWarning(series({ share: () => 0.9, train: never }), rule).t_mem, null);
  });

  it('once fired, the warning stays whatever comes later', () => {
    const share = (step: number) => (step <= 200 ? 0.25 : step <= 800 ? 0.6 : 0.1);
    assert.equal(replayWarning(series({ share }), rule).warning_step, 500);
  });
});

/** A metrics.jsonl text of the synthetic series, with progress as the trainer writes it. */
function jsonl(points: WarningPoint[], warningAt: number | null, withProgress = true): string {
  return points
    .map((p) => {
      const record: Record<string, unknown> = {
        step: p.step,
        train_loss: 1 - p.train_acc + 0.01,
        train_acc: p.train_acc,
        test_loss: 1 - p.test_acc + 0.01,
        test_acc: p.test_acc,
        weight_norm: 30,
      };
      if (withProgress) {
        record.progress = {
          ...p.progress,
          ...(warningAt !== null && p.step >= warningAt ? { circuit_warning: warningAt } : {}),
        };
      }
      return JSON.stringify(record);
    })
    .join('\n');
}

describe('detect reports the warning', () => {
  const share = (step: number) => (step <= 200 ? 0.25 : step < 1000 ? 0.3 : 0.45);
  const grokking = series({ share, grokAt: 2000 });

  it('reads progress/circuit_warning: step, lead on t_grok, a note; --json has it', () => {
    const r = analyzeLog(loadLogText('metrics.jsonl', jsonl(grokking, 1200)), { classes: P });
    assert.equal(r.measures.t_grok_crossing, 2000);
    assert.deepEqual(r.early_warning, {
      column: 'progress/circuit_warning',
      step: 1200,
      lead_steps: 800,
      lead_fraction: 0.4,
      outcome: 'ahead',
    });
    assert.ok(
      r.verdict.notes.some((n) => /warning .* fired at step 1200, 800 steps \(40% of t_grok\)/.test(n)),
    );
    const report = formatReport(r);
    assert.match(
      report,
      /circuit-forming warning \(progress measures\) +step 1200 · 800 steps \(40% of t_grok\) before t_grok/,
    );
    assert.match(report, /circuit_warning=progress\/circuit_warning/);
    assert.equal(JSON.parse(JSON.stringify(r)).early_warning.step, 1200);
    const table = formatTable([r]);
    assert.match(table.split('\n')[0], /t_grok +warning +gap/);
    assert.match(table.split('\n')[1], /2000 +1200 /);
  });

  it('missed, pending and quiet: measures without a warning, a warning without t_grok, neither', () => {
    const flat = series({ share: () => 0.25, grokAt: 2000 });
    const missed = analyzeLog(loadLogText('m.jsonl', jsonl(flat, null)), { classes: P });
    assert.equal(missed.early_warning?.step, null);
    assert.equal(missed.early_warning?.outcome, 'missed');
    assert.ok(missed.verdict.notes.some((n) => /no circuit-forming warning before test accuracy/.test(n)));
    const pending = analyzeLog(loadLogText('p.jsonl', jsonl(series({ share }), 1200)), { classes: P });
    assert.equal(pending.early_warning?.outcome, 'pending');
    assert.equal(pending.early_warning?.lead_steps, null);
    assert.match(formatReport(pending), /step 1200 · test accuracy has not followed \(yet\)/);
    const quiet = analyzeLog(loadLogText('q.jsonl', jsonl(series({ share: () => 0.25 }), null)), {
      classes: P,
    });
    assert.equal(quiet.early_warning?.outcome, 'quiet');
  });

  it('a log without progress measures reads as before: null, no row, no note, no table column', () => {
    const plain = analyzeLog(loadLogText('old.jsonl', jsonl(grokking, null, false)), { classes: P });
    assert.equal(plain.early_warning, null);
    const withMeasures = analyzeLog(loadLogText('new.jsonl', jsonl(grokking, 1200)), { classes: P });
    // Everything else is the same result.
    const rest = (r: typeof plain) => ({
      ...r,
      source: { ...r.source, path: null },
      early_warning: null,
      verdict: { ...r.verdict, notes: r.verdict.notes.filter((n) => !/circuit-forming/.test(n)) },
    });
    assert.deepEqual(rest(withMeasures), rest(plain));
    assert.doesNotMatch(formatReport(plain), /circuit|warning \(progress/);
    assert.doesNotMatch(formatTable([plain]), /warning +gap/);
  });
});

describe('the CLI progress line', () => {
  function record(step: number, warning?: number): EvalRecord {
    return {
      step,
      train_loss: 0.01,
      train_acc: 1,
      test_loss: 3,
      test_acc: 0.05,
      weight_norm: 30,
      norms: {},
      lr: 1e-3,
      wall_s: 1,
      ...(warning !== undefined ? { progress: { fourier_top_share: 0.5, circuit_warning: warning } } : {}),
    };
  }
  for (const isTTY of [false, true]) {
    it(`${isTTY ? 'bar' : 'lines'}: says "circuit forming since step N" once the record has the warning`, () => {
      const shown = (last: EvalRecord) => {
        const chunks: string[] = [];
        const stream = {
          isTTY,
          columns: 200,
          write: (chunk: string) => {
            chunks.push(String(chunk));
            return true;
          },
        } as unknown as NodeJS.WriteStream;
        const progress = new TrainingProgress(3000, stream);
        progress.start(0);
        progress.eval(last);
        progress.finish(last.step, 'interrupted');
        progress.stop();
        return chunks.join('');
      };
      assert.doesNotMatch(shown(record(1100)), /circuit forming/);
      assert.match(shown(record(1200, 1200)), /circuit forming since step 1200/);
    });
  }
});
