// The watch page: the video's length once its metadata has loaded, a clear message if
// it cannot play, a reload once a still-processing video turns ready, and the comments.

import { api } from './api.js';
import { mountComments } from './comments.js';
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
