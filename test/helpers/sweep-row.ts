import type { AxisValue } from '../../src/sweep/manifest.ts';
import type { SweepRunRow } from '../../src/sweep-report/gather.ts';

/** What identifies a hand-made row: its run, cell, axis values and (default 500) steps trained, all of its budget. */
export interface SweepRowBase {
  run_id: string;
  cell: number;
  values: Record<string, AxisValue>;
  steps?: number;
}

/**
 * A finished report row with every measure unknown (null) and plain-training levers (weight decay 1,
 * float32 softmax cross-entropy, no filter, no ⊥Grad, no fixed norm), no task, verdict or error, and
 * 10 evaluations up to its last step; `over` is applied last.
 */
export function sweepRow(base: SweepRowBase, over: Partial<SweepRunRow> = {}): SweepRunRow {
  const steps = base.steps ?? 500;
  return {
    run_id: base.run_id,
    cell: base.cell,
    values: base.values,
    state: 'finished',
    steps_budget: steps,
    steps_run: steps,
    evaluations: 10,
    last_eval_step: steps,
    t_mem: null,
    t_grok_onset: null,
    t_grok_crossing: null,
    gap_onset: null,
    gap_crossing: null,
    ratio_onset: null,
    ratio_crossing: null,
    final_train_acc: null,
    final_test_acc: null,
    final_train_loss: null,
    final_test_loss: null,
    final_weight_norm: null,
    max_train_acc: null,
    max_test_acc: null,
    t_test_acc_95: null,
    t_collapse: null,
    final_collapse: null,
    final_nlm_cosine: null,
    wall_s: null,
    weight_decay: 1,
    loss: 'cross_entropy',
    loss_precision: 'float32',
    grad_filter: 'none',
    orthogonal_grad: false,
    fixed_norm: null,
    task_key: null,
    alike_key: null,
    verdict: null,
    verdict_reason: null,
    error: null,
    ...over,
  };
}
