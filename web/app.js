// petset's live view: a client of the Kubernetes API like any other. It lists and watches
// StatefulSets, pods, claims, volumes, nodes, endpoints and events through /api and /apis
// with the kubeconfig's bearer token (taken from the address petset up printed, #token=…).
// The StatefulSet controller's blocking reason is the set's Blocked condition (written by the
// controller's own decision code); the headless services' DNS answers are asked of the cluster
// DNS server through /petset/dns whenever their endpoints change. Every button does what the
// kubectl (or petset) command printed beside it does. Plain JS, no build step.
'use strict';
(() => {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem('petset-token', fromHash);
    history.replaceState(null, '', location.pathname); // the token leaves the address bar
  }
  const token = sessionStorage.getItem('petset-token');
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };

  // the names /petset/list and /petset/watch know (the server maps them to API paths: WATCHABLE in webview.ts)
  const RESOURCES = ['statefulsets', 'pods', 'pvcs', 'pvs', 'nodes', 'endpoints', 'events'];
  const FIRST = ['statefulsets', 'pods', 'pvcs', 'pvs', 'nodes', 'endpoints'];
  const stores = Object.fromEntries(RESOURCES.map((k) => [k, new Map()]));
  const key = (o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const conn = document.getElementById('conn');
  const msg = document.getElementById('msg');
  const synced = new Set();
  /** what the user picked: a pod per set (its actions), a node (its actions), the events' object */
  const ui = { pod: new Map(), node: undefined, filter: undefined };
  /** "ns/service" → the DNS server's answers */
  const dns = new Map();
  const dnsTimers = new Map();

  if (!token) {
    conn.textContent = 'no token: open the address petset up printed (it ends in #token=…)';
    return;
  }

  async function api(method, path, body, type = 'application/json') {
    const init = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.headers['content-type'] = type;
      init.body = JSON.stringify(body);
    }
    const r = await fetch(path, init);
    const text = await r.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = { message: text.trim() };
    }
    if (!r.ok) throw Object.assign(new Error(json.message ?? r.statusText), { code: r.status });
    return json;
  }

  /** per resource, the resourceVersion the page has seen; absent: list it (again) */
  const rvs = {};

  async function list(kind) {
    // this server's compact copy: only the fields the page draws, the events only the recent ones
    const l = await api('GET', `/petset/list/${kind}`);
    const m = stores[kind];
    m.clear();
    for (const o of l.items) m.set(key(o), o);
    rvs[kind] = l.metadata.resourceVersion;
    synced.add(kind);
    if (kind === 'endpoints') for (const o of l.items) endpointsChanged(o);
    changed(kind);
  }

  /**
   * List what needs listing, then watch everything from there through one response of
   * /petset/watch (a browser gives one server only six connections); when it ends, watch
   * again from what was seen; a resource whose watch fails (410 Gone) is listed again.
   */
  async function follow() {
    for (;;) {
      try {
        // the events, the biggest list, are asked for after the rest: they would slow down the pods' list
        await Promise.all(FIRST.filter((k) => !rvs[k]).map(list));
        await Promise.all(RESOURCES.filter((k) => !rvs[k]).map(list));
        await watchAll();
      } catch (e) {
        conn.textContent = `${e.message}; retrying`;
        if (e.code === 401 || e.code === 403) return;
        await sleep(1000);
      }
    }
  }

  /** "live" once every list is in and the watch has started: from then on, every change shows */
  let watching = false;
  function showConn() {
    if (!FIRST.every((k) => synced.has(k))) return;
    conn.textContent = synced.size < RESOURCES.length ? 'live (loading events…)' : watching ? 'live' : 'live (starting the watch…)';
  }

  async function watchAll() {
    const q = RESOURCES.map((k) => `${k}:${rvs[k]}`).join(',');
    const r = await fetch(`/petset/watch?r=${encodeURIComponent(q)}`, { headers });
    if (r.status === 410) {
      // too old to watch from: list everything again
      for (const k of Object.keys(rvs)) delete rvs[k];
      return;
    }
    if (!r.ok) throw Object.assign(new Error(`watch: HTTP ${r.status}`), { code: r.status });
    try {
      await readWatch(r);
    } finally {
      watching = false;
    }
  }

  async function readWatch(r) {
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return; // a watch ended (the API's timeout): watch again from rvs
      buf += value;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const { r: kind, e: ev, started } = JSON.parse(line);
        if (started) {
          // every watch has started: from here on every change shows
          watching = true;
          showConn();
          continue;
        }
        if (ev.type === 'ERROR') {
          // e.g. 410 Gone: list this one again
          delete rvs[kind];
          await reader.cancel();
          const code = ev.object?.code;
          if (code === 401 || code === 403) throw Object.assign(new Error(`${kind}: ${ev.object?.message}`), { code });
          return;
        }
        rvs[kind] = ev.object.metadata.resourceVersion;
        if (ev.type === 'BOOKMARK') continue;
        if (ev.type === 'DELETED') stores[kind].delete(key(ev.object));
        else stores[kind].set(key(ev.object), ev.object);
        if (kind === 'endpoints') endpointsChanged(ev.object);
        changed(kind);
      }
    }
  }

  let renderQueued = false;
  /** what changed since the last drawing: each part is drawn again only when what it shows changed */
  const dirty = new Set(['ui']);
  const PARTS = {
    sets: ['statefulsets', 'pods', 'pvcs', 'pvs', 'dns', 'ui'],
    nodes: ['nodes', 'pods', 'ui'],
    storage: ['pvcs', 'pvs'],
    events: ['events', 'ui'],
  };

  /** per resource, a count of its changes: part of what a drawn row depends on */
  const versions = {};

  function changed(kind) {
    dirty.add(kind);
    versions[kind] = (versions[kind] ?? 0) + 1;
    // The first drawing waits for the lists a set's card needs (drawing a thousand rows per list
    // costs more than it shows); the events, the biggest list, are drawn when they arrive.
    if (!FIRST.every((k) => synced.has(k))) return;
    showConn();
    if (!renderQueued) {
      renderQueued = true;
      setTimeout(render, 16);
    }
  }

  /**
   * A headless service's endpoints changed: ask the DNS server again (once per burst). The DNS
   * server follows the endpoints through its own watch and may be a moment behind this page's:
   * while its A records differ from the Ready addresses the page sees, it is asked again.
   */
  function endpointsChanged(ep, attempt = 0) {
    const k = key(ep);
    if (dnsTimers.has(k)) return;
    dnsTimers.set(
      k,
      setTimeout(async () => {
        dnsTimers.delete(k);
        const [ns, name] = k.split('/');
        if (![...stores.statefulsets.values()].some((s) => s.metadata.namespace === ns && s.spec?.serviceName === name)) return;
        let answer;
        try {
          answer = await api('GET', `/petset/dns/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`);
        } catch (e) {
          answer = { error: e.message };
        }
        dns.set(k, answer);
        changed('dns');
        const now = stores.endpoints.get(k);
        const want = (now?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort().join(' ');
        const got = (answer.A?.records ?? []).map((r) => r.replace(/^\S+ /, '')).sort().join(' ');
        if (now && want !== got && !answer.A?.truncated && attempt < 50) endpointsChanged(now, attempt + 1);
      }, attempt ? 100 : 50),
    );
  }

  const readyOf = (o) => o.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
  const blockedOf = (set) => set.status?.conditions?.find((c) => c.type === 'Blocked');
  const at = (e) => e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? '';

  /** the time the drawings took (the script's part only: style and layout follow), for the bench */
  const drawing = (window.petsetDrawing = { count: 0, totalMs: 0, maxMs: 0 });

  function render() {
    const t0 = performance.now();
    renderQueued = false;
    const due = (part) => PARTS[part].some((k) => dirty.has(k));
    const parts = Object.fromEntries(Object.keys(PARTS).map((p) => [p, due(p)]));
    dirty.clear();
    if (parts.sets) renderSetsPart();
    if (parts.nodes) renderNodes();
    if (parts.storage) renderStorage();
    if (parts.events) renderEvents();
    const ms = performance.now() - t0;
    drawing.count++;
    drawing.totalMs += ms;
    drawing.maxMs = Math.max(drawing.maxMs, ms);
  }

  function renderSetsPart() {
    const sets = [...stores.statefulsets.values()].sort((a, b) => key(a).localeCompare(key(b)));
    const podsBySet = new Map();
    for (const p of stores.pods.values()) {
      const ref = p.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'StatefulSet');
      if (!ref) continue;
      if (!podsBySet.has(ref.uid)) podsBySet.set(ref.uid, []);
      podsBySet.get(ref.uid).push(p);
    }
    renderCards(sets.map((s) => [key(s), renderSet(s, podsBySet.get(s.metadata.uid) ?? [])]));
  }

  /**
   * Replaces an element's content only when its HTML changed: a button that is redrawn under
   * the pointer (watch events arrive many times a second) would lose the click.
   */
  function setHTML(el, html) {
    if (el.petsetHTML === html) return;
    el.innerHTML = html;
    el.petsetHTML = html;
  }

  /**
   * Keeps parent's children in the order of items ([key, value]), made by make(key) when new,
   * filled by fill(element, value), dropping the others: only what changed is redrawn.
   */
  function reconcile(parent, items, make, fill, tag) {
    // a first drawing of many (a set's thousand ordinals) is one parse of one string, not one per item
    if (tag && items.length > 1 && ![...parent.children].some((el) => el.dataset.key !== undefined)) {
      parent.insertAdjacentHTML('beforeend', items.map(([k, v]) => `<${tag} data-key="${esc(k)}">${v}</${tag}>`).join(''));
      const els = parent.querySelectorAll(`:scope > ${tag}[data-key]`);
      items.forEach(([, v], i) => (els[i].petsetHTML = v));
      return;
    }
    const wanted = new Set(items.map(([k]) => k));
    const have = new Map();
    for (const el of [...parent.children]) {
      if (el.dataset.key !== undefined && wanted.has(el.dataset.key)) have.set(el.dataset.key, el);
      else if (el.dataset.key !== undefined || !el.dataset.fixed) el.remove();
    }
    let prev = [...parent.children].filter((e) => e.dataset.fixed).pop() ?? null;
    for (const [k, v] of items) {
      let el = have.get(k);
      if (!el) {
        el = make(k);
        el.dataset.key = k;
      }
      fill(el, v);
      const next = prev ? prev.nextSibling : parent.firstChild;
      if (next !== el) parent.insertBefore(el, next);
      prev = el;
    }
  }

  const COLUMNS = ['pod', 'phase', 'ready', 'restarts', 'node', 'revision', 'claims → volumes → directories', 'DNS name · IP'];

  /** ordinals per chunk: each chunk is a table of its own that the browser lays out only when in view */
  const CHUNK = 50;
  const colgroup = () => `<colgroup data-fixed="1">${COLUMNS.map((_, i) => `<col class="c${i}">`).join('')}</colgroup>`;

  /**
   * One card per set, and in it one tbody per ordinal: a pod's change redraws its rows only. The
   * rows go in chunks of CHUNK ordinals, each its own table (the same fixed columns as the head's)
   * in a box with content-visibility: auto, so a thousand pets cost the layout of those in view.
   */
  function renderCards(cards) {
    const root = document.getElementById('sets');
    if (!cards.length) {
      root.petsetHTML = undefined;
      return setHTML(root, '<p class="empty">No StatefulSets yet.</p>');
    }
    root.petsetHTML = undefined;
    reconcile(
      root,
      cards,
      (k) => {
        const el = document.createElement('div');
        el.className = 'set';
        el.dataset.set = k;
        el.innerHTML = `<div data-part="head"></div><table class="pods">${colgroup()}<thead><tr>${COLUMNS.map((c) => `<th>${c}</th>`).join('')}</tr></thead></table><div data-part="rows"></div><div data-part="foot"></div>`;
        return el;
      },
      (el, card) => {
        setHTML(el.querySelector('[data-part="head"]'), card.head);
        setHTML(el.querySelector('[data-part="foot"]'), card.foot);
        const chunks = [];
        for (let i = 0; i < card.rows.length; i += CHUNK) chunks.push([String(i / CHUNK), card.rows.slice(i, i + CHUNK)]);
        reconcile(
          el.querySelector('[data-part="rows"]'),
          chunks,
          () => {
            const c = document.createElement('div');
            c.className = 'chunk';
            c.innerHTML = `<table class="pods">${colgroup()}</table>`;
            return c;
          },
          (c, rows) => reconcile(c.firstChild, rows, () => document.createElement('tbody'), setHTML, 'tbody'),
        );
      },
    );
  }

  const cmd = (text) => `<code>${esc(text)}</code>`;
  const button = (attrs, label) => `<button ${Object.entries(attrs).map(([k, v]) => `data-${k}="${esc(v)}"`).join(' ')}>${esc(label)}</button>`;

  function renderSet(set, owned) {
    const ns = set.metadata.namespace;
    const name = set.metadata.name;
    const k = key(set);
    const spec = set.spec ?? {};
    const st = set.status ?? {};
    const start = spec.ordinals?.start ?? 0;
    const replicas = spec.replicas ?? 1;
    const pods = new Map();
    for (const p of owned) {
      const m = /-(\d+)$/.exec(p.metadata.name);
      if (m && p.metadata.namespace === ns) pods.set(Number(m[1]), p);
    }
    const ordinals = new Set([...pods.keys()]);
    for (let o = start; o < start + replicas; o++) ordinals.add(o);
    const blocked = blockedOf(set);
    const why = blocked ? { blocked: blocked.status === 'True', text: blocked.message ?? '' } : undefined;
    // the pods the why names (once per set, not a pattern per row)
    if (why) why.names = new Set([...why.text.matchAll(new RegExp(`(?:^|[^\\w.-])(${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d+)(?![\\w-])`, 'g'))].map((m) => m[1]));
    const strategy = spec.updateStrategy?.type ?? 'RollingUpdate';
    const ru = spec.updateStrategy?.rollingUpdate ?? {};
    const partition = ru.partition ?? 0;
    // what every row of this set depends on besides its pod: a row is drawn again only when its pod or this changed
    const context = [st.updateRevision, st.currentRevision, strategy, partition, ui.pod.get(k), why?.blocked, why?.text, spec.serviceName, JSON.stringify(spec.volumeClaimTemplates), versions.pvcs, versions.pvs].join('\n');
    const rows = [...ordinals]
      .sort((a, b) => a - b)
      .map((o) => {
        const pod = pods.get(o);
        const memo = pod && drawnRows.get(pod);
        if (memo && memo.context === context && memo.ordinal === o) return [String(o), memo.html];
        const html = renderRow(set, o, pod, why, strategy === 'RollingUpdate' ? partition : 0);
        if (pod) drawnRows.set(pod, { context, ordinal: o, html });
        return [String(o), html];
      });
    const conditions = (st.conditions ?? [])
      .map((c) => `<li>${esc(c.type)}=${esc(c.status)}${c.reason ? ` (${esc(c.reason)})` : ''}${c.lastTransitionTime ? ` since ${esc(c.lastTransitionTime.slice(11, 19))}` : ''}</li>`)
      .join('');
    const scale = [-1, 1]
      .filter((d) => replicas + d >= 0)
      .map((d) => `<span class="act">${button({ scale: k, replicas: replicas + d }, `scale to ${replicas + d}`)} ${cmd(`kubectl scale sts/${name} -n ${ns} --replicas=${replicas + d}`)}</span>`);
    const parts =
      strategy === 'RollingUpdate'
        ? [-1, 1]
            .filter((d) => partition + d >= 0)
            .map((d) => `<span class="act">${button({ partition: k, value: partition + d }, `partition ${partition + d}`)} ${cmd(`kubectl patch sts ${name} -n ${ns} -p '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":${partition + d}}}}}'`)}</span>`)
        : [];
    const rollback = `<span class="act">${button({ rollback: k }, 'roll back')} ${cmd(`kubectl rollout undo sts/${name} -n ${ns}`)}</span>`;
    const selected = ui.pod.get(k);
    const selPod = selected && owned.find((p) => p.metadata.name === selected);
    const podActions = selPod
      ? `<div class="actions podactions" data-podactions="${esc(selected)}"><b>${esc(selected)}</b>: <span class="act">${button({ 'delete-pod': `${ns}/${selected}` }, 'delete')} ${cmd(`kubectl delete pod ${selected} -n ${ns}`)}</span> <span class="act">${button({ 'force-delete': `${ns}/${selected}` }, 'force-delete')} ${cmd(`kubectl delete pod ${selected} -n ${ns} --grace-period=0 --force`)}</span></div>`
      : '<div class="actions podactions muted">click a pod for its actions and events</div>';
    const head = `
      <h2>${esc(ns)}/${esc(name)} <span class="meta">${esc(spec.podManagementPolicy ?? 'OrderedReady')} · ${esc(strategy)}${strategy === 'RollingUpdate' ? ` (partition ${partition}${ru.maxUnavailable !== undefined ? `, maxUnavailable ${esc(ru.maxUnavailable)}` : ''})` : ''}</span></h2>
      <div class="status" data-status>replicas ${replicas} wanted · ${st.replicas ?? 0} created · ${st.readyReplicas ?? 0} ready · ${st.availableReplicas ?? 0} available · ${st.currentReplicas ?? 0} current · ${st.updatedReplicas ?? 0} updated · revision <span class="rev">${esc(st.currentRevision ?? '?')}</span>${st.updateRevision && st.updateRevision !== st.currentRevision ? ` → <span class="rev old">${esc(st.updateRevision)}</span>` : ''}</div>
      <div class="why ${why?.blocked ? 'blocked' : ''}" data-why>${esc(why ? why.text : 'the controller has not reported on this set yet')}</div>
      ${conditions ? `<ul class="conds" data-conditions>${conditions}</ul>` : ''}
      <div class="actions">${[...scale, ...parts, rollback].join(' ')}</div>`;
    return { head, rows, foot: podActions + renderDns(set) };
  }

  /** pod object (each watch event brings a new one) → its row as last drawn, with what it depended on */
  const drawnRows = new WeakMap();

  function renderRow(set, ordinal, pod, why, partition) {
    const ns = set.metadata.namespace;
    const podName = `${set.metadata.name}-${ordinal}`;
    const st = set.status ?? {};
    const line =
      partition > 0 && ordinal === partition
        ? `<tr class="partition-line" data-partition-line><td colspan="8">partition ${partition}: ordinals ≥ ${partition} move to the update revision ${esc(st.updateRevision ?? '')}; below it they keep ${esc(st.currentRevision ?? '')}</td></tr>`
        : '';
    if (!pod) {
      return `${line}<tr class="missing" data-pod="${esc(podName)}"><td>${esc(podName)}</td><td class="phase">missing</td><td colspan="6" class="wrap">${esc(why?.text ?? '')}</td></tr>`;
    }
    const terminating = !!pod.metadata.deletionTimestamp;
    const phase = terminating ? 'Terminating' : (pod.status?.phase ?? 'Pending');
    const ready = readyOf(pod);
    const restarts = (pod.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
    const rev = pod.metadata.labels?.['controller-revision-hash'] ?? '';
    const which = rev === st.updateRevision ? 'update' : rev === st.currentRevision ? 'current' : 'old';
    const claims = (set.spec.volumeClaimTemplates ?? []).map((t) => claimChain(ns, `${t.metadata.name}-${podName}`));
    const dnsName = set.spec.serviceName ? `${podName}.${set.spec.serviceName}.${ns}.svc.cluster.local` : '';
    const selected = ui.pod.get(key(set)) === podName;
    // the pod the controller waits on carries the reason on a line of its own
    const hint =
      why?.blocked && why.names.has(podName)
        ? `<tr class="hint" data-hint="${esc(podName)}"><td></td><td colspan="7" class="wrap">↳ ${esc(why.text)}${terminating ? ` ${button({ 'force-delete': `${ns}/${podName}` }, 'force-delete')}` : ''}</td></tr>`
        : '';
    return `${line}<tr data-pod="${esc(podName)}" class="${terminating ? 'terminating' : ''}${selected ? ' selected' : ''}">
      <td><a href="#" data-select-pod="${esc(key(set))}" data-name="${esc(podName)}">${esc(podName)}</a></td><td class="phase ${esc(phase)}">${esc(phase)}</td><td class="ready ready-${ready === 'True'}">${esc(ready)}</td>
      <td>${restarts}</td><td>${esc(pod.spec?.nodeName ?? '—')}</td>
      <td class="rev ${which}" title="${which} revision">${esc(rev)} <small>${which}</small></td><td class="wrap">${claims.join('<br>') || '—'}</td>
      <td class="wrap">${esc(dnsName)}${pod.status?.podIP ? ` · ${esc(pod.status.podIP)}` : ''}</td></tr>${hint}`;
  }

  /** claim (phase) → volume (phase, reclaim policy) → directory */
  function claimChain(ns, claimName) {
    const c = stores.pvcs.get(`${ns}/${claimName}`);
    if (!c) return `${esc(claimName)} (missing)`;
    const pv = c.spec?.volumeName ? stores.pvs.get(`/${c.spec.volumeName}`) : undefined;
    const dir = pv?.spec?.hostPath?.path ?? pv?.spec?.local?.path;
    return (
      `${esc(claimName)} (${esc(c.status?.phase ?? 'Pending')})` +
      (c.spec?.volumeName ? ` → ${esc(c.spec.volumeName)}${pv ? ` (${esc(pv.status?.phase ?? '?')}, ${esc(pv.spec?.persistentVolumeReclaimPolicy ?? 'Delete')})` : ''}` : '') +
      (dir ? ` → <code class="dir">${esc(dir)}</code>` : '')
    );
  }

  function renderDns(set) {
    const svc = set.spec?.serviceName;
    if (!svc) return '';
    const k = `${set.metadata.namespace}/${svc}`;
    const d = dns.get(k);
    if (!stores.endpoints.has(k) && !d) return `<div class="dns" data-dns="${esc(k)}">DNS: service ${esc(svc)} has no endpoints object yet</div>`;
    if (!d) return `<div class="dns" data-dns="${esc(k)}">DNS: asking…</div>`;
    if (d.error) return `<div class="dns" data-dns="${esc(k)}">DNS: ${esc(d.error)}</div>`;
    const MAX = 24;
    const list = (records) =>
      records
        .slice(0, MAX)
        .map((r) => `<code>${esc(r.replace(/^\S+ /, ''))}</code>`)
        .join(' ') + (records.length > MAX ? ` … ${records.length - MAX} more (${records.length} records)` : '');
    const part = (t, a) => `<div data-dns-${t.toLowerCase()}><b>${t}</b> ${a.rcode !== 'NOERROR' ? esc(a.rcode) : a.records.length ? list(a.records) : 'no records'}${a.truncated ? ' (truncated)' : ''}</div>`;
    return `<div class="dns" data-dns="${esc(k)}">DNS answers for <code>${esc(d.name)}</code> from the cluster DNS server ${esc(d.server)}: ${part('A', d.A)}${part('SRV', d.SRV)}</div>`;
  }

  function renderNodes() {
    const pods = new Map();
    for (const p of stores.pods.values()) {
      const n = p.spec?.nodeName;
      if (!n) continue;
      if (!pods.has(n)) pods.set(n, []);
      pods.get(n).push(p.metadata.name);
    }
    const nodes = [...stores.nodes.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    setHTML(document.querySelector('#nodes tbody'), nodes
      .map((n) => {
        const name = n.metadata.name;
        const ready = readyOf(n);
        const other = (n.status?.conditions ?? []).filter((c) => c.type !== 'Ready' && c.status !== 'False').map((c) => `${c.type}=${c.status}`);
        if (n.spec?.unschedulable) other.push('SchedulingDisabled');
        const taints = (n.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(', ');
        const list = (pods.get(name) ?? []).sort();
        const shown = list.length > 12 ? `${list.slice(0, 12).join(', ')} … ${list.length - 12} more` : list.join(', ');
        return `<tr data-node="${esc(name)}" class="${ui.node === name ? 'selected' : ''}"><td><a href="#" data-select-node="${esc(name)}">${esc(name)}</a></td><td class="ready-${ready === 'True'}">${esc(ready)}${other.length ? `<br><small>${esc(other.join(', '))}</small>` : ''}</td><td>${esc(taints || '—')}</td><td><b>${list.length}</b> ${esc(shown)}</td></tr>`;
      })
      .join(''));
    const n = ui.node && stores.nodes.get(`/${ui.node}`);
    const actions = document.getElementById('nodeactions');
    if (!n) {
      return setHTML(actions, '<span class="muted">click a node for its actions and events</span>');
    }
    const name = n.metadata.name;
    const row = (attrs, label, command) => `<div class="act">${button(attrs, label)} ${cmd(command)}</div>`;
    setHTML(
      actions,
      `<b>${esc(name)}</b>` +
      (n.spec?.unschedulable ? row({ uncordon: name }, 'uncordon', `kubectl uncordon ${name}`) : row({ cordon: name }, 'cordon', `kubectl cordon ${name}`)) +
      row({ drain: name }, 'drain', `kubectl drain ${name} --ignore-daemonsets --delete-emptydir-data`) +
        ['crash', 'partition', 'heal'].map((d) => row({ drill: d, node: name }, d, `petset node ${d} ${name}`)).join(''),
    );
  }

  function renderStorage() {
    const rows = [];
    const claimed = new Set();
    const claims = [...stores.pvcs.values()].sort((a, b) => key(a).localeCompare(key(b)));
    for (const c of claims) {
      const pv = c.spec?.volumeName ? stores.pvs.get(`/${c.spec.volumeName}`) : undefined;
      if (pv) claimed.add(pv.metadata.name);
      rows.push([`${c.metadata.namespace}/${c.metadata.name}`, c.status?.phase ?? 'Pending', pv]);
    }
    for (const pv of stores.pvs.values()) if (!claimed.has(pv.metadata.name)) rows.push(['—', '', pv]);
    const shown = rows.slice(0, 200);
    setHTML(
      document.querySelector('#storage tbody'),
      shown
        .map(
          ([claim, phase, pv]) =>
            `<tr data-claim="${esc(claim)}"><td>${esc(claim)}</td><td>${esc(phase)}</td><td>${esc(pv?.metadata.name ?? '—')}</td><td>${esc(pv?.status?.phase ?? '')}</td><td>${esc(pv?.spec?.persistentVolumeReclaimPolicy ?? '')}</td><td><code class="dir">${esc(pv?.spec?.hostPath?.path ?? pv?.spec?.local?.path ?? '')}</code></td></tr>`,
        )
        .join('') + (rows.length > shown.length ? `<tr><td colspan="6">… ${rows.length - shown.length} more</td></tr>` : ''),
    );
  }

  function renderEvents() {
    const f = ui.filter;
    const o = (e) => e.involvedObject ?? e.regarding ?? {};
    let events = [...stores.events.values()];
    if (f) events = events.filter((e) => o(e).kind === f.kind && o(e).name === f.name && (o(e).namespace ?? '') === f.namespace);
    events = events
      .map((e) => [at(e), e])
      .sort((a, b) => (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0))
      .slice(0, 100)
      .map(([, e]) => e);
    setHTML(document.getElementById('evfilter'), f
      ? `events of <b>${esc(f.kind)}/${esc(f.name)}</b> <button data-clear-filter>show all</button>`
      : 'all events (click an object to see only its events)');
    setHTML(document.getElementById('events'), events
      .map((e) => {
        const x = o(e);
        return `<li class="${esc(e.type)}">${esc(at(e).slice(11, 19))} <a href="#" data-filter-kind="${esc(x.kind)}" data-filter-name="${esc(x.name)}" data-filter-ns="${esc(x.namespace ?? '')}">${esc(x.kind)}/${esc(x.name)}</a>: <b>${esc(e.reason)}</b> ${esc(e.message ?? e.note)}${(e.count ?? 1) > 1 ? ` <small>×${e.count}</small>` : ''}</li>`;
      })
      .join(''));
  }

  /** The page holds only the recent events: an object's older ones are asked for when it is picked. */
  async function eventsOf(f) {
    const sel = `involvedObject.kind=${f.kind},involvedObject.name=${f.name}${f.namespace ? `,involvedObject.namespace=${f.namespace}` : ''}`;
    try {
      const l = await api('GET', `/petset/list/events?fieldSelector=${encodeURIComponent(sel)}`);
      for (const e of l.items) if (!stores.events.has(key(e))) stores.events.set(key(e), e);
      changed('events');
    } catch (e) {
      say(`events of ${f.kind}/${f.name}: ${e.message}`, true);
    }
  }

  function say(text, bad) {
    msg.textContent = text;
    msg.className = bad ? 'msg bad' : 'msg';
  }

  // Actions: each does what the command beside its button does.
  const actions = {
    async scale(b) {
      const [ns, name] = b.dataset.scale.split('/');
      await api('PATCH', `/apis/apps/v1/namespaces/${ns}/statefulsets/${name}/scale`, { spec: { replicas: Number(b.dataset.replicas) } }, 'application/merge-patch+json');
      return `statefulset.apps/${name} scaled`;
    },
    async partition(b) {
      const [ns, name] = b.dataset.partition.split('/');
      const patch = { spec: { updateStrategy: { rollingUpdate: { partition: Number(b.dataset.value) } } } };
      await api('PATCH', `/apis/apps/v1/namespaces/${ns}/statefulsets/${name}`, patch, 'application/strategic-merge-patch+json');
      return `statefulset.apps/${name} patched`;
    },
    async rollback(b) {
      // kubectl rollout undo: the revision before the newest one, its data as a strategic merge patch
      const [ns, name] = b.dataset.rollback.split('/');
      const set = await api('GET', `/apis/apps/v1/namespaces/${ns}/statefulsets/${name}`);
      const revs = (await api('GET', `/apis/apps/v1/namespaces/${ns}/controllerrevisions`)).items
        .filter((r) => r.metadata.ownerReferences?.some((o) => o.controller && o.uid === set.metadata.uid))
        .sort((a, b2) => a.revision - b2.revision);
      if (revs.length < 2) throw new Error('no rollout history found');
      const to = revs[revs.length - 2];
      if (JSON.stringify(to.data?.spec?.template) === JSON.stringify({ ...set.spec.template, $patch: 'replace' })) {
        return `statefulset.apps/${name} skipped rollback (current template already matches revision ${to.revision})`;
      }
      await api('PATCH', `/apis/apps/v1/namespaces/${ns}/statefulsets/${name}`, to.data, 'application/strategic-merge-patch+json');
      return `statefulset.apps/${name} rolled back`;
    },
    async 'delete-pod'(b) {
      const [ns, name] = b.dataset.deletePod.split('/');
      await api('DELETE', `/api/v1/namespaces/${ns}/pods/${name}`);
      return `pod "${name}" deleted`;
    },
    async 'force-delete'(b) {
      const [ns, name] = b.dataset.forceDelete.split('/');
      await api('DELETE', `/api/v1/namespaces/${ns}/pods/${name}`, { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 });
      return `pod "${name}" force deleted`;
    },
    async cordon(b) {
      await api('PATCH', `/api/v1/nodes/${b.dataset.cordon}`, { spec: { unschedulable: true } }, 'application/strategic-merge-patch+json');
      return `node/${b.dataset.cordon} cordoned`;
    },
    async uncordon(b) {
      await api('PATCH', `/api/v1/nodes/${b.dataset.uncordon}`, { spec: { unschedulable: null } }, 'application/strategic-merge-patch+json');
      return `node/${b.dataset.uncordon} uncordoned`;
    },
    async drain(b) {
      // kubectl drain --ignore-daemonsets --delete-emptydir-data: cordon, then evict every other pod
      // (retrying while a PodDisruptionBudget says 429) and wait until they are gone
      const node = b.dataset.drain;
      await actions.cordon({ dataset: { cordon: node } });
      const mine = (p) => p.spec?.nodeName === node && !p.metadata.ownerReferences?.some((o) => o.controller && o.kind === 'DaemonSet') && !p.metadata.annotations?.['kubernetes.io/config.mirror'];
      const victims = [...stores.pods.values()].filter((p) => mine(p) && !p.metadata.deletionTimestamp);
      const deadline = Date.now() + 120_000;
      for (const p of victims) {
        for (;;) {
          say(`evicting pod ${p.metadata.namespace}/${p.metadata.name}`);
          try {
            await api('POST', `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: p.metadata.name, namespace: p.metadata.namespace } });
            break;
          } catch (e) {
            if (e.code === 404) break;
            if (e.code !== 429 || Date.now() > deadline) throw e;
            say(`error when evicting pods/"${p.metadata.name}" -n "${p.metadata.namespace}" (will retry after 5s): ${e.message}`, true);
            await sleep(5000);
          }
        }
      }
      while (victims.some((p) => stores.pods.get(key(p))?.metadata.uid === p.metadata.uid)) {
        if (Date.now() > deadline) throw new Error(`drain did not complete within 2m0s`);
        await sleep(200);
      }
      return `node/${node} drained`;
    },
    async drill(b) {
      return (await api('POST', `/petset/nodes/${encodeURIComponent(b.dataset.node)}/${b.dataset.drill}`)).message;
    },
  };

  document.body.addEventListener('click', async (ev) => {
    const pick = ev.target.closest('[data-select-pod],[data-select-node],[data-filter-kind],[data-clear-filter]');
    if (pick) {
      ev.preventDefault();
      const d = pick.dataset;
      if (d.selectPod !== undefined) {
        ui.pod.set(d.selectPod, d.name);
        ui.filter = { kind: 'Pod', name: d.name, namespace: d.selectPod.split('/')[0] };
      } else if (d.selectNode !== undefined) {
        ui.node = d.selectNode;
        ui.filter = { kind: 'Node', name: d.selectNode, namespace: '' };
      } else if (d.filterKind !== undefined) ui.filter = { kind: d.filterKind, name: d.filterName, namespace: d.filterNs };
      else ui.filter = undefined;
      if (ui.filter) void eventsOf(ui.filter);
      changed('ui');
      return;
    }
    const b = ev.target.closest('button');
    const name = b && Object.keys(actions).find((a) => b.hasAttribute(`data-${a}`));
    if (!name) return;
    b.disabled = true;
    try {
      say(await actions[name](b));
    } catch (e) {
      say(`${name}: ${e.message}`, true);
    } finally {
      b.disabled = false;
    }
  });

  void follow();
})();
