/* siyu-track.js: Siyu's client tracking SDK for the H5 storefront and WeChat mini-programs.
 *
 * Plain ES5 JavaScript, no build step, no dependencies. Load it as a browser <script>
 * (defines window.SiyuTrack) or require() it (CommonJS: mini-program, node tests).
 * Events go to POST /api/track in batches; see README.md for the contract and usage.
 *
 * Guarantees: never throws into the host app (every public method is guarded; problems
 * go to options.onError), events keep their event_id across retries (the server
 * dedups), the offline queue is persisted and bounded (oldest dropped first).
 */
(function (root, factory) {
  "use strict";
  var api = factory();
  if (typeof module === "object" && module && module.exports) module.exports = api;
  else if (root) root.SiyuTrack = api;
})(typeof window !== "undefined" ? window : typeof globalThis !== "undefined" ? globalThis : this, function () {
  "use strict";

  var VERSION = "1.0.0";
  var EVENT_RE = /^[$a-z][a-z0-9_.:$-]{0,63}$/;
  var ID_RE = /^[A-Za-z0-9_.:-]{8,64}$/;
  var ID_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  var SERVER_MAX_BATCH = 500;
  var MAX_DURATION_MS = 24 * 3600 * 1000 - 1; // dwell times are capped below 24 h
  var SESSION_IDLE_MS = 30 * 60 * 1000; // a new session after 30 min without events
  var MAX_RETRY_AFTER_MS = 3600 * 1000;
  var BEACON_MAX_BYTES = 60000; // sendBeacon/keepalive bodies are limited to 64 KiB
  var SHARE_PARAMS = ["sharer_id", "share_depth"];
  var MAX_SHARE_DEPTH = 255;
  var MAX_QUERY_PAIRS = 32;
  var MAX_PROPERTIES_BYTES = 8 * 1024;
  // only the server records these facts (revenue, registrations): the API refuses them
  var RESERVED_PREFIXES = ["order.", "refund.", "shopper.", "coupon.", "payment."];
  // Statuses that mean "try again later": rate limit, timeout, server errors, and an
  // endpoint that is not deployed yet (404/405) so a new client never loses events.
  var RETRY_STATUSES = { 0: 1, 404: 1, 405: 1, 408: 1, 425: 1, 429: 1 };

  function noop() {}

  function isObject(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }

  function clampInt(value, min, max, fallback) {
    var n = Number(value);
    if (value === undefined || value === null || !isFinite(n)) return fallback;
    n = Math.floor(n);
    return n < min ? min : n > max ? max : n;
  }

  function safeDecode(text) {
    try {
      return decodeURIComponent(String(text).replace(/\+/g, " "));
    } catch (e) {
      return String(text);
    }
  }

  /** "a=1&b=x%20y" or "?a=1" → {a: "1", b: "x y"} (first value wins). */
  function parseQuery(text) {
    var out = {};
    text = String(text || "");
    if (text.charAt(0) === "?" || text.charAt(0) === "#") text = text.slice(1);
    if (!text) return out;
    text.split("&").forEach(function (pair) {
      if (!pair) return;
      var cut = pair.indexOf("=");
      var key = safeDecode(cut < 0 ? pair : pair.slice(0, cut));
      var value = cut < 0 ? "" : safeDecode(pair.slice(cut + 1));
      if (key && !Object.prototype.hasOwnProperty.call(out, key)) out[key] = value;
    });
    return out;
  }

  /** Query values as strings, bounded (the contract: {"k": "v"}). */
  function cleanQuery(query) {
    var out = {};
    if (!isObject(query)) return out;
    var keys = Object.keys(query).slice(0, MAX_QUERY_PAIRS);
    keys.forEach(function (k) {
      var v = query[k];
      if (v === undefined || v === null || typeof v === "function") return;
      out[String(k).slice(0, 64)] = (typeof v === "object" ? JSON.stringify(v) : String(v)).slice(0, 512);
    });
    return out;
  }

  /** A JSON-safe copy of a plain object (drops functions, undefined, cycles → {}). */
  function cleanProperties(props) {
    if (!isObject(props)) return {};
    try {
      var copy = JSON.parse(JSON.stringify(props));
      return isObject(copy) ? copy : {};
    } catch (e) {
      return {};
    }
  }

  function assign(target) {
    for (var i = 1; i < arguments.length; i++) {
      var src = arguments[i];
      if (!src) continue;
      for (var k in src) if (Object.prototype.hasOwnProperty.call(src, k)) target[k] = src[k];
    }
    return target;
  }

  /** A WeChat scene value (1000–9999), else null. */
  function sceneValue(value) {
    var n = positiveInt(value);
    return n !== null && n >= 1000 && n <= 9999 ? n : null;
  }

  function reservedName(name) {
    for (var i = 0; i < RESERVED_PREFIXES.length; i++) if (name.indexOf(RESERVED_PREFIXES[i]) === 0) return true;
    return false;
  }

  function positiveInt(value) {
    if (typeof value === "string" && !/^\d{1,15}$/.test(value)) return null;
    var n = Number(value);
    return isFinite(n) && n > 0 && Math.floor(n) === n ? n : null;
  }

  /* ---------------------------------------------------------------- storage */

  function memoryStorage() {
    var data = {};
    return {
      getItem: function (k) {
        return Object.prototype.hasOwnProperty.call(data, k) ? data[k] : null;
      },
      setItem: function (k, v) {
        data[k] = String(v);
      },
      removeItem: function (k) {
        delete data[k];
      },
    };
  }

  /** window.localStorage (may be null or throwing in private mode → memory fallback). */
  function localStorageAdapter(ls) {
    var memory = memoryStorage();
    return {
      getItem: function (k) {
        try {
          if (ls) {
            var v = ls.getItem(k);
            if (v !== null && v !== undefined) return v;
          }
        } catch (e) {
          /* fall through to the memory copy */
        }
        return memory.getItem(k);
      },
      setItem: function (k, v) {
        memory.setItem(k, v);
        if (ls) ls.setItem(k, v); // a quota error surfaces to the tracker, which reports it
      },
      removeItem: function (k) {
        memory.removeItem(k);
        if (ls) ls.removeItem(k);
      },
    };
  }

  /** wx.getStorageSync / wx.setStorageSync / wx.removeStorageSync. */
  function wxStorageAdapter(wx) {
    return {
      getItem: function (k) {
        var v = wx.getStorageSync(k);
        return v === "" || v === undefined || v === null ? null : String(v);
      },
      setItem: function (k, v) {
        wx.setStorageSync(k, String(v));
      },
      removeItem: function (k) {
        if (typeof wx.removeStorageSync === "function") wx.removeStorageSync(k);
        else wx.setStorageSync(k, "");
      },
    };
  }

  /* -------------------------------------------------------------- transports */
  /* A transport is {send(request) → Promise<{status, headers, data}>, beacon?(url, body) → bool}.
   * request = {url, body (JSON string), headers}; response headers are lower-case keys;
   * send() rejects on a network error. */

  function gzipText(CS, text) {
    var stream = new Blob([text]).stream().pipeThrough(new CS("gzip"));
    return new Response(stream).arrayBuffer();
  }

  /** H5: over fetch() (gzip via CompressionStream when present), beacons via sendBeacon. */
  function fetchTransport(fetchFn, options) {
    options = options || {};
    var g = typeof window !== "undefined" ? window : typeof globalThis !== "undefined" ? globalThis : {};
    if (!fetchFn && typeof g.fetch === "function") fetchFn = g.fetch.bind(g);
    var nav = options.navigator !== undefined ? options.navigator : g.navigator || null;
    var CS = options.CompressionStream !== undefined ? options.CompressionStream : g.CompressionStream || null;
    var gzipMinBytes = clampInt(options.gzipMinBytes, 0, 1e9, 1024);
    var canGzip = !!(CS && typeof g.Blob === "function" && typeof g.Response === "function");

    function post(url, body, headers, keepalive) {
      return fetchFn(url, {
        method: "POST",
        headers: headers,
        body: body,
        credentials: "omit",
        keepalive: !!keepalive,
      });
    }

    return {
      send: function (request) {
        var prepared =
          canGzip && request.body.length >= gzipMinBytes
            ? gzipText(CS, request.body).then(
                function (bytes) {
                  return { body: bytes, gzip: true };
                },
                function () {
                  return { body: request.body, gzip: false };
                }
              )
            : Promise.resolve({ body: request.body, gzip: false });
        return prepared
          .then(function (p) {
            var headers = assign({}, request.headers);
            if (p.gzip) headers["Content-Encoding"] = "gzip";
            return post(request.url, p.body, headers, false);
          })
          .then(function (res) {
            var retryAfter = res.headers && typeof res.headers.get === "function" ? res.headers.get("Retry-After") : null;
            return Promise.resolve(typeof res.text === "function" ? res.text() : "")
              .then(null, function () {
                return "";
              })
              .then(function (text) {
                var data = null;
                try {
                  data = text ? JSON.parse(text) : null;
                } catch (e) {
                  data = null;
                }
                return { status: res.status, headers: { "retry-after": retryAfter }, data: data };
              });
          });
      },
      /* Page is going away: sendBeacon, else a keepalive fetch; true if handed over. */
      beacon: function (url, body, headers) {
        if (nav && typeof nav.sendBeacon === "function" && typeof g.Blob === "function") {
          try {
            if (nav.sendBeacon(url, new g.Blob([body], { type: "application/json" }))) return true;
          } catch (e) {
            /* some browsers refuse non-safelisted types; try keepalive below */
          }
        }
        if (!fetchFn) return false;
        try {
          post(url, body, headers, true).then(noop, noop);
          return true;
        } catch (e) {
          return false;
        }
      },
    };
  }

  /** Mini-program: over wx.request (no gzip, no beacon: the app keeps running briefly after onHide). */
  function wxTransport(wx) {
    return {
      send: function (request) {
        return new Promise(function (resolve, reject) {
          wx.request({
            url: request.url,
            method: "POST",
            data: request.body,
            header: request.headers,
            dataType: "text",
            success: function (res) {
              var headers = {};
              Object.keys(res.header || {}).forEach(function (k) {
                headers[k.toLowerCase()] = res.header[k];
              });
              var data = res.data;
              if (typeof data === "string") {
                try {
                  data = data ? JSON.parse(data) : null;
                } catch (e) {
                  data = null;
                }
              }
              resolve({ status: res.statusCode, headers: headers, data: data });
            },
            fail: function (err) {
              reject(err || new Error("wx.request failed"));
            },
          });
        });
      },
    };
  }

  /* ----------------------------------------------------------------- tracker */

  function createTracker(options) {
    options = options || {};
    var endpoint = options.endpoint || null; // null: queue only (offline), never send
    var transport = options.transport || null;
    var storage = options.storage || memoryStorage();
    var now =
      options.now ||
      function () {
        return Date.now();
      };
    var random = options.random || Math.random;
    var setTimer =
      options.setTimeout ||
      function (fn, ms) {
        return setTimeout(fn, ms);
      };
    var clearTimer =
      options.clearTimeout ||
      function (id) {
        clearTimeout(id);
      };
    var batchSize = clampInt(options.batchSize, 1, SERVER_MAX_BATCH, 20);
    var maxBatchEvents = clampInt(options.maxBatchEvents, batchSize, SERVER_MAX_BATCH, Math.max(batchSize, 100));
    var flushIntervalMs = clampInt(options.flushIntervalMs, 0, 864e5, 5000);
    var maxQueue = clampInt(options.maxQueue, 1, 1e6, 1000);
    var backoffBaseMs = clampInt(options.backoffBaseMs, 1, 864e5, 1000);
    var backoffMaxMs = clampInt(options.backoffMaxMs, backoffBaseMs, 864e5, 5 * 60 * 1000);
    var prefix = options.storagePrefix || "siyu_track.";
    var platform = options.platform || "";
    var idPrefix = options.anonymousIdPrefix || (platform === "miniprogram" ? "mp-" : platform === "h5" ? "h5-" : "sy-");
    var hostAnonymousId = options.anonymousId; // string or function: the host owns the device id
    var onError = typeof options.onError === "function" ? options.onError : null;
    var KEY = { anon: prefix + "anonymous_id", shopper: prefix + "shopper_id", queue: prefix + "queue", session: prefix + "session" };

    var seq = 0;
    var queue = [];
    var inflight = null; // {ids: {event_id: 1}, promise}
    var flushTimer = null;
    var retryTimer = null;
    var retryAt = 0;
    var attempt = 0;
    var destroyed = false;
    var cleanups = [];
    var stats = { sent: 0, rejected: 0, dropped: 0, overflow: 0 };

    var state = {
      anonymousId: null,
      shopperId: null,
      scene: null,
      launched: false,
      visible: false,
      showAt: 0,
      hiddenAt: 0,
      entry: { query: {}, path: "", referrer: "" },
      shareDepth: 0, // our depth in the share chain (0: not from a share)
      incomingSharer: null,
      page: null, // {path, query, start, open}
      referrer: "",
      session: null, // {id, last}
    };

    function report(type, detail) {
      if (!onError) return;
      try {
        onError(assign({ type: type }, detail || {}));
      } catch (e) {
        /* a broken error hook must not break tracking */
      }
    }

    function guard(name, fn, fallback) {
      return function () {
        if (destroyed) return fallback;
        try {
          return fn.apply(null, arguments);
        } catch (err) {
          report("internal", { method: name, error: err });
          return fallback;
        }
      };
    }

    function readKey(key) {
      try {
        return storage.getItem(key);
      } catch (e) {
        return null;
      }
    }
    function writeKey(key, value) {
      try {
        if (value === null) storage.removeItem(key);
        else storage.setItem(key, value);
        return true;
      } catch (err) {
        report("storage", { key: key, error: err });
        return false;
      }
    }

    function randomChars(n) {
      var out = "";
      for (var i = 0; i < n; i++) {
        var r = Number(random());
        if (!(r >= 0 && r < 1)) r = 0;
        out += ID_CHARS.charAt(Math.floor(r * ID_CHARS.length));
      }
      return out;
    }

    /** time (base 36) + 10 random chars + a per-tracker counter: unique and sortable-ish. */
    function newEventId() {
      seq += 1;
      return Math.max(0, Math.floor(now())).toString(36) + "-" + randomChars(10) + "-" + seq.toString(36);
    }

    function newAnonymousId() {
      return (idPrefix + Math.max(0, Math.floor(now())).toString(36) + randomChars(16)).slice(0, 64);
    }

    function anonymousId() {
      if (hostAnonymousId !== undefined && hostAnonymousId !== null) {
        var host = typeof hostAnonymousId === "function" ? hostAnonymousId() : hostAnonymousId;
        if (typeof host === "string" && ID_RE.test(host)) return host;
      }
      if (state.anonymousId && ID_RE.test(state.anonymousId)) return state.anonymousId;
      var stored = readKey(KEY.anon);
      if (!stored || !ID_RE.test(stored)) {
        stored = newAnonymousId();
        writeKey(KEY.anon, stored);
      }
      state.anonymousId = stored;
      return stored;
    }

    /* ---- session: a new one after 30 min idle, on a scene change, and on reset ---- */
    function newSession() {
      state.session = { id: "s-" + Math.floor(now()).toString(36) + randomChars(8), last: now() };
      writeKey(KEY.session, JSON.stringify(state.session));
    }
    function sessionId() {
      var t = now();
      if (!state.session || t - state.session.last > SESSION_IDLE_MS) newSession();
      else {
        state.session.last = t;
        writeKey(KEY.session, JSON.stringify(state.session));
      }
      return state.session.id;
    }

    /* ---- the queue ---- */
    function persistQueue() {
      writeKey(KEY.queue, JSON.stringify(queue));
    }

    function loadQueue() {
      var raw = readKey(KEY.queue);
      if (!raw) return;
      try {
        var list = JSON.parse(raw);
        if (!Array.isArray(list)) return;
        queue = list.filter(function (e) {
          return isObject(e) && typeof e.event_id === "string" && typeof e.event === "string";
        });
        if (queue.length > maxQueue) {
          stats.overflow += queue.length - maxQueue;
          queue = queue.slice(queue.length - maxQueue);
        }
      } catch (e) {
        queue = [];
      }
    }

    function removeIds(ids) {
      var before = queue.length;
      queue = queue.filter(function (e) {
        return !ids[e.event_id];
      });
      if (queue.length !== before) persistQueue();
    }

    function pendingCount() {
      if (!inflight) return queue.length;
      var n = 0;
      for (var i = 0; i < queue.length; i++) if (!inflight.ids[queue[i].event_id]) n++;
      return n;
    }

    function enqueue(event) {
      queue.push(event);
      if (queue.length > maxQueue) {
        var dropped = queue.splice(0, queue.length - maxQueue);
        stats.overflow += dropped.length;
        report("queue_overflow", { dropped: dropped.length });
      }
      persistQueue();
      if (pendingCount() >= batchSize) flush();
      else scheduleFlush(flushIntervalMs);
    }

    function scheduleFlush(delay) {
      if (!endpoint || !transport || flushTimer !== null || retryTimer !== null || destroyed) return;
      flushTimer = setTimer(function () {
        flushTimer = null;
        flush();
      }, delay);
    }

    function clearFlushTimer() {
      if (flushTimer !== null) {
        clearTimer(flushTimer);
        flushTimer = null;
      }
    }

    function backoffDelay(n) {
      var exp = Math.min(backoffMaxMs, backoffBaseMs * Math.pow(2, n - 1));
      var r = Number(random());
      if (!(r >= 0 && r < 1)) r = 0;
      return Math.round(exp / 2 + (r * exp) / 2); // "equal jitter": 50–100 % of the step
    }

    function parseRetryAfter(value) {
      if (value === undefined || value === null || value === "") return null;
      var text = String(value).trim();
      var ms;
      if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
      else {
        var at = Date.parse(text);
        if (isNaN(at)) return null;
        ms = at - now();
      }
      return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.round(ms)));
    }

    function scheduleRetry(delay) {
      clearFlushTimer();
      if (retryTimer !== null) clearTimer(retryTimer);
      retryAt = now() + delay;
      retryTimer = setTimer(function () {
        retryTimer = null;
        retryAt = 0;
        flush();
      }, delay);
    }

    function requestHeaders(batch) {
      return { "Content-Type": "application/json", "X-Siyu-Anonymous-Id": batch[0].anonymous_id };
    }

    function takeBatch() {
      return queue.slice(0, maxBatchEvents);
    }

    /** Send the oldest events (up to maxBatchEvents); resolves when the attempt is settled. */
    function flush() {
      if (!endpoint || !transport || destroyed) return Promise.resolve(false);
      if (inflight) return inflight.promise;
      if (retryTimer !== null && now() < retryAt) return Promise.resolve(false);
      clearFlushTimer();
      var batch = takeBatch();
      if (!batch.length) return Promise.resolve(true);
      var ids = {};
      batch.forEach(function (e) {
        ids[e.event_id] = 1;
      });
      var body = JSON.stringify({ sent_at: Math.floor(now()), batch: batch });
      var current = { ids: ids, promise: null };
      inflight = current;
      current.promise = Promise.resolve()
        .then(function () {
          return transport.send({ url: endpoint, body: body, headers: requestHeaders(batch) });
        })
        .then(
          function (res) {
            return handleResponse(res || {}, batch, ids);
          },
          function (err) {
            return handleRetry(null, { status: 0, error: err }, batch);
          }
        )
        .then(null, function (err) {
          report("internal", { method: "flush", error: err });
          return false;
        })
        .then(function (ok) {
          if (inflight === current) inflight = null;
          if (destroyed || retryTimer !== null || !queue.length) return ok;
          // a backlog keeps draining right away; a short queue waits for the interval
          if (pendingCount() >= batchSize) {
            return flush().then(function () {
              return ok;
            });
          }
          scheduleFlush(flushIntervalMs);
          return ok;
        });
      return current.promise;
    }

    function handleResponse(res, batch, ids) {
      var status = Number(res.status) || 0;
      if (status >= 200 && status < 300) {
        attempt = 0;
        removeIds(ids);
        var data = isObject(res.data) ? res.data : {};
        var rejected = Array.isArray(data.rejected) ? data.rejected : [];
        stats.sent += batch.length - rejected.length;
        if (rejected.length) {
          stats.rejected += rejected.length;
          report("rejected", {
            rejected: rejected.map(function (r) {
              var e = batch[r && r.index];
              return { event_id: e ? e.event_id : null, event: e ? e.event : null, code: r && r.code, message: r && r.message };
            }),
          });
        }
        return true;
      }
      if (RETRY_STATUSES[status] || status >= 500) return handleRetry(res, { status: status }, batch);
      // 400/413/415/422 and other client errors: this batch will never be accepted
      removeIds(ids);
      stats.dropped += batch.length;
      report("dropped", { status: status, count: batch.length, error: isObject(res.data) ? res.data.error : null });
      attempt = 0;
      return false;
    }

    function handleRetry(res, detail, batch) {
      attempt += 1;
      var headers = (res && res.headers) || {};
      var retryAfter = parseRetryAfter(headers["retry-after"] !== undefined ? headers["retry-after"] : headers["Retry-After"]);
      var delay = retryAfter !== null ? retryAfter : backoffDelay(attempt);
      report("retry", { status: detail.status, error: detail.error, attempt: attempt, delay_ms: delay, count: batch.length });
      scheduleRetry(delay);
      return false;
    }

    /** The page is going away: hand queued events to sendBeacon/keepalive (not while backing off). */
    function flushBeacon() {
      if (!endpoint || !transport) return false;
      if (typeof transport.beacon !== "function") {
        flush();
        return false;
      }
      if (retryTimer !== null && now() < retryAt) return false; // keep them for the next visit
      var sentAny = false;
      while (queue.length) {
        var batch = takeBatch();
        var body = JSON.stringify({ sent_at: Math.floor(now()), batch: batch });
        while (body.length > BEACON_MAX_BYTES && batch.length > 1) {
          batch = batch.slice(0, Math.ceil(batch.length / 2));
          body = JSON.stringify({ sent_at: Math.floor(now()), batch: batch });
        }
        if (body.length > BEACON_MAX_BYTES) break; // one huge event: leave it to send()
        var ok = false;
        try {
          ok = !!transport.beacon(endpoint, body, requestHeaders(batch));
        } catch (e) {
          ok = false;
        }
        if (!ok) break;
        var ids = {};
        batch.forEach(function (e) {
          ids[e.event_id] = 1;
        });
        removeIds(ids);
        sentAny = true;
      }
      if (sentAny) clearFlushTimer();
      return sentAny;
    }

    /* ---- events ---- */
    function baseProperties() {
      var props = { $lib: "siyu-track", $lib_version: VERSION, $session_id: sessionId() };
      if (platform) props.$platform = platform;
      if (options.appVersion) props.$app_version = String(options.appVersion);
      if (state.shareDepth > 0) props.$share_depth = state.shareDepth;
      return props;
    }

    function track(name, properties, context) {
      if (typeof name !== "string" || !EVENT_RE.test(name) || reservedName(name)) {
        report("invalid_event", { event: name, reason: typeof name === "string" && EVENT_RE.test(name) ? "reserved" : "name" });
        return null;
      }
      var props = cleanProperties(properties);
      if (JSON.stringify(props).length > MAX_PROPERTIES_BYTES) {
        report("invalid_event", { event: name, reason: "properties_too_large" });
        return null;
      }
      context = context || {};
      var page = state.page;
      var event = {
        event_id: newEventId(),
        event: name,
        anonymous_id: anonymousId(),
        client_time: Math.floor(now()),
        page: String(context.page !== undefined ? context.page : page ? page.path : state.entry.path || "").slice(0, 512),
        referrer: String(context.referrer !== undefined ? context.referrer : state.referrer || "").slice(0, 512),
        query: cleanQuery(context.query !== undefined ? context.query : page ? page.query : state.entry.query),
        properties: assign(baseProperties(), props),
      };
      if (state.shopperId !== null) event.shopper_id = state.shopperId;
      if (state.scene !== null) event.scene = state.scene;
      enqueue(event);
      return event.event_id;
    }

    function identify(shopperId) {
      var id = positiveInt(shopperId);
      if (id === null) {
        report("invalid_shopper_id", { shopper_id: shopperId });
        return;
      }
      var previous = state.shopperId;
      state.shopperId = id;
      writeKey(KEY.shopper, String(id));
      if (previous !== id) track("$identify", { previous_shopper_id: previous });
    }

    function reset() {
      state.shopperId = null;
      writeKey(KEY.shopper, null);
      state.anonymousId = null;
      writeKey(KEY.anon, null);
      if (hostAnonymousId === undefined || hostAnonymousId === null) anonymousId(); // a fresh device id
      state.shareDepth = 0;
      state.incomingSharer = null;
      newSession();
    }

    /* ---- entry: scene, launch query, share chain, QR params ---- */
    function applyEntry(opts) {
      opts = opts || {};
      var query = isObject(opts.query) ? opts.query : {};
      var scene = sceneValue(opts.scene);
      var props = {};
      if (scene !== null) {
        if (state.scene !== null && state.scene !== scene) newSession(); // GrowingIO: a new scene is a new visit
        state.scene = scene;
      }
      state.entry = { query: query, path: String(opts.path || state.entry.path || ""), referrer: String(opts.referrer || "") };
      if (opts.referrer) state.referrer = String(opts.referrer);
      var referrerApp = opts.referrerInfo && opts.referrerInfo.appId;
      if (referrerApp) props.referrer_app_id = String(referrerApp);
      var qr = opts.qr_scene !== undefined ? opts.qr_scene : query.scene !== undefined ? safeDecode(query.scene) : null;
      if (qr) props.qr_scene = String(qr).slice(0, 128);
      if (query.q) props.qr_url = safeDecode(query.q).slice(0, 512);
      var sharer = query.sharer_id;
      if (sharer !== undefined && sharer !== null && String(sharer) !== "") {
        var depth = clampInt(query.share_depth, 1, MAX_SHARE_DEPTH, 1);
        state.incomingSharer = String(sharer).slice(0, 64);
        state.shareDepth = depth;
        props.sharer_id = state.incomingSharer;
        props.share_depth = depth;
      }
      Object.keys(query).forEach(function (k) {
        if (/^utm_[a-z]+$/.test(k)) props[k] = String(query[k]).slice(0, 128);
      });
      return props;
    }

    function appLaunch(opts) {
      if (state.launched) return;
      state.launched = true;
      var props = applyEntry(opts);
      track("$launch", props, { page: state.entry.path, query: state.entry.query });
    }

    function appShow(opts) {
      if (state.visible) return;
      var hiddenFor = state.hiddenAt ? now() - state.hiddenAt : 0;
      state.visible = true;
      state.showAt = now();
      var props = opts ? applyEntry(opts) : {};
      if (state.hiddenAt && hiddenFor > 0) props.hidden_ms = Math.min(MAX_DURATION_MS, hiddenFor);
      if (state.page && !state.page.open) {
        state.page.open = true;
        state.page.start = now();
      }
      track("$show", props, opts ? { page: state.entry.path, query: state.entry.query } : {});
    }

    function leavePage() {
      var page = state.page;
      if (!page || !page.open) return;
      page.open = false;
      track("$page_leave", { duration_ms: Math.min(MAX_DURATION_MS, Math.max(0, now() - page.start)) }, { page: page.path, query: page.query });
    }

    function appHide(opts) {
      if (!state.visible) return;
      state.visible = false;
      state.hiddenAt = now();
      leavePage();
      track("$hide", { duration_ms: Math.min(MAX_DURATION_MS, Math.max(0, now() - state.showAt)) });
      if (opts && opts.beacon) flushBeacon();
      else flush();
    }

    /** A page view: call from Page.onShow (mini-program) or on a route change (H5). */
    function trackPage(path, query, properties) {
      path = String(path || "");
      var q = cleanQuery(isObject(query) ? query : parseQuery(query));
      var current = state.page;
      if (current && current.open && current.path === path && JSON.stringify(current.query) === JSON.stringify(q)) return null;
      var previous = current ? current.path : state.referrer;
      leavePage();
      state.page = { path: path, query: q, start: now(), open: true };
      state.referrer = previous || "";
      return track("$pageview", properties, { page: path, query: q, referrer: state.referrer });
    }

    function me() {
      return state.shopperId !== null ? String(state.shopperId) : anonymousId();
    }

    /** path + sharer_id=<me>&share_depth=<our depth + 1> (utm_* and old share params removed). */
    function sharePath(path) {
      path = String(path || "");
      var hash = "";
      var hashAt = path.indexOf("#");
      if (hashAt >= 0) {
        hash = path.slice(hashAt);
        path = path.slice(0, hashAt);
      }
      var cut = path.indexOf("?");
      var base = cut < 0 ? path : path.slice(0, cut);
      var kept = (cut < 0 ? "" : path.slice(cut + 1)).split("&").filter(function (pair) {
        if (!pair) return false;
        var key = safeDecode(pair.split("=")[0]);
        return SHARE_PARAMS.indexOf(key) < 0 && !/^utm_/.test(key);
      });
      kept.push("sharer_id=" + encodeURIComponent(me()));
      kept.push("share_depth=" + Math.min(MAX_SHARE_DEPTH, state.shareDepth + 1));
      return base + "?" + kept.join("&") + hash;
    }

    /** Build the share path and record $share; returns the path (use it in onShareAppMessage). */
    function share(path, properties) {
      var built = sharePath(path);
      track(
        "$share",
        assign(cleanProperties(properties), {
          sharer_id: me(),
          share_depth: Math.min(MAX_SHARE_DEPTH, state.shareDepth + 1),
          share_path: built.slice(0, 512),
          from_sharer_id: state.incomingSharer,
        })
      );
      return built;
    }

    /* ---- auto-tracking: clicks on [data-track] ---- */
    function coerce(value) {
      return /^-?\d{1,15}$/.test(value) ? Number(value) : value;
    }

    function clickProperties(el) {
      var props = {};
      var attrs = el.attributes || [];
      for (var i = 0; i < attrs.length; i++) {
        var name = String(attrs[i].name || "").toLowerCase();
        if (name.indexOf("data-track-") === 0 && name.length > 11) {
          props[name.slice(11).replace(/-/g, "_")] = coerce(String(attrs[i].value).slice(0, 256));
        }
      }
      if (el.tagName) props.$element = String(el.tagName).toLowerCase();
      return props;
    }

    function onClick(event) {
      try {
        var el = event && event.target;
        for (var depth = 0; el && depth < 25; depth++) {
          if (typeof el.getAttribute === "function") {
            var name = el.getAttribute("data-track");
            if (name) {
              track(name, clickProperties(el));
              return;
            }
          }
          el = el.parentNode;
        }
      } catch (err) {
        report("internal", { method: "click", error: err });
      }
    }

    function listen(target, type, fn, capture) {
      if (!target || typeof target.addEventListener !== "function") return;
      target.addEventListener(type, fn, !!capture);
      cleanups.push(function () {
        if (typeof target.removeEventListener === "function") target.removeEventListener(type, fn, !!capture);
      });
    }

    function browserPage(win) {
      var loc = win.location || {};
      var hash = String(loc.hash || "");
      var cut = hash.indexOf("?");
      var route = cut < 0 ? hash : hash.slice(0, cut);
      var query = assign(parseQuery(loc.search), cut < 0 ? {} : parseQuery(hash.slice(cut + 1)));
      return { path: String(loc.pathname || "") + (route && route !== "#" ? route : ""), query: query };
    }

    /** H5: $launch/$show on load, $hide on visibilitychange/pagehide, $pageview on hash/history change, clicks. */
    function autoTrackBrowser(win, opts) {
      opts = opts || {};
      var doc = win.document || null;
      var pageOf = typeof opts.page === "function" ? opts.page : browserPage;
      var query = parseQuery((win.location || {}).search);
      var entry = {
        scene: sceneValue(query.scene),
        qr_scene: query.qr_scene || null,
        query: query,
        path: pageOf(win).path,
        referrer: doc ? doc.referrer || "" : "",
      };
      appLaunch(entry);
      appShow(entry);
      function pageview() {
        var p = pageOf(win);
        trackPage(p.path, p.query);
      }
      if (opts.pageviews !== false) {
        pageview();
        listen(win, "hashchange", guard("hashchange", pageview));
        listen(win, "popstate", guard("popstate", pageview));
      }
      if (doc) {
        listen(
          doc,
          "visibilitychange",
          guard("visibilitychange", function () {
            if (doc.visibilityState === "hidden") appHide({ beacon: true });
            else if (doc.visibilityState === "visible") appShow();
          })
        );
        if (opts.clicks !== false) listen(doc, "click", onClick, true);
      }
      listen(
        win,
        "pagehide",
        guard("pagehide", function () {
          appHide({ beacon: true });
        })
      );
      listen(win, "online", guard("online", retryNow));
    }

    /** Mini-program: $launch from wx.getLaunchOptionsSync(), then wx.onAppShow / wx.onAppHide. */
    function autoTrackMiniProgram(wx) {
      var launch = typeof wx.getLaunchOptionsSync === "function" ? wx.getLaunchOptionsSync() : null;
      appLaunch(launch || {});
      appShow(launch || {});
      if (typeof wx.onAppShow === "function") {
        var onShow = guard("onAppShow", function (o) {
          appShow(o || {});
        });
        wx.onAppShow(onShow);
        cleanups.push(function () {
          if (typeof wx.offAppShow === "function") wx.offAppShow(onShow);
        });
      }
      if (typeof wx.onAppHide === "function") {
        var onHide = guard("onAppHide", function () {
          appHide();
        });
        wx.onAppHide(onHide);
        cleanups.push(function () {
          if (typeof wx.offAppHide === "function") wx.offAppHide(onHide);
        });
      }
    }

    /** Mini-program: App(tracker.wrapApp({...})) tracks onLaunch/onShow/onHide, then calls yours. */
    function wrapApp(appOptions) {
      appOptions = appOptions || {};
      var wrapped = assign({}, appOptions);
      [
        ["onLaunch", appLaunch],
        ["onShow", appShow],
        ["onHide", appHide],
      ].forEach(function (pair) {
        var original = appOptions[pair[0]];
        var hook = guard(pair[0], function (o) {
          pair[1](pair[0] === "onHide" ? undefined : o || {});
        });
        wrapped[pair[0]] = function () {
          hook.apply(null, arguments);
          if (typeof original === "function") return original.apply(this, arguments);
        };
      });
      return wrapped;
    }

    function retryNow() {
      if (retryTimer !== null) {
        clearTimer(retryTimer);
        retryTimer = null;
        retryAt = 0;
      }
      return flush();
    }

    function destroy() {
      clearFlushTimer();
      if (retryTimer !== null) clearTimer(retryTimer);
      retryTimer = null;
      cleanups.splice(0).forEach(function (fn) {
        try {
          fn();
        } catch (e) {
          /* ignore */
        }
      });
      destroyed = true;
    }

    /* ---- start: restore identity, the session and the offline queue ---- */
    (function start() {
      var stored = positiveInt(readKey(KEY.shopper));
      state.shopperId = stored;
      try {
        var s = JSON.parse(readKey(KEY.session) || "null");
        if (isObject(s) && typeof s.id === "string" && typeof s.last === "number") state.session = s;
      } catch (e) {
        state.session = null;
      }
      loadQueue();
      if (queue.length) scheduleFlush(0); // events left by an earlier run go out first
    })();

    var resolvedFalse = Promise.resolve(false);
    return {
      track: guard("track", track, null),
      identify: guard("identify", identify),
      reset: guard("reset", reset),
      trackPage: guard("trackPage", trackPage, null),
      share: guard("share", share, ""),
      sharePath: guard("sharePath", sharePath, ""),
      appLaunch: guard("appLaunch", appLaunch),
      appShow: guard("appShow", appShow),
      appHide: guard("appHide", appHide),
      autoTrackBrowser: guard("autoTrackBrowser", autoTrackBrowser),
      autoTrackMiniProgram: guard("autoTrackMiniProgram", autoTrackMiniProgram),
      wrapApp: function (appOptions) {
        try {
          return wrapApp(appOptions);
        } catch (err) {
          report("internal", { method: "wrapApp", error: err });
          return appOptions;
        }
      },
      handleClick: guard("handleClick", onClick),
      flush: guard("flush", flush, resolvedFalse),
      flushBeacon: guard("flushBeacon", flushBeacon, false),
      retryNow: guard("retryNow", retryNow, resolvedFalse),
      destroy: guard("destroy", destroy),
      anonymousId: guard("anonymousId", anonymousId, null),
      shopperId: function () {
        return state.shopperId;
      },
      scene: function () {
        return state.scene;
      },
      shareDepth: function () {
        return state.shareDepth;
      },
      queueSize: function () {
        return queue.length;
      },
      stats: function () {
        return assign({ queued: queue.length, attempt: attempt, retry_at: retryAt || null }, stats);
      },
    };
  }

  return {
    VERSION: VERSION,
    createTracker: createTracker,
    fetchTransport: fetchTransport,
    wxTransport: wxTransport,
    localStorageAdapter: localStorageAdapter,
    wxStorageAdapter: wxStorageAdapter,
    memoryStorage: memoryStorage,
    parseQuery: parseQuery,
  };
});
