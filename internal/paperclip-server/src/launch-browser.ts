import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PaperclipServerError } from './paperclip-server-error.ts';

/** Where Debian's `chromium` package puts the browser. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a headless Chromium running as root in a container, with no traffic beyond what the page asks for. */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface LaunchBrowserOptions {
  /** @default '/usr/bin/chromium' (or `CK8S_CHROMIUM_PATH`) */
  executablePath?: string;
  /** Extra Chromium flags, after {@link CHROMIUM_FLAGS}. */
  args?: readonly string[];
  /** @default { width: 1280, height: 800 } */
  viewport?: { width: number; height: number };
  /** Per-action and navigation timeout in milliseconds. @default 30_000 */
  timeoutMs?: number;
}

/** A headless Chromium with a fresh profile; `await using browser = await launchBrowser()` closes and deletes it. */
export interface BrowserHarness extends AsyncDisposable {
  context: BrowserContext;
  /** The fresh `--user-data-dir`, removed on close. */
  userDataDir: string;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Launches Debian Chromium through `playwright-core` (no Playwright browser download). */
export async function launchBrowser(options: LaunchBrowserOptions = {}): Promise<BrowserHarness> {
  const executablePath = options.executablePath ?? process.env['CK8S_CHROMIUM_PATH'] ?? DEFAULT_CHROMIUM_PATH;
  try {
    accessSync(executablePath, constants.X_OK);
  } catch {
    throw new PaperclipServerError(
      `launch browser: ${executablePath} not found or not executable; install it with \`apt-get install -y --no-install-recommends chromium\` (scripts/ensure-system-deps.sh) or set CK8S_CHROMIUM_PATH`,
    );
  }
  const userDataDir = await mkdtemp(join(tmpdir(), 'ck8s-chromium-'));
  let context: BrowserContext;
  try {
    // A persistent context is Playwright's way to pass our own --user-data-dir.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      chromiumSandbox: false,
      args: [...CHROMIUM_FLAGS, ...(options.args ?? [])],
      viewport: options.viewport ?? { width: 1280, height: 800 },
      timeout: options.timeoutMs ?? 30_000,
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw new PaperclipServerError(`launch browser ${executablePath}: ${(error as Error).message}`, { cause: error });
  }
  context.setDefaultTimeout(options.timeoutMs ?? 30_000);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await context.close().catch(() => undefined);
    await rm(userDataDir, { recursive: true, force: true });
  };
  return { context, userDataDir, newPage: () => context.newPage(), close, [Symbol.asyncDispose]: close };
}
