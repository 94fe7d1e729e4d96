// A video on a grid (Explore, a channel): the same markup as the server's
// video_card.html, for the pages that "More" extends; and the 16:9 thumbnail every
// list of videos shows.

import { el, formatDuration, relativeTime } from './format.js';

/**
 * Fills `thumb` (a 16:9 `.video-thumb` box) with the video's poster, loaded lazily,
 * or a neutral placeholder, and its duration in a corner.
 */
export function fillThumbnail(thumb, video) {
  if (video.poster_url) {
    const img = el('img');
    img.src = video.poster_url;
    img.alt = '';
    img.loading = 'lazy';
    img.decoding = 'async';
    img.addEventListener('error', () => img.remove()); // the placeholder shows instead
    thumb.append(img);
  } else {
    thumb.append(el('span', 'placeholder', video.status === 'rejected' ? '✕' : video.status === 'ready' ? '▶' : '…'));
  }
  if (video.duration_ms != null) thumb.append(el('span', 'duration', formatDuration(video.duration_ms / 1000)));
  return thumb;
}

/** The card of `video` (an API video view); `showAuthor` links its author's channel. */
export function card(video, showAuthor) {
  const item = el('li', 'grid-card');
  const href = `/watch/${encodeURIComponent(video.id)}`;
  const thumb = el('a', 'grid-thumb video-thumb');
  thumb.href = href;
  thumb.tabIndex = -1;
  thumb.setAttribute('aria-hidden', 'true');
  fillThumbnail(thumb, video);

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
