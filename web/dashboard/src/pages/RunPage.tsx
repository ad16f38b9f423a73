/** One run: learning curves and weight norms that grow live, t_mem / t_grok markers, config, status, detection, analysis. */
import { type ReactNode, useMemo, useState } from 'react';
import { ApiError, type DetectResult, type MetricsRecord, useRunFeed } from '../api.ts';
import { StateBadge, VerdictBadge } from '../components/Badges.tsx';
import { Chart, type ChartSeries, type Marker } from '../components/Chart.tsx';
import { ComponentCharts } from '../components/ComponentCharts.tsx';
import {
  formatAcc,
  formatHyper,
  formatLoss,
  formatSeconds,
  formatStep,
  formatTime,
  formatValue,
} from '../format.ts';
import { COLLAPSE_COLOR, NLM_COLOR, OKABE_ITO, TENSOR_COLORS, TEST_COLOR, TRAIN_COLOR } from '../palette.ts';
import { Link } from '../router.tsx';
import { AnalysisPanels } from './AnalysisPanels.tsx';

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const positive = (v: unknown): number | null => {
  const x = num(v);
  return x !== null && x > 0 ? x : null;
};

/** The circuit-forming warning (progress measures): orange, dotted. */
const WARNING_COLOR = OKABE_ITO[4];
/** The progress measures' second colour (excluded loss, next to the restricted loss in green). */
const EXCLUDED_COLOR = OKABE_ITO[3];

/**
 * The detector's markers, drawn like the static charts: t_mem blue dashed, the jump vermillion, and
 * the circuit-forming warning orange dotted when the log has one.
 */
export function detectMarkers(detect: DetectResult | null): Marker[] {
  if (!detect) return [];
  const m = detect.measures;
  const markers: Marker[] = [];
  if (m.t_mem !== null) markers.push({ x: m.t_mem, label: 't_mem', color: TRAIN_COLOR, dash: [4, 3] });
  if (m.t_grok_onset !== null)
    markers.push({ x: m.t_grok_onset, label: 'onset', color: TEST_COLOR, dash: [2, 3] });
  if (m.t_grok_crossing !== null)
    markers.push({ x: m.t_grok_crossing, label: 't_grok', color: TEST_COLOR, dash: [8, 3] });
  // Absent in results of servers older than the field.
  const warning = detect.early_warning?.step ?? null;
  if (warning !== null) markers.push({ x: warning, label: 'warning', color: WARNING_COLOR, dash: [1, 3] });
  return markers;
}

function column(records: MetricsRecord[], key: string, keep: (v: unknown) => number | null = num) {
  return records.map((r) => keep(r[key]));
}

const has = (records: MetricsRecord[], key: string) => records.some((r) => num(r[key]) !== null);

/** "93%", "0.4%". */
const percent = (x: number) => `${Number((100 * x).toPrecision(2))}%`;

/**
 * Prieto et al.'s measures, drawn only when the log has them (runs written before they existed
 * have neither): the share of training examples whose loss is exactly 0, and cos(−∇L, θ).
 */
function stabilitySeries(records: MetricsRecord[]): ChartSeries[] {
  const series: ChartSeries[] = [];
  if (has(records, 'softmax_collapse')) {
    series.push({
      label: 'softmax collapse (share at loss 0)',
      color: COLLAPSE_COLOR,
      values: column(records, 'softmax_collapse'),
      width: 2,
    });
  }
  if (has(records, 'nlm_cosine')) {
    // No cosine at step 0: the line starts at the first step taken.
    series.push({
      label: 'NLM cosine cos(−∇L, θ)',
      color: NLM_COLOR,
      values: column(records, 'nlm_cosine'),
      width: 2,
      spanGaps: true,
    });
  }
  return series;
}

/** One progress measure (eval.progress: the record's `progress` object) per record; null where absent. */
function progressColumn(records: MetricsRecord[], key: string): Array<number | null> {
  return records.map((r) => {
    const progress = r.progress;
    return progress !== null && typeof progress === 'object'
      ? num((progress as Record<string, unknown>)[key])
      : null;
  });
}

/** The step at which the circuit-forming warning fired, from the latest record that says so. */
export function warningStep(records: MetricsRecord[]): number | null {
  for (let i = records.length - 1; i >= 0; i--) {
    const step = progressColumn([records[i]], 'circuit_warning')[0];
    if (step !== null) return step;
  }
  return null;
}

/**
 * The progress measures (docs/early-warning.md), drawn only when the log has them: the embedding's
 * top-k Fourier share, and the restricted and excluded loss (x±y).
 */
function ProgressCharts(props: {
  records: MetricsRecord[];
  x: number[];
  xLog: boolean;
  markers: Marker[];
  syncKey: string;
}) {
  const { records } = props;
  const share = useMemo<ChartSeries[]>(() => {
    const values = progressColumn(records, 'fourier_top_share');
    return values.some((v) => v !== null)
      ? [{ label: 'embedding: top-k Fourier share', color: WARNING_COLOR, values, width: 2 }]
      : [];
  }, [records]);
  const losses = useMemo<ChartSeries[]>(() => {
    const restricted = progressColumn(records, 'restricted_loss').map((v) => positive(v));
    const excluded = progressColumn(records, 'excluded_loss').map((v) => positive(v));
    if (!restricted.some((v) => v !== null) && !excluded.some((v) => v !== null)) return [];
    return [
      {
        label: 'restricted loss (key frequencies only)',
        color: COLLAPSE_COLOR,
        values: restricted,
        width: 2,
      },
      {
        label: 'excluded loss (train, key frequencies removed)',
        color: EXCLUDED_COLOR,
        values: excluded,
        width: 2,
      },
    ];
  }, [records]);
  return (
    <>
      {share.length > 0 && (
        <Chart
          title="Circuit forming: Fourier share of the embedding"
          x={props.x}
          series={share}
          yRange={[0, 1]}
          xLog={props.xLog}
          markers={props.markers}
          syncKey={props.syncKey}
          testId="chart-progress-share"
          yFormat={(v) => v.toFixed(1)}
        />
      )}
      {losses.length > 0 && (
        <Chart
          title="Progress measures: restricted and excluded loss"
          x={props.x}
          series={losses}
          yLog
          xLog={props.xLog}
          markers={props.markers}
          syncKey={props.syncKey}
          testId="chart-progress-losses"
        />
      )}
    </>
  );
}

function RunCharts(props: {
  records: MetricsRecord[];
  detect: DetectResult | null;
  xLog: boolean;
  id: string;
}) {
  const { records, detect, xLog } = props;
  const x = useMemo(() => records.map((r) => r.step), [records]);
  const accuracy = useMemo<ChartSeries[]>(
    () => [
      { label: 'train acc', color: TRAIN_COLOR, values: column(records, 'train_acc'), dash: [7, 4] },
      { label: 'test acc', color: TEST_COLOR, values: column(records, 'test_acc'), width: 2 },
    ],
    [records],
  );
  const loss = useMemo<ChartSeries[]>(
    () => [
      {
        label: 'train loss',
        color: TRAIN_COLOR,
        values: column(records, 'train_loss', positive),
        dash: [7, 4],
      },
      { label: 'test loss', color: TEST_COLOR, values: column(records, 'test_loss', positive), width: 2 },
    ],
    [records],
  );
  const norms = useMemo<ChartSeries[]>(() => {
    const last = records[records.length - 1];
    const tensors = last?.norms ? Object.keys(last.norms) : [];
    return [
      { label: '‖θ‖ total', color: '#000000', values: column(records, 'weight_norm'), width: 2.2 },
      ...tensors.map((name, i) => ({
        label: name,
        color: TENSOR_COLORS[i % TENSOR_COLORS.length],
        values: records.map((r) => num(r.norms?.[name])),
        width: 1.2,
      })),
    ];
  }, [records]);
  const stability = useMemo(() => stabilitySeries(records), [records]);
  // Shares live in [0, 1]; the axis goes down to −1 only once a cosine is negative.
  const negative = stability.some((s) => s.values.some((v) => v !== null && v < 0));
  const markers = useMemo(() => detectMarkers(detect), [detect]);
  const sync = `run-${props.id}`;
  return (
    <div className="charts">
      <Chart
        title="Accuracy"
        x={x}
        series={accuracy}
        yRange={[0, 1]}
        xLog={xLog}
        markers={markers}
        syncKey={sync}
        testId="chart-accuracy"
        yFormat={(v) => v.toFixed(1)}
      />
      <ComponentCharts records={records} x={x} xLog={xLog} markers={markers} syncKey={sync} />
      <Chart
        title="Loss"
        x={x}
        series={loss}
        yLog
        xLog={xLog}
        markers={markers}
        syncKey={sync}
        testId="chart-loss"
      />
      <Chart
        title="Weight norm"
        x={x}
        series={norms}
        xLog={xLog}
        markers={markers}
        syncKey={sync}
        testId="chart-norms"
      />
      <ProgressCharts records={records} x={x} xLog={xLog} markers={markers} syncKey={sync} />
      {stability.length > 0 && (
        <Chart
          title="Numerical stability (Prieto et al.)"
          x={x}
          series={stability}
          yRange={[negative ? -1 : 0, 1]}
          xLog={xLog}
          markers={markers}
          syncKey={sync}
          testId="chart-stability"
          yFormat={(v) => v.toFixed(2)}
        />
      )}
    </div>
  );
}

function Field(props: { label: string; children: ReactNode; title?: string }) {
  return (
    <>
      <dt title={props.title}>{props.label}</dt>
      <dd>{props.children}</dd>
    </>
  );
}

function ConfigPanel({ config }: { config: Record<string, unknown> | null }) {
  if (!config) return <p className="muted">config.json cannot be read</p>;
  const task = (config.task ?? {}) as Record<string, unknown>;
  const model = (config.model ?? {}) as Record<string, unknown>;
  const train = (config.train ?? {}) as Record<string, unknown>;
  const evalSpec = (config.eval ?? {}) as Record<string, unknown>;
  const lineage = Array.isArray(config.lineage) ? (config.lineage as Array<Record<string, unknown>>) : [];
  const rest = (o: Record<string, unknown>, skip: string[]) =>
    Object.entries(o)
      .filter(([k]) => !skip.includes(k))
      .map(([k, v]) => `${k} ${formatValue(v)}`)
      .join(', ');
  return (
    <section className="panel">
      <h2>Config</h2>
      <dl>
        <Field label="preset">{formatValue(config.preset)}</Field>
        <Field label="task">
          {formatValue(task.kind)} {rest(task, ['kind'])}
        </Field>
        <Field label="model">
          {formatValue(model.kind)} {rest(model, ['kind'])}
        </Field>
        <Field label="optimizer">
          {formatValue(train.optimizer)}, lr {formatHyper(num(train.lr))}, weight decay{' '}
          {formatHyper(num(train.weight_decay))}
        </Field>
        <Field label="training">
          {formatStep(num(train.steps))} steps, batch {formatValue(train.batch_size)}, warmup{' '}
          {formatValue(train.warmup_steps)}, {formatValue(train.loss)}
          {train.stop_test_acc !== null && train.stop_test_acc !== undefined
            ? `, stop at test acc ≥ ${train.stop_test_acc} for ${train.stop_patience} evaluations`
            : ''}
        </Field>
        <Field label="evaluation">{rest(evalSpec, [])}</Field>
        <Field label="seed">
          {formatValue(config.seed)} (split {formatValue(config.split_seed)})
        </Field>
        <Field label="version">{formatValue(config.groklab_version)}</Field>
      </dl>
      {lineage.length > 0 && (
        <>
          <h3>Lineage</h3>
          <ul className="lineage">
            {lineage.map((l) => (
              <li key={`${l.from_run}-${l.from_step}-${l.at}`}>
                from <Link to={`/runs/${encodeURIComponent(String(l.from_run))}`}>{String(l.from_run)}</Link>{' '}
                at step {formatStep(num(l.from_step))}: {JSON.stringify(l.overrides)}
              </li>
            ))}
          </ul>
        </>
      )}
      <details>
        <summary>config.json</summary>
        <pre>{JSON.stringify(config, null, 2)}</pre>
      </details>
    </section>
  );
}

function DetectPanel({ detect, error }: { detect: DetectResult | null; error: string | null }) {
  if (!detect)
    return (
      <section className="panel">
        <h2>Detection</h2>
        <p className="muted">{error ?? 'no result yet'}</p>
      </section>
    );
  const m = detect.measures;
  const t = detect.transition;
  const w = detect.weight_norm;
  // Absent in results of servers older than these fields, null for logs without the columns.
  const collapse = detect.softmax_collapse ?? null;
  const nlm = detect.nlm_cosine ?? null;
  const warning = detect.early_warning ?? null;
  return (
    <section className="panel" data-testid="detect-panel">
      <h2>Detection</h2>
      <p>
        <VerdictBadge verdict={detect.verdict.label} /> {detect.verdict.reason}
      </p>
      <dl>
        <Field label="t_mem" title={`first step with train accuracy ≥ ${detect.thresholds.mem}`}>
          {formatStep(m.t_mem)}
        </Field>
        <Field label="t_grok onset" title="onset of the jump (the detector)">
          {formatStep(m.t_grok_onset)}
        </Field>
        <Field label="t_grok" title={`first confirmed step with test accuracy ≥ ${detect.thresholds.grok}`}>
          {formatStep(m.t_grok_crossing)}
        </Field>
        <Field label="gap">
          {formatStep(m.gap_crossing)}
          {m.ratio_crossing !== null && (
            <span className="muted"> ({m.ratio_crossing.toFixed(1)}× t_mem)</span>
          )}
        </Field>
        {t && (
          <Field label="10→90% width" title="steps from 10% to 90% of the rise of the smoothed test accuracy">
            {formatStep(t.width_10_90)}
            {t.width_relative !== null && (
              <span className="muted"> ({(t.width_relative * 100).toFixed(0)}% of the onset step)</span>
            )}
          </Field>
        )}
        {detect.baseline.band ? (
          <Field
            label="memorization band"
            title={`from chance to what memorizing explains: ${detect.baseline.detail}`}
          >
            {formatAcc(detect.baseline.band.low)}–{formatAcc(detect.baseline.band.high)}{' '}
            <span className="muted">({detect.baseline.source})</span>
          </Field>
        ) : (
          <Field label="baseline" title={detect.baseline.detail}>
            {formatAcc(detect.baseline.value)} <span className="muted">({detect.baseline.source})</span>
          </Field>
        )}
        {detect.plateau && (
          <Field
            label="plateau"
            title={`test accuracy from step ${detect.plateau.from_step} to ${detect.plateau.to_step}`}
          >
            {formatAcc(detect.plateau.level)} <span className="muted">{detect.plateau.cause}</span>
          </Field>
        )}
        <Field label="final acc">
          train {formatAcc(m.final_train_acc)}, test {formatAcc(m.final_test_acc)}
        </Field>
        {w && (
          <Field label="‖θ‖" title="total weight norm">
            {w.at_t_mem !== null && <>at t_mem {w.at_t_mem.toFixed(1)}, </>}
            {w.at_transition !== null && <>at the jump {w.at_transition.toFixed(1)}, </>}
            final {w.final?.toFixed(1) ?? '–'}
          </Field>
        )}
        {collapse && (
          <Field
            label="softmax collapse"
            title={`share of the training examples whose ${collapse.loss_precision ? `${collapse.loss_precision} ` : ''}loss is exactly 0: they give no gradient (Prieto et al.)`}
          >
            {percent(collapse.final)} at the end
            {collapse.t_collapse !== null && (
              <span className="muted"> (≥ 50% first at step {formatStep(collapse.t_collapse)})</span>
            )}
          </Field>
        )}
        {warning && (
          <Field
            label="circuit forming"
            title="the progress measures' warning (docs/early-warning.md): the embedding's Fourier spectrum sharpening, or the training fit resting on the key frequencies, while test accuracy is still low"
          >
            {warningText(warning)}
          </Field>
        )}
        {nlm && (
          <Field
            label="NLM cosine"
            title="cos(−∇L, θ): near 1 when a step only scales the weights up (naïve loss minimization, Prieto et al.)"
          >
            {nlm.median_late.toFixed(2)}{' '}
            <span className="muted">(median of the last {nlm.late_evaluations} evaluations)</span>
          </Field>
        )}
      </dl>
      {detect.verdict.notes.length > 0 && (
        <ul className="notes">
          {detect.verdict.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** The warning in words, as `groklab detect` says it. */
function warningText(w: NonNullable<DetectResult['early_warning']>): string {
  const at = `step ${formatStep(w.step)}`;
  switch (w.outcome) {
    case 'ahead':
      return `${at}, ${formatStep(w.lead_steps)} steps${w.lead_fraction !== null ? ` (${Math.round(100 * w.lead_fraction)}% of t_grok)` : ''} before t_grok`;
    case 'late':
      return `${at}, not before t_grok`;
    case 'missed':
      return 'no warning before t_grok';
    case 'pending':
      return `${at}; test accuracy has not followed (yet)`;
    default:
      return 'none';
  }
}

export function RunPage({ id }: { id: string }) {
  const feed = useRunFeed(id);
  const [xLog, setXLog] = useState(true);
  if (feed.error) {
    const bad = feed.error instanceof ApiError && feed.error.status === 400;
    return (
      <section className="error-box" data-testid="run-error">
        <h1>{bad ? 'Invalid run id' : 'Run not found'}</h1>
        <p>{feed.error.message}</p>
        <p>
          <Link to="/">All runs</Link>
        </p>
      </section>
    );
  }
  if (!feed.detail) return <p className="muted">loading {id}…</p>;
  const { detail, records, status } = feed;
  const last = records[records.length - 1];
  const warning = warningStep(records);
  return (
    <section data-testid="run-page" data-run={id}>
      <div className="toolbar">
        <h1 className="run-title">{id}</h1>
        <StateBadge state={feed.state} />
        <VerdictBadge verdict={feed.detect?.verdict.label ?? null} reason={feed.detect?.verdict.reason} />
        <span className={feed.live ? 'live on' : 'live'} title="updates arrive over Server-Sent Events">
          {feed.live ? 'live' : 'not connected'}
        </span>
        <label className="toggle">
          <input type="checkbox" checked={xLog} onChange={(e) => setXLog(e.target.checked)} /> log step axis
        </label>
      </div>
      {feed.gone && <p className="error-box">{feed.gone}</p>}
      <div className="summary-strip">
        <span>
          step <b>{formatStep(last?.step ?? status?.step ?? null)}</b>
          {detail.row.total_steps !== null && <> / {formatStep(detail.row.total_steps)}</>}
        </span>
        <span>
          train acc <b>{formatAcc(num(last?.train_acc))}</b>
        </span>
        <span>
          test acc <b>{formatAcc(num(last?.test_acc))}</b>
        </span>
        <span>
          test loss <b>{formatLoss(num(last?.test_loss))}</b>
        </span>
        <span>
          ‖θ‖ <b>{num(last?.weight_norm)?.toFixed(1) ?? '–'}</b>
        </span>
        {num(last?.softmax_collapse) !== null && (
          <span title="share of the training examples whose loss is exactly 0 (softmax collapse)">
            softmax collapse <b>{percent(num(last?.softmax_collapse) ?? 0)}</b>
          </span>
        )}
        {warning !== null && (
          <span
            data-testid="circuit-warning"
            title="the progress measures' circuit-forming warning (docs/early-warning.md)"
          >
            circuit forming since step <b>{formatStep(warning)}</b>
          </span>
        )}
        <span>
          training time <b>{formatSeconds(num(last?.wall_s))}</b>
        </span>
        <span className="muted">
          {feed.total} evaluations
          {feed.total > records.length && ` (${records.length} drawn: the extremes of each curve are kept)`}
        </span>
      </div>
      <RunCharts records={records} detect={feed.detect} xLog={xLog} id={id} />
      <div className="panels">
        <DetectPanel detect={feed.detect} error={feed.detectError} />
        <section className="panel">
          <h2>Status</h2>
          <dl>
            <Field label="state">
              <StateBadge state={feed.state} /> {status?.message ?? ''}
            </Field>
            <Field label="step">{formatStep(status?.step ?? null)}</Field>
            <Field label="started">{formatTime(status?.started_at)}</Field>
            <Field label="updated">{formatTime(status?.updated_at)}</Field>
            <Field label="process">
              pid {status?.pid ?? '–'} on {status?.hostname ?? '–'}
            </Field>
            <Field label="checkpoints">
              {detail.checkpoints.length === 0
                ? 'none'
                : `${detail.checkpoints.length}, latest at step ${formatStep(detail.checkpoints[detail.checkpoints.length - 1])}`}
            </Field>
            {detail.bad_lines > 0 && (
              <Field label="metrics">{detail.bad_lines} unreadable lines skipped</Field>
            )}
          </dl>
        </section>
        <ConfigPanel config={detail.config} />
      </div>
      {detail.has_analysis ? (
        <AnalysisPanels id={id} xLog={xLog} />
      ) : (
        <p className="muted">
          No analysis yet: <code>groklab analyze {id}</code> computes Fourier spectra, restricted and excluded
          loss and more per checkpoint; reload this page afterwards.
        </p>
      )}
    </section>
  );
}
