import { statefulsetScenarios } from '/work/main/bench/statefulset.js';
const s = statefulsetScenarios.find((x) => x.name === process.argv[2])!;
await s.run((f) => console.log(f.name, f.value));
process.exit(0);
