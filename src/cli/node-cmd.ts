// `petset node crash|partition|heal NAME`: failure drills on a running `petset up`;
// `petset node pods NAME`: what the node's runtime runs, whatever the API says.
import http from 'node:http';
import { flag, parseArgs } from './args.js';
import { defaultDataDir } from './datadir.js';
import { controlSocketPath } from './nodes.js';

export const NODE_USAGE = `Usage: petset node crash|partition|heal|pods NAME [--data-dir DIR]

Failure drills on the nodes of a running 'petset up --nodes N':
  crash      the node's agent and all its pods die at once
  partition  the pods keep running, but the node can no longer reach the API
  heal       bring a crashed node back, or reconnect a partitioned one
  pods       list the pods the node's runtime holds right now (also while partitioned)
`;

export async function nodeCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {}, ['help']);
  const [action, name] = args.positional;
  if (flag(args, 'help') || !action || !name) {
    process.stdout.write(NODE_USAGE);
    return action && name ? 0 : 2;
  }
  const dataDir = flag(args, 'data-dir') ?? defaultDataDir();
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
