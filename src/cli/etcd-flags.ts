// kube-apiserver's etcd flags (--etcd-servers, --etcd-cafile, --etcd-certfile, --etcd-keyfile),
// shared by every command that opens the store.
import fs from 'node:fs';
import { flag, type ParsedArgs } from './args.js';
import type { EtcdTlsOptions } from '../store/etcd.js';

export const ETCD_FLAGS_USAGE = `  --etcd-servers URL[,URL]
                   keep objects in this external etcd (v3.4+) instead of the data dir's SQLite
                   file, as kube-apiserver's flag; keys live under /registry/ (etcdctl reads them)
  --etcd-cafile FILE, --etcd-certfile FILE, --etcd-keyfile FILE
                   TLS to etcd: the CA of its serving certificate, and a client certificate and
                   key when etcd requires one (--client-cert-auth)
`;

export interface EtcdFlags {
  servers: string[];
  tls?: EtcdTlsOptions;
}

/** The etcd to use, or undefined for the embedded SQLite store; bad values fail before anything starts. */
export function etcdFlags(args: ParsedArgs): EtcdFlags | undefined {
  const list = flag(args, 'etcd-servers');
  const cafile = flag(args, 'etcd-cafile');
  const certfile = flag(args, 'etcd-certfile');
  const keyfile = flag(args, 'etcd-keyfile');
  if (list === undefined) {
    if (cafile || certfile || keyfile) throw new Error('--etcd-cafile, --etcd-certfile and --etcd-keyfile need --etcd-servers');
    return undefined;
  }
  const servers = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (!servers.length) throw new Error('--etcd-servers must list at least one URL, such as http://127.0.0.1:2379');
  for (const s of servers) {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      throw new Error(`--etcd-servers: "${s}" is not a URL; expected http://HOST:PORT or https://HOST:PORT`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.port || (url.pathname !== '/' && url.pathname !== '')) {
      throw new Error(`--etcd-servers: "${s}" must be http://HOST:PORT or https://HOST:PORT`);
    }
  }
  const secure = servers.some((s) => s.startsWith('https:'));
  if (secure && servers.some((s) => s.startsWith('http:'))) throw new Error('--etcd-servers: use http:// or https:// for every server, not both');
  if (!secure) {
    if (cafile || certfile || keyfile) throw new Error('--etcd-cafile, --etcd-certfile and --etcd-keyfile need https:// etcd servers');
    return { servers };
  }
  if (!!certfile !== !!keyfile) throw new Error('--etcd-certfile and --etcd-keyfile go together');
  const read = (name: string, file: string | undefined) => {
    if (!file) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new Error(`--${name}: cannot read ${file}: ${(e as Error).message}`);
    }
  };
  const ca = read('etcd-cafile', cafile);
  if (!ca) throw new Error('--etcd-cafile is needed for https:// etcd servers (the CA that signed their certificates)');
  return { servers, tls: { ca, cert: read('etcd-certfile', certfile), key: read('etcd-keyfile', keyfile) } };
}
