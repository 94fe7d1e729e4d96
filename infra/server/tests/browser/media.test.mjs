// What an upload is, as the owner sees it: the real fixtures (made with ffmpeg by
// scripts/make-media-fixtures.sh) uploaded from the page, their duration and
// resolution read by the server, the poster the page captures shown in the list and on
// the watch page, and a renamed text file shown as rejected with its reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { newPage, register, repo, screenshotBoth, until, uploadVideo, useSite } from './support.mjs';

const site = useSite();
const media = join(repo, 'infra/server/tests/fixtures/media');

/** The list item of the video named `name`, once its poster image has loaded. */
async function withPoster(page, name) {
  const item = page.locator('.video-item', { hasText: name }).first();
  await item.waitFor();
  await until(page, (n) => {
    const it = [...document.querySelectorAll('.video-item')].find((li) => li.textContent.includes(n));
    const img = it?.querySelector('.video-thumb img');
    return img && img.complete && img.naturalWidth > 0;
  }, name, 30_000);
  return item;
}

test('uploads show their poster, duration and resolution; a text file is rejected with its reason', { timeout: 180_000 }, async () => {
  const { base } = site;
  const page = await newPage(site.browser);
  await register(page, base, 'maya');

  // ---- an H.264 MP4 and a VP9 WebM: posters made by the page, lengths from the server ----
  const figures = [];
  for (const [file, name] of [['h264-aac-faststart.mp4', 'Test pattern (MP4)'], ['vp9-opus.webm', 'Test pattern (WebM)']]) {
    await page.evaluate(() => { delete document.getElementById('home').dataset.lastPoster; });
    await uploadVideo(page, name, join(media, file));
    const item = await withPoster(page, name);
    assert.match(await item.locator('.video-thumb .duration').textContent(), /^0:02$/);
    assert.match(await item.textContent(), /320×180/);
    const poster = JSON.parse(await page.evaluate(() => document.getElementById('home').dataset.lastPoster || 'null'));
    assert.ok(poster, `${file}: the page made and stored a poster`);
    assert.ok(poster.bytes <= 150_000, `${file}: a poster of ${poster.bytes} bytes`);
    assert.match(poster.type, /^image\/(webp|jpeg)$/);
    const img = await item.locator('.video-thumb img').evaluate((i) => ({ w: i.naturalWidth, h: i.naturalHeight, lazy: i.loading }));
    assert.deepEqual([img.w, img.h, img.lazy], [640, 360, 'lazy'], `${file}: a 640 px wide 16:9 poster, loaded lazily`);
    figures.push({ file, ...poster });
  }
  // The README's poster figures (size and capture time in this browser).
  console.log(`poster figures: ${JSON.stringify(figures)}`);

  // ---- a text file named .mp4: uploaded, then shown as rejected with its reason ----
  await page.setInputFiles('#upload-file', join(media, 'text-file.mp4'));
  await page.fill('#upload-name', 'Not really a video');
  await page.click('#upload-start');
  await until(page, () => /was not accepted: not a video file/.test(document.getElementById('upload-status').textContent), null, 30_000);
  const rejected = page.locator('.video-item[data-status=rejected]', { hasText: 'Not really a video' });
  await rejected.waitFor();
  assert.match(await rejected.textContent(), /Rejected/);
  assert.match(await rejected.textContent(), /not a video file/);
  assert.equal(await rejected.locator('.video-open').isDisabled(), true, 'a rejected upload cannot be played');
  await screenshotBoth(page, 'userhome-media');

  // ---- the watch page: the poster on the player, the length and the resolution ----
  const mp4 = page.locator('.video-item', { hasText: 'Test pattern (MP4)' });
  const vid = await mp4.getAttribute('data-id');
  await page.goto(`${base}/watch/${vid}`);
  assert.match(await page.getAttribute('#player', 'poster'), /\/poster\?/);
  assert.equal(await page.textContent('#video-duration'), '0:02');
  assert.equal(await page.textContent('#video-resolution'), '320×180');
  await screenshotBoth(page, 'watch-poster');

  // ---- the rejected one's watch page says why; its owner deletes it ----
  const rejectedId = await (async () => {
    await page.goto(`${base}/userhome`);
    const item = page.locator('.video-item[data-status=rejected]');
    await item.waitFor();
    return item.getAttribute('data-id');
  })();
  await page.goto(`${base}/watch/${rejectedId}`);
  assert.match(await page.textContent('.player-frame.rejected'), /not a video file/);
  await page.goto(`${base}/userhome`);
  const item = page.locator('.video-item[data-status=rejected]');
  await item.locator('button', { hasText: 'Delete' }).click();
  await page.click('#confirm-delete-yes');
  await item.waitFor({ state: 'detached' });
  assert.deepEqual(page.problems, []);
});
