import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderFieldError } from '../../../src/api/errors.js';
import { clone, type KubeObject } from '../../../src/api/object.js';
import { controllerRevisionKind } from '../../../src/api/kinds/controllerrevision.js';
import { statefulSetKind } from '../../../src/api/kinds/statefulset.js';

/** The StatefulSet of the user's notes (seeds/003), as kubectl sends it. */
function seedSet(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default' },
    spec: {
      serviceName: 'mysql',
      replicas: 3,
      selector: { matchLabels: { app: 'mysql' } },
      template: {
        metadata: { labels: { app: 'mysql' } },
        spec: {
          containers: [
            {
              name: 'mysql',
              image: 'mysql',
              ports: [{ containerPort: 3306, name: 'db' }],
              volumeMounts: [{ name: 'data', mountPath: '/var/data/mysql' }],
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'google-storage', resources: { requests: { storage: '1Gi' } } },
        },
      ],
    },
  };
}

function created(obj = seedSet()): KubeObject {
  statefulSetKind.prepareForCreate!(obj);
  statefulSetKind.defaults!(obj);
  return obj;
}

const messages = (errs: ReturnType<NonNullable<typeof statefulSetKind.validate>>) => errs.map(renderFieldError);

describe('StatefulSet defaults', () => {
  it('fills every default of the seed manifest', () => {
    const sts = created();
    assert.deepEqual(sts.status, { replicas: 0, availableReplicas: 0 });
    const { template, volumeClaimTemplates, ...rest } = sts.spec;
    assert.deepEqual(rest, {
      serviceName: 'mysql',
      replicas: 3,
      selector: { matchLabels: { app: 'mysql' } },
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: 1 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    });
    assert.deepEqual(template, {
      metadata: { labels: { app: 'mysql' } },
      spec: {
        containers: [
          {
            name: 'mysql',
            image: 'mysql',
            imagePullPolicy: 'Always',
            ports: [{ containerPort: 3306, name: 'db', protocol: 'TCP' }],
            volumeMounts: [{ name: 'data', mountPath: '/var/data/mysql' }],
            resources: {},
            terminationMessagePath: '/dev/termination-log',
            terminationMessagePolicy: 'File',
          },
        ],
        restartPolicy: 'Always',
        dnsPolicy: 'ClusterFirst',
        schedulerName: 'default-scheduler',
        terminationGracePeriodSeconds: 30,
        securityContext: {},
      },
    });
    assert.deepEqual(volumeClaimTemplates, [
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'google-storage',
          resources: { requests: { storage: '1Gi' } },
          volumeMode: 'Filesystem',
        },
        status: { phase: 'Pending' },
      },
    ]);
    assert.deepEqual(statefulSetKind.validate!(sts), []);
  });

  it('is idempotent', () => {
    const once = created();
    const twice = clone(once);
    statefulSetKind.defaults!(twice);
    assert.equal(JSON.stringify(twice), JSON.stringify(once));
  });

  it('leaves an explicit RollingUpdate without a partition, and OnDelete alone', () => {
    const a = seedSet();
    a.spec.updateStrategy = { type: 'RollingUpdate' };
    assert.deepEqual(created(a).spec.updateStrategy, { type: 'RollingUpdate' });
    const b = seedSet();
    b.spec.updateStrategy = { type: 'OnDelete' };
    assert.deepEqual(created(b).spec.updateStrategy, { type: 'OnDelete' });
    const c = seedSet();
    c.spec.updateStrategy = { rollingUpdate: { partition: 2, maxUnavailable: 2 } };
    // the MaxUnavailableStatefulSet gate is on in petset, so maxUnavailable is kept
    assert.deepEqual(created(c).spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 2, maxUnavailable: 2 } });
    const d = seedSet();
    d.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: {} };
    assert.deepEqual(created(d).spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: 1 } });
  });
});

describe('StatefulSet validation', () => {
  it('renders a selector mismatch as upstream does', () => {
    const sts = seedSet();
    sts.spec.selector = { matchLabels: { app: 'one' } };
    sts.spec.template.metadata.labels = { app: 'two' };
    assert.deepEqual(messages(statefulSetKind.validate!(created(sts))), [
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"two"}: `selector` does not match template `labels`',
    ]);
  });

  it('rejects negative replicas and bad update strategies', () => {
    const sts = created();
    sts.spec.replicas = -1;
    assert.deepEqual(messages(statefulSetKind.validate!(sts)), ['spec.replicas: Invalid value: -1: must be greater than or equal to 0']);

    const bad = created();
    bad.spec.updateStrategy = { type: 'Sometimes' };
    assert.deepEqual(messages(statefulSetKind.validate!(bad)), [
      "spec.updateStrategy: Invalid value: apps.StatefulSetUpdateStrategy{Type:\"Sometimes\", RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}: must be 'RollingUpdate' or 'OnDelete'",
    ]);

    const onDelete = created();
    onDelete.spec.updateStrategy = { type: 'OnDelete', rollingUpdate: { partition: 1 } };
    assert.deepEqual(messages(statefulSetKind.validate!(onDelete)), [
      "spec.updateStrategy.rollingUpdate: Invalid value: apps.RollingUpdateStatefulSetStrategy{Partition:1, MaxUnavailable:(*intstr.IntOrString)(nil)}: only allowed for updateStrategy 'RollingUpdate'",
    ]);

    const partition = created();
    partition.spec.updateStrategy.rollingUpdate.partition = -2;
    assert.deepEqual(messages(statefulSetKind.validate!(partition)), [
      'spec.updateStrategy.rollingUpdate.partition: Invalid value: -2: must be greater than or equal to 0',
    ]);
  });

  it('checks policies, selector, template and claims', () => {
    const sts = created();
    sts.spec.podManagementPolicy = 'Random';
    sts.spec.persistentVolumeClaimRetentionPolicy.whenScaled = 'Keep';
    sts.spec.template.spec.restartPolicy = 'Never';
    sts.spec.template.spec.activeDeadlineSeconds = 5;
    sts.spec.template.spec.containers[0].volumeMounts.push({ name: 'logs', mountPath: '/logs' });
    delete sts.spec.volumeClaimTemplates[0].spec.accessModes;
    assert.deepEqual(messages(statefulSetKind.validate!(sts)), [
      "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
      'spec.persistentVolumeClaimRetentionPolicy.whenScaled: Unsupported value: "Keep": supported values: "Retain", "Delete"',
      'spec.template.spec.containers[0].volumeMounts[1].name: Not found: "logs"',
      'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
      'spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in StatefulSet is not Supported',
      'spec.volumeClaimTemplates[0].spec.accessModes: Required value: at least 1 access mode is required',
    ]);

    const empty = created();
    empty.spec.selector = {};
    assert.deepEqual(messages(statefulSetKind.validate!(empty)), [
      'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset',
    ]);
  });

  it('forbids changes to immutable spec fields', () => {
    const old = created();
    const sts = clone(old);
    sts.spec.replicas = 5;
    sts.spec.template.spec.containers[0].image = 'mysql:8';
    sts.spec.updateStrategy = { type: 'OnDelete' };
    assert.deepEqual(statefulSetKind.validateUpdate!(sts, old), []);
    sts.spec.serviceName = 'other';
    assert.deepEqual(messages(statefulSetKind.validateUpdate!(sts, old)), [
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ]);
  });

  it('validates status writes', () => {
    const old = created();
    old.status = { replicas: 3, readyReplicas: 3, availableReplicas: 3, collisionCount: 2 };
    const sts = clone(old);
    sts.status = { replicas: 2, readyReplicas: 3, availableReplicas: 4, collisionCount: 1, updatedReplicas: -1 };
    assert.deepEqual(messages(statefulSetKind.validateStatusUpdate!(sts, old)), [
      'status.updatedReplicas: Invalid value: -1: must be greater than or equal to 0',
      'status.readyReplicas: Invalid value: 3: cannot be greater than status.replicas',
      'status.availableReplicas: Invalid value: 4: cannot be greater than status.replicas',
      'status.availableReplicas: Invalid value: 4: cannot be greater than status.readyReplicas',
      'status.collisionCount: Invalid value: 1: cannot be decremented',
    ]);
  });

  it('warns about a negative revisionHistoryLimit', () => {
    const sts = created();
    assert.deepEqual(statefulSetKind.warnings!(sts), []);
    sts.spec.revisionHistoryLimit = -1;
    assert.deepEqual(statefulSetKind.warnings!(sts), [
      'spec.revisionHistoryLimit: a negative value retains all historical revisions; a value >= 0 is recommended',
    ]);
  });
});

describe('StatefulSet printing and scale', () => {
  it('prints ready/desired and the containers', () => {
    const sts = created();
    sts.metadata.creationTimestamp = '2024-01-01T00:00:00Z';
    const now = Date.parse('2024-01-01T00:05:00Z');
    assert.deepEqual(statefulSetKind.table!.cells(sts, now), ['db', '0/3', '5m', 'mysql', 'mysql']);
    sts.status.readyReplicas = 2;
    assert.equal(statefulSetKind.table!.cells(sts, now)[1], '2/3');
    assert.equal(statefulSetKind.subresources!.scale!.selector(sts), 'app=mysql');
  });
});

describe('ControllerRevision', () => {
  const rev = (): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: 'db-7d4b6c9f8',
      namespace: 'default',
      creationTimestamp: '2024-01-01T00:00:00Z',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u1', controller: true }],
    },
    data: { spec: { template: { $patch: 'replace' } } },
    revision: 1,
  });

  it('requires data and a non-negative revision, and keeps data immutable', () => {
    assert.deepEqual(controllerRevisionKind.validate!(rev()), []);
    const bad = rev();
    delete bad.data;
    bad.revision = -1;
    assert.deepEqual(messages(controllerRevisionKind.validate!(bad)), [
      'data: Required value: data is mandatory',
      'revision: Invalid value: -1: must be greater than or equal to 0',
    ]);
    const renumbered = rev();
    renumbered.revision = 4;
    assert.deepEqual(controllerRevisionKind.validateUpdate!(renumbered, rev()), []);
    const changed = rev();
    changed.data = { other: true };
    assert.equal(controllerRevisionKind.validateUpdate!(changed, rev())[0].detail, 'field is immutable');
  });

  it('prints the controller as kind.group/name', () => {
    const now = Date.parse('2024-01-01T01:00:00Z');
    assert.deepEqual(controllerRevisionKind.table!.cells(rev(), now), ['db-7d4b6c9f8', 'statefulset.apps/db', 1, '60m']);
    const orphan = rev();
    delete orphan.metadata.ownerReferences;
    assert.equal(controllerRevisionKind.table!.cells(orphan, now)[1], '<none>');
  });
});
