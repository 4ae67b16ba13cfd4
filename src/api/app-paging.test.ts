/**
 * Paging of the large lists: `limit` and `after`, the answer a bare array, `Link: rel="next"`
 * to the next page until the last; without `limit`, the whole list as before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ApiResponse, Fixture } from './test-fixture.ts';
import { createFixture } from './test-fixture.ts';

function names(res: ApiResponse, key: string): string[] {
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assert.ok(Array.isArray(res.body), 'a bare array');
  return (res.body as Record<string, unknown>[]).map((item) => String(item[key]));
}

function nextLink(res: ApiResponse): string | undefined {
  const link = res.headers.get('link');
  if (link === null) return undefined;
  const match = /^<([^>]+)>; rel="next"$/.exec(link);
  assert.ok(match, `a next link: ${link}`);
  return match[1];
}

/** Follows the Link headers from `path`; every page's items, in order. */
async function walk(f: Fixture, path: string, key: string): Promise<string[][]> {
  const pages: string[][] = [];
  let next: string | undefined = path;
  while (next !== undefined) {
    const res = await f.call('GET', next);
    pages.push(names(res, key));
    next = nextLink(res);
    assert.ok(pages.length < 50, 'the links end');
  }
  return pages;
}

describe('paging', () => {
  let f: Fixture;
  before(async () => {
    f = createFixture();
    for (const name of ['e', 'a', 'd', 'b', 'c']) {
      const res = await f.call('POST', '/api/deploy', { name, image: 'skiff-demo:v1', replicas: 0 });
      assert.equal(res.status, 201, res.text);
    }
    for (const name of ['n3', 'n1', 'n2']) f.connectNode(name);
  });
  after(() => f.close());

  test('services: pages of two by name, linked to the end; no limit is the whole list', async () => {
    assert.deepEqual(await walk(f, '/api/services?limit=2', 'name'), [['a', 'b'], ['c', 'd'], ['e']]);
    const all = await f.call('GET', '/api/services');
    assert.deepEqual(names(all, 'name'), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(all.headers.get('link'), null);
    assert.deepEqual(names(await f.call('GET', '/api/services?after=c'), 'name'), ['d', 'e']);
    assert.equal((await f.call('GET', '/api/services?limit=x')).status, 400);
  });

  test('nodes: pages by id', async () => {
    assert.deepEqual(await walk(f, '/api/nodes?limit=2', 'id'), [['n1', 'n2'], ['n3']]);
  });

  test('events: after an id, oldest first, a full page links the next', async () => {
    const all = (await f.call('GET', '/api/events')).body as { id: number }[];
    assert.ok(all.length >= 5);
    const first = all[0]?.id ?? 0;
    const pages = await walk(f, `/api/events?after=${first - 1}&limit=2`, 'id');
    assert.deepEqual(
      pages.flat(),
      all.map((e) => String(e.id)),
    );
    assert.ok(pages.every((p) => p.length <= 2));
  });
});
