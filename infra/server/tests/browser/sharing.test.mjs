// Sharing, as people do it: the owner picks who can watch on the watch page and at
// upload; a signed-out visitor opens a public link, plays and seeks; an unlisted link
// works signed out but is on no list; a private one is the 404 page; Explore and the
// channel follow the owner's choice at once (for a signed-out browser that already
// holds a copy, within the 60 s its Cache-Control allows); "Copy link" copies the
// watch URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPage, register, screenshotBoth, until, uploadVideo, useSite } from './support.mjs';

const site = useSite();

/** Uploads `name` with visibility `visibility` chosen in the upload form. */
async function upload(page, name, visibility) {
  await page.selectOption('#upload-visibility', visibility);
  return uploadVideo(page, name);
}

/** The names on a grid page (Explore, a channel). */
async function gridNames(page, url) {
  await page.goto(url);
  return page.locator('.video-grid .grid-title').allTextContents();
}

test('public, unlisted and private videos as a signed-out visitor sees them', { timeout: 180_000 }, async () => {
  const { base } = site;
  const owner = await newPage(site.browser);
  await register(owner, base, 'nora');
  const pub = await upload(owner, 'Sunrise over the bay', 'public');
  const unlisted = await upload(owner, 'Family dinner', 'unlisted');
  const secret = await upload(owner, 'My diary', 'private');
  const inside = await upload(owner, 'Team meeting', 'internal');

  // ---- a visitor without an account ----
  const visitor = await newPage(site.browser);
  await visitor.goto(`${base}/watch/${pub}`);
  assert.equal(await visitor.textContent('#video-title'), 'Sunrise over the bay');
  assert.equal(await visitor.getAttribute('meta[property="og:title"]', 'content'), 'Sunrise over the bay');
  assert.equal(await visitor.getAttribute('meta[property="og:url"]', 'content'), `${base}/watch/${pub}`);
  assert.equal(await visitor.getAttribute('meta[property="og:type"]', 'content'), 'video.other');
  assert.equal(await visitor.locator('meta[name=robots]').count(), 0, 'a public page may be indexed');
  await visitor.locator('.sign-in-to-comment a', { hasText: 'Sign in to comment' }).waitFor();
  assert.equal(await visitor.locator('.comment-form:not([hidden])').count(), 0, 'no comment box signed out');
  await visitor.evaluate(() => document.getElementById('player').play());
  await until(visitor, () => document.getElementById('player').currentTime > 0.5, null, 20_000);
  const seeked = await visitor.evaluate(async () => {
    const video = document.getElementById('player');
    video.pause();
    const done = new Promise((r) => video.addEventListener('seeked', r, { once: true }));
    video.currentTime = video.duration / 2;
    await done;
    return { at: video.currentTime, duration: video.duration };
  });
  assert.ok(Math.abs(seeked.at - seeked.duration / 2) < 0.3, `seeked to ${seeked.at} of ${seeked.duration}`);
  await screenshotBoth(visitor, 'watch-signed-out');

  // Unlisted: the link works signed out, with a preview, but not indexed, on no list.
  await visitor.goto(`${base}/watch/${unlisted}`);
  assert.equal(await visitor.textContent('#video-title'), 'Family dinner');
  assert.equal(await visitor.getAttribute('meta[name=robots]', 'content'), 'noindex');
  assert.ok(await visitor.locator('meta[property="og:title"]').count());
  // Private: the 404 page; internal: sign in first.
  const hidden = await visitor.goto(`${base}/watch/${secret}`);
  assert.equal(hidden.status(), 404);
  assert.match(await visitor.textContent('h1'), /Video not found/);
  await visitor.goto(`${base}/watch/${inside}`);
  assert.equal(new URL(visitor.url()).pathname, '/');
  assert.deepEqual(await gridNames(visitor, `${base}/explore`), ['Sunrise over the bay']);
  assert.deepEqual(await gridNames(visitor, `${base}/u/nora`), ['Sunrise over the bay']);
  const ghost = await visitor.goto(`${base}/u/nobody`);
  assert.equal(ghost.status(), 404);
  assert.deepEqual(visitor.problems, []);
  assert.deepEqual(owner.problems, []);
});

test('the owner switches a video between private and public on its page, and copies its link', { timeout: 120_000 }, async () => {
  const { base } = site;
  const owner = await newPage(site.browser);
  await owner.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await register(owner, base, 'omar');
  const vid = await upload(owner, 'Garden tour', 'private');
  const visitor = await newPage(site.browser);
  assert.ok(!(await gridNames(visitor, `${base}/explore`)).includes('Garden tour'));

  await owner.goto(`${base}/watch/${vid}`);
  assert.equal(await owner.getAttribute('meta[name=robots]', 'content'), 'noindex');
  await owner.click('#edit-open');
  await owner.fill('#edit-name', 'Garden tour in May');
  await owner.fill('#edit-description', 'Tulips first,\nthen the roses.');
  await owner.selectOption('#edit-visibility', 'public');
  await owner.click('#edit-save');
  await until(owner, () => document.getElementById('edit-form').hidden);
  assert.equal(await owner.textContent('#video-title'), 'Garden tour in May');
  assert.equal(await owner.textContent('#video-visibility'), 'public');
  assert.equal(await owner.textContent('#video-description'), 'Tulips first,\nthen the roses.');
  await owner.click('#copy-link');
  await until(owner, () => document.getElementById('copy-link-status').textContent === 'Link copied.');
  assert.equal(await owner.evaluate(() => navigator.clipboard.readText()), `${base}/watch/${vid}`);

  assert.ok((await gridNames(owner, `${base}/explore`)).includes('Garden tour in May'), 'in Explore at once');
  // A visitor who saw Explore before may keep that copy for up to 60 s; a new one
  // sees the video.
  const newcomer = await newPage(site.browser);
  assert.ok((await gridNames(newcomer, `${base}/explore`)).includes('Garden tour in May'));
  await newcomer.goto(`${base}/watch/${vid}`);
  assert.equal(await newcomer.getAttribute('meta[property="og:description"]', 'content'), 'Tulips first, then the roses.');

  // Back to private, from the user home's edit dialog: out of Explore at once.
  await owner.goto(`${base}/userhome`);
  const item = owner.locator('.video-item', { hasText: 'Garden tour in May' });
  await item.locator('button', { hasText: 'Edit' }).click();
  await owner.selectOption('#edit-visibility', 'private');
  await owner.click('#edit-save');
  await until(owner, () => !document.getElementById('edit-video').open);
  await owner.locator('.video-item', { hasText: 'Garden tour in May' }).locator('.badge.visibility', { hasText: 'private' }).waitFor();
  assert.ok(!(await gridNames(owner, `${base}/explore`)).includes('Garden tour in May'), 'out of Explore at once');
  const later = await newPage(site.browser);
  assert.ok(!(await gridNames(later, `${base}/explore`)).includes('Garden tour in May'));
  const gone = await later.goto(`${base}/watch/${vid}`);
  assert.equal(gone.status(), 404);
  assert.deepEqual(owner.problems, []);
});

test('without the Clipboard API the link is shown, selected, to copy by hand', { timeout: 60_000 }, async () => {
  const { base } = site;
  const owner = await newPage(site.browser);
  await register(owner, base, 'pia');
  const vid = await upload(owner, 'Cat', 'unlisted');
  await owner.goto(`${base}/watch/${vid}`);
  await owner.evaluate(() => Object.defineProperty(navigator, 'clipboard', { value: undefined }));
  await owner.click('#copy-link');
  const field = owner.locator('#copy-link-fallback');
  await field.waitFor();
  assert.equal(await field.inputValue(), `${base}/watch/${vid}`);
  assert.match(await owner.textContent('#copy-link-status'), /Ctrl\+C/);
});

test('Explore and a channel, with More, at both sizes', { timeout: 180_000 }, async () => {
  const { base } = site;
  const owner = await newPage(site.browser);
  await register(owner, base, 'quinn');
  for (let i = 1; i <= 26; i++) await upload(owner, `Clip ${String(i).padStart(2, '0')}`, 'public');
  const visitor = await newPage(site.browser);
  await visitor.goto(`${base}/explore`);
  const shown = () => visitor.locator('.video-grid .grid-card').count();
  assert.equal(await shown(), 24, 'the first page is in the HTML');
  assert.equal(await visitor.locator('.video-grid .grid-title').first().textContent(), 'Clip 26');
  await screenshotBoth(visitor, 'explore');
  await visitor.click('#grid-more');
  await until(visitor, () => document.querySelectorAll('.video-grid .grid-card').length > 24);
  assert.ok(await visitor.locator('#grid-more').isHidden(), 'no more after the last page');
  const names = await visitor.locator('.video-grid .grid-title').allTextContents();
  assert.ok(names.includes('Clip 01') && names.includes('Clip 26'), names.join());
  assert.equal(await visitor.locator('.grid-author').first().getAttribute('href'), '/u/quinn');

  await visitor.goto(`${base}/u/quinn`);
  assert.equal(await visitor.textContent('h1'), 'quinn');
  assert.equal(await shown(), 24);
  await screenshotBoth(visitor, 'channel');
  await visitor.click('#grid-more');
  await until(visitor, () => document.querySelectorAll('.video-grid .grid-card').length === 26);
  assert.deepEqual(visitor.problems, []);
});
