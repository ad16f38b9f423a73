/**
 * The embedding's Fourier spectrum at the latest evaluation (modular tasks): one bar per frequency
 * 1..⌊p/2⌋, the key frequencies highlighted and labelled, and below it how the share of the energy
 * in the key frequencies grew over training. Grokking shows here before test accuracy moves: a few
 * frequencies stand out while the rest fade (Nanda et al.). Plain SVG; it scales with its box.
 */
import { type ReactNode, useId } from 'react';
import { formatStep } from '../../../dashboard/src/format.ts';
import { TEST_COLOR } from '../../../dashboard/src/palette.ts';
import type { LabRun } from '../model.ts';

export interface SpectrumPanelProps {
  run: LabRun;
}

const W = 640;
const BAR_H = 230;
const LINE_H = 130;
const M = { left: 48, right: 12, top: 26, bottom: 36 };
const OTHER_COLOR = '#9db4c7';

const percent = (x: number) => `${Math.round(100 * x)}%`;

function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const e = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * e >= x) return m * e;
  return 10 * e;
}

function tickStep(n: number): number {
  for (const s of [1, 2, 5, 10, 20, 50, 100, 200, 500]) if (n / s <= 12) return s;
  return 1000;
}

function SpectrumBars({
  norms,
  keys,
  p,
  step,
}: {
  norms: number[];
  keys: number[];
  p: number;
  step: number;
}) {
  const K = norms.length - 1;
  const values = norms.slice(1);
  const max = niceMax(Math.max(0, ...values));
  const plotW = W - M.left - M.right;
  const plotH = BAR_H - M.top - M.bottom;
  const bw = plotW / Math.max(1, K);
  const keySet = new Set(keys);
  const y = (v: number) => M.top + plotH * (1 - Math.min(v, max) / max);
  const every = tickStep(K);
  const ticks: number[] = [];
  for (let k = every; k <= K; k += every) ticks.push(k);
  if (every > 1) ticks.unshift(1);
  const label =
    `Spectrum of the embedding at step ${formatStep(step)}: ${K} frequencies of Z_${p}; ` +
    (keys.length > 0 ? `key frequencies ${keys.join(', ')} stand out` : 'no key frequencies');
  return (
    <svg
      viewBox={`0 0 ${W} ${BAR_H}`}
      className="spectrum-svg"
      role="img"
      aria-label={label}
      data-testid="spectrum-bars"
      data-key={keys.join(',')}
    >
      {[0, 0.5, 1].map((f) => (
        <g key={f}>
          <line x1={M.left} x2={W - M.right} y1={y(f * max)} y2={y(f * max)} className="grid" />
          <text x={M.left - 6} y={y(f * max) + 4} textAnchor="end" className="tick">
            {Number((f * max).toPrecision(3))}
          </text>
        </g>
      ))}
      {values.map((v, i) => {
        const k = i + 1;
        const key = keySet.has(k);
        const top = y(v);
        return (
          <rect
            key={k}
            x={M.left + i * bw + (bw > 4 ? 1 : 0)}
            width={Math.max(0.5, bw - (bw > 4 ? 2 : 0))}
            y={top}
            height={M.top + plotH - top}
            fill={key ? TEST_COLOR : OTHER_COLOR}
            data-freq={k}
            data-key={key || undefined}
          >
            <title>
              frequency {k}: {v.toPrecision(3)}
              {key ? ' (key)' : ''}
            </title>
          </rect>
        );
      })}
      {keys
        .filter((k) => k >= 1 && k <= K)
        .map((k) => (
          <text
            key={k}
            x={M.left + (k - 0.5) * bw}
            y={y(values[k - 1]) - 5}
            textAnchor="middle"
            className="key-label"
            fill={TEST_COLOR}
            data-testid="spectrum-key"
          >
            {k}
          </text>
        ))}
      <line x1={M.left} x2={W - M.right} y1={M.top + plotH} y2={M.top + plotH} className="axis" />
      {ticks.map((k) => (
        <text key={k} x={M.left + (k - 0.5) * bw} y={M.top + plotH + 15} textAnchor="middle" className="tick">
          {k}
        </text>
      ))}
      <text x={M.left + plotW / 2} y={BAR_H - 4} textAnchor="middle" className="axis-label">
        frequency k
      </text>
      <text
        x={12}
        y={M.top + plotH / 2}
        textAnchor="middle"
        className="axis-label"
        transform={`rotate(-90 12 ${M.top + plotH / 2})`}
      >
        √energy
      </text>
    </svg>
  );
}

/** The key-frequency share over steps, on the same log-like step axis as the charts (arcsinh). */
function KeyShareLine({ points }: { points: Array<{ step: number; share: number }> }) {
  const plotW = W - M.left - M.right;
  const top = 10;
  const bottom = 30;
  const plotH = LINE_H - top - bottom;
  const maxStep = Math.max(1, ...points.map((p) => p.step));
  const sx = (s: number) => M.left + (plotW * Math.asinh(s)) / Math.asinh(maxStep);
  const sy = (v: number) => top + plotH * (1 - Math.max(0, Math.min(1, v)));
  const path = points.map((p) => `${sx(p.step).toFixed(1)},${sy(p.share).toFixed(1)}`).join(' ');
  const last = points[points.length - 1];
  const decades: number[] = [0];
  for (let d = 1; d <= maxStep; d *= 10) decades.push(d);
  const label = last
    ? `Key-frequency share over training: ${percent(points[0].share)} at step ${formatStep(points[0].step)}, ${percent(last.share)} at step ${formatStep(last.step)}`
    : 'Key-frequency share over training: no evaluations yet';
  return (
    <svg
      viewBox={`0 0 ${W} ${LINE_H}`}
      className="spectrum-svg"
      role="img"
      aria-label={label}
      data-testid="keyshare-line"
    >
      {[0, 0.5, 1].map((v) => (
        <g key={v}>
          <line x1={M.left} x2={W - M.right} y1={sy(v)} y2={sy(v)} className="grid" />
          <text x={M.left - 6} y={sy(v) + 4} textAnchor="end" className="tick">
            {percent(v)}
          </text>
        </g>
      ))}
      {decades.map((d) => (
        <text key={d} x={sx(d)} y={top + plotH + 15} textAnchor="middle" className="tick">
          {d >= 1e3 ? `${d / 1e3}k` : d}
        </text>
      ))}
      <text x={M.left + plotW / 2} y={LINE_H - 2} textAnchor="middle" className="axis-label">
        step (log scale)
      </text>
      {points.length > 1 && <polyline points={path} fill="none" stroke={TEST_COLOR} strokeWidth={2.2} />}
      {last && <circle cx={sx(last.step)} cy={sy(last.share)} r={3.5} fill={TEST_COLOR} />}
    </svg>
  );
}

export function SpectrumPanel({ run }: SpectrumPanelProps) {
  const uid = useId();
  const spectrum = run.spectrum;
  const kind = run.config?.task.kind ?? null;
  let body: ReactNode;
  if (spectrum === null) {
    const why =
      run.config === null
        ? 'no spectrum: an imported log has no model to look into'
        : kind !== 'modular'
          ? 'no spectrum: not a modular task'
          : 'no spectrum yet: it is computed at every evaluation';
    body = (
      <p className="muted" data-testid="spectrum-none">
        {why}
      </p>
    );
  } else {
    body = (
      <>
        <p className="small">
          Step {formatStep(spectrum.step)}:{' '}
          {spectrum.key.length > 0 ? (
            <>
              key frequencies <b data-testid="spectrum-key-list">{spectrum.key.join(', ')}</b> hold{' '}
              <b>{percent(spectrum.keyShare)}</b> of the energy
              {spectrum.sparse ? ' and stand out (a sparse spectrum)' : ', not yet standing out'}
            </>
          ) : (
            'no key frequencies yet'
          )}
          .
        </p>
        <SpectrumBars norms={spectrum.norms} keys={spectrum.key} p={spectrum.p} step={spectrum.step} />
        <h3 id={`${uid}-share`}>Share of the embedding's energy in its key frequencies</h3>
        <KeyShareLine points={run.keyShare} />
      </>
    );
  }
  return (
    <section className="panel spectrum-panel" aria-labelledby={`${uid}-title`} data-testid="spectrum-panel">
      <h2 id={`${uid}-title`}>
        Embedding spectrum <span className="muted small">{run.label}</span>
      </h2>
      {body}
    </section>
  );
}
