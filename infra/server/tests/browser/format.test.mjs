// The pure helpers of format.js, run directly in Node (no browser needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatDuration, formatSpeed, relativeTime } from '../../../../shared/http/web/static/format.js';

test('relative times: just now, minutes, hours, days, then a date', () => {
  const now = Date.parse('2026-03-10T12:00:00Z');
  const ago = (seconds) => new Date(now - seconds * 1000).toISOString();
  assert.equal(relativeTime(ago(0), now), 'just now');
  assert.equal(relativeTime(ago(59), now), 'just now');
  assert.equal(relativeTime(ago(-30), now), 'just now', 'a little clock skew');
  assert.equal(relativeTime(ago(5 * 60), now), '5 min ago');
  assert.equal(relativeTime(ago(59 * 60 + 59), now), '59 min ago', 'floored, never "60 min"');
  assert.equal(relativeTime(ago(2 * 3600 + 1800), now), '2 h ago');
  assert.equal(relativeTime(ago(3 * 86400), now), '3 d ago');
  assert.match(relativeTime(ago(60 * 86400), now), /2026/);
  assert.equal(relativeTime('not a time', now), '');
});

test('sizes, speeds and durations', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(17957), '18 KB');
  assert.equal(formatBytes(2 ** 31), '2 GB');
  assert.equal(formatBytes(1024 * 1024), '1 MB');
  assert.equal(formatSpeed(1.2 * 1024 * 1024), '1.2 MB/s');
  assert.equal(formatDuration(4.02), '0:04');
  assert.equal(formatDuration(125.4), '2:05');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(Number.NaN), 'unknown length');
});
