import { type Browser, chromium } from 'playwright-core';

/** Debian's chromium (apt-get install -y chromium), which the browser tests and screenshots drive. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless Chromium without the background traffic and first-run work a test does not need. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
