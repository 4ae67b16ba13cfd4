import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countDeltas, parseStat } from './haproxy-stats.ts';

const HEADER =
  '# pxname,svname,qcur,scur,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,req_tot,ttime,';

function stat(rows: string[]): string {
  return `${[HEADER, ...rows].join('\n')}\n\n`;
}

test("the frontend's answers by class and the backend's average time, per route", () => {
  const parsed = parseStat(
    stat([
      'r_web:80,FRONTEND,,0,0,40,2,3,1,0,46,,',
      'r_web:80,s0,0,0,0,40,2,3,1,0,46,12,',
      'r_web:80,BACKEND,0,0,0,40,2,3,1,0,46,12,',
      'r_idle:80,FRONTEND,,0,0,0,0,0,0,0,0,,',
      'r_idle:80,BACKEND,0,0,0,0,0,0,0,0,0,,',
    ]),
  );
  assert.deepEqual(parsed.get('r_web:80'), {
    answers: { '2xx': 40, '3xx': 2, '4xx': 3, '5xx': 1, error: 0 },
    averageSeconds: 0.012,
  });
  assert.equal(parsed.get('r_idle:80')?.averageSeconds, undefined);
});

test('deltas between polls; a counter that went down (a reload) counts from zero', () => {
  const first = parseStat(
    stat(['r_web:80,FRONTEND,,0,0,40,0,0,1,2,43,,', 'r_web:80,BACKEND,0,0,0,40,0,0,1,0,41,5,']),
  );
  const second = parseStat(
    stat(['r_web:80,FRONTEND,,0,0,55,0,0,1,2,58,,', 'r_web:80,BACKEND,0,0,0,55,0,0,1,0,56,5,']),
  );
  assert.deepEqual(countDeltas(first, second), [
    { name: 'r_web:80', statusClass: '2xx', count: 15, averageSeconds: 0.005 },
  ]);
  const reloaded = parseStat(
    stat(['r_web:80,FRONTEND,,0,0,7,0,0,0,0,7,,', 'r_web:80,BACKEND,0,0,0,7,0,0,0,0,7,4,']),
  );
  assert.deepEqual(countDeltas(second, reloaded), [
    { name: 'r_web:80', statusClass: '2xx', count: 7, averageSeconds: 0.004 },
  ]);
  assert.deepEqual(
    countDeltas(new Map(), first).map((d) => [d.statusClass, d.count]),
    [
      ['2xx', 40],
      ['5xx', 1],
      ['error', 2],
    ],
  );
});
