/**
 * What the app's browser tests share: a real Pod on loopback serving the built app, Debian's
 * Chromium driven by playwright-core (never a downloaded browser), pages that record any request
 * leaving the Pod's origin, and screenshots as test artefacts (test-artifacts/, not committed).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, startTestPod, type TestPod } from '@pod/server/testing';
import type { PodConfig } from '@pod/server';

/** Why the browser tests cannot run here, or undefined when they can. */
export const noBrowser = chromiumSkip();

const artifacts = fileURLToPath(new URL('../../../../test-artifacts/screenshots/', import.meta.url));

export interface Lab {
  pod: TestPod;
  browser: Browser;
  /** A fresh browser profile (its own storage) with a page on the Pod's origin. */
  page(): Promise<{ context: BrowserContext; page: Page; foreignRequests: string[] }>;
  close(): Promise<void>;
}

export async function startLab(overrides: Partial<PodConfig> = {}): Promise<Lab> {
  const pod = await startTestPod(overrides);
  const browser = await launchChromium();
  const contexts: BrowserContext[] = [];
  return {
    pod,
    browser,
    async page() {
      const context = await browser.newContext({ acceptDownloads: true });
      contexts.push(context);
      const page = await context.newPage();
      const foreignRequests: string[] = [];
      page.on('request', (request) => {
        const url = request.url();
        if (!url.startsWith(`${pod.url}/`) && !url.startsWith('data:') && !url.startsWith('blob:'))
          foreignRequests.push(url);
      });
      return { context, page, foreignRequests };
    },
    async close() {
      for (const context of contexts) await context.close();
      await browser.close();
      await pod.close();
    },
  };
}

/** A lab for the tests of the enclosing `describe`: started before them, closed after them. */
export function useLab(overrides: Partial<PodConfig> = {}): () => Lab {
  let lab: Lab | undefined;
  before(async () => {
    lab = await startLab(overrides);
  });
  after(async () => lab?.close());
  return () => {
    if (!lab) throw new Error('the lab starts before the tests of its describe');
    return lab;
  };
}

/** Saves a screenshot of the page as a test artefact. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}
