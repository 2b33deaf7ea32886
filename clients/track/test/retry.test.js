"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { makeTracker, storedQueue } = require("../support/fakes.js");

const http = (status, data = null, headers = {}) => ({ status, data, headers });
const ok = (n) => http(200, { accepted: n, rejected: [] });
// random() fixed at 0.5 → each delay is 75 % of its exponential step (equal jitter)
const HALF = { random: () => 0.5, batchSize: 1, backoffBaseMs: 1000, backoffMaxMs: 8000 };

function gaps(calls) {
  return calls.slice(1).map((c, i) => c.at - calls[i].at);
}

test("503s are retried with exponential backoff and jitter, with the same event ids", async () => {
  const { tracker, clock, transport } = makeTracker({ options: HALF });
  transport.script.push(http(503), http(503), http(503), http(503), http(503), ok(1));

  const id = tracker.track("pay");
  await clock.advance(60000);

  assert.equal(transport.calls.length, 6);
  // 1 s, 2 s, 4 s, 8 s, then capped at 8 s; 0.75 of each with random() = 0.5
  assert.deepEqual(gaps(transport.calls), [750, 1500, 3000, 6000, 6000]);
  for (const call of transport.calls) assert.deepEqual(call.ids, [id]);
  assert.equal(tracker.queueSize(), 0);
});

test("the jitter spreads each step between 50 % and 100 % of it", async () => {
  for (const [r, expected] of [
    [0, [500, 1000, 2000]],
    [0.999999, [1000, 2000, 4000]],
  ]) {
    const { tracker, clock, transport } = makeTracker({ options: { ...HALF, random: () => r } });
    transport.script.push(http(500), http(502), http(504), ok(1));
    tracker.track("pay");
    await clock.advance(60000);
    assert.deepEqual(gaps(transport.calls), expected);
  }
});

test("network errors are retried on the same schedule and the backoff resets after a success", async () => {
  const { tracker, clock, transport, errors } = makeTracker({ options: HALF });
  transport.script.push(new Error("offline"), new Error("offline"), ok(1), new Error("offline"), ok(1));

  tracker.track("a");
  await clock.advance(10000);
  assert.deepEqual(gaps(transport.calls), [750, 1500]);
  const retries = errors.filter((e) => e.type === "retry");
  assert.deepEqual(retries.map((e) => [e.status, e.attempt, e.delay_ms]), [
    [0, 1, 750],
    [0, 2, 1500],
  ]);

  tracker.track("b");
  await clock.advance(10000);
  // the first failure after a success waits one base step again
  assert.equal(transport.calls.at(-1).at - transport.calls.at(-2).at, 750);
  assert.equal(tracker.queueSize(), 0);
});

test("events tracked during a backoff wait for the retry and travel with it", async () => {
  const { tracker, clock, transport } = makeTracker({ options: { ...HALF, batchSize: 2 } });
  transport.script.push(http(503));
  tracker.track("a");
  tracker.track("b");
  await clock.advance(0);
  assert.equal(transport.calls.length, 1);

  tracker.track("c");
  tracker.track("d"); // reaches batchSize, but the tracker is backing off
  await clock.advance(749);
  assert.equal(transport.calls.length, 1);
  await clock.advance(1);
  assert.deepEqual(transport.calls[1].body.batch.map((e) => e.event), ["a", "b", "c", "d"]);
});

test("429 waits exactly Retry-After (seconds or an HTTP date) instead of the backoff", async () => {
  const { tracker, clock, transport } = makeTracker({ options: HALF });
  const inNineSeconds = () => new Date(clock.now() + 9000).toUTCString();
  transport.script.push(http(429, null, { "retry-after": "7" }), () => http(429, null, { "retry-after": inNineSeconds() }), ok(1));

  tracker.track("pay");
  await clock.advance(6999);
  assert.equal(transport.calls.length, 1);
  await clock.advance(1);
  assert.equal(transport.calls.length, 2);
  await clock.advance(9000);
  assert.equal(transport.calls.length, 3);
  assert.deepEqual(gaps(transport.calls), [7000, 9000]);
  assert.equal(tracker.queueSize(), 0);
});

test("a 503 with Retry-After also honours it", async () => {
  const { tracker, clock, transport } = makeTracker({ options: HALF });
  transport.script.push(http(503, null, { "retry-after": "30" }), ok(1));
  tracker.track("pay");
  await clock.advance(60000);
  assert.deepEqual(gaps(transport.calls), [30000]);
});

test("events the server rejected are reported and never retried", async () => {
  const { tracker, clock, transport, errors } = makeTracker({ options: { ...HALF, batchSize: 3 } });
  transport.script.push(
    http(200, { accepted: 2, rejected: [{ index: 1, code: "invalid_event", message: "bad property" }] })
  );

  tracker.track("a");
  const bad = tracker.track("b");
  tracker.track("c");
  await clock.advance(60000);

  assert.equal(transport.calls.length, 1);
  assert.equal(tracker.queueSize(), 0);
  const rejected = errors.find((e) => e.type === "rejected");
  assert.deepEqual(rejected.rejected, [{ event_id: bad, event: "b", code: "invalid_event", message: "bad property" }]);
  assert.equal(tracker.stats().rejected, 1);
  assert.equal(tracker.stats().sent, 2);
});

for (const status of [400, 413, 415, 422]) {
  test(`a ${status} drops the batch without retrying, and later events still go out`, async () => {
    const { tracker, clock, transport, storage, errors } = makeTracker({ options: HALF });
    const error = { error: { code: "invalid", message: "nope", fields: {} } };
    transport.script.push(http(status, error));

    tracker.track("a");
    await clock.advance(60000);
    assert.equal(transport.calls.length, 1);
    assert.equal(tracker.queueSize(), 0);
    assert.equal(storedQueue(storage).length, 0);
    const dropped = errors.find((e) => e.type === "dropped");
    assert.equal(dropped.status, status);
    assert.equal(dropped.count, 1);
    assert.deepEqual(dropped.error, error.error);

    tracker.track("b");
    await clock.advance(0);
    assert.equal(transport.calls.length, 2);
    assert.equal(transport.calls[1].body.batch[0].event, "b");
  });
}

test("a 404 (endpoint not deployed yet) keeps the events queued and retries", async () => {
  const { tracker, clock, transport, storage } = makeTracker({ options: HALF });
  transport.script.push(http(404), http(404));

  const id = tracker.track("a");
  await clock.advance(1000);
  assert.equal(transport.calls.length, 2);
  assert.deepEqual(storedQueue(storage).map((e) => e.event_id), [id]);
  await clock.advance(2000);
  assert.equal(tracker.queueSize(), 0);
});

test("retryNow() skips the remaining backoff (e.g. when the browser goes online)", async () => {
  const { tracker, clock, transport } = makeTracker({ options: HALF });
  transport.script.push(new Error("offline"));
  tracker.track("a");
  await clock.advance(100);
  assert.equal(transport.calls.length, 1);
  await tracker.retryNow();
  assert.equal(transport.calls.length, 2);
  assert.equal(tracker.queueSize(), 0);
});
