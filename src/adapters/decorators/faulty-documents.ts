// Wraps a document container so FAULT_INJECTION can make its operations fail transiently
// ("store:<container>" or "store:*"), as Cosmos DB answers 503 ServiceUnavailable during a
// partition move or an outage. The plan is read on every call, as for sends.
import { DocumentStoreError, type DocumentContainer } from '../../ports/documents';
import { currentFaultPlan, recordInjectedFault, shouldFail } from '../../observability/fault-injection';

const OPERATIONS = new Set(['read', 'create', 'upsert', 'replace', 'delete', 'batch', 'query', 'distinct']);

export function withStoreFaults(inner: DocumentContainer): DocumentContainer {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const method = (value as (...a: unknown[]) => unknown).bind(target);
      if (typeof property !== 'string' || !OPERATIONS.has(property)) return method;
      return async (...args: unknown[]) => {
        const plan = currentFaultPlan(process.env.FAULT_INJECTION);
        if (plan.size > 0 && shouldFail(plan, `store:${target.name}`)) {
          recordInjectedFault('store');
          throw new DocumentStoreError(503, `Injected transient fault: ${property} on ${target.name} (FAULT_INJECTION)`);
        }
        return method(...args);
      };
    },
  });
}
