// app.js: the customer dashboard. Reads the aggregator's window API once a second and draws
// it: rates, totals, two 60-second charts, top countries and regions. No library, no outside
// asset: the page's Content-Security-Policy only allows this origin, and no inline script.
//
// Completeness: hits take a second or two to arrive, so the newest seconds of a window are
// still filling. The window says up to when it is complete (complete_to_ms: every edge has
// delivered its hits before it); seconds after it are provisional. The charts draw them as
// hatched bars of what came so far under a hatched band, never as a line dropping towards
// zero, and the rate cards use complete seconds only. A banner says when edges are behind
// (listed, with how far) or when the aggregator is still catching up after a start.
//
// Beside the minute (when the aggregator sends them, custview.h): HTTP status classes, the
// cache hit ratio, the top hosts, the last 60 minutes by minute, region names. Every time is
// shown with its zone (the browser's, or UTC: the picker in the bar, kept in localStorage).
// An operator token gets the list of customers it may read (GET /v1/customers) to pick from.
//
// The token comes from the sign-in form or from the URL fragment (#customer=acme&token=...,
// which the demo prints); it is kept in sessionStorage (this tab only) and the fragment is
// removed from the address bar at once.
'use strict';

(function () {
  const REFRESH_MS = 1000;      // one window read per second
  const TIMEOUT_MS = 5000;      // a read slower than this counts as a network error
  const WINDOW_S = 60;          // the charts always show the whole minute
  const RATE_S = 5;             // the rate cards average the last few whole seconds
  const TOP_ROWS = 10;
  const KEY_TOKEN = 'cdn.dashboard.token';
  const KEY_CUSTOMER = 'cdn.dashboard.customer';
  const KEY_TZ = 'cdn.dashboard.tz';
  const MINUTES = 60;
  const CLASSES = ['2xx', '3xx', '4xx', '5xx', 'other'];

  const $ = (id) => document.getElementById(id);
  const intFmt = new Intl.NumberFormat('en-US');
  let regionNames = null;
  try { regionNames = new Intl.DisplayNames(['en'], { type: 'region' }); } catch (e) { /* old */ }

  const state = {
    token: '', customer: '', operator: false,
    timer: 0, generation: 0, // generation: a newer sign-in makes older polls stop
    last: null,              // last window shown (for redraws on resize and hover)
    hover: { 'chart-hits': -1, 'chart-bytes': -1 },
    tz: 'local',             // 'local' (the browser's zone) or 'UTC'
  };

  // ---- formatting -----------------------------------------------------------------------------

  function fmtInt(n) { return intFmt.format(n); }

  function fmtUnit(n, units, base) {
    let i = 0;
    while (Math.abs(n) >= base && i < units.length - 1) { n /= base; i++; }
    const a = Math.abs(n);
    const digits = i === 0 ? (Number.isInteger(n) || a >= 100 ? 0 : 1) : a >= 100 ? 0 : a >= 10 ? 1 : 2;
    return n.toFixed(digits) + ' ' + units[i];
  }
  const fmtBytes = (n) => fmtUnit(n, ['B', 'kB', 'MB', 'GB', 'TB', 'PB'], 1000);
  const fmtBits = (n) => fmtUnit(n, ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'], 1000);
  const fmtShort = (n) => fmtUnit(n, ['', 'k', 'M', 'G', 'T'], 1000).trim();

  // A time with its zone: "14:03:05 CET", "13:03:05 UTC" (the zone's short name as the browser
  // knows it; an offset such as GMT+5:30 where it has no abbreviation).
  function fmtTime(ms, short) {
    const o = { hour12: false, hour: '2-digit', minute: '2-digit', timeZoneName: 'short' };
    if (!short) o.second = '2-digit';
    if (state.tz === 'UTC') o.timeZone = 'UTC';
    try { return new Date(ms).toLocaleTimeString('en-GB', o); } catch (e) {
      return new Date(ms).toISOString().slice(11, short ? 16 : 19) + ' UTC';
    }
  }
  function zoneName() {
    return fmtTime(Date.now(), true).replace(/^[0-9:]+\s*/, '');
  }

  function countryName(cc) {
    if (cc === 'ZZ' || !cc) return 'Unknown';
    try { return regionNames ? regionNames.of(cc) : cc; } catch (e) { return cc; }
  }

  function setValue(id, value, text) {
    const el = $(id);
    el.dataset.value = String(value);
    el.textContent = text;
  }

  // ---- messages and views ---------------------------------------------------------------------

  function showError(id, msg, kind) {
    const el = $(id);
    el.textContent = msg || '';
    el.hidden = !msg;
    el.dataset.kind = kind || 'error'; // 'info' is a hint, not a failure
  }

  function setStatus(s, text) {
    const el = $('status');
    el.dataset.state = s;
    el.textContent = text;
  }

  function showBoard(on) {
    $('signin').hidden = on;
    $('board').hidden = !on;
    $('who').hidden = !on;
  }

  // ---- the API ------------------------------------------------------------------------------

  async function api(path) {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    try {
      const res = await fetch(path, {
        headers: { Authorization: 'Bearer ' + state.token },
        cache: 'no-store', credentials: 'omit', signal: ctl.signal,
      });
      let body = null;
      try { body = await res.json(); } catch (e) { body = null; }
      return { status: res.status, body, retry: Number(res.headers.get('Retry-After')) || 0 };
    } finally {
      clearTimeout(t);
    }
  }

  function explain(r) {
    const why = r.body && typeof r.body.error === 'string' ? r.body.error : '';
    switch (r.status) {
      case 401: return 'This token is not accepted. Check it, or ask for a new one.';
      case 403: return 'This token may not read customer "' + state.customer + '".';
      case 400: return 'Bad request: ' + (why || 'the aggregator refused it.');
      case 404: return 'Customer "' + state.customer + '" is not served here.';
      case 429: return 'Too many requests: slowing down.';
      default: return 'The aggregator answered ' + r.status + (why ? ': ' + why : '.');
    }
  }

  // ---- sign in and out ----------------------------------------------------------------------

  async function signIn(token, customer) {
    const gen = ++state.generation;
    clearTimeout(state.timer);
    state.token = token;
    state.customer = customer;
    showError('signin-error', '');
    let r;
    try {
      r = await api('/v1/token');
    } catch (e) {
      showError('signin-error', 'Cannot reach the aggregator. Is it running?');
      return;
    }
    if (gen !== state.generation) return;
    if (r.status !== 200 || !r.body) {
      showError('signin-error', explain(r));
      showBoard(false);
      return;
    }
    state.operator = !!r.body.operator;
    let list = Array.isArray(r.body.customers) ? r.body.customers : [];
    let picks = list.map((c) => ({ customer: c, active: false }));
    try { // whom the token may pick from; an older aggregator has no such list (404)
      const c = await api('/v1/customers');
      if (gen !== state.generation) return;
      if (c.status === 200 && c.body && Array.isArray(c.body.customers)) {
        picks = c.body.customers;
        list = picks.map((p) => p.customer);
      }
    } catch (e) { /* the window read will say what is wrong */ }
    fillCustomers(list);
    fillPicks(picks);
    if (!state.customer && list.length && !state.operator) state.customer = list[0];
    sessionStorage.setItem(KEY_TOKEN, token);
    showBoard(true);
    $('switch').hidden = !(state.operator || list.length > 1);
    $('pick-customer').value = state.customer;
    $('pick-list').value = state.customer;
    pickCustomer(state.customer);
  }

  function fillPicks(picks) {
    const sel = $('pick-list');
    const opts = [];
    if (state.operator) { // an operator chooses: nothing is shown before
      const o = document.createElement('option');
      o.value = '';
      o.textContent = 'pick a customer (' + picks.length + ')';
      opts.push(o);
    }
    for (const p of picks) {
      const o = document.createElement('option');
      o.value = p.customer;
      o.textContent = p.customer + (p.active ? ' ●' : '');
      opts.push(o);
    }
    sel.replaceChildren(...opts);
    sel.hidden = state.operator ? picks.length === 0 : picks.length < 2;
  }

  function fillCustomers(list) {
    const dl = $('customers');
    dl.replaceChildren(...list.map((c) => { const o = document.createElement('option'); o.value = c; return o; }));
  }

  function pickCustomer(c) {
    state.customer = c;
    state.last = null;
    clearBoard();
    $('who-customer').textContent = c || 'no customer chosen';
    if (!c) {
      setStatus('idle', 'idle');
      showError('board-error', 'This is an operator token: pick a customer from the list, or enter one.', 'info');
      return;
    }
    sessionStorage.setItem(KEY_CUSTOMER, c);
    showError('board-error', '');
    setStatus('wait', 'connecting');
    const gen = ++state.generation;
    poll(gen);
  }

  function signOut(msg) {
    state.generation++;
    clearTimeout(state.timer);
    sessionStorage.removeItem(KEY_TOKEN);
    sessionStorage.removeItem(KEY_CUSTOMER);
    state.token = '';
    state.customer = '';
    $('in-token').value = '';
    showBoard(false);
    showError('signin-error', msg || '');
  }

  // ---- polling ------------------------------------------------------------------------------

  async function poll(gen) {
    let next = REFRESH_MS;
    const started = Date.now();
    try {
      const path = '/v1/customers/' + encodeURIComponent(state.customer) + '/window?seconds=' + WINDOW_S;
      const r = await api(path);
      if (gen !== state.generation) return;
      if (r.status === 200 && r.body) {
        render(r.body);
        showError('board-error', '');
        if (r.body.catching_up) setStatus('wait', 'catching up'); else setStatus('live', 'live');
      } else if (r.status === 401) {
        signOut(explain(r));
        return;
      } else {
        showError('board-error', explain(r));
        setStatus('error', r.status === 429 ? 'slowed' : 'error');
        if (r.status === 429) next = Math.max(REFRESH_MS, r.retry * 1000);
        if (r.status === 403 || r.status === 400) next = 5 * REFRESH_MS;
      }
    } catch (e) {
      if (gen !== state.generation) return;
      showError('board-error', 'Cannot reach the aggregator; retrying every second. Numbers shown may be old.');
      setStatus('error', 'offline');
    }
    const wait = Math.max(100, next - (Date.now() - started));
    state.timer = setTimeout(() => poll(gen), wait);
  }

  // ---- rendering ----------------------------------------------------------------------------

  function clearBoard() {
    for (const id of ['rate-hits', 'rate-bytes', 'total-hits', 'total-bytes']) setValue(id, '', '–');
    $('rate-bits').textContent = '';
    $('total-bytes-exact').textContent = '';
    for (const id of ['countries', 'regions', 'hosts']) $(id).tBodies[0].replaceChildren();
    setValue('cache-ratio', '', '–');
    $('cache-detail').textContent = '';
    $('status-bar').replaceChildren();
    $('status-classes').replaceChildren();
    $('end-time').textContent = '–';
    $('completeness').hidden = true;
    drawCharts();
  }

  // Start of the first provisional second: complete_to_ms, never beyond the current second
  // (which is still going). An answer without the key (an older aggregator) is complete up to
  // its current second.
  function completeTo(w) {
    const c = typeof w.complete_to_ms === 'number' ? w.complete_to_ms : w.end_ms;
    return Math.min(c, w.end_ms);
  }
  const isFinal = (w, p) => p.t_ms + 1000 <= completeTo(w);

  function ago(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 120) return s + ' s';
    if (s < 7200) return Math.round(s / 60) + ' min';
    return Math.round(s / 3600) + ' h';
  }

  function showCompleteness(w) {
    const el = $('completeness');
    const behind = Array.isArray(w.edges_behind) ? w.edges_behind : [];
    const parts = [];
    let s = 'ok';
    if (w.catching_up) {
      s = 'catching-up';
      parts.push('Catching up: this aggregator is still reading back the last minute, the ' +
        'numbers are filling in.');
    }
    if (behind.length) {
      if (s === 'ok') s = 'behind';
      const now = Date.now();
      const list = behind.slice(0, 5).map((e) =>
        e.edge + ' (delivered up to ' + fmtTime(e.watermark_ms) + ', ' + ago(now - e.watermark_ms) + ' behind)');
      parts.push('Late data from ' + behind.length + (behind.length === 1 ? ' edge: ' : ' edges: ') +
        list.join(', ') + (behind.length > 5 ? ', …' : '') + '.');
    }
    if (s !== 'ok') parts.push('Seconds after ' + fmtTime(completeTo(w)) + ' are provisional.');
    el.dataset.state = s;
    el.textContent = parts.join(' ');
    el.hidden = s === 'ok';
  }

  function render(w) {
    state.last = w;
    const series = Array.isArray(w.series) ? w.series : [];
    // The newest seconds are still filling: the rate is that of the RATE_S complete seconds
    // before them (or of what there is, while nothing is complete yet).
    const done = series.filter((p) => isFinal(w, p));
    const tail = done.length ? done.slice(-RATE_S) : series.slice(-RATE_S);
    const n = tail.length || 1;
    const hps = tail.reduce((a, p) => a + p.hits, 0) / n;
    const bps = tail.reduce((a, p) => a + p.bytes, 0) / n;
    setValue('rate-hits', hps, hps >= 100 ? fmtInt(Math.round(hps)) : hps.toFixed(1));
    setValue('rate-bytes', bps, fmtBytes(bps) + '/s');
    $('rate-bits').textContent = fmtBits(bps * 8);
    setValue('total-hits', w.hits, fmtInt(w.hits));
    setValue('total-bytes', w.bytes, fmtBytes(w.bytes));
    $('total-bytes-exact').textContent = fmtInt(w.bytes) + ' B';
    $('span-hits').textContent = w.seconds + ' s';
    $('span-bytes').textContent = w.seconds + ' s';
    $('end-time').textContent = fmtTime(w.end_ms);
    $('updated').textContent = 'last read ' + fmtTime(Date.now());
    showCompleteness(w);
    fillTable('countries', w.countries, w.hits, (c) => c.country + ' ' + countryName(c.country));
    // A row with "other": true is the key cap's (window.h): the regions of that country beyond
    // --max-keys-per-customer, summed; shown muted, by what it is rather than as "US-(other)".
    fillTable('regions', w.regions, w.hits,
      (r) => r.other ? 'Other regions of ' + countryName(r.country) :
        r.country + (r.region ? '-' + r.region : ' (region unknown)') +
        (r.name && r.name !== r.region ? ' ' + r.name : ''));
    renderExtras(w);
    drawCharts();
  }

  // The keys custview adds (absent from an older aggregator: those parts stay empty).
  function renderExtras(w) {
    $('span-cache').textContent = w.seconds + ' s';
    $('span-status').textContent = w.seconds + ' s';
    const c = w.cache;
    if (c && typeof c.hit === 'number') {
      const ratio = typeof c.hit_ratio === 'number' ? c.hit_ratio : null;
      setValue('cache-ratio', ratio === null ? '' : ratio,
        ratio === null ? '–' : (100 * ratio).toFixed(1) + ' %');
      $('cache-detail').textContent = fmtInt(c.hit) + ' hits · ' + fmtInt(c.miss) + ' misses' +
        (c.unknown ? ' · ' + fmtInt(c.unknown) + ' unknown' : '');
    }
    const st = w.status;
    if (st && typeof st['2xx'] === 'number') {
      const total = CLASSES.reduce((a, k) => a + (st[k] || 0), 0);
      const bars = [], items = [];
      for (const k of CLASSES) {
        const n = st[k] || 0;
        if (n && total) {
          const b = document.createElement('span');
          b.className = 'c' + k;
          b.style.width = (100 * n / total) + '%';
          b.title = k + ': ' + fmtInt(n);
          bars.push(b);
        }
        const li = document.createElement('li');
        li.dataset.class = k;
        li.dataset.value = String(n);
        const sw = document.createElement('i');
        sw.className = 'c' + k;
        li.append(sw, k + ' ' + fmtInt(n) + (total ? ' (' + (100 * n / total).toFixed(1) + ' %)' : ''));
        items.push(li);
      }
      $('status-bar').replaceChildren(...bars);
      $('status-classes').replaceChildren(...items);
    }
    if (Array.isArray(w.hosts)) {
      const rows = w.hosts.slice();
      const other = w.hosts_other;
      if (other && other.hits > 0) rows.push({ host: '', hits: other.hits, bytes: other.bytes, other: true });
      fillTable('hosts', rows, w.hits, (h) => h.other ? 'other hosts' : h.host || '(no host)');
    }
    const note = $('minutes-note');
    if (Array.isArray(w.minutes) && w.minutes.length && typeof w.minutes_from_ms === 'number' &&
        w.minutes_from_ms > w.minutes[0].t_ms)
      note.textContent = '· this instance has read since ' + fmtTime(w.minutes_from_ms, true);
    else
      note.textContent = '';
  }

  function fillTable(id, rows, total, label) {
    const body = $(id).tBodies[0];
    const out = [];
    for (const r of (Array.isArray(rows) ? rows : []).slice(0, TOP_ROWS)) {
      const tr = document.createElement('tr');
      if (r.other) tr.className = 'muted'; // a row of sums (other hosts, other regions)
      const share = total > 0 ? (100 * r.hits / total).toFixed(1) + ' %' : '–';
      for (const [text, cls] of [[label(r), ''], [fmtInt(r.hits), 'num'], [share, 'num'],
                                 [fmtBytes(r.bytes), 'num']]) {
        const td = document.createElement('td');
        td.textContent = text;
        if (cls) td.className = cls;
        tr.appendChild(td);
      }
      out.push(tr);
    }
    if (!out.length) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = 4;
      td.className = 'muted';
      td.textContent = 'No traffic in this window.';
      tr.appendChild(td);
      out.push(tr);
    }
    body.replaceChildren(...out);
  }

  // ---- charts (canvas, drawn here) -----------------------------------------------------------

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function drawCharts() {
    drawChart($('chart-hits'), 'hits', (v) => fmtShort(v), 'hits');
    drawChart($('chart-bytes'), 'bytes', (v) => fmtBytes(v) + '/s', 'bytes');
    drawMinutes($('chart-minutes'));
  }

  // The hour by minute: a bar a minute; minutes before what this instance has read are
  // hatched (their bars may lack hits it never read); the current minute is still filling.
  function drawMinutes(cv) {
    const dpr = window.devicePixelRatio || 1;
    const cssW = cv.clientWidth || 300, cssH = cv.clientHeight || 160;
    if (cv.width !== Math.round(cssW * dpr) || cv.height !== Math.round(cssH * dpr)) {
      cv.width = Math.round(cssW * dpr);
      cv.height = Math.round(cssH * dpr);
    }
    const g = cv.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cssW, cssH);
    const w = state.last;
    const mins = w && Array.isArray(w.minutes) ? w.minutes : [];
    cv.dataset.minutes = String(mins.length);
    cv.dataset.total = String(mins.reduce((a, m) => a + m.hits, 0));
    const L = 64, R = 8, T = 10, B = 22, pw = cssW - L - R, ph = cssH - T - B;
    const max = niceMax(mins.reduce((a, m) => Math.max(a, m.hits), 0) * 1.1);
    const y = (v) => T + ph - (v / max) * ph;
    const slot = pw / MINUTES;
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = cssVar('--muted');
    g.strokeStyle = cssVar('--grid');
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (const f of [0, 0.5, 1]) {
      const yy = Math.round(y(max * f)) + 0.5;
      g.beginPath(); g.moveTo(L, yy); g.lineTo(L + pw, yy); g.stroke();
      g.fillText(fmtShort(max * f), L - 6, yy);
    }
    if (!mins.length) return;
    const from = typeof w.minutes_from_ms === 'number' ? w.minutes_from_ms : 0;
    const unread = mins.filter((m) => m.t_ms < from).length;
    if (unread) {
      g.fillStyle = hatch(g);
      g.fillRect(L, T, unread * slot, ph);
    }
    g.fillStyle = cssVar('--hits');
    mins.forEach((m, i) => {
      if (!(m.hits > 0)) return;
      const top = y(m.hits);
      g.globalAlpha = i === mins.length - 1 ? 0.45 : 0.85;
      g.fillRect(L + i * slot + 1, top, Math.max(1, slot - 2), T + ph - top);
    });
    g.globalAlpha = 1;
    g.fillStyle = cssVar('--muted');
    g.textBaseline = 'top';
    const step = cssW < 500 ? 20 : 10;
    for (let i = 0; i <= MINUTES; i += step) {
      const t = i < MINUTES ? mins[i].t_ms : mins[MINUTES - 1].t_ms + 60000;
      g.textAlign = i === 0 ? 'left' : i === MINUTES ? 'right' : 'center';
      g.fillText(fmtTime(t, true), L + i * slot, T + ph + 6);
    }
  }

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function drawChart(cv, key, fmt, colorKey) {
    const dpr = window.devicePixelRatio || 1;
    const cssW = cv.clientWidth || 300, cssH = cv.clientHeight || 160;
    if (cv.width !== Math.round(cssW * dpr) || cv.height !== Math.round(cssH * dpr)) {
      cv.width = Math.round(cssW * dpr);
      cv.height = Math.round(cssH * dpr);
    }
    const g = cv.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, cssW, cssH);
    const w = state.last;
    const series = w && Array.isArray(w.series) ? w.series : [];
    // Second t occupies [x(t), x(t + 1000)): the last slot is the current second.
    const end = (w ? w.end_ms : Math.floor(Date.now() / 1000) * 1000) + 1000;
    const start = end - WINDOW_S * 1000;
    const max = niceMax(series.reduce((a, p) => Math.max(a, p[key]), 0) * 1.1);
    const L = 64, R = 8, T = 10, B = 22;
    const pw = cssW - L - R, ph = cssH - T - B;
    const x = (t) => L + ((t - start) / (end - start)) * pw;
    const y = (v) => T + ph - (v / max) * ph;

    g.font = '11px system-ui, sans-serif';
    g.fillStyle = cssVar('--muted');
    g.strokeStyle = cssVar('--grid');
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (const f of [0, 0.5, 1]) {
      const yy = Math.round(y(max * f)) + 0.5;
      g.beginPath(); g.moveTo(L, yy); g.lineTo(L + pw, yy); g.stroke();
      g.fillText(fmt(max * f), L - 6, yy);
    }
    g.textBaseline = 'top';
    for (const s of [60, 45, 30, 15, 0]) {
      g.textAlign = s === 60 ? 'left' : s === 0 ? 'right' : 'center'; // the ends stay inside
      g.fillText(s ? '-' + s + ' s' : 'now', x(end - s * 1000), T + ph + 6);
    }
    cv.dataset.provisional = '0';
    if (!series.length) return;

    const color = cssVar(colorKey === 'hits' ? '--hits' : '--bytes');
    const done = series.filter((p) => isFinal(w, p));
    const prov = series.filter((p) => !isFinal(w, p));
    cv.dataset.provisional = String(prov.length);
    if (prov.length) drawProvisional(g, prov, key, color, x, y, T, ph, L + pw);

    // Complete seconds: one point per second, at the middle of its second; the area under it.
    if (done.length) {
      g.beginPath();
      done.forEach((p, i) => {
        const px = x(p.t_ms + 500), py = y(p[key]);
        if (i === 0) g.moveTo(px, py); else g.lineTo(px, py);
      });
      g.strokeStyle = color;
      g.lineWidth = 2;
      g.lineJoin = 'round';
      g.stroke();
      g.lineTo(x(done[done.length - 1].t_ms + 500), y(0));
      g.lineTo(x(done[0].t_ms + 500), y(0));
      g.closePath();
      g.globalAlpha = 0.15;
      g.fillStyle = color;
      g.fill();
      g.globalAlpha = 1;
    }

    const hi = state.hover[cv.id];
    if (hi >= 0 && hi < series.length) {
      const p = series[hi], px = x(p.t_ms + 500), py = y(p[key]);
      g.strokeStyle = cssVar('--muted');
      g.lineWidth = 1;
      g.beginPath(); g.moveTo(px, T); g.lineTo(px, T + ph); g.stroke();
      g.fillStyle = color;
      g.beginPath(); g.arc(px, py, 3.5, 0, 2 * Math.PI); g.fill();
      const label = fmtTime(p.t_ms) + '  ' + (key === 'hits' ? fmtInt(p.hits) + ' hits/s' : fmt(p.bytes)) +
        (isFinal(w, p) ? '' : '  (provisional, so far)');
      g.font = '12px system-ui, sans-serif';
      const tw = g.measureText(label).width + 10;
      const bx = Math.min(Math.max(px - tw / 2, L), L + pw - tw);
      g.fillStyle = cssVar('--tip-bg');
      g.fillRect(bx, T, tw, 18);
      g.fillStyle = cssVar('--tip-fg');
      g.textAlign = 'left';
      g.textBaseline = 'middle';
      g.fillText(label, bx + 5, T + 9);
    }
  }

  // Provisional seconds: a hatched band from the first of them to the right edge, and per
  // second a hatched bar with a dashed outline up to what arrived so far ("at least this").
  function hatch(g) {
    const c = document.createElement('canvas');
    c.width = c.height = 8;
    const h = c.getContext('2d');
    h.strokeStyle = cssVar('--prov');
    h.lineWidth = 2;
    h.beginPath(); h.moveTo(-2, 10); h.lineTo(10, -2); h.moveTo(6, 10); h.lineTo(10, 6);
    h.moveTo(-2, 2); h.lineTo(2, -2); h.stroke();
    return g.createPattern(c, 'repeat');
  }

  function drawProvisional(g, prov, key, color, x, y, T, ph, right) {
    const x0 = x(prov[0].t_ms);
    g.fillStyle = hatch(g);
    g.fillRect(x0, T, right - x0, ph);
    g.strokeStyle = cssVar('--muted');
    g.setLineDash([3, 3]);
    g.lineWidth = 1;
    g.beginPath(); g.moveTo(Math.round(x0) + 0.5, T); g.lineTo(Math.round(x0) + 0.5, T + ph); g.stroke();
    for (const p of prov) {
      if (!(p[key] > 0)) continue;
      const bx = x(p.t_ms) + 1, bw = Math.max(2, x(p.t_ms + 1000) - x(p.t_ms) - 2);
      const top = y(p[key]), h = T + ph - top;
      g.globalAlpha = 0.35;
      g.fillStyle = color;
      g.fillRect(bx, top, bw, h);
      g.globalAlpha = 1;
      g.strokeStyle = color;
      g.strokeRect(bx + 0.5, top + 0.5, bw - 1, h - 1);
    }
    g.setLineDash([]);
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = cssVar('--muted');
    g.textAlign = 'right';
    g.textBaseline = 'top';
    if (right - x0 > 70) g.fillText('provisional', right - 4, T + 2);
  }

  function hoverAt(cv, ev) {
    const w = state.last;
    const series = w && Array.isArray(w.series) ? w.series : [];
    const rect = cv.getBoundingClientRect();
    const L = 64, R = 8, pw = rect.width - L - R;
    const t = w ? w.end_ms + 1000 - WINDOW_S * 1000 + ((ev.clientX - rect.left - L) / pw) * WINDOW_S * 1000 : 0;
    let best = -1, bestD = Infinity;
    series.forEach((p, i) => {
      const d = Math.abs(p.t_ms + 500 - t);
      if (d < bestD) { bestD = d; best = i; }
    });
    state.hover[cv.id] = best;
    drawCharts();
  }

  // ---- start --------------------------------------------------------------------------------

  function fromFragment() {
    if (location.hash.length < 2) return null;
    const p = new URLSearchParams(location.hash.slice(1));
    const out = { token: p.get('token') || '', customer: p.get('customer') || '' };
    // The token must not stay in the address bar or the history.
    history.replaceState(null, '', location.pathname + location.search);
    return out.token ? out : null;
  }

  function start() {
    $('signin-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const token = $('in-token').value.trim();
      const customer = $('in-customer').value.trim();
      if (!token) { showError('signin-error', 'Enter your token.'); return; }
      signIn(token, customer);
    });
    $('signout').addEventListener('click', () => signOut(''));
    $('pick-go').addEventListener('click', () => pickCustomer($('pick-customer').value.trim()));
    $('pick-list').addEventListener('change', () => {
      $('pick-customer').value = $('pick-list').value;
      pickCustomer($('pick-list').value);
    });
    state.tz = localStorage.getItem(KEY_TZ) === 'UTC' ? 'UTC' : 'local';
    $('tz').value = state.tz;
    $('tz').options[0].textContent = 'local (' + zoneName() + ')';
    $('tz').addEventListener('change', () => {
      state.tz = $('tz').value === 'UTC' ? 'UTC' : 'local';
      localStorage.setItem(KEY_TZ, state.tz);
      if (state.last) render(state.last);
    });
    $('pick-customer').addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') pickCustomer($('pick-customer').value.trim());
    });
    for (const id of ['chart-hits', 'chart-bytes']) {
      const cv = $(id);
      cv.addEventListener('pointermove', (ev) => hoverAt(cv, ev));
      cv.addEventListener('pointerdown', (ev) => hoverAt(cv, ev));
      cv.addEventListener('pointerleave', () => { state.hover[id] = -1; drawCharts(); });
    }
    window.addEventListener('resize', drawCharts);

    const f = fromFragment();
    const token = f ? f.token : sessionStorage.getItem(KEY_TOKEN);
    const customer = f ? f.customer : sessionStorage.getItem(KEY_CUSTOMER) || '';
    if (token) {
      $('in-token').value = token;
      $('in-customer').value = customer;
      signIn(token, customer);
    }
  }

  start();
})();
