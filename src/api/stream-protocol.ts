// The remote-command stream protocols of exec and attach (pure: names, framing, the final
// Status), shared by the API server, which speaks them to kubectl, and the node agent,
// which serves them to the API server as a kubelet does.

/** WebSocket subprotocols, most capable first. v4 adds the JSON Status, v5 the close signal. */
export const WS_CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
/** SPDY's X-Stream-Protocol-Version values; v5 over SPDY is v4 (the close signal is a WebSocket matter). */
export const SPDY_CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** kubectl ≥ 1.31 tunnels port-forward's SPDY inside WebSocket binary messages under this name. */
export const WS_TUNNELED_PORT_FORWARD_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** Picks the first of our protocols the client offers (comma-separated header values). */
export function negotiate(offered: string | string[] | undefined, ours: readonly string[]): string | undefined {
  const list = (Array.isArray(offered) ? offered.join(',') : offered ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return ours.find((p) => list.includes(p));
}

/** One channel message: the channel number, then the payload. */
export function channelFrame(channel: number, payload: Buffer | string): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = channel;
  data.copy(out, 1);
  return out;
}

export interface TerminalSize {
  width: number;
  height: number;
}

/** A resize message, {"Width":W,"Height":H}; undefined when it is not one. */
export function parseTerminalSize(text: string): TerminalSize | undefined {
  try {
    const v = JSON.parse(text) as { Width?: unknown; Height?: unknown };
    const width = Number(v.Width);
    const height = Number(v.Height);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0 || width > 65535 || height > 65535) return undefined;
    return { width, height };
  } catch {
    return undefined;
  }
}

/** Splits concatenated JSON objects (SPDY's resize stream carries them back to back). */
export class JsonObjectSplitter {
  private buf = '';

  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    let depth = 0;
    let inString = false;
    let escaped = false;
    let start = -1;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{') {
        if (depth++ === 0) start = i;
      } else if (c === '}' && depth > 0 && --depth === 0) {
        out.push(this.buf.slice(start, i + 1));
        start = -1;
      }
    }
    this.buf = depth > 0 && start >= 0 ? this.buf.slice(start) : '';
    if (this.buf.length > 64 * 1024) this.buf = '';
    return out;
  }
}

/** What ends a session on the error channel (v4 and later: one JSON Status). */
export interface StreamStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes: Array<{ reason: string; message: string }> };
}

export function successStatus(): StreamStatus {
  return { metadata: {}, status: 'Success' };
}

/** A command's non-zero exit, in the form kubectl turns into its own exit code. */
export function exitCodeStatus(exitCode: number, command: string[] = []): StreamStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: command '${command.join(' ')}' exited with ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

export function failureStatus(message: string, code = 500, reason = 'InternalError'): StreamStatus {
  return { metadata: {}, status: 'Failure', message, reason, code };
}

/** The exit code a Status carries, as kubectl reads it (0 for Success, undefined for other failures). */
export function exitCodeOf(s: StreamStatus): number | undefined {
  if (s.status === 'Success') return 0;
  if (s.reason !== 'NonZeroExitCode') return undefined;
  const c = s.details?.causes?.find((x) => x.reason === 'ExitCode');
  return c ? Number(c.message) : undefined;
}
