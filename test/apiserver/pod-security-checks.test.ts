// Pod Security's checks beyond the common ones (AppArmor, SELinux, sysctls, procMount, Windows
// host process), their levels and upstream's texts, as the pure evaluation gives them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluatePodSecurity, podSecurityConfiguration, violationText } from '../../src/apiserver/pod-security.js';

const text = (level: 'baseline' | 'restricted', spec: any, meta?: any) => {
  const v = evaluatePodSecurity(level, spec, meta);
  return v.length ? violationText(level, v) : '';
};
const c = (name: string, securityContext?: any) => ({ name, image: 'busybox', ...(securityContext ? { securityContext } : {}) });

describe('Pod Security checks', () => {
  it('AppArmor: Unconfined profile types and unconfined annotations are forbidden at baseline', () => {
    assert.equal(text('baseline', { containers: [c('a', { appArmorProfile: { type: 'RuntimeDefault' } })] }), '');
    assert.equal(
      text('baseline', { securityContext: { appArmorProfile: { type: 'Unconfined' } }, containers: [c('a', { appArmorProfile: { type: 'Unconfined' } }), c('b')] }),
      'PodSecurity "baseline:latest": forbidden AppArmor profile (pod and container "a" must not set AppArmor profile type to "Unconfined")',
    );
    assert.equal(
      text('baseline', { containers: [c('a')] }, { annotations: { 'container.apparmor.security.beta.kubernetes.io/a': 'unconfined', 'container.apparmor.security.beta.kubernetes.io/b': 'localhost/x' } }),
      'PodSecurity "baseline:latest": forbidden AppArmor profile (annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/a=\\"unconfined\\"")',
    );
  });

  it('SELinux: only the container types, and no user or role', () => {
    assert.equal(text('baseline', { securityContext: { seLinuxOptions: { type: 'container_t', level: 's0:c1' } }, containers: [c('a')] }), '');
    assert.equal(
      text('baseline', { securityContext: { seLinuxOptions: { type: 'spc_t' } }, containers: [c('a', { seLinuxOptions: { user: 'u', role: 'r' } }), c('b', { seLinuxOptions: { type: 'unconfined_t' } })] }),
      'PodSecurity "baseline:latest": seLinuxOptions (pod and containers "a", "b" set forbidden securityContext.seLinuxOptions: types "spc_t", "unconfined_t"; user may not be set; role may not be set)',
    );
  });

  it('sysctls: only the safe set', () => {
    assert.equal(text('baseline', { securityContext: { sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '1024 65535' }, { name: 'net.ipv4.tcp_keepalive_time', value: '60' }] }, containers: [c('a')] }), '');
    assert.equal(
      text('baseline', { securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '1' }, { name: 'net.core.somaxconn', value: '1' }] }, containers: [c('a')] }),
      'PodSecurity "baseline:latest": forbidden sysctls (kernel.msgmax, net.core.somaxconn)',
    );
  });

  it('procMount: Unmasked is forbidden, at baseline relaxed for pods in a user namespace', () => {
    const spec = { containers: [c('a', { procMount: 'Unmasked' }), c('b', { procMount: 'Default' })] };
    assert.equal(text('baseline', spec), 'PodSecurity "baseline:latest": procMount (container "a" must not set securityContext.procMount to "Unmasked")');
    assert.equal(text('baseline', { ...spec, hostUsers: false }), '');
    assert.match(text('restricted', { ...spec, hostUsers: false }), /procMount \(container "a" must not set securityContext.procMount to "Unmasked"\)/);
  });

  it('Windows host process pods are forbidden at baseline', () => {
    assert.equal(
      text('baseline', { securityContext: { windowsOptions: { hostProcess: true } }, containers: [c('a', { windowsOptions: { hostProcess: true } })] }),
      'PodSecurity "baseline:latest": hostProcess (pod and container "a" must not set securityContext.windowsOptions.hostProcess=true)',
    );
  });

  it('names the version a namespace pins in its texts', () => {
    const v = evaluatePodSecurity('baseline', { hostPID: true, containers: [c('a')] });
    assert.equal(violationText('baseline', v, 'v1.30'), 'PodSecurity "baseline:v1.30": host namespaces (hostPID=true)');
  });

  it('lists violations in upstream order (by check id)', () => {
    const v = evaluatePodSecurity('baseline', {
      hostNetwork: true,
      securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '1' }], seLinuxOptions: { type: 'spc_t' } },
      containers: [c('a', { privileged: true, procMount: 'Unmasked', appArmorProfile: { type: 'Unconfined' } })],
    });
    assert.deepEqual(
      v.map((x) => x.reason),
      ['forbidden AppArmor profile', 'host namespaces', 'privileged', 'procMount', 'seLinuxOptions', 'forbidden sysctls'],
    );
  });

  it('reads the PodSecurity plugin of an AdmissionConfiguration, and says what is wrong with one', () => {
    const cfg = podSecurityConfiguration({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AdmissionConfiguration',
      plugins: [{ name: 'PodSecurity', configuration: { apiVersion: 'pod-security.admission.config.k8s.io/v1', kind: 'PodSecurityConfiguration', defaults: { enforce: 'baseline', warn: 'restricted', 'warn-version': 'v1.30' }, exemptions: { usernames: ['ci'] } } }],
    });
    assert.equal(cfg?.defaults['pod-security.kubernetes.io/enforce'], 'baseline');
    assert.equal(cfg?.defaults['pod-security.kubernetes.io/audit'], 'privileged');
    assert.equal(cfg?.defaults['pod-security.kubernetes.io/warn-version'], 'v1.30');
    assert.deepEqual(cfg?.exemptions, { usernames: ['ci'], runtimeClasses: [], namespaces: [] });
    assert.equal(podSecurityConfiguration({ kind: 'AdmissionConfiguration', plugins: [] }), undefined);
    assert.throws(
      () => podSecurityConfiguration({ apiVersion: 'pod-security.admission.config.k8s.io/v1', kind: 'PodSecurityConfiguration', defaults: { enforce: 'strict' } }),
      /defaults.enforce: Unsupported value: "strict": supported values: "privileged", "baseline", "restricted"/,
    );
    assert.throws(() => podSecurityConfiguration({ apiVersion: 'v1', kind: 'ConfigMap' }), /kind must be PodSecurityConfiguration/);
  });
});
