// The load client in a worker thread: it sends the traffic on a core of its own and reports each
// accepted or refused message to the thread that runs the host.
import { parentPort, workerData } from 'node:worker_threads';
import { sendOrders, type PlannedOrder, type TrafficOptions } from './order-traffic';

export interface ClientWorkerData {
  baseUrl: string;
  orders: PlannedOrder[];
  concurrency: number;
  rate?: number;
}

export type ClientWorkerMessage =
  | { kind: 'accepted'; index: number; messageType: string; sentAt: number; acceptedAt: number; attempts: number }
  | { kind: 'refused'; index: number; messageType: string; status: number; error: string }
  | { kind: 'done' }
  | { kind: 'failed'; error: string };

const data = workerData as ClientWorkerData;
const post = (m: ClientWorkerMessage) => parentPort!.postMessage(m);
const options: TrafficOptions = {
  baseUrl: data.baseUrl,
  concurrency: data.concurrency,
  ...(data.rate ? { rate: data.rate } : {}),
  onAccepted: (a) => post({ kind: 'accepted', ...a }),
  onRefused: (r) => post({ kind: 'refused', ...r }),
};
sendOrders(data.orders, options).then(
  () => post({ kind: 'done' }),
  (error: Error) => post({ kind: 'failed', error: error.stack ?? String(error) }),
);
