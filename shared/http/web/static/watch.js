// The watch page: the video's length once its metadata has loaded, a clear message if
// it cannot play, a reload once a still-processing video turns ready, and the comments.

import { api } from './api.js';
import { mountComments } from './comments.js';
import { copyLink, saveEdit } from './edit.js';
import { formatDuration } from './format.js';

const page = document.getElementById('watch');
const player = document.getElementById('player');
const duration = document.getElementById('video-duration');
const videoId = page.dataset.videoId;

if (player) {
  // The server read the length from the file's header; the player says it otherwise.
  player.addEventListener('loadedmetadata', () => {
    if (duration.dataset.known) return;
    duration.textContent = formatDuration(player.duration);
    duration.classList.remove('muted');
  });
  player.addEventListener('error', () => {
    duration.textContent = 'cannot be played right now — try reloading the page';
  });
} else if (page.dataset.status === 'pending') {
  // Processing happens elsewhere (instantly on the local server, an S3 event on AWS):
  // check now and then, and show the player once it is ready.
  const check = async (delay) => {
    try {
      const video = await api('GET', `/videos/${encodeURIComponent(videoId)}/info`);
      if (video.status === 'ready' || video.status === 'rejected') {
        location.reload();
        return;
      }
    } catch (e) {
      if (e.status === 404) {
        duration.textContent = 'this video was deleted';
        return;
      }
    }
    if (delay < 60_000) setTimeout(() => check(delay * 2), delay);
  };
  setTimeout(() => check(2000), 2000);
}

mountComments(document.getElementById('comments'), videoId, page.dataset.ownerId);

document.getElementById('copy-link').addEventListener('click', () => copyLink(
  page.dataset.pageUrl,
  document.getElementById('copy-link-fallback'),
  document.getElementById('copy-link-status'),
));

// The owner's edit form: name, description, visibility; the page shows the result.
const form = document.getElementById('edit-form');
if (form) {
  const open = document.getElementById('edit-open');
  const status = document.getElementById('edit-status');
  let current = {
    name: form.elements.name.value,
    description: form.elements.description.value,
    visibility: form.elements.visibility.value,
  };
  const toggle = (show) => {
    form.hidden = !show;
    open.setAttribute('aria-expanded', String(show));
    if (show) form.elements.name.focus();
  };
  open.addEventListener('click', () => toggle(form.hidden));
  document.getElementById('edit-cancel').addEventListener('click', () => toggle(false));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const save = document.getElementById('edit-save');
    save.disabled = true;
    status.textContent = 'Saving…';
    status.className = 'status';
    try {
      const video = await saveEdit(videoId, current, form);
      current = { name: video.name, description: video.description, visibility: video.visibility };
      document.getElementById('video-title').textContent = video.name;
      document.title = `${video.name} · Reel`;
      const description = document.getElementById('video-description');
      description.textContent = video.description;
      description.hidden = !video.description;
      document.getElementById('video-visibility').textContent = video.visibility;
      status.textContent = 'Saved.';
      toggle(false);
    } catch (e) {
      status.textContent = e.message;
      status.className = 'status error';
    } finally {
      save.disabled = false;
    }
  });
}
