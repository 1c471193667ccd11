// CustomResourceDefinitions through `petset up` and the real kubectl: the assertions of
// Kubernetes' test/cmd/crd.sh (non-native resources: names, printers, patches, labels, describe,
// watch, apply of nested fields and lists), a real public CRD (cert-manager's Certificate) with
// columns, explain and field-path errors, structural schemas (defaults, pruning, strict field
// validation), status and scale subresources, several versions, unknown kinds, server-side apply,
// deletion of a CRD or a namespace removing custom objects, and CRDs served again after a restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { eventually, repoRoot, startCluster, type Cluster } from './harness.js';
import { findHelm } from '../support/helm.js';
import { execFile } from 'node:child_process';

const FOO_CRDS = ['foos', 'bars'].map(
  (plural) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ${plural}.company.com}
spec:
  group: company.com
  scope: Namespaced
  names: {plural: ${plural}, kind: ${plural === 'foos' ? 'Foo' : 'Bar'}}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`,
);

const RESOURCE_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: resources.mygroup.example.com}
spec:
  group: mygroup.example.com
  scope: Namespaced
  names: {plural: resources, singular: resource, kind: Kind, listKind: KindList}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`;

const CRONTAB_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: crontabs.stable.example.com}
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [cronSpec]
            x-kubernetes-validations:
            - {rule: "!has(self.image) || self.image.contains(':')", message: image must carry a tag}
            properties:
              cronSpec: {type: string, pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$', description: The schedule in cron format.}
              image: {type: string}
              replicas: {type: integer, minimum: 1, maximum: 10, default: 1}
          status:
            type: object
            properties:
              replicas: {type: integer}
              labelSelector: {type: string}
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas, labelSelectorPath: .status.labelSelector}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Image, type: string, jsonPath: .spec.image, priority: 1}
`;

const WIDGET_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {plural: widgets, kind: Widget}
  versions:
  - name: v1beta1
    served: true
    storage: false
    deprecated: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`;

describe('CustomResourceDefinitions against petset up', () => {
  let c: Cluster;
  const kubectl = (args: string[], input?: string) => c.kubectl(args, { input, timeoutMs: 60_000 });
  const fails = (args: string[], input?: string) => c.kubectl(args, { input, allowFail: true, timeoutMs: 60_000 });
  const out = async (args: string[], input?: string) => (await kubectl(args, input)).stdout.trim();

  before(async () => {
    c = await startCluster();
    await kubectl(['create', 'namespace', 'crd']);
  });
  after(async () => {
    await c?.stop();
  });

  it('serves non-native resources as test/cmd/crd.sh expects', async () => {
    await kubectl(['create', '-f', '-'], [...FOO_CRDS, RESOURCE_CRD].join('---\n'));
    await kubectl(['wait', '--for', 'condition=established', 'crd/foos.company.com', 'crd/bars.company.com', 'crd/resources.mygroup.example.com']);
    assert.equal(
      await out(['get', 'customresourcedefinitions', '-o', 'go-template={{range.items}}{{.metadata.name}}:{{end}}']),
      'bars.company.com:foos.company.com:resources.mygroup.example.com:',
    );
    // kube::util::non_native_resources
    await kubectl(['get', '--raw', '/apis/company.com/v1']);
    await kubectl(['get', '--raw', '/apis/company.com/v1/foos']);
    await kubectl(['get', '--raw', '/apis/company.com/v1/bars']);
    const ns = ['-n', 'crd'];
    for (const r of ['foos', 'bars', 'resources']) assert.equal(await out([...ns, 'get', r, '-o', 'go-template={{range.items}}{{.metadata.name}}:{{end}}']), '');

    // a kind whose name differs from its resource: -o name is kind.group/name, and kind.group resolves
    await kubectl([...ns, 'create', '-f', '-'], 'kind: Kind\napiVersion: mygroup.example.com/v1alpha1\nmetadata: {name: myobj}\n');
    for (const ref of ['resource/myobj', 'resources/myobj', 'kind.mygroup.example.com/myobj']) {
      assert.equal(await out([...ns, 'get', ref, '-o', 'name']), 'kind.mygroup.example.com/myobj');
    }
    await kubectl([...ns, 'delete', 'resources', 'myobj', '--cascade=background']);
    assert.equal(await out([...ns, 'get', 'resources', '-o', 'name']), '');

    const foo = 'kind: Foo\napiVersion: company.com/v1\nmetadata:\n  name: test\n  labels: {pruneGroup: "true"}\nsomeField: field1\nnestedField: {someSubfield: subfield1, otherSubfield: subfield2}\n';
    await kubectl([...ns, 'create', '-f', '-'], foo);
    for (const r of ['foos', 'foo', 'foos.company.com', 'foos.v1.company.com']) {
      assert.equal(await out([...ns, 'get', r, '-o', 'go-template={{range.items}}{{.metadata.name}}:{{end}}']), 'test:');
    }
    // every printer, on lists and items
    assert.match(await out([...ns, 'get', 'foos']), /^NAME\s+AGE\ntest\s+\d+s$/);
    assert.match(await out([...ns, 'get', 'foos/test', '-o', 'wide']), /^NAME\s+AGE\ntest\s+\d+s$/);
    assert.equal(await out([...ns, 'get', 'foos/test', '-o', 'name']), 'foo.company.com/test');
    assert.equal(JSON.parse(await out([...ns, 'get', 'foos', '-o', 'json'])).items[0].someField, 'field1');
    assert.match(await out([...ns, 'get', 'foos/test', '-o', 'yaml']), /someField: field1/);
    assert.equal(await out([...ns, 'get', 'foos', '-o', 'jsonpath={.items[*].someField}', '--allow-missing-template-keys=false']), 'field1');
    assert.equal(await out([...ns, 'get', 'foos/test', '-o', 'go-template={{.someField}}', '--allow-missing-template-keys=false']), 'field1');

    // patching: merge patches work, a strategic one is refused (kubectl says to use --type merge)
    await kubectl([...ns, 'patch', 'foos/test', '-p', '{"patched":"value1"}', '--type=merge']);
    assert.equal(await out([...ns, 'get', 'foos/test', '-o', 'go-template={{.patched}}']), 'value1');
    await kubectl([...ns, 'patch', 'foos/test', '-p', '{"patched":null}', '--type=merge']);
    assert.equal(await out([...ns, 'get', 'foos/test', '-o', 'go-template={{.patched}}']), '<no value>');
    const file = path.join(c.dataDir, 'crd-foos-test.json');
    fs.writeFileSync(file, await out([...ns, 'get', 'foos/test', '-o', 'json']));
    const local = await fails([...ns, 'patch', '--local', '-f', file, '-p', '{"patched":"value3"}']);
    assert.notEqual(local.code, 0);
    assert.match(local.stderr, /try --type merge/);
    const remote = await fails([...ns, 'patch', 'foos/test', '-p', '{"patched":"value3"}']);
    assert.match(remote.stderr, /the body of the request was in an unknown format - accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml/);
    await kubectl([...ns, 'patch', '-f', file, '-p', '{"patched":"value3"}', '--type=merge', '-o', 'json']);
    assert.equal(await out([...ns, 'get', 'foos/test', '-o', 'go-template={{.patched}}']), 'value3');

    await kubectl([...ns, 'label', 'foos', '--all', 'listlabel=true']);
    await kubectl([...ns, 'label', 'foo/test', 'itemlabel=true']);
    await kubectl([...ns, 'annotate', 'foos', '--all', 'listannotation=true']);
    await kubectl([...ns, 'annotate', 'foo/test', 'itemannotation=true']);
    const described = await out([...ns, 'describe', 'foos']);
    assert.match(described, /listlabel=true/);
    assert.match(described, /itemlabel=true/);
    await kubectl([...ns, 'delete', 'foos', 'test', '--cascade=background']);
    assert.equal(await out([...ns, 'get', 'foos', '-o', 'name']), '');

    // watching a custom resource
    await kubectl([...ns, 'create', '-f', '-'], 'kind: Bar\napiVersion: company.com/v1\nmetadata: {name: test}\nsomeField: field1\n');
    const watcher = spawn('kubectl', ['--kubeconfig', c.kubeconfig, ...ns, 'get', 'bars', '--request-timeout=1m', '--watch-only', '-o', 'name']);
    let watched = '';
    watcher.stdout.on('data', (d) => (watched += d));
    try {
      let tries = 0;
      await eventually(async () => {
        await kubectl([...ns, 'patch', 'bars/test', '-p', `{"patched":"${++tries}"}`, '--type=merge']);
        return watched.includes('bar.company.com/test');
      }, 30_000, 'a watch event of bars/test');
    } finally {
      watcher.kill();
    }
    await kubectl([...ns, 'delete', 'bars', 'test', '--cascade=orphan']);

    // apply: three-way merges of nested fields through merge patches
    await kubectl([...ns, 'apply', '-f', '-'], foo);
    await kubectl([...ns, 'apply', '-f', '-'], foo);
    assert.equal(await out([...ns, 'get', 'foos/test', '-o', 'go-template={{.someField}}']), 'field1');
    await kubectl([...ns, 'apply', '-f', '-'], foo.replace('someSubfield: subfield1', 'someSubfield: modifiedSubfield'));
    assert.equal(await out([...ns, 'get', 'foos/test', '-o', 'go-template={{.nestedField.someSubfield}}:{{.nestedField.otherSubfield}}']), 'modifiedSubfield:subfield2');
    await kubectl([...ns, 'apply', '-f', '-'], foo.replace(', otherSubfield: subfield2', ''));
    assert.equal(await out([...ns, 'get', 'foos/test', '-o', 'go-template={{.nestedField.otherSubfield}}']), '<no value>');
    await kubectl([...ns, 'apply', '-f', '-'], foo.replace('otherSubfield: subfield2', 'newSubfield: subfield3'));
    assert.equal(await out([...ns, 'get', 'foos/test', '-o', 'go-template={{.nestedField.newSubfield}}']), 'subfield3');
    await kubectl([...ns, 'delete', '-f', '-'], foo);

    // a List of custom objects of two kinds, applied twice, then changed
    const list = (v: string) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { kind: 'Foo', apiVersion: 'company.com/v1', metadata: { name: 'test-list' }, someField: v },
          { kind: 'Bar', apiVersion: 'company.com/v1', metadata: { name: 'test-list' }, someField: v },
        ],
      });
    await kubectl([...ns, 'apply', '-f', '-'], list('field1'));
    await kubectl([...ns, 'apply', '-f', '-'], list('field1'));
    for (const r of ['foos/test-list', 'bars/test-list']) assert.equal(await out([...ns, 'get', r, '-o', 'go-template={{.someField}}']), 'field1');
    await kubectl([...ns, 'apply', '-f', '-'], list('modifiedField'));
    for (const r of ['foos/test-list', 'bars/test-list']) assert.equal(await out([...ns, 'get', r, '-o', 'go-template={{.someField}}']), 'modifiedField');

    await kubectl(['delete', 'customresourcedefinitions/foos.company.com', 'customresourcedefinitions/bars.company.com', 'customresourcedefinitions/resources.mygroup.example.com']);
    // (kubectl's discovery cache may still name foos: ask the server itself)
    const gone = await fails(['get', '--raw', '/apis/company.com/v1/namespaces/crd/foos']);
    assert.match(gone.stderr, /Error from server \(NotFound\): the server could not find the requested resource/);
  });

  it("applies cert-manager's Certificate CRD, then Certificates: columns, categories, explain, field-path errors, status", async () => {
    const ns = ['-n', 'crd'];
    await kubectl(['apply', '-f', path.join(repoRoot, 'test/fixtures/crds/cert-manager.io_certificates.yaml')]);
    await kubectl(['wait', '--for', 'condition=established', 'crd/certificates.cert-manager.io']);
    const crd = JSON.parse(await out(['get', 'crd', 'certificates.cert-manager.io', '-o', 'json']));
    assert.deepEqual(
      crd.status.conditions.map((x: any) => `${x.type}=${x.status} ${x.reason}`),
      ['NamesAccepted=True NoConflicts', 'Established=True InitialNamesAccepted'],
    );
    assert.deepEqual(crd.status.storedVersions, ['v1']);
    assert.equal(crd.status.acceptedNames.listKind, 'CertificateList');

    const cert = `apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web}
spec:
  secretName: web-tls
  dnsNames: [web.example.com]
  issuerRef: {name: ca-issuer, kind: Issuer}
  privateKey: {algorithm: ECDSA, size: 256}
`;
    assert.equal(await out([...ns, 'apply', '-f', '-'], cert), 'certificate.cert-manager.io/web created');
    assert.match(await out([...ns, 'get', 'certs']), /^NAME\s+READY\s+SECRET\s+AGE\nweb\s+web-tls\s+\d+s$/);
    assert.match(await out([...ns, 'get', 'cert', 'web', '-o', 'wide']), /^NAME\s+READY\s+SECRET\s+ISSUER\s+STATUS\s+EXPIRATION\s+AGE\nweb\s+web-tls\s+ca-issuer\s+\d+s$/);
    await kubectl([
      ...ns,
      'patch',
      'certificate',
      'web',
      '--subresource',
      'status',
      '--type',
      'merge',
      '-p',
      '{"status":{"conditions":[{"type":"Ready","status":"True","message":"Certificate is up to date and has not expired","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}',
    ]);
    assert.match(await out([...ns, 'get', 'certificates.cert-manager.io']), /\nweb\s+True\s+web-tls\s+\d+s$/);
    // the CRD's category lists its objects
    assert.match(await out([...ns, 'get', 'cert-manager']), /\nweb\s+True\s+web-tls/);
    // spec changes through the main resource do not touch status, and bump the generation
    await kubectl([...ns, 'patch', 'cert', 'web', '--type', 'merge', '-p', '{"spec":{"secretName":"web-tls-2"},"status":{"conditions":[]}}']);
    const patched = JSON.parse(await out([...ns, 'get', 'cert', 'web', '-o', 'json']));
    assert.equal(patched.metadata.generation, 2);
    assert.equal(patched.status.conditions[0].type, 'Ready');

    const explained = await out(['explain', 'certificate.spec.privateKey.algorithm']);
    assert.match(explained, /KIND:\s+Certificate/);
    assert.match(explained, /ENUM:\s+RSA\s+ECDSA\s+Ed25519/);

    const bad = await fails([...ns, 'apply', '-f', '-'], 'apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: bad}\nspec:\n  secretName: 5\n  privateKey: {algorithm: NOPE}\n');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /The Certificate "bad" is invalid: /);
    assert.match(bad.stderr, /spec\.issuerRef: Required value/);
    assert.match(bad.stderr, /spec\.privateKey\.algorithm: Unsupported value: "NOPE": supported values: "RSA", "ECDSA", "Ed25519"/);
    assert.match(bad.stderr, /spec\.secretName: Invalid value: "integer": spec\.secretName in body must be of type string: "integer"/);
  });

  it("applies OpenKruise's Advanced StatefulSet CRD (two versions, scale subresource) and serves its objects beside apps/v1 StatefulSets", async () => {
    const ns = ['-n', 'crd'];
    await kubectl(['apply', '-f', path.join(repoRoot, 'test/fixtures/crds/apps.kruise.io_statefulsets.yaml')]);
    await kubectl(['wait', '--for', 'condition=established', 'crd/statefulsets.apps.kruise.io']);
    const asts = `apiVersion: apps.kruise.io/v1beta1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 2
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: nginx:1.27}]
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {podUpdatePolicy: InPlaceIfPossible, maxUnavailable: 1}
`;
    assert.equal(await out([...ns, 'apply', '-f', '-'], asts), 'statefulset.apps.kruise.io/web created');
    assert.match(await out([...ns, 'get', 'statefulsets.apps.kruise.io']), /^NAME\s+DESIRED\s+CURRENT\s+UPDATED\s+READY\s+AGE\nweb\s+2\s+\d+s$/);
    assert.match(await out([...ns, 'get', 'asts', '-o', 'wide']), /CONTAINERS\s+IMAGES\nweb\s+2\s+\d+s\s+nginx\s+nginx:1\.27$/);
    // the same object through the other served version
    assert.equal(await out([...ns, 'get', 'statefulsets.v1alpha1.apps.kruise.io', 'web', '-o', 'jsonpath={.apiVersion} {.spec.replicas}']), 'apps.kruise.io/v1alpha1 2');
    await kubectl([...ns, 'scale', 'statefulsets.apps.kruise.io', 'web', '--replicas', '3']);
    assert.equal(await out([...ns, 'get', 'asts', 'web', '-o', 'jsonpath={.spec.replicas}']), '3');
    assert.match(await out(['explain', 'statefulsets.spec.updateStrategy.rollingUpdate.podUpdatePolicy', '--api-version', 'apps.kruise.io/v1beta1']), /FIELD: podUpdatePolicy <string>/);
    // built-in StatefulSets are still what `statefulsets` means without a group
    assert.match(await out([...ns, 'get', 'statefulsets']), /No resources found|^$/);
    const bad = await fails([...ns, 'apply', '-f', '-'], asts.replace('web}', 'bad}').replace('replicas: 2', 'replicas: two'));
    assert.match(bad.stderr, /spec\.replicas: Invalid value: "string": spec\.replicas in body must be of type integer: "string"/);
  });

  it("applies Gateway API's GatewayClass CRD (a protected group): status defaults, printer columns, its CEL immutability rule", async () => {
    await kubectl(['apply', '-f', path.join(repoRoot, 'test/fixtures/crds/gateway.networking.k8s.io_gatewayclasses.yaml')]);
    await kubectl(['wait', '--for', 'condition=established', 'crd/gatewayclasses.gateway.networking.k8s.io']);
    await kubectl(['apply', '-f', '-'], 'apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: petset}\nspec:\n  controllerName: example.net/gateway-controller\n');
    // the schema's status default shows on a new object (status is a subresource: the create's is dropped first)
    assert.match(await out(['get', 'gatewayclass']), /^NAME\s+CONTROLLER\s+ACCEPTED\s+AGE\npetset\s+example\.net\/gateway-controller\s+Unknown\s+\d+s$/);
    const changed = await fails(['patch', 'gatewayclass', 'petset', '--type', 'merge', '-p', '{"spec":{"controllerName":"example.net/other"}}']);
    assert.match(changed.stderr, /spec\.controllerName: Invalid value: "string": field is immutable/);
    await kubectl(['patch', 'gatewayclass', 'petset', '--type', 'merge', '-p', '{"spec":{"description":"for the tests"}}']);
    assert.match(await out(['get', 'gatewayclass', '-o', 'wide']), /DESCRIPTION\npetset\s+example\.net\/gateway-controller\s+Unknown\s+\d+s\s+for the tests$/);
    const pattern = await fails(['apply', '-f', '-'], 'apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: bad}\nspec:\n  controllerName: no-slash\n');
    assert.match(pattern.stderr, /spec\.controllerName: Invalid value: "no-slash": spec\.controllerName in body should match/);
  });

  it('defaults, prunes and validates by the structural schema; serves status and scale; columns; server-side apply', async () => {
    const ns = ['-n', 'crd'];
    await kubectl(['apply', '-f', '-'], CRONTAB_CRD);
    await kubectl(['wait', '--for', 'condition=established', 'crd/crontabs.stable.example.com']);
    const ct = (extra = '') => `apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: nightly}\nspec:\n  cronSpec: "* * * * */5"\n  image: cron:1\n${extra}`;
    // kubectl asks for strict field validation: an unknown field is refused, as upstream does
    const strict = await fails([...ns, 'apply', '-f', '-'], ct('  bogus: 1\n'));
    assert.match(strict.stderr, /strict decoding error: unknown field "spec\.bogus"/);
    // with fieldValidation=Warn, the field is pruned with a warning
    const warned = await kubectl([...ns, 'apply', '--validate=warn', '-f', '-'], ct('  bogus: 1\n'));
    assert.match(warned.stderr, /unknown field "spec\.bogus"/);
    const obj = JSON.parse(await out([...ns, 'get', 'ct', 'nightly', '-o', 'json']));
    assert.deepEqual(obj.spec, { cronSpec: '* * * * */5', image: 'cron:1', replicas: 1 });
    assert.equal(obj.metadata.generation, 1);

    const invalid = await fails([...ns, 'apply', '-f', '-'], 'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: bad}\nspec: {cronSpec: nope, replicas: 20}\n');
    assert.match(invalid.stderr, /The CronTab "bad" is invalid: /);
    assert.match(invalid.stderr, /spec\.cronSpec: Invalid value: "nope": spec\.cronSpec in body should match/);
    assert.match(invalid.stderr, /spec\.replicas: Invalid value: 20: spec\.replicas in body should be less than or equal to 10/);

    // x-kubernetes-validations (CEL) rules are enforced
    const untagged = await fails([...ns, 'apply', '-f', '-'], ct().replace('nightly', 'untagged').replace('cron:1', 'cron'));
    assert.match(untagged.stderr, /The CronTab "untagged" is invalid: spec: Invalid value: "object": image must carry a tag/);

    assert.match(await out([...ns, 'get', 'ct']), /^NAME\s+SPEC\s+REPLICAS\nnightly\s+\* \* \* \* \*\/5\s+1$/);
    assert.match(await out([...ns, 'get', 'ct', '-o', 'wide']), /^NAME\s+SPEC\s+REPLICAS\s+IMAGE\nnightly\s+\* \* \* \* \*\/5\s+1\s+cron:1$/);
    assert.match(await out([...ns, 'get', 'all']), /crontab\.stable\.example\.com\/nightly/);
    assert.match(await out(['explain', 'crontab.spec.cronSpec']), /The schedule in cron format\./);
    assert.match(await out(['api-resources', '--api-group', 'stable.example.com']), /crontabs\s+ct\s+stable\.example\.com\/v1\s+true\s+CronTab/);

    // scale subresource
    await kubectl([...ns, 'scale', 'ct', 'nightly', '--replicas', '4']);
    await kubectl([...ns, 'patch', 'ct', 'nightly', '--subresource', 'status', '--type', 'merge', '-p', '{"status":{"replicas":4,"labelSelector":"app=cron"}}']);
    const scale = JSON.parse(await out(['get', '--raw', '/apis/stable.example.com/v1/namespaces/crd/crontabs/nightly/scale']));
    assert.deepEqual([scale.kind, scale.apiVersion, scale.spec.replicas, scale.status.replicas, scale.status.selector], ['Scale', 'autoscaling/v1', 4, 4, 'app=cron']);
    const badStatus = await fails([...ns, 'patch', 'ct', 'nightly', '--subresource', 'status', '--type', 'merge', '-p', '{"status":{"replicas":"many"}}']);
    assert.match(badStatus.stderr, /status\.replicas: Invalid value: "string": status\.replicas in body must be of type integer: "string"/);

    // server-side apply: owned fields and conflicts between managers
    await kubectl([...ns, 'apply', '--server-side', '--field-manager', 'team-a', '-f', '-'], ct().replace('nightly', 'ssa'));
    const conflict = await fails([...ns, 'apply', '--server-side', '--field-manager', 'team-b', '-f', '-'], ct().replace('nightly', 'ssa').replace('cron:1', 'cron:2'));
    assert.match(conflict.stderr, /conflict with "team-a"/);
    assert.match(conflict.stderr, /\.spec\.image/);
    await kubectl([...ns, 'apply', '--server-side', '--force-conflicts', '--field-manager', 'team-b', '-f', '-'], ct().replace('nightly', 'ssa').replace('cron:1', 'cron:2'));
    assert.equal(await out([...ns, 'get', 'ct', 'ssa', '-o', 'jsonpath={.spec.image}']), 'cron:2');

    // the garbage collector follows owner references to and from custom objects
    await kubectl([...ns, 'create', 'configmap', 'owner']);
    const ownerUid = await out([...ns, 'get', 'cm', 'owner', '-o', 'jsonpath={.metadata.uid}']);
    await kubectl([...ns, 'apply', '-f', '-'], ct().replace('nightly', 'owned').replace('metadata: {name: owned}', `metadata: {name: owned, ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: ${ownerUid}}]}`));
    const ctUid = await out([...ns, 'get', 'ct', 'ssa', '-o', 'jsonpath={.metadata.uid}']);
    await kubectl([...ns, 'apply', '-f', '-'], `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owned-by-ct, ownerReferences: [{apiVersion: stable.example.com/v1, kind: CronTab, name: ssa, uid: ${ctUid}}]}\n`);
    await kubectl([...ns, 'delete', 'cm', 'owner']);
    await kubectl([...ns, 'delete', 'ct', 'ssa']);
    await eventually(async () => (await out([...ns, 'get', 'ct,cm', '-o', 'name'])).split('\n').every((n) => !/\/(owned|owned-by-ct)$/.test(n)), 20_000, 'the dependents to be collected');
  });

  it('@kubernetes/client-node creates CRDs and custom objects, lists, watches and patches them', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: 'pets.zoo.example.com' },
        spec: {
          group: 'zoo.example.com',
          scope: 'Namespaced',
          names: { plural: 'pets', kind: 'Pet' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { legs: { type: 'integer', _default: 4 } } } } } } }],
        },
      },
    });
    await eventually(async () => ((await ext.readCustomResourceDefinition({ name: 'pets.zoo.example.com' })).status?.conditions ?? []).some((x) => x.type === 'Established' && x.status === 'True'));
    const seen: string[] = [];
    const req = await new k8s.Watch(kc).watch('/apis/zoo.example.com/v1/namespaces/crd/pets', {}, (type: string, obj: any) => seen.push(`${type} ${obj.metadata.name} ${obj.spec?.legs}`), () => {});
    try {
      const created: any = await custom.createNamespacedCustomObject({ group: 'zoo.example.com', version: 'v1', namespace: 'crd', plural: 'pets', body: { apiVersion: 'zoo.example.com/v1', kind: 'Pet', metadata: { name: 'rex' }, spec: {} } });
      assert.equal(created.spec.legs, 4);
      await custom.patchNamespacedCustomObject(
        { group: 'zoo.example.com', version: 'v1', namespace: 'crd', plural: 'pets', name: 'rex', body: { spec: { legs: 3 } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      const list: any = await custom.listNamespacedCustomObject({ group: 'zoo.example.com', version: 'v1', namespace: 'crd', plural: 'pets' });
      assert.deepEqual(list.items.map((p: any) => `${p.metadata.name} ${p.spec.legs}`), ['rex 3']);
      await eventually(() => seen.join(',') === 'ADDED rex 4,MODIFIED rex 3', 10_000, `watch events (${seen.join(',')})`);
    } finally {
      req.abort();
    }
    await ext.deleteCustomResourceDefinition({ name: 'pets.zoo.example.com' });
  });

  it('serves several versions (conversion None) with a deprecation warning', async () => {
    await kubectl(['apply', '-f', '-'], WIDGET_CRD);
    await kubectl(['wait', '--for', 'condition=established', 'crd/widgets.example.com']);
    const created = await kubectl(['apply', '-f', '-'], 'apiVersion: example.com/v1beta1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 2}\n');
    assert.match(created.stderr, /Warning: example\.com\/v1beta1 Widget is deprecated; use example\.com\/v1 Widget/);
    assert.equal(await out(['get', 'widgets.v1.example.com', 'w1', '-o', 'jsonpath={.apiVersion} {.spec.size}']), 'example.com/v1 2');
    assert.equal(await out(['get', 'widgets.v1beta1.example.com', 'w1', '-o', 'jsonpath={.apiVersion}']), 'example.com/v1beta1');
    // the preferred version is the highest stable one
    const group = JSON.parse(await out(['get', '--raw', '/apis/example.com']));
    assert.equal(group.preferredVersion.version, 'v1');
    assert.equal(await out(['get', 'widgets', '-o', 'jsonpath={.items[0].apiVersion}']), 'example.com/v1');
  });

  it('answers unknown kinds as upstream does', async () => {
    const applied = await fails(['apply', '-f', '-'], 'apiVersion: nope.example.com/v1\nkind: Nope\nmetadata: {name: x}\n');
    assert.match(applied.stderr, /no matches for kind "Nope" in version "nope\.example\.com\/v1"/);
    const raw = await fails(['get', '--raw', '/apis/stable.example.com/v1/namespaces/crd/nopes']);
    assert.match(raw.stderr, /Error from server \(NotFound\): the server could not find the requested resource/);
    const got = await fails(['get', 'nopes']);
    assert.match(got.stderr, /the server doesn't have a resource type "nopes"/);
  });

  it("deleting a namespace or a CRD removes its custom objects; CRDs are served again after a restart", async () => {
    await kubectl(['create', 'namespace', 'doomed']);
    await kubectl(['-n', 'doomed', 'apply', '-f', '-'], 'apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: gone}\nspec: {cronSpec: "* * * * *"}\n');
    await kubectl(['delete', 'namespace', 'doomed', '--timeout=60s']);
    assert.equal(await out(['get', 'ct', '-A', '-o', 'name', '--field-selector', 'metadata.namespace=doomed']), '');

    // restart: the stored definitions are served before the API answers
    const dataDir = c.dataDir;
    await c.stop();
    c = await startCluster({ dataDir });
    assert.match(await out(['-n', 'crd', 'get', 'ct', 'nightly', '-o', 'name']), /crontab\.stable\.example\.com\/nightly/);

    await kubectl(['delete', 'crd', 'crontabs.stable.example.com']);
    const gone = await fails(['get', '--raw', '/apis/stable.example.com/v1/namespaces/crd/crontabs']);
    assert.match(gone.stderr, /the server could not find the requested resource/);
    // a new definition of the same name starts empty
    await kubectl(['apply', '-f', '-'], CRONTAB_CRD);
    await kubectl(['wait', '--for', 'condition=established', 'crd/crontabs.stable.example.com']);
    assert.equal(await out(['-n', 'crd', 'get', 'crontabs', '-o', 'name']), '');
  });

  it('petset up -f applies a CRD and objects of its kind from one manifest', async () => {
    const dir = fs.mkdtempSync(path.join(c.dataDir, 'up-f-'));
    const file = path.join(dir, 'manifest.yaml');
    fs.writeFileSync(file, `${CRONTAB_CRD}---\napiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: from-up}\nspec: {cronSpec: "* * * * *"}\n`);
    const second = await startCluster({ extraArgs: ['-f', file] });
    try {
      await eventually(() => /crontab\.stable\.example\.com\/from-up created/.test(second.output()), 20_000, 'the manifest applied');
      assert.equal((await second.kubectl(['get', 'ct', 'from-up', '-o', 'jsonpath={.spec.replicas}'])).stdout, '1');
    } finally {
      await second.stop();
    }
  });

  const helm = findHelm();
  after(() => helm.cleanup());
  it('helm 3 installs a chart whose crds/ defines the kind its templates use, upgrades and uninstalls it', { skip: helm.reason ?? false }, async () => {
    const home = fs.mkdtempSync(path.join(c.dataDir, 'helm-home-'));
    const env = { ...process.env, KUBECONFIG: c.kubeconfig, HELM_CACHE_HOME: path.join(home, 'cache'), HELM_CONFIG_HOME: path.join(home, 'config'), HELM_DATA_HOME: path.join(home, 'data') };
    const h = (...args: string[]) =>
      new Promise<string>((resolve, reject) =>
        execFile(helm.bin!, args, { env, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`helm ${args.join(' ')}: ${stderr}${stdout}`)) : resolve(String(stdout)))),
      );
    const chart = path.join(repoRoot, 'test/fixtures/charts/crontabs');
    assert.match(await h('install', 'tabs', chart, '-n', 'crd'), /STATUS: deployed/);
    assert.match(await out(['-n', 'crd', 'get', 'cct']), /^NAME\s+SCHEDULE\s+REPLICAS\ntabs\s+\*\/5 \* \* \* \*\s+2$/);
    assert.match(await h('upgrade', 'tabs', chart, '-n', 'crd', '--set', 'replicas=3'), /REVISION: 2/);
    assert.equal(await out(['-n', 'crd', 'get', 'cct', 'tabs', '-o', 'jsonpath={.spec.replicas}']), '3');
    await assert.rejects(h('upgrade', 'tabs', chart, '-n', 'crd', '--set', 'replicas=0'), /spec\.replicas: Invalid value: 0: spec\.replicas in body should be greater than or equal to 1/);
    assert.match(await h('uninstall', 'tabs', '-n', 'crd'), /release "tabs" uninstalled/);
    assert.equal(await out(['-n', 'crd', 'get', 'cct', '-o', 'name']), '');
    // as upstream, Helm leaves the CRD itself installed
    await kubectl(['get', 'crd', 'crontabs.charts.example.com']);
  });
});
