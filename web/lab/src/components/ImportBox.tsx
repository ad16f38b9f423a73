/**
 * Bring in a run to look at: a zip the lab exported (or any groklab run folder zipped), or a CSV /
 * JSONL log from elsewhere, read as `groklab detect` reads it. Pick a file or drop it on the box.
 */
import { type DragEvent, useId, useRef, useState } from 'react';
import type { LabActions } from '../model.ts';

export interface ImportBoxProps {
  actions: LabActions;
}

const ACCEPT = '.zip,.csv,.jsonl';

type Outcome =
  | { kind: 'busy'; name: string }
  | { kind: 'ok'; name: string; id: string }
  | { kind: 'error'; text: string };

export function ImportBox({ actions }: ImportBoxProps) {
  const uid = useId();
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  const importFiles = async (files: FileList | null) => {
    if (!files || files.length === 0) return;
    for (const file of Array.from(files)) {
      if (!/\.(zip|csv|jsonl)$/i.test(file.name)) {
        setOutcome({ kind: 'error', text: `${file.name}: not a .zip, .csv or .jsonl file` });
        continue;
      }
      setOutcome({ kind: 'busy', name: file.name });
      try {
        const result = await actions.importFile(file);
        setOutcome(
          'error' in result
            ? { kind: 'error', text: result.error }
            : { kind: 'ok', name: file.name, id: result.id },
        );
      } catch (error) {
        setOutcome({
          kind: 'error',
          text: `${file.name}: ${error instanceof Error ? error.message : String(error)}`,
        });
      }
    }
    // The same file can be chosen again (after fixing it).
    if (input.current) input.current.value = '';
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    void importFiles(e.dataTransfer.files);
  };

  return (
    <section
      className={`panel import-box${over ? ' drag-over' : ''}`}
      aria-labelledby={`${uid}-title`}
      data-testid="import-drop"
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <h2 id={`${uid}-title`}>Import</h2>
      <label htmlFor={`${uid}-file`} className="import-label">
        A lab export (.zip) or a training log (.csv, .jsonl): choose a file or drop it here
      </label>
      <input
        id={`${uid}-file`}
        ref={input}
        type="file"
        accept={ACCEPT}
        multiple
        data-testid="import-input"
        onChange={(e) => void importFiles(e.target.files)}
      />
      <div aria-live="polite">
        {outcome?.kind === 'busy' && <p className="muted small">reading {outcome.name}…</p>}
        {outcome?.kind === 'ok' && (
          <p className="small" data-testid="import-ok">
            imported {outcome.name} as <code>{outcome.id}</code>
          </p>
        )}
      </div>
      {outcome?.kind === 'error' && (
        <p className="cfg-problem" role="alert" data-testid="import-error">
          {outcome.text}
        </p>
      )}
    </section>
  );
}
