// The machinery the other tests rely on, checked against the servers alone: the two clusters
// hold their own fixtures on the majors named, and a cluster stopped by its data directory is
// really down (psql fails) until it is started again on the same port.
import assert from 'node:assert/strict';

import { describe, test } from '../lib/harness.mjs';
import { SALES, SUPPORT, isRunning, psqlOn, restart, stopImmediately } from './lib.mjs';

describe('the two clusters', () => {
  test('PostgreSQL 15 holds sales, PostgreSQL 18 holds support, each with its own tables', () => {
    assert.equal(SALES.major, 15);
    assert.equal(SUPPORT.major, 18);
    assert.match(psqlOn(SALES, 'SHOW server_version_num'), /^15\d{4}$/);
    assert.match(psqlOn(SUPPORT, 'SHOW server_version_num'), /^18\d{4}$/);
    assert.equal(psqlOn(SALES, 'SELECT name FROM origin'), 'sales');
    assert.equal(psqlOn(SUPPORT, 'SELECT name FROM origin'), 'support');
    assert.equal(psqlOn(SALES, "SELECT to_regclass('public.tickets') IS NULL"), 't');
    assert.equal(psqlOn(SUPPORT, "SELECT to_regclass('public.orders') IS NULL"), 't');
  });

  test('stopped by its data directory, a cluster is down until restarted on the same port', () => {
    assert.equal(isRunning(SUPPORT), true);
    stopImmediately(SUPPORT);
    try {
      assert.throws(() => psqlOn(SUPPORT, 'SELECT 1'));
      assert.equal(psqlOn(SALES, 'SELECT 1'), '1', 'the other cluster is untouched');
    } finally {
      restart(SUPPORT);
    }
    assert.equal(psqlOn(SUPPORT, 'SELECT name FROM origin'), 'support');
  });
});
