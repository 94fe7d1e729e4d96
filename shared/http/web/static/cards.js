// A video on a grid (Explore, a channel): the same markup as the server's
// video_card.html, for the pages that "More" extends.

import { el, formatDuration, relativeTime } from './format.js';

/** The card of `video` (an API video view); `showAuthor` links its author's channel. */
export function card(video, showAuthor) {
  const item = el('li', 'grid-card');
  const href = `/watch/${encodeURIComponent(video.id)}`;
  const thumb = el('a', 'grid-thumb video-thumb');
  thumb.href = href;
  thumb.tabIndex = -1;
  thumb.setAttribute('aria-hidden', 'true');
  if (video.poster_url) {
    const img = el('img');
    img.src = video.poster_url;
    img.alt = '';
    img.loading = 'lazy';
    img.width = 320;
    img.height = 180;
    img.addEventListener('error', () => img.remove());
    thumb.append(img);
  } else {
    thumb.append(el('span', 'placeholder', '▶'));
  }
  if (video.duration_ms != null) thumb.append(el('span', 'duration', formatDuration(video.duration_ms / 1000)));

  const text = el('div', 'grid-text');
  const title = el('a', 'grid-title', video.name);
  title.href = href;
  const meta = el('p', 'muted grid-meta');
  if (showAuthor) {
    const author = el('a', 'grid-author', video.author);
    author.href = `/u/${encodeURIComponent(video.author)}`;
    meta.append(author, ' · ');
  }
  const time = el('time', '', relativeTime(video.create_time));
  time.dateTime = video.create_time;
  time.title = `${video.display_ctime} UTC`;
  meta.append(time);
  if (video.visibility !== 'public') meta.append(' · ', el('span', 'badge', video.visibility));
  if (video.status !== 'ready') meta.append(' · ', el('span', 'badge', video.status));
  text.append(title, meta);
  item.append(thumb, text);
  return item;
}
