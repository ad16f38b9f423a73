/**
 * What `groklab analyze` found (analysis/analysis.json): the Fourier spectrum of a weight view over
 * training as a heatmap (frequency × checkpoint, each checkpoint's energy shares), the key
 * frequencies, restricted and excluded loss next to train and test loss (Nanda et al. 2023), the
 * phases, and the sparsity of the spectrum over training.
 */
import { useMemo, useState } from 'react';
import { type AnalysisView, useAnalysis } from '../api.ts';
import { Chart, type ChartSeries, type Marker } from '../components/Chart.tsx';
import { Heatmap } from '../components/Heatmap.tsx';
import { compactStep, formatStep } from '../format.ts';
import { OKABE_ITO, TEST_COLOR, TRAIN_COLOR } from '../palette.ts';

const VIEW_TEXT: Record<string, string> = {
  embedding: 'embedding (input tokens)',
  unembedding: 'unembedding (output classes)',
  mlp_in: 'MLP input (through attention)',
  neuron_logit: 'neurons → logits',
};

function SpectrumHeatmap({ analysis }: { analysis: AnalysisView }) {
  const views = Object.keys(analysis.spectra);
  const [view, setView] = useState(views.includes('embedding') ? 'embedding' : (views[0] ?? ''));
  const spectrum = analysis.spectra[view];
  // When no frequency stands out every one is "key": then none is emphasised.
  const keys = new Set(
    analysis.key_frequencies?.source === 'all' ? [] : (analysis.key_frequencies?.frequencies ?? []),
  );
  // Energy share of each non-constant frequency at each checkpoint (norms are √energy).
  const shares = useMemo(() => {
    if (!spectrum) return [];
    return spectrum.norms.map((norms) => {
      const energies = norms.slice(1).map((n) => n * n);
      const total = energies.reduce((a, b) => a + b, 0);
      return energies.map((e) => (total > 0 ? e / total : 0));
    });
  }, [spectrum]);
  if (!spectrum || shares.length === 0) return null;
  const frequencies = Math.max(...spectrum.norms.map((n) => n.length)) - 1;
  // Colours span the shares that occur, so a spectrum that is not (yet) sparse still shows its structure.
  const all = shares.flat();
  const max = Math.max(...all);
  const min = Math.min(...all);
  const span = max - min > 1e-12 ? max - min : 1;
  const rowLabels = Array.from({ length: frequencies }, (_, i) => String(i + 1));
  const emphasis = new Set([...keys].map((k) => k - 1));
  const colLabels = analysis.steps.map(compactStep);
  const cellWidth = Math.max(8, Math.min(44, Math.floor(900 / Math.max(1, analysis.steps.length))));
  const cellHeight = Math.max(4, Math.min(20, Math.floor(460 / Math.max(1, frequencies))));
  const last = spectrum.norms.length - 1;
  return (
    <section className="panel wide" data-testid="fourier-panel">
      <h2>Fourier spectrum over training</h2>
      <div className="toolbar small">
        <label>
          weights{' '}
          <select value={view} onChange={(e) => setView(e.target.value)}>
            {views.map((v) => (
              <option key={v} value={v}>
                {VIEW_TEXT[v] ?? v}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">
          colour: share of the non-constant energy at each checkpoint (frequency 0 left out); bold rows: the
          run's key frequencies
        </span>
      </div>
      <Heatmap
        rowLabels={rowLabels}
        colLabels={colLabels}
        cellWidth={cellWidth}
        cellHeight={cellHeight}
        rowLabelEvery={frequencies > 30 ? 5 : 1}
        colLabelEvery={Math.ceil(
          (analysis.steps.length * 16) / Math.max(1, analysis.steps.length * cellWidth),
        )}
        rotateColLabels
        emphasisRows={emphasis}
        xTitle="checkpoint step"
        yTitle="frequency k"
        cell={(r, c) => {
          const share = shares[c]?.[r] ?? 0;
          return {
            kind: 'value',
            t: (share - min) / span,
            title: `k = ${r + 1} at step ${formatStep(analysis.steps[c])}: ${(share * 100).toFixed(1)}% of the energy${keys.has(r + 1) ? ' (key frequency)' : ''}`,
          };
        }}
        colorBar={{
          low: `${(min * 100).toFixed(1)}%`,
          high: `${(max * 100).toFixed(1)}%`,
          title: 'energy share',
        }}
        testId="fourier-heatmap"
      />
      <dl className="inline">
        <dt>key frequencies</dt>
        <dd data-testid="key-frequencies">
          {analysis.key_frequencies
            ? `${analysis.key_frequencies.frequencies.join(', ')} (${analysis.key_frequencies.source === 'embedding' ? `from the embedding at step ${formatStep(analysis.key_frequencies.from_step)}` : analysis.key_frequencies.source === 'all' ? 'no frequency stands out: all of them' : 'given by the user'})`
            : '–'}
        </dd>
        <dt>at the last checkpoint</dt>
        <dd>
          key frequencies of this view {spectrum.key[last]?.join(', ') || '–'}; Gini{' '}
          {spectrum.gini[last]?.toFixed(2)}, IPR {spectrum.ipr[last]?.toFixed(3)}
          {spectrum.run_key_energy_fraction[last] !== null &&
            `; ${((spectrum.run_key_energy_fraction[last] ?? 0) * 100).toFixed(0)}% of the energy in the key frequencies`}
        </dd>
      </dl>
    </section>
  );
}

function phaseMarkers(analysis: AnalysisView): Marker[] {
  const markers: Marker[] = [];
  const b = analysis.phases?.boundaries;
  if (b?.t_mem !== null && b?.t_mem !== undefined)
    markers.push({ x: b.t_mem, label: 't_mem', color: TRAIN_COLOR, dash: [4, 3] });
  const cleanup = analysis.phases?.cleanup_start;
  if (cleanup !== null && cleanup !== undefined)
    markers.push({ x: cleanup, label: 'cleanup', color: OKABE_ITO[2], dash: [2, 3] });
  if (b?.t_grok_crossing !== null && b?.t_grok_crossing !== undefined)
    markers.push({ x: b.t_grok_crossing, label: 't_grok', color: TEST_COLOR, dash: [8, 3] });
  return markers;
}

function ProgressChart({ analysis, xLog }: { analysis: AnalysisView; xLog: boolean }) {
  const hasProgress = analysis.progress.some((p) => p !== null);
  const { x, series } = useMemo(() => {
    // Dense train/test curves from the log and the checkpoint measures on one step axis.
    const steps = [...new Set([...analysis.curves.step, ...analysis.steps])].sort((a, b) => a - b);
    const index = new Map(steps.map((s, i) => [s, i]));
    const empty = () => new Array<number | null>(steps.length).fill(null);
    const train = empty();
    const test = empty();
    const restricted = empty();
    const excluded = empty();
    const pos = (v: number | null | undefined) => (v !== null && v !== undefined && v > 0 ? v : null);
    analysis.curves.step.forEach((s, i) => {
      const j = index.get(s) ?? 0;
      train[j] = pos(analysis.curves.train_loss[i]);
      test[j] = pos(analysis.curves.test_loss[i]);
    });
    analysis.steps.forEach((s, i) => {
      const j = index.get(s) ?? 0;
      restricted[j] = pos(analysis.progress[i]?.restricted_loss);
      excluded[j] = pos(analysis.progress[i]?.excluded_loss);
    });
    const list: ChartSeries[] = [
      { label: 'train loss', color: TRAIN_COLOR, values: train, dash: [7, 4], spanGaps: true },
      { label: 'test loss', color: TEST_COLOR, values: test, width: 2, spanGaps: true },
    ];
    if (hasProgress) {
      list.push(
        { label: 'restricted loss', color: OKABE_ITO[2], values: restricted, width: 2, spanGaps: true },
        {
          label: 'excluded loss',
          color: OKABE_ITO[3],
          values: excluded,
          width: 2,
          dash: [3, 3],
          spanGaps: true,
        },
      );
    }
    return { x: steps, series: list };
  }, [analysis, hasProgress]);
  const markers = useMemo(() => phaseMarkers(analysis), [analysis]);
  return (
    <section className="panel wide" data-testid="progress-panel">
      <h2>Restricted and excluded loss</h2>
      {!hasProgress && (
        <p className="muted">
          Restricted and excluded loss are defined for modular addition and subtraction; this run has only its
          train and test loss here.
        </p>
      )}
      <Chart
        title="Loss at each checkpoint (log scale)"
        x={x}
        series={series}
        yLog
        xLog={xLog}
        markers={markers}
        testId="chart-progress"
      />
      <p className="muted small">
        Restricted loss keeps only the key frequencies of the logits; excluded loss removes them (on the
        training pairs). Excluded loss rising while train loss stays low means the memorizing solution is
        being replaced by the Fourier circuit.
      </p>
      {analysis.phases && (
        <dl className="inline">
          <dt>phases</dt>
          <dd>
            {analysis.phases.phases
              .map(
                (p) =>
                  `${p.name.replace('_', ' ')} ${formatStep(p.from)}–${p.to === null ? 'now' : formatStep(p.to)}`,
              )
              .join(' · ')}
          </dd>
        </dl>
      )}
    </section>
  );
}

function SparsityChart({ analysis, xLog }: { analysis: AnalysisView; xLog: boolean }) {
  const spectrum = analysis.spectra.embedding ?? Object.values(analysis.spectra)[0];
  const series = useMemo<ChartSeries[]>(() => {
    if (!spectrum) return [];
    const list: ChartSeries[] = [
      {
        label: 'Gini (embedding spectrum)',
        color: OKABE_ITO[2],
        values: spectrum.gini.map((g) => (Number.isFinite(g) ? g : null)),
        width: 2,
      },
    ];
    if (spectrum.run_key_energy_fraction.some((v) => v !== null)) {
      list.push({
        label: 'energy in key frequencies',
        color: OKABE_ITO[3],
        values: spectrum.run_key_energy_fraction,
        width: 2,
        dash: [6, 3],
      });
    }
    return list;
  }, [spectrum]);
  if (!spectrum) return null;
  return (
    <section className="panel">
      <h2>Sparsity of the spectrum</h2>
      <Chart
        title="Gini and key-frequency energy share"
        x={analysis.steps}
        series={series}
        yRange={[0, 1]}
        xLog={xLog}
        markers={phaseMarkers(analysis)}
        height={220}
      />
    </section>
  );
}

function HessianTable({ analysis }: { analysis: AnalysisView }) {
  if (analysis.hessian.length === 0) return null;
  return (
    <section className="panel">
      <h2>Top Hessian eigenvalues</h2>
      <table className="compact">
        <thead>
          <tr>
            <th>step</th>
            <th>eigenvalues (largest first)</th>
          </tr>
        </thead>
        <tbody>
          {analysis.hessian.map((h) => (
            <tr key={h.step}>
              <td className="num">{formatStep(h.step)}</td>
              <td>{h.top_eigenvalues.map((e) => e.toPrecision(3)).join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function AnalysisPanels({ id, xLog }: { id: string; xLog: boolean }) {
  const { data, error } = useAnalysis(id, true);
  if (error) return <p className="error-box">analysis/analysis.json: {error.message}</p>;
  if (!data) return <p className="muted">loading the analysis…</p>;
  return (
    <section className="analysis" data-testid="analysis">
      <h2 className="section-title">
        Analysis{' '}
        <span className="muted small">
          ({data.steps.length} checkpoints, generated {data.generated_at.slice(0, 16).replace('T', ' ')})
        </span>
      </h2>
      <SpectrumHeatmap analysis={data} />
      <ProgressChart analysis={data} xLog={xLog} />
      <div className="panels">
        <SparsityChart analysis={data} xLog={xLog} />
        <HessianTable analysis={data} />
      </div>
      {data.notes.length > 0 && (
        <ul className="notes">
          {data.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
