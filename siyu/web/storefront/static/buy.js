/* Buying: cart, checkout (address + summary, idempotent submit), sandbox cashier. */
(function () {
  "use strict";

  var SY = window.SY;
  var t = SY.t;
  var h = SY.h;

  function problemText(line) {
    if (line.problem === "off_sale") return t("cart.problem.off_sale");
    if (line.problem === "insufficient_stock") {
      return line.stock > 0 ? t("cart.problem.low_stock", { count: line.stock }) : t("cart.problem.sold_out");
    }
    return line.problem ? t("cart.problem.other") : "";
  }

  /* ---------- cart ---------- */
  async function cartPage(view) {
    if (!SY.isLoggedIn()) {
      view.appendChild(SY.empty(t("cart.login_first"), t("me.login"), "#/login?next=" + encodeURIComponent("#/cart"), "cart-login"));
      return;
    }
    var cart = await SY.api("GET", "/api/app/cart");
    drawCart(view, cart);
  }

  function drawCart(view, cart) {
    SY.clear(view);
    SY.setCartCount(cart.item_count);
    if (!cart.lines.length) {
      view.appendChild(SY.empty(t("cart.empty"), t("empty.go_shopping"), "#/", "cart-empty"));
      return;
    }
    var list = h("ul", { class: "lines" });
    cart.lines.forEach(function (line) {
      list.appendChild(cartLine(view, line));
    });
    view.appendChild(list);
    var available = cart.lines.filter(function (l) { return l.available; });
    if (available.length < cart.lines.length) {
      view.appendChild(h("p", { class: "note warn" }, t("cart.unavailable_note")));
    }
    var checkout = h(
      "button",
      {
        type: "button",
        class: "btn btn-primary",
        testid: "cart-checkout",
        disabled: available.length === 0,
        onclick: function () {
          var ids = available.map(function (l) { return l.item_id; });
          SY.go("#/checkout?cart=" + ids.join(","));
        },
      },
      t("cart.checkout", { count: available.reduce(function (n, l) { return n + l.quantity; }, 0) })
    );
    view.appendChild(
      h(
        "div",
        { class: "pay-bar" },
        h("p", { class: "pay-total" }, t("cart.total"), " ", h("strong", { class: "price", testid: "cart-total" }, SY.money(cart.total_fen))),
        checkout
      )
    );
  }

  function cartLine(view, line) {
    var qtyId = "cart-qty-" + line.item_id;
    var input = h("input", { id: qtyId, type: "number", inputmode: "numeric", min: "1", max: "99", value: String(line.quantity), testid: "cart-qty", class: "qty-input" });
    async function update(n) {
      try {
        drawCart(view, await SY.api("PATCH", "/api/app/cart/items/" + line.item_id, { quantity: n }));
        var again = document.getElementById(qtyId);
        if (again) again.focus();
      } catch (error) {
        input.value = String(line.quantity);
        SY.showError(error);
      }
    }
    var remove = h(
      "button",
      {
        type: "button",
        class: "btn-link danger",
        testid: "cart-remove",
        "aria-label": t("cart.remove_item", { title: line.title }),
        onclick: async function () {
          SY.busy(remove, true);
          try {
            await SY.api("DELETE", "/api/app/cart/items/" + line.item_id);
            drawCart(view, await SY.api("GET", "/api/app/cart"));
            SY.toast(t("cart.removed"));
          } catch (error) {
            SY.busy(remove, false);
            SY.showError(error);
          }
        },
      },
      t("cart.remove")
    );
    return h(
      "li",
      { class: "line" + (line.available ? "" : " unavailable"), testid: "cart-line", "data-item-id": line.item_id, "data-available": String(line.available) },
      h("a", { href: "#/product/" + line.product_id, class: "line-img-link", tabindex: "-1", "aria-hidden": "true" }, SY.image(line.image_url, line.title, "line-img")),
      h(
        "div",
        { class: "line-body" },
        h("a", { href: "#/product/" + line.product_id, class: "line-title" }, line.title),
        h("p", { class: "line-spec" }, SY.specText(line.spec)),
        line.available ? null : h("p", { class: "line-problem", testid: "cart-problem" }, problemText(line)),
        h(
          "div",
          { class: "line-foot" },
          h("span", { class: "price" }, SY.money(line.unit_price_fen)),
          h("label", { for: qtyId, class: "sr-only" }, t("cart.quantity_of", { title: line.title })),
          SY.stepper(input, update),
          remove
        )
      )
    );
  }

  /* ---------- checkout ---------- */
  var FIELDS = [
    ["name", "checkout.field.name", { autocomplete: "name", maxlength: "32", required: true }],
    ["phone", "checkout.field.phone", { type: "tel", autocomplete: "tel", inputmode: "tel", maxlength: "20", required: true }],
    ["province", "checkout.field.province", { autocomplete: "address-level1", maxlength: "32", required: true }],
    ["city", "checkout.field.city", { autocomplete: "address-level2", maxlength: "32", required: true }],
    ["district", "checkout.field.district", { autocomplete: "address-level3", maxlength: "32" }],
    ["detail", "checkout.field.detail", { autocomplete: "street-address", maxlength: "200", required: true, multiline: true }],
  ];
  var FIELD_LABELS = {
    "checkout.field.name": function () { return t("checkout.field.name"); },
    "checkout.field.phone": function () { return t("checkout.field.phone"); },
    "checkout.field.province": function () { return t("checkout.field.province"); },
    "checkout.field.city": function () { return t("checkout.field.city"); },
    "checkout.field.district": function () { return t("checkout.field.district"); },
    "checkout.field.detail": function () { return t("checkout.field.detail"); },
  };

  function field(name, labelId, opts, value) {
    var id = "addr-" + name;
    var attrs = {
      id: id,
      name: name,
      value: value || "",
      testid: "address-" + name,
      autocomplete: opts.autocomplete,
      maxlength: opts.maxlength,
      inputmode: opts.inputmode,
      type: opts.multiline ? null : opts.type || "text",
      required: !!opts.required,
      "aria-required": opts.required ? "true" : null,
      "aria-describedby": id + "-error",
      rows: opts.multiline ? "2" : null,
    };
    var input = h(opts.multiline ? "textarea" : "input", attrs);
    input.addEventListener("input", function () {
      if (input.getAttribute("aria-invalid") !== "true") return;
      input.removeAttribute("aria-invalid");
      document.getElementById(id + "-error").textContent = "";
    });
    return h(
      "div",
      { class: "field" },
      h("label", { for: id }, FIELD_LABELS[labelId](), opts.required ? null : h("span", { class: "optional" }, t("checkout.optional"))),
      input,
      h("p", { class: "field-error", id: id + "-error", "aria-live": "polite" })
    );
  }

  async function checkoutPage(view, params, query) {
    if (!SY.requireLogin()) return;
    var cartIds = (query.get("cart") || "").split(",").filter(Boolean).map(Number);
    var skuId = Number(query.get("sku") || 0);
    var qty = Math.max(1, Math.min(99, Math.floor(Number(query.get("qty") || 1)) || 1));
    var lines = [];
    if (cartIds.length) {
      var cart = await SY.api("GET", "/api/app/cart");
      lines = cart.lines.filter(function (l) { return cartIds.indexOf(l.item_id) >= 0 && l.available; });
      lines = lines.map(function (l) {
        return { title: l.title, spec: l.spec, image_url: l.image_url, unit_price_fen: l.unit_price_fen, quantity: l.quantity, item_id: l.item_id };
      });
    } else if (skuId) {
      var productId = Number(query.get("product") || 0);
      var product = productId ? await SY.api("GET", "/api/app/products/" + productId) : null;
      var sku = product && product.skus.filter(function (s) { return s.id === skuId; })[0];
      lines = [{ title: product ? product.title : t("checkout.item"), spec: sku ? sku.spec : {}, image_url: sku ? sku.image_url || product.image_urls[0] : "", unit_price_fen: sku ? sku.price_fen : null, quantity: qty, sku_id: skuId }];
    }
    if (!lines.length) {
      view.appendChild(SY.empty(t("checkout.nothing"), t("nav.cart"), "#/cart", "checkout-empty"));
      return;
    }

    var saved = {};
    try {
      saved = JSON.parse(SY.load(SY.KEYS.address) || "{}");
    } catch (e) {
      saved = {};
    }
    var form = h("form", { class: "checkout-form", novalidate: true, "aria-label": t("checkout.title") });
    var fieldset = h("fieldset", { class: "panel" }, h("legend", null, t("checkout.address")));
    FIELDS.forEach(function (f) {
      fieldset.appendChild(field(f[0], f[1], f[2], saved[f[0]]));
    });
    form.appendChild(fieldset);

    var summary = h("section", { class: "panel", "aria-labelledby": "summary-title" }, h("h2", { id: "summary-title" }, t("checkout.summary")));
    var list = h("ul", { class: "lines compact" });
    var known = lines.every(function (l) { return l.unit_price_fen !== null; });
    var subtotal = 0;
    lines.forEach(function (l) {
      if (known) subtotal += l.unit_price_fen * l.quantity;
      list.appendChild(
        h(
          "li",
          { class: "line" },
          SY.image(l.image_url, l.title, "line-img"),
          h(
            "div",
            { class: "line-body" },
            h("p", { class: "line-title" }, l.title),
            h("p", { class: "line-spec" }, SY.specText(l.spec)),
            h("p", { class: "line-foot" }, l.unit_price_fen === null ? null : h("span", { class: "price" }, SY.money(l.unit_price_fen)), h("span", { class: "times" }, "× " + l.quantity))
          )
        )
      );
    });
    summary.appendChild(list);
    summary.appendChild(h("p", { class: "note" }, t("checkout.price_note")));
    form.appendChild(summary);

    form.appendChild(
      h(
        "div",
        { class: "panel field" },
        h("label", { for: "order-note" }, t("checkout.note"), h("span", { class: "optional" }, t("checkout.optional"))),
        h("input", { id: "order-note", name: "note", maxlength: "200", testid: "order-note", placeholder: t("checkout.note_placeholder") })
      )
    );
    var submit = h("button", { type: "submit", class: "btn btn-primary", testid: "submit-order", "data-track": "submit_order", "data-track-source": cartIds.length ? "cart" : "buy_now", "data-track-lines": lines.length }, t("checkout.submit"));
    form.appendChild(
      h(
        "div",
        { class: "pay-bar" },
        h("p", { class: "pay-total" }, t("checkout.total"), " ", h("strong", { class: "price", testid: "checkout-total" }, known ? SY.money(subtotal) : "—")),
        submit
      )
    );
    view.appendChild(form);

    /* One Idempotency-Key per checkout attempt: a retry of the same request reuses it,
     * so a lost response never creates a second order. */
    var attempt = null;
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var address = readAddress(form);
      if (!address) return;
      var body = { address: address, note: form.elements.note.value.trim() };
      if (cartIds.length) body.cart_item_ids = lines.map(function (l) { return l.item_id; });
      else body.items = [{ sku_id: skuId, quantity: qty }];
      var signature = JSON.stringify(body);
      if (!attempt || attempt.signature !== signature) attempt = { key: SY.newKey(), signature: signature };
      SY.busy(submit, true);
      try {
        var order = await SY.api("POST", "/api/app/orders", body, { "Idempotency-Key": attempt.key });
        SY.save(SY.KEYS.address, JSON.stringify(address));
        SY.refreshCartCount();
        SY.go("#/cashier/" + order.id, true);
      } catch (error) {
        SY.busy(submit, false);
        showFieldErrors(form, error.fields || {});
        if (error.status !== 0 && error.status < 500) attempt = null;
        SY.showError(error.status === 0 ? { message: t("checkout.retry_same") } : error);
      }
    });
  }

  function readAddress(form) {
    var address = {};
    var problems = {};
    FIELDS.forEach(function (f) {
      var value = form.elements[f[0]].value.trim();
      address[f[0]] = value;
      if (f[2].required && !value) problems["address." + f[0]] = t("checkout.error.required");
    });
    if (address.phone && !/^\+?[0-9-]{5,20}$/.test(address.phone)) problems["address.phone"] = t("checkout.error.phone");
    showFieldErrors(form, problems);
    return Object.keys(problems).length ? null : address;
  }

  function showFieldErrors(form, fields) {
    var first = null;
    FIELDS.forEach(function (f) {
      var input = form.elements[f[0]];
      var message = fields["address." + f[0]] || "";
      var slot = document.getElementById(input.id + "-error");
      slot.textContent = message;
      if (message) {
        input.setAttribute("aria-invalid", "true");
        if (!first) first = input;
      } else {
        input.removeAttribute("aria-invalid");
      }
    });
    if (first) first.focus();
  }

  /* ---------- sandbox cashier ---------- */
  async function cashierPage(view, params) {
    if (!SY.requireLogin()) return;
    var id = Number(params.id);
    var order = await SY.api("GET", "/api/app/orders/" + id);
    if (order.status !== "pending_payment") {
      view.appendChild(paidPanel(order));
      return;
    }
    var start = await SY.api("POST", "/api/app/orders/" + id + "/pay");
    var panel = h(
      "section",
      { class: "panel cashier", "aria-labelledby": "cashier-title" },
      h("h2", { id: "cashier-title" }, start.provider === "sandbox" ? t("cashier.sandbox_title") : t("cashier.title")),
      h("p", { class: "cashier-amount price", testid: "cashier-amount" }, SY.money(order.total_fen)),
      h("p", { class: "muted" }, t("cashier.order_no", { no: order.order_no })),
      h("p", { class: "muted" }, t("cashier.deadline", { time: SY.formatTime(order.pay_deadline) }))
    );
    view.appendChild(panel);
    if (start.provider !== "sandbox") {
      panel.appendChild(h("p", { class: "note" }, t("cashier.open_in_wechat")));
      return;
    }
    panel.appendChild(h("p", { class: "note" }, t("cashier.sandbox_note")));
    var pay = h(
      "button",
      {
        type: "button",
        class: "btn btn-primary btn-block",
        testid: "pay-button",
        "data-track": "pay",
        "data-track-order-id": id,
        onclick: async function () {
          SY.busy(pay, true);
          try {
            var paid = await SY.api("POST", "/api/app/orders/" + id + "/sandbox-pay");
            SY.clear(view).appendChild(paidPanel(paid));
            var heading = view.querySelector("h2");
            if (heading) heading.focus();
          } catch (error) {
            SY.busy(pay, false);
            SY.showError(error);
          }
        },
      },
      t("cashier.pay", { amount: SY.money(order.total_fen) })
    );
    panel.appendChild(pay);
    panel.appendChild(h("a", { class: "btn btn-block", href: "#/order/" + id }, t("cashier.later")));
  }

  function paidPanel(order) {
    var paid = order.status !== "pending_payment" && order.status !== "cancelled";
    return h(
      "section",
      { class: "panel result", testid: paid ? "pay-result" : "order-result" },
      h("h2", { tabindex: "-1" }, paid ? t("cashier.success") : SY.orderStatusLabel(order.status)),
      h("p", null, SY.statusBadge(order.status)),
      h("p", { class: "price" }, SY.money(order.paid_fen || order.total_fen)),
      h("p", { class: "muted" }, t("cashier.order_no", { no: order.order_no })),
      h(
        "div",
        { class: "button-row" },
        h("a", { class: "btn btn-primary", href: "#/order/" + order.id, testid: "view-order" }, t("cashier.view_order")),
        h("a", { class: "btn", href: "#/" }, t("empty.go_shopping"))
      )
    );
  }

  SY.route("/cart", cartPage, { name: "cart", tab: "cart", back: false, title: function () { return t("nav.cart"); } });
  SY.route("/checkout", checkoutPage, { name: "checkout", tabbar: false, title: function () { return t("checkout.title"); } });
  SY.route("/cashier/:id", cashierPage, { name: "cashier", tabbar: false, title: function () { return t("cashier.title"); } });
})();
