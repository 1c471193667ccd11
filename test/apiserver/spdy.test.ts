// The SPDY/3.1 server side against frames built here the way spdystream (kubectl) builds
// them: one zlib context per direction with the SPDY dictionary, frames split at any byte.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Duplex, PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { decodeHeaderBlock, encodeHeaderBlock, SPDY_DICTIONARY, SpdySession, type SpdyStream } from '../../src/apiserver/streams/spdy.js';
import { JsonObjectSplitter, negotiate, exitCodeOf, exitCodeStatus, parseTerminalSize } from '../../src/api/stream-protocol.js';
import { waitFor } from '../support/server.js';

function adler32(b: Buffer): number {
  let a = 1;
  let s = 0;
  for (const c of b) {
    a = (a + c) % 65521;
    s = (s + a) % 65521;
  }
  return ((s << 16) | a) >>> 0;
}

/** A zlib stream used as spdystream does: continuous, sync-flushed per header block. */
function codec(z: zlib.Deflate | zlib.Inflate): (b: Buffer) => Promise<Buffer> {
  const chunks: Buffer[] = [];
  z.on('data', (c: Buffer) => chunks.push(c));
  let q: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
  return (b) => (q = q.then(() => new Promise<Buffer>((r) => {
    z.write(b);
    z.flush(zlib.constants.Z_SYNC_FLUSH, () => r(Buffer.concat(chunks.splice(0))));
  })));
}

function control(type: number, flags: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h[4] = flags;
  h.writeUIntBE(body.length, 5, 3);
  return Buffer.concat([h, body]);
}

function data(id: number, flags: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(id, 0);
  h[4] = flags;
  h.writeUIntBE(body.length, 5, 3);
  return Buffer.concat([h, body]);
}

/** A client end: what it writes reaches the session in pieces of 1-3 bytes; what the session writes is collected. */
function pair() {
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  const transport = Duplex.from({ readable: toServer, writable: fromServer });
  const received: Buffer[] = [];
  fromServer.on('data', (c: Buffer) => received.push(c));
  const send = (b: Buffer) => {
    for (let i = 0; i < b.length; ) {
      const n = 1 + (i % 3);
      toServer.write(b.subarray(i, i + n));
      i += n;
    }
  };
  return { transport, send, output: () => Buffer.concat(received), end: () => toServer.end() };
}

/** Parses the frames the session wrote. */
function frames(b: Buffer): Array<{ control: boolean; type?: number; id: number; flags: number; body: Buffer }> {
  const out = [];
  for (let off = 0; off + 8 <= b.length; ) {
    const len = b.readUIntBE(off + 5, 3);
    const ctl = !!(b[off] & 0x80);
    const body = b.subarray(off + 8, off + 8 + len);
    out.push({ control: ctl, type: ctl ? b.readUInt16BE(off + 2) : undefined, id: ctl ? (len >= 4 ? body.readUInt32BE(0) & 0x7fffffff : 0) : b.readUInt32BE(off) & 0x7fffffff, flags: b[off + 4], body });
    off += 8 + len;
  }
  return out;
}

describe('SPDY/3.1', () => {
  it('has the SPDY/3 header dictionary (1423 bytes, Adler-32 0xE3C6A7C2)', () => {
    assert.equal(SPDY_DICTIONARY.length, 1423);
    assert.equal(adler32(SPDY_DICTIONARY), 0xe3c6a7c2);
  });

  it('round-trips header blocks, joining repeated values', () => {
    assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock({ streamtype: 'data', port: '80' })), { streamtype: 'data', port: '80' });
    const multi = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]), Buffer.from('a'), Buffer.from([0, 0, 0, 3]), Buffer.from('x\0y')]);
    assert.deepEqual(decodeHeaderBlock(multi), { a: 'x, y' });
    assert.throws(() => decodeHeaderBlock(Buffer.from([0, 0, 0, 2, 0, 0])), /truncated/);
  });

  it('accepts client streams split across writes, replies, carries data both ways with FIN, and echoes PING', async () => {
    const { transport, send, output } = pair();
    const session = new SpdySession(transport);
    const streams: SpdyStream[] = [];
    session.on('stream', (s: SpdyStream) => streams.push(s));
    const deflate = codec(zlib.createDeflate({ dictionary: SPDY_DICTIONARY }));
    const syn = async (id: number, headers: Record<string, string>, flags = 0) => {
      const block = await deflate(encodeHeaderBlock(headers));
      const head = Buffer.alloc(10);
      head.writeUInt32BE(id, 0);
      send(control(1, flags, Buffer.concat([head, block])));
    };
    await syn(1, { streamtype: 'error', port: '80', requestid: '0' }, 0x01);
    await syn(3, { streamtype: 'data', port: '80', requestid: '0' });
    await waitFor(() => streams.length === 2, 5000, 'two streams');
    assert.deepEqual(streams.map((s) => [s.id, s.headers.streamtype, s.headers.port]), [[1, 'error', '80'], [3, 'data', '80']]);
    assert.equal(streams[0].remoteClosed, true);
    await Promise.all(streams.map((s) => s.reply()));

    let got = '';
    streams[1].on('data', (c: Buffer) => (got += c));
    const ended = new Promise<void>((r) => streams[1].once('end', () => r()));
    send(data(3, 0, Buffer.from('hello ')));
    send(data(3, 0x01, Buffer.from('server')));
    await ended;
    assert.equal(got, 'hello server');
    await new Promise<void>((r) => streams[1].end('bye', () => r()));

    const ping = Buffer.alloc(4);
    ping.writeUInt32BE(7);
    send(control(6, 0, ping));
    await waitFor(() => frames(output()).some((f) => f.control && f.type === 6), 5000, 'the PING echo');

    const out = frames(output());
    const inflate = codec(zlib.createInflate({ dictionary: SPDY_DICTIONARY }));
    const replies = out.filter((f) => f.control && f.type === 2);
    assert.deepEqual(replies.map((f) => f.id), [1, 3]);
    for (const r of replies) assert.deepEqual(decodeHeaderBlock(await inflate(r.body.subarray(4))), {});
    const dataFrames = out.filter((f) => !f.control && f.id === 3);
    assert.equal(Buffer.concat(dataFrames.map((f) => f.body)).toString(), 'bye');
    assert.equal(dataFrames.at(-1)!.flags & 0x01, 1);
    assert.equal(out.find((f) => f.control && f.type === 6)!.body.readUInt32BE(0), 7);

    // GOAWAY from the client ends the session and its streams
    const closed = new Promise<void>((r) => session.once('close', () => r()));
    send(control(7, 0, Buffer.alloc(8)));
    await closed;
  });

  it('answers DATA on an unknown stream with RST_STREAM', async () => {
    const { transport, send, output } = pair();
    const session = new SpdySession(transport);
    send(data(5, 0, Buffer.from('x')));
    await waitFor(() => frames(output()).some((f) => f.control && f.type === 3), 5000, 'RST_STREAM');
    const rst = frames(output()).find((f) => f.control && f.type === 3)!;
    assert.equal(rst.body.readUInt32BE(0), 5);
    assert.equal(rst.body.readUInt32BE(4), 2); // INVALID_STREAM
    session.close();
  });
});

describe('SPDY/3.1 with garbage', () => {
  it('closes the connection on malformed frames, never throws', async () => {
    const cases: Buffer[] = [
      control(1, 0, Buffer.from([0, 0, 0, 1])), // SYN_STREAM too short
      control(1, 0, Buffer.concat([Buffer.alloc(10), Buffer.from('not zlib at all')])), // bad header block
      Buffer.from([0x80, 0x02, 0, 1, 0, 0, 0, 0]), // SPDY/2
      Buffer.from([0x80, 0x03, 0, 1, 0, 0xff, 0xff, 0xff]), // a 16 MB control frame announced
    ];
    for (const bytes of cases) {
      const { transport, send } = pair();
      const session = new SpdySession(transport);
      const closed = new Promise<void>((r) => session.once('close', () => r()));
      send(bytes);
      await closed;
      assert.equal(session.isClosed, true);
    }
  });

  it('survives random bytes until the client goes', async () => {
    let seed = 7;
    for (let round = 0; round < 20; round++) {
      const random = Buffer.alloc(2048);
      for (let i = 0; i < random.length; i++) random[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16;
      const { transport, send, end } = pair();
      const session = new SpdySession(transport);
      session.on('stream', (st: SpdyStream) => st.on('error', () => {}));
      const closed = new Promise<void>((r) => session.once('close', () => r()));
      send(round % 2 ? Buffer.concat([Buffer.from([0x80, 0x03, 0x00, 0x01]), random]) : random);
      end();
      await closed;
    }
  });
});

describe('remote-command protocol helpers', () => {
  it('negotiates the first of our protocols the client offers', () => {
    assert.equal(negotiate('v4.channel.k8s.io, v5.channel.k8s.io', ['v5.channel.k8s.io', 'v4.channel.k8s.io']), 'v5.channel.k8s.io');
    assert.equal(negotiate(['channel.k8s.io', 'v4.channel.k8s.io'], ['v5.channel.k8s.io', 'v4.channel.k8s.io']), 'v4.channel.k8s.io');
    assert.equal(negotiate('v3.channel.k8s.io', ['v5.channel.k8s.io']), undefined);
  });

  it('splits resize messages sent back to back and in pieces', () => {
    const s = new JsonObjectSplitter();
    assert.deepEqual(s.push('{"Width":80,"Height":24}{"Wid'), ['{"Width":80,"Height":24}']);
    assert.deepEqual(s.push('th":100,"Height":"}"}\n'), ['{"Width":100,"Height":"}"}']);
    assert.deepEqual(parseTerminalSize('{"Width":120,"Height":40}\n'), { width: 120, height: 40 });
    assert.equal(parseTerminalSize('{"Width":-1,"Height":40}'), undefined);
    assert.equal(parseTerminalSize('nonsense'), undefined);
  });

  it("carries exit codes the way kubectl reads them", () => {
    assert.equal(exitCodeOf(exitCodeStatus(3)), 3);
    assert.equal(exitCodeOf({ metadata: {}, status: 'Success' }), 0);
  });
});
