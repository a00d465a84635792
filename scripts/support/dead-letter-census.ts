// Every message that did not go through: each dead-letter queue with messages, and the parking
// queues dead-letter triage moves them to (review, archive), read through the ops API — so it
// works the same against an in-process host and a host process.
import { PARKING_QUEUES } from '../../src/esb/dead-letter-triage';

export interface DeadLetterEntry {
  /** The queue or subscription it was dead-lettered from (the origin, for parked copies). */
  entity: string;
  where: string;
  reason: string;
  category: string;
  messageType?: string;
  correlationId?: string;
  description?: string;
}

async function getJson<T>(url: string, headers: Record<string, string>): Promise<T> {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function deadLetterCensus(baseUrl: string, headers: Record<string, string> = {}): Promise<DeadLetterEntry[]> {
  const { entities } = await getJson<{ entities: { path: string; kind: string; activeMessageCount?: number; deadLetterMessageCount?: number }[] }>(`${baseUrl}/api/ops/entities`, headers);
  const sources = entities.filter((e) => e.kind !== 'topic' && ((e.deadLetterMessageCount ?? 0) > 0 || ((PARKING_QUEUES as readonly string[]).includes(e.path) && (e.activeMessageCount ?? 0) > 0)));
  const found: DeadLetterEntry[] = [];
  for (const source of sources) {
    let from = 0;
    for (;;) {
      const page = await getJson<{
        deadLetters: { deadLetterReason?: string; deadLetterErrorDescription?: string; category: string; messageType?: string; correlationId?: string; originalEntity?: string }[];
        nextSequenceNumber?: number;
      }>(`${baseUrl}/api/ops/deadletters?entity=${encodeURIComponent(source.path)}&max=250&fromSequenceNumber=${from}`, headers);
      for (const d of page.deadLetters) {
        found.push({
          entity: d.originalEntity ?? source.path,
          where: source.path,
          reason: d.deadLetterReason ?? 'unknown',
          category: d.category,
          ...(d.messageType ? { messageType: d.messageType } : {}),
          ...(d.correlationId ? { correlationId: d.correlationId } : {}),
          ...(d.deadLetterErrorDescription ? { description: d.deadLetterErrorDescription } : {}),
        });
      }
      if (page.nextSequenceNumber === undefined) break;
      from = page.nextSequenceNumber;
    }
  }
  return found;
}
