/**
 * The runs of this page: a row each with its colour, state, step, test accuracy and verdict. The
 * checkbox puts a run on the charts; the run's name (click, or Enter on it) focuses it: the
 * controls, the spectrum and the verdict are the focused run's.
 */
import { useId } from 'react';
import { VerdictBadge } from '../../../dashboard/src/components/Badges.tsx';
import { formatAcc, formatStep } from '../../../dashboard/src/format.ts';
import type { LabActions, LabRun } from '../model.ts';
import { LabStateBadge } from './LabStateBadge.tsx';

export interface RunListProps {
  runs: LabRun[];
  shown: Set<string>;
  focused: string | null;
  onToggle(id: string): void;
  onFocus(id: string): void;
  actions: LabActions;
}

/** The one action that moves a run on, when it has one (Start, Pause, Resume). */
function QuickAction({ run, actions }: { run: LabRun; actions: LabActions }) {
  // An icon keeps the table narrow; the label says the word to screen readers and on hover.
  const make = (text: string, testId: string, act: () => void) => (
    <button
      type="button"
      className="small-button icon-button"
      data-testid={`${testId}-${run.id}`}
      aria-label={`${text} ${run.label}`}
      title={text}
      onClick={(e) => {
        e.stopPropagation();
        act();
      }}
    >
      <span aria-hidden="true">{text === 'Pause' ? '❚❚' : '▶'}</span>
    </button>
  );
  switch (run.state) {
    case 'new':
      return make('Start', 'row-start', () => actions.start(run.id));
    case 'running':
      return make('Pause', 'row-pause', () => actions.pause(run.id));
    case 'paused':
      return make('Resume', 'row-resume', () => actions.resume(run.id));
    case 'stopped':
      return run.checkpoints.length > 0 ? make('Resume', 'row-resume', () => actions.resume(run.id)) : null;
    default:
      return null;
  }
}

export function RunList(props: RunListProps) {
  const { runs, shown, focused } = props;
  const uid = useId();
  return (
    <section className="panel run-list" aria-labelledby={`${uid}-title`} data-testid="run-list">
      <h2 id={`${uid}-title`}>Runs</h2>
      {runs.length === 0 ? (
        <p className="muted">No runs yet: configure one above and press Train, or import a run.</p>
      ) : (
        <div className="table-wrap">
          <table className="runs">
            <thead>
              <tr>
                <th scope="col">
                  <span className="visually-hidden">Show on the charts</span>
                  <span aria-hidden="true">show</span>
                </th>
                <th scope="col">run</th>
                <th scope="col">state</th>
                <th scope="col" className="num">
                  step
                </th>
                <th scope="col" className="num" title="test accuracy at the latest evaluation">
                  test
                </th>
                <th scope="col">verdict</th>
                <th scope="col">
                  <span className="visually-hidden">action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => {
                const last = run.records[run.records.length - 1];
                const isFocused = run.id === focused;
                return (
                  <tr
                    key={run.id}
                    className={isFocused ? 'selected' : undefined}
                    data-testid={`run-row-${run.id}`}
                    data-state={run.state}
                    data-focused={isFocused || undefined}
                    onClick={() => props.onFocus(run.id)}
                  >
                    <td>
                      <input
                        type="checkbox"
                        data-testid={`run-show-${run.id}`}
                        aria-label={`Show ${run.label} on the charts`}
                        checked={shown.has(run.id)}
                        onClick={(e) => e.stopPropagation()}
                        onChange={() => props.onToggle(run.id)}
                      />
                    </td>
                    <td>
                      <button
                        type="button"
                        className="run-name"
                        data-testid={`run-focus-${run.id}`}
                        aria-pressed={isFocused}
                        title={`${run.id}: show its controls, spectrum and verdict`}
                        onClick={(e) => {
                          e.stopPropagation();
                          props.onFocus(run.id);
                        }}
                      >
                        <span className="swatch" style={{ background: run.color }} aria-hidden="true" />
                        {run.label}
                      </button>
                    </td>
                    <td>
                      <LabStateBadge state={run.state} />
                    </td>
                    <td className="num" data-testid={`run-step-${run.id}`}>
                      {formatStep(run.step)}
                    </td>
                    <td className="num">{formatAcc(last?.test_acc)}</td>
                    <td>
                      <VerdictBadge
                        verdict={run.detect?.verdict.label ?? null}
                        reason={run.detect?.verdict.reason}
                      />
                    </td>
                    <td>
                      <QuickAction run={run} actions={props.actions} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
