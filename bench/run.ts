/**
 * `npm run bench [-- suite...]`: prints numbers and writes bench-results/<suite>.json.
 * Suites so far: ledger (durable kudos writes), transport (command round trip over the
 * headless WebSocket). Inference, worker and rater suites arrive with their issues.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startHeadlessServer } from '../src-main/headless/server';
import { openDatabase } from '../src-main/node/database';
import { createSqliteKudosLedger } from '../src-main/node/kudosLedger';
import { testApp } from '../test/helpers/app';

type Row = Record<string, string | number>;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

async function ledger(): Promise<Row[]> {
  const opened = openDatabase(join(mkdtempSync(join(tmpdir(), 'hd-bench-')), 'bench.db'));
  const store = createSqliteKudosLedger(opened.db);
  const n = 2000;
  const times: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const t0 = performance.now();
    store.record({ source: 'job', amount: 6.24, at: Date.now(), hordeRef: `job-${i}` });
    times.push(performance.now() - t0);
  }
  opened.db.close();
  times.sort((a, b) => a - b);
  const total = times.reduce((a, b) => a + b, 0);
  return [{ what: 'durable ledger insert (WAL, synchronous=FULL)', n, per_s: Math.round((n / total) * 1000), p50_ms: +percentile(times, 0.5).toFixed(3), p99_ms: +percentile(times, 0.99).toFixed(3) }];
}

async function transport(): Promise<Row[]> {
  const rendererDir = mkdtempSync(join(tmpdir(), 'hd-bench-ui-'));
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html>');
  const app = testApp();
  const server = await startHeadlessServer(app, { rendererDir });
  const token = new URL(server.url).hash.replace('#token=', '');
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${token}`);
  await new Promise((r) => ws.once('open', r));
  const n = 2000;
  const times: number[] = [];
  for (let id = 0; id < n; id += 1) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      ws.once('message', () => resolve());
      ws.send(JSON.stringify({ t: 'cmd', id, name: 'kudos.totals', payload: {} }));
    });
    times.push(performance.now() - t0);
  }
  ws.close();
  await server.close();
  await app.close();
  times.sort((a, b) => a - b);
  return [{ what: 'kudos.totals round trip over WebSocket', n, p50_ms: +percentile(times, 0.5).toFixed(3), p99_ms: +percentile(times, 0.99).toFixed(3) }];
}

const SUITES: Record<string, () => Promise<Row[]>> = { ledger, transport };

async function main(): Promise<void> {
  const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = asked.filter((s) => !SUITES[s]);
  if (unknown.length) throw new Error(`unknown suite(s) ${unknown.join(', ')}; known: ${Object.keys(SUITES).join(', ')}`);
  mkdirSync('bench-results', { recursive: true });
  for (const name of asked.length ? asked : Object.keys(SUITES)) {
    const rows = await (SUITES[name] as () => Promise<Row[]>)();
    console.log(`\n== ${name}`);
    console.table(rows);
    writeFileSync(join('bench-results', `${name}.json`), JSON.stringify({ suite: name, node: process.version, at: new Date().toISOString(), rows }, null, 2));
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
