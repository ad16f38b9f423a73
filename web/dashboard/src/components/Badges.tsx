/** Small labels for a run's state and its verdict. Colour is never the only cue: the word is always there. */
import type { RunRowState, VerdictLabel } from '../api.ts';
import './badges.css';

const VERDICT_TEXT: Record<VerdictLabel, string> = {
  grokked: 'grokked',
  comprehension: 'comprehension',
  'memorized-only': 'memorized only',
  'no-fit': 'no fit',
  gradual: 'gradual',
  'above-chance-plateau': 'above-chance plateau',
  unstable: 'unstable',
  undecided: 'undecided',
  'insufficient-data': 'insufficient data',
};

export function StateBadge({ state }: { state: RunRowState | 'missing' | null }) {
  if (state === null) return null;
  return (
    <span className={`badge state-${state}`} data-state={state}>
      {state === 'running' && <span className="pulse" aria-hidden="true" />}
      {state}
    </span>
  );
}

export function VerdictBadge({ verdict, reason }: { verdict: VerdictLabel | null; reason?: string | null }) {
  if (verdict === null) return <span className="muted">–</span>;
  return (
    <span className={`badge verdict-${verdict}`} title={reason ?? undefined} data-verdict={verdict}>
      {VERDICT_TEXT[verdict] ?? verdict}
    </span>
  );
}
