/**
 * The editable fields of a run config, read from the zod schema itself (src/config/schema.ts), so
 * the editor offers exactly what `groklab train --set` accepts: enum fields list their values,
 * numbers and booleans get matching inputs, anything else is a text field parsed like `--set`.
 */
import { z } from 'zod';
import { applyOverrides, type Override, parseOverrides } from '../../../../src/config/overrides.ts';
import { PRESETS } from '../../../../src/config/presets.ts';
import { runConfigSchema } from '../../../../src/config/schema.ts';

export type FieldKind =
  | { type: 'number'; integer: boolean; nullable: boolean }
  | { type: 'boolean' }
  | { type: 'enum'; options: string[] }
  /** Unions and anything else: the text is parsed as `--set` parses a value (JSON, else a string). */
  | { type: 'text' };

export interface ConfigField {
  /** Dotted path, e.g. train.weight_decay. */
  key: string;
  /** The top-level section (seed and split_seed are in 'run'). */
  section: string;
  value: unknown;
  kind: FieldKind;
}

/** Top-level keys that are not set by hand. */
const NOT_EDITABLE = new Set(['preset', 'groklab_version', 'lineage']);

type Record_ = Record<string, unknown>;

const isRecord = (v: unknown): v is Record_ => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Strips optional / nullable / default wrappers; `nullable` says whether null was allowed on the way. */
function unwrap(schema: z.ZodType): { inner: z.ZodType; nullable: boolean } {
  let inner = schema;
  let nullable = false;
  for (;;) {
    if (inner instanceof z.ZodOptional) inner = inner.unwrap() as z.ZodType;
    else if (inner instanceof z.ZodNullable) {
      nullable = true;
      inner = inner.unwrap() as z.ZodType;
    } else if (inner instanceof z.ZodDefault) inner = inner.unwrap() as z.ZodType;
    else return { inner, nullable };
  }
}

/** The object schema that applies to `value` (a discriminated union picks the option by `kind`). */
function objectFor(schema: z.ZodType, value: unknown): z.ZodObject | null {
  const { inner } = unwrap(schema);
  if (inner instanceof z.ZodObject) return inner;
  if (inner instanceof z.ZodDiscriminatedUnion) {
    const kind = isRecord(value) ? value.kind : undefined;
    for (const option of inner.options) {
      if (!(option instanceof z.ZodObject)) continue;
      const literal = option.shape.kind;
      if (literal instanceof z.ZodLiteral && literal.values.has(kind as never)) return option;
    }
  }
  return null;
}

/** The schema of the field at `path` in a config shaped like `config`, or null when there is none. */
function schemaAt(config: unknown, path: string[]): z.ZodType | null {
  let schema: z.ZodType = runConfigSchema;
  let value: unknown = config;
  for (const part of path) {
    // A list of objects (a mixture's components) is entered by index, as `--set` does.
    const list = unwrap(schema).inner;
    if (list instanceof z.ZodArray && /^\d+$/.test(part)) {
      schema = list.element as z.ZodType;
      value = Array.isArray(value) ? value[Number(part)] : undefined;
      continue;
    }
    const object = objectFor(schema, value);
    if (!object) return null;
    const next = object.shape[part] as z.ZodType | undefined;
    if (!next) return null;
    schema = next;
    value = isRecord(value) ? value[part] : undefined;
  }
  return schema;
}

function kindOf(schema: z.ZodType | null, key: string): FieldKind {
  if (schema === null) return { type: 'text' };
  const { inner, nullable } = unwrap(schema);
  if (inner instanceof z.ZodEnum) return { type: 'enum', options: inner.options.map(String) };
  // The discriminator of a union (task.kind, model.kind): offer every kind the union allows.
  if (inner instanceof z.ZodLiteral && key.endsWith('.kind')) {
    const parent = schemaAt(null, key.split('.').slice(0, -1));
    const union = parent ? unwrap(parent).inner : null;
    if (union instanceof z.ZodDiscriminatedUnion) {
      const options = union.options.flatMap((o) =>
        o instanceof z.ZodObject && o.shape.kind instanceof z.ZodLiteral
          ? [...o.shape.kind.values].map(String)
          : [],
      );
      return { type: 'enum', options };
    }
    return { type: 'enum', options: [...inner.values].map(String) };
  }
  if (inner instanceof z.ZodBoolean) return { type: 'boolean' };
  if (inner instanceof z.ZodNumber) {
    const integer = inner.format === 'safeint' || inner.format === 'int32' || inner.isInt === true;
    return { type: 'number', integer, nullable };
  }
  return { type: 'text' };
}

/** The config `preset` with `overrides` applied; the preset's own config when they cannot be applied. */
export function effectiveConfig(preset: string, overrides: readonly Override[]): Record_ {
  const base = (PRESETS[preset]?.config ?? {}) as Record_;
  try {
    return applyOverrides(base, overrides);
  } catch {
    return structuredClone(base);
  }
}

/** Every leaf of `config` (objects flattened to dotted keys), with how to edit it. */
export function configFields(config: Record_): ConfigField[] {
  const fields: ConfigField[] = [];
  const walk = (node: Record_, path: string[]) => {
    for (const [name, value] of Object.entries(node)) {
      if (path.length === 0 && NOT_EDITABLE.has(name)) continue;
      const here = [...path, name];
      if (isRecord(value)) {
        walk(value, here);
        continue;
      }
      if (Array.isArray(value) && value.length > 0 && value.every(isRecord)) {
        value.forEach((item, i) => {
          walk(item, [...here, String(i)]);
        });
        continue;
      }
      const key = here.join('.');
      fields.push({
        key,
        section: path.length === 0 ? 'run' : path[0],
        value,
        kind: kindOf(schemaAt(config, here), key),
      });
    }
  };
  walk(config, []);
  return fields;
}

/**
 * Every key the schema allows for a config shaped like `config`, including optional fields it does
 * not set (train.loss_precision, model.bias, ...): suggestions for the "add a field" row.
 */
export function knownKeys(config: Record_): string[] {
  const keys: string[] = [];
  const walk = (schema: z.ZodType, value: unknown, path: string[]) => {
    const object = objectFor(schema, value);
    if (!object) {
      keys.push(path.join('.'));
      return;
    }
    for (const [name, child] of Object.entries(object.shape)) {
      if (path.length === 0 && NOT_EDITABLE.has(name)) continue;
      walk(child as z.ZodType, isRecord(value) ? value[name] : undefined, [...path, name]);
    }
  };
  walk(runConfigSchema, config, []);
  return keys;
}

export function getPath(config: unknown, key: string): unknown {
  let node: unknown = config;
  for (const part of key.split('.')) {
    if (Array.isArray(node) && /^\d+$/.test(part)) node = node[Number(part)];
    else if (isRecord(node)) node = node[part];
    else return undefined;
  }
  return node;
}

export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The overrides after setting `key` to `value`: replaces an existing override of the key, and drops
 * it when the value is the preset's own (overrides stay relative to the preset).
 */
export function setOverride(
  preset: string,
  overrides: readonly Override[],
  key: string,
  value: unknown,
): Override[] {
  const base = PRESETS[preset]?.config;
  const rest = overrides.filter((o) => o.key !== key);
  if (base !== undefined && sameValue(getPath(base, key), value)) return rest;
  const at = overrides.findIndex((o) => o.key === key);
  if (at < 0) return [...rest, { key, value }];
  const next = [...overrides];
  next[at] = { key, value };
  return next;
}

/** One `key=value` as `--set` reads it (aliases resolved); a problem message instead when it is malformed. */
export function parseSetItem(text: string): Override | { error: string } {
  try {
    const [override] = parseOverrides([text.trim()]);
    if (!override || override.key === '') return { error: 'give key=value, e.g. train.weight_decay=0.3' };
    return override;
  } catch (error) {
    return { error: error instanceof Error ? error.message.replace(/^[^:]*: /, '') : String(error) };
  }
}

/** A value as `--set` takes it back: strings plain unless they would read as JSON, the rest as JSON. */
export function formatSetValue(value: unknown): string {
  if (typeof value === 'string') {
    try {
      JSON.parse(value);
      return JSON.stringify(value);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value) ?? 'null';
}

/** Quotes a word for a POSIX shell when it has anything beyond safe characters. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_.,:=+\-/@%]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The CLI command that trains the same config: `groklab train --preset demo --set train.weight_decay=0`. */
export function cliLine(preset: string, overrides: readonly Override[]): string {
  const parts = ['groklab', 'train', '--preset', shellWord(preset)];
  for (const o of overrides) parts.push('--set', shellWord(`${o.key}=${formatSetValue(o.value)}`));
  return parts.join(' ');
}
