// Editing a video's name, description and visibility (its owner), and copying a watch
// link: shared by the watch page and the user home.

import { api } from './api.js';

/**
 * Sends the edit of `form` (fields name, description, visibility) for video `id`;
 * resolves with the edited video. Only what changed from `video` is sent.
 */
export async function saveEdit(id, video, form) {
  const changes = {};
  for (const field of ['name', 'description', 'visibility']) {
    const value = form.elements[field].value;
    if (value !== (video[field] ?? '')) changes[field] = value;
  }
  if (Object.keys(changes).length === 0) return video;
  return api('PATCH', `/videos/${encodeURIComponent(id)}`, changes);
}

/**
 * Copies `url` with the Clipboard API; where that is refused (an insecure origin, a
 * denied permission) shows `fallback`, a read-only field holding the URL, selected for
 * Ctrl+C. `status` says which happened.
 */
export async function copyLink(url, fallback, status) {
  try {
    if (!navigator.clipboard) throw new Error('no clipboard');
    await navigator.clipboard.writeText(url);
    status.textContent = 'Link copied.';
    fallback.hidden = true;
  } catch {
    fallback.value = url;
    fallback.hidden = false;
    fallback.focus();
    fallback.select();
    status.textContent = 'Press Ctrl+C (⌘C) to copy the link.';
  }
}
