// One exec/attach session with the client, whatever carries it: WebSocket channels
// (v5.channel.k8s.io and older) or SPDY/3.1 streams. The connect handlers see only the
// streams, the terminal sizes and finish(status).
import { PassThrough, Writable, type Readable } from 'node:stream';
import type { WebSocket } from 'ws';
import {
  CHANNEL,
  channelFrame,
  JsonObjectSplitter,
  parseTerminalSize,
  type StreamStatus,
  type TerminalSize,
} from '../../api/stream-protocol.js';
import type { SpdySession, SpdyStream } from './spdy.js';

export interface RemoteCommandOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** A queue read as an async iterable (terminal sizes); ends with end(). */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter?: () => void;
  private ended = false;

  push(v: T): void {
    if (this.ended) return;
    this.items.push(v);
    if (this.items.length > 100) this.items.shift();
    this.waiter?.();
  }

  end(): void {
    this.ended = true;
    this.waiter?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.items.length) {
        yield this.items.shift()!;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }
}

export interface StreamSession {
  readonly protocol: string;
  readonly tty: boolean;
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  resize?: AsyncQueue<TerminalSize>;
  /** Writes the final Status (v4+; older protocols get its message as text) and closes. */
  finish(status: StreamStatus): Promise<void>;
  /** Resolves once the client has gone. */
  readonly closed: Promise<void>;
}

/** Whether this WebSocket protocol version carries a JSON Status (v4+) rather than text. */
function carriesStatus(protocol: string): boolean {
  return protocol === 'v4.channel.k8s.io' || protocol === 'v5.channel.k8s.io';
}

function wsWriter(ws: WebSocket, channel: number): Writable {
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== ws.OPEN) return cb();
      ws.send(channelFrame(channel, chunk), { binary: true }, () => cb());
    },
  });
  // output arriving after the session ended is dropped, never an unhandled 'error'
  w.on('error', () => {});
  return w;
}

/** The server side of a channel-protocol WebSocket. */
export function webSocketSession(ws: WebSocket, protocol: string, opts: RemoteCommandOptions): StreamSession {
  const stdin = opts.stdin ? new PassThrough() : undefined;
  stdin?.on('error', () => {});
  const resize = opts.tty ? new AsyncQueue<TerminalSize>() : undefined;
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  void closed.then(() => {
    if (stdin && !stdin.writableEnded) stdin.end();
    resize?.end();
  });
  ws.on('error', () => {});
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length === 0) return;
    const payload = data.subarray(1);
    switch (data[0]) {
      case CHANNEL.stdin:
        if (stdin && !stdin.writableEnded) stdin.write(Buffer.from(payload));
        return;
      case CHANNEL.resize: {
        const size = parseTerminalSize(payload.toString());
        if (size) resize?.push(size);
        return;
      }
      case CHANNEL.close:
        // v5: the client closed one of its streams; only stdin is the client's to close
        if (protocol === 'v5.channel.k8s.io' && payload[0] === CHANNEL.stdin && stdin && !stdin.writableEnded) stdin.end();
        return;
    }
  });
  let finished = false;
  const stdout = opts.stdout ? wsWriter(ws, CHANNEL.stdout) : undefined;
  const stderr = opts.stderr && !opts.tty ? wsWriter(ws, CHANNEL.stderr) : undefined;
  return {
    protocol,
    tty: opts.tty,
    stdin,
    stdout,
    stderr,
    resize,
    closed,
    async finish(status) {
      if (finished) return;
      finished = true;
      // everything written so far leaves before the status
      await Promise.all([stdout, stderr].map((w) => w && !w.writableFinished && new Promise<void>((r) => (w.writableEnded ? w.once('finish', r) : w.end(r)))));
      if (ws.readyState === ws.OPEN) {
        const payload = carriesStatus(protocol) ? JSON.stringify(status) : status.status === 'Success' ? '' : (status.message ?? '');
        if (payload) await new Promise<void>((r) => ws.send(channelFrame(CHANNEL.error, payload), { binary: true }, () => r()));
        ws.close(1000);
      }
    },
  };
}

/**
 * The server side of SPDY exec/attach: waits (up to timeoutMs) for the streams the client
 * opens (error first, then stdin, stdout, stderr, resize as requested), accepting each.
 */
export function spdySession(session: SpdySession, protocol: string, opts: RemoteCommandOptions, timeoutMs = 30_000): Promise<StreamSession> {
  const expected = new Set<string>(['error']);
  if (opts.stdin) expected.add('stdin');
  if (opts.stdout) expected.add('stdout');
  if (opts.stderr && !opts.tty) expected.add('stderr');
  if (opts.tty) expected.add('resize');
  const got = new Map<string, SpdyStream>();
  const closed = new Promise<void>((resolve) => (session.isClosed ? resolve() : session.once('close', () => resolve())));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.removeListener('stream', onStream);
      session.close();
      reject(new Error(`timed out waiting for client streams (got ${[...got.keys()].join(', ') || 'none'} of ${[...expected].join(', ')})`));
    }, timeoutMs);
    const onStream = (s: SpdyStream) => {
      const type = s.headers['streamtype'] ?? '';
      if (!expected.has(type) || got.has(type)) {
        s.reset();
        return;
      }
      got.set(type, s);
      void s.reply().catch(() => {});
      if (got.size < expected.size) return;
      clearTimeout(timer);
      session.removeListener('stream', onStream);
      resolve(fromStreams());
    };
    session.on('stream', onStream);
    void closed.then(() => {
      clearTimeout(timer);
      if (got.size < expected.size) reject(new Error('client went away'));
    });

    function fromStreams(): StreamSession {
      const error = got.get('error')!;
      error.resume(); // the client half-closes it at once
      const resizeStream = got.get('resize');
      let resize: AsyncQueue<TerminalSize> | undefined;
      if (resizeStream) {
        const q = new AsyncQueue<TerminalSize>();
        resize = q;
        const splitter = new JsonObjectSplitter();
        resizeStream.on('data', (c: Buffer) => {
          for (const text of splitter.push(c.toString())) {
            const size = parseTerminalSize(text);
            if (size) q.push(size);
          }
        });
        resizeStream.on('end', () => q.end());
        resizeStream.on('close', () => q.end());
      }
      for (const s of got.values()) s.on('error', () => {});
      let finished = false;
      return {
        protocol,
        tty: opts.tty,
        stdin: got.get('stdin'),
        stdout: got.get('stdout'),
        stderr: got.get('stderr'),
        resize,
        closed,
        async finish(status) {
          if (finished) return;
          finished = true;
          if (session.isClosed) return;
          const ends = [got.get('stdout'), got.get('stderr')].filter((s): s is SpdyStream => !!s && !s.writableEnded);
          await Promise.all(ends.map((s) => new Promise<void>((r) => s.end(r))));
          if (status.status !== 'Success') await new Promise<void>((r) => error.write(JSON.stringify(status), () => r()));
          await new Promise<void>((r) => error.end(r));
          await session.goAway().catch(() => session.close());
        },
      };
    }
  });
}
