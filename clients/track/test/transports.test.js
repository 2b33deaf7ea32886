"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const zlib = require("node:zlib");
const { SiyuTrack, fakeWx, makeTracker, fakeClock } = require("../support/fakes.js");

function fakeFetch(answer) {
  const calls = [];
  const fn = async (url, init) => {
    calls.push({ url, init });
    if (answer instanceof Error) throw answer;
    const { status = 200, body = "", headers = {} } = answer || {};
    return new Response(body, { status, headers });
  };
  fn.calls = calls;
  return fn;
}

const BODY = JSON.stringify({ sent_at: 1, batch: [{ event_id: "abcdefgh-1", event: "a" }] });
const REQUEST = { url: "/api/track", body: BODY, headers: { "Content-Type": "application/json", "X-Siyu-Anonymous-Id": "h5-device-0001" } };

test("fetchTransport posts JSON with the headers and reads status, Retry-After and the answer", async () => {
  const fetch = fakeFetch({ status: 429, body: '{"error":{"code":"rate_limited"}}', headers: { "Retry-After": "12" } });
  const transport = SiyuTrack.fetchTransport(fetch, { CompressionStream: null, navigator: null });

  const res = await transport.send(REQUEST);

  assert.deepEqual(res, { status: 429, headers: { "retry-after": "12" }, data: { error: { code: "rate_limited" } } });
  const { url, init } = fetch.calls[0];
  assert.equal(url, "/api/track");
  assert.equal(init.method, "POST");
  assert.equal(init.body, BODY);
  assert.equal(init.headers["X-Siyu-Anonymous-Id"], "h5-device-0001");
  assert.equal(init.headers["Content-Encoding"], undefined);
});

test("fetchTransport gzips large bodies where CompressionStream exists", async () => {
  const fetch = fakeFetch({ status: 200, body: '{"accepted":1,"rejected":[]}' });
  const transport = SiyuTrack.fetchTransport(fetch, { CompressionStream: globalThis.CompressionStream, navigator: null, gzipMinBytes: 10 });

  const res = await transport.send(REQUEST);

  assert.equal(res.status, 200);
  const { init } = fetch.calls[0];
  assert.equal(init.headers["Content-Encoding"], "gzip");
  assert.equal(zlib.gunzipSync(Buffer.from(init.body)).toString("utf8"), BODY);
});

test("fetchTransport rejects on a network error and survives a non-JSON answer", async () => {
  const down = SiyuTrack.fetchTransport(fakeFetch(new TypeError("Failed to fetch")), { CompressionStream: null, navigator: null });
  await assert.rejects(down.send(REQUEST), TypeError);

  const html = SiyuTrack.fetchTransport(fakeFetch({ status: 502, body: "<html>bad gateway</html>" }), { CompressionStream: null, navigator: null });
  assert.deepEqual(await html.send(REQUEST), { status: 502, headers: { "retry-after": null }, data: null });
});

test("fetchTransport beacons with navigator.sendBeacon, else a keepalive fetch", async () => {
  const beacons = [];
  const nav = { sendBeacon: (url, blob) => beacons.push({ url, blob }) > 0 };
  const fetch = fakeFetch({ status: 200 });
  assert.equal(SiyuTrack.fetchTransport(fetch, { navigator: nav }).beacon("/api/track", BODY, REQUEST.headers), true);
  assert.equal(beacons.length, 1);
  assert.equal(beacons[0].blob.type, "application/json");
  assert.equal(await beacons[0].blob.text(), BODY);
  assert.equal(fetch.calls.length, 0);

  const refusing = { sendBeacon: () => { throw new TypeError("not allowed"); } };
  assert.equal(SiyuTrack.fetchTransport(fetch, { navigator: refusing }).beacon("/api/track", BODY, REQUEST.headers), true);
  assert.equal(fetch.calls.length, 1);
  assert.equal(fetch.calls[0].init.keepalive, true);
  assert.equal(fetch.calls[0].init.headers["X-Siyu-Anonymous-Id"], "h5-device-0001");
});

test("wxTransport wraps wx.request: status, lower-case headers, parsed data, fail → rejection", async () => {
  const wx = fakeWx({});
  const transport = SiyuTrack.wxTransport(wx);

  const pending = transport.send(REQUEST);
  const options = wx.requests[0];
  assert.equal(options.method, "POST");
  assert.equal(options.url, "/api/track");
  assert.equal(options.data, BODY);
  assert.equal(options.header["X-Siyu-Anonymous-Id"], "h5-device-0001");
  options.success({ statusCode: 429, header: { "Retry-After": "3" }, data: '{"error":{"code":"rate_limited"}}' });
  assert.deepEqual(await pending, { status: 429, headers: { "retry-after": "3" }, data: { error: { code: "rate_limited" } } });

  const failing = transport.send(REQUEST);
  wx.requests[1].fail({ errMsg: "request:fail timeout" });
  await assert.rejects(failing, (err) => err.errMsg === "request:fail timeout");
});

test("a tracker over wxTransport retries a failed wx.request", async () => {
  const clock = fakeClock();
  const wx = fakeWx({});
  const { tracker } = makeTracker({ clock, transport: SiyuTrack.wxTransport(wx), options: { batchSize: 1, random: () => 0.5 } });
  tracker.track("a");
  await clock.advance(0);
  wx.requests[0].fail({ errMsg: "request:fail" });
  await clock.advance(749);
  assert.equal(wx.requests.length, 1);
  await clock.advance(1);
  assert.equal(wx.requests.length, 2);
  assert.deepEqual(JSON.parse(wx.requests[1].data).batch, JSON.parse(wx.requests[0].data).batch); // same event ids
  wx.requests[1].success({ statusCode: 200, header: {}, data: { accepted: 1, rejected: [] } });
  await clock.advance(0);
  assert.equal(tracker.queueSize(), 0);
});

test("storage adapters: wx storage, localStorage, and a memory fallback when localStorage throws", () => {
  const wx = fakeWx({});
  const wxs = SiyuTrack.wxStorageAdapter(wx);
  assert.equal(wxs.getItem("k"), null);
  wxs.setItem("k", "v");
  assert.equal(wx.store.get("k"), "v");
  assert.equal(wxs.getItem("k"), "v");
  wxs.removeItem("k");
  assert.equal(wxs.getItem("k"), null);

  const map = new Map();
  const ls = SiyuTrack.localStorageAdapter({ getItem: (k) => (map.has(k) ? map.get(k) : null), setItem: (k, v) => map.set(k, v), removeItem: (k) => map.delete(k) });
  ls.setItem("a", "1");
  assert.equal(map.get("a"), "1");
  assert.equal(ls.getItem("a"), "1");

  const missing = SiyuTrack.localStorageAdapter(null);
  missing.setItem("a", "1");
  assert.equal(missing.getItem("a"), "1");

  // a tracker on a throwing localStorage still works for this visit
  const throwing = {
    getItem() {
      throw new Error("SecurityError");
    },
    setItem() {
      throw new Error("QuotaExceededError");
    },
    removeItem() {},
  };
  const { tracker, errors } = makeTracker({ storage: SiyuTrack.localStorageAdapter(throwing), options: { endpoint: null } });
  const id = tracker.anonymousId();
  assert.equal(tracker.anonymousId(), id);
  tracker.track("a");
  assert.equal(tracker.queueSize(), 1);
  assert.ok(errors.some((e) => e.type === "storage"));
});

test("the file works as a browser script: it defines window.SiyuTrack", () => {
  const vm = require("node:vm");
  const fs = require("node:fs");
  const path = require("node:path");
  const window = {};
  window.window = window;
  vm.runInNewContext(fs.readFileSync(path.join(__dirname, "..", "siyu-track.js"), "utf8"), { window });
  assert.equal(typeof window.SiyuTrack.createTracker, "function");
  assert.equal(window.SiyuTrack.VERSION, SiyuTrack.VERSION);
});
