// app.js shows the banners of the campaign named by ?cam-id= (and the
// optional ?quarter=), in the order in which the API serves them.
//
// The page keeps its state in #status[data-state]: "loading", then "ok" or
// "error". #status[data-reason] tells the errors apart for tests and styling:
// missing-id, invalid-id, rejected, not-found, unavailable, failed.

const REQUEST_TIMEOUT_MS = 15000;
const EXAMPLE_QUERY = '?cam-id=10';

const statusEl = document.getElementById('status');
const campaignEl = document.getElementById('campaign');
const headingEl = document.getElementById('campaign-heading');
const bannersEl = document.getElementById('banners');

main();

function main() {
  const params = new URLSearchParams(window.location.search);
  const rawID = params.get('cam-id');
  const quarter = params.get('quarter');

  if (rawID === null || rawID.trim() === '') {
    showError('missing-id', [
      'Add a campaign id to the address to see its banners, for example ',
      link(EXAMPLE_QUERY, EXAMPLE_QUERY),
      '.',
    ]);
    return;
  }

  const campaignID = parseCampaignID(rawID);
  if (campaignID === null) {
    showError('invalid-id', [
      `“${shorten(rawID)}” is not a valid campaign id. ` +
        `A campaign id is a positive whole number, for example ${EXAMPLE_QUERY}.`,
    ]);
    return;
  }

  load(campaignID, quarter);
}

// parseCampaignID returns the campaign id as a string of digits without
// leading zeros, or null when raw is not a positive integer.
function parseCampaignID(raw) {
  if (!/^[0-9]+$/.test(raw)) {
    return null;
  }
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) {
    return null;
  }
  return String(n);
}

// bannersURL returns the API address relative to the page, so that the page
// works wherever it is served from.
function bannersURL(campaignID, quarter) {
  let url = `api/campaigns/${encodeURIComponent(campaignID)}/banners`;
  if (quarter !== null && quarter !== '') {
    url += `?quarter=${encodeURIComponent(quarter)}`;
  }
  return url;
}

async function load(campaignID, quarter) {
  setStatus('loading', ['Loading banners…']);
  campaignEl.hidden = true;

  let response;
  try {
    response = await fetch(bannersURL(campaignID, quarter), {
      headers: { Accept: 'application/json' },
      signal: timeoutSignal(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    console.error('fetch banners:', err);
    showError('failed', ['Could not reach the banner service. Check your connection and try again.'], {
      retry: () => load(campaignID, quarter),
    });
    return;
  }

  const body = await readJSON(response);
  const serverMessage = body && typeof body.error === 'string' ? body.error : '';

  switch (response.status) {
    case 200:
      break;
    case 400:
      showError('rejected', [`Campaign ${campaignID} could not be shown: the request was not valid.`], {
        detail: serverMessage,
      });
      return;
    case 404:
      showError('not-found', [`Campaign ${campaignID} has no banners right now.`], {
        detail: serverMessage,
      });
      return;
    case 503:
      showError('unavailable', [`The banner service is busy right now. Please try again ${retryAfter(response)}.`], {
        detail: serverMessage,
        retry: () => load(campaignID, quarter),
      });
      return;
    default:
      showError('failed', [`Something went wrong while loading the banners (HTTP ${response.status}).`], {
        detail: serverMessage,
        retry: () => load(campaignID, quarter),
      });
      return;
  }

  const banners = validBanners(body);
  if (banners === null) {
    showError('failed', ['The banner service sent an answer this page does not understand.'], {
      retry: () => load(campaignID, quarter),
    });
    return;
  }
  if (banners.length === 0) {
    showError('not-found', [`Campaign ${campaignID} has no banners right now.`]);
    return;
  }

  const shownID = Number.isSafeInteger(body.campaign_id) ? body.campaign_id : campaignID;
  showBanners(shownID, body.quarter, banners);
}

// readJSON returns the decoded body, or null when it is not JSON (for
// example an HTML error page from a proxy).
async function readJSON(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

// validBanners returns the banners of a 200 answer that have an integer id
// and an image URL, in the served order, or null when the answer has no list.
function validBanners(body) {
  if (!body || !Array.isArray(body.banners)) {
    return null;
  }
  return body.banners.filter(
    (b) => b && Number.isSafeInteger(b.id) && typeof b.image_url === 'string' && b.image_url !== '',
  );
}

function showBanners(campaignID, quarter, banners) {
  const label = Number.isInteger(quarter)
    ? `Campaign ${campaignID} — quarter ${quarter}`
    : `Campaign ${campaignID}`;
  headingEl.textContent = label;
  document.title = `${label} · Banners`;

  const items = banners.map((banner, i) => {
    const img = document.createElement('img');
    img.src = banner.image_url;
    img.width = 300;
    img.height = 250;
    img.alt = `Banner ${banner.id}`;
    img.dataset.bannerId = String(banner.id);
    img.decoding = 'async';
    // The first row is likely on screen at once, so only later rows wait.
    img.loading = i < 2 ? 'eager' : 'lazy';

    const li = document.createElement('li');
    img.addEventListener('error', () => li.classList.add('broken'), { once: true });
    li.append(img);
    return li;
  });
  bannersEl.replaceChildren(...items);
  campaignEl.hidden = false;

  const count = banners.length === 1 ? '1 banner' : `${banners.length} banners`;
  setStatus('ok', [`Showing ${count}.`]);
}

// showError shows an error in #status and hides the banner list.
function showError(reason, message, options = {}) {
  campaignEl.hidden = true;
  bannersEl.replaceChildren();
  setStatus('error', message, { reason, ...options });
}

// setStatus replaces the message area. message is a list of strings and
// nodes; strings are always inserted as text, never as HTML.
function setStatus(state, message, { reason = '', detail = '', retry = null } = {}) {
  statusEl.dataset.state = state;
  if (reason) {
    statusEl.dataset.reason = reason;
  } else {
    delete statusEl.dataset.reason;
  }

  const parts = [];
  const text = document.createElement('p');
  text.className = 'status-message';
  text.append(...message);
  parts.push(text);

  if (detail) {
    const small = document.createElement('p');
    small.className = 'status-detail';
    small.textContent = `Server said: ${detail}`;
    parts.push(small);
  }

  if (retry) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Try again';
    button.addEventListener('click', retry, { once: true });
    parts.push(button);
  }

  statusEl.replaceChildren(...parts);
}

// retryAfter turns the Retry-After header into words, such as
// "in 30 seconds".
function retryAfter(response) {
  const seconds = Number.parseInt(response.headers.get('Retry-After') ?? '', 10);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    return 'in a moment';
  }
  if (seconds === 1) {
    return 'in 1 second';
  }
  if (seconds < 120) {
    return `in ${seconds} seconds`;
  }
  return `in ${Math.ceil(seconds / 60)} minutes`;
}

function timeoutSignal(ms) {
  if (typeof AbortSignal !== 'undefined' && typeof AbortSignal.timeout === 'function') {
    return AbortSignal.timeout(ms);
  }
  return undefined;
}

function link(href, text) {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = text;
  return a;
}

// shorten keeps a pasted value readable in a message.
function shorten(s) {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
