"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { makeTracker, storedQueue, SiyuTrack } = require("../support/fakes.js");

const NO_SEND = { endpoint: null, maxQueue: 100 };

test("a shopper who did not arrive by a share starts the chain at depth 1", () => {
  const { tracker, storage } = makeTracker({ options: NO_SEND });
  tracker.identify(5);
  assert.equal(tracker.sharePath("pages/product/index?id=12"), "pages/product/index?id=12&sharer_id=5&share_depth=1");
  assert.equal(tracker.sharePath("pages/index/index"), "pages/index/index?sharer_id=5&share_depth=1");
  assert.equal(storedQueue(storage).filter((e) => e.event === "$share").length, 0); // sharePath() only builds
});

test("before login the sharer is the anonymous id", () => {
  const { tracker } = makeTracker({ options: NO_SEND });
  const path = tracker.sharePath("/pages/index/index");
  assert.equal(path, `/pages/index/index?sharer_id=${tracker.anonymousId()}&share_depth=1`);
});

test("the share depth read from the launch query grows by one per hop", () => {
  // given a shopper opened a share card (scene 1007) from shopper 7, who was at depth 2
  const { tracker, storage } = makeTracker({ options: NO_SEND });
  tracker.appLaunch({ scene: 1007, path: "pages/product/index", query: { id: "12", sharer_id: "7", share_depth: "2" } });
  tracker.identify(9);

  // when they share the product on
  const path = tracker.share("pages/product/index?id=12&sharer_id=7&share_depth=2&utm_source=ad", { method: "card" });

  // then their link names them at depth 3, without the old share params or the campaign
  assert.equal(path, "pages/product/index?id=12&sharer_id=9&share_depth=3");
  const events = storedQueue(storage);
  const launch = events.find((e) => e.event === "$launch");
  assert.equal(launch.scene, 1007);
  assert.equal(launch.page, "pages/product/index");
  assert.deepEqual(launch.query, { id: "12", sharer_id: "7", share_depth: "2" });
  assert.equal(launch.properties.sharer_id, "7");
  assert.equal(launch.properties.share_depth, 2);
  const share = events.find((e) => e.event === "$share");
  assert.deepEqual(
    { ...share.properties, $session_id: undefined, $lib_version: undefined },
    {
      $lib: "siyu-track",
      $lib_version: undefined,
      $session_id: undefined,
      $share_depth: 2,
      method: "card",
      sharer_id: "9",
      share_depth: 3,
      share_path: path,
      from_sharer_id: "7",
    }
  );
  assert.equal(share.shopper_id, 9);
  assert.equal(share.scene, 1007); // every event carries the latest scene
  assert.equal(tracker.shareDepth(), 2);
});

test("a share card without a depth counts as depth 1; bad depths are clamped", () => {
  const one = makeTracker({ options: NO_SEND }).tracker;
  one.appLaunch({ scene: 1008, query: { sharer_id: "3" } });
  assert.equal(one.shareDepth(), 1);
  assert.match(one.sharePath("p"), /share_depth=2$/);

  const odd = makeTracker({ options: NO_SEND }).tracker;
  odd.appLaunch({ scene: 1008, query: { sharer_id: "3", share_depth: "-4" } });
  assert.equal(odd.shareDepth(), 1);
});

test("H5 share links put the params before the hash route", () => {
  const { tracker } = makeTracker({ options: NO_SEND });
  tracker.identify(5);
  assert.equal(
    tracker.sharePath("https://shop.example.com/shop?sharer_id=1&x=y#/product/12?from=home"),
    "https://shop.example.com/shop?x=y&sharer_id=5&share_depth=1#/product/12?from=home"
  );
});

test("QR entries: the mini-program code scene param is decoded, plain-link QR q is kept", () => {
  const { tracker, storage } = makeTracker({ options: NO_SEND });
  tracker.appLaunch({ scene: 1047, path: "pages/index/index", query: { scene: encodeURIComponent("c=AB12&i=9x") } });
  tracker.appShow({ scene: 1011, query: { q: encodeURIComponent("https://shop.example.com/p/12"), scancode_time: "1700000000" } });
  const [launch, show] = storedQueue(storage);
  assert.equal(launch.properties.qr_scene, "c=AB12&i=9x");
  assert.equal(launch.scene, 1047);
  assert.equal(show.properties.qr_url, "https://shop.example.com/p/12");
  assert.equal(show.scene, 1011);
  assert.notEqual(show.properties.$session_id, launch.properties.$session_id); // a new scene is a new visit
});

test("referrerInfo.appId and utm params of the entry are recorded", () => {
  const { tracker, storage } = makeTracker({ options: NO_SEND });
  tracker.appLaunch({ scene: 1037, query: { utm_source: "partner" }, referrerInfo: { appId: "wx123" } });
  const [launch] = storedQueue(storage);
  assert.equal(launch.properties.referrer_app_id, "wx123");
  assert.equal(launch.properties.utm_source, "partner");
});

test("parseQuery decodes and keeps the first value", () => {
  assert.deepEqual(SiyuTrack.parseQuery("?a=1&b=x%20y&a=2&c&d=%E4%B8%AD+1"), { a: "1", b: "x y", c: "", d: "中 1" });
});

test("values the server would refuse are not sent: odd scenes, deep chains, reserved names, huge properties", () => {
  const { tracker, storage, errors } = makeTracker({ options: NO_SEND });
  tracker.appLaunch({ scene: 99, query: { sharer_id: "3", share_depth: "9999" } });
  assert.equal(tracker.scene(), null);
  assert.equal(tracker.shareDepth(), 255);
  assert.match(tracker.sharePath("p"), /share_depth=255$/);
  tracker.track("order.paid", { amount_fen: 100 });
  tracker.track("big", { blob: "x".repeat(9000) });
  const query = Object.fromEntries(Array.from({ length: 40 }, (_, i) => ["k" + i, "v"]));
  tracker.trackPage("pages/index/index", query);

  const events = storedQueue(storage);
  assert.deepEqual(events.map((e) => e.event), ["$launch", "$pageview"]);
  assert.equal(events[0].scene, undefined);
  assert.equal(Object.keys(events[1].query).length, 32);
  assert.deepEqual(errors.map((e) => e.reason), ["reserved", "properties_too_large"]);
});
