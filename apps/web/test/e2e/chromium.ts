// One Chromium for the browser tests: Debian's build, headless, WebGPU on (SwiftShader without a
// GPU), a throwaway profile, and the page's errors collected for the tests to assert on.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';

export const CHROMIUM = process.env.SEMSEG_CHROMIUM ?? '/usr/bin/chromium';

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors, in order. */
  errors: string[];
  close(): Promise<void>;
}

/** Throws a one-line reason when Debian's chromium is not installed. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's chromium (.ci/run does) or set SEMSEG_CHROMIUM`,
    );
}

export async function launchChromium(
  log: (line: string) => void,
  options: { args?: string[]; consoleErrors?: boolean } = {},
): Promise<BrowserSession> {
  requireChromium();
  const profile = await mkdtemp(join(tmpdir(), 'semseg-web-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 1000 },
    acceptDownloads: true,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--enable-unsafe-webgpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...(options.args ?? []),
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  if (options.consoleErrors ?? true) {
    page.on('console', (message) => {
      if (message.type() === 'error') {
        errors.push(message.text());
        log(`browser console error: ${message.text()}`);
      }
    });
  }
  page.on('pageerror', (error) => {
    errors.push(error.message);
    log(`page error: ${error.message}`);
  });
  return {
    context,
    page,
    errors,
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
