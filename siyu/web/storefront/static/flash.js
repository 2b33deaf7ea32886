/* Flash sale (秒杀): the channel page (#/flash — the sessions on now and next as
 * tabs by their Shanghai start time, each item's sale price, units left and limit),
 * the entry on the home page, the checkout's flash panel, the buy through the waiting
 * room (429 排队中: retried with backoff, the same Idempotency-Key) and the payment
 * countdown on the cashier.
 *
 * Every countdown runs on the SERVER's clock: the channel answer carries server_time,
 * and the offset to this device's clock is taken at the middle of the round trip, so
 * a phone whose clock is minutes off still opens the sale at the real start. A buy
 * button before the start is disabled and turns on by itself when its countdown
 * reaches zero; the data is then fetched again (after a short random pause, so every
 * phone does not ask in the same second). */
(function () {
  "use strict";

  var SY = window.SY;
  var h = SY.h;
  var t = SY.t;
  var MAX_TRIES = 8; /* waiting-room retries: 1 + 2 + 4 + 8 + 8 … ≈ 45 s in all */
  var REFRESH_MS = 15000; /* units left, while a session is on */
  var CLOCK = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false });
  var DAY = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });

  /* ---------- the server's clock ---------- */
  var offset = 0; /* add to Date.now() to get the server's time */
  var synced = false;
  function serverNow() {
    return Date.now() + offset;
  }
  async function fetchChannel() {
    var sent = Date.now();
    var channel = await SY.api("GET", "/api/app/flash-sales");
    var received = Date.now();
    offset = Date.parse(channel.server_time) - (sent + received) / 2;
    synced = true;
    return channel;
  }

  function phaseOf(s, now) {
    if (s.status === "disabled") return "disabled";
    if (now < Date.parse(s.starts_at)) return "upcoming";
    if (now < Date.parse(s.ends_at)) return "running";
    return "ended";
  }

  function two(n) {
    return n < 10 ? "0" + n : String(n);
  }
  function clockText(left) {
    var days = Math.floor(left / 86400);
    var rest = left % 86400;
    var text = two(Math.floor(rest / 3600)) + ":" + two(Math.floor((rest % 3600) / 60)) + ":" + two(rest % 60);
    return days ? t("flash.days", { days: days }) + " " + text : text;
  }

  /* "01:02:03" until ``iso`` on the server's clock, rounded up (00:00:00 only once the
   * moment has come); ``done`` is called once then. A timer taken off the page stops. */
  function timer(iso, testid, done) {
    var el = h("span", { class: "flash-clock", testid: testid, "data-target": iso });
    var end = Date.parse(iso);
    var mounted = false;
    function tick() {
      if (el.isConnected) mounted = true;
      else if (mounted) return;
      var rest = end - serverNow();
      var left = Math.max(0, Math.ceil(rest / 1000));
      el.setAttribute("data-seconds", String(left));
      el.textContent = clockText(left);
      if (left === 0) {
        if (done) done();
        return;
      }
      /* wake just after the next whole second of the countdown */
      window.setTimeout(tick, (rest % 1000 || 1000) + 15);
    }
    tick();
    return el;
  }

  function startLabel(s, now) {
    var start = new Date(Date.parse(s.starts_at));
    var days = Math.round((Date.parse(DAY.format(start)) - Date.parse(DAY.format(new Date(now)))) / 86400000);
    var time = CLOCK.format(start);
    if (days === 0) return time;
    if (days === 1) return t("flash.tomorrow", { time: time });
    return DAY.format(start).slice(5) + " " + time;
  }

  function stateText(phase) {
    return (
      {
        running: t("flash.state.running"),
        upcoming: t("flash.state.upcoming"),
        ended: t("flash.state.ended"),
        disabled: t("flash.state.ended"),
      }[phase] || phase
    );
  }

  /* ---------- the channel page ---------- */
  function buyButton(item, phase) {
    var state = phase === "upcoming" ? "upcoming" : phase !== "running" ? "ended" : item.sold_out ? "sold_out" : "on";
    var label = {
      upcoming: t("flash.buy.upcoming"),
      ended: t("flash.buy.ended"),
      sold_out: t("flash.buy.sold_out"),
      on: t("flash.buy.on"),
    }[state];
    return h(
      "button",
      {
        type: "button",
        class: "btn btn-small flash-buy" + (state === "on" ? " btn-primary" : ""),
        testid: "flash-buy",
        "data-state": state,
        disabled: state !== "on",
        onclick: function () {
          var next = "#/checkout?product=" + item.product_id + "&sku=" + item.sku_id + "&qty=1&flash_item=" + item.id;
          if (!SY.isLoggedIn()) SY.go("#/login?next=" + encodeURIComponent(next));
          else SY.go(next);
        },
      },
      label
    );
  }

  function itemCard(item, phase) {
    var taken = item.quantity > 0 ? Math.floor(((item.quantity - item.units_left) * 100) / item.quantity) : 100;
    return h(
      "li",
      { class: "flash-item" + (item.sold_out ? " sold-out" : ""), testid: "flash-item", "data-item-id": item.id, "data-units-left": item.units_left },
      h("a", { href: "#/product/" + item.product_id, class: "flash-item-img", tabindex: "-1", "aria-hidden": "true" }, SY.image(item.image_url, item.title, "line-img")),
      h(
        "div",
        { class: "flash-item-body" },
        h("a", { href: "#/product/" + item.product_id, class: "line-title" }, item.title),
        h("p", { class: "line-spec" }, SY.specText(item.spec)),
        h(
          "p",
          { class: "flash-prices" },
          h("strong", { class: "price", testid: "flash-price" }, SY.money(item.sale_price_fen)),
          " ",
          h("s", { class: "shelf-price", testid: "flash-shelf-price" }, h("span", { class: "sr-only" }, t("flash.shelf_price")), SY.money(item.shelf_price_fen))
        ),
        h(
          "div",
          { class: "flash-progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": taken, "aria-label": t("flash.taken", { percent: taken }) },
          h("span", { class: "flash-progress-bar", style: "width:" + taken + "%" })
        ),
        h(
          "p",
          { class: "flash-stock muted" },
          h("span", { testid: "flash-taken" }, t("flash.taken", { percent: taken })),
          " · ",
          h("span", { testid: "flash-left" }, item.sold_out ? t("flash.buy.sold_out") : t("flash.left", { count: item.units_left })),
          " · ",
          h("span", { testid: "flash-limit" }, t("flash.limit", { count: item.per_shopper_limit }))
        ),
        h("div", { class: "flash-item-foot" }, buyButton(item, phase))
      )
    );
  }

  /* One session: its state with the countdown, then its items. ``changed`` is called
   * when the countdown reaches zero (the sale opens or closes). */
  function sessionPanel(s, changed) {
    var phase = phaseOf(s, serverNow());
    var head = h("p", { class: "flash-state flash-state-" + phase, testid: "flash-session-state", "data-phase": phase, "data-session-id": s.id }, h("strong", null, stateText(phase)));
    if (phase === "upcoming") head.appendChild(h("span", { class: "flash-when" }, t("flash.starts_in"), " ", timer(s.starts_at, "flash-countdown", changed)));
    if (phase === "running") head.appendChild(h("span", { class: "flash-when" }, t("flash.ends_in"), " ", timer(s.ends_at, "flash-countdown", changed)));
    var list = h("ul", { class: "flash-items" });
    s.items.forEach(function (item) {
      list.appendChild(itemCard(item, phase));
    });
    if (!s.items.length) list.appendChild(h("li", { class: "muted" }, t("flash.no_items")));
    return h("section", { class: "panel flash-session", testid: "flash-session", "aria-live": "polite" }, head, list);
  }

  async function channelPage(view, params, query, seq) {
    var channel = await fetchChannel();
    if (!channel.sessions.length) {
      view.appendChild(SY.empty(t("flash.none"), t("empty.go_shopping"), "#/", "flash-empty"));
      return;
    }
    var chosen = Number(query.get("session") || 0);
    var tabs = h("div", { class: "flash-tabs", role: "tablist", "aria-label": t("flash.sessions"), testid: "flash-tabs" });
    var body = h("div", { class: "flash-body" });
    var refreshTimer = null;
    view.appendChild(h("p", { class: "flash-intro note" }, t("flash.intro")));
    view.appendChild(tabs);
    view.appendChild(body);

    function refreshLater(ms) {
      window.clearTimeout(refreshTimer);
      refreshTimer = window.setTimeout(function () {
        if (!SY.isCurrent(seq)) return;
        fetchChannel()
          .then(function (fresh) {
            if (!SY.isCurrent(seq)) return;
            if (fresh.sessions.length) channel = fresh;
            draw();
          })
          .catch(function () {
            if (SY.isCurrent(seq)) refreshLater(REFRESH_MS);
          });
      }, ms);
    }

    function draw() {
      var now = serverNow();
      var sessions = channel.sessions;
      var current = sessions.filter(function (s) { return s.id === chosen; })[0] || sessions[0];
      chosen = current.id;
      SY.clear(tabs);
      sessions.forEach(function (s) {
        var phase = phaseOf(s, now);
        tabs.appendChild(
          h(
            "button",
            {
              type: "button",
              role: "tab",
              class: "flash-tab" + (s.id === chosen ? " active" : ""),
              testid: "flash-tab",
              "data-session-id": s.id,
              "data-phase": phase,
              "aria-selected": s.id === chosen ? "true" : "false",
              onclick: function () {
                chosen = s.id;
                window.history.replaceState(null, "", "#/flash?session=" + s.id);
                draw();
              },
            },
            h("span", { class: "flash-tab-time" }, startLabel(s, now)),
            h("span", { class: "flash-tab-state" }, stateText(phase))
          )
        );
      });
      var phase = phaseOf(current, now);
      SY.clear(body).appendChild(
        sessionPanel(current, function () {
          if (!SY.isCurrent(seq)) return;
          draw(); /* the button turns on (or off) now, then fresh units a moment later */
          refreshLater(500 + Math.floor(Math.random() * 1500));
        })
      );
      if (phase === "running") refreshLater(REFRESH_MS + Math.floor(Math.random() * 3000));
    }
    draw();
  }

  /* ---------- the home page entry ---------- */
  SY.flashEntry = function () {
    var entry = h("a", { class: "flash-entry", href: "#/flash", testid: "home-flash", hidden: true });
    fetchChannel()
      .then(function (channel) {
        var s = channel.sessions[0];
        if (!s) return;
        var phase = phaseOf(s, serverNow());
        if (phase !== "running" && phase !== "upcoming") return;
        var lowest = s.items.reduce(function (n, i) { return Math.min(n, i.sale_price_fen); }, Infinity);
        entry.appendChild(h("strong", { class: "flash-entry-title" }, t("flash.title")));
        entry.appendChild(
          h(
            "span",
            { class: "flash-entry-when" },
            phase === "running" ? t("flash.ends_in") : t("flash.session_starts", { time: startLabel(s, serverNow()) }),
            " ",
            timer(phase === "running" ? s.ends_at : s.starts_at, "home-flash-countdown", null)
          )
        );
        if (lowest !== Infinity) entry.appendChild(h("span", { class: "flash-entry-price" }, t("flash.from", { price: SY.money(lowest) })));
        entry.appendChild(h("span", { class: "coupon-entry-cta" }, t("flash.go")));
        entry.hidden = false;
      })
      .catch(function () { /* the home page works without it */ });
    return entry;
  };

  /* ---------- checkout: the panel and the buy through the waiting room ---------- */
  SY.flashCheckoutPanel = function (itemId) {
    var deadline = h("p", { class: "note", testid: "flash-pay-limit", hidden: true });
    var queue = h("p", { class: "note warn flash-queue", testid: "flash-queue", role: "status", "aria-live": "polite", hidden: true });
    var panel = h(
      "section",
      { class: "panel", testid: "flash-checkout", "data-item-id": itemId },
      h("p", null, h("span", { class: "tag" }, t("flash.tag")), " ", t("flash.checkout")),
      h("p", { class: "note" }, t("flash.no_stacking")),
      deadline,
      queue
    );
    fetchChannel()
      .then(function (channel) {
        channel.sessions.forEach(function (s) {
          if (!s.items.some(function (i) { return i.id === itemId; })) return;
          deadline.textContent = t("flash.pay_within", { minutes: s.payment_timeout_minutes });
          deadline.hidden = false;
        });
      })
      .catch(function () { /* the note is a hint */ });
    return panel;
  };

  function sleep(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  /* 排队中: wait what the server asks (Retry-After), at least 1, 2, 4, 8 … 8 s, with
   * jitter so the queue does not come back all at once; the same Idempotency-Key, so
   * a retry never makes a second order. */
  SY.flashBuy = async function (itemId, body, key, panel) {
    var queue = panel.querySelector(".flash-queue");
    for (var tries = 0; ; tries++) {
      try {
        var bought = await SY.api("POST", "/api/app/flash-sales/items/" + itemId + "/buy", body, { "Idempotency-Key": key });
        queue.hidden = true;
        return bought;
      } catch (error) {
        if (error.status !== 429) {
          queue.hidden = true;
          throw error;
        }
        if (tries + 1 >= MAX_TRIES) {
          queue.textContent = t("flash.queue_full");
          throw new SY.ApiError(429, error.code, t("flash.queue_full"), {});
        }
        var asked = Number((error.fields || {}).retry_after_seconds) || 1;
        var wait = Math.max(asked * 1000, Math.min(1000 * Math.pow(2, tries), 8000)) + Math.floor(Math.random() * 400);
        queue.textContent = t("flash.queue", { seconds: Math.ceil(wait / 1000) });
        queue.setAttribute("data-tries", String(tries + 1));
        queue.hidden = false;
        await sleep(wait);
      }
    }
  };

  /* ---------- cashier: the unpaid units go back to the sale at the deadline ---------- */
  SY.flashPayCountdown = function (order) {
    if (!synced) fetchChannel().catch(function () { /* this device's clock, then */ });
    var line = h("p", { class: "flash-pay note warn", testid: "flash-pay", "data-state": "open" });
    line.appendChild(h("span", null, t("flash.pay_left")));
    line.appendChild(document.createTextNode(" "));
    line.appendChild(
      timer(order.pay_deadline, "flash-pay-countdown", function () {
        line.setAttribute("data-state", "expired");
        SY.clear(line).appendChild(document.createTextNode(t("flash.pay_expired")));
      })
    );
    line.appendChild(h("span", null, " " + t("flash.pay_left_note")));
    return line;
  };

  SY.route("/flash", channelPage, { name: "flash", tab: "home", title: function () { return t("flash.title"); } });
})();
