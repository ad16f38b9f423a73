/**
 * The dashboard's view of `<run>/analysis/analysis.json` (written by `groklab analyze`, layout in
 * src/analysis/types.ts): spectra per checkpoint, progress measures, losses, Hessian tops, phases.
 * The full document also holds per-neuron and per-tensor details the dashboard does not draw, so
 * only these parts are sent. Cached on the file's size and mtime.
 */
import fs from 'node:fs';
import { ANALYSIS_FORMAT, type AnalysisDocument } from '../analysis/types.ts';
import { readJsonFile } from '../runs/index.ts';
import type { AnalysisView, SpectrumSeries } from './api-types.ts';

export function analysisView(doc: AnalysisDocument): AnalysisView {
  const checkpoints = [...doc.checkpoints].sort((a, b) => a.step - b.step);
  const spectra: Record<string, SpectrumSeries> = {};
  const viewNames = new Set<string>();
  for (const c of checkpoints) for (const name of Object.keys(c.fourier ?? {})) viewNames.add(name);
  for (const name of viewNames) {
    const series: SpectrumSeries = { norms: [], gini: [], ipr: [], key: [], run_key_energy_fraction: [] };
    for (const c of checkpoints) {
      const s = c.fourier?.[name as keyof NonNullable<typeof c.fourier>];
      series.norms.push(s?.norms ?? []);
      series.gini.push(s?.gini ?? Number.NaN);
      series.ipr.push(s?.ipr ?? Number.NaN);
      series.key.push(s?.key.frequencies ?? []);
      series.run_key_energy_fraction.push(s?.run_key_energy_fraction ?? null);
    }
    spectra[name] = series;
  }
  return {
    run_id: doc.run_id,
    generated_at: doc.generated_at,
    run: doc.run,
    task: { description: doc.task.description, p: doc.task.p, op: doc.task.op, classes: doc.task.classes },
    model: { kind: doc.model.kind, parameters: doc.model.parameters },
    key_frequencies: doc.key_frequencies
      ? {
          frequencies: doc.key_frequencies.frequencies,
          source: doc.key_frequencies.source,
          from_step: doc.key_frequencies.from_step,
        }
      : null,
    detect: doc.detect,
    phases: doc.phases,
    steps: checkpoints.map((c) => c.step),
    spectra,
    losses: checkpoints.map((c) => c.losses),
    progress: checkpoints.map((c) =>
      c.progress
        ? {
            restricted_loss: c.progress.restricted_loss,
            excluded_loss: c.progress.excluded_loss,
            key_logit_energy_share: c.progress.key_logit_energy_share,
          }
        : null,
    ),
    hessian: checkpoints
      .filter((c) => c.hessian !== null)
      .map((c) => ({ step: c.step, top_eigenvalues: c.hessian?.top_eigenvalues ?? [] })),
    total_norm: checkpoints.map((c) => c.norms?.total ?? null),
    curves: doc.curves ?? {
      step: [],
      train_loss: [],
      test_loss: [],
      train_acc: [],
      test_acc: [],
      weight_norm: [],
    },
    notes: doc.notes ?? [],
  };
}

/** Reads and trims analysis.json, keeping the last result per file version. */
export class AnalysisCache {
  private readonly entries = new Map<string, { signature: string; view: AnalysisView }>();

  read(file: string): AnalysisView {
    const stat = fs.statSync(file);
    const signature = `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
    const cached = this.entries.get(file);
    if (cached && cached.signature === signature) return cached.view;
    const doc = readJsonFile(file) as AnalysisDocument;
    if (doc?.format !== ANALYSIS_FORMAT || !Array.isArray(doc.checkpoints)) {
      throw new Error('analysis/analysis.json is not a groklab analysis (run groklab analyze again)');
    }
    const view = analysisView(doc);
    this.entries.set(file, { signature, view });
    return view;
  }
}
