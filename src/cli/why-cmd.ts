// `petset why sts/NAME`: the StatefulSet controller's current blocking reason, in the terminal.
// It reads the objects through the API like any client and runs the controller's own decision.
import path from 'node:path';
import { Client, resources } from '../client/client.js';
import { fromKubeconfig } from '../client/http-transport.js';
import { whyStatefulSet } from '../controllers/statefulset/decide.js';
import type { Why } from '../controllers/statefulset/why.js';
import { flag, parseArgs } from './args.js';
import { defaultDataDir } from './datadir.js';

export const WHY_USAGE = `Usage: petset why sts/NAME [-n NAMESPACE] [--kubeconfig FILE] [--data-dir DIR]

Prints what the StatefulSet controller waits for right now, in plain words, computed by the
controller's own decision code from the objects the API serves (e.g. "web-2 is not created:
OrderedReady waits for web-1, which is not Ready (readiness probe failed: ...)").
  -n, --namespace NS  the StatefulSet's namespace (default: default)
  --kubeconfig FILE   the API server and credentials (default: $KUBECONFIG, else DIR/kubeconfig)
  --data-dir DIR      petset's data directory (default ~/.petset)
Exit status: 0 when nothing blocks the set, 3 when something does, 1 on errors.
`;

const STS_NAMES = ['sts', 'statefulset', 'statefulsets', 'statefulset.apps', 'statefulsets.apps'];

export async function whyCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { n: 'namespace' }, ['help']);
  const [target, extra] = args.positional;
  if (flag(args, 'help')) {
    process.stdout.write(WHY_USAGE);
    return 0;
  }
  const m = target ? /^([^/]+)\/([^/]+)$/.exec(target) : null;
  if (!m || extra !== undefined || !STS_NAMES.includes(m[1].toLowerCase())) {
    process.stderr.write(`petset why: expected one argument sts/NAME${target ? `, got "${[target, extra].filter(Boolean).join(' ')}"` : ''}\n\n${WHY_USAGE}`);
    return 2;
  }
  const name = m[2];
  const kubeconfig = flag(args, 'kubeconfig') ?? process.env.KUBECONFIG ?? path.join(flag(args, 'data-dir') ?? defaultDataDir(), 'kubeconfig');
  const transport = fromKubeconfig(kubeconfig);
  const ns = flag(args, 'namespace') ?? 'default';
  const client = new Client(transport, { userAgent: 'petset-why' });
  try {
    const why = await fetchWhy(client, ns, name);
    process.stdout.write(`statefulset/${name}: ${why.text}\n`);
    return why.blocked ? 3 : 0;
  } catch (e) {
    process.stderr.write(`Error from server: ${(e as Error).message}\n`);
    return 1;
  } finally {
    transport.close();
  }
}

/** Reads what the StatefulSet controller reads (and nodes and Unhealthy events) and asks its decision why. */
export async function fetchWhy(client: Client, ns: string, name: string): Promise<Why> {
  const set = await client.statefulSets(ns).get(name);
  const [pods, revisions, claims, nodes, events] = await Promise.all([
    client.pods(ns).listAll(),
    client.resource(resources.controllerRevisions, ns).listAll(),
    client.persistentVolumeClaims(ns).listAll(),
    client.nodes().listAll(),
    client.events(ns).listAll({ fieldSelector: 'reason=Unhealthy' }),
  ]);
  return whyStatefulSet({ set, pods: pods.items, revisions: revisions.items, claims: claims.items, nodes: nodes.items, events: events.items, now: Date.now() });
}
