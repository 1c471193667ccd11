// The API server's ipallocator repair, as a user meets it: a Service's IPAddress deleted with
// kubectl is made again when petset up starts (the repair's first pass; then every 3 minutes),
// and `kubectl get events` says so in upstream's words.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startCluster, tempDir, eventually, type Cluster } from './harness.js';

const dirs: string[] = [];
const clusters: Cluster[] = [];
after(async () => {
  for (const c of clusters) await c.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('ipallocator repair', () => {
  it('a Service whose IPAddress was deleted gets it back at the next start, with a Warning event', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const c1 = await startCluster({ dataDir });
    clusters.push(c1);
    await c1.kubectl(['create', 'service', 'clusterip', 'web', '--tcp=80:80']);
    const ip = (await c1.kubectl(['get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout.trim();
    assert.match((await c1.kubectl(['get', 'ipaddress', ip])).stdout, new RegExp(`${ip.replace(/\./g, '\\.')}\\s+services/default/web\\s`));
    assert.match((await c1.kubectl(['delete', 'ipaddress', ip])).stdout, new RegExp(`ipaddress.networking.k8s.io "${ip.replace(/\./g, '\\.')}" deleted`));
    assert.equal(await c1.stop(), 0);

    const c2 = await startCluster({ dataDir });
    clusters.push(c2);
    const remade = await eventually(async () => {
      const r = await c2.kubectl(['get', 'ipaddress', ip, '-o', 'json'], { allowFail: true });
      return r.code === 0 && JSON.parse(r.stdout);
    }, 30_000, `IPAddress ${ip} made again`);
    assert.deepEqual(remade.spec.parentRef, { group: '', resource: 'services', namespace: 'default', name: 'web' });
    assert.equal(remade.metadata.labels['ipaddress.kubernetes.io/managed-by'], 'ipallocator.k8s.io');
    const events = await eventually(async () => {
      const out = (await c2.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=web'])).stdout;
      return /ClusterIPNotAllocated/.test(out) && out;
    }, 30_000, 'the repair event');
    assert.match(events, new RegExp(`Warning\\s+ClusterIPNotAllocated\\s+service/web\\s+Cluster IP \\[IPv4\\]: ${ip.replace(/\./g, '\\.')} is not allocated; repairing`));
    // the Service itself did not change
    assert.equal((await c2.kubectl(['get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout.trim(), ip);
  });
});
