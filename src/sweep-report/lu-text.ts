/** The LU reading (lu.ts) as text: a section of report.md and lines for the terminal. */
import { alignColumns, markdownTable } from '../util/text-table.ts';
import { fmt } from './claim-check.ts';
import { FIXED_NORM_AXIS, type LuCurve, type LuResult } from './lu.ts';

export type { LuResult } from './lu.ts';

const acc = (x: number | null) => (x === null ? '—' : x.toFixed(3));

/** One row per norm (and setting of the other axes): the medians over seeds. */
function table(lu: LuResult): { header: string[]; body: string[][] } {
  const grouped = lu.group_keys.length > 0;
  const header = [
    ...(grouped ? [lu.group_keys.join(', ')] : []),
    'fixed_norm',
    'runs',
    'train loss',
    'test loss',
    'train acc',
    'test acc',
    'zone',
  ];
  const inZone = (c: LuCurve, norm: number) => (c.goldilocks?.norms.includes(norm) ? '◀' : '');
  const body = lu.curves.flatMap((c) =>
    c.points.map((p) => [
      ...(grouped ? [c.group] : []),
      fmt(p.norm),
      String(p.runs),
      fmt(p.train_loss),
      fmt(p.test_loss),
      acc(p.train_acc),
      acc(p.test_acc),
      inZone(c, p.norm),
    ]),
  );
  return { header, body };
}

const WHAT = `Final values of each run (its last evaluation), median over seeds, against \`${FIXED_NORM_AXIS}\`.`;

export function luMarkdown(lu: LuResult): string[] {
  const t = table(lu);
  return [
    '## LU: loss against the fixed weight norm (Omnigrok)',
    '',
    `${WHAT}${lu.left_out ? ` ${lu.left_out}.` : ''}`,
    '',
    ...lu.summary.map((s) => `- ${s}`),
    '',
    markdownTable(t.header, t.body),
  ];
}

export function luTerminal(lu: LuResult): string[] {
  const t = table(lu);
  return [
    `LU, final values against ${FIXED_NORM_AXIS} (median over seeds):`,
    `${alignColumns(t.header, t.body).join('\n')}\n`,
    ...lu.summary,
    '',
  ];
}
