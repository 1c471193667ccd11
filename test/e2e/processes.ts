// petset's components as child processes of a test (apiserver, controller-manager, scheduler,
// agent): started with the real bin, their output kept, ended by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { petsetBin } from './harness.js';

export interface Proc {
  child: ChildProcess;
  output(): string;
}

export class Processes {
  private readonly procs: Proc[] = [];

  run(args: string[]): Proc {
    const child = spawn(process.execPath, [petsetBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const p = { child, output: () => out };
    this.procs.push(p);
    return p;
  }

  /** SIGKILL by default: a crash */
  async kill(p: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    const exited = new Promise((r) => p.child.once('exit', r));
    p.child.kill(signal);
    await exited;
  }

  /** ends every process still running, newest first */
  async stopAll(): Promise<void> {
    for (const p of this.procs.splice(0).reverse()) await this.kill(p, 'SIGTERM');
  }
}

/** The kubeconfig path a `petset apiserver` printed, once it is up. */
export function kubeconfigOf(p: Proc): string | undefined {
  return /export KUBECONFIG=(\S+)/.exec(p.output())?.[1];
}

/**
 * A headless Service and an ordered StatefulSet `web` of nginx (the simulated runtime runs it),
 * each pod with a claim of the default StorageClass.
 */
export function webSet(replicas: number): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector:
    app: web
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: ${replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
`;
}
