/** Number formats for tables, tooltips and cells. */

export function formatStep(step: number | null | undefined): string {
  if (step === null || step === undefined || !Number.isFinite(step)) return '–';
  return Math.round(step).toLocaleString('en-US');
}

/** 1234 → "1.2k", 35000 → "35k", 1.2e6 → "1.2M": for heatmap cells. */
export function compactStep(step: number | null | undefined): string {
  if (step === null || step === undefined || !Number.isFinite(step)) return '–';
  const abs = Math.abs(step);
  if (abs >= 1e6) return `${trim(step / 1e6)}M`;
  if (abs >= 1e4) return `${Math.round(step / 1e3)}k`;
  if (abs >= 1e3) return `${trim(step / 1e3)}k`;
  return String(Math.round(step));
}

function trim(x: number): string {
  return x.toFixed(1).replace(/\.0$/, '');
}

export function formatAcc(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return x.toFixed(3);
}

export function formatLoss(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return x >= 0.01 && x < 1000 ? x.toPrecision(3) : x.toExponential(2);
}

/** Learning rates and weight decays: 0.001 → "1e-3", 0.5 → "0.5". */
export function formatHyper(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (x !== 0 && (Math.abs(x) < 0.01 || Math.abs(x) >= 1e4)) {
    const [m, e] = x.toExponential().split('e');
    const mantissa = Number(m)
      .toPrecision(3)
      .replace(/\.?0+$/, '');
    return `${mantissa === '1' ? '1' : mantissa}e${Number(e)}`;
  }
  return String(Number(x.toPrecision(4)));
}

export function formatValue(x: unknown): string {
  if (typeof x === 'number') return formatHyper(x);
  if (x === null || x === undefined) return '–';
  return typeof x === 'string' ? x : JSON.stringify(x);
}

export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–';
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
