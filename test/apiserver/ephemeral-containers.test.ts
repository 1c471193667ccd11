// pods/ephemeralcontainers against the real in-process API server: the only way to add a
// debugging container to a pod, checked as upstream checks it (added, never changed or
// removed; no ports, probes, hooks or resources; a target that exists), and served in
// discovery so that `kubectl debug` finds it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../src/api/object.js';
import { rejection } from '../support/rejection.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.stop());

const pods = () => server.client.pods('default');

const debugger1 = { name: 'debugger', image: 'busybox', command: ['sh'], stdin: true, tty: true, targetContainerName: 'app' };

describe('pods/ephemeralcontainers', () => {
  let pod: KubeObject;
  before(async () => {
    pod = await pods().create({ metadata: { name: 'web' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } });
  });

  it('cannot be set when the pod is created', async () => {
    const e = await rejection(
      pods().create({ metadata: { name: 'early' }, spec: { containers: [{ name: 'app', image: 'nginx' }], ephemeralContainers: [{ name: 'x', image: 'busybox' }] } }),
    );
    assert.equal(e.code, 422);
    assert.match(e.message, /spec\.ephemeralContainers: Forbidden: cannot be set on create/);
  });

  it('adds a container through a strategic merge patch, defaulted, changing nothing else', async () => {
    const patched = await pods().patch(
      'web',
      { spec: { ephemeralContainers: [debugger1], containers: [{ name: 'app', image: 'nginx:2' }] } },
      'strategic',
      { subresource: 'ephemeralcontainers' },
    );
    assert.equal(patched.spec.ephemeralContainers.length, 1);
    const ec = patched.spec.ephemeralContainers[0];
    assert.equal(ec.name, 'debugger');
    assert.equal(ec.terminationMessagePath, '/dev/termination-log');
    assert.equal(ec.imagePullPolicy, 'Always');
    // the subresource changes ephemeral containers only
    assert.equal(patched.spec.containers[0].image, 'nginx');
    const fetched = await server.client.request<KubeObject>({ method: 'GET', path: '/api/v1/namespaces/default/pods/web/ephemeralcontainers' });
    assert.equal(fetched.kind, 'Pod');
    assert.equal(fetched.spec.ephemeralContainers[0].name, 'debugger');
    pod = fetched;
  });

  it('refuses to change or remove one that is there, and a plain update cannot add one', async () => {
    const changed = await rejection(
      pods().patch('web', { spec: { ephemeralContainers: [{ ...debugger1, image: 'busybox:2' }] } }, 'merge', { subresource: 'ephemeralcontainers' }),
    );
    assert.equal(changed.code, 422);
    assert.match(changed.message, /spec\.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may not be changed/);
    const removed = await rejection(pods().patch('web', { spec: { ephemeralContainers: [] } }, 'merge', { subresource: 'ephemeralcontainers' }));
    assert.match(removed.message, /existing ephemeral containers "debugger" may not be removed/);
    const plain = await rejection(pods().patch('web', { spec: { ephemeralContainers: [debugger1, { name: 'two', image: 'busybox' }] } }, 'merge'));
    assert.match(plain.message, /pod updates may not change fields other than/);
  });

  it('refuses what an ephemeral container may not have, with field paths', async () => {
    const e = await rejection(
      pods().patch(
        'web',
        {
          spec: {
            ephemeralContainers: [
              debugger1,
              { name: 'app', image: 'busybox' },
              { name: 'bad', image: 'busybox', ports: [{ containerPort: 80 }], readinessProbe: { exec: { command: ['true'] } }, targetContainerName: 'nope' },
            ],
          },
        },
        'strategic',
        { subresource: 'ephemeralcontainers' },
      ),
    );
    assert.equal(e.code, 422);
    assert.match(e.message, /spec\.ephemeralContainers\[1\]\.name: Duplicate value: "app"/);
    assert.match(e.message, /spec\.ephemeralContainers\[2\]\.ports: Forbidden: cannot be set for an Ephemeral Container/);
    assert.match(e.message, /spec\.ephemeralContainers\[2\]\.readinessProbe: Forbidden: cannot be set for an Ephemeral Container/);
    assert.match(e.message, /spec\.ephemeralContainers\[2\]\.targetContainerName: Not found: "nope"/);
  });

  it('is listed in discovery with the verbs kubectl debug uses', async () => {
    const list = await server.client.request<any>({ method: 'GET', path: '/api/v1' });
    const entry = list.resources.find((r: any) => r.name === 'pods/ephemeralcontainers');
    assert.ok(entry, 'pods/ephemeralcontainers in /api/v1');
    assert.deepEqual([...entry.verbs].sort(), ['get', 'patch', 'update']);
  });
});
