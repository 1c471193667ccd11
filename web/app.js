// petset's live view: a client of the Kubernetes API like any other. It lists and watches
// StatefulSets, pods, claims, nodes and events through /api and /apis with the kubeconfig's
// bearer token (taken from the address petset up printed, #token=…), and asks /petset/why for
// the StatefulSet controller's own blocking reason. Plain JS, no build step.
'use strict';
(() => {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem('petset-token', fromHash);
    history.replaceState(null, '', location.pathname); // the token leaves the address bar
  }
  const token = sessionStorage.getItem('petset-token');
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };

  const RESOURCES = {
    statefulsets: '/apis/apps/v1/statefulsets',
    pods: '/api/v1/pods',
    pvcs: '/api/v1/persistentvolumeclaims',
    nodes: '/api/v1/nodes',
    events: '/api/v1/events',
  };
  const stores = Object.fromEntries(Object.keys(RESOURCES).map((k) => [k, new Map()]));
  const whys = new Map(); // "ns/name" → { blocked, ordinal, text }
  const key = (o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const conn = document.getElementById('conn');
  const synced = new Set();

  if (!token) {
    conn.textContent = 'no token: open the address petset up printed (it ends in #token=…)';
    return;
  }

  async function get(path) {
    const r = await fetch(path, { headers });
    const body = await r.json();
    if (!r.ok) throw Object.assign(new Error(body.message ?? r.statusText), { code: r.status });
    return body;
  }

  /** list, then watch from the list's resourceVersion; relist when the watch says 410 Gone or breaks. */
  async function follow(kind) {
    for (;;) {
      try {
        const list = await get(RESOURCES[kind]);
        const m = stores[kind];
        m.clear();
        for (const o of list.items) m.set(key(o), o);
        synced.add(kind);
        changed(kind);
        await watch(kind, list.metadata.resourceVersion);
      } catch (e) {
        conn.textContent = `${kind}: ${e.message}; retrying`;
        if (e.code === 401 || e.code === 403) return;
        await sleep(1000);
      }
    }
  }

  async function watch(kind, rv) {
    for (;;) {
      const r = await fetch(`${RESOURCES[kind]}?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}`, { headers });
      if (!r.ok) throw Object.assign(new Error(`watch ${kind}: HTTP ${r.status}`), { code: r.status });
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break; // the server ended the watch (timeout): watch again from rv
        buf += value;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const ev = JSON.parse(line);
          if (ev.type === 'ERROR') throw new Error(ev.object?.message ?? 'watch error'); // e.g. 410 Gone: relist
          rv = ev.object.metadata.resourceVersion;
          if (ev.type === 'BOOKMARK') continue;
          if (ev.type === 'DELETED') stores[kind].delete(key(ev.object));
          else stores[kind].set(key(ev.object), ev.object);
          changed(kind);
        }
      }
    }
  }

  let renderQueued = false;
  let whyTimer;
  function changed(kind) {
    if (synced.size === Object.keys(RESOURCES).length) conn.textContent = 'live';
    if (kind !== 'pvcs' && !whyTimer) whyTimer = setTimeout(refreshWhys, 150);
    if (!renderQueued) {
      renderQueued = true;
      setTimeout(render, 16);
    }
  }

  /** The controller's reason per set, computed by its decision code on the server side. */
  async function refreshWhys() {
    whyTimer = undefined;
    await Promise.all(
      [...stores.statefulsets.values()].map(async (set) => {
        try {
          whys.set(key(set), await get(`/petset/why/${encodeURIComponent(set.metadata.namespace)}/${encodeURIComponent(set.metadata.name)}`));
        } catch (e) {
          whys.set(key(set), { blocked: false, text: `(no answer: ${e.message})` });
        }
      }),
    );
    changed('why');
  }

  const readyOf = (o) => o.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'Unknown';

  function render() {
    renderQueued = false;
    const sets = [...stores.statefulsets.values()].sort((a, b) => key(a).localeCompare(key(b)));
    const root = document.getElementById('sets');
    root.innerHTML = sets.length ? sets.map(renderSet).join('') : '<p class="empty">No StatefulSets yet.</p>';
    renderNodes();
    renderEvents();
  }

  function renderSet(set) {
    const ns = set.metadata.namespace;
    const name = set.metadata.name;
    const spec = set.spec ?? {};
    const st = set.status ?? {};
    const start = spec.ordinals?.start ?? 0;
    const replicas = spec.replicas ?? 1;
    const pods = new Map();
    for (const p of stores.pods.values()) {
      if (p.metadata.namespace !== ns) continue;
      if (!p.metadata.ownerReferences?.some((r) => r.controller && r.uid === set.metadata.uid)) continue;
      const m = /-(\d+)$/.exec(p.metadata.name);
      if (m) pods.set(Number(m[1]), p);
    }
    const ordinals = new Set([...pods.keys()]);
    for (let o = start; o < start + replicas; o++) ordinals.add(o);
    const why = whys.get(key(set));
    const strategy = spec.updateStrategy?.type ?? 'RollingUpdate';
    const partition = spec.updateStrategy?.rollingUpdate?.partition;
    const rows = [...ordinals].sort((a, b) => a - b).map((o) => renderRow(set, o, pods.get(o), why, partition));
    const conditions = (st.conditions ?? []).map((c) => `${c.type}=${c.status}`).join(', ');
    return `<div class="set" data-set="${esc(key(set))}">
      <h2>${esc(ns)}/${esc(name)} <span class="meta">${st.readyReplicas ?? 0}/${replicas} ready · ${esc(spec.podManagementPolicy ?? 'OrderedReady')} · ${esc(strategy)}${partition ? ` (partition ${partition})` : ''} · revision ${esc(st.currentRevision ?? '?')}${st.updateRevision && st.updateRevision !== st.currentRevision ? ` → ${esc(st.updateRevision)}` : ''}${conditions ? ` · ${esc(conditions)}` : ''}</span></h2>
      <div class="actions">${[-1, 1]
        .filter((d) => replicas + d >= 0)
        .map((d) => `<button data-scale="${esc(key(set))}" data-replicas="${replicas + d}">scale to ${replicas + d}</button> <code>kubectl scale sts/${esc(name)} -n ${esc(ns)} --replicas=${replicas + d}</code>`)
        .join(' ')}</div>
      <div class="why ${why?.blocked ? 'blocked' : ''}" data-why>${esc(why ? why.text : 'asking the controller…')}</div>
      <table><thead><tr><th>pod</th><th>phase</th><th>ready</th><th>restarts</th><th>node</th><th>revision</th><th>claims</th><th>DNS name · IP</th></tr></thead>
      <tbody>${rows.join('')}</tbody></table></div>`;
  }

  function renderRow(set, ordinal, pod, why, partition) {
    const ns = set.metadata.namespace;
    const podName = `${set.metadata.name}-${ordinal}`;
    const partitionLine = partition && ordinal === partition ? ' style="border-top: 2px dashed #9a6700"' : '';
    if (!pod) {
      const reason = why?.text ?? '';
      return `<tr class="missing" data-pod="${esc(podName)}"${partitionLine}><td>${esc(podName)}</td><td class="phase">missing</td><td colspan="6" class="wrap">${esc(reason)}</td></tr>`;
    }
    const terminating = !!pod.metadata.deletionTimestamp;
    const phase = terminating ? 'Terminating' : (pod.status?.phase ?? 'Pending');
    const ready = readyOf(pod);
    const restarts = (pod.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
    const rev = pod.metadata.labels?.['controller-revision-hash'] ?? '';
    const update = set.status?.updateRevision;
    const claims = (set.spec.volumeClaimTemplates ?? []).map((t) => {
      const c = stores.pvcs.get(`${ns}/${t.metadata.name}-${podName}`);
      return c ? `${esc(c.metadata.name)} (${esc(c.status?.phase ?? 'Pending')}${c.spec?.volumeName ? ` → ${esc(c.spec.volumeName)}` : ''})` : `${esc(t.metadata.name)}-${esc(podName)} (missing)`;
    });
    const dns = set.spec.serviceName ? `${podName}.${set.spec.serviceName}.${ns}.svc.cluster.local` : '';
    // the pod the controller waits on carries the reason on a line of its own
    const hint = why?.blocked && why.ordinal === ordinal ? `<tr class="hint" data-hint="${esc(podName)}"><td></td><td colspan="7" class="wrap">↳ ${esc(why.text)}</td></tr>` : '';
    return `<tr data-pod="${esc(podName)}" class="${terminating ? 'terminating' : ''}"${partitionLine}>
      <td>${esc(podName)}</td><td class="phase ${esc(phase)}">${esc(phase)}</td><td class="ready ready-${ready === 'True'}">${esc(ready)}</td>
      <td>${restarts}</td><td>${esc(pod.spec?.nodeName ?? '—')}</td>
      <td class="${update && rev !== update ? 'old' : ''}">${esc(rev)}</td><td class="wrap">${claims.join('<br>') || '—'}</td>
      <td class="wrap">${esc(dns)}${pod.status?.podIP ? ` · ${esc(pod.status.podIP)}` : ''}</td></tr>${hint}`;
  }

  function renderNodes() {
    const count = new Map();
    for (const p of stores.pods.values()) if (p.spec?.nodeName) count.set(p.spec.nodeName, (count.get(p.spec.nodeName) ?? 0) + 1);
    const nodes = [...stores.nodes.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    document.querySelector('#nodes tbody').innerHTML = nodes
      .map((n) => {
        const ready = readyOf(n);
        const taints = (n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).join(', ');
        return `<tr data-node="${esc(n.metadata.name)}"><td>${esc(n.metadata.name)}</td><td class="ready-${ready === 'True'}">${esc(ready)}</td><td class="wrap">${esc(taints || '—')}</td><td>${count.get(n.metadata.name) ?? 0}</td></tr>`;
      })
      .join('');
  }

  function renderEvents() {
    const at = (e) => e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? '';
    const events = [...stores.events.values()].sort((a, b) => at(b).localeCompare(at(a))).slice(0, 50);
    document.getElementById('events').innerHTML = events
      .map((e) => `<li class="${esc(e.type)}">${esc(at(e).slice(11, 19))} ${esc(e.involvedObject?.kind)}/${esc(e.involvedObject?.name)}: <b>${esc(e.reason)}</b> ${esc(e.message)}</li>`)
      .join('');
  }

  // Actions do what the kubectl command beside them does: here, a merge patch of the scale subresource.
  document.getElementById('sets').addEventListener('click', async (ev) => {
    const button = ev.target.closest('button[data-scale]');
    if (!button) return;
    const [ns, name] = button.dataset.scale.split('/');
    button.disabled = true;
    const r = await fetch(`/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/statefulsets/${encodeURIComponent(name)}/scale`, {
      method: 'PATCH',
      headers: { ...headers, 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { replicas: Number(button.dataset.replicas) } }),
    });
    if (!r.ok) conn.textContent = `scale ${ns}/${name}: ${(await r.json()).message ?? r.status}`;
  });

  for (const kind of Object.keys(RESOURCES)) void follow(kind);
})();
