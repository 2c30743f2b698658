import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

/**
 * Debian's Chromium, found through CHROMIUM_PATH or /usr/bin/chromium (never a downloaded browser). Undefined when
 * absent: browser tests are then skipped with a notice, except in CI, where a missing browser is an error.
 */
export function chromiumPath(): string | undefined {
  const path = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
  if (existsSync(path)) return path;
  if (process.env.CI === "true")
    throw new Error(`Chromium not found at ${path}: CI must run the browser tests (.ci/run installs it)`);
  console.warn(
    `NOTICE: browser tests skipped: no Chromium at ${path} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
  return undefined;
}

/** Where screenshots go (not committed). */
export const SCREENSHOT_DIR = join(import.meta.dir, "../../test-results/console");

/**
 * A fresh headless Chromium with its own profile. Every host but loopback resolves to nothing and goes through a
 * proxy that does not exist, so a page that needs the internet shows it by failing.
 */
export async function launchChromium(
  executablePath: string,
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "switchboard-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1366, height: 768 },
    timeout: 30_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
      "--proxy-server=http://127.0.0.1:9",
      "--proxy-bypass-list=127.0.0.1;localhost",
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
