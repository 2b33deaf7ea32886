/* Account: sandbox login, me (phone binding, language), orders, order detail with
 * pay / cancel / confirm / after-sales, after-sales list, customer service. */
(function () {
  "use strict";

  var SY = window.SY;
  var t = SY.t;
  var h = SY.h;

  function safeNext(next) {
    return next && next.indexOf("#/") === 0 && next.indexOf("#/login") !== 0 ? next : "#/me";
  }

  /* ---------- login ---------- */
  async function loginPage(view, params, query) {
    var next = safeNext(query.get("next"));
    if (document.documentElement.getAttribute("data-login-mode") !== "sandbox") {
      view.appendChild(SY.empty(t("login.open_in_wechat"), t("empty.go_shopping"), "#/", "login-unavailable"));
      return;
    }
    var input = h("input", { id: "login-code", name: "code", required: true, maxlength: "64", autocomplete: "username", testid: "login-code", "aria-describedby": "login-help login-error" });
    var error = h("p", { class: "field-error", id: "login-error", "aria-live": "polite" });
    var submit = h("button", { type: "submit", class: "btn btn-primary btn-block", testid: "login-submit" }, t("login.submit"));
    var form = h(
      "form",
      {
        class: "panel login",
        novalidate: true,
        onsubmit: async function (event) {
          event.preventDefault();
          var code = input.value.trim();
          if (!code) {
            error.textContent = t("login.error.empty");
            input.setAttribute("aria-invalid", "true");
            input.focus();
            return;
          }
          SY.busy(submit, true);
          var entry = SY.entry();
          try {
            // Sandbox: what was typed is the login code and, when it is a valid
            // nickname (1–20 characters), the nickname of a new shopper.
            var nickname = code.replace(/\s+/g, " ");
            var result = await SY.api("POST", "/api/app/login", {
              code: code,
              nickname: nickname.length <= 20 ? nickname : null,
              scene: entry.scene === undefined ? null : entry.scene,
              qr_scene: entry.qr_scene || null,
              sharer_id: entry.sharer_id === undefined ? null : entry.sharer_id,
            });
            SY.setToken(result.token);
            if (SY.tracker && result.shopper) SY.tracker.identify(result.shopper.id);
            SY.toast(result.is_new ? t("login.welcome_new") : t("login.welcome_back"));
            SY.refreshCartCount();
            SY.go(next, true);
            SY.checkGift();
          } catch (err) {
            SY.busy(submit, false);
            error.textContent = err.message;
            input.setAttribute("aria-invalid", "true");
            input.focus();
          }
        },
      },
      h("h2", null, t("login.title")),
      h("p", { id: "login-help", class: "muted" }, t("login.sandbox_help")),
      h("div", { class: "field" }, h("label", { for: "login-code" }, t("login.code")), input, error),
      submit
    );
    view.appendChild(form);
    setTimeout(function () { input.focus(); }, 0);
  }

  /* ---------- me ---------- */
  async function mePage(view) {
    var profile = null;
    if (SY.isLoggedIn()) profile = await SY.api("GET", "/api/app/me");
    var head = h("section", { class: "panel me-head" });
    if (profile) {
      head.appendChild(avatarOf(profile));
      head.appendChild(
        h(
          "div",
          null,
          h("h2", { testid: "me-name" }, profile.nickname || t("me.shopper", { id: profile.id })),
          h("p", { class: "muted" }, t("me.since", { time: SY.formatTime(profile.registered_at) }))
        )
      );
    } else {
      head.appendChild(h("div", { class: "avatar avatar-blank", "aria-hidden": "true" }));
      head.appendChild(
        h("div", null, h("h2", null, t("me.guest")), h("a", { class: "btn btn-primary", href: "#/login?next=" + encodeURIComponent("#/me"), testid: "me-login" }, t("me.login")))
      );
    }
    view.appendChild(head);

    var shortcuts = h("nav", { class: "panel shortcuts", "aria-label": t("me.orders") });
    [
      ["pending_payment", t("order.tab.pending_payment")],
      ["paid", t("order.tab.paid")],
      ["shipped", t("order.tab.shipped")],
      ["completed", t("order.tab.completed")],
    ].forEach(function (s) {
      shortcuts.appendChild(h("a", { href: "#/orders?status=" + s[0], class: "shortcut", testid: "me-orders-" + s[0] }, s[1]));
    });
    shortcuts.appendChild(h("a", { href: "#/aftersales", class: "shortcut", testid: "me-aftersales" }, t("me.aftersales")));
    view.appendChild(
      h("div", { class: "section-head" }, h("h2", null, t("me.orders")), h("a", { href: "#/orders", class: "more", testid: "me-orders" }, t("me.all_orders")))
    );
    view.appendChild(shortcuts);

    view.appendChild(
      h(
        "a",
        { class: "panel member-entry", href: "#/member", testid: "me-member" },
        h("strong", null, t("member.title")),
        h("span", { class: "muted" }, t("member.entry_sub"))
      )
    );
    view.appendChild(
      h(
        "nav",
        { class: "panel coupon-links", "aria-label": t("coupon.section") },
        h("a", { href: "#/coupons", class: "coupon-link", testid: "me-coupons" }, h("strong", null, t("coupon.mine")), h("span", { class: "muted" }, t("coupon.mine_sub"))),
        h("a", { href: "#/coupons/center", class: "coupon-link", testid: "me-coupon-center" }, h("strong", null, t("coupon.center")), h("span", { class: "muted" }, t("coupon.center_sub")))
      )
    );

    if (profile) view.appendChild(SY.addressBookPanel());
    if (profile) view.appendChild(nicknamePanel(profile, head));
    if (profile) view.appendChild(phonePanel(profile));

    var langs = h("div", { class: "chip-row", role: "group", "aria-labelledby": "lang-title" });
    [["zh-CN", "中文"], ["en", "English"]].forEach(function (l) {
      var active = SY.locale() === l[0];
      langs.appendChild(
        h("button", { type: "button", class: "chip" + (active ? " active" : ""), lang: l[0], "aria-pressed": active ? "true" : "false", testid: "locale-switch", "data-locale": l[0], onclick: function () { SY.setLocale(l[0]); } }, l[1])
      );
    });
    view.appendChild(h("section", { class: "panel" }, h("h2", { id: "lang-title" }, t("me.language")), langs));

    var links = h("section", { class: "panel" }, h("a", { href: "#/service", class: "row-link" }, t("nav.service")));
    if (profile) {
      links.appendChild(
        h("button", { type: "button", class: "btn btn-block", testid: "logout", onclick: function () { SY.setToken(null); SY.resetIdentity(); SY.setCartCount(0); SY.toast(t("me.logged_out")); SY.render(); } }, t("me.logout"))
      );
    }
    view.appendChild(links);
  }

  /* The avatar: the shopper's image, else text drawn from their name (SY.avatarText). */
  function avatarOf(profile) {
    var avatar = h("div", { class: "avatar", "aria-hidden": "true", testid: "me-avatar" });
    if (profile.avatar_url) avatar.appendChild(h("img", { src: profile.avatar_url, alt: "" }));
    else {
      var text = SY.avatarText(profile.nickname);
      if (text) avatar.textContent = text;
      else avatar.classList.add("avatar-blank");
    }
    return avatar;
  }

  /* What an avatar without an image shows, as DingTalk and WeCom do: the last two Han
     characters of a Chinese name (张小明 → 小明), else the first letter of the name
     upper-cased (alice → A), else "" (the caller draws a neutral silhouette). */
  SY.avatarText = function (name) {
    var text = (name || "").trim();
    if (!text) return "";
    var han = text.match(/\p{Script=Han}/gu);
    if (han) return han.slice(-2).join("");
    var letter = text.match(/[\p{L}\p{N}]/u);
    return letter ? letter[0].toUpperCase() : "";
  };

  /* The nickname and avatar (WeChat's 头像昵称填写: shoppers name themselves and pick
     an image; 1-20 characters, PNG / JPEG / WebP / GIF up to 2 MB). */
  function nicknamePanel(profile, head) {
    var picker = h("input", { id: "avatar-file", type: "file", accept: "image/png,image/jpeg,image/webp,image/gif", testid: "avatar-file", "aria-describedby": "avatar-error" });
    var avatarError = h("p", { class: "field-error", id: "avatar-error", "aria-live": "polite" });
    picker.addEventListener("change", async function () {
      var file = picker.files && picker.files[0];
      if (!file) return;
      var form = new FormData();
      form.append("file", file);
      try {
        var saved = await SY.api("POST", "/api/app/me/avatar", form);
        avatarError.textContent = "";
        var old = head.querySelector(".avatar");
        if (old) old.replaceWith(avatarOf(saved));
        SY.toast(t("me.avatar_done"));
      } catch (err) {
        avatarError.textContent = err.message;
      } finally {
        picker.value = "";
      }
    });
    var input = h("input", { id: "nickname", name: "nickname", maxlength: "20", autocomplete: "nickname", testid: "nickname-input", value: profile.nickname || "", "aria-describedby": "nickname-error" });
    var error = h("p", { class: "field-error", id: "nickname-error", "aria-live": "polite" });
    var submit = h("button", { type: "submit", class: "btn", testid: "nickname-submit" }, t("me.nickname_save"));
    return h(
      "section",
      { class: "panel", "aria-labelledby": "nickname-title" },
      h("h2", { id: "nickname-title" }, t("me.nickname")),
      h(
        "form",
        {
          novalidate: true,
          onsubmit: async function (event) {
            event.preventDefault();
            var name = input.value.trim();
            if (!name) {
              error.textContent = t("me.nickname_error");
              input.setAttribute("aria-invalid", "true");
              input.focus();
              return;
            }
            SY.busy(submit, true);
            try {
              var saved = await SY.api("PATCH", "/api/app/me", { nickname: name });
              input.value = saved.nickname;
              input.removeAttribute("aria-invalid");
              error.textContent = "";
              var heading = head.querySelector('[data-testid="me-name"]');
              if (heading) heading.textContent = saved.nickname;
              var avatar = head.querySelector(".avatar");
              if (avatar) avatar.replaceWith(avatarOf(saved));
              SY.toast(t("me.nickname_done"));
            } catch (err) {
              error.textContent = err.message;
              input.setAttribute("aria-invalid", "true");
              input.focus();
            } finally {
              SY.busy(submit, false);
            }
          },
        },
        h("div", { class: "field" }, h("label", { for: "nickname" }, t("me.nickname_label")), input, error),
        submit
      ),
      h("div", { class: "field" }, h("label", { for: "avatar-file" }, t("me.avatar_label")), picker, avatarError)
    );
  }

  function phonePanel(profile) {
    var panel = h("section", { class: "panel", "aria-labelledby": "phone-title" }, h("h2", { id: "phone-title" }, t("me.phone")));
    if (profile.phone_bound) {
      panel.appendChild(h("p", { testid: "phone-masked" }, t("me.phone_bound", { phone: profile.phone_masked || "" })));
      return panel;
    }
    var input = h("input", { id: "phone-code", name: "code", inputmode: "numeric", maxlength: "11", autocomplete: "tel-national", testid: "phone-code", "aria-describedby": "phone-help phone-error" });
    var error = h("p", { class: "field-error", id: "phone-error", "aria-live": "polite" });
    var submit = h("button", { type: "submit", class: "btn", testid: "phone-submit" }, t("me.phone_bind"));
    panel.appendChild(
      h(
        "form",
        {
          novalidate: true,
          onsubmit: async function (event) {
            event.preventDefault();
            var code = input.value.replace(/\s+/g, "");
            if (!SY.isMobile(code)) {
              error.textContent = t("address.error.phone");
              input.setAttribute("aria-invalid", "true");
              input.focus();
              return;
            }
            SY.busy(submit, true);
            try {
              var result = await SY.api("POST", "/api/app/me/phone", { code: code });
              SY.clear(panel).appendChild(h("h2", { id: "phone-title" }, t("me.phone")));
              panel.appendChild(h("p", { testid: "phone-masked" }, t("me.phone_bound", { phone: result.phone_masked })));
              SY.toast(t("me.phone_done"));
            } catch (err) {
              SY.busy(submit, false);
              error.textContent = err.message;
              input.focus();
            }
          },
        },
        h("p", { id: "phone-help", class: "muted" }, t("me.phone_help")),
        h("div", { class: "field" }, h("label", { for: "phone-code" }, t("me.phone_code")), input, error),
        submit
      )
    );
    return panel;
  }

  /* ---------- orders ---------- */
  var TABS = [
    ["", function () { return t("order.tab.all"); }],
    ["pending_payment", function () { return t("order.tab.pending_payment"); }],
    ["paid", function () { return t("order.tab.paid"); }],
    ["shipped", function () { return t("order.tab.shipped"); }],
    ["completed", function () { return t("order.tab.completed"); }],
    ["cancelled", function () { return t("order.tab.cancelled"); }],
  ];

  function orderCard(order) {
    var first = order.lines[0] || { title: "", image_url: "" };
    var units = order.lines.reduce(function (n, l) { return n + l.quantity; }, 0);
    return h(
      "li",
      { class: "order-card", testid: "order-card", "data-order-id": order.id },
      h(
        "a",
        { href: "#/order/" + order.id, class: "order-link" },
        h("span", { class: "order-top" }, h("span", { class: "muted" }, SY.formatTime(order.placed_at)), SY.statusBadge(order.status)),
        h(
          "span",
          { class: "order-mid" },
          SY.image(first.image_url, first.title, "line-img"),
          h("span", { class: "order-title" }, order.lines.length > 1 ? t("order.more_items", { title: first.title, count: order.lines.length }) : first.title)
        ),
        h("span", { class: "order-bottom" }, t("order.units", { count: units }), " ", h("strong", { class: "price" }, SY.money(order.total_fen)))
      )
    );
  }

  async function ordersPage(view, params, query) {
    if (!SY.requireLogin()) return;
    var status = query.get("status") || "";
    var tabs = h("nav", { class: "tabs-row", "aria-label": t("order.tabs") });
    TABS.forEach(function (tab) {
      var active = tab[0] === status;
      tabs.appendChild(
        h("a", { href: "#/orders" + (tab[0] ? "?status=" + tab[0] : ""), class: "tab-link" + (active ? " active" : ""), testid: "order-tab", "data-status": tab[0] || "all", "aria-current": active ? "page" : null }, tab[1]())
      );
    });
    view.appendChild(tabs);
    var list = h("ul", { class: "orders" });
    var footer = h("div", { class: "list-footer" });
    var more = h("button", { type: "button", class: "btn btn-block", testid: "load-more" }, t("list.load_more"));
    var lastId = null;
    var limit = 10;
    async function loadPage() {
      var orders = await SY.api("GET", "/api/app/orders?limit=" + limit + (status ? "&status=" + status : "") + (lastId ? "&before_id=" + lastId : ""));
      orders.forEach(function (o) { list.appendChild(orderCard(o)); });
      if (orders.length) lastId = orders[orders.length - 1].id;
      SY.clear(footer);
      if (!list.children.length) footer.appendChild(SY.empty(t("order.empty"), t("empty.go_shopping"), "#/", "orders-empty"));
      else if (orders.length === limit) footer.appendChild(more);
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
    view.appendChild(list);
    view.appendChild(footer);
  }

  function amountRow(label, fen, testid) {
    return h("div", { class: "amount-row" }, h("dt", null, label), h("dd", { testid: testid || null }, SY.money(fen)));
  }

  async function orderPage(view, params) {
    if (!SY.requireLogin()) return;
    var id = Number(params.id);
    var results = await Promise.all([SY.api("GET", "/api/app/orders/" + id), SY.api("GET", "/api/app/aftersales")]);
    var order = results[0];
    var aftersales = results[1].filter(function (a) { return a.order_id === id; });
    drawOrder(view, order, aftersales);
  }

  function statusHint(order) {
    if (order.status === "pending_payment") return t("order.hint.pending_payment", { time: SY.formatTime(order.pay_deadline) });
    if (order.status === "paid") return t("order.hint.paid");
    if (order.status === "shipped") return t("order.hint.shipped");
    if (order.status === "completed") return t("order.hint.completed");
    if (order.status === "cancelled") return t("order.hint.cancelled");
    return "";
  }

  function drawOrder(view, order, aftersales) {
    SY.clear(view);
    /* action: "cancel" or "confirm" (POST /api/app/orders/{id}/{action}) */
    async function act(button, action, message) {
      SY.busy(button, true);
      try {
        var updated = await SY.api("POST", "/api/app/orders/" + order.id + "/" + action);
        var list = await SY.api("GET", "/api/app/aftersales");
        drawOrder(view, updated, list.filter(function (a) { return a.order_id === order.id; }));
        SY.toast(message);
        var badge = view.querySelector('[data-testid="order-status"]');
        if (badge) badge.focus();
      } catch (error) {
        SY.busy(button, false);
        SY.showError(error);
      }
    }
    view.appendChild(
      h(
        "section",
        { class: "panel order-head" },
        h("p", null, SY.statusBadge(order.status)),
        h("p", { class: "muted" }, statusHint(order)),
        order.tracking_no ? h("p", null, t("order.tracking", { carrier: order.carrier || "", no: order.tracking_no })) : null
      )
    );
    var badge = view.querySelector('[data-testid="order-status"]');
    badge.setAttribute("tabindex", "-1");

    var a = order.address || {};
    view.appendChild(
      h(
        "section",
        { class: "panel", "aria-labelledby": "addr-title" },
        h("h2", { id: "addr-title" }, t("order.address")),
        h("p", { testid: "order-address-who" }, SY.addressWho(a)),
        h("p", { class: "muted", testid: "order-address" }, SY.addressText(a), a.postal_code ? " · " + a.postal_code : "")
      )
    );
    var lines = h("ul", { class: "lines compact" });
    order.lines.forEach(function (l) {
      lines.appendChild(
        h(
          "li",
          { class: "line" },
          SY.image(l.image_url, l.title, "line-img"),
          h(
            "div",
            { class: "line-body" },
            h("a", { href: "#/product/" + l.product_id, class: "line-title" }, l.title),
            h("p", { class: "line-spec" }, SY.specText(l.spec)),
            h("p", { class: "line-foot" }, h("span", { class: "price" }, SY.money(l.unit_price_fen)), h("span", { class: "times" }, "× " + l.quantity)),
            l.refunded_quantity ? h("p", { class: "muted" }, t("order.refunded_units", { count: l.refunded_quantity, amount: SY.money(l.refunded_fen) })) : null
          )
        )
      );
    });
    var amounts = h("dl", { class: "amounts" }, amountRow(t("order.subtotal"), order.subtotal_fen));
    if (order.discount_fen) amounts.appendChild(amountRow(t("order.discount"), -order.discount_fen));
    amounts.appendChild(amountRow(t("order.shipping"), order.shipping_fen));
    amounts.appendChild(amountRow(t("order.total"), order.total_fen, "order-total"));
    if (order.refunded_fen) amounts.appendChild(amountRow(t("order.refunded"), order.refunded_fen));
    view.appendChild(h("section", { class: "panel", "aria-labelledby": "lines-title" }, h("h2", { id: "lines-title" }, t("order.items")), lines, amounts));
    view.appendChild(SY.orderPointsPanel(order));
    view.appendChild(
      h(
        "section",
        { class: "panel" },
        h("p", { class: "muted" }, t("order.no", { no: order.order_no })),
        h("p", { class: "muted" }, t("order.placed_at", { time: SY.formatTime(order.placed_at) })),
        order.paid_at ? h("p", { class: "muted" }, t("order.paid_at", { time: SY.formatTime(order.paid_at) })) : null,
        order.note ? h("p", { class: "muted" }, t("order.note", { note: order.note })) : null
      )
    );

    aftersales.forEach(function (sale) {
      view.appendChild(aftersaleCard(sale, function () { return SY.render(); }));
    });

    var actions = h("div", { class: "button-row actions" });
    if (order.status === "pending_payment") {
      actions.appendChild(h("a", { class: "btn btn-primary", href: "#/cashier/" + order.id, testid: "order-pay" }, t("order.pay")));
      var cancel = h("button", {
        type: "button",
        class: "btn",
        testid: "order-cancel",
        onclick: function () {
          SY.clear(confirmBox).appendChild(h("p", null, t("order.cancel_confirm")));
          var yes = h("button", { type: "button", class: "btn danger", testid: "order-cancel-confirm", onclick: function () { act(yes, "cancel", t("order.cancelled")); } }, t("order.cancel_yes"));
          confirmBox.appendChild(h("div", { class: "button-row" }, yes, h("button", { type: "button", class: "btn", onclick: function () { SY.clear(confirmBox); cancel.focus(); } }, t("order.cancel_no"))));
          yes.focus();
        },
      }, t("order.cancel"));
      actions.appendChild(cancel);
    }
    if (order.status === "shipped") {
      var confirm = h("button", { type: "button", class: "btn btn-primary", testid: "confirm-receipt", onclick: function () { act(confirm, "confirm", t("order.confirmed")); } }, t("order.confirm_receipt"));
      actions.appendChild(confirm);
    }
    var formSlot = h("div");
    if (["paid", "shipped", "completed"].indexOf(order.status) >= 0 && !order.open_aftersale_id) {
      var request = h("button", {
        type: "button",
        class: "btn",
        testid: "aftersale-request",
        "aria-expanded": "false",
        "aria-controls": "aftersale-form",
        onclick: function () {
          var open = request.getAttribute("aria-expanded") === "true";
          request.setAttribute("aria-expanded", open ? "false" : "true");
          SY.clear(formSlot);
          if (!open) {
            formSlot.appendChild(aftersaleForm(order, function () { SY.render(); }));
            var first = formSlot.querySelector("input");
            if (first) first.focus();
          }
        },
      }, t("aftersale.request"));
      actions.appendChild(request);
    }
    var confirmBox = h("div", { class: "confirm-box", "aria-live": "polite" });
    if (actions.children.length) {
      view.appendChild(actions);
      view.appendChild(confirmBox);
      view.appendChild(formSlot);
    }
  }

  function aftersaleForm(order, done) {
    var shipped = order.status !== "paid";
    var error = h("p", { class: "field-error", id: "aftersale-error", "aria-live": "polite" });
    var kinds = h("fieldset", { class: "field" }, h("legend", null, t("aftersale.kind")));
    [["refund_only", t("aftersale.kind.refund_only")], ["return_refund", t("aftersale.kind.return_refund")]].forEach(function (k, i) {
      var disabled = k[0] === "return_refund" && !shipped;
      kinds.appendChild(
        h("label", { class: "choice" + (disabled ? " disabled" : "") }, h("input", { type: "radio", name: "kind", value: k[0], checked: i === 0, disabled: disabled, testid: "aftersale-kind" }), " ", k[1])
      );
    });
    if (!shipped) kinds.appendChild(h("p", { class: "muted" }, t("aftersale.not_shipped_hint")));
    var lineSet = h("fieldset", { class: "field" }, h("legend", null, t("aftersale.lines")), h("p", { class: "muted" }, t("aftersale.lines_hint")));
    order.lines.forEach(function (l) {
      var left = l.quantity - l.refunded_quantity;
      if (left <= 0) return;
      var qtyId = "as-qty-" + l.id;
      lineSet.appendChild(
        h(
          "div",
          { class: "as-line" },
          h("label", { class: "choice" }, h("input", { type: "checkbox", name: "line", value: String(l.id), testid: "aftersale-line" }), " ", l.title + (SY.specText(l.spec) ? "（" + SY.specText(l.spec) + "）" : "")),
          h("label", { for: qtyId, class: "sr-only" }, t("aftersale.line_quantity", { title: l.title })),
          h("input", { id: qtyId, type: "number", min: "1", max: String(left), value: String(left), inputmode: "numeric", class: "qty-input", "data-line": l.id, testid: "aftersale-line-qty" })
        )
      );
    });
    var reason = h("textarea", { id: "aftersale-reason", name: "reason", maxlength: "200", rows: "3", required: true, testid: "aftersale-reason", placeholder: t("aftersale.reason_placeholder"), "aria-describedby": "aftersale-error" });
    var submit = h("button", { type: "submit", class: "btn btn-primary", testid: "aftersale-submit" }, t("aftersale.submit"));
    return h(
      "form",
      {
        id: "aftersale-form",
        class: "panel",
        testid: "aftersale-form",
        novalidate: true,
        "aria-labelledby": "aftersale-title",
        onsubmit: async function (event) {
          event.preventDefault();
          var form = event.target;
          var text = reason.value.trim();
          if (!text) {
            error.textContent = t("aftersale.reason_required");
            reason.setAttribute("aria-invalid", "true");
            reason.focus();
            return;
          }
          var picked = [];
          var bad = false;
          Array.prototype.forEach.call(form.querySelectorAll('input[name="line"]:checked'), function (box) {
            var qty = form.querySelector('input[data-line="' + box.value + '"]');
            var n = Math.floor(Number(qty.value));
            if (!(n >= 1 && n <= Number(qty.max))) bad = true;
            picked.push({ order_line_id: Number(box.value), quantity: n });
          });
          if (bad) {
            error.textContent = t("aftersale.bad_quantity");
            return;
          }
          SY.busy(submit, true);
          try {
            await SY.api("POST", "/api/app/aftersales", {
              order_id: order.id,
              kind: form.querySelector('input[name="kind"]:checked').value,
              reason: text,
              lines: picked.length ? picked : null,
            });
            SY.toast(t("aftersale.sent"));
            done();
          } catch (err) {
            SY.busy(submit, false);
            error.textContent = err.message;
          }
        },
      },
      h("h2", { id: "aftersale-title" }, t("aftersale.title")),
      kinds,
      lineSet,
      h("div", { class: "field" }, h("label", { for: "aftersale-reason" }, t("aftersale.reason")), reason),
      error,
      submit
    );
  }

  function aftersaleCard(sale, done) {
    var card = h(
      "section",
      { class: "panel aftersale", testid: "aftersale-card", "data-aftersale-id": sale.id },
      h("p", null, h("strong", null, SY.aftersaleKindLabel(sale.kind)), " ", h("span", { class: "status status-as-" + sale.status, testid: "aftersale-status", "data-status": sale.status }, SY.aftersaleStatusLabel(sale.status))),
      h("p", { class: "muted" }, t("aftersale.reason_is", { reason: sale.reason })),
      h("p", null, t("aftersale.refund_amount", { amount: SY.money(sale.refund_fen) })),
      sale.decision_reason ? h("p", { class: "muted" }, t("aftersale.decision", { reason: sale.decision_reason })) : null,
      h("p", { class: "muted" }, t("aftersale.requested_at", { time: SY.formatTime(sale.requested_at) }))
    );
    if (sale.status === "pending") {
      var cancel = h("button", {
        type: "button",
        class: "btn btn-small",
        testid: "aftersale-cancel",
        onclick: async function () {
          SY.busy(cancel, true);
          try {
            await SY.api("POST", "/api/app/aftersales/" + sale.id + "/cancel");
            SY.toast(t("aftersale.cancelled"));
            done();
          } catch (error) {
            SY.busy(cancel, false);
            SY.showError(error);
          }
        },
      }, t("aftersale.cancel"));
      card.appendChild(cancel);
    }
    return card;
  }

  async function aftersalesPage(view) {
    if (!SY.requireLogin()) return;
    var list = await SY.api("GET", "/api/app/aftersales");
    if (!list.length) {
      view.appendChild(SY.empty(t("aftersale.empty"), t("me.all_orders"), "#/orders", "aftersales-empty"));
      return;
    }
    list.forEach(function (sale) {
      var card = aftersaleCard(sale, function () { SY.render(); });
      card.appendChild(h("a", { href: "#/order/" + sale.order_id, class: "row-link" }, t("aftersale.view_order")));
      view.appendChild(card);
    });
  }

  /* ---------- customer service ---------- */
  function servicePage(view) {
    view.appendChild(
      h(
        "section",
        { class: "panel", "aria-labelledby": "service-title" },
        h("h2", { id: "service-title" }, t("service.title")),
        h("p", null, t("service.intro")),
        h("p", { class: "muted" }, t("service.hours")),
        h("div", { class: "button-row" }, h("a", { class: "btn", href: "#/orders" }, t("me.all_orders")), h("a", { class: "btn", href: "#/aftersales" }, t("me.aftersales")))
      )
    );
    var faq = h("section", { class: "panel", "aria-labelledby": "faq-title" }, h("h2", { id: "faq-title" }, t("service.faq")));
    [
      [t("service.faq.pay.q"), t("service.faq.pay.a")],
      [t("service.faq.refund.q"), t("service.faq.refund.a")],
      [t("service.faq.ship.q"), t("service.faq.ship.a")],
    ].forEach(function (qa) {
      faq.appendChild(h("details", null, h("summary", null, qa[0]), h("p", null, qa[1])));
    });
    view.appendChild(faq);
  }

  /* ---------- coupons: claim center, my coupons, the new-shopper gift ---------- */
  function couponTitle(c) {
    return SY.pickText(c.title_zh, c.title_en) || c.name;
  }
  function couponCondition(c) {
    return c.threshold_fen > 0 ? t("coupon.threshold", { amount: SY.money(c.threshold_fen) }) : t("coupon.no_threshold");
  }
  function couponFace(c) {
    return h("div", { class: "coupon-face" }, h("strong", { class: "coupon-title", testid: "coupon-title" }, couponTitle(c)), h("span", { class: "coupon-cond" }, couponCondition(c)), h("span", { class: "coupon-scope", testid: "coupon-scope" }, SY.pickText(c.scope_zh, c.scope_en)));
  }

  function centerState(c) {
    if (c.can_claim) return "claimable";
    if (c.remaining === 0 && !c.held) return "sold_out";
    return "claimed";
  }

  function centerCard(c, refresh) {
    var state = centerState(c);
    var message = h("p", { class: "coupon-message", testid: "coupon-message", "aria-live": "polite" });
    var validity = c.valid_until ? t("coupon.valid_until", { time: SY.formatTime(c.valid_until) }) : c.valid_days ? t("coupon.valid_days", { days: c.valid_days }) : "";
    var button = h(
      "button",
      {
        type: "button",
        class: "btn btn-small" + (state === "claimable" ? " btn-primary" : ""),
        testid: "coupon-claim",
        "data-state": state,
        disabled: state !== "claimable",
        "aria-describedby": "coupon-msg-" + c.template_id,
        onclick: async function () {
          if (!SY.requireLogin()) return;
          SY.busy(button, true);
          try {
            await SY.api("POST", "/api/app/coupons/center/" + c.template_id + "/claim");
            SY.toast(t("coupon.claimed_toast"));
            await refresh(c.template_id, null);
          } catch (error) {
            if (error.status === 401) return;
            SY.busy(button, false);
            message.textContent = error.message;
            if (error.code === "coupon_sold_out" || error.code === "coupon_limit_reached") {
              await refresh(c.template_id, error.message).catch(function () {});
            }
          }
        },
      },
      state === "claimable" ? (c.held ? t("coupon.claim_again") : t("coupon.claim")) : state === "sold_out" ? t("coupon.sold_out") : t("coupon.claimed")
    );
    message.id = "coupon-msg-" + c.template_id;
    return h(
      "li",
      { class: "coupon-card" + (state === "claimable" ? "" : " coupon-" + state), testid: "center-coupon", "data-template-id": c.template_id, "data-state": state },
      couponFace(c),
      h(
        "div",
        { class: "coupon-body" },
        h("p", { class: "coupon-name" }, c.name),
        c.description ? h("p", { class: "muted" }, c.description) : null,
        validity ? h("p", { class: "muted" }, validity) : null,
        c.remaining !== null && c.remaining !== undefined && c.remaining > 0 ? h("p", { class: "muted" }, t("coupon.remaining", { count: c.remaining })) : null,
        c.held ? h("p", { class: "muted", testid: "coupon-held" }, t("coupon.held", { count: c.held })) : null,
        message
      ),
      h("div", { class: "coupon-action" }, button)
    );
  }

  async function centerPage(view) {
    var list = h("ul", { class: "coupon-list", testid: "coupon-center" });
    async function refresh(templateId, note) {
      var fresh = await SY.api("GET", "/api/app/coupons/center");
      var found = fresh.filter(function (c) { return c.template_id === templateId; })[0];
      var old = list.querySelector('[data-testid="center-coupon"][data-template-id="' + templateId + '"]');
      if (!old) return;
      if (!found) {
        /* gone from the center (ended, or sold out and hidden): keep it, marked sold out */
        var button = old.querySelector('[data-testid="coupon-claim"]');
        button.disabled = true;
        button.setAttribute("data-state", "sold_out");
        button.textContent = t("coupon.sold_out");
        old.setAttribute("data-state", "sold_out");
        return;
      }
      var card = centerCard(found, refresh);
      if (note) card.querySelector('[data-testid="coupon-message"]').textContent = note;
      list.replaceChild(card, old);
      var next = card.querySelector('[data-testid="coupon-claim"]');
      if (next && !next.disabled) next.focus();
    }
    var coupons = await SY.api("GET", "/api/app/coupons/center");
    if (!coupons.length) {
      view.appendChild(SY.empty(t("coupon.center_empty"), t("empty.go_shopping"), "#/", "coupon-center-empty"));
      return;
    }
    if (!SY.isLoggedIn()) view.appendChild(h("p", { class: "note" }, t("coupon.login_to_claim")));
    coupons.forEach(function (c) {
      list.appendChild(centerCard(c, refresh));
    });
    view.appendChild(list);
    view.appendChild(h("a", { class: "row-link", href: "#/coupons", testid: "center-mine" }, t("coupon.view_mine")));
  }

  var COUPON_TABS = [
    ["issued", function () { return t("coupon.tab.unused"); }],
    ["used", function () { return t("coupon.tab.used"); }],
    ["expired", function () { return t("coupon.tab.expired"); }],
  ];
  function tabOf(status) {
    return status === "locked" ? "issued" : status;
  }

  function myCouponCard(c) {
    var note = null;
    if (c.status === "locked") note = t("coupon.locked");
    else if (c.status === "used") note = c.used_at ? t("coupon.used_at", { time: SY.formatTime(c.used_at) }) : t("coupon.tab.used");
    else if (c.status === "expired") note = t("coupon.expired_at", { time: SY.formatTime(c.valid_until) });
    return h(
      "li",
      { class: "coupon-card" + (tabOf(c.status) === "issued" ? "" : " coupon-dim"), testid: "my-coupon", "data-coupon-id": c.id, "data-status": c.status },
      couponFace(c),
      h(
        "div",
        { class: "coupon-body" },
        h("p", { class: "coupon-name" }, c.name),
        c.status === "issued" ? h("p", { class: "muted" }, t("coupon.valid_until", { time: SY.formatTime(c.valid_until) })) : null,
        note ? h("p", { class: "muted" }, note) : null
      ),
      c.status === "issued" ? h("div", { class: "coupon-action" }, h("a", { class: "btn btn-small btn-primary", href: "#/", testid: "coupon-use" }, t("coupon.use"))) : null
    );
  }

  async function myCouponsPage(view, params, query) {
    if (!SY.requireLogin()) return;
    var wanted = query.get("status") || "issued";
    if (!COUPON_TABS.some(function (tab) { return tab[0] === wanted; })) wanted = "issued";
    var coupons = await SY.api("GET", "/api/app/coupons/mine");
    var tabs = h("nav", { class: "tabs-row", "aria-label": t("coupon.tabs") });
    COUPON_TABS.forEach(function (tab) {
      var active = tab[0] === wanted;
      var count = coupons.filter(function (c) { return tabOf(c.status) === tab[0]; }).length;
      tabs.appendChild(
        h(
          "a",
          { href: "#/coupons?status=" + tab[0], class: "tab-link" + (active ? " active" : ""), testid: "coupon-tab", "data-status": tab[0], "aria-current": active ? "page" : null },
          tab[1](),
          count ? " (" + count + ")" : ""
        )
      );
    });
    view.appendChild(tabs);
    var shown = coupons.filter(function (c) { return tabOf(c.status) === wanted; });
    if (!shown.length) {
      view.appendChild(SY.empty(t("coupon.mine_empty"), t("coupon.center"), "#/coupons/center", "coupons-empty"));
      return;
    }
    var list = h("ul", { class: "coupon-list" });
    shown.forEach(function (c) {
      list.appendChild(myCouponCard(c));
    });
    view.appendChild(list);
    view.appendChild(h("a", { class: "row-link", href: "#/coupons/center", testid: "mine-center" }, t("coupon.more_in_center")));
  }

  /* The new-shopper gift: shown once after log-in (or on start when logged in);
   * closing it in any way tells the server it was seen. */
  var giftOpen = false;
  SY.checkGift = async function () {
    if (!SY.isLoggedIn() || giftOpen) return;
    var gift;
    try {
      gift = await SY.api("GET", "/api/app/coupons/gift");
    } catch (error) {
      return; /* the gift is a bonus: never an error on the page */
    }
    if (!gift || !gift.show || !gift.coupons.length || giftOpen || !SY.isLoggedIn()) return;
    openGift(gift.coupons);
  };

  function openGift(coupons) {
    giftOpen = true;
    var before = document.activeElement;
    var list = h("ul", { class: "gift-list" });
    coupons.forEach(function (c) {
      list.appendChild(
        h(
          "li",
          { class: "gift-coupon", testid: "gift-coupon", "data-coupon-id": c.id },
          h("strong", { class: "coupon-title" }, couponTitle(c)),
          h("span", { class: "gift-coupon-body" }, h("span", null, c.name), h("span", { class: "muted" }, couponCondition(c) + " · " + t("coupon.valid_until", { time: SY.formatTime(c.valid_until) })))
        )
      );
    });
    var close = h("button", { type: "button", class: "btn-close gift-x", testid: "gift-close", "aria-label": t("action.close"), onclick: function () { done(); } }, "×");
    var accept = h("button", { type: "button", class: "btn btn-primary btn-block", testid: "gift-accept", onclick: function () { done(); SY.toast(t("gift.accepted")); } }, t("gift.accept"));
    var mine = h("a", { href: "#/coupons", class: "row-link gift-mine", testid: "gift-mine", onclick: function () { done(); } }, t("coupon.view_mine"));
    var dialog = h(
      "div",
      { class: "modal", role: "dialog", "aria-modal": "true", "aria-labelledby": "gift-title", "aria-describedby": "gift-intro" },
      close,
      h("p", { class: "gift-kicker", "aria-hidden": "true" }, t("gift.kicker")),
      h("h2", { id: "gift-title" }, t("gift.title")),
      h("p", { id: "gift-intro", class: "muted" }, t("gift.intro", { count: coupons.length })),
      list,
      accept,
      mine
    );
    var backdrop = h("div", { class: "modal-backdrop", testid: "gift-popup" }, dialog);
    backdrop.addEventListener("click", function (event) {
      if (event.target === backdrop) done();
    });
    function onKey(event) {
      if (event.key === "Escape") {
        done();
      } else if (event.key === "Tab") {
        var focusable = [close, accept, mine];
        var i = focusable.indexOf(document.activeElement);
        if (event.shiftKey && i <= 0) {
          event.preventDefault();
          focusable[focusable.length - 1].focus();
        } else if (!event.shiftKey && (i === focusable.length - 1 || i < 0)) {
          event.preventDefault();
          focusable[0].focus();
        }
      }
    }
    function done() {
      if (!backdrop.parentNode) return;
      backdrop.parentNode.removeChild(backdrop);
      document.removeEventListener("keydown", onKey);
      document.body.classList.remove("modal-open");
      giftOpen = false;
      if (before && before.isConnected && before.focus) before.focus();
      SY.api("POST", "/api/app/coupons/gift/seen").catch(function () {});
    }
    document.body.appendChild(backdrop);
    document.body.classList.add("modal-open");
    document.addEventListener("keydown", onKey);
    accept.focus();
  }

  SY.route("/login", loginPage, { name: "login", tabbar: false, title: function () { return t("login.title"); } });
  SY.route("/me", mePage, { name: "me", tab: "me", back: false, title: function () { return t("nav.me"); } });
  SY.route("/orders", ordersPage, { name: "orders", tab: "me", title: function () { return t("me.orders"); } });
  SY.route("/order/:id", orderPage, { name: "order", tab: "me", title: function () { return t("order.title"); } });
  SY.route("/aftersales", aftersalesPage, { name: "aftersales", tab: "me", title: function () { return t("me.aftersales"); } });
  SY.route("/coupons/center", centerPage, { name: "coupon-center", tab: "me", title: function () { return t("coupon.center"); } });
  SY.route("/coupons", myCouponsPage, { name: "coupons", tab: "me", title: function () { return t("coupon.mine"); } });
  SY.route("/service", servicePage, { name: "service", title: function () { return t("service.title"); } });
})();
