// The pure decisions of TLS bootstrap: which bearer tokens are live bootstrap tokens, which
// CSRs the approver asks about, and what the signer does with a CSR.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { bootstrapTokenUser } from '../../src/apiserver/authn/bootstrap-token.js';
import { decideApproval } from '../../src/controllers/certificates/approver.js';
import { decideSigning } from '../../src/controllers/certificates/signer.js';
import { cleanupReason } from '../../src/controllers/certificates/cleaner.js';
import { createCA, createCertificateRequest, parseCertificateRequest, signCertificateRequest } from '../../src/cli/pki.js';
import type { KubeObject } from '../../src/api/object.js';

const TOKEN = 'abcdef.0123456789abcdef';
const data = (extra: Record<string, string> = {}) => ({
  'token-id': 'abcdef',
  'token-secret': '0123456789abcdef',
  'usage-bootstrap-authentication': 'true',
  'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
  ...extra,
});
const secret = (d: Record<string, string>, more: { type?: string; deleting?: boolean } = {}) => ({ type: 'bootstrap.kubernetes.io/token', data: d, ...more });

describe('bootstrap tokens', () => {
  it('a live token is system:bootstrap:<id> in system:bootstrappers and its extra groups', () => {
    assert.deepEqual(bootstrapTokenUser(TOKEN, secret(data())), {
      name: 'system:bootstrap:abcdef',
      groups: ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token'],
    });
  });
  it('is refused when malformed, wrong, expired, deleted, of another type, not for authentication, or with a foreign extra group', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(bootstrapTokenUser('abcdef.0123456789ABCDEF', secret(data())), undefined);
    assert.equal(bootstrapTokenUser('abcdef.0000000000000000', secret(data())), undefined);
    assert.equal(bootstrapTokenUser(TOKEN, secret(data({ expiration: '2025-12-31T23:59:59Z' })), now), undefined);
    assert.ok(bootstrapTokenUser(TOKEN, secret(data({ expiration: '2026-01-01T00:00:01Z' })), now));
    assert.equal(bootstrapTokenUser(TOKEN, secret(data(), { deleting: true })), undefined);
    assert.equal(bootstrapTokenUser(TOKEN, secret(data(), { type: 'Opaque' })), undefined);
    assert.equal(bootstrapTokenUser(TOKEN, secret(data({ 'usage-bootstrap-authentication': 'false' }))), undefined);
    assert.equal(bootstrapTokenUser(TOKEN, secret(data({ 'auth-extra-groups': 'system:masters' }))), undefined);
    assert.equal(bootstrapTokenUser(TOKEN, undefined), undefined);
  });
});

function csr(subject: { commonName: string; organizations?: string[] }, spec: Record<string, unknown> = {}, status?: Record<string, unknown>): KubeObject {
  const { csrPem } = createCertificateRequest(subject);
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name: 'x' },
    spec: { request: Buffer.from(csrPem).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'], username: 'system:bootstrap:abcdef', ...spec },
    status,
  };
}
const node = { commonName: 'system:node:m2', organizations: ['system:nodes'] };
const approved = { conditions: [{ type: 'Approved', status: 'True' }] };

describe('csrapproving', () => {
  it('asks about nodeclient for a bootstrap request, selfnodeclient for a node renewing its own', () => {
    assert.deepEqual(decideApproval(csr(node)), { check: 'nodeclient' });
    assert.deepEqual(decideApproval(csr(node, { username: 'system:node:m2' })), { check: 'selfnodeclient' });
  });
  it('leaves alone what is not a node client request, or is decided already', () => {
    assert.equal(decideApproval(csr({ commonName: 'system:node:m2', organizations: ['system:masters'] })), undefined);
    assert.equal(decideApproval(csr({ commonName: 'alice', organizations: ['system:nodes'] })), undefined);
    assert.equal(decideApproval(csr(node, { usages: ['digital signature', 'client auth', 'server auth'] })), undefined);
    assert.equal(decideApproval(csr(node, { signerName: 'kubernetes.io/kube-apiserver-client' })), undefined);
    assert.equal(decideApproval(csr(node, {}, approved)), undefined);
    assert.equal(decideApproval(csr(node, {}, { conditions: [{ type: 'Denied', status: 'True' }] })), undefined);
    // a request whose signature does not match its key (someone else's key): not proof of possession
    const forged = csr(node);
    const pemText = Buffer.from(forged.spec.request, 'base64').toString();
    const raw = Buffer.from(pemText.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    raw[raw.length - 10] ^= 0x01;
    forged.spec.request = Buffer.from(`-----BEGIN CERTIFICATE REQUEST-----\n${raw.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`).toString('base64');
    assert.equal(decideApproval(forged), undefined);
  });
});

describe('csrsigning', () => {
  it('signs approved requests of its signers for the asked lifetime, at most a year', () => {
    assert.deepEqual(decideSigning(csr(node, {}, approved)), { sign: { usages: ['digital signature', 'client auth'], validitySeconds: 365 * 24 * 3600 - 300, backdateMs: 300_000 } });
    assert.deepEqual(decideSigning(csr(node, { expirationSeconds: 3600 }, approved)), { sign: { usages: ['digital signature', 'client auth'], validitySeconds: 3600, backdateMs: 300_000 } });
    // --cluster-signing-duration caps the lifetime; a short one is backdated by a tenth of it
    assert.deepEqual(decideSigning(csr(node, { expirationSeconds: 3600 }, approved), 60), { sign: { usages: ['digital signature', 'client auth'], validitySeconds: 60, backdateMs: 6000 } });
    assert.equal(decideSigning(csr(node)), undefined, 'pending');
    assert.equal(decideSigning(csr(node, { signerName: 'example.com/other' }, approved)), undefined, 'another signer');
    assert.deepEqual(decideSigning(csr({ commonName: 'alice' }, {}, approved)), { fail: 'subject organization is not system:nodes' });
  });
  it('the certificate carries the request\'s subject and key, signed by the CA', () => {
    const ca = createCA('test-ca');
    const { csrPem } = createCertificateRequest(node);
    const parsed = parseCertificateRequest(csrPem);
    assert.equal(parsed.commonName, 'system:node:m2');
    assert.deepEqual(parsed.organizations, ['system:nodes']);
    const cert = new X509Certificate(signCertificateRequest(ca, parsed, { usages: ['digital signature', 'client auth'], validitySeconds: 600 }));
    assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
    assert.equal(cert.subject.split('\n').sort().join(','), 'CN=system:node:m2,O=system:nodes');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.throws(() => parseCertificateRequest('junk'), /PEM block type must be CERTIFICATE REQUEST/);
  });
});

describe('csrcleaner', () => {
  it('deletes issued or approved requests after an hour, denied and failed after an hour, pending after a day, expired certificates at once', () => {
    // certificates are signed at the real now, so the test's now is the real one
    const now = Date.now();
    const ago = (ms: number) => new Date(now - ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const H = 3600_000;
    const at = (created: string, status?: Record<string, unknown>) => ({ ...csr(node, {}, status), metadata: { name: 'x', creationTimestamp: created } });
    const cond = (type: string, when: string) => ({ conditions: [{ type, status: 'True', lastUpdateTime: when }] });
    const ca = createCA('test-ca');
    const parsed = parseCertificateRequest(createCertificateRequest(node).csrPem);
    const live = Buffer.from(signCertificateRequest(ca, parsed, { usages: ['client auth'], validitySeconds: 3600 })).toString('base64');
    // a certificate whose notAfter has passed (a negative lifetime)
    const expired = Buffer.from(signCertificateRequest(ca, parsed, { usages: ['client auth'], validitySeconds: -60, backdateMs: 120_000 })).toString('base64');

    assert.equal(cleanupReason(at(ago(2 * H), { ...cond('Approved', ago(2 * H)), certificate: live }), now), 'issued more than an hour ago');
    assert.equal(cleanupReason(at(ago(10 * 60_000), { ...cond('Approved', ago(10 * 60_000)), certificate: live }), now), undefined);
    assert.equal(cleanupReason(at(ago(10 * 60_000), { ...cond('Approved', ago(10 * 60_000)), certificate: expired }), now), 'its certificate has expired');
    assert.equal(cleanupReason(at(ago(2 * H), cond('Denied', ago(2 * H))), now), 'denied more than an hour ago');
    assert.equal(cleanupReason(at(ago(2 * H), cond('Denied', ago(30 * 60_000))), now), undefined);
    assert.equal(cleanupReason(at(ago(2 * H), cond('Failed', ago(2 * H))), now), 'failed more than an hour ago');
    assert.equal(cleanupReason(at(ago(25 * H)), now), 'pending for more than a day');
    assert.equal(cleanupReason(at(ago(23 * H)), now), undefined);
    // approved and waiting for a signer: kept (upstream deletes only issued ones on approval age)
    assert.equal(cleanupReason(at(ago(25 * H), cond('Approved', ago(25 * H))), now), undefined);
  });
});
