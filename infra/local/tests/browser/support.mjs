// Shared set-up of the browser tests: the real `reel` server on a free loopback port with
// a fresh data directory, and Debian's Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../../../..');
export const sampleMp4 = join(repo, 'shared/tests/fixtures/sample.mp4');
export const screenshots = join(repo, 'target/screenshots');

/** Starts `reel serve` on port 0; resolves with `{ base, stop }`. */
export async function startServer() {
  const bin = process.env.REEL_BIN || join(repo, 'target/debug/reel');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run 'cargo build -p reel-local' first`);
  const dataDir = mkdtempSync(join(tmpdir(), 'reel-browser-'));
  const child = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, RUST_LOG: 'warn' },
  });
  const firstLine = await new Promise((resolveLine, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', resolveLine);
    child.once('exit', (code) => reject(new Error(`reel exited with ${code} before listening`)));
  });
  const base = firstLine.replace('listening on ', '').trim();
  return {
    base,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Launches headless Chromium from Debian's package (never a downloaded browser). */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`${executablePath} is missing: install Debian's chromium (apt-get install chromium)`);
  }
  return chromium.launch({
    executablePath,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** A page that fails the test on any JavaScript dialog, page error or CSP violation. */
export async function newPage(browser, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.problems = [];
  page.on('dialog', (dialog) => {
    page.problems.push(`unexpected dialog: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) page.problems.push(msg.text());
  });
  return page;
}

export async function register(page, base, name, pwd = 'password1') {
  await page.goto(`${base}/`);
  await page.fill('#register-name', name);
  await page.fill('#register-pwd', pwd);
  await page.click('#register-form button[type=submit]');
  await page.waitForURL(`${base}/userhome`);
}

export async function signIn(page, base, name, pwd = 'password1') {
  await page.goto(`${base}/`);
  await page.fill('#signin-name', name);
  await page.fill('#signin-pwd', pwd);
  await page.click('#signin-form button[type=submit]');
}

export async function signOut(page, base) {
  await page.click('#sign-out');
  await page.waitForURL(`${base}/`);
}

/** Saves a screenshot of `page` at both review sizes under target/screenshots/. */
export async function screenshotBoth(page, name) {
  mkdirSync(screenshots, { recursive: true });
  for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
    await page.setViewportSize(viewport);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(100);
    await page.screenshot({ path: join(screenshots, `${name}-${viewport.width}x${viewport.height}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}
