"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { makeTracker, fakeStorage, storedQueue, fakeTransport, fakeClock } = require("../support/fakes.js");

test("the offline queue is persisted and flushed by a new tracker after a restart", async () => {
  // given a tracker that cannot reach the server
  const storage = fakeStorage();
  const first = makeTracker({ storage, options: { random: () => 0.5, batchSize: 2 } });
  first.transport.script.push(new Error("offline"), new Error("offline"), new Error("offline"));
  const ids = [first.tracker.track("a"), first.tracker.track("b"), first.tracker.track("c")];
  await first.clock.advance(2500);
  assert.ok(first.transport.calls.length >= 2);
  assert.deepEqual(storedQueue(storage).map((e) => e.event_id), ids);
  first.tracker.destroy(); // the app is killed

  // when the app starts again on the same storage and the network is back
  const clock = fakeClock(first.clock.now() + 3600000);
  const second = makeTracker({ storage, clock, transport: fakeTransport(clock) });
  await clock.advance(0);

  // then the saved events go out first, with their original ids and times
  assert.equal(second.transport.calls.length, 1);
  const batch = second.transport.calls[0].body.batch;
  assert.deepEqual(batch.map((e) => e.event_id), ids);
  assert.ok(batch.every((e) => e.client_time < clock.now() - 3000000));
  assert.equal(storedQueue(storage).length, 0);
});

test("without an endpoint the tracker only queues (and never throws)", async () => {
  const { tracker, clock, transport, storage } = makeTracker({ options: { endpoint: null, batchSize: 1 } });
  tracker.track("a");
  tracker.track("b");
  await tracker.flush();
  await clock.advance(600000);
  assert.equal(transport.calls.length, 0);
  assert.equal(storedQueue(storage).length, 2);
});

test("the queue is bounded by maxQueue: the oldest events are dropped first", async () => {
  const { tracker, storage, errors } = makeTracker({ options: { endpoint: null, maxQueue: 5 } });
  for (let i = 0; i < 8; i++) tracker.track("tick", { i });

  assert.equal(tracker.queueSize(), 5);
  assert.deepEqual(storedQueue(storage).map((e) => e.properties.i), [3, 4, 5, 6, 7]);
  assert.equal(errors.filter((e) => e.type === "queue_overflow").length, 3);
  assert.equal(tracker.stats().overflow, 3);
});

test("a stored queue larger than maxQueue is trimmed to its newest events on start", async () => {
  const storage = fakeStorage();
  const big = makeTracker({ storage, options: { endpoint: null, maxQueue: 50 } });
  for (let i = 0; i < 30; i++) big.tracker.track("tick", { i });
  const small = makeTracker({ storage, options: { endpoint: null, maxQueue: 10 } });
  assert.equal(small.tracker.queueSize(), 10);
  small.tracker.track("tick", { i: 30 });
  assert.deepEqual(storedQueue(storage).map((e) => e.properties.i), [21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
});

test("a corrupt stored queue is ignored", async () => {
  const storage = fakeStorage();
  storage.setItem("siyu_track.queue", "{not json");
  const { tracker } = makeTracker({ storage, options: { endpoint: null } });
  assert.equal(tracker.queueSize(), 0);
  tracker.track("a");
  assert.equal(tracker.queueSize(), 1);
});

test("nothing the host or the environment does makes the SDK throw", async () => {
  const clock = fakeClock();
  const broken = {
    getItem() {
      throw new Error("SecurityError");
    },
    setItem() {
      throw new Error("QuotaExceededError");
    },
    removeItem() {
      throw new Error("SecurityError");
    },
  };
  const transport = {
    send() {
      throw new Error("sync boom");
    },
  };
  const { tracker } = makeTracker({
    clock,
    storage: broken,
    transport,
    options: {
      batchSize: 1,
      onError() {
        throw new Error("the host's hook is broken too");
      },
    },
  });
  const circular = { a: 1 };
  circular.self = circular;

  assert.doesNotThrow(() => {
    tracker.track("a", circular);
    tracker.track("Not A Valid Name");
    tracker.track(null);
    tracker.identify("not-a-number");
    tracker.identify(12);
    tracker.trackPage(undefined, "x=1");
    tracker.share(undefined);
    tracker.reset();
    tracker.appHide();
    tracker.handleClick(null);
    tracker.handleClick({ target: { getAttribute() { throw new Error("dom"); } } });
  });
  await clock.advance(60000);
  assert.ok(tracker.queueSize() >= 1); // kept in memory when storage refuses
});

test("events get unique, contract-shaped ids, also across trackers and restarts", () => {
  const ids = new Set();
  const ID = /^[A-Za-z0-9_.:-]{8,64}$/;
  for (const seed of [1, 2]) {
    const { tracker } = makeTracker({ seed, options: { endpoint: null, maxQueue: 10 } });
    for (let i = 0; i < 5000; i++) {
      const id = tracker.track("tick");
      assert.match(id, ID);
      ids.add(id);
    }
  }
  assert.equal(ids.size, 10000);

  // even a random() stuck at one value (same millisecond) cannot repeat an id within a tracker
  const { tracker } = makeTracker({ options: { endpoint: null, random: () => 0.25, maxQueue: 10 } });
  const stuck = new Set(Array.from({ length: 2000 }, () => tracker.track("tick")));
  assert.equal(stuck.size, 2000);
});
