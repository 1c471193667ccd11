// `npm run bench [-- name-filter...]`: runs every scenario and prints its figures.
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runScenarios, type Scenario } from './harness.js';
import { apiserverScenarios } from './apiserver.js';
import { statefulsetScenarios } from './statefulset.js';
import { statefulsetUpScenarios } from './statefulset-up.js';
import { deploymentUpScenarios } from './deployment-up.js';
import { nodeScenarios } from './nodes.js';
import { measureDurableWrite } from './store.js';
import { networkScenarios } from './network.js';
import { runtimeScenarios } from './runtime.js';
import { storeBackendScenarios } from './etcd.js';
import { liveViewScenarios } from './liveview.js';
import { exampleScenarios } from './examples.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '../..') : path.resolve(here, '..');

const baseline: Scenario = {
  name: 'sqlite-durable-write',
  async run(report) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-fsync-'));
    const { microsPerWrite } = await measureDurableWrite(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    report({ name: 'sqlite_durable_write', value: microsPerWrite / 1000, unit: 'ms' });
  },
};

const scenarios: Scenario[] = [baseline, ...apiserverScenarios, ...statefulsetScenarios, ...statefulsetUpScenarios, ...deploymentUpScenarios, ...nodeScenarios, ...networkScenarios, ...runtimeScenarios, ...storeBackendScenarios, ...liveViewScenarios, ...exampleScenarios];

await runScenarios(scenarios, process.argv.slice(2), path.join(root, 'bench', 'results', 'latest.json'));
