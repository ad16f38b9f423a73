/** The runs directory every command uses unless told otherwise. */
export const defaultRunsDir = (): string => process.env.GROKLAB_RUNS ?? 'runs';
