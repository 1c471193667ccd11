// The HTTP front end over real HTTPS: connection handling under load, timeouts, protocol
// mistakes and shutdown, as a client on the wire sees them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseGoDuration } from '../../src/apiserver/http.js';
import { startHttpsTestServer, tlsConnect, type HttpsTestServer } from './http-support.js';

describe('Go durations (?timeout=)', () => {
  it('reads what Go reads and refuses the rest with Go\'s words', () => {
    assert.equal(parseGoDuration('32s'), 32_000);
    assert.equal(parseGoDuration('1m30s'), 90_000);
    assert.equal(parseGoDuration('1.5h'), 5_400_000);
    assert.equal(parseGoDuration('300ms'), 300);
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('-1s'), -1000);
    assert.throws(() => parseGoDuration('abc'), { message: 'time: invalid duration "abc"' });
    assert.throws(() => parseGoDuration('5'), { message: 'time: missing unit in duration "5"' });
    assert.throws(() => parseGoDuration('5x'), { message: 'time: unknown unit "x" in duration "5x"' });
    assert.throws(() => parseGoDuration(''), { message: 'time: invalid duration ""' });
  });
});

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

/** Collects everything a socket receives until it closes, and how it closed. */
function drain(sock: import('node:net').Socket): Promise<{ text: string; error?: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    sock.on('close', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), error }));
  });
}

describe('HTTP front end timeouts (short, configured)', () => {
  let srv: HttpsTestServer;
  let release: () => void = () => {};
  const stuck = new Promise<void>((r) => (release = r));
  before(async () => {
    // a handler stuck on something (a store that does not answer) for one namespace
    srv = await startHttpsTestServer({
      timeouts: { requestMs: 1500, headersMs: 1000 },
      wrap: (h) => async (req) => {
        if (req.path.startsWith('/api/v1/namespaces/stuck/')) await stuck;
        return h(req);
      },
    });
  });
  after(async () => {
    release();
    await srv.stop();
  });

  it('cuts off 50 clients that send headers and a few body bytes, with the timeout Status', async () => {
    // each client writes as soon as it is connected (the server's clock runs from the connection)
    const results = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const s = await tlsConnect(srv);
        const end = drain(s);
        s.write(`POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer test-token\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion":`);
        return end;
      }),
    );
    for (const r of results) {
      assert.match(r.text, /^HTTP\/1\.1 504 /);
      const status = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4));
      assert.equal(status.reason, 'Timeout');
      assert.equal(status.code, 504);
      assert.equal(status.message, 'Timeout: request did not complete within requested timeout - context deadline exceeded');
    }
  });

  it('disconnects 50 clients that never finish their headers', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const s = await tlsConnect(srv);
        const end = drain(s);
        s.write('GET /api/v1/namespaces HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bea');
        return end;
      }),
    );
    for (const r of results) assert.equal(r.error, undefined);
    assert.equal(results.length, 50);
  });
});

describe('HTTP front end request deadline', () => {
  let srv: HttpsTestServer;
  let release: () => void = () => {};
  const stuck = new Promise<void>((r) => (release = r));
  before(async () => {
    srv = await startHttpsTestServer({
      wrap: (h) => async (req) => {
        if (req.path.startsWith('/api/v1/namespaces/stuck/')) await stuck;
        return h(req);
      },
    });
  });
  after(async () => {
    release();
    await srv.stop();
  });

  it('answers a request the handler does not finish by ?timeout= with upstream\'s 504 Status', async () => {
    const r = await srv.request('GET', '/api/v1/namespaces/stuck/configmaps?timeout=300ms');
    assert.equal(r.status, 504);
    assert.equal(r.json.kind, 'Status');
    assert.equal(r.json.reason, 'Timeout');
    assert.equal(r.json.message, 'Timeout: request did not complete within requested timeout - context deadline exceeded');
    // the connection stays usable
    const ok = await srv.request('GET', '/api/v1/namespaces/default/configmaps?timeout=32s');
    assert.equal(ok.status, 200);
  });

  it('refuses a malformed ?timeout= as upstream does', async () => {
    const r = await srv.request('GET', '/api/v1/namespaces/default/configmaps?timeout=abc');
    assert.equal(r.status, 400);
    assert.equal(r.json.reason, 'BadRequest');
    assert.equal(r.json.message, 'invalid timeout specified in the request URL - time: invalid duration "abc"');
  });

  it('gives plain HTTP on the HTTPS port Go\'s answer', async () => {
    const net = await import('node:net');
    const sock = net.connect(srv.http.port, '127.0.0.1');
    const end = drain(sock);
    sock.write('GET /version HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const r = await end;
    assert.equal(r.text, 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
  });

  it('ends watch streams with the chunked terminator when it closes, not a reset', async () => {
    const sock = await tlsConnect(srv);
    const end = drain(sock);
    let head = '';
    const headersIn = new Promise<void>((resolve) => {
      const onData = (d: Buffer) => {
        head += d.toString('latin1');
        if (head.includes('"ADDED"')) {
          sock.off('data', onData);
          resolve();
        }
      };
      sock.on('data', onData);
    });
    sock.write('GET /api/v1/namespaces?watch=true HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer test-token\r\n\r\n');
    await headersIn;
    await srv.http.close();
    const r = await end;
    assert.equal(r.error, undefined);
    assert.ok(r.text.endsWith('0\r\n\r\n'), `stream ended with ${JSON.stringify(r.text.slice(-20))}`);
  });
});
