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

  /* ---------- the quote: GET /api/app/checkout/quote ----------
   * What the server will charge for these lines: every discount with its reason,
   * hints such as "再买 ¥12.00 可减 ¥30.00", shipping and the payable total. choice:
   * null lets the engine pick the best coupons, [] asks for none, [ids] names them. */
  function quotePath(source, choice, usePoints) {
    var parts = [];
    if (source.cartIds) {
      source.cartIds.forEach(function (id) { parts.push("cart_item_ids=" + encodeURIComponent(id)); });
    } else {
      parts.push("sku_id=" + encodeURIComponent(source.skuId), "quantity=" + encodeURIComponent(source.qty));
    }
    if (choice && choice.length) choice.forEach(function (id) { parts.push("coupon_ids=" + encodeURIComponent(id)); });
    else if (choice) parts.push("no_coupon=true");
    if (usePoints) parts.push("use_points=true");
    return parts.join("&");
  }
  function fetchQuote(source, choice, usePoints) {
    return SY.api("GET", "/api/app/checkout/quote?" + quotePath(source, choice, usePoints));
  }

  /* "去凑单" opens the products that qualify: a promotion's scope, or (free shipping)
     every product, cheapest first. */
  function hintHref(hint) {
    if (hint.source === "promotion") return "#/search?promotion_id=" + Number(hint.source_id);
    return "#/search?sort=price_asc";
  }

  function hintList(quote, withLink) {
    if (!quote.hints || !quote.hints.length) return null;
    var list = h("ul", { class: "hints", "aria-label": t("quote.hints") });
    quote.hints.forEach(function (hint) {
      list.appendChild(
        h(
          "li",
          { class: "hint", testid: "quote-hint", "data-missing-fen": hint.missing_fen, "data-benefit-fen": hint.benefit_fen },
          h("span", { class: "hint-tag" }, t("quote.hint_tag")),
          h("strong", { class: "hint-text" }, SY.pickText(hint.message_zh, hint.message_en)),
          withLink ? h("a", { class: "hint-link", href: hintHref(hint), testid: "quote-hint-link" }, t("quote.add_more")) : null
        )
      );
    });
    return list;
  }

  function row(label, value, testid, cls) {
    return h("div", { class: "amount-row" + (cls ? " " + cls : "") }, h("dt", null, label), h("dd", { testid: testid || null }, value));
  }

  function quoteAmounts(quote, totalTestid) {
    var dl = h("dl", { class: "amounts", testid: "quote-amounts" });
    dl.appendChild(row(t("quote.subtotal"), SY.money(quote.subtotal_fen), "quote-subtotal"));
    /* 会员价: the goods at the shopper's member price (the saving itself is a discount row) */
    var memberSaving = (quote.lines || []).reduce(function (n, l) { return n + (l.member_discount_fen || 0); }, 0);
    if (memberSaving > 0) {
      var memberFen = quote.lines.reduce(function (n, l) { return n + l.subtotal_fen - (l.member_discount_fen || 0); }, 0);
      dl.appendChild(
        h(
          "div",
          { class: "amount-row member-row", testid: "quote-member-price", "data-amount-fen": memberFen, "data-saving-fen": memberSaving },
          h("dt", null, h("span", { class: "tag tag-member" }, t("quote.member_price")), " ", h("span", { class: "muted" }, t("quote.member_saving", { amount: SY.money(memberSaving) }))),
          h("dd", null, SY.money(memberFen))
        )
      );
    }
    quote.discounts.forEach(function (d) {
      if (d.amount_fen <= 0) return;
      var reason = SY.pickText(d.reason_zh, d.reason_en) || d.name;
      dl.appendChild(
        h(
          "div",
          { class: "amount-row discount", testid: "quote-discount", "data-source": d.source, "data-source-id": d.source_id, "data-amount-fen": d.amount_fen },
          h("dt", null, h("span", { class: "discount-reason" }, reason), d.name && d.name !== reason ? h("span", { class: "discount-name" }, d.name) : null),
          h("dd", null, d.source === "shipping" ? t("quote.shipping_free") : SY.money(-d.amount_fen))
        )
      );
    });
    dl.appendChild(row(t("quote.shipping"), quote.shipping_fen ? SY.money(quote.shipping_fen) : t("quote.shipping_free"), "quote-shipping"));
    dl.appendChild(row(t("quote.total"), SY.money(quote.total_fen), totalTestid, "total"));
    return dl;
  }

  /* ---------- cart ---------- */
  var unticked = {}; /* cart item ids the shopper left out of this checkout */
  var cartQuoteSeq = 0;

  async function cartPage(view) {
    if (!SY.isLoggedIn()) {
      view.appendChild(SY.empty(t("cart.login_first"), t("me.login"), "#/login?next=" + encodeURIComponent("#/cart"), "cart-login"));
      return;
    }
    var cart = await SY.api("GET", "/api/app/cart");
    await drawCart(view, cart);
  }

  function drawCart(view, cart) {
    SY.clear(view);
    SY.setCartCount(cart.item_count);
    cartQuoteSeq++;
    if (!cart.lines.length) {
      view.appendChild(SY.empty(t("cart.empty"), t("empty.go_shopping"), "#/", "cart-empty"));
      return Promise.resolve();
    }
    var available = cart.lines.filter(function (l) { return l.available; });
    var picked = available.filter(function (l) { return !unticked[l.item_id]; });
    function redraw() {
      drawCart(view, cart);
    }
    var list = h("ul", { class: "lines" });
    cart.lines.forEach(function (line) {
      list.appendChild(cartLine(view, line, redraw));
    });
    view.appendChild(list);
    if (available.length < cart.lines.length) {
      view.appendChild(h("p", { class: "note warn" }, t("cart.unavailable_note")));
    }
    var quoteSlot = h("section", { class: "panel quote", testid: "cart-quote", "aria-live": "polite", "aria-label": t("quote.title") });
    view.appendChild(quoteSlot);
    var total = h("strong", { class: "price", testid: "cart-total" }, "—");
    var saving = h("span", { class: "pay-saving", testid: "cart-saving", hidden: true });
    var checkout = h(
      "button",
      {
        type: "button",
        class: "btn btn-primary",
        testid: "cart-checkout",
        disabled: picked.length === 0,
        onclick: function () {
          SY.go("#/checkout?cart=" + picked.map(function (l) { return l.item_id; }).join(","));
        },
      },
      t("cart.checkout", { count: picked.reduce(function (n, l) { return n + l.quantity; }, 0) })
    );
    var allBox = h("input", {
      type: "checkbox",
      id: "cart-select-all",
      testid: "cart-select-all",
      checked: available.length > 0 && picked.length === available.length,
      disabled: available.length === 0,
      onchange: function () {
        available.forEach(function (l) {
          if (allBox.checked) delete unticked[l.item_id];
          else unticked[l.item_id] = true;
        });
        redraw();
      },
    });
    view.appendChild(
      h(
        "div",
        { class: "pay-bar" },
        h("label", { class: "select-all", for: "cart-select-all" }, allBox, t("cart.select_all")),
        h("p", { class: "pay-total" }, t("cart.total"), " ", total, saving),
        checkout
      )
    );
    return cartQuote(picked, quoteSlot, total, saving);
  }

  async function cartQuote(picked, slot, total, saving) {
    var seq = cartQuoteSeq;
    if (!picked.length) {
      SY.clear(slot).appendChild(h("p", { class: "muted", testid: "cart-none-selected" }, t("cart.none_selected")));
      total.textContent = SY.money(0);
      return;
    }
    slot.appendChild(SY.loading());
    var data;
    try {
      data = await fetchQuote({ cartIds: picked.map(function (l) { return l.item_id; }) }, null);
    } catch (error) {
      if (seq !== cartQuoteSeq || error.status === 401) return;
      SY.clear(slot).appendChild(h("p", { class: "note warn", testid: "cart-quote-error" }, error.message));
      return;
    }
    if (seq !== cartQuoteSeq) return; /* the cart changed meanwhile: a newer quote is coming */
    var quote = data.quote;
    SY.clear(slot);
    slot.appendChild(h("div", { class: "quote-body" }, hintList(quote, true), quoteAmounts(quote, "cart-payable")));
    total.textContent = SY.money(data.total_fen);
    if (data.discount_fen > 0) {
      saving.textContent = t("cart.saving", { amount: SY.money(data.discount_fen) });
      saving.hidden = false;
    }
  }

  function cartLine(view, line, redraw) {
    var qtyId = "cart-qty-" + line.item_id;
    var input = h("input", { id: qtyId, type: "number", inputmode: "numeric", min: "1", max: "99", value: String(line.quantity), testid: "cart-qty", class: "qty-input" });
    async function update(n) {
      try {
        var quoted = drawCart(view, await SY.api("PATCH", "/api/app/cart/items/" + line.item_id, { quantity: n }));
        var again = document.getElementById(qtyId);
        if (again) again.focus();
        await quoted;
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
            delete unticked[line.item_id];
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
    var tick = line.available
      ? h("input", {
          type: "checkbox",
          class: "line-check",
          testid: "cart-select",
          checked: !unticked[line.item_id],
          "aria-label": t("cart.select_item", { title: line.title }),
          onchange: function () {
            if (tick.checked) delete unticked[line.item_id];
            else unticked[line.item_id] = true;
            redraw();
          },
        })
      : h("span", { class: "line-check-space", "aria-hidden": "true" });
    return h(
      "li",
      { class: "line" + (line.available ? "" : " unavailable"), testid: "cart-line", "data-item-id": line.item_id, "data-available": String(line.available), "data-selected": String(line.available && !unticked[line.item_id]) },
      tick,
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
  var FIELDS = SY.addressFields("checkout");

  function field(name, label, opts, value) {
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
    var input = SY.addressControl(opts, attrs);
    input.addEventListener(opts.region ? "change" : "input", function () {
      if (input.getAttribute("aria-invalid") !== "true") return;
      input.removeAttribute("aria-invalid");
      document.getElementById(id + "-error").textContent = "";
    });
    return h(
      "div",
      { class: "field" },
      h("label", { for: id }, label(), opts.required ? null : h("span", { class: "optional" }, t("checkout.optional"))),
      input,
      h("p", { class: "field-error", id: id + "-error", "aria-live": "polite" })
    );
  }

  async function checkoutPage(view, params, query) {
    if (!SY.requireLogin()) return;
    var cartIds = (query.get("cart") || "").split(",").filter(Boolean).map(Number);
    var skuId = Number(query.get("sku") || 0);
    var qty = Math.max(1, Math.min(99, Math.floor(Number(query.get("qty") || 1)) || 1));
    /* group mode (拼团): open a group of a campaign, or join a group from its share */
    var group = null;
    var groupId = Number(query.get("group") || 0);
    var groupCampaign = Number(query.get("group_campaign") || 0);
    var flashItem = Number(query.get("flash_item") || 0); /* 秒杀: the sale price, through the waiting room */
    if (groupId) {
      group = await SY.api("GET", "/api/app/group-buy/groups/" + groupId);
      groupCampaign = group.campaign_id;
    }
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
    /* A saved address (the default picked) or a new one typed here. */
    var book = await SY.api("GET", "/api/app/addresses");
    var preferred = book.filter(function (a) { return a.is_default; })[0] || book[0];
    var chosen = preferred ? preferred.id : null; /* null: the typed address */
    var fieldset = h("fieldset", { class: "panel", hidden: chosen !== null }, h("legend", null, book.length ? t("checkout.address_new") : t("checkout.address")));
    if (book.length) form.appendChild(addressChooser(book, chosen, function (id) {
      chosen = id;
      fieldset.hidden = id !== null;
      if (id === null) form.elements.name.focus();
    }));
    FIELDS.forEach(function (f) {
      fieldset.appendChild(field(f[0], f[1], f[2], saved[f[0]]));
    });
    form.appendChild(fieldset);
    SY.bindRegions(form).catch(function (error) { SY.showError(error); });

    var summary = h("section", { class: "panel", "aria-labelledby": "summary-title" }, h("h2", { id: "summary-title" }, t("checkout.summary")));
    var list = h("ul", { class: "lines compact" });
    lines.forEach(function (l) {
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
    form.appendChild(summary);

    var couponPanel = h("section", { class: "panel coupons", testid: "coupon-picker", "aria-labelledby": "coupon-title" });
    var quotePanel = h("section", { class: "panel quote", testid: "checkout-quote", "aria-labelledby": "quote-title", "aria-live": "polite" });
    if (groupCampaign) {
      couponPanel = h("section", { class: "panel", testid: "group-checkout" }, h("p", null, h("span", { class: "tag" }, t("group.tag")), " ", groupId ? t("group.joining") : t("group.opening")), h("p", { class: "note" }, t("group.no_stacking")));
    }
    if (flashItem) couponPanel = SY.flashCheckoutPanel(flashItem);
    var pointsPanel = h("section", { class: "panel points-use", testid: "points-use", hidden: true });
    form.appendChild(couponPanel);
    form.appendChild(pointsPanel);
    form.appendChild(quotePanel);

    form.appendChild(
      h(
        "div",
        { class: "panel field" },
        h("label", { for: "order-note" }, t("checkout.note"), h("span", { class: "optional" }, t("checkout.optional"))),
        h("input", { id: "order-note", name: "note", maxlength: "200", testid: "order-note", placeholder: t("checkout.note_placeholder") })
      )
    );
    var submit = h("button", { type: "submit", class: "btn btn-primary", testid: "submit-order", "data-track": "submit_order", "data-track-source": cartIds.length ? "cart" : "buy_now", "data-track-lines": lines.length }, t("checkout.submit"));
    var totalEl = h("strong", { class: "price", testid: "checkout-total" }, "—");
    var savingEl = h("span", { class: "pay-saving", testid: "checkout-saving", hidden: true });
    form.appendChild(h("div", { class: "pay-bar" }, h("p", { class: "pay-total" }, t("checkout.total"), " ", totalEl, savingEl), submit));
    view.appendChild(form);

    /* The quote on screen is what the order is placed with: its coupons and its total. */
    var source = cartIds.length ? { cartIds: lines.map(function (l) { return l.item_id; }) } : { skuId: skuId, qty: qty };
    var choice = null;
    var usePoints = false; /* 积分抵扣: the shopper ticks it; the engine decides how many */
    var shown = null;
    var quoteSeq = 0;
    var placing = false;

    async function requote() {
      var seq = ++quoteSeq;
      shown = null;
      SY.busy(submit, true);
      quotePanel.setAttribute("aria-busy", "true");
      var data = groupCampaign
        ? await SY.api("GET", "/api/app/group-buy/" + groupCampaign + "/quote?quantity=" + qty)
        : flashItem
          ? await SY.api("GET", "/api/app/flash-sales/items/" + flashItem + "/quote?quantity=" + qty)
          : await fetchQuote(source, choice, usePoints);
      if (seq !== quoteSeq) return;
      shown = data;
      quotePanel.removeAttribute("aria-busy");
      drawQuote(data);
      if (!groupCampaign && !flashItem) {
        drawCoupons(data);
        drawPoints(data);
      }
      totalEl.textContent = SY.money(data.total_fen);
      savingEl.textContent = data.discount_fen > 0 ? t("cart.saving", { amount: SY.money(data.discount_fen) }) : "";
      savingEl.hidden = !(data.discount_fen > 0);
      if (!placing) SY.busy(submit, false);
    }
    function requoteLater() {
      requote().catch(function (error) {
        SY.showError(error, requoteLater);
      });
    }

    function drawQuote(data) {
      SY.clear(quotePanel);
      quotePanel.appendChild(h("h2", { id: "quote-title" }, t("quote.title")));
      var hints = hintList(data.quote, false);
      if (hints) quotePanel.appendChild(hints);
      quotePanel.appendChild(quoteAmounts(data.quote, "checkout-payable"));
      quotePanel.appendChild(h("p", { class: "note" }, t("checkout.price_note")));
    }

    function drawPoints(data) {
      var q = data.quote;
      SY.clear(pointsPanel);
      pointsPanel.hidden = !(q.points_available > 0 || usePoints);
      if (pointsPanel.hidden) return;
      var box = h("input", {
        type: "checkbox",
        id: "use-points",
        testid: "use-points",
        checked: usePoints,
        onchange: function () {
          usePoints = box.checked;
          requoteLater();
        },
      });
      pointsPanel.appendChild(
        h(
          "label",
          { class: "choice", for: "use-points" },
          box,
          " ",
          usePoints && q.points_used
            ? h("span", { testid: "points-used", "data-points": q.points_used, "data-amount-fen": q.points_fen }, t("checkout.points_used", { points: q.points_used, amount: SY.money(q.points_fen) }))
            : h("span", { testid: "points-available-use", "data-points": q.points_available }, t("checkout.points_can_use", { points: q.points_available }))
        )
      );
    }

    function pick(coupon) {
      var applied = shown ? shown.coupons.filter(function (c) { return c.applied; }) : [];
      var ids;
      if (coupon.applied) {
        ids = applied.filter(function (c) { return c.coupon_id !== coupon.coupon_id; });
      } else {
        /* one discount coupon and one free-shipping coupon at most: swap the same kind */
        var shipping = coupon.kind === "free_shipping";
        ids = applied.filter(function (c) { return (c.kind === "free_shipping") !== shipping; }).concat([coupon]);
      }
      choice = ids.map(function (c) { return c.coupon_id; });
      requoteLater();
    }

    function drawCoupons(data) {
      SY.clear(couponPanel);
      var usable = data.coupons.filter(function (c) { return c.usable; });
      var applied = data.coupons.filter(function (c) { return c.applied; });
      var status = applied.length
        ? t("checkout.coupons_applied", { count: applied.length, amount: SY.money(data.quote.discounts.reduce(function (n, d) { return n + (d.source === "coupon" ? d.amount_fen : 0); }, 0)) })
        : usable.length
          ? t("checkout.coupons_usable", { count: usable.length })
          : t("checkout.coupons_none");
      couponPanel.appendChild(
        h("div", { class: "section-head" }, h("h2", { id: "coupon-title" }, t("checkout.coupons")), h("span", { class: "muted", testid: "coupon-status" }, status))
      );
      if (!data.coupons.length) {
        couponPanel.appendChild(h("a", { class: "row-link", href: "#/coupons/center", testid: "checkout-coupon-center" }, t("checkout.coupon_center")));
        return;
      }
      var options = h("ul", { class: "coupon-options", role: "group", "aria-labelledby": "coupon-title" });
      data.coupons.forEach(function (c) {
        /* an applied coupon shows its own share; another one what its best combination saves */
        var own = data.quote.discounts.filter(function (d) { return d.source === "coupon" && d.source_id === c.coupon_id; })[0];
        var detail = c.usable
          ? c.applied
            ? t("checkout.coupon_saves", { amount: SY.money(own ? own.amount_fen : c.saving_fen) })
            : t("checkout.coupon_could_save", { amount: SY.money(c.saving_fen) })
          : SY.pickText(c.reason_zh, c.reason_en) || t("checkout.coupon_unusable");
        options.appendChild(
          h(
            "li",
            null,
            h(
              "button",
              {
                type: "button",
                class: "coupon-option" + (c.applied ? " applied" : "") + (c.usable ? "" : " unusable"),
                testid: "coupon-option",
                "data-coupon-id": c.coupon_id,
                "data-usable": String(c.usable),
                "data-applied": String(c.applied),
                "aria-pressed": c.applied ? "true" : "false",
                disabled: !c.usable,
                onclick: function () { pick(c); },
              },
              h("span", { class: "coupon-check", "aria-hidden": "true" }, c.applied ? "✓" : ""),
              h("span", { class: "coupon-option-body" }, h("span", { class: "coupon-option-name" }, c.name), c.scope_zh ? h("span", { class: "coupon-option-scope", testid: "coupon-option-scope" }, SY.pickText(c.scope_zh, c.scope_en)) : null, h("span", { class: "coupon-option-detail" }, detail)),
              c.valid_until ? h("span", { class: "coupon-option-until" }, t("coupon.valid_until", { time: SY.formatTime(c.valid_until) })) : null
            )
          )
        );
      });
      var none = !applied.length;
      options.appendChild(
        h(
          "li",
          null,
          h(
            "button",
            {
              type: "button",
              class: "coupon-option" + (none ? " applied" : ""),
              testid: "coupon-none",
              "aria-pressed": none ? "true" : "false",
              onclick: function () {
                choice = [];
                requoteLater();
              },
            },
            h("span", { class: "coupon-check", "aria-hidden": "true" }, none ? "✓" : ""),
            h("span", { class: "coupon-option-body" }, h("span", { class: "coupon-option-name" }, t("checkout.no_coupon")))
          )
        )
      );
      couponPanel.appendChild(options);
    }

    await requote();

    /* One Idempotency-Key per checkout attempt: a retry of the same request reuses it,
     * so a lost response never creates a second order. */
    var attempt = null;
    async function placeGroup(body, address) {
      body.quantity = qty;
      var sharer = Number(query.get("sharer") || 0);
      if (groupId && sharer) body.sharer_id = sharer;
      var signature = (groupId ? "join:" + groupId : "open:" + groupCampaign) + JSON.stringify(body);
      if (!attempt || attempt.signature !== signature) attempt = { key: SY.newKey(), signature: signature };
      placing = true;
      SY.busy(submit, true);
      try {
        var headers = { "Idempotency-Key": attempt.key };
        var placed = groupId
          ? await SY.api("POST", "/api/app/group-buy/groups/" + groupId + "/members", body, headers)
          : await SY.api("POST", "/api/app/group-buy/" + groupCampaign + "/groups", body, headers);
        if (address) SY.save(SY.KEYS.address, JSON.stringify(address));
        SY.go("#/cashier/" + placed.order.id + "?group=" + placed.group.id, true);
      } catch (error) {
        placing = false;
        SY.busy(submit, false);
        showFieldErrors(form, error.fields || {});
        if (error.status !== 0 && error.status < 500) attempt = null;
        SY.showError(error.status === 0 ? { message: t("checkout.retry_same") } : error);
      }
    }
    async function placeFlash(body, address) {
      body.quantity = qty;
      var signature = "flash:" + flashItem + JSON.stringify(body);
      if (!attempt || attempt.signature !== signature) attempt = { key: SY.newKey(), signature: signature };
      placing = true;
      SY.busy(submit, true);
      try {
        var bought = await SY.flashBuy(flashItem, body, attempt.key, couponPanel);
        if (address) SY.save(SY.KEYS.address, JSON.stringify(address));
        SY.go("#/cashier/" + bought.order.id + "?flash=" + flashItem, true);
      } catch (error) {
        placing = false;
        SY.busy(submit, false);
        showFieldErrors(form, error.fields || {});
        if (error.status !== 0 && error.status < 500) attempt = null;
        SY.showError(error.status === 0 ? { message: t("checkout.retry_same") } : error);
      }
    }
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (!shown) return;
      var address = chosen === null ? readAddress(form) : null;
      if (chosen === null && !address) return;
      var body = chosen === null ? { address: address } : { address_id: chosen };
      body.note = form.elements.note.value.trim();
      if (groupCampaign) return placeGroup(body, address);
      if (flashItem) return placeFlash(body, address);
      if (cartIds.length) body.cart_item_ids = lines.map(function (l) { return l.item_id; });
      else body.items = [{ sku_id: skuId, quantity: qty }];
      body.coupon_ids = shown.quote.applied_coupon_ids.slice();
      body.use_points = usePoints;
      body.expected_total_fen = shown.total_fen;
      var signature = JSON.stringify(body);
      if (!attempt || attempt.signature !== signature) attempt = { key: SY.newKey(), signature: signature };
      placing = true;
      SY.busy(submit, true);
      try {
        var order = await SY.api("POST", "/api/app/orders", body, { "Idempotency-Key": attempt.key });
        if (address) SY.save(SY.KEYS.address, JSON.stringify(address));
        SY.refreshCartCount();
        SY.go("#/cashier/" + order.id, true);
      } catch (error) {
        placing = false;
        SY.busy(submit, false);
        showFieldErrors(form, error.fields || {});
        if (error.status !== 0 && error.status < 500) attempt = null;
        SY.showError(error.status === 0 ? { message: t("checkout.retry_same") } : error);
        if (error.code === "quote_changed" || error.code === "coupon_unavailable") {
          /* the price moved under the shopper: show the new one before they try again */
          if (error.code === "coupon_unavailable") choice = null;
          requoteLater();
        }
      }
    });
  }

  /* The shopper's saved addresses as radio buttons, plus "a new address". */
  function addressChooser(book, chosen, onChoose) {
    var group = h("fieldset", { class: "panel address-chooser", testid: "address-chooser" }, h("legend", null, t("checkout.address")));
    function option(id, testid, body) {
      var input = h("input", { type: "radio", name: "address_choice", value: id === null ? "new" : String(id), checked: id === chosen, onchange: function () { if (input.checked) onChoose(id); } });
      return h("label", { class: "address-option", testid: testid, "data-address-id": id === null ? null : id }, input, h("span", { class: "address-option-body" }, body));
    }
    book.forEach(function (a) {
      group.appendChild(
        option(a.id, "address-option", [
          h("span", null, h("strong", null, SY.addressWho(a)), a.is_default ? h("span", { class: "address-default" }, t("address.default")) : null),
          h("span", { class: "muted address-option-text" }, SY.addressText(a)),
        ])
      );
    });
    group.appendChild(option(null, "address-option-new", t("checkout.address_new")));
    group.appendChild(h("a", { class: "row-link", href: "#/me", testid: "address-manage" }, t("checkout.address_manage")));
    return group;
  }

  function readAddress(form) {
    var read = SY.readAddressFields(form, FIELDS);
    var address = read.values;
    var problems = {};
    read.missing.forEach(function (name) { problems["address." + name] = t("checkout.error.required"); });
    if (address.phone && !SY.isMobile(address.phone)) problems["address.phone"] = t("address.error.phone");
    showFieldErrors(form, problems);
    return Object.keys(problems).length ? null : address;
  }

  function showFieldErrors(form, fields) {
    var names = FIELDS.map(function (f) { return f[0]; });
    SY.showFieldErrors(form, names, function (name) { return fields["address." + name] || ""; });
  }

  /* ---------- sandbox cashier ---------- */
  async function cashierPage(view, params, query) {
    if (!SY.requireLogin()) return;
    var id = Number(params.id);
    var groupId = Number((query && query.get("group")) || 0);
    var flash = Number((query && query.get("flash")) || 0);
    var order = await SY.api("GET", "/api/app/orders/" + id);
    if (order.status !== "pending_payment") {
      view.appendChild(paidPanel(order, groupId));
      return;
    }
    var start = await SY.api("POST", "/api/app/orders/" + id + "/pay");
    var panel = h(
      "section",
      { class: "panel cashier", "aria-labelledby": "cashier-title" },
      h("h2", { id: "cashier-title" }, start.provider === "sandbox" ? t("cashier.sandbox_title") : t("cashier.title")),
      h("p", { class: "cashier-amount price", testid: "cashier-amount" }, SY.money(order.total_fen)),
      h("p", { class: "muted" }, t("cashier.order_no", { no: order.order_no })),
      h("p", { class: "muted" }, t("cashier.deadline", { time: SY.formatTime(order.pay_deadline) })),
      flash && order.pay_deadline ? SY.flashPayCountdown(order) : null
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
            SY.clear(view).appendChild(paidPanel(paid, groupId));
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

  function paidPanel(order, groupId) {
    var paid = order.status !== "pending_payment" && order.status !== "cancelled";
    return h(
      "section",
      { class: "panel result", testid: paid ? "pay-result" : "order-result" },
      h("h2", { tabindex: "-1" }, paid ? t("cashier.success") : SY.orderStatusLabel(order.status)),
      h("p", null, SY.statusBadge(order.status)),
      h("p", { class: "price" }, SY.money(order.paid_fen || order.total_fen)),
      h("p", { class: "muted" }, t("cashier.order_no", { no: order.order_no })),
      order.hold ? h("p", { class: "note", testid: "order-hold" }, order.hold === "group_buy" ? t("order.hold.group_buy") : order.hold) : null,
      h(
        "div",
        { class: "button-row" },
        groupId ? h("a", { class: "btn btn-primary", href: "#/group/" + groupId, testid: "view-group" }, t("group.view")) : null,
        h("a", { class: "btn" + (groupId ? "" : " btn-primary"), href: "#/order/" + order.id, testid: "view-order" }, t("cashier.view_order")),
        h("a", { class: "btn", href: "#/" }, t("empty.go_shopping"))
      )
    );
  }

  SY.route("/cart", cartPage, { name: "cart", tab: "cart", back: false, title: function () { return t("nav.cart"); } });
  SY.route("/checkout", checkoutPage, { name: "checkout", tabbar: false, title: function () { return t("checkout.title"); } });
  SY.route("/cashier/:id", cashierPage, { name: "cashier", tabbar: false, title: function () { return t("cashier.title"); } });
})();
