// Uploads that must not happen (not a video, too large) are refused before any byte is
// sent, and a cancelled upload leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { newPage, register, repo, until, useSite } from './support.mjs';

// A 10 KB limit: the 18 KB sample is "too large", a few bytes are fine.
const site = useSite({ REEL_MAX_UPLOAD_BYTES: '10240' });

/** Records the API calls that would create or fill a video. */
function watchUploads(page) {
  const calls = [];
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (request.method() !== 'GET' && /^\/(user\/[^/]+\/videos|upload|blobs)/.test(path)) {
      calls.push(`${request.method()} ${path}`);
    }
  });
  return calls;
}

const status = (page) => page.textContent('#upload-status');

test('a non-video file and an oversize video are refused before uploading', { timeout: 60_000 }, async () => {
  const { base } = site;
  const page = await newPage(site.browser);
  const calls = watchUploads(page);
  await register(page, base, 'frank');
  assert.match(await page.textContent('#upload-limit'), /up to 10 KB/);

  await page.setInputFiles('#upload-file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await page.click('#upload-start');
  await until(page, () => /not a video file/.test(document.getElementById('upload-status').textContent));

  await page.setInputFiles('#upload-file', { name: 'big.mp4', mimeType: 'video/mp4', buffer: Buffer.alloc(20_480) });
  assert.equal(await page.inputValue('#upload-name'), 'big', 'the name follows the chosen file');
  await page.click('#upload-start');
  await until(page, () => /is 20 KB; the largest video you can upload is 10 KB/.test(document.getElementById('upload-status').textContent));

  assert.match(await page.getAttribute('#upload-status', 'class'), /error/);
  assert.deepEqual(calls, [], 'no request was sent');
  await page.waitForSelector('#videos-empty:not([hidden])');
  assert.deepEqual(page.problems, []);
});

test('cancel aborts the transfer and deletes the pending video', { timeout: 60_000 }, async () => {
  const { base } = site;
  const page = await newPage(site.browser);
  const calls = watchUploads(page);
  await register(page, base, 'grace');
  // Hold the PUT to the storage so the upload is still in flight when Cancel is clicked.
  let held;
  const reachedStorage = new Promise((r) => { held = r; });
  await page.route('**/blobs/**', (route) => held(route));

  // A real video (5.5 KB, under this site's 10 KB limit): only the transfer is held.
  await page.setInputFiles('#upload-file', join(repo, 'infra/server/tests/fixtures/media/av1.webm'));
  await page.click('#upload-start');
  const route = await reachedStorage;
  await page.waitForSelector('#upload-cancel:visible');
  assert.ok(await page.isVisible('#upload-progress'));
  assert.ok(await page.isDisabled('#upload-start'), 'one upload at a time');
  await page.click('#upload-cancel');
  await until(page, () => document.getElementById('upload-status').textContent === 'Upload cancelled. Nothing was kept.');
  await route.abort().catch(() => {});

  const created = calls.find((c) => /^POST \/user\/grace\/videos$/.test(c));
  assert.ok(created, 'the video had been created');
  const deleted = calls.filter((c) => c.startsWith('DELETE /user/grace/videos/'));
  assert.equal(deleted.length, 1, `the pending video was deleted: ${calls.join(', ')}`);
  assert.ok(await page.isEnabled('#upload-start'));
  assert.ok(await page.isHidden('#upload-cancel'));

  await page.reload();
  await page.waitForSelector('#videos-empty:not([hidden])');
  assert.match(await status(page), /^$/);
  assert.deepEqual(page.problems, []);
});
