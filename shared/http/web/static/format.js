// Small formatting helpers shared by the pages. No DOM access except `el`, which is the
// one way user text reaches the page: as textContent, never as markup.

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/**
 * 1536 -> "1.5 KB". Steps of 1024, so the default 2 GiB upload limit reads "2 GB" rather
 * than "2.1 GB"; the familiar KB/MB/GB labels are kept.
 */
export function formatBytes(bytes) {
  let value = Number(bytes) || 0;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value >= 10 || unit === 0 ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, '');
  return `${shown} ${UNITS[unit]}`;
}

/** Bytes per second -> "1.2 MB/s" */
export function formatSpeed(bytesPerSecond) {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** 125.4 -> "2:05"; 3725 -> "1:02:05". */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return 'unknown length';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/**
 * An RFC 3339 time -> "just now", "5 min ago", "2 h ago", "3 d ago", or a date when older
 * than four weeks. Units are floored, so "59 min ago" never rounds up to "60 min ago".
 * A time slightly in the future (clock skew) counts as "just now".
 */
export function relativeTime(iso, now = Date.now()) {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '';
  const seconds = Math.max(0, (now - then) / 1000);
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  if (seconds < 28 * 86400) return `${Math.floor(seconds / 86400)} d ago`;
  return new Date(then).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

/** The full local date and time, for tooltips next to a relative time. */
export function absoluteTime(iso) {
  const then = Date.parse(iso);
  return Number.isNaN(then) ? '' : new Date(then).toLocaleString();
}

/** Creates an element with a class and text content (never HTML). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}
