#!/usr/bin/env node
// Supply chain: `npm audit --omit=dev` must report no high or critical advisory for what ships.
// Fails on findings. When the registry answers without an audit endpoint (a mirror: npm gets an
// HTTP error instead of a report), it says so and does not fail — the GitHub workflow runs the
// same check against registry.npmjs.org, where it always applies.
import { spawnSync } from 'node:child_process';

const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  console.error(`npm audit: unreadable output (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
  process.exit(1);
}
const counts = report?.metadata?.vulnerabilities;
if (!counts) {
  const why = report?.statusCode ? `HTTP ${report.statusCode} from ${report.uri ?? 'the registry'}` : (report?.error?.summary ?? report?.message ?? 'no report');
  console.log(`npm audit: not checked — the registry gave no audit report (${why}). The GitHub workflow checks it.`);
  process.exit(0);
}
const serious = (counts.high ?? 0) + (counts.critical ?? 0);
console.log(
  `npm audit --omit=dev: ${Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
);
if (serious > 0) {
  for (const [name, v] of Object.entries(report.vulnerabilities ?? {})) {
    if (v.severity === 'high' || v.severity === 'critical') console.log(`  ${v.severity}: ${name} ${v.range ?? ''} ${(v.via ?? []).map((x) => (typeof x === 'string' ? x : x.title)).join('; ')}`);
  }
  process.exit(1);
}
