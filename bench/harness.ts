// The benchmark harness: scenarios report figures, each printed as one `NAME VALUE UNIT`
// line on stdout and collected into a JSON file, so runs can be compared.
import fs from 'node:fs';
import path from 'node:path';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** the goal, printed to stderr beside the figure when set */
  goal?: string;
}

export interface Scenario {
  name: string;
  run(report: (f: Figure) => void): Promise<void>;
}

export async function runScenarios(scenarios: Scenario[], only: string[], outFile: string): Promise<Figure[]> {
  const figures: Figure[] = [];
  const report = (f: Figure) => {
    figures.push(f);
    const value = Number.isInteger(f.value) ? String(f.value) : f.value.toFixed(f.value < 10 ? 3 : 1);
    process.stdout.write(`${f.name} ${value} ${f.unit}\n`);
    if (f.goal) process.stderr.write(`  (goal: ${f.goal})\n`);
  };
  for (const s of scenarios) {
    if (only.length && !only.some((o) => s.name.includes(o))) continue;
    process.stderr.write(`# ${s.name}\n`);
    const t0 = Date.now();
    try {
      await s.run(report);
    } catch (e) {
      process.stderr.write(`  scenario ${s.name} failed: ${(e as Error).stack}\n`);
      process.exitCode = 1;
    }
    process.stderr.write(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, JSON.stringify({ date: new Date().toISOString(), node: process.version, figures }, null, 2) + '\n');
  process.stderr.write(`figures written to ${outFile}\n`);
  return figures;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function median(xs: number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}
