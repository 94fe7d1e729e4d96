// User strings are text, never markup: nothing a user types runs in another's browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPage, register, signOut, uploadVideo, useSite } from './support.mjs';

const site = useSite();

const EVIL = '<img src=x onerror=alert(1)>';

test('a comment and a video name of markup render as text and run nothing', { timeout: 60_000 }, async () => {
  const { base } = site;
  const page = await newPage(site.browser);
  const images = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/x') images.push(request.url());
  });
  await register(page, base, 'mallory');
  const vid = await uploadVideo(page, EVIL);

  // The user home: list, status line, player title, delete dialog.
  const item = page.locator(`.video-item[data-id="${vid}"]`);
  assert.equal(await item.locator('.video-name').textContent(), EVIL);
  assert.match(await page.textContent('#upload-status'), /<img src=x onerror=alert\(1\)>/);
  await item.locator('.video-open').click();
  assert.equal(await page.textContent('#player-title'), EVIL);
  const box = page.locator('#player-comments textarea');
  await box.fill(EVIL);
  await box.press('Enter');
  await page.locator('#player-comments .comment-content', { hasText: EVIL }).waitFor();
  await item.locator('button', { hasText: 'Delete' }).click();
  assert.equal(await page.textContent('#confirm-delete-name'), EVIL);
  await page.keyboard.press('Escape');
  // The one image is the poster the page made, from the server's signed URL.
  assert.equal(await page.locator('main img:not(.video-thumb > img)').count(), 0, 'no <img> made from user text');
  for (const src of await page.locator('main .video-thumb > img').evaluateAll((imgs) => imgs.map((i) => i.getAttribute('src')))) {
    assert.match(src, new RegExp(`^${base}/blobs/${vid}/poster\\?`));
  }

  // The watch page, rendered by the server, for another user.
  await signOut(page, base);
  await register(page, base, 'victim');
  await page.goto(`${base}/watch/${vid}`);
  assert.equal(await page.textContent('#video-title'), EVIL);
  assert.ok((await page.title()).startsWith(EVIL), 'the title is text too');
  await page.locator('.comment-content', { hasText: EVIL }).waitFor();
  const watchBox = page.locator('#comments textarea');
  await watchBox.fill(`${EVIL}<script>alert(2)</script>`);
  await watchBox.press('Enter');
  await page.locator('.comment-content', { hasText: `${EVIL}<script>alert(2)</script>` }).waitFor();
  assert.ok(await page.isVisible(`.comment-content >> text=${EVIL}`), 'the markup is visible literally');
  assert.equal(await page.locator('#comments img, #comments script').count(), 0, 'no element made from user text');
  assert.equal(await page.locator('main img').count(), 0);

  // Let any stray handler fire before concluding none did.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 200))));
  assert.deepEqual(images, [], 'the browser never tried to load the injected image');
  assert.deepEqual(page.problems, [], 'no alert, no page error, no CSP violation');
});
