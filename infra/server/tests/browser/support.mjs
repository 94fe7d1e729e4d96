// Shared set-up of the browser tests: the real `reel` server on a free loopback port with
// a fresh data directory, and Debian's Chromium driven by playwright-core (no browser is
// ever downloaded).
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../../../..');
export const sampleMp4 = join(repo, 'infra/server/tests/fixtures/sample.mp4');
export const screenshots = join(repo, 'target/screenshots');
const logs = join(repo, 'target/browser-tests');

/** Servers still running, killed if the test process exits without stopping them. */
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `reel serve` on port 0 with a fresh data directory (and any extra environment,
 * e.g. a small REEL_MAX_UPLOAD_BYTES); resolves with `{ base, stop }` once it listens.
 * Its stderr (the request log) goes to target/browser-tests/<test file>.log.
 */
export async function startServer(env = {}) {
  const bin = resolve(process.env.REEL_BIN || join(here, '../../../../target/debug/reel'));
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run 'cargo build -p reel-local' first`);
  const dataDir = mkdtempSync(join(tmpdir(), 'reel-browser-'));
  mkdirSync(logs, { recursive: true });
  const log = createWriteStream(join(logs, `${basename(process.argv[1] || 'server', '.mjs')}.log`));
  const child = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1', ...env },
  });
  running.add(child);
  child.stderr.pipe(log);
  const cleanUp = () => {
    running.delete(child);
    rmSync(dataDir, { recursive: true, force: true });
  };
  let firstLine;
  try {
    firstLine = await new Promise((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new Error('reel did not start listening within 20 s')), 20_000);
      createInterface({ input: child.stdout }).once('line', (line) => {
        clearTimeout(timer);
        resolveLine(line);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`reel exited with ${code} before listening (see ${logs})`));
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    cleanUp();
    throw error;
  }
  const match = /^listening on (http:\/\/\S+)/.exec(firstLine);
  if (!match) throw new Error(`unexpected first line from reel: ${firstLine}`);
  child.stdout.resume(); // keep draining so the server never blocks on a full pipe
  return {
    base: match[1].replace(/\/$/, ''),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      cleanUp();
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
      // Lets the tests call video.play() without a user gesture.
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/**
 * A page (in its own context, so its own cookies) that records every JavaScript dialog,
 * page error and CSP violation in `page.problems`; tests assert it stays empty.
 */
export async function newPage(browser, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  page.problems = [];
  page.on('dialog', (dialog) => {
    page.problems.push(`unexpected dialog: ${dialog.type()} ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) page.problems.push(msg.text());
  });
  return page;
}

/** Polls `fn` (evaluated in the page) until it returns something truthy. */
export function until(page, fn, arg, timeout = 15_000) {
  return page.waitForFunction(fn, arg, { timeout, polling: 50 });
}

export async function register(page, base, name, pwd = 'password1') {
  await page.goto(`${base}/`);
  await page.fill('#register-name', name);
  await page.fill('#register-pwd', pwd);
  await page.click('#register-form button[type=submit]');
  await page.waitForURL(`${base}/userhome`);
}

/** Submits the sign-in form (the caller decides what to expect next). */
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

/** Uploads `file` from the user home under `name` and waits until the page says Ready. */
export async function uploadVideo(page, name, file = sampleMp4) {
  await page.setInputFiles('#upload-file', file);
  await page.fill('#upload-name', name);
  await page.click('#upload-start');
  await until(page, () => document.getElementById('upload-status').textContent.startsWith('Ready'), null, 30_000);
  const item = page.locator('.video-item', { hasText: name }).first();
  await item.waitFor();
  return item.getAttribute('data-id');
}

/**
 * Saves full-page screenshots of `page` at both review sizes (1280×800, 390×844) as
 * target/screenshots/<name>-<w>x<h>.png, once fonts are loaded and no video is loading.
 */
export async function screenshotBoth(page, name) {
  mkdirSync(screenshots, { recursive: true });
  // The resting state: no focus ring left over from the test's typing.
  await page.evaluate(() => document.activeElement?.blur());
  for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
    await page.setViewportSize(viewport);
    await page.evaluate(() => window.scrollTo(0, 0));
    await until(page, () => document.fonts.status === 'loaded'
      && [...document.querySelectorAll('video[src]')].every((v) => v.readyState >= 2 || v.error));
    // Chromium's media controls fade their loading spinner out after the data arrives.
    if (await page.locator('video[src]').count()) await page.waitForTimeout(800);
    await page.screenshot({ path: join(screenshots, `${name}-${viewport.width}x${viewport.height}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

/**
 * Starts a server (with extra environment `env`) and a browser before the file's tests
 * and stops both after them. Returns an object whose `base` and `browser` are set once
 * the tests run.
 */
export function useSite(env = {}) {
  const site = { base: '', browser: null, server: null };
  before(async () => {
    site.server = await startServer(env);
    site.base = site.server.base;
    site.browser = await launchBrowser();
  });
  after(async () => {
    await site.browser?.close();
    await site.server?.stop();
  });
  return site;
}
