/**
 * A lab run's state as a badge. The dashboard's StateBadge takes the server's run states; the lab
 * has its own (new, paused, imported), so it draws the same badge for them. The word is always
 * there: colour is never the only cue. With `warning` (the step at which the progress measures'
 * circuit-forming warning fired, docs/early-warning.md) a second badge says so.
 */
import type { EvalRecord } from '../../../../src/train/trainer.ts';
import type { LabRunState } from '../model.ts';

const TEXT: Record<LabRunState, string> = {
  new: 'new',
  running: 'running',
  paused: 'paused',
  finished: 'finished',
  failed: 'failed',
  stopped: 'stopped',
  imported: 'imported',
};

/** The step at which the circuit-forming warning fired, from the latest record (eval.progress); else null. */
export function circuitWarningStep(records: readonly EvalRecord[]): number | null {
  const step = records[records.length - 1]?.progress?.circuit_warning;
  return typeof step === 'number' && Number.isFinite(step) ? step : null;
}

/** "circuit forming · step 600", with what it means on hover. */
export function CircuitWarningBadge({ step }: { step: number }) {
  return (
    <span
      className="badge circuit-warning"
      data-testid="circuit-warning"
      data-step={step}
      title="the progress measures' warning (docs/early-warning.md): the embedding's Fourier spectrum is sharpening, or the training fit rests on its key frequencies, while test accuracy is still low"
    >
      circuit forming · step {step}
    </span>
  );
}

export function LabStateBadge({ state, warning = null }: { state: LabRunState; warning?: number | null }) {
  return (
    <>
      <span className={`badge state-${state}`} data-state={state} data-testid="state-badge">
        {state === 'running' && <span className="pulse" aria-hidden="true" />}
        {TEXT[state] ?? state}
      </span>
      {warning !== null && (
        <>
          {' '}
          <CircuitWarningBadge step={warning} />
        </>
      )}
    </>
  );
}
