// Fault injection for resilience drills, off unless the FAULT_INJECTION setting is present:
// a JSON map of function name → transient failure rate, e.g. {"processInbound": 0.05} ("*": every
// function but the HTTP ones; see src/observability/fault-injection.ts for send/store targets). A
// preInvocation hook fails the chosen invocations before the handler runs, exactly where a
// transient dependency failure would surface — so retries, abandon and dead-lettering are
// exercised by the real host (Azure or embedded).
import { app } from '@azure/functions';
import { currentFaultPlan, recordInjectedFault, shouldFail, TransientFault } from '../src/observability/fault-injection';

// Validate the setting at startup, so a typo fails loudly instead of injecting nothing.
currentFaultPlan(process.env.FAULT_INJECTION);

app.hook.preInvocation((context) => {
  const plan = currentFaultPlan(process.env.FAULT_INJECTION);
  if (plan.size === 0) return;
  const name = context.invocationContext.functionName;
  // "*" leaves HTTP functions alone (a drill fails background work, not callers' requests) and
  // orchestrators: their code does no I/O, so nothing in it fails transiently — an orchestrator
  // that throws fails its instance for good, which is not what a transient fault is.
  const type = context.invocationContext.options.trigger.type;
  const wildcard = type !== 'httpTrigger' && type !== 'orchestrationTrigger';
  if (shouldFail(plan, name, Math.random, { wildcard })) {
    recordInjectedFault('function');
    throw new TransientFault(`Injected transient fault in ${name} (FAULT_INJECTION)`);
  }
});
