// The HTTP front end over real HTTPS: connection handling under load, timeouts, protocol
// mistakes and shutdown, as a client on the wire sees them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHttpsTestServer, tlsConnect, type HttpsTestServer } from './http-support.js';

const bigConfigMap = (name: string, bytes = 100 * 1024) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data: { blob: 'x'.repeat(bytes) },
});

function postRequest(path: string, body: unknown, token: string): Buffer {
  const payload = Buffer.from(JSON.stringify(body));
  return Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`,
    ),
    payload,
  ]);
}

/** Reads HTTP/1.1 responses off a socket until `count` complete ones arrived or it closed. */
function readResponses(sock: import('node:tls').TLSSocket, count: number): Promise<{ statuses: number[]; error?: string; closed: boolean }> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const statuses: number[] = [];
    let done = false;
    const finish = (r: { error?: string; closed: boolean }) => {
      if (done) return;
      done = true;
      resolve({ statuses, ...r });
    };
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) break;
        const head = buf.subarray(0, end).toString('latin1');
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) break;
        statuses.push(Number(head.split(' ')[1]));
        buf = buf.subarray(end + 4 + len);
        if (statuses.length === count) finish({ closed: false });
      }
    });
    sock.on('error', (e) => finish({ error: (e as NodeJS.ErrnoException).code ?? e.message, closed: true }));
    sock.on('close', () => finish({ closed: true }));
  });
}

describe('HTTP front end over HTTPS', () => {
  let srv: HttpsTestServer;
  before(async () => {
    srv = await startHttpsTestServer();
  });
  after(async () => {
    await srv.stop();
  });

  it('answers 100 pipelined POSTs of 100 KB on one keep-alive connection without a reset', async () => {
    const sock = await tlsConnect(srv);
    const n = 100;
    const answers = readResponses(sock, n);
    for (let i = 0; i < n; i++) sock.write(postRequest('/api/v1/namespaces/default/configmaps', bigConfigMap(`pipelined-${i}`), 'test-token'));
    const r = await answers;
    sock.destroy();
    assert.equal(r.error, undefined, `connection failed after ${r.statuses.length} answers`);
    assert.equal(r.statuses.length, n);
    assert.deepEqual(new Set(r.statuses), new Set([201]));
  });

  it('answers 100 POSTs of 100 KB sent one after another on one keep-alive connection', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => srv.request('POST', '/api/v1/namespaces/default/configmaps', bigConfigMap(`sequential-${i}`))),
    );
    const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason?.code ?? (r as PromiseRejectedResult).reason));
    assert.deepEqual(failed, []);
    assert.deepEqual(new Set(results.map((r) => (r as PromiseFulfilledResult<{ status: number }>).value.status)), new Set([201]));
  });
});
