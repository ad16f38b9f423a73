/**
 * Grokking hidden in an aggregate: several capabilities (a mixture run's components, a model's
 * per-benchmark accuracies) each jump sharply at their own step, while the aggregate climbs in a way
 * no single sharp transition describes. Read off per-capability results (capabilities.ts) and, where
 * the log has one, the aggregate's detect result:
 * 1. each-jumps-sharply: every accuracy capability jumped (grokked, jumped-early, jumped) and its
 *    10→90% rise took at most a factor e of training time (or the grid cannot tell);
 * 2. at-own-steps: the jumps' midpoints spread over more training time than a jump takes:
 *    ln(latest t50 / earliest t50) > the widest jump's ln(t90/t10);
 * 3. aggregate-not-one-jump: detect on the aggregate does not call it grokked, its one sharp
 *    transition (null when the log has no aggregate);
 * 4. easy-ops-first (modular ops named by their op, as a mixture names its components by default):
 *    x+y and x−y jump before every other op, Power et al.'s (2022) ordering of difficulty, in which
 *    x±y need the least data and the polynomial and division ops more (null without both kinds).
 */
import type { CapabilityResult } from './capabilities.ts';
import type { DetectResult } from './types.ts';

export interface HiddenGrokkingClaim {
  id: 'each-jumps-sharply' | 'at-own-steps' | 'aggregate-not-one-jump' | 'easy-ops-first';
  /** null: cannot be judged from this log. */
  held: boolean | null;
  text: string;
}

export interface HiddenGrokking {
  /** The capabilities in the order of their jumps (t50), those without one last. */
  order: Array<{ name: string; t50: number | null; label: string }>;
  claims: HiddenGrokkingClaim[];
  /** All four claims that could be judged held, and at least the first three were judged. */
  hidden: boolean;
}

const JUMPS = new Set(['grokked', 'jumped-early', 'jumped']);
/** Power et al.'s easiest ops: they generalize from the least data. */
const EASY_OPS = new Set(['add', 'sub']);
/** The other modular ops of Power et al. (and x·y, which is division's twin under y ↦ y⁻¹). */
const HARDER_OPS = new Set(['mul', 'div', 'div_odd', 'x2y2', 'x2xyy2', 'x2xyy2x', 'x3xy', 'x3xy2y']);

const round = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3));

/** The op a capability names as its last path segment (test_acc/add → add), if it is a modular op. */
function opOf(name: string): string | null {
  const last = name.slice(name.lastIndexOf('/') + 1);
  return EASY_OPS.has(last) || HARDER_OPS.has(last) ? last : null;
}

/** The claims over the accuracy capabilities of one log; null when fewer than two are accuracies. */
export function hiddenGrokking(
  results: CapabilityResult[],
  aggregate: DetectResult | null,
): HiddenGrokking | null {
  const accuracies = results.filter((r) => r.kind === 'accuracy');
  if (accuracies.length < 2) return null;
  const t50 = (r: CapabilityResult) => (JUMPS.has(r.label) && r.change ? r.change.t50 : null);
  const order = accuracies
    .map((r) => ({ name: r.name, t50: t50(r), label: r.label }))
    .sort((a, b) => (a.t50 ?? Number.POSITIVE_INFINITY) - (b.t50 ?? Number.POSITIVE_INFINITY));
  const claims: HiddenGrokkingClaim[] = [];

  const notJumping = accuracies.filter((r) => !JUMPS.has(r.label) || !r.change?.sharpness.sharp);
  claims.push({
    id: 'each-jumps-sharply',
    held: notJumping.length === 0,
    text:
      notJumping.length === 0
        ? `every capability jumps sharply: ${order.map((o) => `${o.name} at ${round(o.t50 ?? 0)}`).join(', ')} (t50)`
        : `not every capability jumps sharply: ${notJumping.map((r) => `${r.name} is ${r.label}${JUMPS.has(r.label) ? ' (not sharp)' : ''}`).join(', ')}`,
  });

  const jumped = accuracies.filter((r) => t50(r) !== null && (t50(r) as number) > 0);
  const widths = jumped.map((r) => r.change?.sharpness.width_log ?? 0);
  const widest = widths.length > 0 ? Math.max(...widths) : null;
  if (jumped.length >= 2 && widest !== null) {
    const steps = jumped.map((r) => t50(r) as number);
    const spread = Math.log(Math.max(...steps) / Math.min(...steps));
    claims.push({
      id: 'at-own-steps',
      held: spread > widest,
      text: `the jumps' midpoints span ln(${round(Math.max(...steps))}/${round(Math.min(...steps))}) = ${spread.toFixed(2)} of log training time; the widest jump takes ${widest.toFixed(2)}: ${spread > widest ? 'each at its own step' : 'they overlap: one transition, not several'}`,
    });
  } else {
    claims.push({
      id: 'at-own-steps',
      held: null,
      text: 'fewer than two capabilities jumped: no steps to compare',
    });
  }

  if (aggregate === null) {
    claims.push({
      id: 'aggregate-not-one-jump',
      held: null,
      text: 'the log has no aggregate accuracy to compare',
    });
  } else {
    const aggregateWidth = aggregate.transition?.width_log ?? null;
    // detect's own rule: 'grokked' is one sharp jump (a wider rise is 'gradual', steps make a plateau that climbs).
    const held = aggregate.verdict.label !== 'grokked';
    claims.push({
      id: 'aggregate-not-one-jump',
      held,
      text: `detect on the aggregate says ${aggregate.verdict.label}${aggregateWidth !== null ? ` (its rise ln(t90/t10) = ${aggregateWidth.toFixed(2)})` : ''}: ${held ? 'not one sharp transition' : 'one sharp transition'}`,
    });
  }

  const easy = accuracies.filter((r) => EASY_OPS.has(opOf(r.name) ?? ''));
  const hard = accuracies.filter((r) => HARDER_OPS.has(opOf(r.name) ?? ''));
  const anyJumped = [...easy, ...hard].some((r) => t50(r) !== null);
  if (easy.length === 0 || hard.length === 0 || !anyJumped) {
    claims.push({
      id: 'easy-ops-first',
      held: null,
      text: anyJumped
        ? 'needs x+y or x−y and another modular op, named by their op (test_acc/add, …)'
        : 'none of the modular ops jumped: no order to compare',
    });
  } else {
    const last = (rs: CapabilityResult[]) => Math.max(...rs.map((r) => t50(r) ?? Number.POSITIVE_INFINITY));
    const first = (rs: CapabilityResult[]) => Math.min(...rs.map((r) => t50(r) ?? Number.POSITIVE_INFINITY));
    const held = last(easy) < first(hard);
    const name = (rs: CapabilityResult[]) => rs.map((r) => opOf(r.name)).join(', ');
    claims.push({
      id: 'easy-ops-first',
      held,
      text: `${name(easy)} ${held ? 'jump before' : 'do not all jump before'} ${name(hard)}: ${held ? 'as' : 'against'} Power et al.'s ordering of difficulty`,
    });
  }
  const judged = claims.slice(0, 3).every((c) => c.held !== null);
  return { order, claims, hidden: judged && claims.every((c) => c.held !== false) };
}

/** The claims as text lines, for `detect --capabilities`. */
export function formatHiddenGrokking(h: HiddenGrokking): string[] {
  const mark = (held: boolean | null) => (held === null ? '–' : held ? '✓' : '✗');
  return [
    `hidden grokking: ${h.hidden ? 'yes' : 'no'} (docs/mixtures.md)`,
    ...h.claims.map((c) => `  ${mark(c.held)} ${c.id}: ${c.text}`),
  ];
}
