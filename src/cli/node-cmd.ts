// `petset node crash|restart|partition|heal NAME`: failure drills on a running `petset up`;
// `petset node pods NAME`: what the node's runtime runs, whatever the API says.
// `petset node kubeconfig NAME`: a node's own credential, for `petset agent` on another machine.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { renderKubeconfig } from './kubeconfig.js';
import { createClientCert } from './pki.js';
import { flag, parseArgs } from './args.js';
import { defaultDataDir } from './datadir.js';
import { controlSocketPath } from './nodes.js';

export const NODE_USAGE = `Usage: petset node crash|restart|partition|heal|pods|kubeconfig NAME [--data-dir DIR]

Failure drills on the nodes of a running 'petset up --nodes N':
  crash      the node's agent and all its pods die at once
  restart    the node's agent alone restarts: its pods keep running (same processes,
             restart counts and logs) and the new agent re-adopts them
  partition  the pods keep running, but the node can no longer reach the API
  heal       bring a crashed node back, or reconnect a partitioned one
  pods       list the pods the node's runtime holds right now (also while partitioned)
  kubeconfig print a kubeconfig with the node's own client certificate (user
             system:node:NAME in group system:nodes), for 'petset agent --kubeconfig':
             the Node authorizer lets it reach only its own Node, Lease and pods
`;

export async function nodeCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {}, ['help']);
  const [action, name] = args.positional;
  if (flag(args, 'help') || !action || !name) {
    process.stdout.write(NODE_USAGE);
    return action && name ? 0 : 2;
  }
  const dataDir = flag(args, 'data-dir') ?? defaultDataDir();
  if (action === 'kubeconfig') {
    process.stdout.write(nodeKubeconfig(dataDir, name));
    return 0;
  }
  const socketPath = controlSocketPath(dataDir);
  const out = await new Promise<{ code: number; text: string }>((resolve, reject) => {
    const req = http.request({ socketPath, method: action === 'pods' ? 'GET' : 'POST', path: `/nodes/${encodeURIComponent(name)}/${action}` }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ code: res.statusCode ?? 500, text }));
    });
    req.on('error', (e) =>
      reject(new Error(`cannot reach petset through ${socketPath} (${(e as Error).message}); is 'petset up --data-dir ${dataDir}' running?`)),
    );
    req.end();
  });
  (out.code === 200 ? process.stdout : process.stderr).write(out.text);
  return out.code === 200 ? 0 : 1;
}

/** A kubeconfig for node NAME: a client certificate from the data dir's CA, the server of its kubeconfig. */
export function nodeKubeconfig(dataDir: string, name: string): string {
  const pki = path.join(dataDir, 'pki');
  const read = (f: string) => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch {
      throw new Error(`no petset credentials in ${dataDir} (run 'petset up --data-dir ${dataDir}' first)`);
    }
  };
  const ca = { certPem: read(path.join(pki, 'ca.crt')), keyPem: read(path.join(pki, 'ca.key')) };
  const server = /server: (\S+)/.exec(read(path.join(dataDir, 'kubeconfig')))?.[1] ?? 'https://127.0.0.1:6443';
  const cert = createClientCert(ca, { commonName: `system:node:${name}`, organizations: ['system:nodes'] });
  return renderKubeconfig({ server, caPem: ca.certPem, clientCertPem: cert.certPem, clientKeyPem: cert.keyPem, user: `system:node:${name}` });
}
