// Signing in and out, and the messages a visitor sees when it goes wrong.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, register, signIn, signOut } from './support.mjs';

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

test('signed-out visitors land on the sign-in page', async () => {
  const page = await newPage(browser);
  await page.goto(`${server.base}/userhome`);
  assert.equal(page.url(), `${server.base}/`);
  await page.goto(`${server.base}/watch/00000000-0000-4000-8000-000000000000`);
  assert.equal(new URL(page.url()).pathname, '/');
});

test('sign out works, and errors are explained', { timeout: 60_000 }, async () => {
  const { base } = server;
  const page = await newPage(browser);
  await register(page, base, 'carol');
  await signOut(page, base);
  await page.goto(`${base}/userhome`);
  assert.equal(page.url(), `${base}/`, 'signed out for real');

  await signIn(page, base, 'carol', 'not-the-password');
  await page.waitForSelector('#signin-error:not([hidden])');
  assert.match(await page.textContent('#signin-error'), /wrong user name or password/i);

  await page.fill('#register-name', 'carol');
  await page.fill('#register-pwd', 'password1');
  await page.click('#register-form button[type=submit]');
  await page.waitForSelector('#register-error:not([hidden])');
  assert.match(await page.textContent('#register-error'), /taken/i);

  await page.fill('#register-name', 'x');
  await page.click('#register-form button[type=submit]');
  await page.waitForFunction(() => /3–64/.test(document.getElementById('register-error').textContent));

  await signIn(page, base, 'carol');
  await page.waitForURL(`${base}/userhome`);
  assert.deepEqual(page.problems, []);
});

test('the sign-in page sends a visitor back where they were going', async () => {
  const { base } = server;
  const page = await newPage(browser);
  await register(page, base, 'dave');
  await signOut(page, base);
  await page.goto(`${base}/watch/00000000-0000-4000-8000-000000000000`);
  assert.equal(new URL(page.url()).search, '?next=/watch/00000000-0000-4000-8000-000000000000');
  await page.fill('#signin-name', 'dave');
  await page.fill('#signin-pwd', 'password1');
  await page.click('#signin-form button[type=submit]');
  await page.waitForURL(`${base}/watch/00000000-0000-4000-8000-000000000000`);
  assert.match(await page.textContent('h1'), /not found/i);
});
