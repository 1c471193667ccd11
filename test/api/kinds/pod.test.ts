import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderFieldError } from '../../../src/api/errors.js';
import { clone, type KubeObject } from '../../../src/api/object.js';
import { podKind, podQOSClass } from '../../../src/api/kinds/pod.js';

function pod(spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-0', namespace: 'default', creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }], ...spec },
  };
}

function created(p = pod()): KubeObject {
  podKind.prepareForCreate!(p);
  podKind.defaults!(p);
  return p;
}

const messages = (p: KubeObject) => podKind.validate!(p).map(renderFieldError);

describe('Pod defaults and create', () => {
  it('fills pod and container defaults and resets status', () => {
    const p = pod({
      containers: [
        {
          name: 'app',
          image: 'app',
          ports: [{ containerPort: 80 }],
          readinessProbe: { httpGet: { port: 80 } },
          resources: { limits: { cpu: '1', memory: '1Gi' } },
        },
      ],
      volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }],
    });
    p.status = { phase: 'Running' };
    created(p);
    assert.deepEqual(p.status, { phase: 'Pending', qosClass: 'Guaranteed' });
    const { containers, volumes, ...rest } = p.spec;
    assert.deepEqual(rest, {
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      terminationGracePeriodSeconds: 30,
      securityContext: {},
      enableServiceLinks: true,
    });
    assert.deepEqual(containers[0], {
      name: 'app',
      image: 'app',
      imagePullPolicy: 'Always',
      ports: [{ containerPort: 80, protocol: 'TCP' }],
      readinessProbe: { httpGet: { port: 80, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
      resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } },
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
    });
    assert.deepEqual(volumes, [{ name: 'cfg', configMap: { name: 'cfg', defaultMode: 420 } }]);
    const again = clone(p);
    podKind.defaults!(again);
    assert.deepEqual(again, p);
  });

  it('computes the QoS class', () => {
    assert.equal(podQOSClass({ containers: [{ name: 'a' }] }), 'BestEffort');
    assert.equal(podQOSClass({ containers: [{ name: 'a', resources: { requests: { cpu: '100m' } } }] }), 'Burstable');
    assert.equal(
      podQOSClass({ containers: [{ name: 'a', resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1000m', memory: '1Gi' } } }] }),
      'Guaranteed',
    );
  });

  it('takes IfNotPresent for tagged images', () => {
    assert.equal(created().spec.containers[0].imagePullPolicy, 'IfNotPresent');
  });
});

describe('Pod validation', () => {
  it('accepts a defaulted pod', () => {
    assert.deepEqual(messages(created()), []);
  });

  it('reports upstream messages', () => {
    assert.deepEqual(messages(created(pod({ containers: [] }))), ['spec.containers: Required value']);
    const p = created(
      pod({
        containers: [
          { name: 'x', image: '', volumeMounts: [{ name: 'data', mountPath: '/data' }] },
          { name: 'x', image: 'b', ports: [{ containerPort: 70000 }] },
        ],
        restartPolicy: 'Sometimes',
        hostname: 'Web_0',
        volumes: [{ name: 'v', emptyDir: {} }, { name: 'v', emptyDir: {} }],
      }),
    );
    assert.deepEqual(messages(p), [
      'spec.volumes[1].name: Duplicate value: "v"',
      'spec.containers[0].image: Required value',
      'spec.containers[0].volumeMounts[0].name: Not found: "data"',
      'spec.containers[1].name: Duplicate value: "x"',
      'spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
      "spec.hostname: Invalid value: \"Web_0\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ]);
  });

  it('allows image changes on update and forbids the rest', () => {
    const old = created(pod({ nodeName: 'node-1' }));
    const next = clone(old);
    next.spec.containers[0].image = 'nginx:1.26';
    next.spec.activeDeadlineSeconds = 30;
    assert.deepEqual(podKind.validateUpdate!(next, old), []);

    for (const change of [
      (p: KubeObject) => (p.spec.nodeName = 'node-2'),
      (p: KubeObject) => (p.spec.containers[0].ports = [{ containerPort: 81, protocol: 'TCP' }]),
    ]) {
      const bad = clone(old);
      change(bad);
      const [err, ...rest] = podKind.validateUpdate!(bad, old);
      assert.equal(rest.length, 0);
      assert.match(
        renderFieldError(err),
        /^spec: Forbidden: pod updates may not change fields other than `spec\.containers\[\*\]\.image`,`spec\.initContainers\[\*\]\.image`,`spec\.activeDeadlineSeconds`,`spec\.tolerations` \(only additions to existing tolerations\),`spec\.terminationGracePeriodSeconds` \(allow it to be set to 1 if it was previously negative\)\n/,
      );
    }
  });
});

describe('Pod deletion grace', () => {
  const grace = (p: KubeObject, requested?: number) => podKind.gracePeriod!(p, requested);

  it('is 0 for unscheduled or finished pods', () => {
    assert.equal(grace(created()), 0);
    const done = created(pod({ nodeName: 'n1' }));
    done.status.phase = 'Succeeded';
    assert.equal(grace(done, 30), 0);
    done.status.phase = 'Failed';
    assert.equal(grace(done), 0);
  });

  it('takes the request, else the spec, and turns negatives into 1', () => {
    const p = created(pod({ nodeName: 'n1', terminationGracePeriodSeconds: 45 }));
    assert.equal(grace(p), 45);
    assert.equal(grace(p, 5), 5);
    assert.equal(grace(p, 0), 0);
    assert.equal(grace(p, -3), 1);
    delete p.spec.terminationGracePeriodSeconds;
    assert.equal(grace(p), 30);
  });
});

describe('Pod printing', () => {
  const now = Date.parse('2024-01-01T01:00:00Z');
  const cells = (status: Record<string, unknown>, extra: (p: KubeObject) => void = () => {}) => {
    const p = pod({ nodeName: 'n1' });
    p.status = status;
    extra(p);
    return podKind.table!.cells(p, now);
  };
  const running = { ready: true, restartCount: 0, state: { running: { startedAt: '2024-01-01T00:00:10Z' } } };

  it('shows a pending pod', () => {
    assert.deepEqual(cells({ phase: 'Pending' }), ['web-0', '0/1', 'Pending', '0', '60m', '<none>', 'n1', '<none>', '<none>']);
  });

  it('shows waiting reasons', () => {
    const status = { phase: 'Pending', containerStatuses: [{ name: 'nginx', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] };
    assert.equal(cells(status)[2], 'ContainerCreating');
  });

  it('shows a running pod with its address and restarts', () => {
    const status = {
      phase: 'Running',
      podIPs: [{ ip: '10.244.0.5' }],
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [{ ...running, restartCount: 2, lastState: { terminated: { exitCode: 1, finishedAt: '2024-01-01T00:55:00Z' } } }],
    };
    assert.deepEqual(cells(status), ['web-0', '1/1', 'Running', '2 (5m ago)', '60m', '10.244.0.5', 'n1', '<none>', '<none>']);
  });

  it('shows crash loops, completed and errored containers', () => {
    const waiting = { phase: 'Running', containerStatuses: [{ name: 'nginx', restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }] };
    assert.equal(cells(waiting)[2], 'CrashLoopBackOff');
    const completed = { phase: 'Succeeded', containerStatuses: [{ name: 'nginx', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] };
    assert.equal(cells(completed)[2], 'Completed');
    const failed = { phase: 'Failed', containerStatuses: [{ name: 'nginx', state: { terminated: { exitCode: 2, reason: 'Error' } } }] };
    assert.equal(cells(failed)[2], 'Error');
  });

  it('shows init progress', () => {
    const status = {
      phase: 'Pending',
      initContainerStatuses: [
        { name: 'init-a', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        { name: 'init-b', state: { running: {} } },
      ],
    };
    const addInit = (p: KubeObject) => {
      p.spec.initContainers = [
        { name: 'init-a', image: 'busybox' },
        { name: 'init-b', image: 'busybox' },
      ];
    };
    assert.equal(cells(status, addInit)[2], 'Init:1/2');
  });

  it('shows Terminating and Unknown for pods being deleted', () => {
    const deleting = (p: KubeObject) => (p.metadata.deletionTimestamp = '2024-01-01T00:59:00Z');
    assert.equal(cells({ phase: 'Running', containerStatuses: [running] }, deleting)[2], 'Terminating');
    assert.equal(cells({ phase: 'Running', reason: 'NodeLost' }, deleting)[2], 'Unknown');
    assert.equal(cells({ phase: 'Succeeded' }, deleting)[2], 'Succeeded');
  });

  it('counts readiness gates', () => {
    const gates = (p: KubeObject) => (p.spec.readinessGates = [{ conditionType: 'a' }, { conditionType: 'b' }]);
    assert.equal(cells({ phase: 'Running', conditions: [{ type: 'a', status: 'True' }] }, gates)[8], '1/2');
  });

  it('selects by field', () => {
    const p = created(pod({ nodeName: 'n1' }));
    assert.equal(podKind.fields!['spec.nodeName'](p), 'n1');
    assert.equal(podKind.fields!['status.phase'](p), 'Pending');
    assert.equal(podKind.fields!['spec.hostNetwork'](p), 'false');
  });
});
