// The process runtime's pure decisions, with plain objects: $(VAR) expansion, service
// links, security plans, kubelet's hosts and resolv.conf files, image names, config volume
// files and the atomic ..data writer.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ImageCatalog, normalizeImage } from '../../../src/agent/runtime/process/catalog.js';
import { volumeFiles, writeAtomic } from '../../../src/agent/runtime/process/config-volumes.js';
import { containerEnv, expand, serviceEnv } from '../../../src/agent/runtime/process/env.js';
import { hostsFile, resolvConf } from '../../../src/agent/runtime/process/sandbox-args.js';
import { DEFAULT_CAPS, securityPlan, setprivArgs } from '../../../src/agent/runtime/process/security.js';
import { chooseRuntime, podMaxPids } from '../../../src/cli/runtime-choice.js';

const ALL = ['CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE', 'NET_ADMIN', 'SYS_ADMIN'];

describe('process runtime decisions', () => {
  it('expands $(VAR) as upstream: known names, $$ escapes, unknown and unterminated references stay', () => {
    const vars = { A: 'x', B: 'y' };
    assert.equal(expand('$(A)-$(B)', vars), 'x-y');
    assert.equal(expand('$$(A)', vars), '$(A)');
    assert.equal(expand('$(C) $(A', vars), '$(C) $(A');
    assert.equal(expand('cost $5', vars), 'cost $5');
  });

  it('names service links as docker links do, the kubernetes service always, others only with enableServiceLinks', () => {
    const svcs = [
      { metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '127.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] } },
      { metadata: { name: 'my-db', namespace: 'team' }, spec: { clusterIP: '127.96.0.9', ports: [{ name: 'db', port: 3306 }] } },
      { metadata: { name: 'headless', namespace: 'team' }, spec: { clusterIP: 'None', ports: [{ port: 1 }] } },
    ];
    const env = serviceEnv(svcs, 'team', true);
    assert.equal(env.MY_DB_SERVICE_HOST, '127.96.0.9');
    assert.equal(env.MY_DB_SERVICE_PORT_DB, '3306');
    assert.equal(env.MY_DB_PORT_3306_TCP_ADDR, '127.96.0.9');
    assert.equal(env.KUBERNETES_SERVICE_HOST, '127.96.0.1');
    assert.equal(env.HEADLESS_SERVICE_HOST, undefined);
    const off = serviceEnv(svcs, 'team', false);
    assert.equal(off.MY_DB_SERVICE_HOST, undefined);
    assert.equal(off.KUBERNETES_SERVICE_PORT, '443');
  });

  it('builds env in order with refs to earlier variables and optional keys', async () => {
    const sources = {
      configMap: async (_ns: string, name: string) => (name === 'cm' ? { data: { k: 'v' } } : undefined),
      secret: async () => undefined,
      services: async () => [],
    };
    const env = await containerEnv(
      {
        pod: { metadata: { name: 'p', namespace: 'ns', labels: { a: 'b' } }, spec: { nodeName: 'node-1' } },
        container: {
          name: 'c',
          resources: { limits: { memory: '64Mi', cpu: '250m' } },
          env: [
            { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'LABEL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['a']" } } },
            { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
            { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
            { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'BOTH', value: '$(NODE)/$(K)' },
            { name: 'OPT', valueFrom: { secretKeyRef: { name: 's', key: 'x', optional: true } } },
          ],
          envFrom: [{ configMapRef: { name: 'cm' }, prefix: '' }],
        },
        podIP: '127.64.0.5',
        hostIP: '127.64.0.1',
      },
      sources,
    );
    assert.deepEqual(env, { k: 'v', NODE: 'node-1', LABEL: 'b', MEM: '64', CPU: '1', IP: '127.64.0.5', BOTH: 'node-1/$(K)' });
  });

  it('plans capabilities, users and flags from the pod and container securityContext', () => {
    const pod = { metadata: { name: 'p', namespace: 'd', uid: 'u' }, spec: { securityContext: { runAsUser: 1000, fsGroup: 2000, supplementalGroups: [3000] } } };
    const plan = securityPlan(pod, { name: 'c', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }, ALL);
    assert.deepEqual(plan, { caps: ['NET_BIND_SERVICE'], uid: 1000, gid: 0, groups: [2000, 3000], privileged: false, readOnlyRoot: false, noNewPrivs: true });
    assert.deepEqual(setprivArgs(plan), ['/usr/bin/setpriv', '--reuid=1000', '--regid=0', '--groups=2000,3000', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--']);
    const root = securityPlan({ metadata: {}, spec: {} }, { name: 'c', securityContext: { capabilities: { add: ['CAP_SYS_ADMIN', 'SYS_TIME'], drop: ['KILL'] } } }, ALL);
    assert.deepEqual(root.caps, [...DEFAULT_CAPS.filter((c) => c !== 'KILL'), 'SYS_ADMIN']);
    assert.deepEqual(securityPlan({ metadata: {}, spec: {} }, { name: 'c', securityContext: { privileged: true } }, ALL).caps, ALL);
    assert.throws(() => securityPlan({ metadata: {}, spec: { securityContext: { runAsNonRoot: true } } }, { name: 'c' }, ALL), /runAsNonRoot and image will run as root/);
  });

  it("writes kubelet's hosts file and resolv.conf", () => {
    const pod = { metadata: { namespace: 'team' }, spec: { subdomain: 'mysql', hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo', 'bar'] }], dnsConfig: { searches: ['x.local'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } } };
    const hosts = hostsFile(pod, '127.64.0.9', 'db-0');
    assert.match(hosts, /^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
    assert.match(hosts, /\n127\.64\.0\.9\tdb-0\.mysql\.team\.svc\.cluster\.local\tdb-0\n\n# Entries added by HostAliases\.\n10\.1\.2\.3\tfoo\tbar\n$/);
    assert.equal(resolvConf(pod, '127.64.0.1'), 'nameserver 127.64.0.1\nsearch team.svc.cluster.local svc.cluster.local cluster.local x.local\noptions ndots:2 edns0\n');
  });

  it('normalizes image names as kubelet resolves short names, and refuses unknown images with ErrImagePull', () => {
    assert.equal(normalizeImage('mysql'), 'mysql');
    assert.equal(normalizeImage('docker.io/library/mysql:8.0@sha256:abcd'), 'mysql');
    assert.equal(normalizeImage('quay.io/coreos/etcd:v3.5.9'), 'quay.io/coreos/etcd');
    assert.equal(normalizeImage('localhost:5000/app'), 'localhost:5000/app');
    const cat = new ImageCatalog();
    assert.throws(() => cat.resolve('nope/nothing:1'), (e: any) => e.reason === 'ErrImagePull' && /no host-program catalog entry for "nope\/nothing"/.test(e.message));
    const extra = new ImageCatalog([{ images: ['myco/app'], package: '', program: '/nonexistent/app', entrypoint: [], cmd: ['app'] }]);
    assert.throws(() => extra.resolve('myco/app:2'), (e: any) => e.reason === 'ErrImagePull' && /not installed/.test(e.message));
  });

  it('picks the runtime for petset up: process where possible, sim with the reason otherwise', () => {
    const cannot = () => 'the process runtime needs root';
    assert.deepEqual(chooseRuntime('auto', () => undefined), { kind: 'process' });
    assert.deepEqual(chooseRuntime('auto', cannot), { kind: 'sim', why: 'the process runtime needs root' });
    assert.deepEqual(chooseRuntime('sim', () => undefined), { kind: 'sim' });
    assert.throws(() => chooseRuntime('process', cannot), /--runtime process cannot run here: the process runtime needs root/);
    assert.throws(() => chooseRuntime('docker'), /--runtime must be process, sim or auto/);
  });

  it('reads --pod-max-pids as the kubelet does: -1 (default) unlimited, else a positive whole number', () => {
    assert.equal(podMaxPids(undefined), undefined);
    assert.equal(podMaxPids('-1'), undefined);
    assert.equal(podMaxPids('100'), 100);
    for (const bad of ['0', '-2', '1.5', 'many', '']) assert.throws(() => podMaxPids(bad), new RegExp(`--pod-max-pids must be -1 \\(unlimited\\) or a positive whole number \\(got "${bad}"\\)`));
  });

  it('lays out config volumes atomically with ..data, items, modes, and swaps on change', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-atomic-'));
    try {
      const pod = { metadata: { name: 'p', namespace: 'd' }, spec: {} };
      let data: Record<string, string> = { a: '1', b: '2' };
      const sources = { configMap: async () => ({ data }), secret: async () => undefined };
      const vol = { name: 'v', configMap: { name: 'cm', items: [{ key: 'a', path: 'sub/a.txt', mode: 0o600 }, { key: 'b', path: 'b' }] } };
      assert.equal(writeAtomic(dir, await volumeFiles(vol, pod, '', '', sources)), true);
      assert.equal(fs.readFileSync(path.join(dir, 'sub/a.txt'), 'utf8'), '1');
      assert.equal(fs.statSync(path.join(dir, 'sub/a.txt')).mode & 0o777, 0o600);
      assert.equal(fs.readlinkSync(path.join(dir, 'sub')), '..data/sub');
      const first = fs.readlinkSync(path.join(dir, '..data'));
      assert.equal(writeAtomic(dir, await volumeFiles(vol, pod, '', '', sources)), false, 'nothing changed');
      data = { a: 'changed', b: '2' };
      assert.equal(writeAtomic(dir, await volumeFiles(vol, pod, '', '', sources)), true);
      assert.equal(fs.readFileSync(path.join(dir, 'sub/a.txt'), 'utf8'), 'changed');
      assert.notEqual(fs.readlinkSync(path.join(dir, '..data')), first);
      assert.equal(fs.existsSync(path.join(dir, first)), false, 'the old generation is removed');
      await assert.rejects(volumeFiles({ name: 'v', configMap: { name: 'cm', items: [{ key: 'zz', path: 'z' }] } }, pod, '', '', sources), /non-existent config key: zz/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
