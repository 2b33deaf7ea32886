"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { makeTracker, storedQueue, FakeElement, fakeWindow, fakeWx, fakeTransport, fakeClock } = require("../support/fakes.js");

const NO_SEND = { endpoint: null, maxQueue: 1000 };
const names = (storage) => storedQueue(storage).map((e) => e.event);

test("data-track clicks: one delegated listener, data-track-* attributes become properties", () => {
  const { tracker, storage } = makeTracker({ options: NO_SEND });
  const win = fakeWindow({ hash: "#/product/12" });
  tracker.autoTrackBrowser(win, { pageviews: false });
  assert.equal(win.document.listeners.click.length, 1);

  // a click on the label inside a marked button
  const label = new FakeElement("span");
  const button = new FakeElement(
    "button",
    { "data-track": "add_to_cart", "data-track-product-id": "12", "data-track-sku": "red-L", "data-testid": "add-to-cart", class: "btn" },
    [label]
  );
  new FakeElement("div", { "data-track": "outer_should_not_fire" }, [button]);
  win.document.dispatch("click", { target: label });
  // a click on something unmarked
  const plain = new FakeElement("a", { href: "#/" });
  new FakeElement("nav", {}, [plain]);
  win.document.dispatch("click", { target: plain });

  const clicks = storedQueue(storage).filter((e) => !e.event.startsWith("$"));
  assert.equal(clicks.length, 1);
  const [click] = clicks;
  assert.equal(click.event, "add_to_cart");
  assert.equal(click.page, "/shop#/product/12");
  assert.equal(click.properties.product_id, 12);
  assert.equal(click.properties.sku, "red-L");
  assert.equal(click.properties.$element, "button");
  assert.ok(!("testid" in click.properties) && !("class" in click.properties));
});

test("a data-track name that the server would refuse is reported, not sent", () => {
  const { tracker, storage, errors } = makeTracker({ options: NO_SEND });
  tracker.handleClick({ target: new FakeElement("button", { "data-track": "Add To Cart!" }) });
  assert.equal(storage.getItem("siyu_track.queue"), null);
  assert.deepEqual(errors.map((e) => [e.type, e.event]), [["invalid_event", "Add To Cart!"]]);
});

test("H5: load gives $launch, $show and a $pageview with the landing scene and share params", () => {
  const { tracker, storage } = makeTracker({ options: NO_SEND });
  const win = fakeWindow({
    search: "?scene=1007&sharer_id=5&share_depth=1&qr_scene=c%3DAB12",
    hash: "#/product/12?from=banner",
    referrer: "https://mp.weixin.qq.com/",
  });
  tracker.autoTrackBrowser(win);

  const events = storedQueue(storage);
  assert.deepEqual(events.map((e) => e.event), ["$launch", "$show", "$pageview"]);
  assert.ok(events.every((e) => e.scene === 1007));
  const [launch, , view] = events;
  assert.equal(launch.properties.sharer_id, "5");
  assert.equal(launch.properties.share_depth, 1);
  assert.equal(launch.properties.qr_scene, "c=AB12");
  assert.equal(launch.referrer, "https://mp.weixin.qq.com/");
  assert.equal(view.page, "/shop#/product/12");
  assert.equal(view.query.from, "banner");
  assert.equal(view.query.sharer_id, "5");
  assert.equal(view.referrer, "https://mp.weixin.qq.com/");
  assert.equal(tracker.sharePath("/shop#/product/12"), `/shop?sharer_id=${tracker.anonymousId()}&share_depth=2#/product/12`);
});

test("H5: a hash change leaves the old page with its dwell time and views the new one", async () => {
  const { tracker, storage, clock } = makeTracker({ options: NO_SEND });
  const win = fakeWindow({ hash: "#/" });
  tracker.autoTrackBrowser(win);

  await clock.advance(4200);
  win.location.hash = "#/product/12";
  win.dispatch("hashchange");
  win.dispatch("hashchange"); // the same route again is not a new view

  const events = storedQueue(storage);
  assert.deepEqual(events.map((e) => e.event), ["$launch", "$show", "$pageview", "$page_leave", "$pageview"]);
  const leave = events[3];
  assert.equal(leave.page, "/shop#/");
  assert.equal(leave.properties.duration_ms, 4200);
  assert.equal(events[4].page, "/shop#/product/12");
  assert.equal(events[4].referrer, "/shop#/");
});

test("H5: hiding the tab records $page_leave + $hide with dwell times and sends by beacon", async () => {
  const clock = fakeClock();
  const transport = fakeTransport(clock).withBeacon();
  const { tracker, storage } = makeTracker({ clock, transport, options: { flushIntervalMs: 60000 } });
  const win = fakeWindow({ hash: "#/cart" });
  tracker.autoTrackBrowser(win);
  await clock.advance(3000);

  win.document.visibilityState = "hidden";
  win.document.dispatch("visibilitychange");
  win.dispatch("pagehide"); // already hidden: no second $hide

  assert.equal(transport.calls.length, 0);
  assert.equal(transport.beacons.length, 1);
  const sent = transport.beacons[0].body.batch;
  assert.deepEqual(sent.map((e) => e.event), ["$launch", "$show", "$pageview", "$page_leave", "$hide"]);
  assert.equal(sent[3].properties.duration_ms, 3000);
  assert.equal(sent[4].properties.duration_ms, 3000);
  assert.equal(transport.beacons[0].url, "https://shop.example.com/api/track");
  assert.equal(storedQueue(storage).length, 0);

  // coming back: $show (no new $pageview for the same route), the dwell clock restarts
  await clock.advance(10000);
  win.document.visibilityState = "visible";
  win.document.dispatch("visibilitychange");
  await clock.advance(2000);
  win.document.visibilityState = "hidden";
  win.document.dispatch("visibilitychange");
  const second = transport.beacons[1].body.batch;
  assert.deepEqual(second.map((e) => e.event), ["$show", "$page_leave", "$hide"]);
  assert.equal(second[0].properties.hidden_ms, 10000);
  assert.equal(second[1].properties.duration_ms, 2000);
});

test("H5: a refused beacon keeps the events for the next visit", async () => {
  const clock = fakeClock();
  const transport = fakeTransport(clock).withBeacon();
  transport.beaconResult = false;
  const { tracker, storage } = makeTracker({ clock, transport, options: { flushIntervalMs: 60000 } });
  const win = fakeWindow();
  tracker.autoTrackBrowser(win);
  win.dispatch("pagehide");
  assert.equal(transport.beacons.length, 1);
  assert.equal(storedQueue(storage).length, 5);
});

test("H5: destroy() removes every listener", () => {
  const { tracker } = makeTracker({ options: NO_SEND });
  const win = fakeWindow();
  tracker.autoTrackBrowser(win);
  tracker.destroy();
  const left = [win, win.document].flatMap((t) => Object.values(t.listeners).flat());
  assert.deepEqual(left, []);
});

test("mini-program: launch options, wx.onAppShow/onAppHide, trackPage from Page.onShow", async () => {
  const { tracker, storage, clock } = makeTracker({ options: { ...NO_SEND, platform: "miniprogram" } });
  const wx = fakeWx({ scene: 1044, path: "pages/product/index", query: { id: "12", sharer_id: "7", share_depth: "1" }, shareTicket: "t" });

  tracker.autoTrackMiniProgram(wx);
  wx.showHandlers.forEach((fn) => fn({ scene: 1044, path: "pages/product/index", query: { id: "12" } })); // cold start echo
  tracker.trackPage("pages/product/index", { id: "12" }); // Page.onShow
  await clock.advance(8000);
  wx.hideHandlers.forEach((fn) => fn());
  await clock.advance(60000);
  wx.showHandlers.forEach((fn) => fn({ scene: 1001, path: "pages/product/index", query: {} })); // back from "recent"
  tracker.trackPage("pages/product/index", { id: "12" }); // onShow again: same page, no new view

  const events = storedQueue(storage);
  assert.deepEqual(events.map((e) => e.event), ["$launch", "$show", "$pageview", "$page_leave", "$hide", "$show"]);
  assert.deepEqual(events.map((e) => e.scene), [1044, 1044, 1044, 1044, 1044, 1001]);
  assert.equal(events[0].properties.sharer_id, "7");
  assert.equal(events[2].page, "pages/product/index");
  assert.equal(events[3].properties.duration_ms, 8000);
  assert.equal(events[4].properties.duration_ms, 8000);
  assert.equal(events[5].properties.hidden_ms, 60000);
  assert.ok(events.every((e) => e.properties.$platform === "miniprogram"));
  assert.equal(tracker.sharePath("pages/product/index?id=12"), `pages/product/index?id=12&sharer_id=${tracker.anonymousId()}&share_depth=2`);
});

test("mini-program: wrapApp() hooks App onLaunch/onShow/onHide and still calls the app's own", () => {
  const { tracker, storage } = makeTracker({ options: NO_SEND });
  const calls = [];
  const app = tracker.wrapApp({
    globalData: { x: 1 },
    onLaunch(o) {
      calls.push(["launch", o.scene, this.globalData.x]);
    },
    onHide() {
      calls.push(["hide"]);
    },
  });
  assert.deepEqual(app.globalData, { x: 1 });
  app.onLaunch({ scene: 1058, path: "pages/index/index", query: {} });
  app.onShow({ scene: 1058, path: "pages/index/index", query: {} });
  app.onHide();
  assert.deepEqual(calls, [["launch", 1058, 1], ["hide"]]);
  assert.deepEqual(names(storage), ["$launch", "$show", "$hide"]);
});

test("dwell times are capped below 24 hours", async () => {
  const { tracker, storage, clock } = makeTracker({ options: NO_SEND });
  tracker.appShow({ scene: 1001 });
  tracker.trackPage("pages/index/index");
  await clock.advance(3 * 86400000);
  tracker.appHide();
  const hide = storedQueue(storage).find((e) => e.event === "$hide");
  assert.equal(hide.properties.duration_ms, 86400000 - 1);
});
