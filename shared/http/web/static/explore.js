// Explore and channel pages: the server rendered the first page of cards; "More" loads
// the next ones from the API with the cursor it gave.

import { api, showError } from './api.js';
import { card } from './cards.js';

const PAGE = 24;
const grid = document.getElementById('video-grid');
const more = document.getElementById('grid-more');
const error = document.getElementById('grid-error');
const showAuthor = Boolean(grid.dataset.showAuthor);

more.addEventListener('click', async () => {
  more.disabled = true;
  showError(error, '');
  try {
    const query = new URLSearchParams({ limit: String(PAGE), cursor: more.dataset.cursor });
    const page = await api('GET', `${grid.dataset.source}?${query}`);
    for (const video of page.videos) grid.append(card(video, showAuthor));
    more.dataset.cursor = page.next_cursor || '';
    more.hidden = !page.next_cursor;
  } catch (e) {
    showError(error, `Could not load more videos: ${e.message}`);
  } finally {
    more.disabled = false;
  }
});
