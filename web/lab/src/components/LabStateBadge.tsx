/**
 * A lab run's state as a badge. The dashboard's StateBadge takes the server's run states; the lab
 * has its own (new, paused, imported), so it draws the same badge for them. The word is always
 * there: colour is never the only cue.
 */
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

export function LabStateBadge({ state }: { state: LabRunState }) {
  return (
    <span className={`badge state-${state}`} data-state={state} data-testid="state-badge">
      {state === 'running' && <span className="pulse" aria-hidden="true" />}
      {TEXT[state] ?? state}
    </span>
  );
}
