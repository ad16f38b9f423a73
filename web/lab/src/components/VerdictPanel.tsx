/**
 * Where a run is now and what the detector says about it: the phase in words (memorizing, plateau
 * at chance, grokking, generalized), the verdict, t_mem, onset, t_grok and how sharp the jump was.
 * The phase and the verdict are announced (aria-live) when they change; the numbers, which change
 * at every evaluation, are not.
 */
import { type ReactNode, useId } from 'react';
import { VerdictBadge } from '../../../dashboard/src/components/Badges.tsx';
import { formatAcc, formatStep } from '../../../dashboard/src/format.ts';
import type { LabRun } from '../model.ts';
import { CircuitWarningBadge, circuitWarningStep } from './LabStateBadge.tsx';

export interface VerdictPanelProps {
  run: LabRun;
}

export type Phase = 'not-started' | 'memorizing' | 'plateau' | 'grokking' | 'generalized';

export interface PhaseInfo {
  phase: Phase;
  /** Short, e.g. "Plateau at chance". */
  title: string;
  /** One sentence with the numbers. */
  detail: string;
}

const median3 = (xs: number[]) => {
  const last = xs.slice(-3).sort((a, b) => a - b);
  return last[Math.floor(last.length / 2)];
};

/**
 * The phase from the latest evaluations (median of the last three, so one noisy evaluation does not
 * flip it) and the detector's thresholds and baseline when it has run.
 */
export function runPhase(run: LabRun): PhaseInfo {
  const records = run.records.filter((r) => Number.isFinite(r.train_acc) && Number.isFinite(r.test_acc));
  if (records.length === 0) {
    return { phase: 'not-started', title: 'Not started', detail: 'No evaluation yet.' };
  }
  const detect = run.detect;
  const mem = detect?.thresholds.mem ?? 0.99;
  const grok = detect?.thresholds.grok ?? (run.config?.task.kind === 'mnist' ? 0.8 : 0.9);
  const train = median3(records.map((r) => r.train_acc));
  const test = median3(records.map((r) => r.test_acc));
  const chance = detect?.baseline.chance ?? null;
  const baseline = detect?.baseline.value ?? chance;
  const nums = `train accuracy ${formatAcc(train)}, test accuracy ${formatAcc(test)}`;
  if (test >= grok) {
    return {
      phase: 'generalized',
      title: 'Generalized',
      detail: `Test accuracy is at or above ${grok} (${nums}): the network has found the rule.`,
    };
  }
  if (train < mem) {
    return {
      phase: 'memorizing',
      title: 'Memorizing',
      detail: `Training accuracy is still below ${mem} (${nums}).`,
    };
  }
  const level = detect?.plateau?.level ?? baseline ?? null;
  const rising =
    level !== null ? test > level + Math.max(0.05, 0.1 * (1 - level)) : records.length > 1 && test > 0.5;
  const last = records[records.length - 1].step;
  const onset = detect?.transition?.valid ? detect.transition.onset_step : null;
  if (rising || (onset !== null && onset <= last)) {
    return {
      phase: 'grokking',
      title: 'Grokking',
      detail: `The training set is memorized and test accuracy is rising (${nums}).`,
    };
  }
  const nearChance = chance === null || test <= chance + Math.max(0.05, 0.1 * (1 - chance));
  const warning = circuitWarningStep(run.records);
  if (warning !== null) {
    return {
      phase: 'plateau',
      title: 'Plateau, circuit forming',
      detail: `The training set is memorized and test accuracy is still low (${nums}), but the progress measures say a circuit is forming (since step ${formatStep(warning)}): the embedding's Fourier spectrum is sharpening, or the training fit rests on its key frequencies. Test accuracy often follows; see docs/early-warning.md for how often and how soon.`,
    };
  }
  return {
    phase: 'plateau',
    title: nearChance ? 'Plateau at chance' : 'Plateau',
    detail: nearChance
      ? `The training set is memorized but test accuracy stays near chance${chance !== null ? ` (${formatAcc(chance)})` : ''} (${nums}).`
      : `The training set is memorized; test accuracy stays flat (${nums}).`,
  };
}

function Row(props: { label: string; title?: string; children: ReactNode; testId?: string }) {
  return (
    <>
      <dt title={props.title}>{props.label}</dt>
      <dd data-testid={props.testId}>{props.children}</dd>
    </>
  );
}

export function VerdictPanel({ run }: VerdictPanelProps) {
  const uid = useId();
  const phase = runPhase(run);
  const detect = run.detect;
  const m = detect?.measures;
  const t = detect?.transition ?? null;
  const warning = circuitWarningStep(run.records);
  const early = detect?.early_warning ?? null;
  return (
    <section className="panel verdict-panel" aria-labelledby={`${uid}-title`} data-testid="verdict-panel">
      <h2 id={`${uid}-title`}>
        Verdict <span className="muted small">{run.label}</span>
      </h2>
      <div className="verdict-live" aria-live="polite" aria-atomic="true">
        <span className={`phase phase-${phase.phase}`} data-testid="phase" data-phase={phase.phase}>
          {phase.title}
        </span>
        <span
          className="verdict-badge"
          data-testid="verdict-badge"
          data-verdict={detect?.verdict.label ?? ''}
        >
          {detect ? (
            <VerdictBadge verdict={detect.verdict.label} reason={detect.verdict.reason} />
          ) : (
            <span className="muted">no verdict yet</span>
          )}
        </span>
        {warning !== null && <CircuitWarningBadge step={warning} />}
      </div>
      <p className="phase-detail" data-testid="phase-detail">
        {phase.detail}
      </p>
      {detect && (
        <p className="small" data-testid="verdict-reason">
          {detect.verdict.reason}
        </p>
      )}
      {m && detect && (
        <dl>
          <Row
            label="t_mem"
            title={`first step with train accuracy ≥ ${detect.thresholds.mem}`}
            testId="verdict-t-mem"
          >
            {formatStep(m.t_mem)}
          </Row>
          <Row
            label="onset"
            title="where the jump in test accuracy starts (the detector)"
            testId="verdict-onset"
          >
            {formatStep(m.t_grok_onset)}
          </Row>
          <Row
            label="t_grok"
            title={`first confirmed step with test accuracy ≥ ${detect.thresholds.grok}`}
            testId="verdict-t-grok"
          >
            {formatStep(m.t_grok_crossing)}
          </Row>
          <Row label="gap" title="t_grok − t_mem: how long the network sat on memorization">
            {formatStep(m.gap_crossing)}
            {m.ratio_crossing !== null && (
              <span className="muted"> ({m.ratio_crossing.toFixed(1)}× t_mem)</span>
            )}
          </Row>
          {t && (
            <Row label="10→90% width" title="steps from 10% to 90% of the rise of the smoothed test accuracy">
              {formatStep(t.width_10_90)}
              {t.width_relative !== null && (
                <span className="muted"> ({Math.round(t.width_relative * 100)}% of the onset step)</span>
              )}
            </Row>
          )}
          {t && t.max_slope_log !== null && (
            <Row label="steepness" title="steepest rise of test accuracy per e-fold of training steps">
              {t.max_slope_log.toFixed(2)} <span className="muted">per e-fold of steps</span>
            </Row>
          )}
          {detect.plateau && (
            <Row label="plateau" title={detect.plateau.cause}>
              {formatAcc(detect.plateau.level)}{' '}
              <span className="muted">
                (steps {formatStep(detect.plateau.from_step)}–{formatStep(detect.plateau.to_step)})
              </span>
            </Row>
          )}
          {early && (
            <Row
              label="circuit forming"
              title="the progress measures' warning (eval.progress, docs/early-warning.md)"
              testId="verdict-warning"
            >
              {early.step === null ? (
                early.outcome === 'missed' ? (
                  'no warning before t_grok'
                ) : (
                  'no warning'
                )
              ) : (
                <>
                  step {formatStep(early.step)}
                  {early.lead_steps !== null && early.lead_steps > 0 && (
                    <span className="muted">
                      {' '}
                      ({formatStep(early.lead_steps)} steps before t_grok
                      {early.lead_fraction !== null && `, ${Math.round(100 * early.lead_fraction)}% of it`})
                    </span>
                  )}
                  {early.outcome === 'pending' && (
                    <span className="muted"> (test accuracy has not followed yet)</span>
                  )}
                </>
              )}
            </Row>
          )}
          <Row label="final acc">
            train {formatAcc(m.final_train_acc)}, test {formatAcc(m.final_test_acc)}
          </Row>
        </dl>
      )}
      {detect && detect.verdict.notes.length > 0 && (
        <ul className="notes">
          {detect.verdict.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
