/**
 * Which column holds which metric. Names are split into lower-case words ("train/acc", "trainAcc",
 * "run-7 - val/accuracy" all work; W&B panel exports' "<run> - " prefix and __MIN/__MAX companions
 * are handled) and matched by vocabulary:
 * - train_acc: a train word and an accuracy word, no held-out word; else (Keras) a bare "accuracy";
 * - test_acc: a held-out word (test, val, valid, validation, eval, dev, holdout) and an accuracy word;
 * - train_loss / test_loss: the same with a loss word;
 * - weight_norm: a "norm" word with no gradient word (weight_norm, param_norm, ‖θ‖...);
 * - step: the first of trainer/global_step, global_step, step, steps, iteration(s), iter, it, _step, epoch(s).
 * Among several candidates the one with the fewest extra words wins, then the one with the most
 * numbers (a curve rather than a single final value); the others are listed in an issue.
 * Flags (--test-acc COL ...) override; an unknown column is a UsageError listing the columns that exist.
 */
import { UsageError } from '../util/errors.ts';
import { finiteCount, type LogTable } from './series.ts';
import { type ColumnsUsed, type DataIssue, type MetricRole, ROLES, type Role } from './types.ts';

export type ColumnOverrides = Partial<Record<Role, string>>;

/** The CLI flag of each role, used in messages. */
export const ROLE_FLAGS: Record<Role, string> = {
  step: '--step',
  train_acc: '--train-acc',
  test_acc: '--test-acc',
  train_loss: '--train-loss',
  test_loss: '--test-loss',
  weight_norm: '--weight-norm',
};

export const TRAIN = new Set(['train', 'training', 'trn']);
export const HELD_OUT = new Set([
  'test',
  'val',
  'valid',
  'validation',
  'eval',
  'evaluation',
  'dev',
  'holdout',
  'heldout',
]);
export const ACCURACY = new Set(['acc', 'accuracy', 'top1', 'acc1']);
export const LOSS = new Set(['loss', 'nll', 'xent', 'ce', 'crossentropy']);
const GRADIENT = new Set(['grad', 'grads', 'gradient', 'gradients', 'update']);
const STEP_NAMES = [
  'trainer/global_step',
  'global_step',
  'step',
  'steps',
  'iteration',
  'iterations',
  'iter',
  'it',
  '_step',
  'epoch',
  'epochs',
];

/** Lower-case words of a column name, after dropping a W&B "<run> - " prefix. */
export function nameWords(column: string): string[] {
  const bare = column.includes(' - ') ? column.slice(column.lastIndexOf(' - ') + 3) : column;
  return bare
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

const bareName = (column: string) =>
  (column.includes(' - ') ? column.slice(column.lastIndexOf(' - ') + 3) : column).toLowerCase();

/** W&B exports add "<metric>__MIN" / "__MAX" columns next to each metric: never a metric themselves. */
const isCompanion = (column: string) => /__(min|max)$/i.test(column);

/** Words of `column` that say nothing about `role`; null when the column is not a candidate for it. */
function extraWords(column: string, role: MetricRole, strictTrain: boolean): number | null {
  if (isCompanion(column)) return null;
  const words = nameWords(column);
  const has = (set: Set<string>) => words.some((w) => set.has(w));
  const count = (...sets: Set<string>[]) => words.filter((w) => !sets.some((s) => s.has(w))).length;
  switch (role) {
    case 'train_acc':
    case 'train_loss': {
      const kind = role === 'train_acc' ? ACCURACY : LOSS;
      if (!has(kind) || has(HELD_OUT)) return null;
      if (role === 'train_acc' && has(LOSS)) return null;
      if (strictTrain && !has(TRAIN)) return null;
      return count(TRAIN, kind);
    }
    case 'test_acc':
    case 'test_loss': {
      const kind = role === 'test_acc' ? ACCURACY : LOSS;
      if (!has(kind) || !has(HELD_OUT)) return null;
      if (role === 'test_acc' && has(LOSS)) return null;
      return count(HELD_OUT, kind);
    }
    case 'weight_norm': {
      if (!words.includes('norm') || has(GRADIENT)) return null;
      return count(
        new Set(['norm', 'weight', 'weights', 'param', 'params', 'parameter', 'parameters', 'w', 'l2']),
      );
    }
  }
}

function pickMetric(
  table: LogTable,
  role: MetricRole,
  taken: Set<string>,
): { column: string | null; others: string[] } {
  const rank = (strictTrain: boolean) =>
    table.columns
      .filter((c) => !taken.has(c))
      .map((column, order) => ({ column, order, extra: extraWords(column, role, strictTrain) }))
      .filter((c): c is { column: string; order: number; extra: number } => c.extra !== null)
      .map((c) => ({ ...c, numbers: finiteCount(table.rows, c.column) }))
      .filter((c) => c.numbers > 0)
      .sort((a, b) => a.extra - b.extra || b.numbers - a.numbers || a.order - b.order);
  // "accuracy" alone is Keras's training accuracy, but only when no column says "train".
  let ranked = rank(true);
  if (ranked.length === 0 && (role === 'train_acc' || role === 'train_loss')) ranked = rank(false);
  return { column: ranked[0]?.column ?? null, others: ranked.slice(1).map((c) => c.column) };
}

export function pickStep(table: LogTable): string | null {
  for (const name of STEP_NAMES) {
    const found = table.columns.find((c) => !isCompanion(c) && bareName(c) === name);
    if (found && finiteCount(table.rows, found) > 0) return found;
  }
  return null;
}

/**
 * The step column alone (capabilities.ts): TensorBoard's event step, a groklab run's, the override,
 * else the first of STEP_NAMES. UsageError when the override names no column or none is found.
 */
export function resolveStepColumn(table: LogTable, override: string | undefined, where: string): string {
  const available = table.columns.join(', ') || '(none)';
  if (override !== undefined) {
    if (table.intrinsicStep !== undefined) {
      throw new UsageError({
        field: ROLE_FLAGS.step,
        message: `${where} is a TensorBoard log: its x axis is the event step, there is no step column to choose`,
      });
    }
    if (!table.columns.includes(override)) {
      throw new UsageError({
        field: ROLE_FLAGS.step,
        message: `no column "${override}" in ${where}; columns: ${available}`,
      });
    }
    return override;
  }
  const step = table.intrinsicStep ?? table.knownColumns?.step ?? pickStep(table);
  if (step === null || step === undefined) {
    throw new UsageError({
      field: ROLE_FLAGS.step,
      message: `no step column recognized in ${where}; columns: ${available}; name one with ${ROLE_FLAGS.step}`,
    });
  }
  return step;
}

/**
 * Chooses a column for every role. Throws UsageError for an override naming no column, and when no
 * step, train accuracy or test accuracy column can be found (the message lists the columns).
 */
export function resolveColumns(
  table: LogTable,
  overrides: ColumnOverrides,
  where: string,
): { columns: ColumnsUsed; issues: DataIssue[] } {
  const available = table.columns.join(', ') || '(none)';
  const problems: Array<{ field: string; message: string }> = [];
  for (const [role, column] of Object.entries(overrides) as Array<[Role, string | undefined]>) {
    if (column === undefined) continue;
    if (role === 'step' && table.intrinsicStep !== undefined) {
      problems.push({
        field: ROLE_FLAGS.step,
        message: `${where} is a TensorBoard log: its x axis is the event step, there is no step column to choose`,
      });
    } else if (!table.columns.includes(column)) {
      problems.push({
        field: ROLE_FLAGS[role],
        message: `no column "${column}" in ${where}; columns: ${available}`,
      });
    }
  }
  if (problems.length > 0) throw new UsageError(problems);

  const issues: DataIssue[] = [];
  if (table.knownColumns) {
    const known = { ...table.knownColumns, ...overrides };
    const columns = Object.fromEntries(ROLES.map((role) => [role, known[role] ?? null])) as ColumnsUsed;
    return { columns, issues };
  }
  const columns: ColumnsUsed = {
    step: table.intrinsicStep ?? overrides.step ?? pickStep(table),
    train_acc: null,
    test_acc: null,
    train_loss: null,
    test_loss: null,
    weight_norm: null,
  };
  const taken = new Set<string>(Object.values(overrides).filter((c): c is string => c !== undefined));
  if (columns.step) taken.add(columns.step);
  for (const role of ['test_acc', 'train_acc', 'test_loss', 'train_loss', 'weight_norm'] as const) {
    const given = overrides[role];
    if (given !== undefined) {
      columns[role] = given;
      continue;
    }
    const { column, others } = pickMetric(table, role, taken);
    columns[role] = column;
    if (column) taken.add(column);
    if (column && others.length > 0) {
      issues.push({
        kind: 'ambiguous-column',
        severity: 'info',
        metric: role,
        message: `${role}: using "${column}"; also matched ${others.map((o) => `"${o}"`).join(', ')} (choose with ${ROLE_FLAGS[role]})`,
      });
    }
  }
  for (const role of ['step', 'train_acc', 'test_acc'] as const) {
    if (columns[role] === null) {
      problems.push({
        field: ROLE_FLAGS[role],
        message: `no ${role === 'step' ? 'step' : role.replace('_', ' ')} column recognized in ${where}; columns: ${available}; name one with ${ROLE_FLAGS[role]}`,
      });
    }
  }
  if (problems.length > 0) throw new UsageError(problems);
  return { columns, issues };
}
