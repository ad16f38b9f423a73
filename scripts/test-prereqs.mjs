#!/usr/bin/env node
/**
 * First step of `npm test`: the system programs the suite drives. The browser tests (lab,
 * dashboard) run Debian's headless Chromium; the queue test starts a private redis-server; the
 * TransformerLens interop test checks groklab's logits against PyTorch (Debian's python3-torch).
 * Missing ones are installed with apt-get where that is possible (root, or passwordless sudo, on
 * Debian or Ubuntu); otherwise the suite stops here with one line saying what to install, rather
 * than failing deep inside. GROKLAB_SKIP_BROWSER=1 / GROKLAB_SKIP_QUEUE=1 / GROKLAB_SKIP_TORCH=1 opt
 * out explicitly (the tests then report themselves as skipped, with the reason).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const commandWorks = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

const REQUIRED = [
  {
    pkg: 'chromium',
    installed: () => existsSync('/usr/bin/chromium'),
    optOut: 'GROKLAB_SKIP_BROWSER',
    needs: 'browser tests',
  },
  {
    pkg: 'redis-server',
    installed: () => existsSync('/usr/bin/redis-server'),
    optOut: 'GROKLAB_SKIP_QUEUE',
    needs: 'queue test',
  },
  {
    pkg: 'python3-torch',
    installed: () => commandWorks('/usr/bin/python3', ['-c', 'import torch']),
    optOut: 'GROKLAB_SKIP_TORCH',
    needs: 'PyTorch interop test',
  },
];

const missing = REQUIRED.filter((r) => process.env[r.optOut] !== '1' && !r.installed());
if (missing.length === 0) process.exit(0);

const packages = missing.map((r) => r.pkg);
const isRoot = process.getuid?.() === 0;
const sudo = isRoot ? [] : commandWorks('sudo', ['-n', 'true']) ? ['sudo', '-n'] : null;

function stop(why) {
  const optOuts = missing.map((r) => `${r.optOut}=1`).join(' ');
  process.stderr.write(
    `groklab tests: ${why}; install ${packages.join(' and ')} (Debian/Ubuntu: sudo apt-get install -y ${packages.join(' ')}) for the ${missing.map((r) => r.needs).join(' and ')}, or skip them with ${optOuts} npm test\n`,
  );
  process.exit(1);
}

if (!commandWorks('apt-get', ['--version'])) stop(`${packages.join(', ')} missing and no apt-get here`);
if (sudo === null)
  stop(`${packages.join(', ')} missing and not root (apt-get needs root or passwordless sudo)`);

function aptGet(args) {
  const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
  return (
    spawnSync(cmd, rest, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status === 0
  );
}

process.stderr.write(
  `groklab tests: installing ${packages.join(' ')} with apt-get (for the ${missing.map((r) => r.needs).join(' and ')})…\n`,
);
// Straight from the package lists the machine has; if they are stale or absent, refresh them once.
const installed =
  aptGet(['install', '-y', ...packages]) || (aptGet(['update']) && aptGet(['install', '-y', ...packages]));
const stillMissing = missing.filter((r) => !r.installed());
if (!installed || stillMissing.length > 0) stop(`apt-get could not install ${packages.join(' ')}`);
process.stderr.write(`groklab tests: installed ${packages.join(' ')}\n`);
