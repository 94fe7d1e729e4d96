// The main journey: register, upload with progress, play and seek, comment, sign out; a
// second user comments on the shareable watch page; the owner sees that comment and
// deletes the video with confirmation. Screenshots of every page are taken on the way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  newPage, register, signIn, signOut, sampleMp4, screenshotBoth, until, useSite,
} from './support.mjs';

const site = useSite();

test('register, upload, play, seek, comment, share, delete', { timeout: 120_000 }, async () => {
  const { base } = site;
  const page = await newPage(site.browser);
  await page.goto(`${base}/`);
  await screenshotBoth(page, 'signin');

  // ---- user A signs up; the home is empty ----
  await register(page, base, 'alice');
  await page.waitForSelector('#videos-empty:not([hidden])');
  assert.match(await page.textContent('#videos-empty'), /No videos yet — upload one/);
  assert.equal(await page.textContent('.account .who'), 'alice');
  await screenshotBoth(page, 'userhome-empty');

  // ---- upload: the name defaults to the file name, the progress bar reaches 100% ----
  await page.setInputFiles('#upload-file', sampleMp4);
  assert.equal(await page.inputValue('#upload-name'), 'sample', 'the name defaults to the file name');
  await page.fill('#upload-name', 'Holiday at the sea');
  await page.click('#upload-start');
  await until(page, () => document.getElementById('upload-status').textContent.startsWith('Ready'), null, 30_000);
  const bar = await page.$eval('#upload-progress', (p) => ({ value: p.value, max: p.max }));
  assert.equal(bar.value, bar.max, 'the progress bar is full');
  assert.equal(await page.textContent('#upload-percent'), '100%');
  assert.match(await page.textContent('#upload-speed'), /^\d+(\.\d)? [KMGT]?B\/s$/, 'the speed is shown');
  const item = page.locator('.video-item', { hasText: 'Holiday at the sea' });
  await item.waitFor();
  assert.equal(await item.getAttribute('data-status'), 'ready');
  assert.match(await item.textContent(), /Ready/);
  assert.match(await item.textContent(), /18 KB/);
  const vid = await item.getAttribute('data-id');
  assert.equal(await item.locator('a', { hasText: 'Watch page' }).getAttribute('href'), `/watch/${vid}`);

  // ---- play: currentTime advances; seek to the middle (Range requests) ----
  await item.locator('.video-open').click();
  await page.waitForSelector('#player-card:not([hidden])');
  assert.equal(await page.getAttribute('#player', 'src'), `/videos/${vid}`);
  await page.evaluate(() => document.getElementById('player').play());
  await until(page, () => document.getElementById('player').currentTime > 0.5, null, 20_000);
  const middle = await page.evaluate(async () => {
    const video = document.getElementById('player');
    video.pause();
    const seeked = new Promise((r) => video.addEventListener('seeked', r, { once: true }));
    video.currentTime = video.duration / 2;
    await seeked;
    return { at: video.currentTime, duration: video.duration };
  });
  assert.ok(Math.abs(middle.duration - 4) < 0.3, `duration ${middle.duration}`);
  assert.ok(Math.abs(middle.at - 2) < 0.3, `seeked to ${middle.at}`);

  // ---- comment with Enter: it appears at the top ----
  await page.waitForSelector('#player-comments .empty:not([hidden])');
  const box = page.locator('#player-comments textarea');
  await box.fill('What a view!');
  await box.press('Enter');
  const mine = page.locator('#player-comments .comment', { hasText: 'What a view!' });
  await mine.waitFor();
  assert.equal(await box.inputValue(), '', 'the box is cleared after posting');
  assert.match(await mine.locator('time').textContent(), /just now/);
  assert.ok(await mine.locator('time').getAttribute('datetime'), 'the absolute time is in datetime');
  await screenshotBoth(page, 'userhome');

  // ---- the watch page shows the video, its length and the comment ----
  await page.goto(`${base}/watch/${vid}`);
  await page.locator('.comment', { hasText: 'What a view!' }).waitFor();
  await until(page, () => document.getElementById('video-duration').textContent === '0:04');
  await screenshotBoth(page, 'watch');
  await signOut(page, base);

  // ---- user B (same browser) comments on the shared watch page ----
  await register(page, base, 'bob');
  await page.goto(`${base}/watch/${vid}`);
  assert.equal(await page.textContent('#video-title'), 'Holiday at the sea');
  assert.equal(await page.textContent('#video-author'), 'alice');
  await page.locator('.comment', { hasText: 'What a view!' }).waitFor();
  assert.equal(await page.locator('.comment', { hasText: 'What a view!' }).locator('button').count(), 0,
    "bob cannot delete alice's comment on alice's video");
  const watchBox = page.locator('#comments textarea');
  await watchBox.fill('Lovely,\nthanks for sharing');
  await watchBox.press('Enter');
  const bobs = page.locator('.comment', { hasText: 'thanks for sharing' });
  await bobs.waitFor();
  assert.equal(await bobs.locator('.comment-content').textContent(), 'Lovely,\nthanks for sharing', 'line breaks are kept');
  assert.equal(await page.locator('.comment').first().textContent().then((t) => t.includes('thanks for sharing')), true,
    'the new comment is at the top');
  assert.equal(await bobs.locator('button', { hasText: 'Delete' }).count(), 1, 'bob may delete his own comment');
  await signOut(page, base);

  // ---- A signs in again, sees B's comment, deletes the video with confirmation ----
  await signIn(page, base, 'alice');
  await page.waitForURL(`${base}/userhome`);
  const again = page.locator('.video-item', { hasText: 'Holiday at the sea' });
  await again.locator('.video-open').click();
  const fromBob = page.locator('#player-comments .comment', { hasText: 'thanks for sharing' });
  await fromBob.waitFor();
  assert.match(await fromBob.textContent(), /bob/);
  assert.equal(await fromBob.locator('button', { hasText: 'Delete' }).count(), 1, 'the owner may delete any comment');

  // "Keep it" changes nothing; "Delete" removes the video from the list.
  await again.locator('button', { hasText: 'Delete' }).click();
  await page.waitForSelector('#confirm-delete[open]');
  assert.equal(await page.textContent('#confirm-delete-name'), 'Holiday at the sea');
  await page.click('#confirm-delete button[value=cancel]');
  await page.waitForSelector('#confirm-delete:not([open])', { state: 'attached' });
  assert.equal(await again.count(), 1, 'kept');
  await again.locator('button', { hasText: 'Delete' }).click();
  await page.click('#confirm-delete-yes');
  await again.waitFor({ state: 'detached' });
  await page.waitForSelector('#videos-empty:not([hidden])');
  await page.waitForSelector('#player-card[hidden]', { state: 'attached' });
  await page.reload();
  await page.waitForSelector('#videos-empty:not([hidden])');

  const gone = await page.goto(`${base}/watch/${vid}`);
  assert.equal(gone.status(), 404);
  assert.match(await page.textContent('h1'), /not found/i);
  await screenshotBoth(page, 'not-found');
  assert.deepEqual(page.problems, []);
});
