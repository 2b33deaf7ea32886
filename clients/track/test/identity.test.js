"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { makeTracker, fakeStorage, storedQueue } = require("../support/fakes.js");

const NO_SEND = { endpoint: null, maxQueue: 100 };

test("the anonymous id is generated once, persisted, and reused after a restart", () => {
  const storage = fakeStorage();
  const first = makeTracker({ storage, options: { ...NO_SEND, platform: "miniprogram" } });
  const id = first.tracker.anonymousId();
  assert.match(id, /^mp-[A-Za-z0-9]{8,}$/);
  assert.equal(first.tracker.anonymousId(), id);
  assert.equal(storage.getItem("siyu_track.anonymous_id"), id);

  const second = makeTracker({ storage, seed: 99, options: NO_SEND });
  assert.equal(second.tracker.anonymousId(), id);
});

test("identify() tags later events with the shopper id, emits $identify once, and survives a restart", () => {
  const storage = fakeStorage();
  const { tracker } = makeTracker({ storage, options: NO_SEND });
  tracker.track("before_login");
  tracker.identify(42);
  tracker.identify("42"); // same shopper: no second $identify
  tracker.track("after_login");

  const events = storedQueue(storage);
  assert.deepEqual(events.map((e) => e.event), ["before_login", "$identify", "after_login"]);
  assert.equal(events[0].shopper_id, undefined);
  const identify = events[1];
  assert.equal(identify.shopper_id, 42);
  assert.equal(identify.anonymous_id, events[0].anonymous_id); // stitches the device to the shopper
  assert.equal(events[2].shopper_id, 42);
  assert.equal(tracker.shopperId(), 42);

  const restarted = makeTracker({ storage, options: NO_SEND });
  restarted.tracker.track("next_visit");
  assert.equal(storedQueue(storage).at(-1).shopper_id, 42);
});

test("identify() refuses ids that are not positive integers", () => {
  const { tracker, errors } = makeTracker({ options: NO_SEND });
  for (const bad of [0, -1, 1.5, "abc", null, undefined, {}]) tracker.identify(bad);
  assert.equal(tracker.shopperId(), null);
  assert.equal(tracker.queueSize(), 0);
  assert.equal(errors.filter((e) => e.type === "invalid_shopper_id").length, 7);
});

test("reset() forgets the shopper and starts a new anonymous id and session", () => {
  const storage = fakeStorage();
  const { tracker } = makeTracker({ storage, options: NO_SEND });
  tracker.identify(42);
  tracker.track("logged_in");
  const before = tracker.anonymousId();

  tracker.reset();
  tracker.track("logged_out");

  const [, loggedIn, loggedOut] = storedQueue(storage);
  assert.equal(loggedOut.shopper_id, undefined);
  assert.notEqual(loggedOut.anonymous_id, before);
  assert.notEqual(loggedOut.properties.$session_id, loggedIn.properties.$session_id);
  assert.equal(storage.getItem("siyu_track.shopper_id"), null);
  assert.equal(storage.getItem("siyu_track.anonymous_id"), loggedOut.anonymous_id);
  assert.equal(tracker.shopperId(), null);
});

test("a host-owned anonymous id (the storefront's device id) is used as is", () => {
  let device = "h5-device-0001";
  const { tracker, storage } = makeTracker({ options: { ...NO_SEND, anonymousId: () => device } });
  tracker.track("a");
  device = "h5-device-0002"; // the host rotated it on logout
  tracker.reset();
  tracker.track("b");
  assert.deepEqual(storedQueue(storage).map((e) => e.anonymous_id), ["h5-device-0001", "h5-device-0002"]);
});

test("sessions split after 30 minutes without events", async () => {
  const { tracker, clock, storage } = makeTracker({ options: NO_SEND });
  tracker.track("a");
  await clock.advance(29 * 60000);
  tracker.track("b");
  await clock.advance(30 * 60000 + 1);
  tracker.track("c");
  const [a, b, c] = storedQueue(storage).map((e) => e.properties.$session_id);
  assert.equal(a, b);
  assert.notEqual(b, c);
});
