/**
 * Column globs for `groklab detect --capabilities GLOB`. Column names are paths joined by "/"
 * (JSONL nesting, TensorBoard tags, a run's `test_acc/<component>`), so the glob works like a file
 * glob on them:
 *   *       any characters within one path segment (no "/")
 *   **      any characters across segments ("/" included); a "**" segment may also be empty
 *           ("eval/**" + "/acc" matches "eval/acc" as well as "eval/arc/easy/acc")
 *   ?       one character other than "/"
 *   {a,b}   either alternative (no nesting)
 * Everything else matches itself, case-sensitively. The whole name must match. A W&B panel export's
 * "<run> - " prefix is ignored: 'test_acc/*' matches "g - test_acc/add".
 */
import { UsageError } from '../util/errors.ts';

const SPECIAL = /[\\^$.|+()[\]]/;

/** The regular expression of `glob`; UsageError (field `field`) for an unbalanced brace. */
export function globRegExp(glob: string, field = '--capabilities'): RegExp {
  let out = '';
  let inBraces = false;
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '*') {
      if (glob[i + 1] === '*' && glob[i + 2] === '/') {
        // A "**" segment may be empty, as in a shell's globstar.
        out += '(?:.*/)?';
        i += 2;
      } else if (glob[i + 1] === '*') {
        out += '.*';
        i++;
      } else out += '[^/]*';
    } else if (ch === '?') out += '[^/]';
    else if (ch === '{' && !inBraces) {
      inBraces = true;
      out += '(?:';
    } else if (ch === '}' && inBraces) {
      inBraces = false;
      out += ')';
    } else if (ch === ',' && inBraces) out += '|';
    else if (ch === '{' || ch === '}') {
      throw new UsageError({ field, message: `"${glob}": braces cannot nest or close unopened` });
    } else out += SPECIAL.test(ch) ? `\\${ch}` : ch;
  }
  if (inBraces) throw new UsageError({ field, message: `"${glob}": "{" without its "}"` });
  return new RegExp(`^${out}$`);
}

/** A column's name without a W&B "<run> - " prefix. */
export function bareColumn(column: string): string {
  return column.includes(' - ') ? column.slice(column.lastIndexOf(' - ') + 3) : column;
}

/** The columns whose name (or bare name) the glob matches, in the table's order. */
export function matchColumns(columns: readonly string[], glob: string, field?: string): string[] {
  const re = globRegExp(glob, field);
  return columns.filter((c) => re.test(c) || re.test(bareColumn(c)));
}
