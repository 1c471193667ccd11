// `petset token create|list|delete` (kubeadm token): bootstrap tokens, Secrets
// kube-system/bootstrap-token-<id> of type bootstrap.kubernetes.io/token, with which a new
// machine joins (`petset join`); `--print-join-command` prints that command.
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { Client } from '../client/client.js';
import { fromKubeconfig } from '../client/http-transport.js';
import { timestamp, type KubeObject } from '../api/object.js';
import { flag, flagDuration, parseArgs } from './args.js';
import { defaultDataDir } from './datadir.js';
import { caCertHash } from './pki.js';
import { kubeconfigParts } from './tls-bootstrap.js';

const SECRETS = { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true };
/** the group kubeadm's node tokens carry; bound to node bootstrapping in the default policy */
const DEFAULT_NODE_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export const TOKEN_USAGE = `Usage: petset token create [--ttl 24h] [--print-join-command] | list | delete ID

Bootstrap tokens, with which another machine joins the cluster ('petset join').
  --kubeconfig FILE     an admin's kubeconfig (default: $KUBECONFIG, else ~/.petset/kubeconfig)
  --ttl D               how long the token lives (default 24h; 0 never expires)
  --print-join-command  print the whole 'petset join' command instead of the token alone
`;

function randomString(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

/** The Secret of a new bootstrap token (kubeadm's fields). */
export function bootstrapTokenSecret(id: string, secret: string, ttlMs: number, now = Date.now()): KubeObject {
  const data: Record<string, string> = {
    'token-id': id,
    'token-secret': secret,
    'usage-bootstrap-authentication': 'true',
    'usage-bootstrap-signing': 'true',
    'auth-extra-groups': DEFAULT_NODE_TOKEN_GROUP,
    description: "Made by 'petset token create' for joining nodes.",
  };
  if (ttlMs > 0) data.expiration = timestamp(new Date(now + ttlMs));
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' }, type: 'bootstrap.kubernetes.io/token', stringData: data };
}

export async function tokenCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {}, ['help', 'print-join-command']);
  const [action, id] = args.positional;
  if (flag(args, 'help') || !action) {
    process.stdout.write(TOKEN_USAGE);
    return action ? 0 : 2;
  }
  const kubeconfig = flag(args, 'kubeconfig') ?? process.env.KUBECONFIG ?? path.join(defaultDataDir(), 'kubeconfig');
  const client = new Client(fromKubeconfig(kubeconfig), { userAgent: 'petset-token' });
  const secrets = client.resource(SECRETS, 'kube-system');
  switch (action) {
    case 'create': {
      const tokenId = randomString(6);
      const tokenSecret = randomString(16);
      await secrets.create(bootstrapTokenSecret(tokenId, tokenSecret, flagDuration(args, 'ttl', 24 * 3600_000)));
      const token = `${tokenId}.${tokenSecret}`;
      if (flag(args, 'print-join-command')) {
        const { server, caPem } = kubeconfigParts(kubeconfig);
        process.stdout.write(`petset join ${server} --token ${token} --discovery-token-ca-cert-hash ${caCertHash(caPem)}\n`);
      } else process.stdout.write(`${token}\n`);
      return 0;
    }
    case 'list': {
      const list = await secrets.list({ fieldSelector: 'type=bootstrap.kubernetes.io/token' });
      process.stdout.write('TOKEN ID  EXPIRES               GROUPS\n');
      for (const s of list.items) {
        const d = (k: string) => (s.data?.[k] ? Buffer.from(s.data[k], 'base64').toString('utf8') : '');
        process.stdout.write(`${d('token-id').padEnd(9)} ${(d('expiration') || '<forever>').padEnd(21)} ${d('auth-extra-groups')}\n`);
      }
      return 0;
    }
    case 'delete': {
      if (!id) {
        process.stderr.write('petset token delete: give the token id (or the whole token)\n');
        return 2;
      }
      await secrets.delete(`bootstrap-token-${id.split('.')[0]}`);
      process.stdout.write(`bootstrap token "${id.split('.')[0]}" deleted\n`);
      return 0;
    }
    default:
      process.stderr.write(`petset token: unknown action "${action}"\n\n${TOKEN_USAGE}`);
      return 2;
  }
}
