// Timer, Cosmos DB and Event Hubs triggers and outputs, as Microsoft's binding docs show them,
// written for the fidelity suite. No config/: the host creates what the bindings name.
// HTTP → Cosmos DB output (notes, created at the first write: createIfNotExists) → Cosmos DB
// trigger (notes; lease container created: createLeaseContainerIfNotExists) → Event Hubs output
// (note-events) → Event Hubs trigger (many) → Cosmos DB output (audit) → Cosmos DB trigger
// (audit) → kept in memory, read over HTTP.
const { app, output } = require('@azure/functions');

const ticks = [];
app.timer('tick', {
  schedule: '*/1 * * * * *',
  handler: async (timer) => {
    ticks.push({ isPastDue: timer.isPastDue });
  },
});

const notesOut = output.cosmosDB({ databaseName: 'notesdb', containerName: 'notes', connection: 'CosmosDBConnection', createIfNotExists: true, partitionKey: '/id' });
app.http('addNote', {
  route: 'notes',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraOutputs: [notesOut],
  handler: async (request, context) => {
    const note = await request.json();
    context.extraOutputs.set(notesOut, note);
    return { status: 201, jsonBody: note };
  },
});

// Only this output binding names 'drafts', with createIfNotExists: created at its first write.
const draftsOut = output.cosmosDB({ databaseName: 'notesdb', containerName: 'drafts', connection: 'CosmosDBConnection', createIfNotExists: true, partitionKey: '/author' });
app.http('addDraft', {
  route: 'drafts',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraOutputs: [draftsOut],
  handler: async (request, context) => {
    context.extraOutputs.set(draftsOut, await request.json());
    return { status: 201 };
  },
});

const noteEvents = output.eventHub({ eventHubName: 'note-events', connection: 'EventHubConnection' });
app.cosmosDB('publishNotes', {
  databaseName: 'notesdb',
  containerName: 'notes',
  connection: 'CosmosDBConnection',
  leaseContainerName: 'leases',
  createLeaseContainerIfNotExists: true,
  feedPollDelay: 250,
  extraOutputs: [noteEvents],
  handler: async (documents, context) => {
    context.extraOutputs.set(
      noteEvents,
      documents.map((d) => ({ id: d.id, text: d.text })),
    );
  },
});

const auditOut = output.cosmosDB({ databaseName: 'notesdb', containerName: 'audit', connection: 'CosmosDBConnection' });
app.eventHub('auditNotes', {
  eventHubName: 'note-events',
  connection: 'EventHubConnection',
  cardinality: 'many',
  consumerGroup: 'auditors',
  extraOutputs: [auditOut],
  handler: async (events, context) => {
    context.extraOutputs.set(
      auditOut,
      events.map((e) => ({ id: `audit-${e.id}`, noteId: e.id, text: e.text, partition: context.triggerMetadata.partitionContext?.partitionId ?? null })),
    );
  },
});

const audited = [];
app.cosmosDB('readAudit', {
  databaseName: 'notesdb',
  containerName: 'audit',
  connection: 'CosmosDBConnection',
  leaseContainerName: 'leases',
  leaseContainerPrefix: 'audit-',
  feedPollDelay: 250,
  handler: async (documents) => {
    audited.push(...documents.map((d) => ({ id: d.id, noteId: d.noteId, text: d.text })));
  },
});

// Its lease container does not exist and it does not ask for one: its listener cannot start.
app.cosmosDB('withoutLeases', {
  databaseName: 'notesdb',
  containerName: 'notes',
  connection: 'CosmosDBConnection',
  leaseContainerName: 'missing-leases',
  handler: async () => undefined,
});

app.http('observed', {
  route: 'observed',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async () => ({ jsonBody: { ticks, audited } }),
});
