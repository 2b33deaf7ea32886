/* Siyu storefront core: strings, API client, DOM helper, router, layout.
 * Every server call goes through api(), which only accepts /api/app/ paths and
 * always sends the device's anonymous id. No third-party code, no build step. */
(function () {
  "use strict";

  var SY = (window.SY = {});
  var CATALOGS = JSON.parse(document.getElementById("sy-catalogs").textContent);
  var LOCALES = ["zh-CN", "en"];
  var KEYS = {
    token: "siyu.token",
    locale: "siyu.locale",
    anonymousId: "siyu.anonymousId",
    address: "siyu.address",
    entry: "siyu.entry",
  };
  var ANONYMOUS_ID_RE = /^[A-Za-z0-9_.:-]{8,64}$/;

  /* ---------- storage (private browsing may refuse it) ---------- */
  var memory = {};
  function load(key) {
    try {
      var value = window.localStorage.getItem(key);
      return value === null ? memory[key] || null : value;
    } catch (e) {
      return memory[key] || null;
    }
  }
  function save(key, value) {
    memory[key] = value;
    try {
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (e) {
      /* memory copy is enough for this visit */
    }
  }
  SY.load = load;
  SY.save = save;
  SY.KEYS = KEYS;

  /* ---------- i18n ---------- */
  var locale = LOCALES.indexOf(load(KEYS.locale)) >= 0 ? load(KEYS.locale) : "zh-CN";
  document.documentElement.lang = locale;

  function t(id, params) {
    var messages = CATALOGS[locale] || {};
    var text = messages[id];
    if (text === undefined) text = (CATALOGS["zh-CN"] || {})[id];
    if (text === undefined) text = id;
    if (params) {
      text = text.replace(/\{(\w+)\}/g, function (whole, name) {
        return params[name] === undefined ? whole : String(params[name]);
      });
    }
    return text;
  }
  SY.t = t;
  SY.locale = function () {
    return locale;
  };
  SY.setLocale = function (next) {
    if (LOCALES.indexOf(next) < 0) return;
    locale = next;
    save(KEYS.locale, next);
    document.documentElement.lang = next;
    document.title = t("app.title");
    SY.renderChrome();
    SY.render();
  };

  /* Server messages read "中文 / English": show the shopper's half. */
  function localizeMessage(message) {
    if (!message) return "";
    var cut = message.indexOf(" / ");
    if (cut < 0) return message;
    return locale === "en" ? message.slice(cut + 3) : message.slice(0, cut);
  }
  SY.localizeMessage = localizeMessage;
  /* Server texts that come in both languages (reason_zh / reason_en, title_zh / title_en). */
  /* The one rule for a mainland mobile number (the server's address.rules.CN_MOBILE_RE):
     address book, checkout and phone binding all use it. */
  SY.isMobile = function (phone) {
    return /^1[3-9][0-9]{9}$/.test(String(phone || ""));
  };

  SY.pickText = function (zh, en) {
    return locale === "en" ? en || zh || "" : zh || en || "";
  };

  /* ---------- formatting ---------- */
  SY.money = function (fen) {
    var n = Number(fen) || 0;
    var sign = n < 0 ? "-" : "";
    n = Math.abs(Math.round(n));
    var whole = String(Math.floor(n / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var cents = String(n % 100).padStart(2, "0");
    return sign + "¥" + whole + "." + cents;
  };
  SY.formatTime = function (iso) {
    if (!iso) return "—";
    var date = new Date(iso);
    if (isNaN(date.getTime())) return "—";
    return new Intl.DateTimeFormat(locale === "en" ? "en-GB" : "zh-CN", {
      timeZone: "Asia/Shanghai",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hour12: false,
    }).format(date);
  };
  SY.specText = function (spec) {
    var values = [];
    Object.keys(spec || {}).forEach(function (k) {
      values.push(spec[k]);
    });
    return values.join(" / ");
  };

  /* ---------- DOM ---------- */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    var key;
    attrs = attrs || {};
    for (key in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, key)) continue;
      var value = attrs[key];
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "testid") el.setAttribute("data-testid", value);
      else if (key.slice(0, 2) === "on" && typeof value === "function") {
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (key === "value") el.value = value;
      else if (key === "checked") el.checked = !!value;
      else if (value === true) el.setAttribute(key, "");
      else el.setAttribute(key, String(value));
    }
    append(el, Array.prototype.slice.call(arguments, 2));
    return el;
  }
  function append(el, children) {
    children.forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      if (Array.isArray(child)) append(el, child);
      else if (typeof child === "object" && child.nodeType) el.appendChild(child);
      else el.appendChild(document.createTextNode(String(child)));
    });
  }
  SY.h = h;
  SY.clear = function (el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  };

  /* A product image that degrades to a lettered tile when it cannot load. */
  SY.image = function (url, label, cls, eager) {
    var tile = h("div", { class: "img " + (cls || ""), "aria-hidden": "true" });
    var letter = h("span", { class: "img-letter" }, (label || "·").slice(0, 1));
    tile.appendChild(letter);
    if (url) {
      var img = h("img", {
        src: url,
        alt: "",
        loading: eager ? "eager" : "lazy",
        decoding: "async",
        onerror: function () {
          if (img.parentNode) img.parentNode.removeChild(img);
        },
      });
      tile.appendChild(img);
    }
    return tile;
  };

  /* ---------- identity: device id, token, entry attribution ---------- */
  function newAnonymousId() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") return "h5-" + c.randomUUID();
    var bytes = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(bytes);
    else for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    return (
      "h5-" +
      Array.prototype.map
        .call(bytes, function (b) {
          return b.toString(16).padStart(2, "0");
        })
        .join("")
    );
  }
  SY.anonymousId = function () {
    var id = load(KEYS.anonymousId);
    if (!id || !ANONYMOUS_ID_RE.test(id)) {
      id = newAnonymousId();
      save(KEYS.anonymousId, id);
    }
    return id;
  };
  SY.newKey = function () {
    return newAnonymousId().slice(3);
  };
  SY.token = function () {
    return load(KEYS.token);
  };
  SY.isLoggedIn = function () {
    return !!load(KEYS.token);
  };
  SY.setToken = function (token) {
    save(KEYS.token, token);
  };

  /* ---------- tracking: the clients/track SDK, served as /shop/static/track.js ----------
   * Events queue in localStorage and go to the endpoint the page names in
   * <meta name="siyu-track-endpoint"> (empty while the server has no /api/track: then
   * they only queue). The SDK never throws; without it the shop works the same. */
  SY.tracker = null;
  (function startTracking() {
    var lib = window.SiyuTrack;
    if (!lib) return;
    try {
      var meta = document.querySelector('meta[name="siyu-track-endpoint"]');
      var storage = null;
      try {
        storage = window.localStorage;
      } catch (e) {
        storage = null;
      }
      SY.tracker = lib.createTracker({
        endpoint: (meta && meta.getAttribute("content")) || null,
        transport: lib.fetchTransport(window.fetch ? window.fetch.bind(window) : null),
        storage: lib.localStorageAdapter(storage),
        anonymousId: SY.anonymousId,
        platform: "h5",
      });
    } catch (e) {
      SY.tracker = null;
    }
  })();
  /* Log-out: a new device id, so the next shopper on this phone is not stitched to the last. */
  SY.resetIdentity = function () {
    save(KEYS.anonymousId, null);
    SY.anonymousId();
    if (SY.tracker) SY.tracker.reset();
  };

  /* ?scene=1047&qr_scene=c%3DAB12&sharer_id=5 on the landing URL is kept for login. */
  (function rememberEntry() {
    var query = new URLSearchParams(window.location.search);
    var entry = {};
    if (/^\d{1,6}$/.test(query.get("scene") || "")) entry.scene = Number(query.get("scene"));
    if (query.get("qr_scene")) entry.qr_scene = query.get("qr_scene").slice(0, 128);
    if (/^\d{1,12}$/.test(query.get("sharer_id") || "")) entry.sharer_id = Number(query.get("sharer_id"));
    if (Object.keys(entry).length) save(KEYS.entry, JSON.stringify(entry));
  })();
  SY.entry = function () {
    try {
      return JSON.parse(load(KEYS.entry) || "{}");
    } catch (e) {
      return {};
    }
  };

  /* ---------- API ---------- */
  function ApiError(status, code, message, fields) {
    this.status = status;
    this.code = code;
    this.message = message;
    this.fields = fields || {};
  }
  SY.ApiError = ApiError;

  /* A FormData body (a file upload) goes as multipart; anything else as JSON. */
  async function api(method, path, body, extraHeaders) {
    if (path.indexOf("/api/app/") !== 0) throw new Error("the storefront only calls /api/app/");
    var headers = { Accept: "application/json", "X-Siyu-Anonymous-Id": SY.anonymousId() };
    var token = SY.token();
    if (token) headers.Authorization = "Bearer " + token;
    var isForm = typeof FormData !== "undefined" && body instanceof FormData;
    if (body !== undefined && body !== null && !isForm) headers["Content-Type"] = "application/json";
    Object.keys(extraHeaders || {}).forEach(function (k) {
      headers[k] = extraHeaders[k];
    });
    var response;
    try {
      response = await fetch(path, {
        method: method,
        headers: headers,
        body: body === undefined || body === null ? undefined : isForm ? body : JSON.stringify(body),
        credentials: "omit",
      });
    } catch (e) {
      throw new ApiError(0, "network", t("error.network"));
    }
    if (response.status === 204) return null;
    var data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (response.status === 401) {
      SY.setToken(null);
      SY.setCartCount(0);
      SY.goLogin();
      throw new ApiError(401, "login_required", t("error.login_required"));
    }
    if (!response.ok) {
      var err = (data && data.error) || {};
      var message = localizeMessage(err.message);
      if (response.status >= 500) message = message || t("error.server");
      throw new ApiError(response.status, err.code || "http_" + response.status, message || t("error.generic"), err.fields);
    }
    return data;
  }
  SY.api = api;

  /* ---------- feedback ---------- */
  var toastTimer = null;
  var toastAt = 0;
  SY.toast = function (message) {
    var el = document.getElementById("toast");
    toastAt = Date.now();
    el.textContent = message;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () {
      el.hidden = true;
    }, 2200);
  };
  SY.showError = function (error, retry) {
    var el = document.getElementById("error");
    SY.clear(el);
    if (!error) {
      el.hidden = true;
      return;
    }
    if (error.status === 401) return;
    var message = error.message || t("error.generic");
    el.appendChild(h("span", { class: "error-text" }, message));
    if (retry) {
      el.appendChild(
        h("button", { type: "button", class: "btn btn-small", onclick: function () { SY.showError(null); retry(); } }, t("action.retry"))
      );
    }
    el.appendChild(
      h("button", { type: "button", class: "btn-close", "aria-label": t("action.close"), onclick: function () { SY.showError(null); } }, "×")
    );
    el.hidden = false;
  };
  SY.busy = function (button, isBusy) {
    button.disabled = isBusy;
    if (isBusy) button.setAttribute("aria-busy", "true");
    else button.removeAttribute("aria-busy");
  };
  SY.empty = function (message, linkText, href, testid) {
    return h(
      "div",
      { class: "empty", testid: testid || "empty" },
      h("p", null, message),
      linkText ? h("a", { class: "btn btn-primary", href: href || "#/" }, linkText) : null
    );
  };
  SY.loading = function () {
    return h("p", { class: "loading", role: "status" }, t("state.loading"));
  };
  /* Show each named field's message (none: "" clears it) in its "-error" slot, mark the
   * fields that have one invalid and focus the first of them. */
  SY.showFieldErrors = function (form, names, messageOf) {
    var first = null;
    names.forEach(function (name) {
      var input = form.elements[name];
      var message = messageOf(name);
      document.getElementById(input.id + "-error").textContent = message;
      if (message) {
        input.setAttribute("aria-invalid", "true");
        if (!first) first = input;
      } else {
        input.removeAttribute("aria-invalid");
      }
    });
    if (first) first.focus();
  };

  /* ---------- router ---------- */
  var routes = [];
  var navSeq = 0;
  var current = null;
  SY.route = function (pattern, handler, options) {
    var names = [];
    var source = pattern.replace(/:(\w+)/g, function (_, name) {
      names.push(name);
      return "([^/]+)";
    });
    routes.push({ re: new RegExp("^" + source + "$"), names: names, handler: handler, options: options || {} });
  };
  SY.currentHash = function () {
    return window.location.hash || "#/";
  };
  SY.go = function (hash, replace) {
    if (replace) window.location.replace(hash);
    else if (window.location.hash === hash) SY.render();
    else window.location.hash = hash;
  };
  SY.goLogin = function () {
    var here = SY.currentHash();
    if (here.indexOf("#/login") === 0) return;
    SY.go("#/login?next=" + encodeURIComponent(here));
  };
  SY.requireLogin = function () {
    if (SY.isLoggedIn()) return true;
    SY.goLogin();
    return false;
  };
  SY.isCurrent = function (seq) {
    return seq === navSeq;
  };

  function match(path) {
    for (var i = 0; i < routes.length; i++) {
      var m = routes[i].re.exec(path);
      if (m) {
        var params = {};
        routes[i].names.forEach(function (name, k) {
          params[name] = decodeURIComponent(m[k + 1]);
        });
        return { route: routes[i], params: params };
      }
    }
    return null;
  }

  SY.render = async function () {
    var raw = SY.currentHash().slice(1) || "/";
    var cut = raw.indexOf("?");
    var path = cut < 0 ? raw : raw.slice(0, cut);
    var query = new URLSearchParams(cut < 0 ? "" : raw.slice(cut + 1));
    var found = match(path) || match("/");
    var seq = ++navSeq;
    var main = document.getElementById("main");
    var sameRoute = current && current.route === found.route && current.path === path;
    current = { route: found.route, path: path, options: found.route.options };
    SY.showError(null);
    if (!sameRoute && Date.now() - toastAt > 800) document.getElementById("toast").hidden = true;
    SY.renderChrome();
    var view = h("div", { class: "view view-" + (found.route.options.name || "page") });
    if (!sameRoute) SY.clear(main).appendChild(SY.loading());
    try {
      await found.route.handler(view, found.params, query, seq);
    } catch (error) {
      if (!SY.isCurrent(seq)) return;
      if (error instanceof ApiError) {
        if (error.status === 401) return;
        view.appendChild(SY.empty(error.message, t("action.retry"), SY.currentHash(), "page-error"));
        SY.showError(error, SY.render);
      } else {
        throw error;
      }
    }
    if (!SY.isCurrent(seq)) return;
    SY.clear(main).appendChild(view);
    if (!sameRoute) {
      window.scrollTo(0, 0);
      /* Move focus to the new page, but never out of a field the shopper is typing in
         (the header's search box while the page loads): their Enter must still search. */
      var active = document.activeElement;
      var typing = active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA");
      if (active && active !== document.body && !typing && !main.contains(active)) {
        main.focus({ preventScroll: true });
      }
    }
    var title = found.route.options.title ? found.route.options.title() : "";
    document.title = title ? title + " · " + t("app.title") : t("app.title");
  };

  /* ---------- chrome: header, tab bar, cart badge ---------- */
  var cartCount = 0;
  SY.setCartCount = function (n) {
    cartCount = n || 0;
    var badges = document.querySelectorAll("[data-cart-badge]");
    Array.prototype.forEach.call(badges, function (badge) {
      badge.textContent = cartCount > 99 ? "99+" : String(cartCount);
      badge.hidden = cartCount === 0;
    });
  };
  SY.cartCount = function () {
    return cartCount;
  };
  SY.refreshCartCount = async function () {
    if (!SY.isLoggedIn()) return SY.setCartCount(0);
    try {
      var cart = await api("GET", "/api/app/cart");
      SY.setCartCount(cart.item_count);
    } catch (e) {
      /* the badge is a hint; pages report their own errors */
    }
  };
  SY.cartBadge = function () {
    var badge = h("span", { class: "badge", "data-cart-badge": true, testid: "cart-badge" }, String(cartCount));
    badge.hidden = cartCount === 0;
    return badge;
  };

  SY.searchForm = function (value) {
    var input = h("input", {
      id: "search-input",
      type: "search",
      name: "q",
      value: value || "",
      maxlength: "50",
      enterkeyhint: "search",
      placeholder: t("search.placeholder"),
      testid: "search-input",
      autocomplete: "off",
    });
    return h(
      "form",
      {
        class: "search",
        role: "search",
        onsubmit: function (event) {
          event.preventDefault();
          var q = input.value.trim();
          if (!q) {
            input.focus();
            SY.toast(t("search.empty_query"));
            return;
          }
          SY.go("#/search?q=" + encodeURIComponent(q));
        },
      },
      h("label", { for: "search-input", class: "sr-only" }, t("search.label")),
      input,
      h("button", { type: "submit", class: "search-btn", testid: "search-submit" }, t("search.submit"))
    );
  };

  /* Line icons as SVG paths (24×24): no icon font, no emoji font needed. */
  var ICONS = {
    home: "M3 11l9-7 9 7M5 10v10h5v-6h4v6h5V10",
    category: "M4 4h7v7H4zM13 4h7v7h-7zM4 13h7v7H4zM13 13h7v7h-7z",
    cart: "M3 4h2l2.4 11h10.2L20 8H6.2M9 20a1 1 0 100-2 1 1 0 000 2zM17 20a1 1 0 100-2 1 1 0 000 2z",
    me: "M12 12a4 4 0 100-8 4 4 0 000 8zM4 21c0-4 4-6 8-6s8 2 8 6",
    service: "M4 14v-2a8 8 0 0116 0v2M4 14h3v5H4zM17 14h3v5h-3zM20 19c0 1.5-2 2-5 2",
  };
  SY.icon = function (name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  };
  SY.serviceLink = function (cls) {
    return h(
      "a",
      { href: "#/service", class: cls || "service-link", testid: "service-link", "aria-label": t("nav.service") },
      SY.icon("service"),
      h("span", { class: "service-text" }, t("nav.service"))
    );
  };

  SY.renderChrome = function () {
    var options = (current && current.options) || {};
    var top = SY.clear(document.getElementById("topbar"));
    var skip = document.getElementById("skip-link");
    skip.textContent = t("nav.skip");
    if (options.header === "search") {
      var q = options.name === "search" ? new URLSearchParams((SY.currentHash().split("?")[1] || "")).get("q") : "";
      if (options.back) top.appendChild(backButton());
      top.appendChild(SY.searchForm(q));
      top.appendChild(SY.serviceLink());
    } else {
      top.appendChild(options.back === false ? h("span", { class: "back-space" }) : backButton());
      top.appendChild(h("h1", { class: "topbar-title" }, options.title ? options.title() : t("app.title")));
      top.appendChild(SY.serviceLink());
    }
    var bar = SY.clear(document.getElementById("tabbar"));
    bar.setAttribute("aria-label", t("nav.tabs"));
    bar.hidden = options.tabbar === false;
    document.body.classList.toggle("no-tabbar", options.tabbar === false);
    [
      ["home", "#/", t("nav.home")],
      ["category", "#/category", t("nav.category")],
      ["cart", "#/cart", t("nav.cart")],
      ["me", "#/me", t("nav.me")],
    ].forEach(function (tab) {
      var active = options.tab === tab[0];
      bar.appendChild(
        h(
          "a",
          { href: tab[1], class: "tab" + (active ? " active" : ""), testid: "tab-" + tab[0], "aria-current": active ? "page" : null },
          SY.icon(tab[0]),
          h("span", { class: "tab-label" }, tab[2]),
          tab[0] === "cart" ? SY.cartBadge() : null
        )
      );
    });
  };

  function backButton() {
    return h(
      "button",
      {
        type: "button",
        class: "back",
        "aria-label": t("nav.back"),
        onclick: function () {
          if (window.history.length > 1) window.history.back();
          else SY.go("#/");
        },
      },
      "‹"
    );
  }

  /* ---------- status labels (literal ids so catalogs can be checked) ---------- */
  SY.orderStatusLabel = function (status) {
    return (
      {
        pending_payment: t("order.status.pending_payment"),
        paid: t("order.status.paid"),
        shipped: t("order.status.shipped"),
        completed: t("order.status.completed"),
        cancelled: t("order.status.cancelled"),
      }[status] || status
    );
  };
  SY.aftersaleStatusLabel = function (status) {
    return (
      {
        pending: t("aftersale.status.pending"),
        refunding: t("aftersale.status.refunding"),
        refunded: t("aftersale.status.refunded"),
        rejected: t("aftersale.status.rejected"),
        cancelled: t("aftersale.status.cancelled"),
        refund_failed: t("aftersale.status.refund_failed"),
      }[status] || status
    );
  };
  SY.aftersaleKindLabel = function (kind) {
    return kind === "return_refund" ? t("aftersale.kind.return_refund") : t("aftersale.kind.refund_only");
  };
  SY.statusBadge = function (status) {
    return h("span", { class: "status status-" + status, testid: "order-status", "data-status": status }, SY.orderStatusLabel(status));
  };
})();
