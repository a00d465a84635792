// Sequential GETs from a worker thread, timed there: the client's own allocations and garbage
// collection stay out of the host's heap and thread, so the latencies are the host's HTTP path
// (as a client in another process would see it), not the host's and the client's together.
import { Agent, get } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

export interface LatencyWorkerData {
  baseUrl: string;
  /** Paths, requested one after another, each `repeat` times in turn (warm-up included in none). */
  paths: string[];
  warmUp: number;
}

export type LatencyWorkerMessage = { kind: 'progress'; done: number } | { kind: 'done'; samples: number[] } | { kind: 'failed'; error: string };

const data = workerData as LatencyWorkerData;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function request(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    get(`${data.baseUrl}${path}`, { agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${path}: ${res.statusCode}`))));
    }).on('error', reject);
  });
}

async function main(): Promise<void> {
  for (let i = 0; i < Math.min(data.warmUp, data.paths.length); i++) await request(data.paths[i]!);
  const samples: number[] = [];
  for (const [i, path] of data.paths.entries()) {
    const started = performance.now();
    await request(path);
    samples.push(performance.now() - started);
    if ((i + 1) % 50 === 0) parentPort!.postMessage({ kind: 'progress', done: i + 1 } satisfies LatencyWorkerMessage);
  }
  agent.destroy();
  parentPort!.postMessage({ kind: 'done', samples } satisfies LatencyWorkerMessage);
}

main().catch((error: Error) => parentPort!.postMessage({ kind: 'failed', error: error.stack ?? String(error) } satisfies LatencyWorkerMessage));
