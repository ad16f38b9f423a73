/**
 * The lines of a plain-text table: each column as wide as its widest cell, columns two spaces
 * apart, trailing blanks trimmed. Columns from `rightAlignFrom` on are right-aligned (numbers).
 */
export function alignColumns(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  rightAlignFrom = header.length,
): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  return [header, ...rows].map((row) =>
    row
      .map((c, i) => (i < rightAlignFrom ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}
