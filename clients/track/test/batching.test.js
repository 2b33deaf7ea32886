"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { makeTracker, storedQueue, fakeStorage } = require("../support/fakes.js");

const EVENT_ID = /^[A-Za-z0-9_.:-]{8,64}$/;
const EVENT_NAME = /^[$a-z][a-z0-9_.:$-]{0,63}$/;

test("events wait for batchSize, then go out together in one request", async () => {
  const { tracker, clock, transport } = makeTracker({ options: { batchSize: 3, flushIntervalMs: 60000 } });

  tracker.track("view_item", { product_id: 1 });
  tracker.track("view_item", { product_id: 2 });
  await clock.advance(10);
  assert.equal(transport.calls.length, 0);

  tracker.track("view_item", { product_id: 3 });
  await clock.advance(0);

  assert.equal(transport.calls.length, 1);
  assert.deepEqual(
    transport.calls[0].body.batch.map((e) => e.properties.product_id),
    [1, 2, 3]
  );
  assert.equal(tracker.queueSize(), 0);
});

test("a short queue is flushed when the interval elapses, not before", async () => {
  const { tracker, clock, transport } = makeTracker({ options: { batchSize: 20, flushIntervalMs: 5000 } });

  tracker.track("view_item");
  await clock.advance(4999);
  assert.equal(transport.calls.length, 0);
  await clock.advance(1);

  assert.equal(transport.calls.length, 1);
  assert.equal(transport.calls[0].at - transport.calls[0].body.batch[0].client_time, 5000);
});

test("the request body follows the /api/track contract", async () => {
  const { tracker, clock, transport } = makeTracker({ options: { batchSize: 2, appVersion: "3.1.0", platform: "h5" } });

  tracker.trackPage("/shop#/product/12", { from: "banner", n: 3 });
  tracker.track("add_to_cart", { sku_id: 7, nested: { ok: true }, skip: undefined, fn() {} });
  await clock.advance(0);

  const { body, headers, url } = transport.calls[0];
  assert.equal(url, "https://shop.example.com/api/track");
  assert.equal(body.sent_at, clock.now());
  assert.equal(headers["Content-Type"], "application/json");
  assert.equal(headers["X-Siyu-Anonymous-Id"], body.batch[0].anonymous_id);
  assert.equal(body.batch.length, 2);
  for (const e of body.batch) {
    assert.match(e.event_id, EVENT_ID);
    assert.match(e.event, EVENT_NAME);
    assert.equal(e.anonymous_id, tracker.anonymousId());
    assert.equal(typeof e.client_time, "number");
    assert.equal(typeof e.page, "string");
    assert.equal(typeof e.referrer, "string");
    assert.equal(e.shopper_id, undefined);
    assert.equal(e.properties.$lib, "siyu-track");
    assert.equal(e.properties.$app_version, "3.1.0");
    assert.equal(e.properties.$platform, "h5");
    assert.match(e.properties.$session_id, /^s-/);
  }
  const [view, cart] = body.batch;
  assert.equal(view.event, "$pageview");
  assert.equal(view.page, "/shop#/product/12");
  assert.deepEqual(view.query, { from: "banner", n: "3" });
  assert.equal(cart.page, "/shop#/product/12");
  assert.deepEqual(cart.properties.nested, { ok: true });
  assert.ok(!("skip" in cart.properties) && !("fn" in cart.properties));
});

test("a backlog larger than one request drains in successive requests of maxBatchEvents", async () => {
  // given an offline tracker (no endpoint) that built a backlog of 23 events
  const storage = fakeStorage();
  const offline = makeTracker({ storage, options: { endpoint: null, batchSize: 5 } });
  for (let i = 0; i < 23; i++) offline.tracker.track("tick", { i });
  await offline.clock.advance(60000);
  assert.equal(offline.transport.calls.length, 0);
  assert.equal(storedQueue(storage).length, 23);
  offline.tracker.destroy();

  // when an online tracker starts on the same storage
  const online = makeTracker({ storage, options: { batchSize: 5, maxBatchEvents: 10 } });
  await online.clock.advance(0);

  // then it sends 10 + 10 right away, and the last 3 on the interval, in order
  assert.deepEqual(online.transport.calls.map((c) => c.body.batch.length), [10, 10]);
  await online.clock.advance(5000);
  assert.deepEqual(online.transport.calls.map((c) => c.body.batch.length), [10, 10, 3]);
  assert.deepEqual(
    online.transport.calls.flatMap((c) => c.body.batch.map((e) => e.properties.i)),
    Array.from({ length: 23 }, (_, i) => i)
  );
  assert.equal(online.tracker.queueSize(), 0);
  assert.equal(storedQueue(storage).length, 0);
});
