// Pod Security admission through the real kubectl: a namespace labelled enforce=baseline
// refuses a privileged pod on the host network with upstream's text; warn=restricted adds
// upstream's Warning to pods and to workload templates; an unlabelled namespace admits all.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCluster, type Cluster } from './harness.js';

const RESTRICTED_WARNING = (c: string) =>
  `Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "${c}" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "${c}" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "${c}" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "${c}" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`;

describe('Pod Security admission', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster();
    await c.kubectl(['create', 'namespace', 'secure']);
    await c.kubectl(['label', 'namespace', 'secure', 'pod-security.kubernetes.io/enforce=baseline', 'pod-security.kubernetes.io/warn=restricted']);
  });
  after(async () => {
    await c?.stop();
  });

  it('enforce refuses what breaks the level, in upstream words', async () => {
    const r = await c.kubectl(
      ['-n', 'secure', 'run', 'root', '--image=busybox', '--overrides={"spec":{"hostNetwork":true,"containers":[{"name":"root","image":"busybox","securityContext":{"privileged":true,"capabilities":{"add":["NET_ADMIN"]}}}]}}'],
      { allowFail: true },
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /Error from server \(Forbidden\): pods "root" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities \(container "root" must not include "NET_ADMIN" in securityContext.capabilities.add\), host namespaces \(hostNetwork=true\), privileged \(container "root" must not set securityContext.privileged=true\)/,
    );
  });

  it('warn admits with a Warning, for pods and for workload templates', async () => {
    const pod = await c.kubectl(['-n', 'secure', 'run', 'plain', '--image=busybox', '--', 'sleep', '60']);
    assert.ok(pod.stderr.includes(RESTRICTED_WARNING('plain')), pod.stderr);
    const dep = await c.kubectl(['-n', 'secure', 'create', 'deployment', 'web', '--image=nginx']);
    assert.ok(dep.stderr.includes(RESTRICTED_WARNING('nginx')), dep.stderr);
    const fine = await c.kubectl(['-n', 'secure', 'run', 'tight', '--image=busybox', '--overrides={"spec":{"securityContext":{"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"tight","image":"busybox","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}]}}']);
    assert.doesNotMatch(fine.stderr, /PodSecurity/);
  });

  it('an unlabelled namespace admits a privileged pod', async () => {
    const r = await c.kubectl(['run', 'priv', '--image=busybox', '--overrides={"spec":{"containers":[{"name":"priv","image":"busybox","securityContext":{"privileged":true}}]}}']);
    assert.doesNotMatch(r.stderr, /PodSecurity/);
  });
});
