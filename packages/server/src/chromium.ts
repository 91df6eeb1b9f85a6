/**
 * Chromium for every package's browser tests and benches (the client's IndexedDB store, the web
 * app): Debian's (or $POD_CHROMIUM), driven by playwright-core; no browser is ever downloaded.
 * Without one the tests skip, saying how to get it. playwright-core is loaded only when a browser
 * starts: a development dependency, absent where the Pod runs.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.POD_CHROMIUM ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can: for node:test's `skip`. */
export function chromiumSkip(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  return `no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set POD_CHROMIUM to one`;
}

/** A headless Chromium; close it when done. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
}
