import { compareRoutes, RouteTemplate, RouteTemplateError } from '../../src/host/route-template';

describe('route templates (ASP.NET Core syntax, as Azure Functions uses)', () => {
  test.each([
    ['orders/{id}', 'orders/42', { id: '42' }],
    ['orders/{id}', 'ORDERS/abc', { id: 'abc' }], // literals are case-insensitive
    ['orders/{id:int}', 'orders/42', { id: '42' }],
    ['orders/{id:guid}', 'orders/0d9ff4c3-4f7c-4e39-8a1e-6a4e2f0f8a11', { id: '0d9ff4c3-4f7c-4e39-8a1e-6a4e2f0f8a11' }],
    ['orders/{id}/items/{sku}', 'orders/o-1/items/SKU%2F1', { id: 'o-1', sku: 'SKU/1' }],
    ['files/{*path}', 'files/a/b/c.txt', { path: 'a/b/c.txt' }],
    ['reports/{year:int?}', 'reports', {}],
    ['reports/{year=2026}', 'reports', { year: '2026' }],
    ['archive/{name:alpha:minlength(2)}', 'archive/ab', { name: 'ab' }],
    ['codes/{code:regex(^[a-z]{{3}}$)}', 'codes/abc', { code: 'abc' }],
    ['v{version:int}/orders', 'v2/orders', { version: '2' }],
    ['', '', {}],
  ])('%s matches %s', (template, path, params) => {
    expect(new RouteTemplate(template).match(path)?.params).toEqual(params);
  });

  test.each([
    ['orders/{id:int}', 'orders/abc'],
    ['orders/{id}', 'orders'],
    ['orders/{id}', 'orders/1/extra'],
    ['archive/{name:alpha:minlength(2)}', 'archive/a'],
    ['codes/{code:regex(^[a-z]{{3}}$)}', 'codes/abcd'],
    ['reports/{year:int?}', 'reports/x'],
    ['orders/{id:range(1,10)}', 'orders/11'],
  ])('%s does not match %s', (template, path) => {
    expect(new RouteTemplate(template).match(path)).toBeUndefined();
  });

  test('precedence: literal, then constrained, then plain, then optional, then catch-all', () => {
    const routes = ['items/{*rest}', 'items/{id?}', 'items/{id}', 'items/{id:int}', 'items/special'].map((t) => new RouteTemplate(t));
    expect(routes.sort(compareRoutes).map((r) => r.template)).toEqual(['items/special', 'items/{id:int}', 'items/{id}', 'items/{id?}', 'items/{*rest}']);
  });

  test.each([['a/{x}/{x}'], ['a/{*rest}/b'], ['a/{x:nosuch}'], ['a/{x']])('%s is rejected', (template) => {
    expect(() => new RouteTemplate(template)).toThrow(RouteTemplateError);
  });
});
