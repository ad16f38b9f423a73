import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** Debian's Python (apt-get install -y python3-torch), which runs the PyTorch peers in test/peers/. */
export const PYTHON = '/usr/bin/python3';

/** The `skip` of a PyTorch comparison: a reason when GROKLAB_SKIP_TORCH=1, else false. */
export const SKIP_TORCH =
  process.env.GROKLAB_SKIP_TORCH === '1' ? 'GROKLAB_SKIP_TORCH=1: PyTorch comparison skipped' : false;

/** Fails, saying what to install, when Debian's PyTorch is missing: a green suite means the comparison ran. */
export function assertTorch(): void {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  assert.equal(
    r.status,
    0,
    `${PYTHON} cannot import torch (${r.error?.message ?? r.stderr.trim()}): apt-get install -y python3-torch libopenblas0-pthread, or set GROKLAB_SKIP_TORCH=1`,
  );
}
