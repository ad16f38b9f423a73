/**
 * Pick a preset and change its fields. Every change is an override relative to the preset (what
 * `groklab train --set` takes), so the command line shown below trains the same run on the CLI.
 */
import {
  type FormEvent,
  type ReactElement,
  type ReactNode,
  useEffect,
  useId,
  useMemo,
  useState,
} from 'react';
import type { Override } from '../../../../src/config/overrides.ts';
import { PRESETS } from '../../../../src/config/presets.ts';
import type { ConfigProblem } from '../model.ts';
import {
  type ConfigField,
  cliLine,
  configFields,
  effectiveConfig,
  formatSetValue,
  knownKeys,
  parseSetItem,
  setOverride,
} from './config-fields.ts';

export interface ConfigEditorProps {
  preset: string;
  overrides: Override[];
  onChange(preset: string, overrides: Override[]): void;
  problems: ConfigProblem[];
  onTrain(): void;
  busy?: boolean;
}

const SECTION_TITLES: Record<string, string> = {
  run: 'Run',
  task: 'Task',
  model: 'Model',
  train: 'Training',
  eval: 'Evaluation',
};

/** The element id of a field's input (problems in the summary move the focus there). */
export const fieldId = (key: string) => `cfg-${key.replace(/[^A-Za-z0-9_-]/g, '-')}`;

function FieldInput(props: {
  field: ConfigField;
  changed: boolean;
  problems: ConfigProblem[];
  onSet(value: unknown): void;
}) {
  const { field, problems } = props;
  const id = fieldId(field.key);
  const errorId = `${id}-problem`;
  // What the user is typing, until the field loses focus (a number input in the middle of "1e-" has no value yet).
  const [draft, setDraft] = useState<string | null>(null);
  const invalid = problems.length > 0;
  const common = {
    id,
    'data-testid': `config-field-${field.key}`,
    'aria-invalid': invalid || undefined,
    'aria-describedby': invalid ? errorId : undefined,
  };
  let input: ReactElement;
  const kind = field.kind;
  if (kind.type === 'boolean') {
    input = (
      <input
        {...common}
        type="checkbox"
        checked={field.value === true}
        onChange={(e) => props.onSet(e.target.checked)}
      />
    );
  } else if (kind.type === 'enum') {
    const value = typeof field.value === 'string' ? field.value : '';
    const options = kind.options.includes(value) || value === '' ? kind.options : [value, ...kind.options];
    input = (
      <select {...common} value={value} onChange={(e) => props.onSet(e.target.value)}>
        {value === '' && <option value="">(unset)</option>}
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  } else if (kind.type === 'number' && (typeof field.value === 'number' || field.value === null)) {
    const shown = field.value === null ? '' : String(field.value);
    input = (
      <input
        {...common}
        type="number"
        step={kind.integer ? 1 : 'any'}
        inputMode={kind.integer ? 'numeric' : 'decimal'}
        placeholder={kind.nullable ? 'null (off)' : undefined}
        value={draft ?? shown}
        onChange={(e) => {
          const text = e.target.value;
          setDraft(text);
          if (text.trim() === '') {
            if (kind.nullable) props.onSet(null);
            return;
          }
          const n = Number(text);
          if (Number.isFinite(n)) props.onSet(n);
        }}
        onBlur={() => setDraft(null)}
      />
    );
  } else {
    const shown = field.value === undefined ? '' : formatSetValue(field.value);
    input = (
      <input
        {...common}
        type="text"
        spellCheck={false}
        value={draft ?? shown}
        onChange={(e) => {
          const text = e.target.value;
          setDraft(text);
          const parsed = parseSetItem(`${field.key}=${text}`);
          if (!('error' in parsed)) props.onSet(parsed.value);
        }}
        onBlur={() => setDraft(null)}
      />
    );
  }
  const name = field.key.includes('.') ? field.key.slice(field.key.indexOf('.') + 1) : field.key;
  return (
    <div className={`cfg-field${props.changed ? ' changed' : ''}${invalid ? ' invalid' : ''}`}>
      <label htmlFor={id} title={field.key}>
        {name}
        {props.changed && (
          <span className="cfg-changed-mark" title="changed from the preset">
            {' '}
            •<span className="visually-hidden"> (changed)</span>
          </span>
        )}
      </label>
      {input}
      {invalid && (
        <p className="cfg-problem" id={errorId} data-testid="config-field-problem" data-field={field.key}>
          {problems.map((p) => p.message).join('; ')}
        </p>
      )}
    </div>
  );
}

/** Sections open at first: the ones a course changes most. Others open on demand, or when a field in them has a problem. */
const OPEN_SECTIONS = new Set(['task', 'train']);

function FieldSection(props: {
  section: string;
  count: number;
  changed: number;
  mustOpen: boolean;
  children: ReactNode;
}) {
  const [open, setOpen] = useState(OPEN_SECTIONS.has(props.section) || props.changed > 0 || props.mustOpen);
  useEffect(() => {
    if (props.mustOpen) setOpen(true);
  }, [props.mustOpen]);
  return (
    <details
      className="cfg-section"
      open={open}
      onToggle={(e) => setOpen(e.currentTarget.open)}
      data-testid={`config-section-${props.section}`}
    >
      <summary>
        {SECTION_TITLES[props.section] ?? props.section}{' '}
        <span className="muted small">
          {props.count} {props.count === 1 ? 'field' : 'fields'}
          {props.changed > 0 && `, ${props.changed} changed`}
        </span>
      </summary>
      <div className="cfg-grid">{props.children}</div>
    </details>
  );
}

function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  return (
    <>
      <button
        type="button"
        data-testid="config-copy"
        onClick={() => {
          const done = (ok: boolean) => {
            setCopied(ok ? 'yes' : 'no');
            window.setTimeout(() => setCopied(null), 2000);
          };
          if (navigator.clipboard)
            navigator.clipboard.writeText(text).then(
              () => done(true),
              () => done(false),
            );
          else done(false);
        }}
      >
        Copy
      </button>
      <span className="muted small" aria-live="polite">
        {copied === 'yes' ? 'copied' : copied === 'no' ? 'copy failed: select the line and copy it' : ''}
      </span>
    </>
  );
}

export function ConfigEditor(props: ConfigEditorProps) {
  const { preset, overrides, problems } = props;
  const uid = useId();
  const config = useMemo(() => effectiveConfig(preset, overrides), [preset, overrides]);
  const fields = useMemo(() => configFields(config), [config]);
  const suggestions = useMemo(() => knownKeys(config), [config]);
  const [addText, setAddText] = useState('');
  const [addError, setAddError] = useState<string | null>(null);

  const overridden = new Set(overrides.map((o) => o.key));
  const fieldKeys = new Set(fields.map((f) => f.key));
  const problemsOf = (key: string) => problems.filter((p) => p.field === key);
  // Problems with no field on show (an unknown key, a whole section): shown beside the overrides.
  const loose = problems.filter((p) => !fieldKeys.has(p.field));
  const sections = [...new Set(fields.map((f) => f.section))];
  const set = (key: string, value: unknown) =>
    props.onChange(preset, setOverride(preset, overrides, key, value));

  const add = (e: FormEvent) => {
    e.preventDefault();
    const parsed = parseSetItem(addText);
    if ('error' in parsed) {
      setAddError(parsed.error);
      return;
    }
    setAddError(null);
    setAddText('');
    props.onChange(preset, setOverride(preset, overrides, parsed.key, parsed.value));
  };

  const focusField = (key: string) => {
    const el = document.getElementById(fieldKeys.has(key) ? fieldId(key) : `${uid}-add`);
    el?.focus();
  };

  const line = cliLine(preset, overrides);
  const description = PRESETS[preset]?.description;
  return (
    <section className="panel config-editor" aria-labelledby={`${uid}-title`} data-testid="config-editor">
      <h2 id={`${uid}-title`}>Configure a run</h2>
      <div className="cfg-preset">
        <label htmlFor={`${uid}-preset`}>Preset</label>
        <select
          id={`${uid}-preset`}
          data-testid="config-preset"
          value={preset}
          aria-describedby={`${uid}-preset-desc`}
          // A new preset starts clean: overrides of the old one rarely make sense for another task.
          onChange={(e) => props.onChange(e.target.value, [])}
        >
          {Object.keys(PRESETS).map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
        <p id={`${uid}-preset-desc`} className="muted small cfg-description">
          {description ?? `unknown preset ${preset}`}
        </p>
      </div>

      {problems.length > 0 && (
        <div className="cfg-summary" role="alert" data-testid="config-problems">
          <p>
            <b>
              {problems.length === 1 ? '1 problem' : `${problems.length} problems`} to fix before training:
            </b>
          </p>
          <ul>
            {problems.map((p) => (
              <li key={`${p.field}:${p.message}`} data-testid="config-problem" data-field={p.field}>
                <button type="button" className="link-button" onClick={() => focusField(p.field)}>
                  {p.field}
                </button>
                : {p.message}
              </li>
            ))}
          </ul>
        </div>
      )}

      <div className="cfg-sections">
        {sections.map((section) => {
          const inSection = fields.filter((f) => f.section === section);
          const changed = inSection.filter((f) => overridden.has(f.key)).length;
          const troubled = inSection.some((f) => problemsOf(f.key).length > 0);
          return (
            <FieldSection
              // Keyed by preset: a new preset starts with the usual sections open.
              key={`${preset}:${section}`}
              section={section}
              count={inSection.length}
              changed={changed}
              mustOpen={troubled}
            >
              {inSection.map((f) => (
                <FieldInput
                  // Keyed by preset too: a new preset drops any half-typed draft.
                  key={`${preset}:${f.key}`}
                  field={f}
                  changed={overridden.has(f.key)}
                  problems={problemsOf(f.key)}
                  onSet={(v) => set(f.key, v)}
                />
              ))}
            </FieldSection>
          );
        })}
      </div>

      <fieldset className="cfg-section">
        <legend>Changes from the preset</legend>
        {overrides.length === 0 ? (
          <p className="muted small">none: the preset as it is</p>
        ) : (
          <ul className="cfg-overrides">
            {overrides.map((o) => (
              <li key={o.key} data-testid={`override-${o.key}`}>
                <code>
                  {o.key}={formatSetValue(o.value)}
                </code>
                <button
                  type="button"
                  className="icon-button"
                  data-testid={`override-remove-${o.key}`}
                  aria-label={`Remove the change ${o.key}`}
                  title="back to the preset's value"
                  onClick={() =>
                    props.onChange(
                      preset,
                      overrides.filter((x) => x.key !== o.key),
                    )
                  }
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
        {loose.length > 0 && (
          <ul className="cfg-problem-list">
            {loose.map((p) => (
              <li
                key={`${p.field}:${p.message}`}
                className="cfg-problem"
                data-testid="config-field-problem"
                data-field={p.field}
              >
                {p.field}: {p.message}
              </li>
            ))}
          </ul>
        )}
        <form className="cfg-add" onSubmit={add}>
          <label htmlFor={`${uid}-add`}>Set any field</label>
          <input
            id={`${uid}-add`}
            data-testid="add-field-input"
            type="text"
            spellCheck={false}
            placeholder="train.loss_precision=float64"
            list={`${uid}-keys`}
            value={addText}
            aria-invalid={addError !== null || undefined}
            aria-describedby={addError !== null ? `${uid}-add-error` : `${uid}-add-help`}
            onChange={(e) => {
              setAddText(e.target.value);
              setAddError(null);
            }}
          />
          <datalist id={`${uid}-keys`}>
            {suggestions.map((k) => (
              <option key={k} value={`${k}=`} />
            ))}
          </datalist>
          <button type="submit" data-testid="add-field-button">
            Set
          </button>
          {addError !== null ? (
            <p className="cfg-problem" id={`${uid}-add-error`} data-testid="add-field-error">
              {addError}
            </p>
          ) : (
            <p className="muted small" id={`${uid}-add-help`}>
              key=value as <code>--set</code> takes it; values are JSON when they parse as JSON.
            </p>
          )}
        </form>
      </fieldset>

      <div className="cfg-cli">
        <span className="muted small" id={`${uid}-cli`}>
          The same run on the command line:
        </span>
        <div className="cfg-cli-row">
          <code data-testid="config-cli">{line}</code>
          <CopyButton text={line} />
        </div>
      </div>

      <div className="cfg-train">
        <button
          type="button"
          className="primary"
          data-testid="train-button"
          disabled={problems.length > 0 || props.busy === true}
          aria-describedby={problems.length > 0 ? `${uid}-train-why` : undefined}
          onClick={() => props.onTrain()}
        >
          {props.busy ? 'Starting…' : 'Train'}
        </button>
        {problems.length > 0 && (
          <span className="muted small" id={`${uid}-train-why`}>
            fix the problems above first
          </span>
        )}
      </div>
    </section>
  );
}
