// Wraps the messaging port so FAULT_INJECTION can make sends fail transiently ("send:<entity>"),
// on Azure as on the embedded host. The plan is read on every call: changing the setting takes
// effect without a restart.
import type { Messaging } from '../../ports/messaging';
import type { OutgoingMessage } from '@backbone/azure-model/service-bus';
import { currentFaultPlan, recordInjectedFault, shouldFail, TransientFault } from '../../observability/fault-injection';

function maybeFail(entityPath: string): void {
  const plan = currentFaultPlan(process.env.FAULT_INJECTION);
  if (plan.size > 0 && shouldFail(plan, `send:${entityPath}`)) {
    recordInjectedFault('send');
    throw new TransientFault(`Injected transient fault sending to ${entityPath} (FAULT_INJECTION)`);
  }
}

export function withFaultInjection(inner: Messaging): Messaging {
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'send') {
        return async (entityPath: string, messages: OutgoingMessage[]) => {
          maybeFail(entityPath);
          return target.send(entityPath, messages);
        };
      }
      if (property === 'schedule') {
        return async (entityPath: string, messages: OutgoingMessage[], at: Date) => {
          maybeFail(entityPath);
          return target.schedule(entityPath, messages, at);
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
