// The main journey: register, upload with progress, play and seek, comment, a second
// user comments on the watch page, the owner deletes the video.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, register, signIn, signOut, sampleMp4, screenshotBoth } from './support.mjs';

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

test('register, upload, play, seek, comment, share, delete', { timeout: 120_000 }, async () => {
  const { base } = server;
  const page = await newPage(browser);
  await register(page, base, 'alice');
  await page.waitForSelector('#videos-empty:not([hidden])');
  await screenshotBoth(page, 'userhome-empty');

  // A file that is not a video is refused before any byte is sent.
  await page.setInputFiles('#upload-file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await page.click('#upload-start');
  await page.waitForFunction(() => /not a video/.test(document.getElementById('upload-status').textContent));
  assert.equal(await page.locator('.video-item').count(), 0);
  await page.fill('#upload-name', '');

  // Upload: the progress bar reaches 100% and the video turns ready.
  await page.setInputFiles('#upload-file', sampleMp4);
  assert.equal(await page.inputValue('#upload-name'), 'sample', 'the name defaults to the file name');
  await page.fill('#upload-name', 'Holiday at the sea');
  await page.click('#upload-start');
  await page.waitForFunction(() => document.getElementById('upload-status').textContent.startsWith('Ready'), null, { timeout: 30_000 });
  assert.equal(await page.textContent('#upload-percent'), '100%');
  assert.equal(await page.$eval('#upload-progress', (p) => p.value), 100);
  const item = page.locator('.video-item', { hasText: 'Holiday at the sea' });
  await item.waitFor();
  assert.equal(await item.getAttribute('data-status'), 'ready');
  const vid = await item.getAttribute('data-id');

  // Play: currentTime advances; seek to the middle.
  await item.locator('.video-open').click();
  await page.waitForSelector('#player-card:not([hidden])');
  await page.evaluate(() => document.getElementById('player').play());
  await page.waitForFunction(() => document.getElementById('player').currentTime > 0.5, null, { timeout: 20_000 });
  const middle = await page.evaluate(async () => {
    const video = document.getElementById('player');
    const seeked = new Promise((r) => video.addEventListener('seeked', r, { once: true }));
    video.currentTime = video.duration / 2;
    await seeked;
    return { at: video.currentTime, duration: video.duration };
  });
  assert.ok(Math.abs(middle.duration - 4) < 0.3, `duration ${middle.duration}`);
  assert.ok(Math.abs(middle.at - middle.duration / 2) < 0.5, `seeked to ${middle.at}`);

  // Comment with Enter; it appears at the top.
  const box = page.locator('#player-comments textarea');
  await box.fill('What a view!');
  await box.press('Enter');
  await page.locator('#player-comments .comment', { hasText: 'What a view!' }).waitFor();
  await screenshotBoth(page, 'userhome');
  await page.goto(`${base}/watch/${vid}`);
  await page.locator('.comment', { hasText: 'What a view!' }).waitFor();
  await page.waitForFunction(() => document.getElementById('video-duration').textContent.includes(':'));
  await screenshotBoth(page, 'watch');
  await signOut(page, base);
  await screenshotBoth(page, 'signin');

  // A second user comments on the shareable watch page.
  await register(page, base, 'bob');
  await page.goto(`${base}/watch/${vid}`);
  assert.equal(await page.textContent('#video-title'), 'Holiday at the sea');
  const watchBox = page.locator('#comments textarea');
  await watchBox.fill('Lovely, thanks for sharing');
  await watchBox.press('Enter');
  await page.locator('.comment', { hasText: 'Lovely, thanks for sharing' }).waitFor();
  await signOut(page, base);

  // The owner sees it, then deletes the video with confirmation.
  await signIn(page, base, 'alice');
  await page.waitForURL(`${base}/userhome`);
  await page.goto(`${base}/watch/${vid}`);
  await page.locator('.comment', { hasText: 'Lovely, thanks for sharing' }).waitFor();
  await page.goto(`${base}/userhome`);
  const mine = page.locator('.video-item', { hasText: 'Holiday at the sea' });
  await mine.locator('button', { hasText: 'Delete' }).click();
  await page.waitForSelector('#confirm-delete[open]');
  await page.click('#confirm-delete-yes');
  await mine.waitFor({ state: 'detached' });
  await page.waitForSelector('#videos-empty:not([hidden])');
  await page.goto(`${base}/watch/${vid}`);
  assert.match(await page.textContent('h1'), /not found/i);
  assert.deepEqual(page.problems, []);
});
