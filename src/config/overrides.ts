import { UsageError } from '../util/errors.ts';

/** Short names for the keys people change most. */
export const KEY_ALIASES: Record<string, string> = {
  lr: 'train.lr',
  wd: 'train.weight_decay',
  steps: 'train.steps',
  batch: 'train.batch_size',
  optimizer: 'train.optimizer',
  p: 'task.p',
  op: 'task.op',
  frac: 'task.train_fraction',
  alpha: 'model.init_scale',
  norm: 'train.fixed_norm',
};

export interface Override {
  key: string;
  value: unknown;
}

/**
 * Parses `key=value` strings. Values are JSON when they parse as JSON (numbers, true/false, null,
 * arrays), otherwise plain strings, so `--set task.op=sub` and `--set train.lr=3e-4` both work.
 */
export function parseOverrides(items: readonly string[]): Override[] {
  const problems = [];
  const overrides: Override[] = [];
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) {
      problems.push({
        field: item || '(empty)',
        message: '--set needs key=value, e.g. --set train.weight_decay=0.3',
      });
      continue;
    }
    const rawKey = item.slice(0, eq).trim();
    const key = KEY_ALIASES[rawKey] ?? rawKey;
    overrides.push({ key, value: parseValue(item.slice(eq + 1).trim()) });
  }
  if (problems.length > 0) throw new UsageError(problems);
  return overrides;
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Applies overrides to a copy of a config object. A key must name an existing field or a new
 * field inside an existing section (schema validation afterwards rejects unknown ones and lists
 * what is allowed); a path through a non-object is an error.
 */
export function applyOverrides<T extends object>(config: T, overrides: readonly Override[]): T {
  const copy = structuredClone(config) as Record<string, unknown>;
  const problems = [];
  for (const { key, value } of overrides) {
    const parts = key.split('.');
    let node: Record<string, unknown> = copy;
    let ok = true;
    for (const [depth, part] of parts.slice(0, -1).entries()) {
      const next = node[part];
      // A list (a mixture's components) is entered by index: task.components.1.train_fraction.
      if (Array.isArray(next)) {
        const index = parts[depth + 1];
        if (!/^\d+$/.test(index) || Number(index) >= next.length) {
          problems.push({
            field: key,
            message: `${part} is a list of ${next.length}: name an entry by its index, 0 to ${next.length - 1} (e.g. ${parts.slice(0, depth + 1).join('.')}.0)`,
          });
          ok = false;
          break;
        }
        node = next as unknown as Record<string, unknown>;
        continue;
      }
      if (typeof next !== 'object' || next === null) {
        problems.push({
          field: key,
          message: `${part} is not a section; sections are ${sectionNames(copy)}`,
        });
        ok = false;
        break;
      }
      node = next as Record<string, unknown>;
    }
    if (ok) node[parts[parts.length - 1]] = value;
  }
  if (problems.length > 0) throw new UsageError(problems);
  return copy as T;
}

function sectionNames(config: Record<string, unknown>): string {
  return Object.keys(config)
    .filter((k) => typeof config[k] === 'object' && config[k] !== null)
    .join(', ');
}
