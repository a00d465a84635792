// Drives a Cosmos DB account with Microsoft's .NET SDK (Microsoft.Azure.Cosmos, gateway mode over
// plain HTTP, the emulator's key): a client nobody on this project wrote, so what it expects of the
// REST API is Cosmos DB's dialect, not ours. One JSON line per step ({"step", "ok", ...what was
// seen}); the exit code is the number of failed steps (2 for bad usage).
//
//   dotnet CosmosCheck.dll <endpoint> <database>
//
// The database must not exist: the program creates it with its containers and deletes it at the end.
using System.Net;
using System.Text.Json;
using Microsoft.Azure.Cosmos;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: CosmosCheck <endpoint> <database>");
    return 2;
}

const string EmulatorKey = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";
using var client = new CosmosClient(args[0], EmulatorKey, new CosmosClientOptions
{
    ConnectionMode = ConnectionMode.Gateway,
    // Under `npm test` the machine's two cores are shared with every other suite: slow answers are not failures.
    RequestTimeout = TimeSpan.FromSeconds(60),
    // A refusal should show as the step's error, not hide behind retries.
    MaxRetryAttemptsOnRateLimitedRequests = 0,
});
using var bulkClient = new CosmosClient(args[0], EmulatorKey, new CosmosClientOptions
{
    ConnectionMode = ConnectionMode.Gateway,
    RequestTimeout = TimeSpan.FromSeconds(60),
    MaxRetryAttemptsOnRateLimitedRequests = 0,
    AllowBulkExecution = true,
});
var steps = new Steps(client, bulkClient, args[1]);
var failed = 0;
foreach (var (name, step) in steps.All())
{
    var line = new Dictionary<string, object?> { ["step"] = name };
    try
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var started = DateTime.UtcNow;
        var seen = await step(timeout.Token);
        line["ok"] = true;
        line["ms"] = (int)(DateTime.UtcNow - started).TotalMilliseconds;
        foreach (var (k, v) in seen) line[k] = v;
    }
    catch (Exception e)
    {
        failed++;
        line["ok"] = false;
        line["error"] = $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";
        if (e is CosmosException ce) line["status"] = (int)ce.StatusCode;
    }
    Console.WriteLine(JsonSerializer.Serialize(line));
}
return failed;

/// <summary>A step's failure: what was expected and what came.</summary>
sealed class CheckFailed(string message) : Exception(message);

/// <summary>The documents the steps write, as the SDK's default (Newtonsoft) serializer names them.</summary>
sealed record Item(string id, string pk, int n);

sealed class Steps(CosmosClient client, CosmosClient bulkClient, string databaseName)
{
    Database? database;
    Container? items;
    Container Items => items ?? throw new CheckFailed("the container was not created");

    public IEnumerable<(string, Func<CancellationToken, Task<Dictionary<string, object?>>>)> All() =>
    [
        ("create-container", CreateContainer),
        ("crud-etags", CrudWithETags),
        ("query-order-by-continuation", QueryOrderByContinuation),
        ("transactional-batch", TransactionalBatch),
        ("transactional-batch-rollback", TransactionalBatchRollback),
        ("bulk", Bulk),
        ("change-feed", ChangeFeed),
        ("delete-database", DeleteDatabase),
    ];

    static void Expect(bool condition, string what)
    {
        if (!condition) throw new CheckFailed(what);
    }

    static async Task<HttpStatusCode> StatusOf(Func<Task> call)
    {
        try
        {
            await call();
            return HttpStatusCode.OK;
        }
        catch (CosmosException e)
        {
            return e.StatusCode;
        }
    }

    async Task<Dictionary<string, object?>> CreateContainer(CancellationToken ct)
    {
        var db = await client.CreateDatabaseAsync(databaseName, cancellationToken: ct);
        Expect(db.StatusCode == HttpStatusCode.Created, $"database: {db.StatusCode}");
        database = db.Database;
        var created = await database.CreateContainerAsync(new ContainerProperties("items", "/pk"), cancellationToken: ct);
        Expect(created.StatusCode == HttpStatusCode.Created, $"container: {created.StatusCode}");
        items = created.Container;
        var again = await database.CreateContainerIfNotExistsAsync("items", "/pk", cancellationToken: ct);
        var read = await items.ReadContainerAsync(cancellationToken: ct);
        return new()
        {
            ["status"] = (int)created.StatusCode,
            ["ifNotExists"] = (int)again.StatusCode,
            ["partitionKeyPath"] = read.Resource.PartitionKeyPath,
        };
    }

    async Task<Dictionary<string, object?>> CrudWithETags(CancellationToken ct)
    {
        var pk = new PartitionKey("p");
        var created = await Items.CreateItemAsync(new Item("a", "p", 1), pk, cancellationToken: ct);
        var first = created.ETag;
        var conflict = await StatusOf(() => Items.CreateItemAsync(new Item("a", "p", 1), pk, cancellationToken: ct));
        var read = await Items.ReadItemAsync<Item>("a", pk, cancellationToken: ct);
        Expect(read.ETag == first && read.Resource.n == 1, $"read back: etag {read.ETag}, n {read.Resource.n}");
        // The stream API hands over a 304 as a status; the typed one would throw it.
        using var unchanged = await Items.ReadItemStreamAsync("a", pk, new ItemRequestOptions { IfNoneMatchEtag = first }, ct);
        var replaced = await Items.ReplaceItemAsync(new Item("a", "p", 2), "a", pk, new ItemRequestOptions { IfMatchEtag = first }, ct);
        Expect(replaced.ETag != first, "the replace kept the ETag");
        var stale = await StatusOf(() => Items.ReplaceItemAsync(new Item("a", "p", 3), "a", pk, new ItemRequestOptions { IfMatchEtag = first }, ct));
        using var changed = await Items.ReadItemStreamAsync("a", pk, new ItemRequestOptions { IfNoneMatchEtag = first }, ct);
        var upserted = await Items.UpsertItemAsync(new Item("a", "p", 4), pk, cancellationToken: ct);
        var patched = await Items.PatchItemAsync<Item>("a", pk, [PatchOperation.Increment("/n", 10)], cancellationToken: ct);
        var deleted = await Items.DeleteItemAsync<Item>("a", pk, cancellationToken: ct);
        var gone = await StatusOf(() => Items.ReadItemAsync<Item>("a", pk, cancellationToken: ct));
        return new()
        {
            ["create"] = (int)created.StatusCode,
            ["createAgain"] = (int)conflict,
            ["ifNoneMatchCurrent"] = (int)unchanged.StatusCode,
            ["replaceIfMatch"] = (int)replaced.StatusCode,
            ["replaceStale"] = (int)stale,
            ["ifNoneMatchStale"] = (int)changed.StatusCode,
            ["upsert"] = (int)upserted.StatusCode,
            ["patched"] = patched.Resource.n,
            ["delete"] = (int)deleted.StatusCode,
            ["readDeleted"] = (int)gone,
        };
    }

    async Task<Dictionary<string, object?>> QueryOrderByContinuation(CancellationToken ct)
    {
        // Three logical partitions, so the query is cross-partition and its ORDER BY is merged.
        for (var i = 0; i < 7; i++) await Items.UpsertItemAsync(new Item($"q{i}", $"q{i % 3}", i * 10), new PartitionKey($"q{i % 3}"), cancellationToken: ct);
        var query = new QueryDefinition("SELECT c.id, c.n FROM c WHERE STARTSWITH(c.id, @prefix) ORDER BY c.n DESC").WithParameter("@prefix", "q");
        var options = new QueryRequestOptions { MaxItemCount = 3 };
        var firstIterator = Items.GetItemQueryIterator<Item>(query, requestOptions: options);
        var firstPage = await firstIterator.ReadNextAsync(ct);
        var token = firstPage.ContinuationToken;
        Expect(token != null, "the first page of 3 out of 7 came without a continuation token");
        // A new iterator from the token alone, as a caller resuming in another request would.
        var resumed = Items.GetItemQueryIterator<Item>(query, token, options);
        var pages = new List<List<string>> { firstPage.Select(i => i.id).ToList() };
        while (resumed.HasMoreResults)
        {
            var page = await resumed.ReadNextAsync(ct);
            if (page.Count > 0) pages.Add(page.Select(i => i.id).ToList());
        }
        return new() { ["pages"] = pages, ["resumedWithToken"] = true };
    }

    async Task<Dictionary<string, object?>> TransactionalBatch(CancellationToken ct)
    {
        var pk = new PartitionKey("b");
        await Items.CreateItemAsync(new Item("b-replace", "b", 1), pk, cancellationToken: ct);
        await Items.CreateItemAsync(new Item("b-delete", "b", 1), pk, cancellationToken: ct);
        var current = await Items.ReadItemAsync<Item>("b-replace", pk, cancellationToken: ct);
        using var response = await Items.CreateTransactionalBatch(pk)
            .CreateItem(new Item("b-new", "b", 1))
            .UpsertItem(new Item("b-upserted", "b", 2))
            .ReplaceItem("b-replace", new Item("b-replace", "b", 3), new TransactionalBatchItemRequestOptions { IfMatchEtag = current.ETag })
            .ReadItem("b-new")
            .PatchItem("b-upserted", [PatchOperation.Set("/n", 20)])
            .DeleteItem("b-delete")
            .ExecuteAsync(ct);
        Expect(response.IsSuccessStatusCode, $"the batch failed: {response.StatusCode} {response.ErrorMessage}");
        var read = response.GetOperationResultAtIndex<Item>(3);
        var patched = response.GetOperationResultAtIndex<Item>(4);
        var deleted = await StatusOf(() => Items.ReadItemAsync<Item>("b-delete", pk, cancellationToken: ct));
        var replaced = await Items.ReadItemAsync<Item>("b-replace", pk, cancellationToken: ct);
        Expect(replaced.ETag == response[2].ETag, $"the replace's ETag {response[2].ETag} is not the item's {replaced.ETag}");
        return new()
        {
            ["status"] = (int)response.StatusCode,
            ["results"] = response.Select(r => (int)r.StatusCode).ToList(),
            ["readBack"] = read.Resource.id,
            ["patchedN"] = patched.Resource.n,
            ["replacedN"] = replaced.Resource.n,
            ["deletedRead"] = (int)deleted,
        };
    }

    async Task<Dictionary<string, object?>> TransactionalBatchRollback(CancellationToken ct)
    {
        var pk = new PartitionKey("r");
        await Items.CreateItemAsync(new Item("r-kept", "r", 1), pk, cancellationToken: ct);
        using var response = await Items.CreateTransactionalBatch(pk)
            .CreateItem(new Item("r-1", "r", 1))
            .ReplaceItem("r-kept", new Item("r-kept", "r", 2))
            .CreateItem(new Item("r-kept", "r", 3))
            .ExecuteAsync(ct);
        var left = await StatusOf(() => Items.ReadItemAsync<Item>("r-1", pk, cancellationToken: ct));
        var kept = await Items.ReadItemAsync<Item>("r-kept", pk, cancellationToken: ct);
        return new()
        {
            ["status"] = (int)response.StatusCode,
            ["results"] = response.Select(r => (int)r.StatusCode).ToList(),
            ["createdRead"] = (int)left,
            ["keptN"] = kept.Resource.n,
        };
    }

    async Task<Dictionary<string, object?>> Bulk(CancellationToken ct)
    {
        await Items.CreateItemAsync(new Item("k-taken", "k1", 0), new PartitionKey("k1"), cancellationToken: ct);
        // Point operations issued together: the bulk client groups them into batch requests
        // (x-ms-cosmos-batch-atomic: False), each operation on its own partition and on its own.
        var container = bulkClient.GetContainer(databaseName, "items");
        var creates = Enumerable.Range(0, 6).Select(i => i == 5 ? (id: "k-taken", pk: "k1") : (id: $"k{i}", pk: $"k{i % 3}")).ToList();
        var results = await Task.WhenAll(creates.Select(async c =>
        {
            try
            {
                return (int)(await container.CreateItemAsync(new Item(c.id, c.pk, 1), new PartitionKey(c.pk), cancellationToken: ct)).StatusCode;
            }
            catch (CosmosException e)
            {
                return (int)e.StatusCode;
            }
        }));
        var found = new List<string>();
        foreach (var c in creates.Take(5)) found.Add((await Items.ReadItemAsync<Item>(c.id, new PartitionKey(c.pk), cancellationToken: ct)).Resource.id);
        var taken = await Items.ReadItemAsync<Item>("k-taken", new PartitionKey("k1"), cancellationToken: ct);
        return new() { ["results"] = results, ["found"] = found, ["takenN"] = taken.Resource.n };
    }

    async Task<Dictionary<string, object?>> ChangeFeed(CancellationToken ct)
    {
        var feed = await database!.CreateContainerAsync(new ContainerProperties("feed", "/pk"), cancellationToken: ct);
        var container = feed.Container;
        foreach (var id in new[] { "f1", "f2", "f3" }) await container.CreateItemAsync(new Item(id, id == "f2" ? "y" : "x", 1), new PartitionKey(id == "f2" ? "y" : "x"), cancellationToken: ct);
        await container.UpsertItemAsync(new Item("f1", "x", 2), new PartitionKey("x"), cancellationToken: ct);
        var (first, token) = await Drain(container.GetChangeFeedIterator<Item>(ChangeFeedStartFrom.Beginning(), ChangeFeedMode.LatestVersion), ct);
        await container.CreateItemAsync(new Item("f4", "y", 1), new PartitionKey("y"), cancellationToken: ct);
        var (resumed, _) = await Drain(container.GetChangeFeedIterator<Item>(ChangeFeedStartFrom.ContinuationToken(token), ChangeFeedMode.LatestVersion), ct);
        return new()
        {
            ["fromBeginning"] = first.OrderBy(s => s, StringComparer.Ordinal).ToList(),
            ["resumed"] = resumed,
        };
    }

    /// <summary>Reads until the feed answers 304: what it returned (id:n) and the continuation to resume from.</summary>
    static async Task<(List<string>, string)> Drain(FeedIterator<Item> iterator, CancellationToken ct)
    {
        var seen = new List<string>();
        for (var round = 0; round < 20 && iterator.HasMoreResults; round++)
        {
            var page = await iterator.ReadNextAsync(ct);
            if (page.StatusCode == HttpStatusCode.NotModified) return (seen, page.ContinuationToken);
            seen.AddRange(page.Select(i => $"{i.id}:{i.n}"));
        }
        throw new CheckFailed($"the change feed never answered NotModified (saw {string.Join(",", seen)})");
    }

    async Task<Dictionary<string, object?>> DeleteDatabase(CancellationToken ct)
    {
        var deleted = await database!.DeleteAsync(cancellationToken: ct);
        var gone = await StatusOf(() => client.GetDatabase(databaseName).ReadAsync(cancellationToken: ct));
        return new() { ["status"] = (int)deleted.StatusCode, ["readAfter"] = (int)gone };
    }
}
