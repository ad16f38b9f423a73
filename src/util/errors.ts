/** One problem with user input: the field it concerns and what is allowed there. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * Bad user input (config, preset, CLI argument, missing run). The CLI prints one line per
 * problem and exits with code 2; nothing is written before the input has been validated.
 */
export class UsageError extends Error {
  readonly problems: FieldProblem[];

  constructor(problems: FieldProblem[] | FieldProblem) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.map((p) => `${p.field}: ${p.message}`).join('\n'));
    this.name = 'UsageError';
    this.problems = list;
  }
}

/**
 * A command that ran to its end but must exit with `code` (1: some sweep runs failed, 130:
 * interrupted). It has already reported why; the CLI only turns it into the exit code.
 */
export class CommandExit extends Error {
  constructor(readonly code: number) {
    super(`exit code ${code}`);
    this.name = 'CommandExit';
  }
}
