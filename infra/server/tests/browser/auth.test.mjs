// Signing in and out, and the messages a visitor sees when it goes wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPage, register, signIn, signOut, uploadVideo, useSite } from './support.mjs';

// A low throttle so the 429 message can be reached in a few attempts.
const site = useSite({ REEL_SIGN_IN_MAX_FAILURES: '3' });

const UNKNOWN = '00000000-0000-4000-8000-000000000000';

async function errorOf(page, form) {
  const box = page.locator(`#${form}-error:not([hidden])`);
  await box.waitFor();
  return box.textContent();
}

test('signed-out visitors land on the sign-in page', async () => {
  const page = await newPage(site.browser);
  await page.goto(`${site.base}/userhome`);
  assert.equal(page.url(), `${site.base}/`);
  assert.ok(await page.isVisible('#signin-form'));
  assert.ok(await page.isVisible('#register-form'));
  // No such video: the 404 page, which offers Explore (there is nothing to sign in for).
  const missing = await page.goto(`${site.base}/watch/${UNKNOWN}`);
  assert.equal(missing.status(), 404);
  assert.match(await page.textContent('h1'), /not found/i);
  assert.ok(await page.isVisible('a[href="/explore"]'));
  assert.deepEqual(page.problems, []);
});

test('sign out works, and every error is explained', { timeout: 60_000 }, async () => {
  const { base } = site;
  const page = await newPage(site.browser);
  await register(page, base, 'carol');
  await signOut(page, base);
  await page.goto(`${base}/userhome`);
  assert.equal(page.url(), `${base}/`, 'signed out for real: /userhome sends back to /');

  // Wrong password (401 002).
  await signIn(page, base, 'carol', 'not-the-password');
  assert.match(await errorOf(page, 'signin'), /wrong user name or password/i);
  assert.equal(page.url(), `${base}/`);

  // Taken name (409 006).
  await page.fill('#register-name', 'carol');
  await page.fill('#register-pwd', 'password1');
  await page.click('#register-form button[type=submit]');
  assert.match(await errorOf(page, 'register'), /“carol” is taken/);

  // Validation (400 001, also checked before sending): which field, and the rule.
  await page.fill('#register-name', 'x');
  await page.click('#register-form button[type=submit]');
  assert.match(await errorOf(page, 'register'), /user name must be 3–64 characters/);
  await page.fill('#register-name', 'has space');
  await page.click('#register-form button[type=submit]');
  assert.match(await errorOf(page, 'register'), /letters, digits/);
  await page.fill('#register-name', 'carol2');
  await page.fill('#register-pwd', 'short');
  await page.click('#register-form button[type=submit]');
  assert.match(await errorOf(page, 'register'), /password must be 8/);

  // The right password works after a failure.
  await signIn(page, base, 'carol');
  await page.waitForURL(`${base}/userhome`);
  assert.deepEqual(page.problems, []);
});

test('repeated wrong passwords are throttled, with a message saying so', { timeout: 60_000 }, async () => {
  const { base } = site;
  const page = await newPage(site.browser);
  await register(page, base, 'erin');
  await signOut(page, base);
  await page.fill('#signin-name', 'erin');
  await page.fill('#signin-pwd', 'wrong-password');
  for (let attempt = 0; attempt < 3; attempt += 1) {
    await page.click('#signin-form button[type=submit]');
    assert.match(await errorOf(page, 'signin'), /wrong user name or password/i);
    await page.waitForSelector('#signin-form button[type=submit]:enabled');
  }
  await page.click('#signin-form button[type=submit]');
  await page.waitForFunction(() => /too many/i.test(document.getElementById('signin-error').textContent));
  assert.match(await errorOf(page, 'signin'), /wait a few minutes/i);
  assert.deepEqual(page.problems, []);
});

test('the sign-in page sends a visitor back where they were going', async () => {
  const { base } = site;
  const page = await newPage(site.browser);
  await register(page, base, 'dave');
  // An internal video (the default): signed-in users only.
  const vid = await uploadVideo(page, 'Team update');
  await signOut(page, base);
  await page.goto(`${base}/watch/${vid}`);
  assert.equal(new URL(page.url()).search, `?next=/watch/${vid}`);
  await page.fill('#signin-name', 'dave');
  await page.fill('#signin-pwd', 'password1');
  await page.click('#signin-form button[type=submit]');
  await page.waitForURL(`${base}/watch/${vid}`);
  assert.equal(await page.textContent('#video-title'), 'Team update');
  assert.deepEqual(page.problems, []);
});
