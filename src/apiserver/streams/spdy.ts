// SPDY/3.1 as Kubernetes' clients speak it (kubectl's spdystream): the transport under
// exec/attach for kubectl 1.27-1.29 and under every kubectl's port-forward (directly after
// an HTTP upgrade, or tunnelled inside WebSocket binary messages). Only what those clients
// use is here: client-initiated streams, SYN_REPLY, DATA with FIN, RST_STREAM, PING,
// GOAWAY; SETTINGS and WINDOW_UPDATE are read and ignored (spdystream does no flow control).
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';

const VERSION = 3;
const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const HEADERS = 8;
const FLAG_FIN = 0x01;
/** RST_STREAM status codes */
export const RST = { protocolError: 1, invalidStream: 2, refusedStream: 3, cancel: 5, internalError: 6 } as const;
const MAX_FRAME = 16 * 1024 * 1024;
const MAX_CONTROL_FRAME = 256 * 1024;
/** bytes per outgoing DATA frame */
const DATA_CHUNK = 32 * 1024;

/** Header names SPDY/3's preset dictionary starts with, each length-prefixed. */
const DICTIONARY_WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
  'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
  'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
  'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
  'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
];
const DICTIONARY_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

/** The SPDY/3 header-compression dictionary (1423 bytes, Adler-32 0xE3C6A7C2). */
export const SPDY_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_WORDS.flatMap((w) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    return [len, Buffer.from(w, 'latin1')];
  }),
  Buffer.from(DICTIONARY_TAIL, 'latin1'),
]);

export type SpdyHeaders = Record<string, string>;

/** One zlib context for a whole connection and direction; each block ends with a sync flush. */
class HeaderCodec {
  private readonly chunks: Buffer[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly z: zlib.Deflate | zlib.Inflate) {
    z.on('data', (c: Buffer) => this.chunks.push(c));
    z.on('error', () => {}); // reported through the pending call
  }

  run(input: Buffer): Promise<Buffer> {
    const next = this.queue.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          const onError = (e: Error) => reject(e);
          this.z.once('error', onError);
          this.z.write(input);
          this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            this.z.removeListener('error', onError);
            resolve(Buffer.concat(this.chunks.splice(0)));
          });
        }),
    );
    this.queue = next.catch(() => {});
    return next;
  }

  close(): void {
    this.z.close();
  }
}

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const entries = Object.entries(headers);
  parts.push(u32(entries.length));
  for (const [k, v] of entries) {
    const kb = Buffer.from(k.toLowerCase(), 'utf8');
    const vb = Buffer.from(v, 'utf8');
    parts.push(u32(kb.length), kb, u32(vb.length), vb);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(b: Buffer): SpdyHeaders {
  const out: SpdyHeaders = {};
  if (b.length < 4) throw new Error('SPDY header block too short');
  const n = b.readUInt32BE(0);
  let off = 4;
  const take = () => {
    if (off + 4 > b.length) throw new Error('SPDY header block truncated');
    const len = b.readUInt32BE(off);
    off += 4;
    if (off + len > b.length) throw new Error('SPDY header block truncated');
    const s = b.toString('utf8', off, off + len);
    off += len;
    return s;
  };
  for (let i = 0; i < n; i++) {
    const name = take().toLowerCase();
    // several values of one name are NUL-separated
    out[name] = take().split('\0').join(', ');
  }
  return out;
}

/** One SPDY stream, as a Duplex: reads are the peer's DATA, writes become DATA frames; end() sends FIN. */
export class SpdyStream extends Duplex {
  private replied = false;
  remoteClosed = false;
  localClosed = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: SpdyHeaders,
  ) {
    super({ allowHalfOpen: true });
  }

  /** Accepts the stream (SYN_REPLY); the client waits for this before using it. */
  reply(headers: SpdyHeaders = {}): Promise<void> {
    if (this.replied) return Promise.resolve();
    this.replied = true;
    return this.session.sendReply(this.id, headers);
  }

  /** Aborts the stream (RST_STREAM). */
  reset(status: number = RST.cancel): void {
    this.localClosed = this.remoteClosed = true;
    this.session.sendReset(this.id, status);
    this.destroy();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.session.sendData(this.id, chunk, false).then(() => cb(), cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.localClosed = true;
    this.session.sendData(this.id, Buffer.alloc(0), true).then(() => {
      this.session.maybeForget(this);
      cb();
    }, cb);
  }

  /** @internal */
  receive(data: Buffer, fin: boolean): void {
    if (data.length) this.push(data);
    if (fin && !this.remoteClosed) {
      this.remoteClosed = true;
      this.push(null);
      this.session.maybeForget(this);
    }
  }
}

export interface SpdySessionEvents {
  stream: (s: SpdyStream) => void;
  close: () => void;
}

/**
 * The server side of a SPDY/3.1 connection over any byte stream. Emits 'stream' for every
 * stream the client opens (after its headers are decoded, in order) and 'close' once.
 */
export class SpdySession extends EventEmitter {
  private readonly streams = new Map<number, SpdyStream>();
  private readonly inflate = new HeaderCodec(zlib.createInflate({ dictionary: SPDY_DICTIONARY }));
  private readonly deflate = new HeaderCodec(zlib.createDeflate({ dictionary: SPDY_DICTIONARY }));
  private buf: Buffer = Buffer.alloc(0);
  /** frames are handled one at a time, in order, since header blocks decode asynchronously */
  private inbound: Promise<void> = Promise.resolve();
  /** and written in order, since SYN_REPLY headers encode asynchronously */
  private outbound: Promise<void> = Promise.resolve();
  private closed = false;
  private lastStreamId = 0;

  constructor(private readonly transport: Duplex) {
    super();
    transport.on('data', (c: Buffer) => this.onData(c));
    transport.on('end', () => this.close());
    transport.on('close', () => this.close());
    transport.on('error', () => this.close());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes the connection: GOAWAY, then the transport; every stream ends. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.destroy();
    this.streams.clear();
    this.inflate.close();
    this.deflate.close();
    this.transport.destroy();
    this.emit('close');
  }

  /** Says goodbye politely after what is queued has been written. */
  async goAway(): Promise<void> {
    if (this.closed) return;
    const body = Buffer.alloc(8);
    body.writeUInt32BE(this.lastStreamId & 0x7fffffff, 0);
    await this.enqueue(() => controlFrame(GOAWAY, 0, body));
    await new Promise<void>((resolve) => this.transport.end(resolve));
    this.close();
  }

  /** @internal */
  sendReply(id: number, headers: SpdyHeaders): Promise<void> {
    return this.enqueue(async () => {
      const block = await this.deflate.run(encodeHeaderBlock(headers));
      const head = Buffer.alloc(4);
      head.writeUInt32BE(id & 0x7fffffff);
      return controlFrame(SYN_REPLY, 0, Buffer.concat([head, block]));
    });
  }

  /** @internal */
  sendReset(id: number, status: number): void {
    const body = Buffer.alloc(8);
    body.writeUInt32BE(id & 0x7fffffff, 0);
    body.writeUInt32BE(status, 4);
    void this.enqueue(() => controlFrame(RST_STREAM, 0, body));
    this.streams.delete(id);
  }

  /** @internal */
  async sendData(id: number, data: Buffer, fin: boolean): Promise<void> {
    if (this.closed) throw new Error('SPDY connection closed');
    for (let off = 0; off < data.length || (fin && off === 0 && data.length === 0); off += DATA_CHUNK) {
      const piece = data.subarray(off, off + DATA_CHUNK);
      const last = off + DATA_CHUNK >= data.length;
      await this.enqueue(() => dataFrame(id, fin && last ? FLAG_FIN : 0, piece));
      if (data.length === 0) break;
    }
  }

  /** @internal */
  maybeForget(s: SpdyStream): void {
    if (s.localClosed && s.remoteClosed) this.streams.delete(s.id);
  }

  private enqueue(frame: () => Buffer | Promise<Buffer>): Promise<void> {
    const next = this.outbound.then(async () => {
      if (this.closed) return;
      const bytes = await frame();
      if (this.closed) return;
      // waiting for the transport to take the bytes is the back-pressure for stream writes
      if (this.transport.write(bytes)) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.transport.removeListener('drain', done);
          this.transport.removeListener('close', done);
          resolve();
        };
        this.transport.once('drain', done);
        this.transport.once('close', done);
      });
    });
    this.outbound = next.catch(() => {});
    return next;
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const length = this.buf.readUIntBE(5, 3);
      // header blocks are small; a huge control frame is an attack or garbage, not a request
      if (length > ((this.buf[0] & 0x80) ? MAX_CONTROL_FRAME : MAX_FRAME)) return this.close();
      if (this.buf.length < 8 + length) break;
      const frame = this.buf.subarray(0, 8 + length);
      this.buf = this.buf.subarray(8 + length);
      this.inbound = this.inbound.then(() => this.handleFrame(frame)).catch(() => this.close());
    }
  }

  private async handleFrame(f: Buffer): Promise<void> {
    if (this.closed) return;
    const flags = f[4];
    const body = f.subarray(8);
    if (!(f[0] & 0x80)) {
      const id = f.readUInt32BE(0) & 0x7fffffff;
      const s = this.streams.get(id);
      if (!s) {
        this.sendReset(id, RST.invalidStream);
        return;
      }
      s.receive(Buffer.from(body), !!(flags & FLAG_FIN));
      return;
    }
    const version = f.readUInt16BE(0) & 0x7fff;
    const type = f.readUInt16BE(2);
    if (version !== VERSION) throw new Error(`unsupported SPDY version ${version}`);
    switch (type) {
      case SYN_STREAM: {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.inflate.run(body.subarray(10)));
        this.lastStreamId = Math.max(this.lastStreamId, id);
        const s = new SpdyStream(this, id, headers);
        this.streams.set(id, s);
        if (flags & FLAG_FIN) s.receive(Buffer.alloc(0), true);
        this.emit('stream', s);
        return;
      }
      case SYN_REPLY:
      case HEADERS:
        // the client does not reply to streams here, but its header context must stay in step
        await this.inflate.run(body.subarray(4));
        return;
      case RST_STREAM: {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const s = this.streams.get(id);
        this.streams.delete(id);
        s?.destroy();
        return;
      }
      case PING:
        await this.enqueue(() => controlFrame(PING, 0, Buffer.from(body)));
        return;
      case GOAWAY:
        this.close();
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE, ...
    }
  }
}

function controlFrame(type: number, flags: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt8(flags, 4);
  h.writeUIntBE(body.length, 5, 3);
  return Buffer.concat([h, body]);
}

function dataFrame(id: number, flags: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(id & 0x7fffffff, 0);
  h.writeUInt8(flags, 4);
  h.writeUIntBE(body.length, 5, 3);
  return Buffer.concat([h, body]);
}
