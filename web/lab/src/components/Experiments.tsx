/**
 * One-click course experiments: a few configurations of the current preset trained side by side.
 * This component only says which variants; the page creates and starts the runs.
 */
import { useId } from 'react';
import type { Override } from '../../../../src/config/overrides.ts';
import { formatHyper } from '../../../dashboard/src/format.ts';
import { getPath } from './config-fields.ts';

export interface ExperimentVariant {
  label: string;
  overrides: Override[];
}

export interface Experiment {
  id: string;
  title: string;
  /** What students should look for. */
  question: string;
  variants: ExperimentVariant[];
}

export interface ExperimentsProps {
  onRun(variants: ExperimentVariant[]): void;
  disabled?: boolean;
  /**
   * The current config (the preset with the editor's changes), for the weight decay to compare with
   * 0 and to leave out the training fraction for tasks without one (MNIST). Optional.
   */
  config?: Record<string, unknown> | null;
}

/** The experiments for `config` (all three when it is not given). */
export function courseExperiments(config?: Record<string, unknown> | null): Experiment[] {
  const wd = getPath(config, 'train.weight_decay');
  // With no weight decay in the preset (Prieto et al.'s settings) "on" means the usual 1.
  const on = typeof wd === 'number' && wd > 0 ? wd : 1;
  const experiments: Experiment[] = [
    {
      id: 'weight-decay',
      title: 'Weight decay on vs off',
      question: 'Does the network still generalize without weight decay, and how much later?',
      variants: [
        { label: `wd ${formatHyper(on)}`, overrides: [{ key: 'train.weight_decay', value: on }] },
        { label: 'wd 0', overrides: [{ key: 'train.weight_decay', value: 0 }] },
      ],
    },
  ];
  const kind = getPath(config, 'task.kind');
  if (
    config === undefined ||
    config === null ||
    (kind !== 'mnist' && getPath(config, 'task.train_fraction') !== undefined)
  ) {
    experiments.push({
      id: 'train-fraction',
      title: 'Training fraction 0.3 / 0.5 / 0.7',
      question: 'How does the delay between memorizing and generalizing depend on the data?',
      variants: [0.3, 0.5, 0.7].map((f) => ({
        label: `frac ${f}`,
        overrides: [{ key: 'task.train_fraction', value: f }],
      })),
    });
  }
  experiments.push({
    id: 'seeds',
    title: 'Seeds 0 / 1 / 2',
    question: 'How much does t_grok vary from one initialization and split to another?',
    variants: [0, 1, 2].map((seed) => ({ label: `seed ${seed}`, overrides: [{ key: 'seed', value: seed }] })),
  });
  return experiments;
}

export function Experiments(props: ExperimentsProps) {
  const uid = useId();
  const experiments = courseExperiments(props.config);
  return (
    <section className="panel experiments" aria-labelledby={`${uid}-title`} data-testid="experiments">
      <h2 id={`${uid}-title`}>Experiments</h2>
      <p className="muted small">Each trains its variants of the current configuration side by side.</p>
      <ul className="experiment-list">
        {experiments.map((x) => (
          <li key={x.id}>
            <button
              type="button"
              data-testid={`experiment-${x.id}`}
              disabled={props.disabled === true}
              aria-describedby={`${uid}-${x.id}`}
              onClick={() => props.onRun(x.variants)}
            >
              {x.title}
            </button>
            <span id={`${uid}-${x.id}`} className="muted small">
              {x.variants.map((v) => v.label).join(', ')}: {x.question}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
