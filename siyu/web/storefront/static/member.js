/* Members: the member centre (tier card, points, member-day banner), points history,
 * check-in calendar, points mall, lottery wheel; the member-price and order-points
 * pieces other pages borrow (SY.memberDayBanner, SY.memberPriceLine, SY.orderPointsPanel). */
(function () {
  "use strict";

  var SY = window.SY;
  var t = SY.t;
  var h = SY.h;

  function tierName(tier) {
    return SY.pickText(tier.name_zh, tier.name_en);
  }
  function points(n) {
    return t("member.points_n", { n: Number(n || 0).toLocaleString("en-US") });
  }
  /* 95 → "9.5折" / "5 % off" */
  function discountText(percent) {
    if (percent >= 100) return t("member.benefit.no_discount");
    var zhe = String(percent / 10).replace(/\.0$/, "");
    return t("member.benefit.discount", { zhe: zhe, off: 100 - percent });
  }
  function timesText(percent) {
    return String(percent / 100).replace(/\.0+$/, "");
  }
  /* A tier's benefits as lines of text. */
  function benefitList(tier, testid) {
    var items = [discountText(tier.discount_percent)];
    if (tier.free_shipping_threshold_fen === 0) items.push(t("member.benefit.free_shipping"));
    else if (tier.free_shipping_threshold_fen) items.push(t("member.benefit.free_shipping_over", { amount: SY.money(tier.free_shipping_threshold_fen) }));
    if (tier.points_multiplier_percent > 100) items.push(t("member.benefit.points_times", { times: timesText(tier.points_multiplier_percent) }));
    if (tier.birthday_points > 0) items.push(t("member.benefit.birthday_points", { points: tier.birthday_points }));
    if (tier.birthday_coupon_template_id) items.push(t("member.benefit.birthday_coupon"));
    if (tier.priority_aftersale) items.push(t("member.benefit.priority_aftersale"));
    var list = h("ul", { class: "benefits", testid: testid });
    items.forEach(function (text) {
      list.appendChild(h("li", { class: "benefit" }, text));
    });
    return list;
  }

  /* A number of seconds as "3天 04:05:06" / "3d 04:05:06". */
  function countdownText(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var days = Math.floor(s / 86400);
    var hours = Math.floor((s % 86400) / 3600);
    var minutes = Math.floor((s % 3600) / 60);
    var secs = s % 60;
    function two(n) {
      return String(n).padStart(2, "0");
    }
    return t("memberday.countdown_value", { days: days, hours: two(hours), minutes: two(minutes), seconds: two(secs) });
  }

  /* ---------- member day banner: GET /api/app/member/day ---------- */
  SY.memberDayBanner = function () {
    var banner = h("section", { class: "memberday", testid: "member-day", "aria-live": "off", hidden: true });
    SY.api("GET", "/api/app/member/day")
      .then(function (day) {
        banner.hidden = false;
        if (day.is_today) {
          var parts = [t("memberday.title")];
          parts.push(day.points_multiplier_percent === 200 ? t("memberday.double_points") : t("memberday.points_times", { times: timesText(day.points_multiplier_percent) }));
          if (day.free_shipping) parts.push(t("memberday.free_shipping"));
          banner.classList.add("memberday-today");
          banner.setAttribute("data-state", "today");
          banner.appendChild(h("strong", { class: "memberday-title", testid: "member-day-today" }, parts.join(" · ")));
          return;
        }
        if (day.countdown_seconds === null || day.countdown_seconds === undefined) {
          banner.hidden = true;
          return;
        }
        banner.setAttribute("data-state", "countdown");
        var end = Date.now() + day.countdown_seconds * 1000;
        var value = h("span", { class: "memberday-count", testid: "member-day-countdown", "data-seconds": day.countdown_seconds }, countdownText(day.countdown_seconds));
        banner.appendChild(h("span", { class: "memberday-title" }, t("memberday.next")));
        banner.appendChild(value);
        banner.appendChild(h("span", { class: "memberday-sub muted" }, t("memberday.next_sub", { time: SY.formatTime(day.next_starts_at) })));
        var mounted = false;
        var timer = setInterval(function () {
          /* once shown and then taken down with its page: stop */
          if (banner.isConnected) mounted = true;
          else if (mounted) return clearInterval(timer);
          var left = Math.max(0, Math.round((end - Date.now()) / 1000));
          value.textContent = countdownText(left);
          value.setAttribute("data-seconds", left);
          if (left === 0) clearInterval(timer);
        }, 1000);
      })
      .catch(function () {
        banner.hidden = true; /* the banner is extra: the page works without it */
      });
    return banner;
  };

  /* ---------- member prices on the product page ---------- */
  /* The line under the price: the shopper's own member price for the chosen SKU, else
     the lowest tier price ("会员价 ¥x 起"). ``sku`` null: the product's lowest. */
  SY.memberPriceLine = function (memberPrices, sku, skus) {
    var line = h("p", { class: "member-price", testid: "member-price", hidden: true });
    if (!memberPrices) return line;
    var ids = sku ? [sku.id] : skus.map(function (s) { return s.id; });
    var shelf = {};
    skus.forEach(function (s) { shelf[s.id] = s.price_fen; });
    function lowest(tier) {
      var best = null;
      (tier.skus || []).forEach(function (s) {
        if (ids.indexOf(s.sku_id) < 0 || !(s.price_fen < shelf[s.sku_id])) return;
        if (best === null || s.price_fen < best) best = s.price_fen;
      });
      return best;
    }
    var mine = memberPrices.mine ? lowest(memberPrices.mine) : null;
    if (mine !== null) {
      line.hidden = false;
      line.setAttribute("data-kind", "mine");
      line.setAttribute("data-price-fen", mine);
      line.appendChild(h("span", { class: "tag tag-member" }, tierName(memberPrices.mine)));
      line.appendChild(document.createTextNode(" "));
      line.appendChild(h("strong", { class: "price", testid: "member-price-mine" }, SY.money(mine)));
      line.appendChild(h("span", { class: "muted" }, " " + (sku ? t("product.member_price_mine") : t("product.member_price_mine_from"))));
      return line;
    }
    var from = null;
    var tiers = [];
    (memberPrices.tiers || []).forEach(function (tier) {
      var p = lowest(tier);
      if (p === null) return;
      tiers.push(tierName(tier) + " " + SY.money(p));
      if (from === null || p < from) from = p;
    });
    if (from === null) return line;
    line.hidden = false;
    line.setAttribute("data-kind", "from");
    line.setAttribute("data-price-fen", from);
    line.appendChild(h("span", { class: "tag tag-member" }, t("product.member_price")));
    line.appendChild(document.createTextNode(" "));
    line.appendChild(h("span", { testid: "member-price-from" }, t("product.member_price_from", { price: SY.money(from) })));
    line.appendChild(h("span", { class: "member-tiers muted", testid: "member-price-tiers" }, tiers.join(" · ")));
    if (!SY.isLoggedIn()) line.appendChild(h("a", { class: "member-login", href: "#/login?next=" + encodeURIComponent(SY.currentHash()) }, t("product.member_login")));
    return line;
  };

  /* ---------- points on an order: GET /api/app/points/orders/{id} ---------- */
  SY.orderPointsPanel = function (order) {
    var panel = h("section", { class: "panel order-points", testid: "order-points", "aria-labelledby": "order-points-title", hidden: true });
    if (order.status === "pending_payment") return panel;
    SY.api("GET", "/api/app/points/orders/" + order.id)
      .then(function (info) {
        if (!info.earned && !info.spent) return;
        panel.hidden = false;
        panel.appendChild(h("h2", { id: "order-points-title" }, t("order.points.title")));
        var dl = h("dl", { class: "amounts" });
        if (info.earned) {
          dl.appendChild(
            h(
              "div",
              { class: "amount-row" },
              h("dt", null, info.credited ? t("order.points.credited") : t("order.points.pending")),
              h("dd", { testid: info.credited ? "order-points-credited" : "order-points-pending", "data-points": info.earned }, "+" + points(info.earned))
            )
          );
        }
        if (info.spent) {
          dl.appendChild(h("div", { class: "amount-row" }, h("dt", null, t("order.points.spent")), h("dd", { testid: "order-points-spent", "data-points": info.spent }, "-" + points(info.spent))));
        }
        panel.appendChild(dl);
        if (info.earned && !info.credited) panel.appendChild(h("p", { class: "muted" }, t("order.points.pending_hint")));
      })
      .catch(function (error) {
        if (error.status === 401) return;
        panel.hidden = false;
        panel.appendChild(h("p", { class: "note warn", testid: "order-points-error" }, t("order.points.unavailable")));
      });
    return panel;
  };

  /* ---------- 会员中心 ---------- */
  function tierCard(card) {
    function tierOf(level) {
      return card.tiers.filter(function (tier) { return tier.level === level; })[0] || null;
    }
    var here = tierOf(card.level) || { name_zh: card.name_zh, name_en: card.name_en, discount_percent: 100 };
    var next = card.next_level === null || card.next_level === undefined ? null : tierOf(card.next_level);
    var bar = h(
      "div",
      { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(card.progress_percent), "aria-label": t("member.progress") },
      h("span", { class: "progress-fill", style: "width:" + Math.max(0, Math.min(100, card.progress_percent)) + "%" })
    );
    var section = h(
      "section",
      { class: "tier-card tier-" + card.level, testid: "tier-card", "data-level": card.level },
      h("p", { class: "tier-kicker" }, t("member.card")),
      h("h2", { class: "tier-name", testid: "tier-name" }, SY.pickText(card.name_zh, card.name_en)),
      h("p", { class: "tier-growth", testid: "tier-growth", "data-growth": card.window_growth }, t("member.growth", { growth: card.window_growth, lifetime: card.growth })),
      bar,
      h(
        "p",
        { class: "tier-next", testid: "tier-next" },
        next ? t("member.to_next", { missing: card.missing_growth, name: SY.pickText(card.next_name_zh, card.next_name_en) }) : t("member.top_tier")
      )
    );
    var benefits = h(
      "section",
      { class: "panel tier-benefits" },
      h("h3", null, t("member.benefits_now", { name: tierName(here) })),
      benefitList(here, "benefits-current")
    );
    if (next) {
      benefits.appendChild(h("h3", { class: "benefits-next-title" }, t("member.benefits_next", { name: tierName(next) })));
      benefits.appendChild(benefitList(next, "benefits-next"));
    }
    return [section, benefits];
  }

  function pointsPanel(summary) {
    var expiring = (summary.expiring || [])[0];
    return h(
      "section",
      { class: "panel points-panel", testid: "points-panel" },
      h(
        "div",
        { class: "points-row" },
        h("a", { class: "points-cell", href: "#/member/points" }, h("strong", { testid: "points-available", "data-points": summary.available }, String(summary.available)), h("span", { class: "muted" }, t("member.points.available"))),
        h("div", { class: "points-cell" }, h("strong", { testid: "points-pending", "data-points": summary.pending }, String(summary.pending)), h("span", { class: "muted" }, t("member.points.pending")))
      ),
      expiring
        ? h("p", { class: "note warn", testid: "points-expiring", "data-points": summary.expiring_soon }, t("member.points.expiring", { points: summary.expiring_soon, date: SY.formatTime(expiring.expires_at) }))
        : null,
      h("a", { class: "row-link", href: "#/member/points", testid: "points-history-link" }, t("member.points.history"))
    );
  }

  async function memberPage(view) {
    if (!SY.requireLogin()) return;
    var results = await Promise.all([SY.api("GET", "/api/app/member/card"), SY.api("GET", "/api/app/points")]);
    view.appendChild(SY.memberDayBanner());
    tierCard(results[0]).forEach(function (el) { view.appendChild(el); });
    view.appendChild(pointsPanel(results[1]));
    view.appendChild(
      h(
        "nav",
        { class: "panel member-links", "aria-label": t("member.title") },
        [
          ["#/member/checkin", t("checkin.title"), t("checkin.sub"), "member-checkin"],
          ["#/member/mall", t("mall.title"), t("mall.sub"), "member-mall"],
          ["#/member/lottery", t("lottery.title"), t("lottery.sub"), "member-lottery"],
          ["#/member/points", t("member.points.history"), t("member.points.history_sub"), "member-points"],
        ].map(function (l) {
          return h("a", { class: "member-link", href: l[0], testid: l[3] }, h("strong", null, l[1]), h("span", { class: "muted" }, l[2]));
        })
      )
    );
  }

  /* ---------- points history ---------- */
  async function pointsHistoryPage(view) {
    if (!SY.requireLogin()) return;
    var summary = await SY.api("GET", "/api/app/points");
    view.appendChild(pointsPanel(summary));
    var list = h("ul", { class: "points-history", testid: "points-history" });
    var footer = h("div", { class: "list-footer" });
    var more = h("button", { type: "button", class: "btn btn-block", testid: "load-more" }, t("list.load_more"));
    var before = null;
    async function loadPage() {
      var page = await SY.api("GET", "/api/app/points/history?limit=20" + (before ? "&before_id=" + before : ""));
      page.items.forEach(function (e) {
        list.appendChild(
          h(
            "li",
            { class: "points-entry", testid: "points-entry", "data-kind": e.kind, "data-delta": e.delta, "data-bucket": e.bucket },
            h("span", { class: "points-entry-body" }, h("span", null, SY.localizeMessage(e.reason) || e.kind), h("span", { class: "muted" }, SY.formatTime(e.created_at) + (e.bucket === "pending" ? " · " + t("member.points.pending") : ""))),
            h("strong", { class: e.delta > 0 ? "plus" : "minus" }, (e.delta > 0 ? "+" : "") + e.delta)
          )
        );
      });
      before = page.next_before_id;
      SY.clear(footer);
      if (!list.children.length) footer.appendChild(SY.empty(t("member.points.empty"), t("checkin.title"), "#/member/checkin", "points-empty"));
      else if (before) footer.appendChild(more);
      else footer.appendChild(h("p", { class: "list-end" }, t("list.end")));
    }
    more.addEventListener("click", async function () {
      SY.busy(more, true);
      try {
        await loadPage();
      } catch (error) {
        SY.showError(error);
      } finally {
        SY.busy(more, false);
      }
    });
    await loadPage();
    view.appendChild(h("h2", { class: "page-sub" }, t("member.points.history")));
    view.appendChild(list);
    view.appendChild(footer);
  }

  /* ---------- check-in ---------- */
  function weekdayLabels() {
    return [t("checkin.weekday.1"), t("checkin.weekday.2"), t("checkin.weekday.3"), t("checkin.weekday.4"), t("checkin.weekday.5"), t("checkin.weekday.6"), t("checkin.weekday.7")];
  }

  async function checkinPage(view) {
    if (!SY.requireLogin()) return;
    var status = await SY.api("GET", "/api/app/checkin");
    drawCheckin(view, status, null);
  }

  function drawCheckin(view, status, message) {
    SY.clear(view);
    var reward = status.next_reward || { points: 0 };
    var head = h(
      "section",
      { class: "panel checkin-head", testid: "checkin-head" },
      h("p", { class: "checkin-streak" }, t("checkin.streak_label"), " ", h("strong", { testid: "checkin-streak", "data-streak": status.streak }, t("checkin.streak_days", { days: status.streak }))),
      h(
        "p",
        { class: "muted", testid: "checkin-next-reward", "data-points": reward.points, "data-cycle-day": status.next_cycle_day },
        status.checked_today
          ? t("checkin.next_reward_tomorrow", { day: status.next_cycle_day, points: reward.points })
          : t("checkin.next_reward_today", { day: status.next_cycle_day, points: reward.points }),
        reward.coupon_template_id ? " " + t("checkin.plus_coupon") : ""
      ),
      message ? h("p", { class: "note ok", testid: "checkin-result", role: "status" }, message) : null
    );
    var button = h(
      "button",
      {
        type: "button",
        class: "btn btn-primary btn-block",
        testid: "checkin-button",
        disabled: status.checked_today,
        "data-checked": status.checked_today ? "true" : "false",
        onclick: async function () {
          SY.busy(button, true);
          try {
            var done = await SY.api("POST", "/api/app/checkin");
            var fresh = await SY.api("GET", "/api/app/checkin");
            drawCheckin(view, fresh, t("checkin.done", { points: done.points, days: done.streak }));
            var again = view.querySelector('[data-testid="checkin-result"]');
            if (again) again.setAttribute("tabindex", "-1");
          } catch (error) {
            SY.busy(button, false);
            if (error.code === "already_checked_in") {
              SY.toast(error.message);
              var latest = await SY.api("GET", "/api/app/checkin").catch(function () { return null; });
              if (latest) drawCheckin(view, latest, null);
              return;
            }
            SY.showError(error);
          }
        },
      },
      status.checked_today ? t("checkin.checked_today") : t("checkin.button")
    );
    head.appendChild(button);
    view.appendChild(head);

    /* the month, Monday first */
    var cal = h("div", { class: "calendar", role: "grid", testid: "checkin-calendar", "aria-label": t("checkin.calendar") });
    weekdayLabels().forEach(function (w) {
      cal.appendChild(h("span", { class: "cal-head", role: "columnheader" }, w));
    });
    var days = status.calendar || [];
    if (days.length) {
      var first = new Date(days[0].day + "T00:00:00Z").getUTCDay(); /* 0 Sunday */
      var pad = (first + 6) % 7;
      for (var i = 0; i < pad; i++) cal.appendChild(h("span", { class: "cal-day cal-pad", "aria-hidden": "true" }));
    }
    days.forEach(function (d) {
      var n = Number(d.day.slice(8, 10));
      var cls = "cal-day" + (d.checked ? " cal-checked" : "") + (d.is_today ? " cal-today" : "");
      var label = d.day + (d.checked ? " " + t("checkin.day_checked") : "") + (d.is_today ? " " + t("checkin.today") : "");
      var cell = h(
        "span",
        { class: cls, role: "gridcell", testid: "cal-day", "data-day": d.day, "data-checked": d.checked ? "true" : "false", "data-today": d.is_today ? "true" : "false", "aria-label": label, "aria-current": d.is_today ? "date" : null },
        h("span", { class: "cal-n", "aria-hidden": "true" }, String(n)),
        d.checked ? h("span", { class: "cal-mark", "aria-hidden": "true" }, "✓") : null
      );
      if (status.makeup_enabled && d.can_make_up && status.makeups_left > 0) {
        var makeup = h(
          "button",
          {
            type: "button",
            class: "cal-makeup",
            testid: "checkin-makeup",
            "data-day": d.day,
            "aria-label": t("checkin.makeup_day", { day: d.day }),
            onclick: async function () {
              SY.busy(makeup, true);
              try {
                var fresh = await SY.api("POST", "/api/app/checkin/makeup", { day: d.day });
                drawCheckin(view, fresh, t("checkin.makeup_done", { day: d.day }));
              } catch (error) {
                SY.busy(makeup, false);
                SY.showError(error);
              }
            },
          },
          t("checkin.makeup")
        );
        cell.appendChild(makeup);
      }
      cal.appendChild(cell);
    });
    var calPanel = h("section", { class: "panel", "aria-labelledby": "cal-title" }, h("h2", { id: "cal-title" }, t("checkin.calendar")), cal);
    if (status.makeup_enabled) calPanel.appendChild(h("p", { class: "muted", testid: "checkin-makeups-left" }, t("checkin.makeups_left", { count: status.makeups_left, points: status.makeup_cost_points })));
    view.appendChild(calPanel);
  }

  /* ---------- points mall ---------- */
  async function mallPage(view) {
    var loggedIn = SY.isLoggedIn();
    var results = await Promise.all([
      SY.api("GET", "/api/app/mall/items"),
      loggedIn ? SY.api("GET", "/api/app/points") : Promise.resolve(null),
      loggedIn ? SY.api("GET", "/api/app/mall/exchanges") : Promise.resolve([]),
    ]);
    drawMall(view, results[0], results[1], results[2]);
  }

  function drawMall(view, items, summary, exchanges) {
    SY.clear(view);
    var names = {};
    items.forEach(function (i) { names[i.id] = i.name; });
    if (summary) view.appendChild(h("p", { class: "panel mall-balance" }, t("mall.balance"), " ", h("strong", { testid: "mall-balance", "data-points": summary.available }, points(summary.available))));
    else view.appendChild(h("p", { class: "note" }, h("a", { href: "#/login?next=" + encodeURIComponent("#/member/mall") }, t("mall.login"))));
    if (!items.length) view.appendChild(SY.empty(t("mall.empty"), t("empty.go_shopping"), "#/", "mall-empty"));
    var list = h("ul", { class: "mall-list", testid: "mall-items" });
    items.forEach(function (item) {
      var confirmBox = h("div", { class: "confirm-box", "aria-live": "polite" });
      var afford = !summary || summary.available >= item.points_price;
      var held = exchanges.filter(function (x) { return x.item_id === item.id; }).length;
      var limited = !!(item.per_shopper_limit && held >= item.per_shopper_limit);
      var button = h(
        "button",
        {
          type: "button",
          class: "btn btn-small btn-primary",
          testid: "mall-exchange",
          "data-item-id": item.id,
          disabled: (summary && !afford) || limited,
          "data-state": limited ? "limit" : afford ? "ok" : "short",
          onclick: function () {
            if (!SY.requireLogin()) return;
            SY.clear(confirmBox).appendChild(h("p", null, t("mall.confirm", { name: item.name, points: item.points_price })));
            var yes = h(
              "button",
              {
                type: "button",
                class: "btn btn-primary btn-small",
                testid: "mall-exchange-confirm",
                onclick: async function () {
                  SY.busy(yes, true);
                  try {
                    await SY.api("POST", "/api/app/mall/items/" + item.id + "/exchanges", null, { "Idempotency-Key": SY.newKey() });
                    SY.toast(t("mall.done", { name: item.name }));
                    var fresh = await Promise.all([SY.api("GET", "/api/app/mall/items"), SY.api("GET", "/api/app/points"), SY.api("GET", "/api/app/mall/exchanges")]);
                    drawMall(view, fresh[0], fresh[1], fresh[2]);
                  } catch (error) {
                    SY.busy(yes, false);
                    SY.clear(confirmBox).appendChild(h("p", { class: "field-error", testid: "mall-error" }, error.message));
                  }
                },
              },
              t("mall.confirm_yes")
            );
            confirmBox.appendChild(h("div", { class: "button-row" }, yes, h("button", { type: "button", class: "btn btn-small", onclick: function () { SY.clear(confirmBox); button.focus(); } }, t("mall.confirm_no"))));
            yes.focus();
          },
        },
        limited ? t("mall.limit_reached") : afford ? t("mall.exchange") : t("mall.not_enough")
      );
      list.appendChild(
        h(
          "li",
          { class: "mall-item", testid: "mall-item", "data-item-id": item.id },
          h("div", { class: "mall-face" }, h("strong", { class: "mall-price", "data-points": item.points_price }, points(item.points_price)), h("span", { class: "tag" }, item.kind === "coupon" ? t("mall.kind.coupon") : t("mall.kind.goods"))),
          h(
            "div",
            { class: "mall-body" },
            h("p", { class: "mall-name" }, item.name),
            item.per_shopper_limit ? h("p", { class: "muted" }, t("mall.limit", { count: item.per_shopper_limit })) : null,
            confirmBox
          ),
          h("div", { class: "mall-action" }, button)
        )
      );
    });
    view.appendChild(list);
    if (summary) {
      view.appendChild(h("h2", { class: "page-sub" }, t("mall.mine")));
      if (!exchanges.length) view.appendChild(h("p", { class: "muted panel", testid: "mall-exchanges-empty" }, t("mall.mine_empty")));
      else {
        var mine = h("ul", { class: "plain-list", testid: "mall-exchanges" });
        exchanges.forEach(function (x) {
          mine.appendChild(
            h(
              "li",
              { class: "plain-item", testid: "mall-exchange-row", "data-status": x.status },
              h("span", null, names[x.item_id] || t("mall.item_n", { id: x.item_id }), h("span", { class: "muted" }, " · " + SY.formatTime(x.created_at))),
              h("span", null, "-" + points(x.points) + " · " + exchangeStatus(x.status))
            )
          );
        });
        view.appendChild(mine);
      }
    }
  }
  function exchangeStatus(status) {
    return { done: t("mall.status.done"), to_ship: t("mall.status.to_ship"), shipped: t("mall.status.shipped") }[status] || status;
  }

  /* ---------- lottery ---------- */
  async function lotteryListPage(view) {
    var campaigns = await SY.api("GET", "/api/app/lottery");
    if (!campaigns.length) {
      view.appendChild(SY.empty(t("lottery.none"), t("member.title"), "#/member", "lottery-none"));
      return;
    }
    var list = h("ul", { class: "plain-list", testid: "lottery-list" });
    campaigns.forEach(function (c) {
      list.appendChild(
        h(
          "li",
          { class: "plain-item" },
          h("a", { class: "row-link", href: "#/lottery/" + c.id, testid: "lottery-link", "data-campaign-id": c.id }, h("strong", null, c.name), h("span", { class: "muted" }, " · " + t("lottery.cost", { points: c.cost_points })))
        )
      );
    });
    view.appendChild(list);
  }

  var WHEEL_COLORS = ["#ffe3e0", "#fff6d6"];
  function wheel(prizes) {
    var n = prizes.length;
    var step = 360 / n;
    var stops = prizes.map(function (p, i) {
      return WHEEL_COLORS[i % 2] + " " + i * step + "deg " + (i + 1) * step + "deg";
    });
    var disc = h("div", { class: "wheel-disc", testid: "wheel-disc", style: "background: conic-gradient(" + stops.join(", ") + ")" });
    prizes.forEach(function (p, i) {
      disc.appendChild(
        h("span", { class: "wheel-label", style: "transform: rotate(" + (i * step + step / 2) + "deg)", "data-prize-id": p.id }, h("span", { class: "wheel-text" }, p.name))
      );
    });
    return { el: h("div", { class: "wheel", "aria-hidden": "true" }, disc, h("span", { class: "wheel-pointer" })), disc: disc, step: step };
  }

  async function lotteryPage(view, params) {
    var id = Number(params.id);
    var loggedIn = SY.isLoggedIn();
    var results = await Promise.all([
      SY.api("GET", "/api/app/lottery/" + id),
      loggedIn ? SY.api("GET", "/api/app/lottery/" + id + "/today") : Promise.resolve(null),
      loggedIn ? SY.api("GET", "/api/app/points") : Promise.resolve(null),
      loggedIn ? SY.api("GET", "/api/app/lottery-draws") : Promise.resolve([]),
    ]);
    var campaign = results[0];
    var today = results[1];
    var summary = results[2];
    var draws = results[3].filter(function (d) { return d.campaign_id === campaign.id; });
    var byId = {};
    campaign.prizes.forEach(function (p) { byId[p.id] = p; });

    view.appendChild(h("h2", { class: "page-sub", testid: "lottery-name" }, campaign.name));
    var w = wheel(campaign.prizes);
    var rotation = 0;
    var info = h(
      "div",
      { class: "lottery-info" },
      h("p", { testid: "lottery-cost", "data-points": campaign.cost_points }, t("lottery.cost", { points: campaign.cost_points })),
      summary ? h("p", { class: "muted" }, t("mall.balance"), " ", h("strong", { testid: "lottery-balance", "data-points": summary.available }, points(summary.available))) : null,
      today ? h("p", { class: "muted", testid: "lottery-left", "data-left": today.draws_left === null ? "unlimited" : today.draws_left }, today.draws_left === null ? t("lottery.left_unlimited") : t("lottery.left", { count: today.draws_left })) : null,
      h("p", { class: "muted" }, t("lottery.window", { from: SY.formatTime(campaign.starts_at), to: SY.formatTime(campaign.ends_at) }))
    );
    var result = h("p", { class: "lottery-result", testid: "lottery-result", role: "status", "aria-live": "polite" });
    var button = h(
      "button",
      {
        type: "button",
        class: "btn btn-primary btn-block",
        testid: "lottery-draw",
        disabled: !!(today && today.draws_left === 0),
        onclick: async function () {
          if (!SY.requireLogin()) return;
          SY.busy(button, true);
          result.textContent = "";
          result.removeAttribute("data-prize-id");
          try {
            var drawn = await SY.api("POST", "/api/app/lottery/" + campaign.id + "/draws", null, { "Idempotency-Key": SY.newKey() });
            var index = campaign.prizes.indexOf(byId[drawn.given_prize_id]);
            /* spin whole turns, then land with the won segment's middle under the pointer */
            var target = 360 - (index * w.step + w.step / 2);
            rotation = rotation - (rotation % 360) + 360 * 4 + target;
            var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
            w.disc.style.transition = reduce ? "none" : "transform 1.6s cubic-bezier(0.2, 0.7, 0.2, 1)";
            w.disc.style.transform = "rotate(" + rotation + "deg)";
            await new Promise(function (resolve) { setTimeout(resolve, reduce ? 0 : 1700); });
            var prize = byId[drawn.given_prize_id] || { name: "?", kind: "thanks" };
            result.setAttribute("data-prize-id", drawn.given_prize_id);
            result.setAttribute("data-prize-name", prize.name);
            result.textContent = prize.kind === "thanks" ? t("lottery.result_thanks", { name: prize.name }) : t("lottery.result_won", { name: prize.name });
            var fresh = await Promise.all([
              SY.api("GET", "/api/app/lottery/" + campaign.id + "/today"),
              SY.api("GET", "/api/app/points"),
              SY.api("GET", "/api/app/lottery-draws"),
            ]);
            var left = view.querySelector('[data-testid="lottery-left"]');
            if (left) {
              left.setAttribute("data-left", fresh[0].draws_left === null ? "unlimited" : fresh[0].draws_left);
              left.textContent = fresh[0].draws_left === null ? t("lottery.left_unlimited") : t("lottery.left", { count: fresh[0].draws_left });
            }
            var bal = view.querySelector('[data-testid="lottery-balance"]');
            if (bal) {
              bal.setAttribute("data-points", fresh[1].available);
              bal.textContent = points(fresh[1].available);
            }
            drawHistory(fresh[2].filter(function (d) { return d.campaign_id === campaign.id; }));
            SY.busy(button, false);
            button.disabled = fresh[0].draws_left === 0;
          } catch (error) {
            SY.busy(button, false);
            result.textContent = error.message;
            result.setAttribute("data-error", error.code);
          }
        },
      },
      t("lottery.draw", { points: campaign.cost_points })
    );
    view.appendChild(h("section", { class: "panel lottery" }, w.el, result, button, info));

    var odds = h("ul", { class: "plain-list", testid: "lottery-prizes" });
    campaign.prizes.forEach(function (p) {
      odds.appendChild(
        h(
          "li",
          { class: "plain-item", testid: "lottery-prize", "data-prize-id": p.id },
          h("span", null, p.name, p.stock !== null && p.stock !== undefined ? h("span", { class: "muted" }, " · " + t("lottery.stock", { count: p.stock })) : null),
          h("strong", { testid: "lottery-odds" }, p.odds_text)
        )
      );
    });
    view.appendChild(h("section", { class: "panel", "aria-labelledby": "odds-title" }, h("h2", { id: "odds-title" }, t("lottery.odds")), odds, h("p", { class: "muted" }, t("lottery.odds_note"))));

    var history = h("section", { class: "panel", "aria-labelledby": "draws-title" });
    function drawHistory(list) {
      SY.clear(history).appendChild(h("h2", { id: "draws-title" }, t("lottery.mine")));
      if (!list.length) {
        history.appendChild(h("p", { class: "muted" }, t("lottery.mine_empty")));
        return;
      }
      var ul = h("ul", { class: "plain-list", testid: "lottery-draws" });
      list.forEach(function (d) {
        var prize = byId[d.given_prize_id] || { name: "?" };
        ul.appendChild(
          h(
            "li",
            { class: "plain-item", testid: "lottery-draw-row", "data-prize-id": d.given_prize_id },
            h("span", null, prize.name, d.points_won ? " +" + d.points_won : ""),
            h("span", { class: "muted" }, SY.formatTime(d.created_at))
          )
        );
      });
      history.appendChild(ul);
    }
    if (loggedIn) {
      drawHistory(draws);
      view.appendChild(history);
    } else {
      view.appendChild(h("p", { class: "note" }, h("a", { href: "#/login?next=" + encodeURIComponent(SY.currentHash()) }, t("lottery.login"))));
    }
  }

  SY.route("/member", memberPage, { name: "member", tab: "me", title: function () { return t("member.title"); } });
  SY.route("/member/points", pointsHistoryPage, { name: "points", tab: "me", title: function () { return t("member.points.history"); } });
  SY.route("/member/checkin", checkinPage, { name: "checkin", tab: "me", title: function () { return t("checkin.title"); } });
  SY.route("/member/mall", mallPage, { name: "mall", tab: "me", title: function () { return t("mall.title"); } });
  SY.route("/member/lottery", lotteryListPage, { name: "lottery-list", tab: "me", title: function () { return t("lottery.title"); } });
  SY.route("/lottery/:id", lotteryPage, { name: "lottery", tab: "me", title: function () { return t("lottery.title"); } });
})();
