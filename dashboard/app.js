// The operations dashboard: plain browser JavaScript, no framework and nothing fetched from
// anywhere but this host (the page's Content-Security-Policy enforces it). It polls the host and
// redraws the open view. Host-only figures come from /dashboard/api/*; everything else from the
// app's own HTTP API, the same one operators call on Azure.
(() => {
  'use strict';

  const POLL_MS = 1500;
  const SPARK_POINTS = 40; // about a minute at POLL_MS
  // Where dead-letter triage parks messages (src/esb/dead-letter-triage.ts PARKING_QUEUES): the
  // ops API browses these queues themselves, not their dead-letter sub-queues.
  const PARKED = ['review', 'archive'];
  const LIVE_STATES = ['Running', 'AwaitingApproval', 'Compensating'];
  const ENDED_STATES = ['Completed', 'Compensated', 'CompensationFailed'];
  const SAGA_FILTERS = ['all', ...LIVE_STATES, ...ENDED_STATES];
  const STATUS_LABEL = { AwaitingApproval: 'Awaiting approval', CompensationFailed: 'Compensation failed' };

  // ------------------------------------------------------------------ small helpers

  /** Builds an element; text is always set as text, never parsed as HTML. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'testid') el.dataset.testid = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'style') Object.assign(el.style, v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const byTestId = (id, root = document) => root.querySelector(`[data-testid="${CSS.escape(id)}"]`);
  const clear = (el) => {
    el.replaceChildren();
    return el;
  };

  function fmtMs(ms) {
    if (ms === undefined || ms === null || Number.isNaN(ms)) return '–';
    if (ms === 0) return '0';
    if (ms < 1) return `${ms.toFixed(2)} ms`;
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
    const s = Math.round(ms / 1000);
    if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
    return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  }
  const fmtRate = (n) => (n === null || n === undefined ? '–' : n === 0 ? '0' : n < 10 ? n.toFixed(1) : String(Math.round(n)));
  const fmtCount = (n) => (n === null || n === undefined ? '–' : n.toLocaleString());
  function fmtTime(iso) {
    if (!iso) return '–';
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '–' : d.toLocaleTimeString([], { hour12: false });
  }
  function fmtAgo(iso) {
    if (!iso) return '–';
    const ms = Date.now() - new Date(iso).getTime();
    if (Number.isNaN(ms)) return '–';
    if (ms < 5_000) return 'just now';
    return `${fmtMs(ms)} ago`;
  }
  const statusLabel = (s) => STATUS_LABEL[s] || s;
  const statusBadge = (status, testid) => h('span', { class: `badge st-${String(status).toLowerCase()}`, testid, text: statusLabel(status) });

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // With API_KEYS configured the host wants a key with the ops role on every API call. It is kept
  // in sessionStorage: gone when the tab closes, never sent anywhere but this host.
  const KEY_STORAGE = 'ops-api-key';
  const storedKey = () => sessionStorage.getItem(KEY_STORAGE) || '';

  async function api(path, init) {
    const key = storedKey();
    const res = await fetch(path, { ...init, headers: { accept: 'application/json', ...(key ? { 'x-api-key': key } : {}), ...(init && init.headers) } });
    const text = await res.text();
    let body;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    if (!res.ok) throw new ApiError(res.status, (body && body.error && body.error.message) || `${res.status} ${res.statusText}`);
    return body;
  }
  const post = (path) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

  let toastTimer;
  function toast(message, kind = 'info') {
    const el = byTestId('toast');
    el.textContent = message;
    el.className = `toast toast-${kind}`;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (el.hidden = true), 4000);
  }

  // ------------------------------------------------------------------ state and routing

  const state = {
    view: 'flow',
    arg: '',
    flow: undefined,
    spark: new Map(), // entity path → recent incoming rates
    dl: { entity: '', loadedFor: '', depth: -1 },
    sagas: { filter: 'all', search: '', items: [], detail: undefined, detailFor: '', correlations: [] },
    projections: { pending: new Map() }, // name → generation requested
    trace: { correlationId: '', spanCount: -1 },
  };

  function route() {
    const [, view = 'flow', ...rest] = location.hash.replace(/^#/, '').split('/');
    const known = ['flow', 'deadletters', 'sagas', 'projections', 'trace'];
    state.view = known.includes(view) ? view : 'flow';
    state.arg = rest.length ? decodeURIComponent(rest.join('/')) : '';
    for (const v of known) {
      byTestId(`view-${v}`).hidden = v !== state.view;
      const tab = byTestId(`tab-${v}`);
      tab.classList.toggle('active', v === state.view);
      tab.setAttribute('aria-selected', String(v === state.view));
    }
    if (state.view === 'deadletters' && state.arg !== state.dl.entity) {
      state.dl.entity = state.arg;
      state.dl.loadedFor = '';
    }
    if (state.view === 'sagas' && state.arg !== state.sagas.detailFor) {
      state.sagas.detailFor = state.arg;
      state.sagas.detail = undefined;
      state.sagas.correlations = [];
    }
    if (state.view === 'trace' && state.arg !== state.trace.correlationId) {
      state.trace.correlationId = state.arg;
      state.trace.spanCount = -1;
      byTestId('trace-input').value = state.arg;
    }
    refreshNow();
  }
  const go = (...parts) => {
    location.hash = `#/${parts.map((p) => encodeURIComponent(p)).join('/')}`;
  };

  // ------------------------------------------------------------------ polling

  let timer;
  let running = false;
  let again = false;
  async function tick() {
    if (running) {
      again = true;
      return;
    }
    clearTimeout(timer);
    // A page in a background tab asks nothing: every poll of the app's API is an invocation.
    if (document.visibilityState === 'hidden') {
      timer = setTimeout(tick, POLL_MS);
      return;
    }
    running = true;
    try {
      await refreshFlow();
      if (state.view === 'deadletters') await refreshDeadLetters();
      else if (state.view === 'sagas') await refreshSagas();
      else if (state.view === 'projections') await refreshProjections();
      else if (state.view === 'trace') await refreshTrace();
      setLive(true);
    } catch (error) {
      setLive(false, error);
    } finally {
      running = false;
      timer = setTimeout(tick, POLL_MS);
      if (again) {
        again = false;
        void tick();
      }
    }
  }
  const refreshNow = () => void tick();

  function setLive(ok, error) {
    const el = byTestId('live-status');
    el.classList.toggle('down', !ok);
    const refused = !ok && error instanceof ApiError && (error.status === 401 || error.status === 403);
    el.querySelector('.live-text').textContent = ok ? `live · ${new Date().toLocaleTimeString([], { hour12: false })}` : refused ? 'key needed' : 'host unreachable';
    const banner = byTestId('error-banner');
    banner.hidden = ok;
    if (refused) {
      banner.textContent =
        error.status === 401
          ? storedKey()
            ? `The host did not accept this API key (${error.message}): enter one with the ops role above.`
            : 'This host needs an API key: enter one with the ops role above.'
          : `The API key in use lacks the ops role: ${error.message}`;
    } else if (!ok) banner.textContent = `Could not reach the host: ${error && error.message ? error.message : error}. Retrying…`;
    showKeyControls(refused);
  }

  function showKeyControls(askForKey) {
    const form = byTestId('key-form');
    const wasHidden = form.hidden;
    form.hidden = !askForKey;
    if (askForKey && wasHidden) byTestId('key-input').focus();
    byTestId('key-forget').hidden = askForKey || !storedKey();
  }

  // ------------------------------------------------------------------ flow

  async function refreshFlow() {
    const flow = await api('/dashboard/api/flow');
    state.flow = flow;
    for (const e of flow.entities) {
      const points = state.spark.get(e.path) || [];
      points.push(e.incomingPerSecond);
      if (points.length > SPARK_POINTS) points.shift();
      state.spark.set(e.path, points);
    }
    const dead = flow.totals.deadLetterMessageCount;
    const badge = byTestId('deadletter-total');
    badge.hidden = !dead;
    badge.textContent = fmtCount(dead);
    if (state.view === 'flow') renderFlow(flow);
  }

  function sparkline(points) {
    const ns = 'http://www.w3.org/2000/svg';
    const w = 120;
    const hgt = 24;
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
    svg.setAttribute('class', 'spark');
    svg.setAttribute('aria-hidden', 'true');
    const max = Math.max(1, ...points);
    const step = w / (SPARK_POINTS - 1);
    const offset = (SPARK_POINTS - points.length) * step;
    // A faint zero line across the whole minute: no history yet reads as "not measured", not as a gap.
    const base = document.createElementNS(ns, 'line');
    for (const [k, v] of Object.entries({ x1: 0, y1: hgt - 2, x2: w, y2: hgt - 2, class: 'spark-base' })) base.setAttribute(k, String(v));
    svg.append(base);
    const coords = points.map((p, i) => `${(offset + i * step).toFixed(1)},${(hgt - 2 - (p / max) * (hgt - 4)).toFixed(1)}`);
    if (coords.length > 1) {
      const area = document.createElementNS(ns, 'polygon');
      area.setAttribute('points', `${offset.toFixed(1)},${hgt} ${coords.join(' ')} ${w},${hgt}`);
      area.setAttribute('class', 'spark-area');
      svg.append(area);
      const line = document.createElementNS(ns, 'polyline');
      line.setAttribute('points', coords.join(' '));
      line.setAttribute('class', 'spark-line');
      svg.append(line);
    }
    return svg;
  }

  function renderFlow(flow) {
    byTestId('total-in').textContent = fmtRate(flow.totals.incomingPerSecond);
    byTestId('total-done').textContent = fmtRate(flow.totals.completedPerSecond);
    byTestId('total-active').textContent = fmtCount(flow.totals.activeMessageCount);
    byTestId('total-dead').textContent = fmtCount(flow.totals.deadLetterMessageCount);
    byTestId('total-dead')
      .closest('.card')
      .classList.toggle('card-alert', flow.totals.deadLetterMessageCount > 0);
    byTestId('flow-window').textContent = `rates over the last ${flow.windowSeconds.toFixed(1)} s`;
    const tbody = clear(byTestId('flow-table').querySelector('tbody'));
    for (const e of flow.entities) {
      const dead = e.deadLetterMessageCount;
      tbody.append(
        h(
          'tr',
          { testid: `flow-row-${e.path}`, class: `kind-${e.kind}${e.incomingPerSecond > 0 || (e.completedPerSecond || 0) > 0 ? ' busy' : ''}` },
          h(
            'td',
            {},
            h(
              'div',
              { class: 'entity' },
              h('span', { class: `chip chip-${e.kind}`, text: e.kind }),
              h('span', { class: 'mono', text: e.kind === 'subscription' ? e.path.split('/').pop() : e.path, title: e.path }),
            ),
          ),
          h('td', { class: 'num rate', testid: `flow-in-${e.path}`, text: fmtRate(e.incomingPerSecond) }),
          h('td', { class: 'spark-col' }, sparkline(state.spark.get(e.path) || [])),
          h('td', { class: 'num rate', testid: `flow-done-${e.path}`, text: fmtRate(e.completedPerSecond) }),
          h('td', { class: 'num', testid: `flow-active-${e.path}`, text: fmtCount(e.activeMessageCount) }),
          h('td', { class: 'num muted', text: fmtCount(e.scheduledMessageCount) }),
          h(
            'td',
            { class: 'num', testid: `flow-dead-${e.path}` },
            dead ? h('a', { class: 'badge st-failed', href: `#/deadletters/${encodeURIComponent(e.path)}`, text: fmtCount(dead) }) : fmtCount(dead),
          ),
        ),
      );
    }
  }

  // ------------------------------------------------------------------ dead letters

  function receivers() {
    return state.flow ? state.flow.entities.filter((e) => e.kind !== 'topic') : [];
  }
  const displayName = (e) => (e.kind === 'subscription' ? `${e.topic} › ${e.path.split('/').pop()}` : e.path);
  /** What waits for an operator in an entity: its dead letters, or a parking queue's messages. */
  const waiting = (e) => (PARKED.includes(e.path) ? e.activeMessageCount : e.deadLetterMessageCount) || 0;

  async function refreshDeadLetters() {
    const list = clear(byTestId('dl-entities'));
    const entities = receivers().sort((a, b) => waiting(b) - waiting(a) || a.path.localeCompare(b.path));
    for (const e of entities) {
      const n = waiting(e);
      list.append(
        h(
          'li',
          {},
          h(
            'a',
            { href: `#/deadletters/${encodeURIComponent(e.path)}`, class: `${e.path === state.dl.entity ? 'selected' : ''}${n ? ' has' : ''}`, testid: `dl-entity-${e.path}` },
            h('span', { class: 'mono', title: e.path, text: displayName(e) }),
            PARKED.includes(e.path) ? h('span', { class: 'chip chip-parked', text: 'parked' }) : null,
            h('span', { class: `count${n ? ' alert' : ''}`, text: fmtCount(n) }),
          ),
        ),
      );
    }
    if (!state.dl.entity) {
      const first = entities.find((e) => waiting(e) > 0);
      if (first) return go('deadletters', first.path);
      byTestId('dl-title').textContent = 'Nothing dead-lettered';
      byTestId('dl-source').textContent = 'Every queue and subscription is clean. Pick one on the left to browse it anyway.';
      byTestId('dl-table').hidden = true;
      byTestId('dl-resubmit-all').disabled = true;
      byTestId('dl-empty').hidden = true;
      return;
    }
    const current = entities.find((e) => e.path === state.dl.entity);
    const depth = current ? waiting(current) : -1;
    // The table is redrawn when the depth moves, not on every poll: an open body stays open.
    if (state.dl.loadedFor === state.dl.entity && depth === state.dl.depth) return;
    await loadDeadLetters(depth);
  }

  async function loadDeadLetters(depth) {
    const entity = state.dl.entity;
    const data = await api(`/api/ops/deadletters?entity=${encodeURIComponent(entity)}&max=100`);
    state.dl.loadedFor = entity;
    state.dl.depth = depth;
    byTestId('dl-title').textContent = entity;
    byTestId('dl-table').hidden = data.deadLetters.length === 0;
    byTestId('dl-source').textContent = `Reading ${data.source}${data.nextSequenceNumber !== undefined ? ' (first 100 shown)' : ''}`;
    byTestId('dl-resubmit-all').disabled = data.deadLetters.length === 0;
    byTestId('dl-empty').hidden = data.deadLetters.length > 0;
    const tbody = clear(byTestId('dl-table').querySelector('tbody'));
    for (const m of data.deadLetters) {
      const bodyRow = h(
        'tr',
        { class: 'body-row', hidden: true },
        h(
          'td',
          { colspan: 7 },
          h('div', { class: 'kv' }, h('h4', { text: 'Body' }, m.bodyTruncated ? ' (truncated)' : ''), h('pre', { text: typeof m.body === 'string' ? m.body : JSON.stringify(m.body, null, 2) })),
          h('div', { class: 'kv' }, h('h4', { text: 'Application properties' }), h('pre', { text: JSON.stringify(m.applicationProperties, null, 2) })),
        ),
      );
      tbody.append(
        h(
          'tr',
          { testid: `dl-row-${m.sequenceNumber}` },
          h('td', { class: 'num mono', text: m.sequenceNumber }),
          h(
            'td',
            {},
            h('div', { class: 'strong', text: m.messageType || '(no type)' }),
            h('div', { class: 'mono small muted', text: m.messageId }),
            m.correlationId
              ? h('a', {
                  class: 'small',
                  href: `#/trace/${encodeURIComponent(m.correlationId)}`,
                  title: `Trace of correlationId ${m.correlationId}`,
                  testid: `dl-trace-${m.sequenceNumber}`,
                  text: `trace ${m.correlationId.length > 14 ? `${m.correlationId.slice(0, 13)}…` : m.correlationId}`,
                })
              : null,
          ),
          h(
            'td',
            { class: 'reason' },
            h('div', { class: 'strong', testid: `dl-reason-${m.sequenceNumber}`, text: m.deadLetterReason || '(none)' }),
            h('div', { class: 'small muted clamp', title: m.deadLetterErrorDescription || '', text: m.deadLetterErrorDescription || '' }),
          ),
          h('td', {}, h('span', { class: `chip chip-cat-${String(m.category).toLowerCase()}`, text: m.category })),
          h('td', { class: 'num', text: m.deliveryCount }),
          h('td', { title: m.enqueuedTimeUtc, text: fmtAgo(m.enqueuedTimeUtc) }),
          h(
            'td',
            { class: 'row-actions' },
            h('button', { type: 'button', class: 'btn btn-small btn-ghost', text: 'Body', onclick: () => (bodyRow.hidden = !bodyRow.hidden) }),
            h('button', {
              type: 'button',
              class: 'btn btn-small',
              testid: `dl-resubmit-${m.sequenceNumber}`,
              text: 'Resubmit',
              onclick: (ev) => resubmitOne(entity, m.sequenceNumber, ev.currentTarget),
            }),
          ),
        ),
        bodyRow,
      );
    }
  }

  async function resubmitOne(entity, seq, button) {
    button.disabled = true;
    try {
      const r = await post(`/api/ops/deadletters/${seq}/resubmit?entity=${encodeURIComponent(entity)}`);
      toast(`Message ${seq} resubmitted as ${r.resubmitted.messageId}`, 'ok');
    } catch (error) {
      toast(`Resubmit failed: ${error.message}`, 'error');
    }
    state.dl.loadedFor = '';
    refreshNow();
  }

  async function resubmitAll() {
    const entity = state.dl.entity;
    if (!entity || !window.confirm(`Resubmit every message of ${entity}?`)) return;
    const button = byTestId('dl-resubmit-all');
    button.disabled = true;
    try {
      const r = await post(`/api/ops/deadletters/resubmit?entity=${encodeURIComponent(entity)}&all=true`);
      toast(`Resubmitted ${r.resubmitted.length} of ${r.matched}${r.failed.length ? `; ${r.failed.length} failed: ${r.failed[0].error}` : ''}`, r.failed.length ? 'error' : 'ok');
    } catch (error) {
      toast(`Resubmit failed: ${error.message}`, 'error');
    }
    state.dl.loadedFor = '';
    refreshNow();
  }

  // ------------------------------------------------------------------ sagas

  async function refreshSagas() {
    const [ended, ...live] = await Promise.all([api('/api/sagas?limit=200'), ...LIVE_STATES.map((s) => api(`/api/sagas?status=${s}`))]);
    const byOrder = new Map();
    for (const page of live) for (const s of page.sagas) byOrder.set(s.orderId, { ...s, compensations: s.compensations.length, step: s.currentStep });
    // An ended saga's outcome is final; it wins over a live view read a moment earlier.
    for (const s of ended.sagas) byOrder.set(s.orderId, { ...s, step: s.failedStep });
    state.sagas.items = [...byOrder.values()].sort((a, b) => String(b.startedAt).localeCompare(String(a.startedAt)));
    const liveCount = state.sagas.items.filter((s) => LIVE_STATES.includes(s.status)).length;
    const badge = byTestId('sagas-live');
    badge.hidden = liveCount === 0;
    badge.textContent = String(liveCount);
    renderSagaList();
    if (state.sagas.detailFor) await refreshSagaDetail(state.sagas.detailFor);
    else byTestId('saga-detail').hidden = true;
  }

  function renderSagaList() {
    const { items, filter } = state.sagas;
    const buttons = clear(byTestId('saga-filter-buttons'));
    for (const f of SAGA_FILTERS) {
      const n = f === 'all' ? items.length : items.filter((s) => s.status === f).length;
      buttons.append(
        h(
          'button',
          {
            type: 'button',
            class: `filter${filter === f ? ' active' : ''}${f !== 'all' ? ` f-${f.toLowerCase()}` : ''}`,
            testid: `saga-filter-${f}`,
            'aria-pressed': String(filter === f),
            onclick: () => ((state.sagas.filter = f), renderSagaList()),
          },
          f === 'all' ? 'All' : statusLabel(f),
          h('span', { class: 'count', text: n }),
        ),
      );
    }
    renderSagaRows();
  }

  function renderSagaRows() {
    const { items, filter, search } = state.sagas;
    const shown = items.filter((s) => (filter === 'all' || s.status === filter) && (!search || s.orderId.toLowerCase().includes(search.toLowerCase())));
    const tbody = clear(byTestId('saga-table').querySelector('tbody'));
    byTestId('saga-empty').hidden = shown.length > 0;
    for (const s of shown) {
      const end = s.finishedAt || s.updatedAt;
      tbody.append(
        h(
          'tr',
          {
            testid: `saga-row-${s.orderId}`,
            class: s.orderId === state.sagas.detailFor ? 'selected' : '',
            tabindex: 0,
            onclick: () => go('sagas', s.orderId),
            onkeydown: (ev) => ev.key === 'Enter' && go('sagas', s.orderId),
          },
          h('td', { class: 'mono strong', text: s.orderId }),
          h('td', {}, statusBadge(s.status, `saga-status-${s.orderId}`)),
          h('td', { class: 'mono small', text: s.step || '–' }),
          h('td', { class: 'num', text: s.compensations || 0 }),
          h('td', { title: s.startedAt, text: fmtTime(s.startedAt) }),
          h('td', { class: 'num', text: end ? fmtMs(new Date(end).getTime() - new Date(s.startedAt).getTime()) : '–' }),
        ),
      );
    }
  }

  async function refreshSagaDetail(orderId) {
    const panel = byTestId('saga-detail');
    const ended = state.sagas.detail && state.sagas.detail.orderId === orderId && !LIVE_STATES.includes(state.sagas.detail.status) && state.sagas.correlations.length;
    if (!ended) {
      try {
        state.sagas.detail = await api(`/api/sagas/${encodeURIComponent(orderId)}`);
      } catch (error) {
        if (error.status !== 404) throw error;
        state.sagas.detail = { orderId, status: 'Unknown', missing: true, timeline: [] };
      }
      if (!state.sagas.correlations.length && !state.sagas.detail.missing) {
        // The saga status does not carry the correlationId; the order's events do.
        try {
          const events = await api(`/api/orders/${encodeURIComponent(orderId)}/events`);
          state.sagas.correlations = [...new Set(events.events.map((e) => e.metadata && e.metadata.correlationId).filter(Boolean))];
        } catch {
          state.sagas.correlations = [];
        }
      }
    }
    if (state.sagas.detailFor !== orderId) return;
    panel.hidden = false;
    renderSagaDetail(state.sagas.detail, state.sagas.correlations);
  }

  function renderSagaDetail(s, correlations) {
    byTestId('saga-detail-title').textContent = `Order ${s.orderId}`;
    const facts = clear(byTestId('saga-facts'));
    const fact = (k, v, testid) => facts.append(h('dt', { text: k }), h('dd', { testid }, v));
    if (s.missing) {
      fact('Status', 'No saga for this order');
    } else {
      fact('Status', statusBadge(s.status, 'saga-detail-status'));
      if (s.currentStep && LIVE_STATES.includes(s.status)) fact('Current step', h('span', { class: 'mono', text: s.currentStep }));
      if (s.failedStep) fact('Failed step', h('span', { class: 'mono', text: s.failedStep }));
      if (s.lastError) fact('Last error', h('span', { class: 'error-text', text: s.lastError }));
      fact('Steps done', `${s.completedSteps.length}`);
      if (s.compensations.length) fact('Compensations', s.compensations.map((c) => `${c.compensation} (${c.status})`).join(', '));
      fact('Started', fmtTime(s.startedAt));
      if (s.finishedAt) fact('Finished', `${fmtTime(s.finishedAt)} · ${fmtMs(new Date(s.finishedAt) - new Date(s.startedAt))}`);
      if (s.version) fact('Version', s.version);
    }
    const corr = clear(byTestId('saga-correlations'));
    for (const c of correlations)
      corr.append(h('a', { class: 'btn btn-small', href: `#/trace/${encodeURIComponent(c)}`, testid: 'saga-trace-link', dataset: { correlationId: c }, text: `Trace ${c}` }));
    renderTimeline(byTestId('saga-timeline'), s);
  }

  /** Pairs a step's started (or approval's waiting) entry with the entry that ended it: one bar each. */
  function timelineBars(s) {
    const bars = [];
    const open = new Map();
    for (const e of s.timeline) {
      const key = `${e.phase}:${e.step}`;
      const at = new Date(e.at).getTime();
      if (e.event === 'started' || e.event === 'waiting') {
        const bar = { phase: e.phase, step: e.step, start: at, end: undefined, outcome: 'running', detail: e.detail };
        open.set(key, bar);
        bars.push(bar);
        continue;
      }
      const bar = open.get(key);
      if (bar) {
        bar.end = at;
        bar.outcome = e.event;
        if (e.detail) bar.detail = e.detail;
        open.delete(key);
      } else {
        bars.push({ phase: e.phase, step: e.step, start: at, end: at, outcome: e.event, detail: e.detail });
      }
    }
    const ended = !LIVE_STATES.includes(s.status);
    const last = ended ? new Date(s.finishedAt || s.updatedAt).getTime() : Date.now();
    for (const b of bars) if (b.end === undefined) b.end = Math.max(b.start, last);
    return bars;
  }

  function renderTimeline(container, s) {
    clear(container);
    const bars = timelineBars(s);
    if (!bars.length) {
      container.append(h('p', { class: 'empty', text: 'No steps recorded yet.' }));
      return;
    }
    const t0 = Math.min(...bars.map((b) => b.start));
    const t1 = Math.max(t0 + 1, ...bars.map((b) => b.end));
    const span = t1 - t0;
    const axis = h('div', { class: 'tl-axis' }, h('span', {}));
    const ticks = h('div', { class: 'tl-ticks' });
    // Three ticks: the track is narrow beside the labels.
    for (const f of [0, 0.5, 1]) ticks.append(h('span', { style: { left: `${f * 100}%` }, text: fmtMs(f * span) }));
    axis.append(ticks);
    container.append(axis);
    for (const b of bars) {
      const failed = ['failed', 'declined', 'timed-out', 'rejected'].includes(b.outcome);
      const label = b.phase === 'compensation' ? `↩ ${b.detail && !failed ? b.detail : b.step}` : b.phase === 'approval' ? `⏸ approval (${b.step})` : b.step;
      const left = ((b.start - t0) / span) * 100;
      const width = Math.max(((b.end - b.start) / span) * 100, 0.6);
      container.append(
        h(
          'div',
          {
            class: `tl-row tl-${b.phase}${failed ? ' tl-failed' : ''}${b.outcome === 'running' ? ' tl-running' : ''}`,
            testid: `timeline-${b.phase}-${b.step}`,
            title: `${b.step} ${b.phase}: ${b.outcome}${b.detail ? ` — ${b.detail}` : ''}`,
          },
          h('div', { class: 'tl-label mono', text: label }),
          h('div', { class: 'tl-track' }, h('div', { class: 'tl-bar', style: { left: `${Math.min(left, 99.4)}%`, width: `${Math.min(width, 100 - Math.min(left, 99.4))}%` } })),
          h('div', { class: 'tl-meta' }, h('span', { class: `tl-outcome o-${b.outcome}`, text: b.outcome }), h('span', { class: 'muted', text: fmtMs(b.end - b.start) })),
        ),
      );
    }
  }

  // ------------------------------------------------------------------ projections

  async function refreshProjections() {
    const { projections } = await api('/api/ops/projections');
    const jobs = new Map();
    // A rebuild asked for from this page: its job, once it runs, tells the progress.
    for (const [name, generation] of state.projections.pending) {
      try {
        const job = await api(`/api/ops/jobs/${encodeURIComponent(`job:rebuild:${name}`)}`);
        if (job.generation === generation) jobs.set(name, job);
        if (job.generation === generation && (job.phase === 'completed' || job.phase === 'failed')) state.projections.pending.delete(name);
      } catch (error) {
        if (error.status !== 404) throw error;
      }
    }
    const tbody = clear(byTestId('projection-table').querySelector('tbody'));
    for (const p of projections) {
      const pending = state.projections.pending.get(p.name);
      const job = jobs.get(p.name) || (pending === undefined ? p.lastRebuild : undefined);
      const building = p.buildingGeneration !== undefined;
      const status = p.poisoned.length
        ? h('span', { class: 'badge st-failed', title: p.poisoned.map((x) => `${x.streamId}@${x.version}: ${x.error}`).join('\n'), text: `${p.poisoned.length} poisoned` })
        : building
          ? h('span', { class: 'badge st-running', text: `building g${p.buildingGeneration}` })
          : h('span', { class: 'badge st-completed', text: 'healthy' });
      tbody.append(
        h(
          'tr',
          { testid: `projection-row-${p.name}` },
          h('td', { class: 'mono strong', text: p.name }),
          h('td', {}, status),
          h('td', { class: 'num', text: `g${p.activeGeneration}` }),
          h('td', { class: 'num', testid: `projection-lag-${p.name}`, text: fmtMs(p.lag.lastMs) }),
          h('td', { class: 'num muted', text: fmtMs(p.lag.p50Ms) }),
          h('td', { class: 'num muted', text: fmtMs(p.lag.p99Ms) }),
          h('td', { class: 'num', text: fmtCount(p.eventsApplied) }),
          h('td', { title: p.lastAppliedAt || '', text: fmtAgo(p.lastAppliedAt) }),
          h('td', { class: 'rebuild' }, rebuildCell(p, job, pending)),
        ),
      );
    }
  }

  function rebuildCell(p, job, pending) {
    const button = h('button', {
      type: 'button',
      class: 'btn btn-small',
      testid: `projection-rebuild-${p.name}`,
      text: 'Rebuild',
      disabled: pending !== undefined || (job && !['completed', 'failed'].includes(job.phase)),
      onclick: () => rebuild(p.name, button),
    });
    let progress = null;
    if (pending !== undefined && !job) progress = h('span', { class: 'muted small', testid: `projection-job-${p.name}`, text: `g${pending} queued…` });
    else if (job) {
      const pct = job.total ? Math.round((job.done / job.total) * 100) : job.phase === 'completed' ? 100 : 0;
      const r = job.result || {};
      const stats = r.streams !== undefined ? ` · ${fmtCount(r.streams)} streams, ${fmtCount(r.events)} events${r.durationMs !== undefined ? ` in ${fmtMs(r.durationMs)}` : ''}` : '';
      const text =
        job.phase === 'completed' ? `g${job.generation} rebuilt ${fmtAgo(job.updatedAt)}${stats}` : job.phase === 'failed' ? `failed: ${job.error || ''}` : `${job.phase} ${job.done}/${job.total}`;
      progress = h(
        'div',
        { class: `progress${job.phase === 'failed' ? ' failed' : ''}`, testid: `projection-job-${p.name}`, title: text },
        h('div', { class: 'progress-track' }, h('div', { class: 'progress-bar', style: { width: `${pct}%` } })),
        h('span', { class: 'small muted', text }),
      );
    }
    return h('div', { class: 'rebuild-cell' }, button, progress);
  }

  async function rebuild(name, button) {
    button.disabled = true;
    try {
      const r = await post(`/api/ops/projections/${encodeURIComponent(name)}/rebuild`);
      state.projections.pending.set(name, r.generation);
      toast(`Rebuild of ${name} (generation ${r.generation}) queued`, 'ok');
    } catch (error) {
      toast(`Rebuild failed: ${error.message}`, 'error');
    }
    refreshNow();
  }

  // ------------------------------------------------------------------ trace

  async function refreshTrace() {
    const id = state.trace.correlationId;
    const tree = byTestId('trace-tree');
    const empty = byTestId('trace-empty');
    if (!id) {
      clear(tree);
      empty.hidden = false;
      empty.textContent = 'Enter a correlation id to see the spans of its transaction.';
      return;
    }
    const data = await api(`/dashboard/api/traces?correlationId=${encodeURIComponent(id)}`);
    if (state.trace.correlationId !== id) return;
    // Spans keep arriving while the transaction runs; an unchanged set keeps open details open.
    if (data.spanCount === state.trace.spanCount) return;
    state.trace.spanCount = data.spanCount;
    empty.hidden = data.spanCount > 0;
    empty.textContent = `No spans recorded for ${id} (yet). The host keeps the spans of this process only.`;
    renderTrace(tree, data);
  }

  function renderTrace(container, data) {
    clear(container);
    if (!data.spans.length) return;
    const spans = data.spans;
    const t0 = Math.min(...spans.map((s) => s.start));
    const t1 = Math.max(t0 + 1, ...spans.map((s) => s.start + s.durationMs));
    const total = t1 - t0;
    const ids = new Set(spans.map((s) => s.spanId));
    const children = new Map();
    for (const s of spans) {
      const parent = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : '';
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(s);
    }
    for (const list of children.values()) list.sort((a, b) => a.start - b.start);
    const errors = spans.filter((s) => s.status === 'error').length;
    container.append(
      h(
        'div',
        { class: 'trace-summary', testid: 'trace-summary' },
        h('span', {}, h('b', { text: data.spanCount }), ' spans'),
        h('span', {}, h('b', { text: data.traceIds.length }), data.traceIds.length === 1 ? ' trace' : ' traces'),
        h('span', {}, h('b', { text: fmtMs(total) }), ' end to end'),
        errors ? h('span', { class: 'error-text' }, h('b', { text: errors }), ' failed') : null,
        data.truncated ? h('span', { class: 'muted', text: '(first spans only)' }) : null,
      ),
    );
    const table = h('div', { class: 'waterfall' });
    const ticks = h('div', { class: 'wf-ticks' });
    for (const f of [0, 0.25, 0.5, 0.75, 1]) ticks.append(h('span', { style: { left: `${f * 100}%` }, text: fmtMs(f * total) }));
    table.append(h('div', { class: 'wf-head' }, h('div', { text: 'Span' }), h('div', { class: 'num', text: 'Duration' }), ticks));

    // Roots (spans whose parent this process did not record) in start order, each trace together.
    const roots = children.get('') || [];
    let lastTrace = '';
    const walk = (s, depth) => {
      if (s.traceId !== lastTrace && depth === 0) {
        lastTrace = s.traceId;
        table.append(h('div', { class: 'wf-trace', text: `trace ${s.traceId}` }));
      }
      const left = ((s.start - t0) / total) * 100;
      const width = Math.max((s.durationMs / total) * 100, 0.4);
      const attrs = h('div', { class: 'wf-attrs', hidden: true }, attributeList(s));
      const row = h(
        'div',
        { class: `wf-row kind-${s.kind}${s.status === 'error' ? ' wf-error' : ''}`, testid: 'trace-span', dataset: { spanId: s.spanId }, tabindex: 0, title: s.statusMessage || '' },
        h('div', { class: 'wf-name', style: { paddingLeft: `${depth * 16 + 6}px` } }, h('span', { class: `chip chip-span-${s.kind}`, text: s.kind }), h('span', { class: 'mono', text: s.name })),
        h('div', { class: 'num mono small', text: fmtMs(s.durationMs) }),
        h('div', { class: 'wf-track' }, h('div', { class: 'wf-bar', style: { left: `${Math.min(left, 99.6)}%`, width: `${Math.min(width, 100 - Math.min(left, 99.6))}%` } })),
      );
      const toggle = () => (attrs.hidden = !attrs.hidden);
      row.addEventListener('click', toggle);
      row.addEventListener('keydown', (ev) => ev.key === 'Enter' && toggle());
      table.append(row, attrs);
      for (const c of children.get(s.spanId) || []) walk(c, depth + 1);
    };
    for (const r of roots) walk(r, 0);
    container.append(table);
  }

  function attributeList(s) {
    const dl = h('dl', { class: 'facts' });
    const add = (k, v) => dl.append(h('dt', { class: 'mono', text: k }), h('dd', { class: 'mono', text: typeof v === 'string' ? v : JSON.stringify(v) }));
    add('span', `${s.spanId} (trace ${s.traceId})`);
    if (s.parentSpanId) add('parent', s.parentSpanId);
    add('start', new Date(s.start).toISOString());
    add('status', s.status + (s.statusMessage ? `: ${s.statusMessage}` : ''));
    for (const [k, v] of Object.entries(s.attributes || {})) add(k, v);
    for (const l of s.links || []) add('link', `${l.traceId}/${l.spanId}`);
    return dl;
  }

  // ------------------------------------------------------------------ start

  function start() {
    byTestId('key-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const input = byTestId('key-input');
      const key = input.value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY_STORAGE, key);
      input.value = '';
      refreshNow();
    });
    byTestId('key-forget').addEventListener('click', () => {
      sessionStorage.removeItem(KEY_STORAGE);
      refreshNow();
    });
    byTestId('dl-refresh').addEventListener('click', () => {
      state.dl.loadedFor = '';
      refreshNow();
    });
    byTestId('dl-resubmit-all').addEventListener('click', resubmitAll);
    byTestId('saga-detail-close').addEventListener('click', () => go('sagas'));
    const search = byTestId('saga-search');
    search.addEventListener('input', () => {
      state.sagas.search = search.value;
      renderSagaRows();
    });
    byTestId('trace-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const id = byTestId('trace-input').value.trim();
      if (id) go('trace', id);
    });
    window.addEventListener('hashchange', route);
    document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && refreshNow());
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
