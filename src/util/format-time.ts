/** A duration for people: 42s, 3m07s, 2h05m; '-' when unknown. Rounded to whole seconds first, so 59.6 s reads 1m00s. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  const whole = Math.max(0, Math.round(s));
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}
