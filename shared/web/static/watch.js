// The watch page: the player's duration, and the comments.

import './api.js';
import { mountComments } from './comments.js';
import { formatDuration } from './format.js';

const page = document.getElementById('watch');
const player = document.getElementById('player');
const duration = document.getElementById('video-duration');

if (player) {
  player.addEventListener('loadedmetadata', () => {
    duration.textContent = formatDuration(player.duration);
  });
  player.addEventListener('error', () => {
    duration.textContent = 'this video cannot be played right now';
  });
}
mountComments(document.getElementById('comments'), page.dataset.videoId, page.dataset.ownerId);
