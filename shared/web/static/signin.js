// The welcome page: sign in or create an account, then go where the visitor was headed.

import { api, showError } from './api.js';

const next = document.getElementById('auth').dataset.next || '/userhome';

const MESSAGES = {
  '006': 'That user name is taken — pick another one.',
  '002': 'Wrong user name or password.',
  '008': 'Too many failed attempts. Wait a few minutes and try again.',
};

function explain(error) {
  if (MESSAGES[error.code]) return MESSAGES[error.code];
  if (error.code === '001') {
    return 'Check your details: the user name is 3–64 letters, digits, “_”, “.” or “-”, and the password at least 8 characters.';
  }
  return error.message;
}

function wire(formId, prefix, path) {
  const form = document.getElementById(formId);
  const errorBox = document.getElementById(`${prefix}-error`);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const userName = document.getElementById(`${prefix}-name`).value.trim();
    const pwd = document.getElementById(`${prefix}-pwd`).value;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    showError(errorBox, '');
    try {
      await api('POST', path(userName), { user_name: userName, pwd });
      location.assign(next);
    } catch (error) {
      showError(errorBox, explain(error));
      button.disabled = false;
    }
  });
}

wire('signin-form', 'signin', (name) => `/user/${encodeURIComponent(name)}`);
wire('register-form', 'register', () => '/user');
