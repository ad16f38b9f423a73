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

/** A markdown table, one line per row; `|` in a cell is escaped and a line break becomes a space. */
export function markdownTable(header: readonly string[], body: readonly (readonly string[])[]): string {
  const esc = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const lines = [`| ${header.map(esc).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of body) lines.push(`| ${r.map(esc).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}
