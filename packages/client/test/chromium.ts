/**
 * Chromium for browser tests and benches: Debian's (or $POD_CHROMIUM), driven by playwright-core;
 * no browser is ever downloaded. Without one the tests skip, saying how to get it.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.POD_CHROMIUM ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can: for node:test's `skip`. */
export function chromiumSkip(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  return `no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set POD_CHROMIUM to one`;
}

/** A headless Chromium; close it when done. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--headless', '--no-sandbox'] });
}
