// "Load more" on the video list and on comments, and a video still processing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPage, register, useSite } from './support.mjs';

const site = useSite();

/** Calls the API from the page, with the session id the page was rendered with. */
function call(page, method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const sid = document.querySelector('meta[name="reel-session"]').content;
    const r = await fetch(p, {
      method: m,
      headers: { 'X-Session-Id': sid, 'Content-Type': 'application/json' },
      body: b === undefined ? undefined : JSON.stringify(b),
    });
    if (!r.ok) throw new Error(`${m} ${p}: ${r.status}`);
    return r.status === 204 ? null : r.json();
  }, [method, path, body]);
}

test('videos and comments page with "load more"; a pending video says so', { timeout: 60_000 }, async () => {
  const { base } = site;
  const page = await newPage(site.browser);
  await register(page, base, 'heidi');
  // 13 videos (never uploaded, so pending), created oldest first.
  const ids = [];
  for (let i = 1; i <= 13; i += 1) ids.push((await call(page, 'POST', '/user/heidi/videos', { name: `Clip ${i}` })).id);
  await page.reload();
  await page.locator('.video-item').nth(11).waitFor();
  assert.equal(await page.locator('.video-item').count(), 12, 'a first page of 12');
  assert.equal(await page.locator('.video-item .video-name').first().textContent(), 'Clip 13', 'newest first');
  assert.match(await page.locator('.video-item').first().textContent(), /Pending/);
  assert.ok(await page.isDisabled('.video-item .video-open >> nth=0'), 'a pending video cannot be played');
  await page.click('#videos-more');
  await page.locator('.video-item').nth(12).waitFor();
  assert.equal(await page.locator('.video-item .video-name').last().textContent(), 'Clip 1');
  await page.waitForSelector('#videos-more', { state: 'hidden' });

  // 21 comments on the oldest video: 20, then the last one after "load more".
  const vid = ids[0];
  for (let i = 1; i <= 21; i += 1) await call(page, 'POST', `/videos/${vid}/comments`, { content: `Note ${i}` });
  await page.goto(`${base}/watch/${vid}`);
  assert.match(await page.textContent('.player-frame.pending'), /still processing/);
  assert.equal(await page.textContent('#video-duration'), 'still processing');
  await page.locator('.comment').nth(19).waitFor();
  assert.equal(await page.locator('.comment').count(), 20);
  assert.equal(await page.locator('.comment-content').first().textContent(), 'Note 21');
  await page.click('#comments button.more');
  await page.locator('.comment').nth(20).waitFor();
  assert.equal(await page.locator('.comment-content').last().textContent(), 'Note 1');
  await page.waitForSelector('#comments button.more', { state: 'hidden' });

  // Deleting one's own comment removes it.
  await page.locator('.comment', { hasText: 'Note 21' }).locator('button', { hasText: 'Delete' }).click();
  await page.locator('.comment', { hasText: 'Note 21' }).waitFor({ state: 'detached' });
  assert.equal(await page.locator('.comment').count(), 20);
  assert.deepEqual(page.problems, []);
});
