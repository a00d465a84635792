// When the worker stops (Azure scales in or swaps a deployment, the local host stops), the app's
// Service Bus, Event Hubs and Cosmos DB clients end their connections cleanly instead of having
// them cut — and a host that starts again in the same process gets clients of its own, and
// command handlers that have kept nothing of the last one's streams. The projections' status
// documents get what was measured since their last write first.
import { app, type AppTerminateContext } from '@azure/functions';
import { releaseEventSourcing } from '../src/composition/orders';
import { closePorts } from '../src/composition/ports';

export async function closeConnections(_context: AppTerminateContext): Promise<void> {
  await releaseEventSourcing();
  await closePorts();
}

app.hook.appTerminate(closeConnections);
