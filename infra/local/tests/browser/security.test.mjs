// User strings are text, never markup: nothing a user types runs in another's browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, register, sampleMp4 } from './support.mjs';

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const EVIL = '<img src=x onerror=alert(1)>';

test('a comment and a video name of markup render as text and run nothing', { timeout: 60_000 }, async () => {
  const { base } = server;
  const page = await newPage(browser);
  await register(page, base, 'mallory');
  await page.setInputFiles('#upload-file', sampleMp4);
  await page.fill('#upload-name', EVIL);
  await page.click('#upload-start');
  await page.waitForFunction(() => document.getElementById('upload-status').textContent.startsWith('Ready'), null, { timeout: 30_000 });
  const item = page.locator('.video-item').first();
  assert.equal(await item.locator('.video-name').textContent(), EVIL);
  const vid = await item.getAttribute('data-id');

  await page.goto(`${base}/watch/${vid}`);
  assert.equal(await page.textContent('#video-title'), EVIL);
  const box = page.locator('#comments textarea');
  await box.fill(EVIL);
  await box.press('Enter');
  const comment = page.locator('.comment-content', { hasText: EVIL });
  await comment.waitFor();
  await page.reload();
  await page.locator('.comment-content', { hasText: EVIL }).waitFor();
  assert.equal(await page.locator('main img').count(), 0, 'no <img> was created from user text');
  await page.waitForTimeout(300);
  assert.deepEqual(page.problems, [], 'no alert, no page error, no CSP violation');
});
