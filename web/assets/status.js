// Renders /api/status (schema disco.status/2, see docs/status-api.md).
// Only textContent is used for data, so nothing from the network becomes markup.
'use strict';

function $(id) { return document.getElementById(id); }

function setText(id, value) {
  const el = $(id);
  if (el) el.textContent = (value === null || value === undefined || value === '') ? '—' : String(value);
}

function formatDuration(s) {
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  const parts = [];
  if (d) parts.push(d + 'd');
  if (d || h) parts.push(h + 'h');
  if (d || h || m) parts.push(m + 'm');
  parts.push((s % 60) + 's');
  return parts.join(' ');
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function renderValue(v) {
  if (Array.isArray(v)) return v.length ? v.map(x => typeof x === 'object' ? JSON.stringify(x) : String(x)).join(', ') : '—';
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return (v === null || v === undefined) ? '—' : String(v);
}

function renderKV(container, obj) {
  container.replaceChildren();
  const table = el('table');
  for (const [k, v] of Object.entries(obj || {})) {
    const tr = el('tr');
    tr.append(el('th', k), el('td', renderValue(v)));
    table.append(tr);
  }
  container.append(table);
}

function renderConferences(container, confs) {
  container.replaceChildren();
  if (!confs || confs.length === 0) {
    container.append(el('p', 'No conferences yet.', 'muted'));
    return;
  }
  for (const c of confs) {
    const box = el('div', undefined, 'conference');
    box.append(el('h3', c.uri));
    const parts = c.participants || [];
    const here = parts.filter(p => p.local !== false).length;
    box.append(el('p', parts.length + ' participant(s), ' + here + ' on this focus' +
      (c.peers ? ', ' + c.peers.length + ' peer focus(es)' : ''), 'muted'));
    if (parts.length) {
      const table = el('table');
      const head = el('tr');
      for (const h of ['Participant', 'Codec', 'Duration', 'Loss', 'Talking', 'Focus']) head.append(el('th', h));
      table.append(head);
      for (const p of parts) {
        const tr = el('tr');
        // Another focus's participants come with no duration or talking
        // state in the conference event package: show unknown, not zero.
        tr.append(el('td', p.uri), el('td', p.codec),
          el('td', typeof p.duration_seconds === 'number' ? formatDuration(p.duration_seconds) : '—'),
          el('td', typeof p.loss_percent === 'number' ? p.loss_percent.toFixed(1) + ' %' : '—'),
          el('td', typeof p.talking === 'boolean' ? (p.talking ? 'yes' : 'no') : '—'), el('td', p.local === false ? (p.focus || 'another focus') : 'here'));
        tr.dataset.participant = p.uri;
        table.append(tr);
      }
      box.append(table);
    }
    if (c.subscriptions && c.subscriptions.length) {
      box.append(el('p', 'Subscribers: ' + c.subscriptions.map(s => s.subscriber).join(', '), 'muted'));
    }
    container.append(box);
  }
}

function idList(ids) {
  // An empty list is a fact (no neighbours, or no Chord), not a missing value.
  if (!Array.isArray(ids)) return '—';
  return ids.length ? ids.join(', ') : 'none';
}

function formatMs(v) {
  return typeof v === 'number' ? v.toFixed(1) + ' ms' : '—';
}

function renderOverlay(o) {
  o = o || {};
  setText('overlay-node-id', o.node_id);
  setText('overlay-state', o.state + (o.chord ? (o.joined ? ', Chord ring joined' : ', Chord, joining') : ', no Chord'));
  setText('overlay-predecessors', idList(o.predecessors));
  setText('overlay-successors', idList(o.successors));
  setText('overlay-fingers', idList(o.fingers));
  setText('overlay-stored', o.storage ? o.storage.stored : null);
  setText('overlay-replicated', o.storage ? o.storage.replicated : null);

  const links = $('overlay-links');
  links.replaceChildren();
  const conns = o.connections || [];
  if (conns.length === 0) {
    links.append(el('p', 'No links.', 'muted'));
  } else {
    const table = el('table');
    const head = el('tr');
    for (const h of ['Peer', 'Remote', 'Mode', 'SRTT', 'RTO']) head.append(el('th', h));
    table.append(head);
    for (const c of conns) {
      const tr = el('tr');
      tr.append(el('td', c.peer || '—'), el('td', c.remote || '—'), el('td', c.mode),
        el('td', formatMs(c.srtt_ms)), el('td', formatMs(c.rto_ms)));
      if (c.peer) tr.dataset.link = c.peer;
      table.append(tr);
    }
    links.append(table);
  }

  const msgs = $('overlay-messages');
  msgs.replaceChildren();
  const m = o.messages || {};
  const types = new Set();
  for (const dir of ['forwarded', 'answered', 'dropped']) for (const t of Object.keys(m[dir] || {})) types.add(t);
  if (types.size === 0) {
    msgs.append(el('p', 'No messages yet.', 'muted'));
  } else {
    const table = el('table');
    const head = el('tr');
    for (const h of ['Type', 'Forwarded', 'Answered', 'Dropped']) head.append(el('th', h));
    table.append(head);
    for (const t of [...types].sort()) {
      const tr = el('tr');
      tr.append(el('td', t));
      for (const dir of ['forwarded', 'answered', 'dropped']) tr.append(el('td', String((m[dir] || {})[t] || 0)));
      tr.dataset.messageType = t;
      table.append(tr);
    }
    msgs.append(table);
  }
}

function render(s) {
  setText('focus-name', s.identity.name);
  setText('identity-name', s.identity.name);
  setText('identity-node-id', s.identity.node_id);
  setText('software-version', s.software.name + ' ' + s.software.version);
  setText('uptime', formatDuration(s.uptime_seconds));
  setText('started-at', s.started_at);
  setText('listen-sip', s.listen.sip);
  setText('listen-http', s.listen.http);
  setText('listen-overlay', s.listen.overlay);
  setText('load-participants', s.load.participants);
  setText('load-capacity', s.load.capacity);
  setText('load-ratio', typeof s.load.ratio === 'number' ? (100 * s.load.ratio).toFixed(1) + ' %' : '—');
  $('load-meter').value = s.load.ratio;
  renderOverlay(s.overlay);
  renderKV($('overlay-body'), s.overlay);
  renderConferences($('conferences-body'), s.conferences);
  const st = $('conn-state');
  st.textContent = 'updated ' + new Date().toLocaleTimeString();
  st.className = 'muted';
  document.body.dataset.loaded = 'true';
}

async function refresh() {
  try {
    const r = await fetch('/api/status', { cache: 'no-store' });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    render(await r.json());
  } catch (e) {
    const st = $('conn-state');
    st.textContent = 'status unavailable: ' + e.message;
    st.className = 'error';
  }
}

refresh();
setInterval(refresh, 2000);
