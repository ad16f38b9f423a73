// Entry of the child process that trains one sweep run: registers tsx (as bin/groklab.mjs does),
// then runs child.ts. A separate process per run, so a crash or an out-of-memory kill costs one run.
import { register } from 'tsx/esm/api';

register();
await import('./child.ts');
