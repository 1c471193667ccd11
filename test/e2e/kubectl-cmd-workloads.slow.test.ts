// Kubernetes' own kubectl command-line suite (test/cmd in the Kubernetes repository: apps.sh's
// DaemonSet, Deployment and ReplicaSet runs, batch.sh's Job and CronJob run) as the yardstick:
// the facts those scripts check, asked of `petset up` (simulated nodes) with the real kubectl,
// in this test's own words and manifests. (crd.sh's run is in crd.test.ts.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { eventually, startCluster, type Cluster } from './harness.js';

const R1 = 'registry.k8s.io/nginx:test-cmd';
const R2 = 'registry.k8s.io/nginx:1.7.9';
const PAUSE = 'registry.k8s.io/pause:2.0';
const PERL = 'registry.k8s.io/perl';

const daemonSet = (containers: Array<{ name: string; image: string }>) => `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: bind}
spec:
  selector: {matchLabels: {service: bind}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 10%}}
  template:
    metadata: {labels: {service: bind}}
    spec:
      containers:
${containers.map((c) => `      - {name: ${c.name}, image: "${c.image}"}`).join('\n')}
`;

const deployment = (name: string, image: string, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, labels: {name: ${name}}}
spec:
  replicas: 3
  selector: {matchLabels: {name: ${name}}}
  template:
    metadata: {labels: {name: ${name}}}
    spec:
      containers:
      - {name: nginx, image: "${image}", ports: [{containerPort: 80}]}
${extra}`;

const FRONTEND = `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: frontend}
spec:
  replicas: 3
  selector: {matchLabels: {app: guestbook, tier: frontend}}
  template:
    metadata: {labels: {app: guestbook, tier: frontend}}
    spec:
      containers:
      - name: php-redis
        image: gcr.io/google_samples/gb-frontend:v3
        env: [{name: GET_HOSTS_FROM, value: dns}]
        ports: [{containerPort: 80}]
`;

describe("kubectl's test/cmd workload assertions against petset up", () => {
  let c: Cluster;
  let dir: string;
  // each part in a namespace of its own, as test/cmd's create_and_use_new_namespace
  const in_ = (ns: string) => {
    const k = (args: string[], input?: string) => c.kubectl(['-n', ns, ...args], { timeoutMs: 90_000, input });
    const out = async (args: string[], input?: string) => (await k(args, input)).stdout.trim();
    const fails = async (args: string[], input?: string) => {
      const r = await c.kubectl(['-n', ns, ...args], { timeoutMs: 90_000, input, allowFail: true });
      assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} should fail:\n${r.stdout}`);
      return r;
    };
    const tpl = (what: string[], template: string) => out(['get', ...what, '-o', `go-template=${template}`]);
    const names = (kind: string) => tpl([kind], '{{range.items}}{{.metadata.name}}:{{end}}');
    return { k, out, fails, tpl, names };
  };

  before(async () => {
    c = await startCluster({ extraArgs: ['--nodes', '2', '--horizontal-pod-autoscaler-sync-period', '3s'] });
    dir = path.join(c.dataDir, 'manifests');
    fs.mkdirSync(dir);
  });
  after(async () => {
    await c?.stop();
  });

  it('DaemonSets: generation follows set image/env/resources and rollout restart; revisions, undo and its errors (apps.sh)', async () => {
    await c.kubectl(['create', 'namespace', 'ds']);
    const { k, out, fails, tpl, names } = in_('ds');
    assert.equal(await names('daemonsets'), '');
    const rv1 = path.join(dir, 'rollingupdate-daemonset.yaml');
    fs.writeFileSync(rv1, daemonSet([{ name: 'kubernetes-pause', image: PAUSE }]));
    await k(['apply', '-f', rv1]);
    assert.equal(await tpl(['daemonsets', 'bind'], '{{.metadata.generation}}'), '1');
    await k(['apply', '-f', rv1]);
    assert.equal(await tpl(['daemonsets', 'bind'], '{{.metadata.generation}}'), '1', 'an unchanged apply keeps the generation');
    await k(['set', 'image', 'daemonsets/bind', '*=registry.k8s.io/pause:test-cmd']);
    assert.equal(await tpl(['daemonsets', 'bind'], '{{.metadata.generation}}'), '2');
    await k(['set', 'env', 'daemonsets/bind', 'foo=bar']);
    assert.equal(await tpl(['daemonsets', 'bind'], '{{.metadata.generation}}'), '3');
    await k(['set', 'resources', 'daemonsets/bind', '--limits=cpu=200m,memory=512Mi']);
    assert.equal(await tpl(['daemonsets', 'bind'], '{{.metadata.generation}}'), '4');
    assert.match(await out(['get', 'daemonsets', 'bind', '--show-managed-fields', '-o', 'jsonpath={.metadata.managedFields[*].manager}']), /kubectl-set/);
    await k(['rollout', 'restart', 'daemonset/bind']);
    assert.equal(await tpl(['daemonsets', 'bind'], '{{.metadata.generation}}'), '5');
    await k(['delete', '-f', rv1]);

    // history: --record's change-cause reaches the ControllerRevisions
    const image0 = '{{range.items}}{{(index .spec.template.spec.containers 0).image}}:{{end}}';
    const image1 = '{{range.items}}{{(index .spec.template.spec.containers 1).image}}:{{end}}';
    const containers = '{{range.items}}{{len .spec.template.spec.containers}}{{end}}';
    const causes = () => tpl(['controllerrevisions'], '{{range.items}}{{.metadata.annotations}}:{{end}}');
    await eventually(async () => (await names('daemonsets')) === '' && (await names('controllerrevisions')) === '', 30_000, 'the first DaemonSet and its revisions to be gone');
    await k(['apply', '-f', rv1, '--record']);
    await eventually(async () => /rollingupdate-daemonset\.yaml --record/.test(await causes()), 30_000, 'a revision annotated with the --record command');
    await k(['rollout', 'undo', 'daemonset', '--to-revision=1']);
    assert.equal(await tpl(['daemonset'], image0), `${PAUSE}:`, 'undo to the current revision changes nothing');
    assert.equal(await tpl(['daemonset'], containers), '1');
    const rv2 = path.join(dir, 'rollingupdate-daemonset-rv2.yaml');
    fs.writeFileSync(rv2, daemonSet([{ name: 'kubernetes-pause', image: 'registry.k8s.io/pause:latest' }, { name: 'app', image: 'registry.k8s.io/nginx:test-cmd' }]));
    await k(['apply', '-f', rv2, '--record']);
    assert.equal(await tpl(['daemonset'], image0), 'registry.k8s.io/pause:latest:');
    assert.equal(await tpl(['daemonset'], image1), 'registry.k8s.io/nginx:test-cmd:');
    await eventually(async () => /rollingupdate-daemonset-rv2\.yaml --record/.test(await causes()), 30_000, 'the second revision');
    await k(['rollout', 'undo', 'daemonset', '--dry-run=client']);
    await k(['rollout', 'undo', 'daemonset', '--dry-run=server']);
    assert.equal(await tpl(['daemonset'], containers), '2', 'a dry-run undo changes nothing');
    await k(['rollout', 'undo', 'daemonset', '--to-revision=1']);
    assert.equal(await tpl(['daemonset'], image0), `${PAUSE}:`);
    assert.equal(await tpl(['daemonset'], containers), '1');
    const missing = await fails(['rollout', 'undo', 'daemonset', '--to-revision=1000000']);
    assert.match(missing.stderr, /unable to find specified revision/);
    assert.equal(await tpl(['daemonset'], containers), '1');
    await k(['rollout', 'undo', 'daemonset']);
    assert.equal(await tpl(['daemonset'], image1), 'registry.k8s.io/nginx:test-cmd:');
    assert.equal(await tpl(['daemonset'], containers), '2');
    await k(['delete', '-f', rv1]);
  });

  it('Deployments: create deployment defaults, describe, cascading deletion, autoscale (apps.sh)', async () => {
    await c.kubectl(['create', 'namespace', 'deploy']);
    const { k, out, tpl, names } = in_('deploy');
    await k(['create', 'deployment', 'test-nginx-apps', `--image=${R1}`]);
    assert.equal(await tpl(['deploy', 'test-nginx-apps'], '{{(index .spec.template.spec.containers 0).name}}'), 'nginx', 'the container is named after the image');
    assert.equal(await out(['get', 'deployment/test-nginx-apps', '-o', 'jsonpath={.spec.revisionHistoryLimit}']), '10');
    assert.equal(await out(['get', 'deployment.apps', '-o', 'jsonpath={.items[0].apiVersion}']), 'apps/v1');
    await eventually(async () => (await names('rs')) !== '' && (await names('pods')) !== '', 30_000, 'the ReplicaSet and its pod');
    const rs = await out(['describe', 'rs']);
    for (const s of ['Name:', 'Pod Template:', 'Labels:', 'Selector:', 'Controlled By', 'Replicas:', 'Pods Status:', 'Volumes:']) assert.ok(rs.includes(s), `describe rs shows ${s}\n${rs}`);
    const pods = await out(['describe', 'pods']);
    for (const s of ['Name:', 'Image:', 'Node:', 'Labels:', 'Status:', 'Controlled By']) assert.ok(pods.includes(s), `describe pods shows ${s}\n${pods}`);
    await k(['delete', 'deployment', 'test-nginx-apps']);

    // with a command; dry runs create nothing
    await k(['create', 'deployment', 'nginx-with-command', '--dry-run=client', `--image=${R1}`, '--', '/bin/sleep', 'infinity']);
    await k(['create', 'deployment', 'nginx-with-command', '--dry-run=server', `--image=${R1}`, '--', '/bin/sleep', 'infinity']);
    assert.equal(await names('deployment'), '');
    await k(['create', 'deployment', 'nginx-with-command', `--image=${R1}`, '--', '/bin/sleep', 'infinity']);
    assert.equal(await tpl(['deploy', 'nginx-with-command'], '{{(index .spec.template.spec.containers 0).name}} {{(index .spec.template.spec.containers 0).command}}'), 'nginx [/bin/sleep infinity]');
    await k(['delete', 'deployment', 'nginx-with-command']);

    // a container running as a numeric user passes validation
    await k(['create', '-f', '-'], deployment('deployment-with-unixuserid', R1, '').replace('ports: [{containerPort: 80}]}', 'ports: [{containerPort: 80}], securityContext: {runAsUser: 1001}}'));
    assert.equal(await names('deployment'), 'deployment-with-unixuserid:');
    await k(['delete', 'deployment', 'deployment-with-unixuserid']);

    // deleting a Deployment deletes its ReplicaSet; --cascade=orphan keeps it
    await eventually(async () => (await names('rs')) === '', 30_000, 'earlier ReplicaSets to be collected');
    await k(['create', '-f', '-'], deployment('nginx-deployment', R1));
    await eventually(async () => (await tpl(['rs'], '{{range.items}}{{.spec.replicas}}{{end}}')) === '3', 30_000, 'the ReplicaSet of 3');
    await k(['delete', 'deployment', 'nginx-deployment', '--cascade']);
    await eventually(async () => (await names('rs')) === '', 30_000, 'the ReplicaSet to go with its Deployment');
    await k(['create', 'deployment', 'nginx-deployment', `--image=${R1}`]);
    await eventually(async () => (await tpl(['rs'], '{{range.items}}{{.spec.replicas}}{{end}}')) === '1', 30_000, 'the ReplicaSet of 1');
    await k(['delete', 'deployment', 'nginx-deployment', '--cascade=orphan']);
    await eventually(async () => (await names('deployment')) === '', 30_000, 'the Deployment to be gone');
    assert.equal(await tpl(['rs'], '{{range.items}}{{.spec.replicas}}{{end}}'), '1', 'the orphaned ReplicaSet stays');
    await k(['delete', 'rs', await tpl(['rs'], '{{range.items}}{{.metadata.name}}{{end}}')]);

    // autoscale: dry runs create nothing; without --cpu-percent the target is 80 %
    const hpaFields = '{{.spec.minReplicas}} {{.spec.maxReplicas}} {{(index .spec.metrics 0).resource.target.averageUtilization}}';
    await k(['create', '-f', '-'], deployment('nginx-deployment', R1));
    await k(['autoscale', 'deployment', 'nginx-deployment', '--dry-run=client', '--min=2', '--max=3']);
    await k(['autoscale', 'deployment', 'nginx-deployment', '--dry-run=server', '--min=2', '--max=3']);
    assert.equal(await names('hpa'), '');
    await k(['autoscale', 'deployment', 'nginx-deployment', '--min=2', '--max=3']);
    assert.equal(await tpl(['hpa', 'nginx-deployment'], hpaFields), '2 3 80');
    // the same object through autoscaling/v1, as kubectl autoscale wrote it
    const v1 = JSON.parse(await out(['get', '--raw', '/apis/autoscaling/v1/namespaces/deploy/horizontalpodautoscalers/nginx-deployment']));
    assert.deepEqual([v1.apiVersion, v1.spec.minReplicas, v1.spec.maxReplicas, v1.spec.targetCPUUtilizationPercentage], ['autoscaling/v1', 2, 3, 80]);
    await k(['delete', 'hpa', 'nginx-deployment']);
    await k(['delete', 'deployment.apps', 'nginx-deployment']);
  });

  it('kubectl apply of Deployments: a null label goes, a stale resourceVersion conflicts, --force recreates and restores on invalid input (apps.sh)', async () => {
    await c.kubectl(['create', 'namespace', 'apply']);
    const { k, out, fails, tpl, names } = in_('apply');
    const depl = (labels: string, templateLabels: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: my-depl, labels: ${labels}}
spec:
  selector: {matchLabels: {l1: l1}}
  template:
    metadata: {labels: ${templateLabels}}
    spec: {containers: [{name: nginx, image: "${R1}"}]}
`;
    await k(['apply', '-f', '-'], depl('{l1: l1}', '{l1: l1}'));
    assert.equal(await tpl(['deployments', 'my-depl'], '{{.spec.template.metadata.labels.l1}} {{.spec.selector.matchLabels.l1}} {{.metadata.labels.l1}}'), 'l1 l1 l1');
    // a null in the applied file removes the field
    await k(['apply', '-f', '-'], depl('null', '{l1: l1, l2: l2}'));
    assert.equal(await tpl(['deployments', 'my-depl'], '{{.spec.template.metadata.labels.l1}} {{.spec.selector.matchLabels.l1}} {{.metadata.labels.l1}}'), 'l1 l1 <no value>');
    await k(['delete', 'deployments,rs,pods', '--all', '--cascade=orphan', '--grace-period=0']);
    await eventually(async () => (await names('deployments')) + (await names('rs')) === '', 30_000, 'everything deleted');

    const nginx = (label: string, extra = '', replicas = 1) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx${extra}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {name: ${label}}}
  template:
    metadata: {labels: {name: ${label}}}
    spec: {containers: [{name: nginx, image: "${R1}"}]}
`;
    await k(['apply', '-f', '-'], nginx('nginx1'));
    assert.equal(await tpl(['deployment', 'nginx'], '{{.metadata.name}}'), 'nginx');
    // the file names a resourceVersion the object no longer has
    const stale = nginx('nginx2', ', resourceVersion: "99"');
    const conflict = await fails(['apply', '-f', '-'], stale);
    assert.match(conflict.stderr, /Error from server \(Conflict\)/);
    // --force deletes and creates it again (the selector changed too)
    await k(['apply', '-f', '-', '--overwrite=true', '--force=true', '--grace-period=10'], stale);
    assert.match(await out(['apply', 'view-last-applied', 'deploy/nginx', '-o', 'json']), /"name": "nginx2"/);
    // conflicting and invalid: after the retries kubectl deletes, the create is refused, and the old object comes back
    const invalid = await fails(['apply', '-f', '-', '--force'], nginx('nginx3', ', resourceVersion: "99"', -1));
    assert.match(invalid.stderr, /Invalid value/);
    assert.equal(await tpl(['deployment', 'nginx'], '{{.spec.template.metadata.labels.name}}'), 'nginx2');
    await k(['delete', 'deployments', '--all', '--grace-period=10']);
  });

  it('Deployments: rollout undo by revision, pause blocks undo and restart, revision history, set image and set env (apps.sh)', async () => {
    await c.kubectl(['create', 'namespace', 'rollback']);
    const { k, out, fails, tpl, names } = in_('rollback');
    const image0 = '{{range.items}}{{(index .spec.template.spec.containers 0).image}}:{{end}}';
    const image1 = '{{range.items}}{{(index .spec.template.spec.containers 1).image}}:{{end}}';
    const rev1 = path.join(dir, 'deployment-revision1.yaml');
    const rev2 = path.join(dir, 'deployment-revision2.yaml');
    fs.writeFileSync(rev1, deployment('nginx', R1));
    fs.writeFileSync(rev2, deployment('nginx', R2));
    await k(['create', '-f', rev1]);
    assert.equal(await names('deployment'), 'nginx:');
    assert.equal(await tpl(['deployment'], image0), `${R1}:`);
    await k(['rollout', 'undo', 'deployment', 'nginx', '--to-revision=1']);
    assert.equal(await tpl(['deployment'], image0), `${R1}:`, 'undo to the current revision changes nothing');
    await k(['apply', '-f', rev2]);
    assert.equal(await tpl(['deployment.apps'], image0), `${R2}:`);
    const revisions = () => out(['get', 'rs', '-o', 'jsonpath={.items[*].metadata.annotations.deployment\\.kubernetes\\.io/revision}']).then((s) => s.split(' ').sort().join(','));
    // the controller writes revisions to the ReplicaSets; undo reads them
    await eventually(async () => (await revisions()) === '1,2', 30_000, 'revisions 1 and 2');
    // a client dry run prints the template it would go back to
    assert.match(await out(['rollout', 'undo', 'deployment', 'nginx', '--dry-run=client']), /test-cmd/);
    await k(['rollout', 'undo', 'deployment', 'nginx', '--dry-run=server']);
    assert.equal(await tpl(['deployment.apps'], image0), `${R2}:`);
    await k(['rollout', 'undo', 'deployment', 'nginx', '--to-revision=1']);
    assert.equal(await tpl(['deployment'], image0), `${R1}:`);
    const missing = await fails(['rollout', 'undo', 'deployment', 'nginx', '--to-revision=1000000']);
    assert.match(missing.stderr, /unable to find specified revision 1000000 in history/);
    assert.equal(await tpl(['deployment'], image0), `${R1}:`);
    await eventually(async () => (await revisions()) === '2,3', 30_000, 'revisions 2 and 3');
    await k(['rollout', 'undo', 'deployment', 'nginx']);
    assert.equal(await tpl(['deployment'], image0), `${R2}:`);
    await k(['rollout', 'pause', 'deployment', 'nginx']);
    const paused = await fails(['rollout', 'undo', 'deployment', 'nginx']);
    assert.match(paused.stderr, /you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again/);
    const restart = await fails(['rollout', 'restart', 'deployment', 'nginx']);
    assert.match(restart.stderr, /can't restart paused deployment \(run rollout resume first\)/);
    await k(['rollout', 'resume', 'deployment', 'nginx']);
    await eventually(async () => (await revisions()) === '3,4', 30_000, 'revisions 3 and 4');
    await k(['rollout', 'undo', 'deployment', 'nginx']);
    // the new ReplicaSet keeps every revision number it has had
    const newRs = async () => /NewReplicaSet:\s+(\S+)/.exec(await out(['describe', 'deployment', 'nginx']))?.[1];
    await eventually(async () => {
      const name = await newRs();
      return !!name && (await out(['get', 'rs', name, '-o', 'yaml'])).includes('deployment.kubernetes.io/revision-history: 1,3');
    }, 30_000, 'revision-history 1,3 on the new ReplicaSet');
    const superseded = await fails(['rollout', 'status', 'deployment/nginx', '--revision=3']);
    assert.match(superseded.stderr, /desired revision \(3\) is different from the running revision \(5\)/);
    await k(['rollout', 'restart', 'deployment/nginx']);
    await eventually(async () => {
      const name = await newRs();
      return !!name && (await out(['get', 'rs', name, '-o', 'yaml'])).includes('deployment.kubernetes.io/revision: "6"');
    }, 30_000, 'revision 6 after rollout restart');
    assert.match(await out(['get', 'deployment', 'nginx', '--show-managed-fields', '-o', 'jsonpath={.metadata.managedFields[*].manager}']), /kubectl-rollout/);
    await k(['create', '-f', '-'], fs.readFileSync(rev1, 'utf8').replace('name: nginx,', 'name: nginx2,'));
    await k(['delete', 'deployment', 'nginx2']);
    await k(['delete', 'deployment', 'nginx']);

    // set image
    const multi = path.join(dir, 'deployment-multicontainer.yaml');
    fs.writeFileSync(multi, deployment('nginx-deployment', R1).replace('ports: [{containerPort: 80}]}', `ports: [{containerPort: 80}]}\n      - {name: perl, image: "${PERL}"}`));
    await k(['create', '-f', multi]);
    assert.equal(await tpl(['deployment'], image0), `${R1}:`);
    assert.equal(await tpl(['deployment'], image1), `${PERL}:`);
    await k(['set', 'image', 'deployment', 'nginx-deployment', `nginx=${R2}`, '--dry-run=client']);
    await k(['set', 'image', 'deployment', 'nginx-deployment', `nginx=${R2}`, '--dry-run=server']);
    assert.equal(await tpl(['deployment'], image0), `${R1}:`);
    await k(['set', 'image', 'deployment', 'nginx-deployment', `nginx=${R2}`]);
    assert.equal(await tpl(['deployment'], image0), `${R2}:`);
    assert.equal(await tpl(['deployment'], image1), `${PERL}:`);
    await fails(['set', 'image', 'deployment', 'nginx-deployment', 'redis=redis']);
    await k(['set', 'image', 'deployments', '--all', `nginx=${R1}`]);
    assert.equal(await tpl(['deployment'], image0), `${R1}:`);
    await k(['set', 'image', '-f', multi, `nginx=${R2}`]);
    assert.equal(await tpl(['deployment'], image0), `${R2}:`);
    assert.match(await out(['set', 'image', '-f', multi, 'nginx=registry.k8s.io/nginx:local', '--local', '-o', 'yaml']), /image: registry\.k8s\.io\/nginx:local/);
    assert.equal(await tpl(['deployment'], image0), `${R2}:`, '--local leaves the server alone');
    await k(['set', 'image', 'deployment', 'nginx-deployment', `*=${R1}`]);
    assert.equal(await tpl(['deployment'], image0 + image1), `${R1}:${R1}:`);
    await k(['set', 'image', 'deployment', 'nginx-deployment', `*=${R1}`]);
    assert.equal(await tpl(['deployment'], image0 + image1), `${R1}:${R1}:`);
    await k(['delete', 'deployment', 'nginx-deployment']);

    // set env from a ConfigMap and a Secret
    await k(['create', '-f', multi]);
    await k(['create', 'configmap', 'test-set-env-config', '--from-literal=key-1=value1', '--from-literal=key-2=value2']);
    await k(['create', 'secret', 'generic', 'test-set-env-secret', '--from-literal=username=admin', '--from-literal=password=secret']);
    await k(['set', 'env', 'deployment', 'nginx-deployment', '--keys=key-2', '--from=configmap/test-set-env-config']);
    const env = (t: string) => tpl(['deploy', 'nginx-deployment'], t);
    assert.equal(await env('{{ (index (index .spec.template.spec.containers 0).env 0).name}}'), 'KEY_2');
    assert.equal(await env('{{ len (index .spec.template.spec.containers 0).env }}'), '1');
    await k(['set', 'env', 'deployment', 'nginx-deployment', '--dry-run=client', '--from=configmap/test-set-env-config']);
    await k(['set', 'env', 'deployment', 'nginx-deployment', '--dry-run=server', '--from=configmap/test-set-env-config']);
    assert.equal(await env('{{ len (index .spec.template.spec.containers 0).env }}'), '1');
    await k(['set', 'env', 'deployment', 'nginx-deployment', '--from=configmap/test-set-env-config']);
    assert.equal(await env('{{ len (index .spec.template.spec.containers 0).env }}'), '2');
    await k(['set', 'env', 'deployment', 'nginx-deployment', 'env=prod']);
    await k(['set', 'env', 'deployment', 'nginx-deployment', 'superenv=superprod', '-c=nginx']);
    await k(['set', 'env', 'deployment', 'nginx-deployment', '--keys=username', '--from=secret/test-set-env-secret']);
    await k(['set', 'env', 'deployment', 'nginx-deployment', '--from=secret/test-set-env-secret']);
    await k(['set', 'env', 'deployment', 'nginx-deployment', 'env-']);
    const names0 = await env('{{range (index .spec.template.spec.containers 0).env}}{{.name}},{{end}}');
    assert.equal(names0, 'KEY_2,KEY_1,superenv,USERNAME,PASSWORD,');
    assert.equal(await env('{{range (index .spec.template.spec.containers 1).env}}{{.name}},{{end}}'), 'KEY_2,KEY_1,USERNAME,PASSWORD,');
    await k(['delete', 'deployment', 'nginx-deployment']);
    await k(['delete', 'configmap', 'test-set-env-config']);
    await k(['delete', 'secret', 'test-set-env-secret']);
  });

  it('ReplicaSets: cascading and orphaning deletion, describe, scale --current-replicas, expose, set commands, autoscale (apps.sh)', async () => {
    await c.kubectl(['create', 'namespace', 'rs']);
    const { k, out, fails, tpl, names } = in_('rs');
    const frontend = path.join(dir, 'frontend-replicaset.yaml');
    fs.writeFileSync(frontend, FRONTEND);
    const frontendPods = () => tpl(['pods', '-l', 'tier=frontend'], '{{range.items}}{{(index .spec.containers 0).name}}:{{end}}');
    await k(['create', '-f', frontend]);
    await k(['delete', 'rs', 'frontend']);
    await eventually(async () => (await frontendPods()) === '', 30_000, 'no frontend pods after the ReplicaSet went');

    await k(['create', '-f', frontend]);
    await eventually(async () => (await frontendPods()) === 'php-redis:php-redis:php-redis:', 30_000, 'three frontend pods');
    await k(['delete', 'rs', 'frontend', '--cascade=orphan']);
    await eventually(async () => (await names('rs')) === '', 30_000, 'the ReplicaSet to be gone');
    assert.equal(await frontendPods(), 'php-redis:php-redis:php-redis:', 'the orphans stay');
    await k(['delete', 'pods', '-l', 'tier=frontend']);
    assert.equal(await names('pods'), '');

    await k(['create', '-f', frontend]);
    assert.equal(await names('rs'), 'frontend:');
    const fields = ['Name:', 'Pod Template:', 'Labels:', 'Selector:', 'Replicas:', 'Pods Status:', 'Volumes:'];
    await eventually(async () => (await out(['describe', 'rs', 'frontend'])).includes('SuccessfulCreate'), 30_000, 'the SuccessfulCreate events');
    for (const what of [['rs', 'frontend'], ['rs']]) {
      const d = await out(['describe', ...what]);
      for (const s of fields) assert.ok(d.includes(s), `describe ${what.join(' ')} shows ${s}`);
      assert.match(d, /Events:/);
      assert.match(await out(['describe', ...what, '--show-events=true']), /Events:/);
      assert.doesNotMatch(await out(['describe', ...what, '--show-events=false']), /Events:/);
    }

    // scale with a precondition on the current count
    assert.equal(await tpl(['rs', 'frontend'], '{{.spec.replicas}}'), '3');
    await k(['scale', '--dry-run=client', '--current-replicas=3', '--replicas=2', 'replicasets', 'frontend']);
    await k(['scale', '--dry-run=server', '--current-replicas=3', '--replicas=2', 'replicasets', 'frontend']);
    assert.equal(await tpl(['rs', 'frontend'], '{{.spec.replicas}}'), '3');
    const wrong = await fails(['scale', '--current-replicas=5', '--replicas=2', 'replicasets', 'frontend']);
    assert.match(wrong.stderr, /Expected replicas to be 5, was 3/);
    await k(['scale', '--current-replicas=3', '--replicas=2', 'replicasets', 'frontend']);
    assert.equal(await tpl(['rs', 'frontend'], '{{.spec.replicas}}'), '2');

    // scale --all and --selector
    for (const [n, label] of [['1', 'hello'], ['2', 'hello'], ['3', 'goodbye']]) {
      await k(['create', '-f', '-'], deployment(`scale-${n}`, R1).replace(/replicas: 3/, 'replicas: 1').replace(`labels: {name: scale-${n}}}`, `labels: {name: scale-${n}, run: ${label}}}`));
    }
    const counts = () => tpl(['deploy', 'scale-1', 'scale-2', 'scale-3'], '{{range.items}}{{.spec.replicas}}{{end}}');
    assert.equal(await counts(), '111');
    await k(['scale', 'deploy', '--replicas=3', '--all', '--dry-run=client']);
    await k(['scale', 'deploy', '--replicas=3', '--all', '--dry-run=server']);
    assert.equal(await counts(), '111');
    await k(['scale', 'deploy', '--replicas=2', '-l', 'run=hello']);
    assert.equal(await counts(), '221');
    await k(['scale', 'deploy', '--replicas=3', '--all']);
    assert.equal(await counts(), '333');
    await k(['delete', 'rs', 'frontend']);
    await k(['delete', 'deploy', 'scale-1', 'scale-2', 'scale-3']);

    // expose: the service's port is unnamed
    await k(['create', '-f', frontend]);
    await k(['expose', 'rs', 'frontend', '--port=80']);
    assert.equal(await tpl(['service', 'frontend'], '{{(index .spec.ports 0).name}} {{(index .spec.ports 0).port}}'), '<no value> 80');
    await k(['delete', 'service', 'frontend']);

    // set commands move the generation; dry runs do not
    const generation = () => tpl(['rs', 'frontend'], '{{.metadata.generation}}');
    assert.equal(await generation(), '1');
    await k(['set', 'image', 'rs/frontend', '*=registry.k8s.io/pause:test-cmd']);
    assert.equal(await generation(), '2');
    await k(['set', 'env', 'rs/frontend', 'foo=bar']);
    assert.equal(await generation(), '3');
    await k(['set', 'resources', 'rs/frontend', '--dry-run=client', '--limits=cpu=200m,memory=512Mi']);
    await k(['set', 'resources', 'rs/frontend', '--dry-run=server', '--limits=cpu=200m,memory=512Mi']);
    assert.equal(await generation(), '3');
    await k(['set', 'resources', 'rs/frontend', '--limits=cpu=200m,memory=512Mi']);
    assert.equal(await generation(), '4');
    await k(['set', 'serviceaccount', 'rs/frontend', '--dry-run=client', 'serviceaccount1']);
    await k(['set', 'serviceaccount', 'rs/frontend', '--dry-run=server', 'serviceaccount1']);
    assert.equal(await generation(), '4');
    await k(['set', 'serviceaccount', 'rs/frontend', 'serviceaccount1']);
    assert.equal(await generation(), '5');
    assert.match(await out(['get', 'rs', 'frontend', '--show-managed-fields', '-o', 'jsonpath={.metadata.managedFields[*].manager}']), /kubectl-set/);
    await k(['delete', 'rs', 'frontend']);
    assert.equal(await names('rs'), '');

    // two at once
    await k(['create', '-f', frontend]);
    await k(['create', '-f', '-'], FRONTEND.replace(/frontend/g, 'redis-slave').replace('php-redis', 'slave'));
    assert.equal(await names('rs'), 'frontend:redis-slave:');
    await k(['delete', 'rs', 'frontend', 'redis-slave']);
    assert.equal(await names('rs'), '');

    // autoscale a ReplicaSet named by its file or its name
    const hpaFields = '{{.spec.minReplicas}} {{.spec.maxReplicas}} {{(index .spec.metrics 0).resource.target.averageUtilization}}';
    await k(['create', '-f', frontend]);
    await k(['autoscale', '-f', frontend, '--max=2', '--cpu-percent=70']);
    assert.equal(await tpl(['hpa', 'frontend'], hpaFields), '1 2 70');
    await k(['delete', 'hpa', 'frontend']);
    await k(['autoscale', 'rs', 'frontend', '--min=2', '--max=3']);
    assert.equal(await tpl(['hpa', 'frontend'], hpaFields), '2 3 80');
    assert.match(await out(['get', 'hpa', 'frontend', '-o', 'jsonpath={.metadata.managedFields[*].manager}']), /kubectl-autoscale/);
    await k(['delete', 'hpa', 'frontend']);
    await fails(['autoscale', 'rs', 'frontend']);
    await k(['delete', 'rs', 'frontend']);
  });

  it('CronJobs and Jobs: create cronjob, dry runs, create job --from=cronjob, get and describe (batch.sh)', async () => {
    const { k, out, tpl } = in_('default');
    assert.equal(await tpl(['namespaces'], '{{range.items}}{{ if eq .metadata.name "test-jobs" }}found{{end}}{{end}}:'), ':');
    await k(['create', 'namespace', 'test-jobs']);
    assert.equal(await tpl(['namespaces/test-jobs'], '{{.metadata.name}}'), 'test-jobs');
    const { k: kj, out: oj, tpl: tj } = in_('test-jobs');
    const found = (kind: string, name: string) => tj([kind], `{{range.items}}{{ if eq .metadata.name "${name}" }}found{{end}}{{end}}:`);
    const perl = ['--', 'perl', '-Mbignum=bpi', '-wle', 'print bpi(20)'];
    await kj(['create', 'cronjob', 'pi', '--dry-run=client', '--schedule=59 23 31 2 *', `--image=${PERL}`, ...perl]);
    await kj(['create', 'cronjob', 'pi', '--dry-run=server', '--schedule=59 23 31 2 *', `--image=${PERL}`, ...perl]);
    assert.equal(await found('cronjob', 'pi'), ':');
    await kj(['create', 'cronjob', 'pi', '--schedule=59 23 31 2 *', `--image=${PERL}`, ...perl]);
    assert.equal(await tj(['cronjob/pi'], '{{.metadata.name}}'), 'pi');
    assert.match(await oj(['get', 'cronjob/pi']), /^NAME\s+SCHEDULE\s+(TIMEZONE\s+)?SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE\npi\s+59 23 31 2 \*\s+(<none>\s+)?False\s+0\s+<none>\s+\d+s$/);
    const described = await oj(['describe', 'cronjob/pi']);
    assert.match(described, /^Schedule:\s+59 23 31 2 \*$/m);
    assert.match(described, /^Concurrency Policy:\s+Allow$/m);

    const dry = await oj(['create', 'job', 'test-job', '--from=cronjob/pi', '--dry-run=client', '-o', 'name']);
    assert.equal(dry, 'job.batch/test-job');
    assert.equal(await tpl(['jobs'], '{{range.items}}{{.metadata.name}}{{end}}'), '');
    await kj(['create', 'job', 'test-job', '--from=cronjob/pi', '--dry-run=client']);
    await kj(['create', 'job', 'test-job', '--from=cronjob/pi', '--dry-run=server']);
    assert.equal(await found('job', 'test-job'), ':');
    await kj(['create', 'job', 'test-job', '--from=cronjob/pi']);
    assert.equal(await tj(['job/test-job'], '{{.metadata.name}}'), 'test-job');
    // the Job says where it came from
    assert.match(await tj(['job/test-job'], '{{.metadata.annotations}}'), /cronjob\.kubernetes\.io\/instantiate:manual/);
    assert.equal(await tj(['job/test-job'], '{{(index .metadata.ownerReferences 0).kind}}/{{(index .metadata.ownerReferences 0).name}}'), 'CronJob/pi');
    assert.match(await oj(['get', 'job/test-job']), /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\ntest-job\s+\w+\s+0\/1\s+/);
    const job = await oj(['describe', 'job/test-job']);
    assert.match(job, /^Name:\s+test-job$/m);
    assert.match(job, /^Controlled By:\s+CronJob\/pi$/m);
    assert.match(job, /^Pod Template:/m);
    await kj(['delete', 'job', 'test-job']);
    await kj(['delete', 'cronjob', 'pi']);
    await k(['delete', 'namespace', 'test-jobs']);
    await eventually(async () => !(await out(['get', 'namespaces', '-o', 'name'])).includes('namespace/test-jobs'), 60_000, 'the namespace to be deleted');
  });

  it("CRDs: apply --prune over custom kinds, and a namespace's deletion removes its custom objects (crd.sh's last part)", async () => {
    const crd = (plural: string, kind: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ${plural}.company.com}
spec:
  group: company.com
  scope: Namespaced
  names: {plural: ${plural}, kind: ${kind}}
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
`;
    await c.kubectl(['apply', '-f', '-'], { input: crd('foos', 'Foo') + '---\n' + crd('bars', 'Bar') });
    await c.kubectl(['wait', '--for', 'condition=established', 'crd/foos.company.com', 'crd/bars.company.com']);
    await c.kubectl(['create', 'namespace', 'nonnative']);
    const { k, names } = in_('nonnative');
    const obj = (kind: string) => `kind: ${kind}\napiVersion: company.com/v1\nmetadata:\n  name: test\n  labels: {pruneGroup: "true"}\nsomeField: field1\n`;
    const allow = ['--prune-allowlist=company.com/v1/Foo', '--prune-allowlist=company.com/v1/Bar'];
    assert.equal(await names('foos') + await names('bars'), '');
    await k(['apply', '--prune', '-l', 'pruneGroup=true', '-f', '-', ...allow], obj('Foo'));
    assert.deepEqual([await names('foos'), await names('bars')], ['test:', '']);
    // applying only the Bar prunes the Foo of the same label
    await k(['apply', '--prune', '-l', 'pruneGroup=true', '-f', '-', ...allow], obj('Bar'));
    await eventually(async () => (await names('foos')) === '', 30_000, 'foo/test pruned');
    assert.equal(await names('bars'), 'test:');
    await k(['delete', '-f', '-'], obj('Bar'));
    assert.equal(await names('foos') + await names('bars'), '');

    await c.kubectl(['create', 'namespace', 'non-native-resources']);
    const other = in_('non-native-resources');
    await other.k(['create', '-f', '-'], obj('Bar'));
    assert.equal(await other.tpl(['bars'], '{{len .items}}'), '1');
    await c.kubectl(['delete', 'namespace', 'non-native-resources']);
    await eventually(async () => (await c.kubectl(['get', 'namespace', 'non-native-resources'], { allowFail: true })).code !== 0, 60_000, 'the namespace to go');
    assert.equal(await other.tpl(['bars'], '{{len .items}}'), '0', 'its custom objects went with it');
  });

  // beyond test/cmd, on the same cluster: issue 13's per-index limits of Indexed Jobs
  it('an Indexed Job with backoffLimitPerIndex fails index by index, without retrying them, then with FailedIndexes', async () => {
    await c.kubectl(['create', 'namespace', 'perindex']);
    const { k, out } = in_('perindex');
    await k(['apply', '-f', '-'], `apiVersion: batch/v1
kind: Job
metadata: {name: shards}
spec:
  completionMode: Indexed
  completions: 3
  parallelism: 3
  backoffLimitPerIndex: 0
  template:
    metadata:
      annotations: {petset.io/sim-crash-after: "100ms", petset.io/sim-exit-code: "3"}
    spec:
      restartPolicy: Never
      containers: [{name: shard, image: busybox}]
`);
    assert.equal(await out(['get', 'job', 'shards', '-o', 'jsonpath={.spec.backoffLimit}']), '2147483647', 'the global limit steps aside');
    await k(['wait', '--for=condition=Failed', 'job/shards', '--timeout=60s']);
    const job = JSON.parse(await out(['get', 'job', 'shards', '-o', 'json']));
    const failed = job.status.conditions.find((x: any) => x.type === 'Failed');
    assert.deepEqual([failed.reason, failed.message], ['FailedIndexes', 'Job has failed indexes']);
    assert.equal(job.status.failedIndexes, '0-2');
    assert.equal(job.status.failed, 3, 'one pod per index, none retried');
    const counts = await out(['get', 'pods', '-l', 'job-name=shards', '-o', "jsonpath={range .items[*]}{.metadata.annotations.batch\\.kubernetes\\.io/job-index-failure-count}{end}"]);
    assert.equal(counts, '000');
  });

  // beyond test/cmd: the HPA over the scale subresource of a StatefulSet and a ReplicaSet
  it('autoscales a StatefulSet and a ReplicaSet under (simulated) load through their scale subresource', async () => {
    await c.kubectl(['create', 'namespace', 'hpa']);
    const { k, out } = in_('hpa');
    const pods = `      annotations: {petset.io/sim-cpu: "150m"}
    spec:
      containers: [{name: app, image: nginx, resources: {requests: {cpu: 100m}}}]
`;
    await k(['apply', '-f', '-'], `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: pets}
spec:
  serviceName: pets
  replicas: 1
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: pets}}
  template:
    metadata:
      labels: {app: pets}
${pods}---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: herd}
spec:
  replicas: 1
  selector: {matchLabels: {app: herd}}
  template:
    metadata:
      labels: {app: herd}
${pods}`);
    await k(['autoscale', 'statefulset', 'pets', '--max=3', '--cpu-percent=50']);
    await k(['autoscale', 'rs', 'herd', '--max=3', '--cpu-percent=50']);
    await eventually(async () => (await out(['get', 'sts/pets', 'rs/herd', '-o', 'jsonpath={.items[*].spec.replicas}'])) === '3 3', 90_000, 'both scaled to the HPA max of 3');
    const rows = await out(['get', 'hpa', '--no-headers']);
    assert.match(rows, /^herd\s+ReplicaSet\/herd\s+cpu: \d+%\/50%\s+1\s+3\s/m, rows);
    assert.match(rows, /^pets\s+StatefulSet\/pets\s+cpu: \d+%\/50%\s+1\s+3\s/m, rows);
    await eventually(async () => (await out(['get', 'sts', 'pets', '-o', 'jsonpath={.status.readyReplicas}'])) === '3', 60_000, 'pets-0..2 ready');
  });
});
