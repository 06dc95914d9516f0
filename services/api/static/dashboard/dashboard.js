// Ferry's operator dashboard: logs in with Keystone's password login, keeps the token for this tab only
// (sessionStorage), follows the API's server-sent snapshots and calls the same drain API the `ferry` command does.
'use strict';

const COMPUTE = '/compute/v2.1';
const TICKETS = `${COMPUTE}/os-ferry-dashboard/tickets`;
const EVENTS = `${COMPUTE}/os-ferry-dashboard/events`;
const TOKEN_KEY = 'ferry.dashboard.token';
const USER_KEY = 'ferry.dashboard.user';
const RECONNECT_MS = 2000;

const $ = (id) => document.getElementById(id);
let events = null;
let reconnectTimer = null;

// ---- session ---------------------------------------------------------------------------------------------------

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function show(view) {
  for (const id of ['login-view', 'forbidden-view', 'dashboard-view']) $(id).hidden = id !== view;
  const signedIn = view !== 'login-view';
  $('logout').hidden = !signedIn;
  $('live').hidden = view !== 'dashboard-view';
  $('who').textContent = signedIn ? `${sessionStorage.getItem(USER_KEY) || ''}` : '';
}

async function logIn(form) {
  const data = new FormData(form);
  $('login-error').textContent = '';
  const body = { auth: {
    identity: { methods: ['password'], password: { user: { name: data.get('username'), domain: { name: 'Default' }, password: data.get('password') } } },
    scope: { project: { name: data.get('project'), domain: { name: 'Default' } } },
  } };
  let res;
  try {
    res = await fetch('/identity/v3/auth/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch (err) {
    $('login-error').textContent = `The API cannot be reached: ${err.message}`;
    return;
  }
  if (res.status !== 201) {
    $('login-error').textContent = res.status === 401 ? 'Wrong user, password or project.' : await errorText(res);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, res.headers.get('x-subject-token'));
  sessionStorage.setItem(USER_KEY, `${data.get('username')} @ ${data.get('project')}`);
  form.reset();
  connect();
}

function logOut(reason) {
  disconnect();
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  show('login-view');
  $('login-error').textContent = reason || '';
}

// ---- API calls ---------------------------------------------------------------------------------------------------

/** The message of an OpenStack fault body ({"conflictingRequest": {"message": ...}}), else the status line. */
async function errorText(res) {
  const text = await res.text();
  try {
    const body = JSON.parse(text);
    const fault = Object.values(body)[0];
    if (fault && typeof fault.message === 'string') return fault.message;
  } catch {
    // not JSON: fall through
  }
  return `${res.status} ${res.statusText}`;
}

async function api(method, path, body) {
  const headers = { 'x-auth-token': token() };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${COMPUTE}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
}

async function act(what, method, path, body) {
  const res = await api(method, path, body);
  if (res.status === 401) return logOut('Your session ended: log in again.');
  if (res.ok) note(`${what}: accepted.`);
  else note(`${what}: ${await errorText(res)}`, true);
}

function note(text, isError = false) {
  const el = $('message');
  el.textContent = text;
  el.classList.toggle('error', isError);
  el.hidden = false;
}

// ---- the event stream --------------------------------------------------------------------------------------------

async function connect() {
  disconnect();
  if (!token()) return show('login-view');
  let res;
  try {
    res = await fetch(TICKETS, { method: 'POST', headers: { 'x-auth-token': token() } });
  } catch {
    return retry();
  }
  if (res.status === 401) return logOut('Your session ended: log in again.');
  if (res.status === 403) {
    show('forbidden-view');
    $('forbidden-message').textContent = `${sessionStorage.getItem(USER_KEY)} may not see the dashboard: it needs the admin role. (${await errorText(res)})`;
    return undefined;
  }
  if (!res.ok) return retry();
  show('dashboard-view');
  live('connecting', 'connecting…');
  events = new EventSource(EVENTS);
  events.addEventListener('snapshot', (e) => {
    render(JSON.parse(e.data));
    live('on', `live · ${new Date().toLocaleTimeString()}`);
    document.body.dataset.snapshot = e.lastEventId;
  });
  // The ticket is spent: a dropped stream reconnects with a new one.
  events.onerror = () => retry();
  return undefined;
}

function disconnect() {
  clearTimeout(reconnectTimer);
  if (events) events.close();
  events = null;
}

function retry() {
  disconnect();
  live('off', 'reconnecting…');
  reconnectTimer = setTimeout(connect, RECONNECT_MS);
}

function live(state, text) {
  $('live').dataset.state = state;
  $('live').textContent = text;
}

// ---- rendering ---------------------------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-')) node.dataset[k.slice(5).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = v;
    else if (k === 'onclick') node.addEventListener('click', v);
    else node[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

function fill(tableId, rows) {
  const tbody = $(tableId).querySelector('tbody');
  tbody.replaceChildren(...rows);
  document.querySelector(`[data-empty-for="${tableId}"]`).hidden = rows.length > 0;
  $(tableId).hidden = rows.length === 0;
}

function meter(used, total, label) {
  const pct = total > 0 ? Math.round((used / total) * 100) : 0;
  return el('div', { class: 'meter' },
    el('progress', { max: 100, value: Math.min(pct, 100), class: pct >= 90 ? 'hot' : '' }),
    el('span', { class: 'figure' }, label));
}

const gib = (mb) => `${(mb / 1024).toFixed(mb >= 10240 ? 0 : 1)} GiB`;
const bytes = (n) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : `${Math.round(n / (1 << 20))} MiB`);
const short = (uuid) => uuid.slice(0, 8);
const clock = (iso) => new Date(iso).toLocaleTimeString();

/** How long a drain took, or has been running. */
function took(started, finished) {
  const s = Math.max(0, ((finished ? new Date(finished) : new Date()) - new Date(started)) / 1000);
  return s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`;
}

function render(s) {
  const draining = new Set(s.drains.filter((d) => !d.done).map((d) => d.host));
  fill('hosts', s.hosts.map((h) => el('tr', { 'data-host': h.host },
    el('td', { class: 'name' }, h.host),
    el('td', {},
      el('span', { class: `badge ${h.state}` }, h.state),
      ' ',
      el('span', { class: `badge ${h.status}`, title: h.disabled_reason || '' }, h.status)),
    el('td', { class: 'instances' }, el('strong', {}, h.instances), h.busy ? el('span', { class: 'muted' }, ` (${h.busy} busy)`) : null),
    el('td', {}, meter(h.vcpus_used, h.vcpus, `${h.vcpus_used} / ${h.vcpus}`)),
    el('td', {}, meter(h.memory_mb_used, h.memory_mb, `${gib(h.memory_mb_used)} / ${gib(h.memory_mb)}`)),
    el('td', {}, meter(h.local_gb_used, h.local_gb, `${h.local_gb_used} / ${h.local_gb} GiB`)),
    el('td', { class: 'actions' }, el('button', {
      type: 'button', class: 'drain', disabled: draining.has(h.host) || h.instances === 0,
      title: draining.has(h.host) ? 'A drain of this host is under way' : 'Disable the host and move every instance off it',
      onclick: () => drain(h.host),
    }, 'Drain')))));

  fill('migrations', s.migrations.map((m) => {
    const total = (m.memory_total || 0) + (m.disk_total || 0);
    const done = (m.memory_processed || 0) + (m.disk_processed || 0);
    return el('tr', { 'data-migration-id': String(m.id), 'data-progress': m.progress === null ? '' : String(m.progress) },
      el('td', {}, m.id),
      el('td', { class: 'mono', title: m.instance_uuid }, short(m.instance_uuid)),
      el('td', {}, m.migration_type),
      el('td', {}, el('span', { class: 'badge status' }, m.status)),
      el('td', {}, `${m.source_compute || '?'} → ${m.dest_compute || '?'}`),
      el('td', {}, m.progress === null
        ? el('span', { class: 'muted' }, 'starting')
        : meter(done, total, `${m.progress}% · ${bytes(done)} of ${bytes(total)}`)));
  }));

  fill('drains', s.drains.map((d) => {
    const settled = d.moved + d.failed + d.skipped;
    return el('tr', { 'data-drain-id': d.id, 'data-host': d.host, 'data-status': d.status },
      el('td', { class: 'name' }, d.host),
      el('td', {}, el('span', { class: `badge drain-${d.status}` }, d.status)),
      el('td', { class: 'progress' },
        meter(settled, d.total, `moved ${d.moved}/${d.total}`),
        el('div', { class: 'tally muted' }, `failed ${d.failed} · skipped ${d.skipped} · in flight ${d.in_flight} · pending ${d.pending}`)),
      el('td', {}, `${d.mode}, ${d.concurrency} at a time`),
      el('td', {}, clock(d.started_at)),
      el('td', { class: 'took', 'data-started': d.started_at, 'data-finished': d.finished_at || '' }, took(d.started_at, d.finished_at)),
      el('td', { class: 'actions' }, d.status === 'running'
        ? el('button', { type: 'button', class: 'cancel danger', onclick: () => cancel(d) }, 'Cancel')
        : null));
  }));
}

function drain(host) {
  const concurrency = Number($('drain-concurrency').value);
  const body = { mode: $('drain-mode').value, ...(Number.isInteger(concurrency) && concurrency > 0 ? { concurrency } : {}) };
  return act(`Drain of ${host}`, 'POST', `/os-ferry-hosts/${encodeURIComponent(host)}/drain`, body);
}

function cancel(d) {
  return act(`Cancel of the drain of ${d.host}`, 'POST', `/os-ferry-drains/${encodeURIComponent(d.id)}/cancel`);
}

// ---- start -------------------------------------------------------------------------------------------------------

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void logIn(e.target);
});
$('logout').addEventListener('click', () => logOut());
// Durations of running drains tick on between snapshots.
setInterval(() => {
  for (const td of document.querySelectorAll('#drains td.took')) {
    if (!td.dataset.finished) td.textContent = took(td.dataset.started, null);
  }
}, 1000);
if (token()) void connect();
else show('login-view');
