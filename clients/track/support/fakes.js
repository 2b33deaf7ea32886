"use strict";
/* Deterministic fakes for the SDK tests: clock + timers, transport, storage, DOM, wx. */

const SiyuTrack = require("../siyu-track.js");

const START = Date.UTC(2026, 10, 2, 2, 0, 0); // 2026-11-02 10:00 Shanghai

function fakeClock(start = START) {
  let t = start;
  let nextId = 1;
  const timers = new Map();
  return {
    now: () => t,
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.set(id, { at: t + Math.max(0, ms || 0), fn, id });
      return id;
    },
    clearTimeout(id) {
      timers.delete(id);
    },
    /** Runs due timers in time order, awaiting promise work after each one. */
    async advance(ms) {
      const target = t + ms;
      for (;;) {
        await settle();
        let due = null;
        for (const timer of timers.values()) {
          if (timer.at <= target && (!due || timer.at < due.at || (timer.at === due.at && timer.id < due.id))) due = timer;
        }
        if (!due) break;
        timers.delete(due.id);
        t = due.at;
        due.fn();
      }
      t = target;
      await settle();
    },
    pending: () => [...timers.values()].map((x) => x.at - t).sort((a, b) => a - b),
  };
}

/** Let every queued promise callback run (the SDK's send chain is a few hops long). */
async function settle() {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * A transport whose answers are scripted: each entry is a response object
 * ({status, headers, data}), an Error (network failure), or a function(request, n).
 * When the script runs out it answers 200 {accepted: n, rejected: []}.
 */
function fakeTransport(clock, script = []) {
  const calls = [];
  const beacons = [];
  const transport = {
    calls,
    beacons,
    script,
    beaconResult: true,
    send(request) {
      const body = JSON.parse(request.body);
      calls.push({ at: clock.now(), url: request.url, headers: request.headers, body, ids: body.batch.map((e) => e.event_id) });
      const next = script.length ? script.shift() : null;
      if (next instanceof Error) return Promise.reject(next);
      const answer = typeof next === "function" ? next(request, calls.length) : next;
      return Promise.resolve(answer || { status: 200, headers: {}, data: { accepted: body.batch.length, rejected: [] } });
    },
  };
  transport.withBeacon = function () {
    transport.beacon = function (url, body, headers) {
      beacons.push({ url, body: JSON.parse(body), headers });
      return transport.beaconResult;
    };
    return transport;
  };
  return transport;
}

function fakeStorage() {
  const data = new Map();
  return {
    data,
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
    removeItem: (k) => data.delete(k),
  };
}

/** A seeded PRNG (mulberry32) so "random" stays deterministic but varied. */
function seeded(seed = 42) {
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeTracker(overrides = {}) {
  const clock = overrides.clock || fakeClock();
  const transport = overrides.transport || fakeTransport(clock);
  const storage = overrides.storage || fakeStorage();
  const errors = [];
  const tracker = SiyuTrack.createTracker({
    endpoint: "https://shop.example.com/api/track",
    transport,
    storage,
    now: clock.now,
    random: seeded(overrides.seed || 7),
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    onError: (e) => errors.push(e),
    ...overrides.options,
  });
  return { tracker, clock, transport, storage, errors };
}

/** Events the tracker queued (read back from its persisted queue). */
function storedQueue(storage, prefix = "siyu_track.") {
  return JSON.parse(storage.getItem(prefix + "queue") || "[]");
}

/* ---- a tiny fake DOM: just what the click delegation and autoTrackBrowser use ---- */
class FakeTarget {
  constructor() {
    this.listeners = {};
  }
  addEventListener(type, fn) {
    (this.listeners[type] = this.listeners[type] || []).push(fn);
  }
  removeEventListener(type, fn) {
    this.listeners[type] = (this.listeners[type] || []).filter((f) => f !== fn);
  }
  dispatch(type, event = {}) {
    for (const fn of this.listeners[type] || []) fn({ type, ...event });
  }
}

class FakeElement {
  constructor(tagName, attrs = {}, children = []) {
    this.tagName = tagName.toUpperCase();
    this.attributes = Object.entries(attrs).map(([name, value]) => ({ name, value: String(value) }));
    this.parentNode = null;
    for (const child of children) child.parentNode = this;
  }
  getAttribute(name) {
    const found = this.attributes.find((a) => a.name === name);
    return found ? found.value : null;
  }
}

function fakeWindow({ pathname = "/shop", search = "", hash = "", referrer = "" } = {}) {
  const win = new FakeTarget();
  win.location = { pathname, search, hash };
  win.document = new FakeTarget();
  win.document.visibilityState = "visible";
  win.document.referrer = referrer;
  return win;
}

function fakeWx(launch) {
  const store = new Map();
  const wx = {
    showHandlers: [],
    hideHandlers: [],
    requests: [],
    getLaunchOptionsSync: () => launch,
    onAppShow: (fn) => wx.showHandlers.push(fn),
    onAppHide: (fn) => wx.hideHandlers.push(fn),
    getStorageSync: (k) => (store.has(k) ? store.get(k) : ""),
    setStorageSync: (k, v) => store.set(k, v),
    removeStorageSync: (k) => store.delete(k),
    request: (opts) => wx.requests.push(opts),
    store,
  };
  return wx;
}

module.exports = {
  SiyuTrack,
  START,
  fakeClock,
  fakeTransport,
  fakeStorage,
  seeded,
  settle,
  makeTracker,
  storedQueue,
  FakeTarget,
  FakeElement,
  fakeWindow,
  fakeWx,
};
