import { defaultRegistry } from '../src/api/kinds/index.js';
import { timestamp } from '../src/api/object.js';
import { installAdmission } from '../src/apiserver/admission.js';
import { bootstrapObjects } from '../src/apiserver/bootstrap.js';
import { ApiServer } from '../src/apiserver/handler.js';
import { Client } from '../src/client/client.js';
import { InProcessTransport } from '../src/client/inprocess-transport.js';
import { GarbageCollector } from '../src/controllers/garbagecollector/controller.js';
import { startControllers } from '../src/controllers/manager.js';
import { NamespaceController } from '../src/controllers/namespace/controller.js';
import { StatefulSetController } from '../src/controllers/statefulset/controller.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trace-'));
const store = openSqliteStore(process.argv[2] === 'mem' ? ':memory:' : path.join(dir, 'state.db'), { autoCompact: false });
const api = new ApiServer(defaultRegistry(), store);
installAdmission(api); await bootstrapObjects(api);
const client = new Client(new InProcessTransport(api.handle, { name: 'b', groups: ['system:masters'] }));
const tr: any = client.transport; const orig = tr.request.bind(tr);
let tracing = false;
tr.request = async (req: any) => { const id = `${req.method} ${req.path.replace('/api/v1/namespaces/default/','').replace('/apis/apps/v1/namespaces/default/','')}${req.query?.get?.('watch') ? ' WATCH' : ''}`; const s = performance.now(); const r = await orig(req); if (tracing && !id.includes('WATCH')) at(`  req ${id} start=${(s-t0).toFixed(1)} ${(performance.now()-s).toFixed(1)}ms`); return r; };
const proto: any = StatefulSetController.prototype; const origSync = proto.sync;
proto.sync = async function (...a: any[]) { const s = performance.now(); if (tracing) at(`  sync start`); try { return await origSync.apply(this, a); } finally { if (tracing) at(`  sync end ${(performance.now()-s).toFixed(1)}ms`); } };
const controllers = await startControllers(client, [new NamespaceController(), new GarbageCollector(), new StatefulSetController()]);
const t0 = performance.now(); tracing = true;
const log: string[] = [];
const at = (s: string) => log.push(`${(performance.now() - t0).toFixed(1)} ${s}`);
const pods = client.pods('default');
const w = await pods.watch({ resourceVersion: (await pods.list({ limit: 1 })).metadata?.resourceVersion });
(async () => { for await (const ev of w) { const p: any = ev.object; at(`${ev.type} ${p.metadata.name} ${p.status?.phase}`);
  if (ev.type === 'ADDED') { pods.patch(p.metadata.name, { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: timestamp() }] } }, 'strategic', { subresource: 'status' }).then(() => at(`patched ${p.metadata.name}`)); } } })();
const sets = client.statefulSets('default');
const sw = await sets.watch({ resourceVersion: (await sets.list()).metadata?.resourceVersion });
await sets.create({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 100, serviceName: 'web', selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'a', image: 'x' }] } }, volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] } });
for await (const ev of sw) { const s: any = (ev.object as any).status; at(`set ${ev.type} ready=${s?.readyReplicas} replicas=${s?.replicas}`); if (s?.readyReplicas === 100) break; }
if (process.argv[3] !== 'quiet') console.log(log.join('\n')); else console.log(log[log.length - 1]);
{
  const { decide } = await import('../src/controllers/statefulset/decide.js');
  const inf: any = controllers.informers;
  const { resources } = await import('../src/client/client.js');
  const set = inf.informerFor(resources.statefulSets).get('default/web');
  const podsL = inf.informerFor(resources.pods).list('default');
  const revs = inf.informerFor(resources.controllerRevisions).list('default');
  const claims = inf.informerFor(resources.persistentVolumeClaims).list('default');
  for (const n of (process.env.NS ?? "0,50,99").split(",").map(Number)) {
    const half = podsL.filter((p: any) => Number(p.metadata.name.split('-')[1]) <= n);
    const s0 = performance.now();
    for (let i = 0; i < Number(process.env.ITER ?? 200); i++) decide({ set: { ...set, metadata: { ...set.metadata } }, pods: half, revisions: revs, claims, now: Date.now() });
    console.log(`decide with ${half.length} pods: ${((performance.now() - s0) / Number(process.env.ITER ?? 200)).toFixed(3)} ms`);
  }
}
w.stop(); await controllers.stop(); await new Promise(r=>setTimeout(r,200)); await store.close(); process.exit(0);
