// Drives a Service Bus namespace with Microsoft's .NET SDK: a client nobody on this project wrote,
// so what it expects of the wire is Service Bus' dialect, not ours. One JSON line per step
// ({"step", "ok", ...what was seen}); the exit code is the number of failed steps (2 for bad usage).
//
//   dotnet ServiceBusCheck.dll <connection-string> <queue> <session-queue> <topic> <subscription> [<event-hub>]
//
// The queue and the session queue must start empty with maxDeliveryCount >= 3; the subscription's
// one rule, named `red`, must select `color = 'red'` (application property); the rule-manager step
// adds rules beside it and removes them again. With an event hub (Azure.Messaging.EventHubs, the
// same connection string): its properties, an event sent with a partition key and read back from
// the partition it landed on.
using System.Text.Json;
using Azure.Messaging.EventHubs;
using Azure.Messaging.EventHubs.Consumer;
using Azure.Messaging.EventHubs.Producer;
using Azure.Messaging.ServiceBus;
using Azure.Messaging.ServiceBus.Administration;

if (args.Length is not (5 or 6))
{
    Console.Error.WriteLine("usage: ServiceBusCheck <connection-string> <queue> <session-queue> <topic> <subscription> [<event-hub>]");
    return 2;
}

var (connectionString, queue, sessionQueue, topic, subscription) = (args[0], args[1], args[2], args[3], args[4]);
await using var client = new ServiceBusClient(connectionString, new ServiceBusClientOptions
{
    // A refusal should show as the step's error, not hide behind retries.
    RetryOptions = new ServiceBusRetryOptions { MaxRetries = 0, TryTimeout = TimeSpan.FromSeconds(20) },
});
var steps = new Steps(client, queue, sessionQueue, topic, subscription).All();
if (args.Length == 6) steps = steps.Concat(new EventHubSteps(connectionString, args[5]).All());
var failed = 0;
foreach (var (name, step) in steps)
{
    var line = new Dictionary<string, object?> { ["step"] = name };
    var started = DateTime.UtcNow;
    try
    {
        // Generous: under `npm test` the machine's two cores are shared with every other suite.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var seen = await step(timeout.Token);
        line["ok"] = true;
        foreach (var (k, v) in seen) line[k] = v;
    }
    catch (Exception e)
    {
        failed++;
        line["ok"] = false;
        line["error"] = $"{e.GetType().Name}: {e.Message}";
        if (e is ServiceBusException sb) line["reason"] = sb.Reason.ToString();
        if (e is EventHubsException eh) line["reason"] = eh.Reason.ToString();
    }
    line["ms"] = (int)(DateTime.UtcNow - started).TotalMilliseconds;
    Console.WriteLine(JsonSerializer.Serialize(line));
}
return failed;

/// <summary>A step's failure: what was expected and what came.</summary>
sealed class CheckFailed(string message) : Exception(message);

sealed class Steps(ServiceBusClient client, string queue, string sessionQueue, string topic, string subscription)
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    public IEnumerable<(string, Func<CancellationToken, Task<Dictionary<string, object?>>>)> All() =>
    [
        ("send-receive-complete", SendReceiveComplete),
        ("abandon-redelivery", AbandonRedelivery),
        ("dead-letter", DeadLetter),
        ("schedule", Schedule),
        ("defer", Defer),
        ("session-state", SessionState),
        ("topic-sql-filter", TopicSqlFilter),
        ("rule-manager", RuleManager),
    ];

    static void Expect(bool condition, string what)
    {
        if (!condition) throw new CheckFailed(what);
    }

    async Task<ServiceBusReceivedMessage> ReceiveOne(ServiceBusReceiver receiver, CancellationToken ct)
    {
        var m = await receiver.ReceiveMessageAsync(Wait, ct);
        return m ?? throw new CheckFailed($"no message arrived on {receiver.EntityPath} within {Wait.TotalSeconds} s");
    }

    async Task ExpectEmpty(ServiceBusReceiver receiver, CancellationToken ct)
    {
        var extra = await receiver.ReceiveMessageAsync(TimeSpan.FromMilliseconds(500), ct);
        Expect(extra is null, $"{receiver.EntityPath} should be empty, got {extra?.MessageId}");
    }

    async Task<Dictionary<string, object?>> SendReceiveComplete(CancellationToken ct)
    {
        await using var sender = client.CreateSender(queue);
        var sent = new ServiceBusMessage(BinaryData.FromString("hello from .NET"))
        {
            MessageId = "net-1",
            Subject = "Greeting",
            CorrelationId = "corr-1",
            ContentType = "text/plain",
            ApplicationProperties = { ["region"] = "EU", ["count"] = 3 },
        };
        await sender.SendMessageAsync(sent, ct);
        await using var receiver = client.CreateReceiver(queue);
        var m = await ReceiveOne(receiver, ct);
        Expect(m.MessageId == "net-1", $"message id {m.MessageId}");
        Expect(m.Body.ToString() == "hello from .NET", $"body {m.Body}");
        Expect(m.Subject == "Greeting" && m.CorrelationId == "corr-1" && m.ContentType == "text/plain", "subject, correlation id or content type differ");
        Expect(Equals(m.ApplicationProperties["region"], "EU") && Equals(m.ApplicationProperties["count"], 3), "application properties differ");
        Expect(m.DeliveryCount == 1, $"delivery count {m.DeliveryCount}");
        Expect(m.SequenceNumber > 0 && m.LockedUntil > DateTimeOffset.UtcNow, "sequence number or locked-until missing");
        await receiver.CompleteMessageAsync(m, ct);
        await ExpectEmpty(receiver, ct);
        return new() { ["messageId"] = m.MessageId, ["sequenceNumber"] = m.SequenceNumber, ["deliveryCount"] = m.DeliveryCount };
    }

    async Task<Dictionary<string, object?>> AbandonRedelivery(CancellationToken ct)
    {
        await using var sender = client.CreateSender(queue);
        await sender.SendMessageAsync(new ServiceBusMessage("abandon me") { MessageId = "net-abandon" }, ct);
        await using var receiver = client.CreateReceiver(queue);
        var first = await ReceiveOne(receiver, ct);
        await receiver.AbandonMessageAsync(first, cancellationToken: ct);
        var again = await ReceiveOne(receiver, ct);
        Expect(again.MessageId == "net-abandon", $"redelivered {again.MessageId}");
        Expect(again.DeliveryCount == 2, $"delivery count after abandon {again.DeliveryCount}");
        await receiver.CompleteMessageAsync(again, ct);
        return new() { ["deliveryCount"] = again.DeliveryCount };
    }

    async Task<Dictionary<string, object?>> DeadLetter(CancellationToken ct)
    {
        await using var sender = client.CreateSender(queue);
        await sender.SendMessageAsync(new ServiceBusMessage("poison") { MessageId = "net-dead" }, ct);
        await using var receiver = client.CreateReceiver(queue);
        var m = await ReceiveOne(receiver, ct);
        await receiver.DeadLetterMessageAsync(m, "BadPayload", "the payload did not parse", ct);
        await using var dlq = client.CreateReceiver(queue, new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
        var dead = await ReceiveOne(dlq, ct);
        Expect(dead.MessageId == "net-dead", $"dead letter {dead.MessageId}");
        Expect(dead.DeadLetterReason == "BadPayload", $"reason {dead.DeadLetterReason}");
        Expect(dead.DeadLetterErrorDescription == "the payload did not parse", $"description {dead.DeadLetterErrorDescription}");
        // A dead letter cannot be dead-lettered again: the SDK sends it, the service refuses it, and
        // the message stays where it is, still locked by this receiver.
        string? refusal = null;
        try
        {
            await dlq.DeadLetterMessageAsync(dead, "again", cancellationToken: ct);
        }
        catch (Exception e) when (e is ServiceBusException or InvalidOperationException)
        {
            refusal = e is ServiceBusException sb ? $"ServiceBusException:{sb.Reason}" : e.GetType().Name;
        }
        Expect(refusal is not null, "dead-lettering a dead letter was not refused");
        await dlq.CompleteMessageAsync(dead, ct);
        await ExpectEmpty(receiver, ct);
        await ExpectEmpty(dlq, ct);
        return new() { ["deadLetterReason"] = dead.DeadLetterReason, ["deadLetterErrorDescription"] = dead.DeadLetterErrorDescription, ["deadLetterAgain"] = refusal };
    }

    async Task<Dictionary<string, object?>> Schedule(CancellationToken ct)
    {
        await using var sender = client.CreateSender(queue);
        var at = DateTimeOffset.UtcNow.AddSeconds(2);
        var sequenceNumber = await sender.ScheduleMessageAsync(new ServiceBusMessage("later") { MessageId = "net-scheduled" }, at, ct);
        await using var receiver = client.CreateReceiver(queue);
        var peeked = await receiver.PeekMessageAsync(sequenceNumber, ct) ?? throw new CheckFailed("the scheduled message cannot be peeked");
        Expect(peeked.SequenceNumber == sequenceNumber && peeked.MessageId == "net-scheduled", $"peeked {peeked.MessageId} #{peeked.SequenceNumber}");
        Expect(peeked.State == ServiceBusMessageState.Scheduled, $"peeked state {peeked.State}");
        Expect(Math.Abs((peeked.ScheduledEnqueueTime - at).TotalMilliseconds) < 1, $"scheduled enqueue time {peeked.ScheduledEnqueueTime:o}, asked {at:o}");
        var early = await receiver.ReceiveMessageAsync(TimeSpan.FromMilliseconds(300), ct);
        Expect(early is null, "the scheduled message arrived before its time");
        var m = await receiver.ReceiveMessageAsync(TimeSpan.FromSeconds(10), ct) ?? throw new CheckFailed("the scheduled message never arrived");
        Expect(m.MessageId == "net-scheduled" && DateTimeOffset.UtcNow >= at.AddMilliseconds(-50), $"arrived {m.MessageId} at {DateTimeOffset.UtcNow:o}");
        await receiver.CompleteMessageAsync(m, ct);
        return new() { ["sequenceNumber"] = sequenceNumber, ["peekedState"] = peeked.State.ToString() };
    }

    async Task<Dictionary<string, object?>> Defer(CancellationToken ct)
    {
        await using var sender = client.CreateSender(queue);
        await sender.SendMessageAsync(new ServiceBusMessage("not now") { MessageId = "net-deferred" }, ct);
        await using var receiver = client.CreateReceiver(queue);
        var m = await ReceiveOne(receiver, ct);
        await receiver.DeferMessageAsync(m, cancellationToken: ct);
        await ExpectEmpty(receiver, ct);
        var back = await receiver.ReceiveDeferredMessageAsync(m.SequenceNumber, ct);
        Expect(back.MessageId == "net-deferred" && back.Body.ToString() == "not now", $"deferred came back as {back.MessageId}");
        Expect(back.State == ServiceBusMessageState.Deferred, $"state {back.State}");
        await receiver.CompleteMessageAsync(back, ct);
        var gone = await receiver.PeekMessageAsync(m.SequenceNumber, ct);
        Expect(gone is null || gone.SequenceNumber != m.SequenceNumber, "the completed deferred message is still there");
        string? notFound = null;
        try
        {
            await receiver.ReceiveDeferredMessageAsync(m.SequenceNumber, ct);
        }
        catch (ServiceBusException e)
        {
            notFound = e.Reason.ToString();
        }
        Expect(notFound == nameof(ServiceBusFailureReason.MessageNotFound), $"receiving a completed deferred message again: {notFound ?? "not refused"}");
        return new() { ["sequenceNumber"] = back.SequenceNumber, ["state"] = back.State.ToString() };
    }

    async Task<Dictionary<string, object?>> SessionState(CancellationToken ct)
    {
        await using var sender = client.CreateSender(sessionQueue);
        await sender.SendMessagesAsync(
        [
            new ServiceBusMessage("s1") { SessionId = "net-session", MessageId = "s-1" },
            new ServiceBusMessage("other") { SessionId = "net-other", MessageId = "o-1" },
            new ServiceBusMessage("s2") { SessionId = "net-session", MessageId = "s-2" },
        ], ct);
        var session = await client.AcceptSessionAsync(sessionQueue, "net-session", cancellationToken: ct);
        await using (session)
        {
            Expect(session.SessionId == "net-session" && session.SessionLockedUntil > DateTimeOffset.UtcNow, $"session {session.SessionId} locked until {session.SessionLockedUntil:o}");
            var got = new List<ServiceBusReceivedMessage>();
            while (got.Count < 2)
            {
                var batch = await session.ReceiveMessagesAsync(2 - got.Count, Wait, ct);
                if (batch.Count == 0) break;
                got.AddRange(batch);
            }
            Expect(string.Join(",", got.Select(m => m.MessageId)) == "s-1,s-2", $"session messages {string.Join(",", got.Select(m => m.MessageId))}");
            foreach (var m in got) await session.CompleteMessageAsync(m, ct);
            Expect(await session.GetSessionStateAsync(ct) is null, "a new session has state");
            await session.SetSessionStateAsync(BinaryData.FromString("step-2"), ct);
            var state = await session.GetSessionStateAsync(ct);
            Expect(state?.ToString() == "step-2", $"state {state}");
        }
        var other = await client.AcceptNextSessionAsync(sessionQueue, cancellationToken: ct);
        await using (other)
        {
            Expect(other.SessionId == "net-other", $"next session {other.SessionId}");
            await other.CompleteMessageAsync(await ReceiveOne(other, ct), ct);
        }
        var again = await client.AcceptSessionAsync(sessionQueue, "net-session", cancellationToken: ct);
        await using (again)
        {
            var kept = await again.GetSessionStateAsync(ct);
            Expect(kept?.ToString() == "step-2", $"state after release {kept}");
            await again.SetSessionStateAsync(null, ct);
        }
        return new() { ["sessionId"] = "net-session", ["state"] = "step-2", ["nextSession"] = "net-other" };
    }

    async Task<Dictionary<string, object?>> TopicSqlFilter(CancellationToken ct)
    {
        await using var sender = client.CreateSender(topic);
        await sender.SendMessagesAsync(
        [
            new ServiceBusMessage("red one") { MessageId = "red-1", ApplicationProperties = { ["color"] = "red" } },
            new ServiceBusMessage("blue one") { MessageId = "blue-1", ApplicationProperties = { ["color"] = "blue" } },
            new ServiceBusMessage("no color") { MessageId = "none-1" },
            new ServiceBusMessage("red two") { MessageId = "red-2", ApplicationProperties = { ["color"] = "red" } },
        ], ct);
        await using var receiver = client.CreateReceiver(topic, subscription);
        var got = new List<string>();
        for (var m = await receiver.ReceiveMessageAsync(Wait, ct); m is not null; m = await receiver.ReceiveMessageAsync(TimeSpan.FromMilliseconds(500), ct))
        {
            got.Add(m.MessageId);
            await receiver.CompleteMessageAsync(m, ct);
        }
        Expect(string.Join(",", got) == "red-1,red-2", $"the subscription got {string.Join(",", got)}");
        return new() { ["received"] = got };
    }

    async Task<Dictionary<string, object?>> RuleManager(CancellationToken ct)
    {
        await using var rules = client.CreateRuleManager(topic, subscription);
        async Task<List<RuleProperties>> List()
        {
            var all = new List<RuleProperties>();
            await foreach (var rule in rules.GetRulesAsync(ct)) all.Add(rule);
            return all;
        }
        var before = await List();
        Expect(before.Count == 1 && before[0].Name == "red" && before[0].Filter is SqlRuleFilter { SqlExpression: "color = 'red'" }, $"rules before: {string.Join(",", before.Select(r => $"{r.Name}:{r.Filter}"))}");
        await rules.CreateRuleAsync("shipped-eu", new CorrelationRuleFilter { Subject = "Shipped", ApplicationProperties = { ["region"] = "EU", ["priority"] = 2 } }, ct);
        await rules.CreateRuleAsync(new CreateRuleOptions("tagged", new SqlRuleFilter("kind = 'x'")) { Action = new SqlRuleAction("SET tag = 'seen'") }, ct);
        var listed = await List();
        Expect(string.Join(",", listed.Select(r => r.Name)) == "red,shipped-eu,tagged", $"rules {string.Join(",", listed.Select(r => r.Name))}");
        var correlation = listed[1].Filter as CorrelationRuleFilter ?? throw new CheckFailed($"shipped-eu came back as {listed[1].Filter}");
        Expect(correlation.Subject == "Shipped" && Equals(correlation.ApplicationProperties["region"], "EU") && Equals(correlation.ApplicationProperties["priority"], 2), $"correlation filter {correlation}");
        Expect(listed[1].Action is null, $"shipped-eu action {listed[1].Action}");
        Expect(listed[2].Action is SqlRuleAction { SqlExpression: "SET tag = 'seen'" }, $"tagged action {listed[2].Action}");

        await using var sender = client.CreateSender(topic);
        await sender.SendMessagesAsync(
        [
            new ServiceBusMessage("eu") { MessageId = "shipped-eu-1", Subject = "Shipped", ApplicationProperties = { ["region"] = "EU", ["priority"] = 2 } },
            new ServiceBusMessage("us") { MessageId = "shipped-us-1", Subject = "Shipped", ApplicationProperties = { ["region"] = "US", ["priority"] = 2 } },
            new ServiceBusMessage("x") { MessageId = "tagged-1", ApplicationProperties = { ["kind"] = "x" } },
        ], ct);
        await using var receiver = client.CreateReceiver(topic, subscription);
        var got = new List<ServiceBusReceivedMessage>();
        for (var m = await receiver.ReceiveMessageAsync(Wait, ct); m is not null; m = await receiver.ReceiveMessageAsync(TimeSpan.FromMilliseconds(500), ct))
        {
            got.Add(m);
            await receiver.CompleteMessageAsync(m, ct);
        }
        Expect(string.Join(",", got.Select(m => m.MessageId)) == "shipped-eu-1,tagged-1", $"the subscription got {string.Join(",", got.Select(m => m.MessageId))}");
        Expect(Equals(got[1].ApplicationProperties["tag"], "seen") && Equals(got[1].ApplicationProperties["RuleName"], "tagged"), "the action's copy lacks tag or RuleName");

        await rules.DeleteRuleAsync("shipped-eu", ct);
        await rules.DeleteRuleAsync("tagged", ct);
        // A $management refusal as .NET reads it: status code and error condition to the reason.
        string? missing = null;
        try
        {
            await rules.DeleteRuleAsync("no-such-rule", ct);
        }
        catch (ServiceBusException e)
        {
            missing = e.Reason.ToString();
        }
        Expect(missing == nameof(ServiceBusFailureReason.MessagingEntityNotFound), $"removing an unknown rule: {missing ?? "not refused"}");
        var after = await List();
        Expect(after.Count == 1 && after[0].Name == "red", $"rules after: {string.Join(",", after.Select(r => r.Name))}");
        return new() { ["rules"] = listed.Select(r => r.Name).ToList(), ["received"] = got.Select(m => m.MessageId).ToList() };
    }
}

sealed class EventHubSteps(string connectionString, string hub)
{
    public IEnumerable<(string, Func<CancellationToken, Task<Dictionary<string, object?>>>)> All() =>
    [
        ("event-hub-properties", Properties),
        ("event-hub-partition-key", PartitionKeyRoundTrip),
    ];

    async Task<Dictionary<string, object?>> Properties(CancellationToken ct)
    {
        await using var producer = new EventHubProducerClient(connectionString, hub);
        var props = await producer.GetEventHubPropertiesAsync(ct);
        var partition = await producer.GetPartitionPropertiesAsync(props.PartitionIds[0], ct);
        return new() { ["name"] = props.Name, ["partitionIds"] = props.PartitionIds.ToList(), ["firstPartition"] = partition.Id };
    }

    // Sent with a partition key through the hub (the service picks the partition by its hash);
    // found again by reading the partition whose last enqueued sequence number moved.
    async Task<Dictionary<string, object?>> PartitionKeyRoundTrip(CancellationToken ct)
    {
        const string key = "order-42";
        await using var producer = new EventHubProducerClient(connectionString, hub);
        var ids = await producer.GetPartitionIdsAsync(ct);
        var before = new Dictionary<string, long>();
        foreach (var id in ids) before[id] = (await producer.GetPartitionPropertiesAsync(id, ct)).LastEnqueuedSequenceNumber;
        using var batch = await producer.CreateBatchAsync(new CreateBatchOptions { PartitionKey = key }, ct);
        var sent = new EventData(BinaryData.FromString("{\"orderId\":\"o-42\"}")) { MessageId = "net-event-1", ContentType = "application/json" };
        sent.Properties["source"] = "dotnet";
        if (!batch.TryAdd(sent)) throw new CheckFailed("the event did not fit an empty batch");
        await producer.SendAsync(batch, ct);
        var landed = new List<string>();
        foreach (var id in ids)
            if ((await producer.GetPartitionPropertiesAsync(id, ct)).LastEnqueuedSequenceNumber != before[id]) landed.Add(id);
        if (landed.Count != 1) throw new CheckFailed($"the event moved {landed.Count} partitions");

        await using var consumer = new EventHubConsumerClient(EventHubConsumerClient.DefaultConsumerGroupName, connectionString, hub);
        // An empty read every second (the machine may be busy running other tests); given up after 30 s.
        var options = new ReadEventOptions { MaximumWaitTime = TimeSpan.FromSeconds(1) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        await foreach (var e in consumer.ReadEventsFromPartitionAsync(landed[0], EventPosition.FromSequenceNumber(before[landed[0]], isInclusive: false), options, ct))
        {
            if (e.Data is null && DateTime.UtcNow > deadline) throw new CheckFailed($"nothing came back from partition {landed[0]} in 30 s");
            if (e.Data is null) continue;
            if (e.Data.MessageId != "net-event-1") continue;
            return new()
            {
                ["partition"] = landed[0],
                ["partitionKey"] = e.Data.PartitionKey,
                ["body"] = e.Data.EventBody.ToString(),
                ["contentType"] = e.Data.ContentType,
                ["source"] = e.Data.Properties.TryGetValue("source", out var source) ? source : null,
                ["sequenceNumber"] = e.Data.SequenceNumber,
            };
        }
        throw new CheckFailed("the read ended without the event");
    }
}
