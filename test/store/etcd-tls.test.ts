// The etcd store over TLS to an etcd that requires client certificates (--client-cert-auth),
// with certificates made by petset's own PKI: the whole store contract, and refusals.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCA, createClientCert, createServingCert, type CertKeyPair } from '../../src/cli/pki.js';
import { openEtcdStore } from '../../src/store/etcd.js';
import { startEtcd, type TestEtcd } from '../support/etcd.js';
import { storeContract } from './contract.js';

let etcd: TestEtcd;
let ca: CertKeyPair;
let client: CertKeyPair;
before(async () => {
  ca = createCA('etcd-ca');
  const serving = createServingCert(ca, { commonName: 'etcd', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  client = createClientCert(ca, { commonName: 'kube-apiserver-etcd-client' });
  etcd = await startEtcd({ tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: ca.certPem } });
});
after(async () => {
  await etcd?.stop();
});

const tlsOptions = () => ({ ca: Buffer.from(ca.certPem), cert: Buffer.from(client.certPem), key: Buffer.from(client.keyPem) });

storeContract('etcd over TLS with a client certificate', async () => {
  const store = await openEtcdStore({ endpoints: [etcd.endpoint], tls: tlsOptions(), autoCompact: false, log: () => {} });
  await store.client.delete().all();
  return store;
});

describe('etcd store over TLS: refusals', () => {
  test('without a client certificate, or trusting another CA, the store does not open', async () => {
    assert.match(etcd.endpoint, /^https:\/\//);
    await assert.rejects(
      openEtcdStore({ endpoints: [etcd.endpoint], tls: { ca: Buffer.from(ca.certPem) }, autoCompact: false, requestTimeoutMs: 3000, log: () => {} }),
      /cannot reach etcd at https:\/\/127\.0\.0\.1:\d+/,
    );
    const otherCa = createCA('not-etcd-ca');
    await assert.rejects(
      openEtcdStore({ endpoints: [etcd.endpoint], tls: { ...tlsOptions(), ca: Buffer.from(otherCa.certPem) }, autoCompact: false, requestTimeoutMs: 3000, log: () => {} }),
      /cannot reach etcd at https:\/\/127\.0\.0\.1:\d+/,
    );
  });
});
