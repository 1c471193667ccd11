// The endpoints and EndpointSlice controllers: the packing and slicing arithmetic on its own,
// then both controllers against the real API server, with pod IPs and readiness written
// through the status subresource as a node agent would.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../src/api/object.js';
import type { Client } from '../../src/client/client.js';
import { formatTriggerTime, TRIGGER_TIME_ANNOTATION } from '../../src/controllers/endpoints/common.js';
import { EndpointsController } from '../../src/controllers/endpoints/endpoints.js';
import { EndpointSliceController, SliceExpectations } from '../../src/controllers/endpoints/endpointslice.js';
import { planSlices } from '../../src/controllers/endpoints/slices.js';
import { desiredSubsets, truncateSubsets } from '../../src/controllers/endpoints/subsets.js';
import { GarbageCollector } from '../../src/controllers/garbagecollector/controller.js';
import { startControllers, type RunningControllers } from '../../src/controllers/manager.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

const NODE = 'node-1';
const ZONE = 'zone-a';

interface PodOptions {
  ip: string;
  ready: boolean;
  labels?: Record<string, string>;
  hostname?: string;
  subdomain?: string;
  ports?: { name?: string; containerPort: number }[];
  deleting?: boolean;
}

function podObject(name: string, o: PodOptions): KubeObject {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '1', labels: o.labels ?? { app: 'web' }, deletionTimestamp: o.deleting ? '2025-01-01T00:00:00Z' : undefined },
    spec: { nodeName: NODE, hostname: o.hostname, subdomain: o.subdomain, containers: [{ name: 'c', image: 'nginx', ports: (o.ports ?? []).map((p) => ({ protocol: 'TCP', ...p })) }] },
    status: { phase: 'Running', podIP: o.ip, podIPs: [{ ip: o.ip }], conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False', lastTransitionTime: '2025-01-01T00:00:00Z' }] },
  };
}

function serviceObject(name: string, spec: Record<string, unknown>): KubeObject {
  return { metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { team: 'a' } }, spec: { ipFamilies: ['IPv4'], ...spec } };
}

const node: KubeObject = { metadata: { name: NODE, labels: { 'topology.kubernetes.io/zone': ZONE } } };
const nodeOf = (name: string) => (name === NODE ? node : undefined);

describe('endpoints arithmetic', () => {
  it('packs addresses by port set, per pod for named target ports, not-ready winning', () => {
    const svc = serviceObject('mixed', {
      clusterIP: '10.96.0.20',
      selector: { app: 'web' },
      ports: [
        { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
        { name: 'metrics', port: 9090, targetPort: 9090, protocol: 'TCP' },
      ],
    });
    const pods = [
      podObject('b', { ip: '10.1.0.2', ready: false, ports: [{ name: 'http', containerPort: 8081 }] }),
      podObject('a', { ip: '10.1.0.1', ready: true, ports: [{ name: 'http', containerPort: 8080 }] }),
      podObject('c', { ip: '10.1.0.3', ready: true }),
      podObject('gone', { ip: '10.1.0.4', ready: true, deleting: true }),
      { ...podObject('noip', { ip: '', ready: true }), status: { phase: 'Pending' } },
    ];
    const subsets = desiredSubsets(svc, pods);
    const summary = subsets.map((s) => ({
      ready: (s.addresses ?? []).map((a) => a.targetRef.name),
      notReady: (s.notReadyAddresses ?? []).map((a) => a.targetRef.name),
      ports: (s.ports ?? []).map((p) => `${p.name}:${p.port}`),
    }));
    assert.deepEqual(summary, [
      { ready: ['a'], notReady: [], ports: ['http:8080'] },
      { ready: [], notReady: ['b'], ports: ['http:8081'] },
      { ready: ['a', 'c'], notReady: ['b'], ports: ['metrics:9090'] },
    ]);
    assert.deepEqual(subsets[0].addresses![0], { ip: '10.1.0.1', nodeName: NODE, targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' } });

    // publishing everything lists the terminating pod too, as ready
    const published = desiredSubsets({ ...svc, spec: { ...svc.spec, publishNotReadyAddresses: true } }, pods);
    assert.deepEqual(
      published.map((s) => (s.addresses ?? []).map((a) => a.targetRef.name)),
      [['a'], ['b'], ['a', 'b', 'c', 'gone']],
    );
  });

  it('lists a portless headless service, with hostnames only under the subdomain', () => {
    const svc = serviceObject('nginx', { clusterIP: 'None', selector: { app: 'web' } });
    const subsets = desiredSubsets(svc, [
      podObject('web-0', { ip: '10.1.0.1', ready: true, hostname: 'web-0', subdomain: 'nginx' }),
      podObject('other', { ip: '10.1.0.2', ready: true, hostname: 'other', subdomain: 'elsewhere' }),
    ]);
    assert.equal(subsets.length, 1);
    assert.equal(subsets[0].ports, undefined);
    assert.deepEqual(
      subsets[0].addresses!.map((a) => a.hostname),
      ['web-0', undefined],
    );
  });

  it('truncates above 1000 addresses, ready ones first', () => {
    const addr = (i: number) => ({ ip: `10.2.${i >> 8}.${i & 255}`, targetRef: { kind: 'Pod' as const, namespace: 'default', name: `p${i}`, uid: `u${i}` } });
    const subsets = [
      { addresses: Array.from({ length: 900 }, (_, i) => addr(i)), notReadyAddresses: Array.from({ length: 300 }, (_, i) => addr(1000 + i)) },
    ];
    const cut = truncateSubsets(subsets)!;
    assert.equal(cut[0].addresses!.length, 900);
    assert.equal(cut[0].notReadyAddresses!.length, 100);
    assert.equal(truncateSubsets(cut), undefined);
  });

  it('slices 1,000 pods into full slices, then writes only what changes', () => {
    const svc = serviceObject('big', { clusterIP: '10.96.0.30', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] });
    const pods = Array.from({ length: 1000 }, (_, i) => podObject(`p-${i}`, { ip: `10.3.${i >> 8}.${i & 255}`, ready: true }));
    const started = performance.now();
    const first = planSlices(svc, pods, [], nodeOf);
    assert.equal(first.create.length, 10);
    assert.ok(first.create.every((s) => s.endpoints.length === 100));
    assert.deepEqual(first.update, []);
    assert.deepEqual(first.errors, []);
    const stored = first.create.map((s, i) => ({ ...s, metadata: { ...s.metadata, name: `big-${i}`, uid: `slice-${i}`, resourceVersion: '5' } }));

    assert.deepEqual(planSlices(svc, pods, stored, nodeOf), { create: [], update: [], delete: [], errors: [] });

    pods[150].status.conditions[0].status = 'False';
    pods.splice(999, 1);
    const next = planSlices(svc, pods, stored, nodeOf);
    assert.deepEqual(next.create, []);
    assert.deepEqual(next.delete, []);
    assert.deepEqual(next.update.map((s) => s.metadata.name).sort(), ['big-1', 'big-9']);
    const flipped = next.update.find((s) => s.metadata.name === 'big-1')!.endpoints.find((e: any) => e.targetRef.name === 'p-150');
    assert.deepEqual(flipped.conditions, { ready: false, serving: false, terminating: false });
    assert.ok(performance.now() - started < 1000, 'planning 1,000 pods should be quick');
  });

  it('skips pods on unknown nodes unless everything is published, and keeps an empty placeholder', () => {
    const svc = serviceObject('s', { clusterIP: '10.96.0.31', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }] });
    const lost = { ...podObject('lost', { ip: '10.4.0.1', ready: true }), spec: { ...podObject('x', { ip: '', ready: true }).spec, nodeName: 'ghost' } };
    const plan = planSlices(svc, [lost], [], nodeOf);
    assert.match(plan.errors[0], /skipping Pod lost for Service default\/s: Node ghost Not Found/);
    assert.equal(plan.create.length, 1);
    assert.deepEqual(plan.create[0].endpoints, []);
    const placeholder = { ...plan.create[0], metadata: { ...plan.create[0].metadata, name: 's-abcde', uid: 'ph', resourceVersion: '3' } };
    assert.deepEqual(planSlices(svc, [], [placeholder], nodeOf), { create: [], update: [], delete: [], errors: [] });
    const published = planSlices({ ...svc, spec: { ...svc.spec, publishNotReadyAddresses: true } }, [lost], [placeholder], nodeOf);
    assert.equal(published.update.length, 1, 'the placeholder is reused rather than replaced');
    assert.equal(published.update[0].metadata.name, 's-abcde');
    assert.equal(published.update[0].endpoints[0].zone, undefined);
  });

  it('holds syncs back until the cache shows its own writes', () => {
    const exp = new SliceExpectations();
    const created = { metadata: { name: 'x-1', uid: 'u1', resourceVersion: '10' } };
    exp.wrote('ns/x', created);
    assert.equal(exp.isStale('ns/x', []), true);
    assert.equal(exp.isOwnWrite('ns/x', created), true);
    assert.equal(exp.isStale('ns/x', [created]), false);
    exp.wrote('ns/x', { metadata: { name: 'x-1', uid: 'u1', resourceVersion: '11' } }, '10');
    assert.equal(exp.isStale('ns/x', [created]), true);
    exp.expectDeletion('ns/x', created);
    assert.equal(exp.isStale('ns/x', [created]), true);
    assert.equal(exp.handleDeletion('ns/x', created), true);
    assert.equal(exp.isStale('ns/x', []), false);
    assert.equal(formatTriggerTime(Date.parse('2025-03-04T05:06:07Z')), '2025-03-04T05:06:07Z');
    assert.equal(formatTriggerTime(Date.parse('2025-03-04T05:06:07.120Z')), '2025-03-04T05:06:07.12Z');
  });
});

describe('endpoints and EndpointSlice controllers', () => {
  let server: TestServer;
  let client: Client;
  let running: RunningControllers;

  before(async () => {
    server = await startTestServer();
    client = server.client;
    await client.nodes().create(node);
    running = await startControllers(client, [new EndpointsController(), new EndpointSliceController(), new GarbageCollector()]);
  });

  after(async () => {
    await running.stop();
    await server.stop();
  });

  const pods = () => client.pods('default');
  const getEndpoints = (name: string) => client.endpoints('default').get(name);
  const slicesOf = async (svc: string) => (await client.endpointSlices('default').list({ labelSelector: `kubernetes.io/service-name=${svc}` })).items;

  async function startPod(name: string, o: PodOptions): Promise<void> {
    const { metadata, spec } = podObject(name, o);
    const pod = await pods().create({ metadata: { name, labels: metadata.labels }, spec });
    pod.status = { ...pod.status, ...podObject(name, o).status, conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString() }] };
    await pods().updateStatus(pod);
  }

  async function setReady(name: string, ready: boolean): Promise<void> {
    const pod = await pods().get(name);
    pod.status.conditions = [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString() }];
    await pods().updateStatus(pod);
  }

  const names = (addresses: any[] | undefined) => (addresses ?? []).map((a) => a.targetRef.name).sort();
  const byPod = (slices: KubeObject[]) => new Map(slices.flatMap((s) => s.endpoints ?? []).map((e: any) => [e.targetRef.name, e]));

  it('publishes a headless service over StatefulSet-style pods, with hostnames', async () => {
    await client.services('default').create({
      metadata: { name: 'nginx', labels: { team: 'a' } },
      spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] },
    });
    const http = [{ name: 'http', containerPort: 8080 }];
    for (let i = 0; i < 3; i++) await startPod(`web-${i}`, { ip: `10.1.0.${i + 1}`, ready: true, hostname: `web-${i}`, subdomain: 'nginx', ports: http });
    await startPod('stray', { ip: '10.1.0.9', ready: true, hostname: 'stray', subdomain: 'other', ports: http });

    const ep = await waitFor(async () => {
      const e = await getEndpoints('nginx');
      return e.subsets?.[0]?.addresses?.length === 4 && e;
    }, 5000, 'four addresses');
    assert.equal(ep.subsets.length, 1);
    assert.deepEqual(ep.subsets[0].ports, [{ name: 'web', port: 8080, protocol: 'TCP' }]);
    const svc = await client.services('default').get('nginx');
    const web0 = await pods().get('web-0');
    assert.deepEqual(ep.subsets[0].addresses[0], {
      ip: '10.1.0.1',
      hostname: 'web-0',
      nodeName: NODE,
      targetRef: { kind: 'Pod', namespace: 'default', name: 'web-0', uid: web0.metadata.uid },
    });
    assert.deepEqual(
      ep.subsets[0].addresses.map((a: any) => a.hostname ?? null),
      ['web-0', 'web-1', 'web-2', null],
    );
    assert.deepEqual(ep.metadata.labels, { team: 'a', 'service.kubernetes.io/headless': '' });
    assert.match(ep.metadata.annotations?.[TRIGGER_TIME_ANNOTATION] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    const slices = await waitFor(async () => {
      const s = await slicesOf('nginx');
      return s.length === 1 && s[0].endpoints?.length === 4 && s;
    }, 5000, 'one slice of four');
    const slice = slices[0];
    assert.match(slice.metadata.name!, /^nginx-[a-z0-9]{5}$/);
    assert.deepEqual(slice.metadata.labels, {
      team: 'a',
      'service.kubernetes.io/headless': '',
      'kubernetes.io/service-name': 'nginx',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
    assert.deepEqual(slice.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'nginx', uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    assert.equal(slice.addressType, 'IPv4');
    assert.deepEqual(slice.ports, [{ name: 'web', protocol: 'TCP', port: 8080 }]);
    assert.ok(slice.metadata.annotations?.[TRIGGER_TIME_ANNOTATION]);
    assert.deepEqual(byPod(slices).get('web-0'), {
      addresses: ['10.1.0.1'],
      conditions: { ready: true, serving: true, terminating: false },
      hostname: 'web-0',
      targetRef: { kind: 'Pod', namespace: 'default', name: 'web-0', uid: web0.metadata.uid },
      nodeName: NODE,
      zone: ZONE,
    });
    assert.equal(byPod(slices).get('stray').hostname, undefined);
  });

  it('moves an address between ready and not ready as the pod flips', async () => {
    await setReady('web-1', false);
    const ep = await waitFor(async () => {
      const e = await getEndpoints('nginx');
      return e.subsets?.some((s: any) => s.notReadyAddresses) && e;
    }, 5000, 'web-1 not ready');
    assert.deepEqual(names(ep.subsets[0].addresses), ['stray', 'web-0', 'web-2']);
    assert.deepEqual(names(ep.subsets[0].notReadyAddresses), ['web-1']);
    const notReady = await waitFor(async () => {
      const e = byPod(await slicesOf('nginx')).get('web-1');
      return e?.conditions.ready === false && e;
    }, 5000, 'slice condition');
    assert.deepEqual(notReady.conditions, { ready: false, serving: false, terminating: false });

    await setReady('web-1', true);
    await waitFor(async () => (await getEndpoints('nginx')).subsets?.[0]?.addresses?.length === 4, 5000, 'web-1 ready again');
    await waitFor(async () => byPod(await slicesOf('nginx')).get('web-1')?.conditions.ready === true, 5000, 'slice ready again');
  });

  it('drops a terminating pod from Endpoints but keeps it in slices as terminating; publishNotReadyAddresses lists everything', async () => {
    await setReady('web-1', false);
    await pods().delete('web-2', { gracePeriodSeconds: 30 });
    const ep = await waitFor(async () => {
      const e = await getEndpoints('nginx');
      const all = (e.subsets ?? []).flatMap((s: any) => [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])]);
      return all.length === 3 && e;
    }, 5000, 'web-2 gone from Endpoints');
    assert.deepEqual(names(ep.subsets[0].addresses), ['stray', 'web-0']);
    const terminating = await waitFor(async () => {
      const e = byPod(await slicesOf('nginx')).get('web-2');
      return e?.conditions.terminating && e;
    }, 5000, 'terminating endpoint');
    assert.deepEqual(terminating.conditions, { ready: false, serving: true, terminating: true });

    await client.services('default').create({
      metadata: { name: 'peers' },
      spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: { app: 'web' }, ports: [{ name: 'peer', port: 7000 }] },
    });
    const peers = await waitFor(async () => {
      const e = await getEndpoints('peers').catch(() => undefined);
      return e?.subsets?.[0]?.addresses?.length === 4 && e;
    }, 5000, 'peers endpoints');
    assert.equal(peers.subsets[0].notReadyAddresses, undefined);
    assert.deepEqual(names(peers.subsets[0].addresses), ['stray', 'web-0', 'web-1', 'web-2']);
    // the pods' subdomain names another service
    assert.ok(peers.subsets[0].addresses.every((a: any) => a.hostname === undefined));
    const peerSlices = await waitFor(async () => {
      const s = await slicesOf('peers');
      return s[0]?.endpoints?.length === 4 && s;
    }, 5000, 'peers slice');
    const conditions = byPod(peerSlices);
    assert.deepEqual(conditions.get('web-1').conditions, { ready: true, serving: false, terminating: false });
    assert.deepEqual(conditions.get('web-2').conditions, { ready: true, serving: true, terminating: true });
  });

  it('resolves a named targetPort per pod', async () => {
    await client.services('default').create({
      metadata: { name: 'mixed' },
      spec: {
        selector: { tier: 'mixed' },
        ports: [
          { name: 'http', port: 80, targetPort: 'http' },
          { name: 'metrics', port: 9090 },
        ],
      },
    });
    await startPod('m-a', { ip: '10.5.0.1', ready: true, labels: { tier: 'mixed' }, ports: [{ name: 'http', containerPort: 8080 }] });
    await startPod('m-b', { ip: '10.5.0.2', ready: true, labels: { tier: 'mixed' }, ports: [{ name: 'http', containerPort: 8081 }] });
    await startPod('m-c', { ip: '10.5.0.3', ready: true, labels: { tier: 'mixed' } });
    const ep = await waitFor(async () => {
      const e = await getEndpoints('mixed').catch(() => undefined);
      return e?.subsets?.length === 3 && e.subsets[2].addresses?.length === 3 && e;
    }, 5000, 'three subsets');
    assert.deepEqual(
      ep.subsets.map((s: any) => [names(s.addresses), s.ports.map((p: any) => `${p.name}:${p.port}`)]),
      [
        [['m-a'], ['http:8080']],
        [['m-b'], ['http:8081']],
        [['m-a', 'm-b', 'm-c'], ['metrics:9090']],
      ],
    );
    assert.equal(ep.metadata.labels?.['service.kubernetes.io/headless'], undefined);
    const slices = await waitFor(async () => {
      const s = await slicesOf('mixed');
      return s.length === 3 && s.every((x) => x.endpoints?.length === 1) && s;
    }, 5000, 'a slice per port set');
    const ports = slices.map((s) => `${s.endpoints[0].targetRef.name} ${s.ports.map((p: any) => `${p.name}:${p.port}`).join(',')}`).sort();
    assert.deepEqual(ports, ['m-a http:8080,metrics:9090', 'm-b http:8081,metrics:9090', 'm-c metrics:9090']);
  });

  it('leaves a selector-less service and its Endpoints alone', async () => {
    await client.services('default').create({ metadata: { name: 'external' }, spec: { ports: [{ port: 5432 }] } });
    const mine = await client.endpoints('default').create({
      metadata: { name: 'external' },
      subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ port: 5432 }] }],
    });
    // let the controllers see both, plus a pod change that resyncs other services
    await setReady('web-1', true);
    await waitFor(async () => byPod(await slicesOf('nginx')).get('web-1')?.conditions.ready === true, 5000, 'resync settled');
    await new Promise((r) => setTimeout(r, 300));
    const after = await getEndpoints('external');
    assert.equal(after.metadata.resourceVersion, mine.metadata.resourceVersion);
    assert.deepEqual(await slicesOf('external'), []);
  });

  it('writes nothing when a pod changes in a way endpoints do not show', async () => {
    const before = await getEndpoints('nginx');
    const slicesBefore = (await slicesOf('nginx')).map((s) => s.metadata.resourceVersion);
    await pods().patch('web-0', { metadata: { annotations: { note: 'irrelevant' } } });
    await setReady('stray', true); // same status: a real write, no endpoint change
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await getEndpoints('nginx')).metadata.resourceVersion, before.metadata.resourceVersion);
    assert.deepEqual(
      (await slicesOf('nginx')).map((s) => s.metadata.resourceVersion),
      slicesBefore,
    );
  });

  it('gives a service that selects nothing an empty Endpoints and a placeholder slice', async () => {
    await client.services('default').create({ metadata: { name: 'lonely' }, spec: { selector: { app: 'nobody' }, ports: [{ port: 80 }] } });
    const ep = await waitFor(() => getEndpoints('lonely').catch(() => undefined), 5000, 'empty Endpoints');
    assert.equal(ep.subsets, undefined);
    const slices = await waitFor(async () => {
      const s = await slicesOf('lonely');
      return s.length === 1 && s;
    }, 5000, 'placeholder');
    assert.deepEqual(slices[0].endpoints ?? [], []);
  });

  it('removes Endpoints with the service, and the garbage collector takes the slices', async () => {
    await client.services('default').delete('nginx');
    await waitFor(async () => {
      try {
        await getEndpoints('nginx');
        return false;
      } catch {
        return true;
      }
    }, 5000, 'Endpoints deleted');
    await waitFor(async () => (await slicesOf('nginx')).length === 0, 5000, 'slices collected');
    // the other service over the same pods keeps its own
    assert.equal((await getEndpoints('peers')).subsets[0].addresses.length, 4);
  });
});
