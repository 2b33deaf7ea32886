/* Social plays on a product page — urgency cues (real recent purchases, low stock,
 * countdowns), rising price (阶梯涨价) and bargain (砍价) — and a bargain's page
 * (progress, helpers, cut, share, buy at the price reached). The server decides every
 * price and every rule; this only shows it. Buying uses the shopper's default address. */
(function () {
  "use strict";

  var SY = window.SY;
  var h = SY.h;
  var t = SY.t;

  function countdown(iso, testid, done) {
    return SY.countdown ? SY.countdown(iso, testid, done) : h("span", { testid: testid }, iso);
  }

  function clock(iso) {
    var d = new Date(iso);
    var pad = function (n) { return n < 10 ? "0" + n : String(n); };
    return pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function goOrder(order) {
    SY.toast(t("bargain.ordered"));
    SY.go("#/order/" + order.id);
  }

  /* ---------- urgency cues ---------- */
  function cuesPanel(view, product) {
    var panel = h("section", { class: "panel cues", testid: "cues-panel", hidden: true });
    view.appendChild(panel);
    SY.api("GET", "/api/app/cues?product_id=" + product.id).then(function (c) {
      if (c.low_stock) panel.appendChild(h("p", { class: "note warn", testid: "cue-low-stock" }, t("cues.low_stock", { count: c.low_stock.units_left })));
      c.countdowns.forEach(function (d) {
        panel.appendChild(h("p", { class: "cue-countdown", testid: "cue-countdown", "data-kind": d.kind }, d.name, " · ", t("cues.ends_in"), " ", countdown(d.ends_at, "cue-countdown-time")));
      });
      if (c.purchases.length) {
        panel.appendChild(h("ul", { class: "cue-feed", testid: "cue-feed" }, c.purchases.map(function (p) {
          return h("li", { testid: "cue-purchase" }, SY.pickText(p.text_zh, p.text_en));
        })));
      }
      panel.hidden = !(c.low_stock || c.countdowns.length || c.purchases.length);
    }).catch(function () { /* cues are extra */ });
  }

  /* ---------- rising price ---------- */
  function risingRow(c) {
    var key = null;
    var button = h("button", { type: "button", class: "btn btn-primary btn-block", testid: "rising-buy" }, t("rising.buy", { price: SY.money(c.price_fen) }));
    button.onclick = async function () {
      if (!SY.requireLogin()) return;
      key = key || SY.newKey();
      SY.busy(button, true);
      try {
        var placed = await SY.api("POST", "/api/app/rising-price/" + c.id + "/buy", { quantity: 1, expected_unit_price_fen: c.price_fen }, { "Idempotency-Key": key });
        goOrder(placed.order);
      } catch (e) {
        key = null;
        SY.showError(e);
        if (e.code === "rising_price_changed") SY.render();
      } finally {
        SY.busy(button, false);
      }
    };
    var next = null;
    if (c.next_price_fen !== null && c.next_at) next = t("rising.next_at", { price: SY.money(c.next_price_fen), time: clock(c.next_at) });
    else if (c.next_price_fen !== null) next = t("rising.next_after", { price: SY.money(c.next_price_fen), count: c.base_units_left });
    return h(
      "div",
      { class: "rising-campaign", testid: "rising-campaign", "data-campaign-id": c.id },
      h("p", null, h("span", { class: "tag" }, t("rising.tag")), " ", h("strong", { class: "price", testid: "rising-price" }, SY.money(c.price_fen)), " ", h("span", { class: "muted" }, t("rising.sold", { count: c.units_sold }))),
      c.base_units_left ? h("p", { class: "note", testid: "rising-base-left" }, t("rising.base_left", { count: c.base_units_left, price: SY.money(c.base_price_fen) })) : null,
      next ? h("p", { class: "note warn", testid: "rising-next" }, next) : null,
      h("p", { class: "muted" }, t("rising.ends_in"), " ", countdown(c.ends_at, "rising-countdown")),
      button
    );
  }

  /* ---------- bargain ---------- */
  function bargainRow(c) {
    var button = h("button", { type: "button", class: "btn btn-primary btn-block", testid: "bargain-start" }, t("bargain.start", { price: SY.money(c.floor_price_fen) }));
    button.onclick = async function () {
      if (!SY.requireLogin()) return;
      SY.busy(button, true);
      try {
        var b = await SY.api("POST", "/api/app/bargains/campaigns/" + c.id + "/start");
        SY.go("#/bargain/" + b.id);
      } catch (e) {
        SY.showError(e);
      } finally {
        SY.busy(button, false);
      }
    };
    return h(
      "div",
      { class: "bargain-campaign", testid: "bargain-campaign", "data-campaign-id": c.id },
      h("p", null, h("span", { class: "tag" }, t("bargain.tag")), " ", t("bargain.pitch", { count: c.helpers_needed, price: SY.money(c.floor_price_fen) })),
      button
    );
  }

  SY.socialPanel = function (view, product) {
    cuesPanel(view, product);
    var panel = h("section", { class: "panel social-plays", testid: "social-plays", hidden: true });
    view.appendChild(panel);
    Promise.all([
      SY.api("GET", "/api/app/rising-price?product_id=" + product.id),
      SY.api("GET", "/api/app/bargains/campaigns?product_id=" + product.id),
    ]).then(function (found) {
      found[0].forEach(function (c) { panel.appendChild(risingRow(c)); });
      found[1].forEach(function (c) { panel.appendChild(bargainRow(c)); });
      panel.hidden = !(found[0].length || found[1].length);
    }).catch(function () { /* the product page works without it */ });
  };

  function statusText(status) {
    var words = {
      active: t("bargain.status.active"),
      ordered: t("bargain.status.ordered"),
      bought: t("bargain.status.bought"),
      expired: t("bargain.status.expired"),
    };
    return words[status] || status;
  }

  async function bargainPage(view, params) {
    var b = await SY.api("GET", "/api/app/bargains/" + Number(params.id));
    var helpers = b.helpers.map(function (x) {
      return h("li", { class: "bargain-helper", testid: "bargain-helper" },
        x.avatar_url ? h("img", { src: x.avatar_url, alt: "", class: "avatar" }) : h("span", { class: "avatar" }, x.name.slice(0, 1)),
        h("span", null, x.name), " ", h("span", { class: "muted" }, t("bargain.helper_cut", { amount: SY.money(x.amount_fen) })));
    });
    var panel = h(
      "section",
      { class: "panel bargain-progress", testid: "bargain-progress", "aria-labelledby": "bargain-title" },
      h("h2", { id: "bargain-title" }, t("bargain.title")),
      h("p", null, h("strong", { class: "price", testid: "bargain-price" }, SY.money(b.price_fen)), " ", h("span", { class: "muted" }, t("bargain.original", { price: SY.money(b.original_fen) }))),
      h("p", { testid: "bargain-status", "data-status": b.status }, statusText(b.status)),
      h("p", { class: "note" }, t("bargain.progress", { cut: SY.money(b.cut_fen), count: b.helpers_left, floor: SY.money(b.floor_fen) })),
      b.status === "active" ? h("p", null, t("bargain.ends_in"), " ", countdown(b.expires_at, "bargain-countdown", function () { SY.render(); })) : null,
      h("ul", { class: "bargain-helpers" }, helpers)
    );
    view.appendChild(panel);
    if (b.status !== "active") return;
    if (b.mine) {
      var link = window.location.origin + b.share_h5;
      panel.appendChild(h("p", null, t("bargain.share_hint", { count: b.helpers_left })));
      panel.appendChild(h("input", { class: "share-link", readonly: true, value: link, testid: "bargain-share-link", "aria-label": t("bargain.share_link") }));
      var key = null;
      var buy = h("button", { type: "button", class: "btn btn-primary btn-block", testid: "bargain-buy" }, t("bargain.buy", { price: SY.money(b.price_fen) }));
      buy.onclick = async function () {
        key = key || SY.newKey();
        SY.busy(buy, true);
        try {
          var placed = await SY.api("POST", "/api/app/bargains/" + b.id + "/buy", {}, { "Idempotency-Key": key });
          goOrder(placed.order);
        } catch (e) {
          key = null;
          SY.showError(e);
        } finally {
          SY.busy(buy, false);
        }
      };
      panel.appendChild(buy);
      return;
    }
    if (b.i_cut || !b.helpers_left) return;
    var cut = h("button", { type: "button", class: "btn btn-primary btn-block", testid: "bargain-cut" }, t("bargain.cut"));
    cut.onclick = async function () {
      if (!SY.requireLogin()) return;
      SY.busy(cut, true);
      try {
        await SY.api("POST", "/api/app/bargains/" + b.id + "/cuts");
        SY.toast(t("bargain.cut_done"));
        SY.render();
      } catch (e) {
        SY.showError(e);
      } finally {
        SY.busy(cut, false);
      }
    };
    panel.appendChild(cut);
  }

  SY.route("/bargain/:id", bargainPage, { name: "bargain", tabbar: false, title: function () { return t("bargain.title"); } });
})();
