/**
 * What can be done to the focused run: start, pause, resume, reset; change the weight decay or the
 * learning rate from the current step on (recorded in the run's lineage, as `groklab resume --set`
 * does); fork a new run from one of its checkpoints; export it as a zip that `groklab import` and
 * `groklab detect` read; remove it.
 */
import { useEffect, useId, useState } from 'react';
import type { Override } from '../../../../src/config/overrides.ts';
import { formatHyper, formatStep } from '../../../dashboard/src/format.ts';
import type { LabActions, LabRun } from '../model.ts';
import { LabStateBadge } from './LabStateBadge.tsx';

export interface RunControlsProps {
  run: LabRun;
  actions: LabActions;
}

/** Text of a number input → the number, or null when it is not one (or not allowed). */
function readNumber(text: string, min: number, strict: boolean): number | null {
  if (text.trim() === '') return null;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || (strict && n === min)) return null;
  return n;
}

/** Keyed by the run: focusing another run starts with fresh inputs and no pending question. */
export function RunControls(props: RunControlsProps) {
  return <Controls key={props.run.id} {...props} />;
}

function Controls({ run, actions }: RunControlsProps) {
  const uid = useId();
  const wdNow = run.config?.train.weight_decay ?? null;
  const lrNow = run.config?.train.lr ?? null;
  const [wdText, setWdText] = useState(wdNow === null ? '' : String(wdNow));
  const [lrText, setLrText] = useState(lrNow === null ? '' : String(lrNow));
  const latest = run.checkpoints.length > 0 ? run.checkpoints[run.checkpoints.length - 1] : null;
  // The checkpoint the user picked; until then (or once it is gone) the newest one.
  const [picked, setPicked] = useState<number | null>(null);
  const forkStep = picked !== null && run.checkpoints.includes(picked) ? picked : latest;
  const [confirmRemove, setConfirmRemove] = useState(false);
  const [exportState, setExportState] = useState<string | null>(null);

  // The run's config changed (an applied change): the inputs show its new values.
  useEffect(() => {
    setWdText(wdNow === null ? '' : String(wdNow));
    setLrText(lrNow === null ? '' : String(lrNow));
  }, [wdNow, lrNow]);

  const wd = readNumber(wdText, 0, false);
  const lr = readNumber(lrText, 0, true);
  const wdBad = run.config !== null && wd === null;
  const lrBad = run.config !== null && lr === null;
  const changes: Override[] = [];
  if (wd !== null && wd !== wdNow) changes.push({ key: 'train.weight_decay', value: wd });
  if (lr !== null && lr !== lrNow) changes.push({ key: 'train.lr', value: lr });
  const live = run.state === 'running' || run.state === 'paused';
  const trainable = run.config !== null;
  const canReset = trainable && run.state !== 'new' && run.state !== 'imported';
  const canFork = trainable && run.checkpoints.length > 0 && forkStep !== null;
  const changeText = changes
    .map((c) => `${c.key.replace('train.', '')} ${formatHyper(c.value as number)}`)
    .join(', ');

  const exportZip = async () => {
    setExportState('preparing the zip…');
    try {
      const blob = await actions.exportZip(run.id);
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `${run.id}.zip`;
      document.body.append(a);
      a.click();
      a.remove();
      // Give the download a moment to take the blob before it is released.
      window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setExportState(`saved ${run.id}.zip`);
    } catch (error) {
      setExportState(`export failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  return (
    <section
      className="panel run-controls"
      aria-labelledby={`${uid}-title`}
      data-testid="run-controls"
      data-run={run.id}
    >
      <h2 id={`${uid}-title`}>
        <span className="swatch" style={{ background: run.color }} aria-hidden="true" /> {run.label}{' '}
        <LabStateBadge state={run.state} />
      </h2>
      <p className="muted small">
        <code>{run.id}</code>, step {formatStep(run.step)}
        {run.kernels && (
          <>
            {' '}
            · <span data-testid="run-kernels">{run.kernels}</span>
          </>
        )}
      </p>
      <p className="run-message" aria-live="polite" data-testid="run-message">
        {run.message}
      </p>

      <div className="button-row">
        {run.state === 'new' && (
          <button
            type="button"
            className="primary"
            data-testid="run-start"
            onClick={() => actions.start(run.id)}
          >
            Start
          </button>
        )}
        {run.state === 'running' && (
          <button type="button" data-testid="run-pause" onClick={() => actions.pause(run.id)}>
            Pause
          </button>
        )}
        {(run.state === 'paused' || (run.state === 'stopped' && run.checkpoints.length > 0)) && (
          <button
            type="button"
            className="primary"
            data-testid="run-resume"
            onClick={() => actions.resume(run.id)}
          >
            Resume
          </button>
        )}
        {canReset && (
          <button
            type="button"
            data-testid="run-reset"
            title="train again from step 0 with the same config (its curves are discarded)"
            onClick={() => actions.reset(run.id)}
          >
            Reset
          </button>
        )}
      </div>

      {trainable && (
        <fieldset className="cfg-section">
          <legend>Change from now on</legend>
          <div className="inline-fields">
            <div className="cfg-field">
              <label htmlFor={`${uid}-wd`}>weight decay</label>
              <input
                id={`${uid}-wd`}
                type="number"
                min={0}
                step="any"
                data-testid="change-wd"
                value={wdText}
                aria-invalid={wdBad || undefined}
                onChange={(e) => setWdText(e.target.value)}
              />
            </div>
            <div className="cfg-field">
              <label htmlFor={`${uid}-lr`}>learning rate</label>
              <input
                id={`${uid}-lr`}
                type="number"
                min={0}
                step="any"
                data-testid="change-lr"
                value={lrText}
                aria-invalid={lrBad || undefined}
                onChange={(e) => setLrText(e.target.value)}
              />
            </div>
            <button
              type="button"
              data-testid="run-apply-change"
              disabled={!live || changes.length === 0 || wdBad || lrBad}
              onClick={() => actions.change(run.id, changes)}
            >
              Apply
            </button>
          </div>
          <p className="muted small" data-testid="change-help">
            {wdBad || lrBad
              ? 'weight decay must be a number ≥ 0 and the learning rate a number > 0'
              : !live
                ? 'Applies while the run trains or is paused; fork from a checkpoint to change a finished run.'
                : changes.length === 0
                  ? `now: weight decay ${formatHyper(wdNow)}, learning rate ${formatHyper(lrNow)}`
                  : `from step ${formatStep(run.step)} on: ${changeText} (recorded in the run's lineage)`}
          </p>
        </fieldset>
      )}

      {trainable && run.checkpoints.length > 0 && (
        <fieldset className="cfg-section">
          <legend>Fork from a checkpoint</legend>
          <div className="inline-fields">
            <div className="cfg-field">
              <label htmlFor={`${uid}-fork`}>checkpoint</label>
              <select
                id={`${uid}-fork`}
                data-testid="fork-step"
                value={forkStep ?? ''}
                onChange={(e) => setPicked(Number(e.target.value))}
              >
                {run.checkpoints.map((s) => (
                  <option key={s} value={s}>
                    step {formatStep(s)}
                  </option>
                ))}
              </select>
            </div>
            <button
              type="button"
              data-testid="run-fork"
              disabled={!canFork || wdBad || lrBad}
              onClick={() => {
                if (forkStep !== null) actions.fork(run.id, forkStep, changes);
              }}
            >
              Fork
            </button>
          </div>
          <p className="muted small">
            A new run continues from step {formatStep(forkStep)}
            {changes.length > 0 ? ` with ${changeText} (the values above)` : ' with the same settings'}.
          </p>
        </fieldset>
      )}

      <div className="button-row">
        <button type="button" data-testid="run-export" onClick={() => void exportZip()}>
          Export zip
        </button>
        {!confirmRemove ? (
          <button
            type="button"
            className="danger"
            data-testid="run-remove"
            onClick={() => setConfirmRemove(true)}
          >
            Remove…
          </button>
        ) : (
          <fieldset className="confirm">
            <legend className="visually-hidden">Remove {run.label}?</legend>
            <span>Remove {run.label} and its curves?</span>
            <button
              type="button"
              className="danger"
              data-testid="run-remove-confirm"
              // The question replaced the button: the focus goes to the answer.
              // biome-ignore lint/a11y/noAutofocus: keeps the keyboard user where the button was
              autoFocus
              onClick={() => actions.remove(run.id)}
            >
              Yes, remove
            </button>
            <button type="button" data-testid="run-remove-cancel" onClick={() => setConfirmRemove(false)}>
              Keep it
            </button>
          </fieldset>
        )}
      </div>
      {exportState !== null && (
        <p className="muted small" aria-live="polite" data-testid="run-export-state">
          {exportState}
        </p>
      )}
    </section>
  );
}
