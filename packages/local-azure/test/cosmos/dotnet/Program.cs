// Microsoft.Azure.Cosmos (the .NET SDK) against the local Azure's Cosmos DB REST API, in gateway
// mode over plain HTTP with the emulator's key: each step checks what the SDK returned and the
// process exits 1 if any step did not get what the service would answer. Run by
// dotnet-sdk.test.ts when LOCAL_AZURE_DOTNET_TESTS=1 (it needs the .NET SDK and NuGet).
using System.Net;
using Microsoft.Azure.Cosmos;
using Newtonsoft.Json;

var endpoint = args[0];
const string key = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";
using var client = new CosmosClient(endpoint, key, new CosmosClientOptions { ConnectionMode = ConnectionMode.Gateway, RequestTimeout = TimeSpan.FromSeconds(10) });
var failures = 0;

async Task Expect(string name, string expected, Func<Task<string>> actual)
{
    string got;
    try { got = await actual(); }
    catch (Exception e) { got = $"{e.GetType().Name}: {e.Message.Split('\n')[0]}"; }
    var ok = got == expected;
    if (!ok) failures++;
    Console.WriteLine($"{(ok ? "OK  " : "FAIL")} {name}: {got}{(ok ? "" : $" (expected {expected})")}");
}

async Task<string> StatusOf(Func<Task> call)
{
    try { await call(); return "no error"; }
    catch (CosmosException e) { return e.StatusCode.ToString(); }
}

async Task<string> Pages(Container c, string sql, QueryRequestOptions? options = null)
{
    var iterator = c.GetItemQueryIterator<object>(new QueryDefinition(sql).WithParameter("@min", 2), requestOptions: options);
    var pages = new List<string>();
    while (iterator.HasMoreResults)
    {
        var page = await iterator.ReadNextAsync();
        if (page.Count > 0) pages.Add(string.Join(",", page.Select(x => JsonConvert.SerializeObject(x))));
    }
    return string.Join(" | ", pages);
}

Database db = (await client.CreateDatabaseIfNotExistsAsync("dotnet")).Database;
Container c = (await db.CreateContainerIfNotExistsAsync("items", "/pk")).Container;
string etag = "";
await Expect("create", "Created", async () => { var r = await c.CreateItemAsync(new { id = "a", pk = "p", n = 1 }, new PartitionKey("p")); etag = r.ETag; return r.StatusCode.ToString(); });
await Expect("create again", "Conflict", () => StatusOf(() => c.CreateItemAsync(new { id = "a", pk = "p", n = 1 }, new PartitionKey("p"))));
await Expect("read", "1", async () => (string)(await c.ReadItemAsync<dynamic>("a", new PartitionKey("p"))).Resource.n.ToString());
await Expect("replace with If-Match", "OK", async () => (await c.ReplaceItemAsync(new { id = "a", pk = "p", n = 2 }, "a", new PartitionKey("p"), new ItemRequestOptions { IfMatchEtag = etag })).StatusCode.ToString());
await Expect("replace with a stale ETag", "PreconditionFailed", () => StatusOf(() => c.ReplaceItemAsync(new { id = "a", pk = "p", n = 3 }, "a", new PartitionKey("p"), new ItemRequestOptions { IfMatchEtag = etag })));
await Expect("read a missing item", "NotFound", () => StatusOf(() => c.ReadItemAsync<dynamic>("missing", new PartitionKey("p"))));
await Expect("upsert", "Created", async () => (await c.UpsertItemAsync(new { id = "b", pk = "q", n = 5 }, new PartitionKey("q"))).StatusCode.ToString());
for (var i = 0; i < 7; i++) await c.UpsertItemAsync(new { id = $"x{i}", pk = "x", n = i }, new PartitionKey("x"));
await Expect("patch", "12", async () => (string)(await c.PatchItemAsync<dynamic>("a", new PartitionKey("p"), new[] { PatchOperation.Increment("/n", 10) })).Resource.n.ToString());
await Expect("query pages", "12,6,5 | 5,4,3 | 2", () => Pages(c, "SELECT VALUE c.n FROM c WHERE c.n >= @min ORDER BY c.n DESC", new QueryRequestOptions { MaxItemCount = 3 }));
await Expect("query in a partition", "\"x0\",\"x1\",\"x2\",\"x3\" | \"x4\",\"x5\",\"x6\"", () => Pages(c, "SELECT VALUE c.id FROM c", new QueryRequestOptions { PartitionKey = new PartitionKey("x"), MaxItemCount = 4 }));
await Expect("COUNT", "9", () => Pages(c, "SELECT VALUE COUNT(1) FROM c"));
await Expect("aggregates", "{\"n\":9,\"hi\":12}", () => Pages(c, "SELECT COUNT(1) AS n, MAX(c.n) AS hi FROM c"));
await Expect("DISTINCT", "\"p\",\"q\",\"x\"", () => Pages(c, "SELECT DISTINCT VALUE c.pk FROM c ORDER BY c.pk"));
await Expect("OFFSET LIMIT", "1,2,3", () => Pages(c, "SELECT VALUE c.n FROM c ORDER BY c.n OFFSET 1 LIMIT 3"));
await Expect("TOP", "\"x0\",\"x1\"", () => Pages(c, "SELECT TOP 2 VALUE c.id FROM c ORDER BY c.n"));
await Expect("delete", "NoContent", async () => (await c.DeleteItemAsync<dynamic>("b", new PartitionKey("q"))).StatusCode.ToString());
await Expect("change feed from the beginning", "8 changes, then NotModified", async () =>
{
    var iterator = c.GetChangeFeedIterator<dynamic>(ChangeFeedStartFrom.Beginning(), ChangeFeedMode.LatestVersion);
    var seen = 0;
    for (var round = 0; round < 5 && iterator.HasMoreResults; round++)
    {
        var page = await iterator.ReadNextAsync();
        if (page.StatusCode == HttpStatusCode.NotModified) return $"{seen} changes, then NotModified";
        seen += page.Count;
    }
    return $"{seen} changes, never NotModified";
});
await Expect("delete the container", "NoContent", async () => (await c.DeleteContainerAsync()).StatusCode.ToString());
await db.DeleteAsync();
return failures == 0 ? 0 : 1;
