// The welcome page: sign in or create an account, then go where the visitor was headed
// (`next`, already restricted to same-site paths by the server).

import { api, showError } from './api.js';

// The server only renders same-site paths here; checked again so a page can never be
// turned into an open redirect by a change elsewhere.
const wanted = document.getElementById('auth').dataset.next || '';
// The same rule as the server's: one leading slash, then no slash or backslash next, and
// no backslash, whitespace or control character anywhere (browsers drop tab and newlines
// inside URLs, which would turn `/<TAB>/evil.example` into `//evil.example`).
const next = /^\/(?![/\\])[^\s\\\u0000-\u001f\u007f]*$/.test(wanted) ? wanted : '/userhome';

// The API's rules (API.md): checked here too, so the visitor learns which field is wrong
// without a round trip; the server checks again either way.
const NAME_RULE = /^[A-Za-z0-9_.-]{3,64}$/;
const NAME_HELP = 'The user name must be 3–64 characters: letters, digits, “_”, “.” or “-”.';
const PWD_HELP = 'The password must be 8–256 characters.';

/** What is wrong with these credentials, or null. */
function invalid(userName, pwd) {
  if (!NAME_RULE.test(userName)) return NAME_HELP;
  if (pwd.length < 8 || pwd.length > 256) return PWD_HELP;
  return null;
}

/** A sentence for each error the API may answer on these two routes. */
function explain(error, userName, pwd) {
  switch (error.code) {
    case '006': return `The user name “${userName}” is taken — pick another one.`;
    case '002': return 'Wrong user name or password.';
    case '008': return 'Too many failed attempts for this user name. Wait a few minutes, then try again.';
    case '001': return invalid(userName, pwd) ?? `Check your details: ${error.message}`;
    default: return error.message;
  }
}

function wire(prefix, path, checkFormat) {
  const form = document.getElementById(`${prefix}-form`);
  const nameInput = document.getElementById(`${prefix}-name`);
  const pwdInput = document.getElementById(`${prefix}-pwd`);
  const errorBox = document.getElementById(`${prefix}-error`);
  const button = form.querySelector('button[type="submit"]');
  const label = button.textContent;

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const userName = nameInput.value.trim();
    const pwd = pwdInput.value;
    let problem = !userName || !pwd ? 'Enter a user name and a password.' : null;
    if (!problem && checkFormat) problem = invalid(userName, pwd);
    if (problem) {
      showError(errorBox, problem);
      (NAME_RULE.test(userName) ? pwdInput : nameInput).focus();
      return;
    }
    button.disabled = true;
    button.textContent = 'Please wait…';
    showError(errorBox, '');
    try {
      await api('POST', path(userName), { user_name: userName, pwd });
      // The reply also set the HttpOnly session cookie, so the next page is signed in.
      location.assign(next);
    } catch (error) {
      showError(errorBox, explain(error, userName, pwd));
      button.disabled = false;
      button.textContent = label;
    }
  });
}

// Signing in does not check the format first: a wrong name is just a failed sign-in.
wire('signin', (name) => `/user/${encodeURIComponent(name)}`, false);
wire('register', () => '/user', true);
