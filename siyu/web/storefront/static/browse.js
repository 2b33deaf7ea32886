/* Browsing: home (search, core categories, focus banner, featured), category, search,
 * product detail with the SKU picker. */
(function () {
  "use strict";

  var SY = window.SY;
  var t = SY.t;
  var h = SY.h;
  var categoriesCache = null;

  async function categories() {
    if (!categoriesCache) categoriesCache = await SY.api("GET", "/api/app/categories");
    return categoriesCache;
  }

  function roleTag(role) {
    if (role === "traffic") return h("span", { class: "tag tag-hot" }, t("product.tag.traffic"));
    if (role === "premium") return h("span", { class: "tag tag-premium" }, t("product.tag.premium"));
    return null;
  }

  /* A product tile; search results carry their own test id ("search-result-card"). */
  function productCard(p, eager, testid) {
    return h(
      "a",
      { class: "card", href: "#/product/" + p.id, testid: testid || "product-card", "data-product-id": p.id },
      SY.image(p.image_urls[0], p.title, "card-img", eager),
      h(
        "div",
        { class: "card-body" },
        h("p", { class: "card-title" }, roleTag(p.role), p.title),
        p.subtitle ? h("p", { class: "card-sub" }, p.subtitle) : null,
        h(
          "p",
          { class: "card-foot" },
          h("span", { class: "price" }, SY.money(p.min_price_fen)),
          h("span", { class: "sold" }, t("product.sold", { count: p.sales_count }))
        )
      )
    );
  }
  SY.productCard = productCard;

  /* ---------- home ---------- */
  async function homePage(view) {
    var results = await Promise.all([
      categories(),
      SY.api("GET", "/api/app/products?sort=featured&role=traffic&limit=3"),
      SY.api("GET", "/api/app/products?sort=featured&limit=10"),
    ]);
    var cats = results[0];
    var traffic = results[1].items;
    var featured = results[2].items;

    var nav = h("nav", { class: "cat-nav", "aria-label": t("home.categories") });
    cats.slice(0, 7).forEach(function (c) {
      nav.appendChild(
        h(
          "a",
          { class: "cat-link", href: "#/category/" + c.id, testid: "category-link", "data-category-id": c.id },
          h("span", { class: "cat-icon", "aria-hidden": "true" }, c.name.slice(0, 1)),
          h("span", { class: "cat-name" }, c.name)
        )
      );
    });
    nav.appendChild(
      h(
        "a",
        { class: "cat-link", href: "#/category" },
        h("span", { class: "cat-icon cat-all", "aria-hidden": "true" }, SY.icon("category")),
        h("span", { class: "cat-name" }, t("home.all_categories"))
      )
    );
    view.appendChild(nav);
    view.appendChild(SY.memberDayBanner());
    view.appendChild(SY.flashEntry());
    view.appendChild(
      h(
        "a",
        { class: "coupon-entry", href: "#/coupons/center", testid: "home-coupon-center" },
        h("span", { class: "coupon-entry-text" }, h("strong", null, t("coupon.center")), h("span", null, t("coupon.center_sub"))),
        h("span", { class: "coupon-entry-cta" }, t("coupon.center_cta"))
      )
    );

    var focus = traffic[0];
    if (focus) {
      view.appendChild(
        h(
          "a",
          { class: "banner", href: "#/product/" + focus.id, testid: "banner", "data-product-id": focus.id },
          SY.image(focus.image_urls[0], focus.title, "banner-img", true),
          h(
            "div",
            { class: "banner-text" },
            h("span", { class: "banner-kicker" }, t("home.banner.kicker")),
            h("strong", { class: "banner-price" }, t("home.banner.price", { price: SY.money(focus.min_price_fen) })),
            h("span", { class: "banner-title" }, focus.title),
            h("span", { class: "banner-cta" }, t("home.banner.cta"))
          )
        )
      );
    }
    if (traffic.length > 1) {
      view.appendChild(
        h(
          "div",
          { class: "strip", "aria-label": t("home.traffic") },
          traffic.slice(1).map(function (p) {
            return h(
              "a",
              { class: "strip-item", href: "#/product/" + p.id, testid: "product-card", "data-product-id": p.id },
              h("span", { class: "strip-title" }, p.title),
              h("span", { class: "price" }, SY.money(p.min_price_fen))
            );
          })
        )
      );
    }

    view.appendChild(
      h(
        "div",
        { class: "section-head" },
        h("h2", null, t("home.featured")),
        h("a", { href: "#/search?sort=featured", class: "more" }, t("home.more"))
      )
    );
    if (!featured.length) view.appendChild(SY.empty(t("list.empty"), null));
    var grid = h("div", { class: "grid" });
    featured.forEach(function (p, i) {
      grid.appendChild(productCard(p, i < 2));
    });
    view.appendChild(grid);
  }

  /* ---------- product lists (category, search) ---------- */
  var SORTS = [
    ["featured", function () { return t("sort.featured"); }],
    ["sales", function () { return t("sort.sales"); }],
    ["newest", function () { return t("sort.newest"); }],
  ];

  function sortBar(sort, hrefFor) {
    var bar = h("div", { class: "sort-bar", role: "group", "aria-label": t("sort.label") });
    SORTS.forEach(function (s) {
      var active = sort === s[0];
      bar.appendChild(
        h("a", { class: "sort" + (active ? " active" : ""), href: hrefFor(s[0]), testid: "sort-tab", "data-sort": s[0], "aria-current": active ? "true" : null }, s[1]())
      );
    });
    var priceActive = sort === "price_asc" || sort === "price_desc";
    var nextPrice = sort === "price_asc" ? "price_desc" : "price_asc";
    bar.appendChild(
      h(
        "a",
        { class: "sort" + (priceActive ? " active" : ""), href: hrefFor(nextPrice), testid: "sort-tab", "data-sort": nextPrice, "aria-current": priceActive ? "true" : null },
        t("sort.price"),
        h("span", { "aria-hidden": "true" }, sort === "price_asc" ? " ↑" : sort === "price_desc" ? " ↓" : " ↕"),
        priceActive ? h("span", { class: "sr-only" }, sort === "price_asc" ? t("sort.price_asc") : t("sort.price_desc")) : null
      )
    );
    return bar;
  }

  /* A grid filled page by page with the API's cursor. A page that arrives after the
   * shopper has moved on (another search, another route) is dropped. ``options``:
   * ``gridAttrs`` extra attributes of the grid, ``cardTestid`` the cards' test id. */
  async function productList(view, baseQuery, emptyMessage, seq, options) {
    options = options || {};
    var grid = h("div", Object.assign({ class: "grid", "aria-live": "polite", "data-state": "loading" }, options.gridAttrs || {}));
    var more = h("button", { type: "button", class: "btn btn-block load-more", testid: "load-more" }, t("list.load_more"));
    var footer = h("div", { class: "list-footer" });
    var cursor = null;
    var loading = false;

    async function loadPage() {
      if (loading) return;
      loading = true;
      SY.busy(more, true);
      try {
        var page = await SY.api("GET", "/api/app/products?" + baseQuery + "&limit=10" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
        if (!SY.isCurrent(seq)) return;
        page.items.forEach(function (p) {
          grid.appendChild(productCard(p, false, options.cardTestid));
        });
        cursor = page.next_cursor;
        SY.clear(footer);
        if (!grid.children.length) footer.appendChild(SY.empty(emptyMessage, t("empty.go_shopping"), "#/"));
        else if (cursor) footer.appendChild(more);
        else footer.appendChild(h("p", { class: "list-end" }, t("list.end")));
        grid.setAttribute("data-state", "done");
      } finally {
        loading = false;
        SY.busy(more, false);
      }
    }
    more.addEventListener("click", function () {
      loadPage().catch(function (error) {
        SY.showError(error, function () { more.click(); });
      });
    });
    await loadPage();
    view.appendChild(grid);
    view.appendChild(footer);
    if ("IntersectionObserver" in window) {
      var observer = new IntersectionObserver(function (entries) {
        if (!SY.isCurrent(seq)) return observer.disconnect();
        if (entries[0].isIntersecting && cursor && more.isConnected) more.click();
      }, { rootMargin: "200px" });
      observer.observe(footer);
    }
  }

  function pickSort(query) {
    var sort = query.get("sort") || "featured";
    return ["featured", "sales", "newest", "price_asc", "price_desc"].indexOf(sort) >= 0 ? sort : "featured";
  }

  async function categoryPage(view, params, query, seq) {
    var cats = await categories();
    if (!cats.length) {
      view.appendChild(SY.empty(t("category.none"), t("empty.go_shopping"), "#/"));
      return;
    }
    var id = params.id ? Number(params.id) : cats[0].id;
    var top = cats.filter(function (c) {
      return c.id === id || c.children.some(function (k) { return k.id === id; });
    })[0] || cats[0];
    var sort = pickSort(query);
    var chips = h("nav", { class: "chips", "aria-label": t("category.top") });
    cats.forEach(function (c) {
      var active = c.id === top.id;
      chips.appendChild(
        h("a", { class: "chip" + (active ? " active" : ""), href: "#/category/" + c.id, testid: "category-chip", "data-category-id": c.id, "aria-current": active ? "true" : null }, c.name)
      );
    });
    view.appendChild(chips);
    if (top.children.length) {
      var subs = h("nav", { class: "chips chips-sub", "aria-label": t("category.sub") });
      [{ id: top.id, name: t("category.all_of", { name: top.name }) }].concat(top.children).forEach(function (c) {
        var active = c.id === id;
        subs.appendChild(
          h("a", { class: "chip chip-sub" + (active ? " active" : ""), href: "#/category/" + c.id, testid: "category-chip", "data-category-id": c.id, "aria-current": active ? "true" : null }, c.name)
        );
      });
      view.appendChild(subs);
    }
    view.appendChild(
      sortBar(sort, function (s) {
        return "#/category/" + id + "?sort=" + s;
      })
    );
    await productList(view, "category_id=" + id + "&sort=" + sort, t("category.empty"), seq);
  }

  async function searchPage(view, params, query, seq) {
    var q = (query.get("q") || "").trim().slice(0, 50);
    var sort = pickSort(query);
    // 去凑单: only the products a running promotion applies to
    var promotionId = /^[1-9][0-9]{0,9}$/.test(query.get("promotion_id") || "") ? query.get("promotion_id") : "";
    var scoped = promotionId ? "promotion_id=" + promotionId + "&" : "";
    /* A new search from the search page keeps the route, so the router leaves the old
     * view up until the new one is ready: take the old results down now. */
    var shown = document.querySelector("#main > .view-search");
    if (shown) SY.clear(shown).appendChild(SY.loading());
    if (q) view.appendChild(h("h2", { class: "page-sub" }, t("search.results_for", { q: q })));
    if (promotionId) view.appendChild(h("h2", { class: "page-sub", testid: "promotion-products" }, t("search.promotion_products")));
    view.appendChild(
      sortBar(sort, function (s) {
        return "#/search?" + scoped + (q ? "q=" + encodeURIComponent(q) + "&" : "") + "sort=" + s;
      })
    );
    await productList(view, scoped + (q ? "q=" + encodeURIComponent(q) + "&" : "") + "sort=" + sort, t("search.empty", { q: q }), seq, {
      gridAttrs: { testid: "search-results", "data-q": q, "data-sort": sort, "data-promotion-id": promotionId },
      cardTestid: "search-result-card",
    });
  }

  /* ---------- product detail ---------- */
  function dimensions(skus) {
    var dims = [];
    skus.forEach(function (sku) {
      Object.keys(sku.spec).forEach(function (dim) {
        var d = dims.filter(function (x) { return x.name === dim; })[0];
        if (!d) dims.push((d = { name: dim, values: [] }));
        if (d.values.indexOf(sku.spec[dim]) < 0) d.values.push(sku.spec[dim]);
      });
    });
    return dims;
  }

  async function productPage(view, params) {
    var p = await SY.api("GET", "/api/app/products/" + Number(params.id));
    var skus = p.skus.filter(function (s) { return s.is_active; });
    var dims = dimensions(skus);
    var chosen = {};
    if (skus.length === 1) chosen = Object.assign({}, skus[0].spec);

    var gallery = h("div", { class: "gallery", tabindex: "0", "aria-label": t("product.gallery") });
    (p.image_urls.length ? p.image_urls : [""]).forEach(function (url, i) {
      gallery.appendChild(SY.image(url, p.title, "gallery-img", i === 0));
    });
    view.appendChild(gallery);

    var price = h("span", { class: "price price-big", testid: "price" });
    var original = h("s", { class: "original" });
    var stock = h("p", { class: "stock-hint", testid: "stock-hint", "aria-live": "polite", hidden: true });
    var chosenText = h("p", { class: "chosen", "aria-live": "polite" });
    var memberSlot = h("div", { class: "member-slot", "aria-live": "polite" });
    view.appendChild(
      h(
        "section",
        { class: "panel product-head" },
        h("p", { class: "price-line" }, price, " ", original),
        memberSlot,
        h("h2", { class: "product-title" }, roleTag(p.role), p.title),
        p.subtitle ? h("p", { class: "product-sub" }, p.subtitle) : null,
        h("p", { class: "sold" }, t("product.sold", { count: p.sales_count }))
      )
    );

    function selectedSku() {
      return skus.filter(function (s) {
        return dims.every(function (d) { return s.spec[d.name] === chosen[d.name]; });
      })[0] || null;
    }
    function possible(dim, value) {
      return skus.some(function (s) {
        if (s.spec[dim] !== value || s.stock <= 0) return false;
        return dims.every(function (d) { return d.name === dim || !chosen[d.name] || s.spec[d.name] === chosen[d.name]; });
      });
    }

    var picker = h("section", { class: "panel sku-picker" });
    var qty = h("input", { id: "qty", type: "number", inputmode: "numeric", min: "1", max: "99", value: "1", testid: "quantity", class: "qty-input" });
    function refresh() {
      SY.clear(picker);
      dims.forEach(function (d) {
        var group = h("div", { class: "chip-row", role: "group", "aria-labelledby": "dim-" + d.name });
        d.values.forEach(function (value) {
          var pressed = chosen[d.name] === value;
          var ok = possible(d.name, value);
          group.appendChild(
            h(
              "button",
              {
                type: "button",
                class: "chip sku-chip" + (pressed ? " active" : ""),
                testid: "sku-chip",
                "data-dim": d.name,
                "data-value": value,
                "aria-pressed": pressed ? "true" : "false",
                "aria-disabled": ok ? null : "true",
                title: ok ? null : t("product.sold_out"),
                onclick: function () {
                  chosen[d.name] = pressed ? undefined : value;
                  refresh();
                  var again = picker.querySelector('[data-dim="' + CSS.escape(d.name) + '"][data-value="' + CSS.escape(value) + '"]');
                  if (again) again.focus();
                },
              },
              value
            )
          );
        });
        picker.appendChild(h("p", { class: "dim-name", id: "dim-" + d.name }, d.name));
        picker.appendChild(group);
      });
      picker.appendChild(
        h("div", { class: "qty-row" }, h("label", { for: "qty" }, t("product.quantity")), SY.stepper(qty))
      );
      picker.appendChild(chosenText);
      var sku = selectedSku();
      SY.clear(memberSlot).appendChild(SY.memberPriceLine(p.member_prices, sku, skus));
      if (sku) {
        price.textContent = SY.money(sku.price_fen);
        original.textContent = sku.original_price_fen && sku.original_price_fen > sku.price_fen ? SY.money(sku.original_price_fen) : "";
        chosenText.textContent = dims.length ? t("product.chosen", { spec: SY.specText(sku.spec) }) : "";
        if (sku.stock <= 0) {
          stock.textContent = t("product.sold_out");
          stock.hidden = false;
        } else if (sku.low_stock) {
          stock.textContent = t("product.low_stock", { count: sku.stock });
          stock.hidden = false;
        } else {
          stock.hidden = true;
        }
      } else {
        /* 起 only when the SKUs' prices differ */
        var prices = skus.map(function (s) { return s.price_fen; });
        var low = prices.length ? Math.min.apply(null, prices) : p.min_price_fen;
        price.textContent = prices.length && Math.max.apply(null, prices) === low ? SY.money(low) : t("product.price_from", { price: SY.money(low) });
        original.textContent = "";
        stock.hidden = true;
        var missing = dims.filter(function (d) { return !chosen[d.name]; }).map(function (d) { return d.name; });
        chosenText.textContent = missing.length ? t("product.choose", { dims: missing.join(" / ") }) : t("product.unavailable");
      }
      picker.appendChild(stock);
    }
    refresh();
    view.appendChild(picker);
    /* the running promotions and the claimable coupons that cover this product */
    var offers = h("section", { class: "panel product-offers", testid: "product-offers", hidden: true });
    view.appendChild(offers);
    SY.api("GET", "/api/app/products/" + p.id + "/offers").then(function (o) {
      o.promotions.forEach(function (m) {
        offers.appendChild(h("p", { class: "offer-line", testid: "product-promotion" }, h("span", { class: "tag" }, t("product.offer_promotion")), " ", m.name));
      });
      o.coupons.forEach(function (c) {
        offers.appendChild(h("a", { class: "offer-line row-link", href: "#/coupons/center", testid: "product-coupon" }, h("span", { class: "tag" }, t("product.offer_coupon")), " ", SY.pickText(c.title_zh, c.title_en) || c.name, " · ", SY.pickText(c.scope_zh, c.scope_en)));
      });
      offers.hidden = !(o.promotions.length || o.coupons.length);
    }).catch(function () { /* offers are extra: the page works without them */ });
    if (SY.groupBuyPanel) SY.groupBuyPanel(view, p);
    if (SY.socialPanel) SY.socialPanel(view, p); /* cues, rising price, bargain */
    if (p.description) {
      view.appendChild(h("section", { class: "panel" }, h("h3", null, t("product.description")), h("p", { class: "description" }, p.description)));
    }

    function quantity() {
      var n = Math.floor(Number(qty.value));
      return n >= 1 && n <= 99 ? n : 0;
    }
    function ready() {
      var sku = selectedSku();
      if (!sku) {
        var missing = dims.filter(function (d) { return !chosen[d.name]; }).map(function (d) { return d.name; });
        SY.toast(missing.length ? t("product.choose", { dims: missing.join(" / ") }) : t("product.unavailable"));
        var first = picker.querySelector(".sku-chip");
        if (first) first.focus();
        return null;
      }
      if (sku.stock <= 0) {
        SY.toast(t("product.sold_out_choose_other"));
        return null;
      }
      if (!quantity()) {
        SY.toast(t("product.bad_quantity"));
        qty.focus();
        return null;
      }
      if (quantity() > sku.stock) {
        SY.toast(t("product.low_stock", { count: sku.stock }));
        qty.focus();
        return null;
      }
      return sku;
    }
    var addButton = h("button", {
      type: "button",
      class: "btn btn-cart",
      testid: "add-to-cart",
      "data-track": "add_to_cart",
      "data-track-product-id": p.id,
      onclick: async function () {
        var sku = ready();
        if (!sku || !SY.requireLogin()) return;
        SY.busy(addButton, true);
        try {
          var cart = await SY.api("POST", "/api/app/cart/items", { sku_id: sku.id, quantity: quantity() });
          SY.setCartCount(cart.item_count);
          SY.toast(t("product.added"));
        } catch (error) {
          SY.showError(error);
        } finally {
          SY.busy(addButton, false);
        }
      },
    }, t("product.add_to_cart"));
    var buyButton = h("button", {
      type: "button",
      class: "btn btn-primary",
      testid: "buy-now",
      "data-track": "buy_now",
      "data-track-product-id": p.id,
      onclick: function () {
        var sku = ready();
        if (!sku) return;
        SY.go("#/checkout?product=" + p.id + "&sku=" + sku.id + "&qty=" + quantity());
      },
    }, t("product.buy_now"));
    view.appendChild(
      h(
        "div",
        { class: "action-bar" },
        SY.serviceLink("action-link"),
        h("a", { href: "#/cart", class: "action-link", testid: "action-cart" }, SY.icon("cart"), h("span", null, t("nav.cart")), SY.cartBadge()),
        addButton,
        buyButton
      )
    );
  }

  /* A number field with − and + buttons (all keyboard reachable). */
  SY.stepper = function (input, onChange) {
    function bump(delta) {
      var n = Math.min(99, Math.max(1, (Math.floor(Number(input.value)) || 1) + delta));
      input.value = String(n);
      if (onChange) onChange(n);
    }
    if (onChange) {
      input.addEventListener("change", function () {
        var n = Math.floor(Number(input.value));
        if (n >= 1 && n <= 99) onChange(n);
        else SY.toast(t("product.bad_quantity"));
      });
    }
    return h(
      "span",
      { class: "stepper" },
      h("button", { type: "button", class: "step", "aria-label": t("action.decrease"), onclick: function () { bump(-1); } }, "−"),
      input,
      h("button", { type: "button", class: "step", "aria-label": t("action.increase"), onclick: function () { bump(1); } }, "+")
    );
  };

  SY.route("/", homePage, { name: "home", tab: "home", header: "search", back: false });
  SY.route("/category", categoryPage, { name: "category", tab: "category", back: false, title: function () { return t("nav.category"); } });
  SY.route("/category/:id", categoryPage, { name: "category", tab: "category", back: false, title: function () { return t("nav.category"); } });
  SY.route("/search", searchPage, { name: "search", header: "search", back: true, tab: "home" });
  SY.route("/product/:id", productPage, { name: "product", tabbar: false, title: function () { return t("product.title"); } });
})();
