/* Group buy (拼团): the panel on a product page (the campaign, groups to join, open
 * one), a group's progress page (members, seats left, countdown, the share link) and
 * the hand-off to checkout in group mode. The server decides everything; this only
 * shows it. */
(function () {
  "use strict";

  var SY = window.SY;
  var h = SY.h;
  var t = SY.t;

  /* "02:13:05" until ``iso``; calls ``done`` once when it reaches zero. */
  SY.countdown = function (iso, testid, done) {
    var el = h("span", { class: "countdown", testid: testid, "data-deadline": iso });
    var end = new Date(iso).getTime();
    var fired = false;
    function pad(n) {
      return n < 10 ? "0" + n : String(n);
    }
    function tick() {
      if (!el.isConnected && fired) return;
      var left = Math.max(0, Math.floor((end - Date.now()) / 1000));
      var days = Math.floor(left / 86400);
      var rest = left % 86400;
      var text = pad(Math.floor(rest / 3600)) + ":" + pad(Math.floor((rest % 3600) / 60)) + ":" + pad(rest % 60);
      el.textContent = days ? t("group.days", { days: days }) + " " + text : text;
      if (left === 0) {
        if (!fired && done) done();
        fired = true;
        return;
      }
      window.setTimeout(tick, 1000 - (Date.now() % 1000));
    }
    tick();
    return el;
  };

  function statusText(status) {
    var words = {
      pending: t("group.status.pending"),
      open: t("group.status.open"),
      completed: t("group.status.completed"),
      failed: t("group.status.failed"),
      abandoned: t("group.status.abandoned"),
    };
    return words[status] || status;
  }

  function tierText(c) {
    return c.tiers
      .map(function (tier) {
        return t("group.tier", { size: tier.size, price: SY.money(tier.price_fen) });
      })
      .join(" · ");
  }

  function groupRow(g, campaign) {
    var leader = g.members.filter(function (m) { return m.is_leader; })[0];
    return h(
      "li",
      { class: "group-row", testid: "open-group-row", "data-group-id": g.id },
      h("span", { class: "group-leader" }, leader ? leader.name : ""),
      h("span", { class: "muted" }, t("group.seats_left", { count: g.seats_left })),
      g.deadline_at ? SY.countdown(g.deadline_at, "open-group-countdown") : null,
      h("a", { class: "btn btn-small btn-primary", href: "#/group/" + g.id, testid: "join-group-link" }, t("group.join"))
    );
  }

  /* On the product page: every running campaign for this product. */
  SY.groupBuyPanel = function (view, product) {
    var panel = h("section", { class: "panel group-buy", testid: "group-buy-panel", hidden: true });
    view.appendChild(panel);
    SY.api("GET", "/api/app/group-buy?product_id=" + product.id)
      .then(function (campaigns) {
        return Promise.all(
          campaigns.map(function (c) {
            return SY.api("GET", "/api/app/group-buy/" + c.id);
          })
        );
      })
      .then(function (details) {
        details.forEach(function (c) {
          panel.appendChild(
            h(
              "div",
              { class: "group-campaign", testid: "group-campaign", "data-campaign-id": c.id },
              h("p", null, h("span", { class: "tag" }, t("group.tag")), " ", h("strong", { class: "price", testid: "group-price" }, SY.money(c.group_price_fen)), " ", h("span", { class: "muted" }, tierText(c))),
              c.ladder ? h("p", { class: "note" }, t("group.ladder_note")) : null,
              c.auto_fill ? h("p", { class: "note warn", testid: "group-auto-fill" }, SY.pickText(c.auto_fill_notice_zh, c.auto_fill_notice_en)) : null,
              c.open_groups.length ? h("ul", { class: "group-list" }, c.open_groups.map(function (g) { return groupRow(g, c); })) : null,
              h("a", { class: "btn btn-primary btn-block", testid: "open-group", href: "#/checkout?product=" + c.product_id + "&sku=" + c.sku_id + "&qty=1&group_campaign=" + c.id }, t("group.open", { price: SY.money(c.group_price_fen) }))
            )
          );
        });
        panel.hidden = !details.length;
      })
      .catch(function () { /* the product page works without it */ });
  };

  async function groupPage(view, params) {
    var id = Number(params.id);
    var g = await SY.api("GET", "/api/app/group-buy/groups/" + id);
    var c = await SY.api("GET", "/api/app/group-buy/" + g.campaign_id);
    var product = await SY.api("GET", "/api/app/products/" + c.product_id);
    var status = h("p", { class: "group-status", testid: "group-status", "data-status": g.status }, statusText(g.status));
    var seats = [];
    g.members.forEach(function (m) {
      seats.push(
        h("li", { class: "group-seat" + (m.is_leader ? " leader" : ""), testid: "group-member" },
          m.avatar_url ? h("img", { src: m.avatar_url, alt: "", class: "avatar" }) : h("span", { class: "avatar" }, m.name.slice(0, 1)),
          h("span", null, m.name), m.is_leader ? h("span", { class: "tag" }, t("group.leader")) : null,
          m.status === "refunded" ? h("span", { class: "muted" }, t("group.refunded")) : null)
      );
    });
    for (var i = 0; i < g.seats_left; i++) seats.push(h("li", { class: "group-seat empty", testid: "group-empty-seat" }, h("span", { class: "avatar" }, "?")));
    var panel = h(
      "section",
      { class: "panel group-progress", testid: "group-progress", "aria-labelledby": "group-title" },
      h("h2", { id: "group-title" }, product.title),
      h("p", null, h("strong", { class: "price" }, SY.money(c.group_price_fen)), " ", h("span", { class: "muted" }, tierText(c))),
      status,
      g.status === "open" ? h("p", null, t("group.seats_left", { count: g.seats_left }), " · ", t("group.ends_in"), " ", SY.countdown(g.deadline_at, "group-countdown", function () { SY.render(); })) : null,
      g.virtual_seats ? h("p", { class: "note warn", testid: "group-virtual" }, t("group.virtual", { count: g.virtual_seats })) : null,
      g.final_price_fen !== null && g.final_price_fen !== c.group_price_fen ? h("p", { class: "note" }, t("group.final_price", { price: SY.money(g.final_price_fen) })) : null,
      h("ul", { class: "group-seats" }, seats)
    );
    view.appendChild(panel);
    if (c.auto_fill) panel.appendChild(h("p", { class: "note warn" }, SY.pickText(c.auto_fill_notice_zh, c.auto_fill_notice_en)));
    if (g.status !== "open") {
      panel.appendChild(h("a", { class: "btn btn-block", href: "#/product/" + c.product_id }, t("group.back_to_product")));
      return;
    }
    if (g.mine) {
      var link = window.location.origin + g.share_h5;
      var input = h("input", { class: "share-link", readonly: true, value: link, testid: "group-share-link", "aria-label": t("group.share_link") });
      panel.appendChild(
        h("div", { class: "share" },
          h("p", null, t("group.share_hint", { count: g.seats_left })),
          input,
          h("button", {
            type: "button", class: "btn btn-primary btn-block", testid: "group-share-copy",
            onclick: function () {
              input.select();
              var copied = navigator.clipboard ? navigator.clipboard.writeText(link) : Promise.reject(new Error("no clipboard"));
              copied.then(function () { SY.toast(t("group.copied")); }, function () { SY.toast(t("group.copy_manually")); });
            },
          }, t("group.share")))
      );
      return;
    }
    var sharer = SY.entry().sharer_id || null;
    panel.appendChild(
      h("a", {
        class: "btn btn-primary btn-block", testid: "group-join",
        href: "#/checkout?product=" + c.product_id + "&sku=" + c.sku_id + "&qty=1&group=" + g.id + (sharer ? "&sharer=" + sharer : ""),
      }, t("group.join_for", { price: SY.money(c.group_price_fen) }))
    );
  }

  SY.route("/group/:id", groupPage, { name: "group", tabbar: false, title: function () { return t("group.title"); } });
})();
