// The transport for parts that run apart from the API server: HTTPS (or HTTP) with
// bearer-token or client-certificate authentication, JSON bodies, and watch answers read
// as newline-delimited JSON from the chunked response.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import yaml from 'js-yaml';
import type { ApiRequest, ApiResponse, ApiStream, WatchEvent } from '../api/request.js';
import { isWatchRequest, type Transport } from './transport.js';

export interface HttpTransportOptions {
  /** e.g. https://127.0.0.1:6443 (a path prefix is kept) */
  server: string;
  token?: string;
  caPem?: string | Buffer;
  clientCert?: string | Buffer;
  clientKey?: string | Buffer;
  insecureSkipVerify?: boolean;
  /** pooled connections for ordinary requests (default 32) */
  maxSockets?: number;
  /** abort ordinary (non-watch) requests after this long; watches are never cut */
  timeoutMs?: number;
}

export class HttpTransport implements Transport {
  private readonly base: URL;
  private readonly module: typeof http | typeof https;
  private agent!: http.Agent;
  /** Watches hold their connection for minutes; they must not starve the request pool. */
  private watchAgent!: http.Agent;

  constructor(private readonly opts: HttpTransportOptions) {
    this.base = new URL(opts.server);
    this.module = this.base.protocol === 'https:' ? https : http;
    this.makeAgents();
  }

  private makeAgents(): void {
    const opts = this.opts;
    const secure = this.base.protocol === 'https:';
    const common = secure
      ? { keepAlive: true, ca: opts.caPem, cert: opts.clientCert, key: opts.clientKey, rejectUnauthorized: !opts.insecureSkipVerify }
      : { keepAlive: true };
    const Agent = secure ? https.Agent : http.Agent;
    this.agent = new Agent({ ...common, maxSockets: opts.maxSockets ?? 32 });
    this.watchAgent = new Agent(common);
  }

  /**
   * Switches to another client certificate (a rotated one) without a restart: requests from
   * now on use it, and every connection of the old one is closed, as client-go's
   * certificate rotation does, so watches too are made again with the new certificate.
   */
  setClientCertificate(certPem: string | Buffer, keyPem: string | Buffer): void {
    const old = [this.agent, this.watchAgent];
    this.opts.clientCert = certPem;
    this.opts.clientKey = keyPem;
    this.makeAgents();
    for (const a of old) a.destroy();
  }

  request(req: ApiRequest): Promise<ApiResponse> {
    const watch = isWatchRequest(req);
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = v;
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    let payload: Buffer | undefined;
    if (req.body !== undefined) {
      payload = Buffer.isBuffer(req.body) ? req.body : Buffer.from(typeof req.body === 'string' ? req.body : JSON.stringify(req.body));
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = payload.length;
    }
    const qs = req.query.toString();
    const prefix = this.base.pathname.replace(/\/$/, '');

    return new Promise((resolve, reject) => {
      const outgoing = this.module.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port,
          method: req.method,
          path: prefix + req.path + (qs ? `?${qs}` : ''),
          headers,
          agent: watch ? this.watchAgent : this.agent,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const base: ApiResponse = { status, headers: flattenHeaders(res.headers) };
          const warnings = parseWarnings(res.rawHeaders);
          if (warnings.length) base.warnings = warnings;
          if (watch && status === 200) {
            resolve({ ...base, stream: lineStream(res, outgoing) });
            return;
          }
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            try {
              resolve({ ...base, body: decodeBody(Buffer.concat(chunks), res.headers['content-type']) });
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      outgoing.on('error', reject);
      if (!watch && this.opts.timeoutMs) {
        outgoing.setTimeout(this.opts.timeoutMs, () => outgoing.destroy(new Error(`request to ${req.path} timed out after ${this.opts.timeoutMs}ms`)));
      }
      outgoing.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }
}

function flattenHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** `Warning: 299 - "text"` headers, one per warning. */
function parseWarnings(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() !== 'warning') continue;
    const m = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(raw[i + 1]);
    out.push(m ? m[1].replace(/\\(.)/g, '$1') : raw[i + 1]);
  }
  return out;
}

function decodeBody(buf: Buffer, contentType: string | undefined): unknown {
  if (buf.length === 0) return undefined;
  const ct = contentType ?? '';
  if (ct.includes('json')) return JSON.parse(buf.toString('utf8'));
  if (ct.startsWith('text/') || ct.includes('yaml')) return buf.toString('utf8');
  return buf;
}

function lineStream(res: http.IncomingMessage, outgoing: http.ClientRequest): ApiStream {
  let ended = false;
  let onEnd = (): void => {};
  const finish = (): void => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  // Listen at once: a reset before start() must not become an unhandled 'error'.
  res.on('error', finish);
  res.on('close', finish);
  return {
    start(send, end) {
      onEnd = end;
      if (ended) return end();
      let rest = '';
      const emit = (line: string): void => {
        if (!line.trim()) return;
        try {
          send(JSON.parse(line) as WatchEvent);
        } catch {
          outgoing.destroy();
        }
      };
      res.setEncoding('utf8');
      res.on('data', (s: string) => {
        rest += s;
        let nl: number;
        while ((nl = rest.indexOf('\n')) >= 0) {
          emit(rest.slice(0, nl));
          rest = rest.slice(nl + 1);
        }
      });
      res.on('end', () => {
        emit(rest);
        finish();
      });
    },
    stop() {
      ended = true;
      outgoing.destroy();
    },
  };
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string; user?: string } }[];
  clusters?: { name: string; cluster: Record<string, any> }[];
  users?: { name: string; user: Record<string, any> }[];
}

/** Builds a transport from a kubeconfig file (its current context unless one is named). */
export function fromKubeconfig(file: string, contextName?: string, extra: Partial<HttpTransportOptions> = {}): HttpTransport {
  const cfg = (yaml.load(readFileSync(file, 'utf8')) ?? {}) as KubeconfigFile;
  const name = contextName ?? cfg['current-context'];
  const ctx = cfg.contexts?.find((c) => c.name === name)?.context;
  if (!ctx) throw new Error(`kubeconfig ${file}: context "${name ?? ''}" not found`);
  const cluster = cfg.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster?.server) throw new Error(`kubeconfig ${file}: cluster "${ctx.cluster}" not found or has no server`);
  const user = cfg.users?.find((u) => u.name === ctx.user)?.user ?? {};
  const dir = path.dirname(file);
  const material = (data: unknown, ref: unknown): Buffer | undefined => {
    if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
    if (typeof ref === 'string' && ref) return readFileSync(path.resolve(dir, ref));
    return undefined;
  };
  const token = typeof user.token === 'string' ? user.token : material(undefined, user.tokenFile)?.toString('utf8').trim();
  return new HttpTransport({
    server: cluster.server,
    caPem: material(cluster['certificate-authority-data'], cluster['certificate-authority']),
    insecureSkipVerify: cluster['insecure-skip-tls-verify'] === true,
    clientCert: material(user['client-certificate-data'], user['client-certificate']),
    clientKey: material(user['client-key-data'], user['client-key']),
    token,
    ...extra,
  });
}
