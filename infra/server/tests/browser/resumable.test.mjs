// Resumable uploads in parts from /userhome: an upload cut off mid-way carries on after a
// reload from the parts storage holds and ends with identical bytes; pause and resume;
// cancel aborts the upload and deletes the pending video.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newPage, register, sampleMp4, screenshotBoth, until, useSite } from './support.mjs';

// Anything over 1 MiB goes in parts; parts are 8 MiB, so the file below is 3 of them.
const site = useSite({ REEL_MULTIPART_THRESHOLD_BYTES: String(1 << 20) });

const MIB = 1 << 20;
const SIZE = 22 * MIB + 12_345; // the last part is not a whole one
const PART = 8 * MIB;

/** The sample MP4 followed by a `free` box of random bytes up to SIZE: a video the
 *  server makes ready, whose every part differs, written to disk so that picking it
 *  again gives the same name, size and last-modified time. */
function makeVideo() {
  const dir = mkdtempSync(join(tmpdir(), 'reel-resumable-'));
  const sample = readFileSync(sampleMp4);
  const header = Buffer.alloc(16);
  header.writeUInt32BE(1, 0); // size 1: a 64-bit size follows the type
  header.write('free', 4, 'latin1');
  header.writeBigUInt64BE(BigInt(SIZE - sample.length), 8);
  const bytes = Buffer.concat([sample, header, randomBytes(SIZE - sample.length - header.length)]);
  const path = join(dir, 'long-holiday.mp4');
  writeFileSync(path, bytes);
  return { dir, path, sha256: sha256(bytes) };
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const video = makeVideo();
after(() => rmSync(video.dir, { recursive: true, force: true }));

/** Part PUTs to storage: `/blobs/{vid}?…&part=N`. */
const isPartPut = (request) => request.method() === 'PUT'
  && new URL(request.url()).pathname.startsWith('/blobs/') && new URL(request.url()).searchParams.has('part');
const partOf = (request) => Number(new URL(request.url()).searchParams.get('part'));

/** Routes the page's part PUTs: the first `pass` go through; the rest fail at once as a
 *  dropped connection (`abort`) or are held in `held`, stalled until `release()`. */
async function holdParts(page, pass, { abort = false } = {}) {
  const held = [];
  let passed = 0;
  const handler = (route) => {
    if (!isPartPut(route.request())) return route.continue();
    if (passed < pass) {
      passed += 1;
      return route.continue();
    }
    if (abort) return route.abort('connectionreset');
    held.push(route);
    return undefined;
  };
  await page.route('**/blobs/**', handler);
  return {
    held,
    async release() {
      await page.unroute('**/blobs/**', handler);
      for (const route of held.splice(0)) await route.abort('connectionreset').catch(() => {});
    },
  };
}

/** The upload this page remembers in localStorage (there is one file in these tests). */
function remembered(page) {
  return page.evaluate(() => Object.keys(localStorage)
    .filter((key) => key.startsWith('reel.upload.'))
    .map((key) => JSON.parse(localStorage.getItem(key))));
}

/** The stored bytes of the video, through its stream URL (307 to the signed blob URL). */
async function storedSha(page, base, vid) {
  const response = await page.request.get(`${base}/videos/${encodeURIComponent(vid)}`);
  assert.equal(response.status(), 200);
  return sha256(await response.body());
}

const statusText = () => document.getElementById('upload-status').textContent;

test('an upload cut off mid-way resumes after a reload and stores identical bytes', { timeout: 120_000 }, async () => {
  const { base } = site;
  const page = await newPage(site.browser);
  await register(page, base, 'ivy');
  const puts = [];
  page.on('request', (request) => { if (isPartPut(request)) puts.push(partOf(request)); });

  // One part lands; the others never get through (aborted, as a lost network would,
  // however often the page tries again).
  const parts = await holdParts(page, 1, { abort: true });
  const firstStored = page.waitForResponse((r) => isPartPut(r.request()) && r.status() === 200);
  await page.setInputFiles('#upload-file', video.path);
  await page.click('#upload-start');
  const first = partOf((await firstStored).request());
  await until(page, () => !document.getElementById('upload-pause').hidden);
  const [record] = await remembered(page);
  assert.equal(record.part_count, 3);
  assert.equal(record.name, 'long-holiday');

  // The tab goes away with parts in flight; the remembered upload survives it.
  await page.reload();
  await parts.release();
  await page.waitForSelector('#videos-loading', { state: 'hidden' });
  assert.deepEqual(await remembered(page), [record]);

  // Picking the same file again says how much is already there.
  puts.length = 0;
  await page.setInputFiles('#upload-file', video.path);
  const storedBytes = first === 3 ? SIZE - 2 * PART : PART;
  const note = `Resuming: ${Math.round(storedBytes / MIB)} MB of 22 MB already uploaded`;
  await until(page, (text) => document.getElementById('upload-status').textContent.startsWith(text), note);
  assert.equal(await page.textContent('#upload-start'), 'Resume upload');
  assert.equal(await page.inputValue('#upload-name'), 'long-holiday');
  await screenshotBoth(page, 'upload-resuming');

  // Storage fails the first part sent with a 503: the page tries it again after a pause.
  let failed = null;
  await page.route('**/blobs/**', (route) => {
    if (failed !== null || !isPartPut(route.request())) return route.continue();
    failed = partOf(route.request());
    return route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"busy"}' });
  });
  await page.click('#upload-start');
  await until(page, () => document.getElementById('upload-status').textContent.startsWith('Ready'), null, 60_000);
  const missing = [1, 2, 3].filter((n) => n !== first);
  assert.deepEqual(puts.sort(), [...missing, failed].sort(), 'only the missing parts were sent, the failed one twice');
  assert.deepEqual(await remembered(page), [], 'a finished upload is forgotten');
  const item = page.locator('.video-item', { hasText: 'long-holiday' });
  assert.equal(await item.getAttribute('data-id'), record.video_id);
  assert.equal(await item.getAttribute('data-status'), 'ready');
  assert.equal(await page.locator('.video-item').count(), 1, 'no second video was made');
  assert.equal(await storedSha(page, base, record.video_id), video.sha256);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('pause aborts the parts in flight and resume sends them again', { timeout: 120_000 }, async () => {
  const { base } = site;
  const page = await newPage(site.browser);
  await register(page, base, 'jack');
  const puts = [];
  page.on('request', (request) => { if (isPartPut(request)) puts.push(partOf(request)); });

  // A slow link (4 MiB/s up), so the first part takes long enough to show its speed.
  const cdp = await page.context().newCDPSession(page);
  const throttle = (bytesPerSecond) => cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond,
  });
  await throttle(4 * MIB);
  const parts = await holdParts(page, 1);
  const firstStored = page.waitForResponse((r) => isPartPut(r.request()) && r.status() === 200);
  await page.setInputFiles('#upload-file', video.path);
  await page.click('#upload-start');
  await until(page, () => /B\/s$/.test(document.getElementById('upload-speed').textContent)
    && /^\d+:\d\d left$/.test(document.getElementById('upload-eta').textContent));
  await screenshotBoth(page, 'upload-in-parts');
  const first = partOf((await firstStored).request());
  await throttle(-1);
  await until(page, () => !document.getElementById('upload-pause').hidden);
  while (parts.held.length < 2) await page.waitForTimeout(50);

  await page.click('#upload-pause');
  await until(page, () => /^Paused at \d+%/.test(document.getElementById('upload-status').textContent));
  assert.ok(await page.isVisible('#upload-resume'));
  assert.ok(await page.isHidden('#upload-pause'));
  assert.ok(await page.isVisible('#upload-cancel'), 'a paused upload can still be cancelled');
  // The aborted parts' bytes no longer count; the stored part's do.
  const shown = Number(await page.getAttribute('#upload-progress', 'value'));
  assert.ok(shown >= 27 && shown <= 37, `progress while paused: ${shown}%`);
  await parts.release();
  const sentBefore = puts.length;
  await page.waitForTimeout(1500);
  assert.equal(puts.length, sentBefore, 'no part starts while paused');

  await page.click('#upload-resume');
  await until(page, () => document.getElementById('upload-status').textContent.startsWith('Ready'), null, 60_000);
  const resent = puts.slice(sentBefore).sort();
  assert.deepEqual(resent, [1, 2, 3].filter((n) => n !== first), 'resume sends only the parts not stored');
  const vid = await page.locator('.video-item', { hasText: 'long-holiday' }).getAttribute('data-id');
  assert.equal(await storedSha(page, base, vid), video.sha256);
  assert.deepEqual(await remembered(page), []);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('cancel aborts the upload in parts and deletes the pending video', { timeout: 60_000 }, async () => {
  const { base } = site;
  const page = await newPage(site.browser);
  await register(page, base, 'kim');
  const aborts = [];
  page.on('request', (request) => {
    if (request.method() === 'DELETE') aborts.push(new URL(request.url()).pathname);
  });

  const parts = await holdParts(page, 0);
  await page.setInputFiles('#upload-file', video.path);
  await page.click('#upload-start');
  while (parts.held.length < 3) await page.waitForTimeout(50);
  const [record] = await remembered(page);
  await page.click('#upload-cancel');
  await until(page, () => document.getElementById('upload-status').textContent === 'Upload cancelled. Nothing was kept.');
  await parts.release();

  assert.deepEqual(aborts, [`/upload/${record.video_id}`, `/user/kim/videos/${record.video_id}`]);
  const query = new URLSearchParams({ upload_id: record.upload_id });
  const listed = await page.request.get(`${base}/upload/${record.video_id}/parts?${query}`);
  assert.equal(listed.status(), 404, 'the upload is gone');
  assert.deepEqual(await remembered(page), [], 'a cancelled upload is forgotten');
  assert.ok(await page.isHidden('#upload-pause'));
  assert.ok(await page.isHidden('#upload-resume'));

  await page.reload();
  await page.waitForSelector('#videos-empty:not([hidden])');
  assert.equal(await page.locator('.video-item').count(), 0);
  // Picking the file again starts afresh: nothing to resume.
  await page.setInputFiles('#upload-file', video.path);
  await page.waitForTimeout(300);
  assert.doesNotMatch(await page.evaluate(statusText), /Resuming/);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
