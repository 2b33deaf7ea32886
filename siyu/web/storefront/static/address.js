/* The address book (/api/app/addresses): the me page's panel (add, edit, delete, set
 * the default) and the one-line text the checkout and the order page show. */
(function () {
  "use strict";

  var SY = window.SY;
  var t = SY.t;
  var h = SY.h;

  /* An address's fields: [name, the book's label, the checkout's label (null: the
   * checkout does not ask for it), input options, the checkout's own options over them
   * (any phone number, not only a mainland mobile; a two-line street address)].
   * region: a <select> of the 省 → 市 → 区 cascade (SY.bindRegions), not typed. */
  var ADDRESS_FIELDS = [
    ["name", function () { return t("address.field.name"); }, function () { return t("checkout.field.name"); }, { autocomplete: "name", maxlength: "32", required: true }],
    ["phone", function () { return t("address.field.phone"); }, function () { return t("checkout.field.phone"); }, { type: "tel", autocomplete: "tel", inputmode: "numeric", maxlength: "11", required: true }, { inputmode: "tel", maxlength: "20" }],
    ["province", function () { return t("address.field.province"); }, function () { return t("checkout.field.province"); }, { autocomplete: "address-level1", required: true, region: true }],
    ["city", function () { return t("address.field.city"); }, function () { return t("checkout.field.city"); }, { autocomplete: "address-level2", required: true, region: true }],
    ["district", function () { return t("address.field.district"); }, function () { return t("checkout.field.district"); }, { autocomplete: "address-level3", region: true }],
    ["detail", function () { return t("address.field.detail"); }, function () { return t("checkout.field.detail"); }, { autocomplete: "street-address", maxlength: "200", required: true }, { multiline: true }],
    ["postal_code", function () { return t("address.field.postal_code"); }, null, { autocomplete: "postal-code", inputmode: "numeric", maxlength: "6" }],
  ];

  /* The fields of the address book's form ("book") or the checkout's ("checkout"), each
   * [name, label function, input options]. */
  SY.addressFields = function (form) {
    var checkout = form === "checkout";
    return ADDRESS_FIELDS.filter(function (f) { return !checkout || f[2]; }).map(function (f) {
      return checkout ? [f[0], f[2], Object.assign({}, f[3], f[4])] : [f[0], f[1], f[3]];
    });
  };
  /* What an address form holds: each field's trimmed value, and the names of the
   * required fields left empty. */
  SY.readAddressFields = function (form, fields) {
    var values = {};
    var missing = [];
    fields.forEach(function (f) {
      var control = form.elements[f[0]];
      var value = control.value.trim();
      values[f[0]] = value;
      /* the district is required only where the chosen city has districts */
      if ((f[2].required || control.required) && !value) missing.push(f[0]);
    });
    return { values: values, missing: missing };
  };
  var FIELDS = SY.addressFields("book");

  /* An address field's control: a <select> for 省/市/区, else an input (a textarea when
   * multiline). attrs are the element's own (id, name, testid, value...). */
  SY.addressControl = function (opts, attrs) {
    if (opts.region) {
      var select = h("select", Object.assign({}, attrs, { value: null, type: null, maxlength: null, inputmode: null }));
      select.setAttribute("data-initial", attrs.value || "");
      return select;
    }
    return h(opts.multiline ? "textarea" : "input", attrs);
  };

  /* The 省/市/区 tree (GET /api/app/regions), loaded once per page. */
  var regionsPromise = null;
  SY.loadRegions = function () {
    if (!regionsPromise) {
      regionsPromise = SY.api("GET", "/api/app/regions").then(function (body) { return body.regions; });
      regionsPromise.catch(function () { regionsPromise = null; });
    }
    return regionsPromise;
  };

  /* Fill the form's province, city and district selects from the tree and cascade them:
   * choosing a province lists its cities, a city its districts (none for a city like
   * 东莞市, which is then not required). Starts from each select's data-initial. */
  SY.bindRegions = async function (form) {
    var els = { province: form.elements.province, city: form.elements.city, district: form.elements.district };
    var tree = await SY.loadRegions();
    function fill(select, names, placeholder, wanted) {
      SY.clear(select);
      select.appendChild(h("option", { value: "" }, placeholder));
      names.forEach(function (name) { select.appendChild(h("option", { value: name }, name)); });
      select.value = names.indexOf(wanted) >= 0 ? wanted : "";
    }
    function cities() { return tree[els.province.value] || {}; }
    function districts() { return cities()[els.city.value] || []; }
    function fillDistricts(wanted) {
      var names = districts();
      fill(els.district, names, els.city.value && !names.length ? t("address.no_district") : t("address.choose_district"), wanted);
      els.district.disabled = !names.length;
      els.district.required = names.length > 0;
    }
    function fillCities(wanted, wantedDistrict) {
      var names = Object.keys(cities());
      fill(els.city, names, t("address.choose_city"), wanted);
      els.city.disabled = !names.length;
      fillDistricts(wantedDistrict);
    }
    fill(els.province, Object.keys(tree), t("address.choose_province"), els.province.getAttribute("data-initial"));
    fillCities(els.city.getAttribute("data-initial"), els.district.getAttribute("data-initial"));
    els.province.addEventListener("change", function () { fillCities("", ""); });
    els.city.addEventListener("change", function () { fillDistricts(""); });
  };

  SY.addressText = function (a) {
    return [a.province, a.city, a.district, a.detail].filter(Boolean).join(" ");
  };
  SY.addressWho = function (a) {
    return (a.name || "") + "  " + (a.phone || "");
  };

  /* The me page's panel; it loads the book itself. */
  SY.addressBookPanel = function () {
    var panel = h("section", { class: "panel address-book", testid: "address-book", "aria-labelledby": "address-book-title" });
    var list = h("ul", { class: "address-list" });
    var formSlot = h("div");
    var add = h("button", { type: "button", class: "btn btn-small", testid: "address-add", "aria-expanded": "false", onclick: function () { openForm(null); } }, t("address.add"));
    panel.appendChild(h("div", { class: "section-head" }, h("h2", { id: "address-book-title" }, t("address.book")), add));
    panel.appendChild(list);
    panel.appendChild(formSlot);

    async function reload() {
      var book = await SY.api("GET", "/api/app/addresses");
      SY.clear(list);
      if (!book.length) list.appendChild(h("li", { class: "muted", testid: "address-empty" }, t("address.empty")));
      book.forEach(function (a) { list.appendChild(entry(a)); });
      add.disabled = book.length >= 20;
      if (book.length >= 20) add.title = t("address.full");
    }

    function entry(a) {
      async function act(button, method, body, message) {
        SY.busy(button, true);
        try {
          await SY.api(method, "/api/app/addresses/" + a.id, body);
          await reload();
          SY.toast(message);
        } catch (error) {
          SY.busy(button, false);
          SY.showError(error);
        }
      }
      var remove = h("button", { type: "button", class: "btn-link danger", testid: "address-delete", "aria-label": t("address.delete_of", { name: a.name }), onclick: function () { act(remove, "DELETE", undefined, t("address.deleted")); } }, t("address.delete"));
      var setDefault = a.is_default
        ? null
        : h("button", { type: "button", class: "btn-link", testid: "address-set-default", onclick: function () { act(setDefault, "PATCH", { is_default: true }, t("address.default_done")); } }, t("address.set_default"));
      return h(
        "li",
        { class: "address-entry", testid: "address-entry", "data-address-id": a.id, "data-default": String(a.is_default) },
        h("p", null, h("strong", null, SY.addressWho(a)), a.is_default ? h("span", { class: "address-default", testid: "address-default" }, t("address.default")) : null),
        h("p", { class: "muted" }, SY.addressText(a), a.postal_code ? " · " + a.postal_code : ""),
        h(
          "div",
          { class: "button-row" },
          h("button", { type: "button", class: "btn-link", testid: "address-edit", onclick: function () { openForm(a); } }, t("address.edit")),
          setDefault,
          remove
        )
      );
    }

    function openForm(a) {
      SY.clear(formSlot);
      add.setAttribute("aria-expanded", "true");
      var form = h("form", { class: "address-form", testid: "address-form", novalidate: true, "aria-label": a ? t("address.edit") : t("address.add") });
      FIELDS.forEach(function (f) {
        var id = "book-" + f[0];
        var opts = f[2];
        form.appendChild(
          h(
            "div",
            { class: "field" },
            h("label", { for: id }, f[1](), opts.required ? null : h("span", { class: "optional" }, t("checkout.optional"))),
            SY.addressControl(opts, { id: id, name: f[0], testid: "book-" + f[0], type: opts.type || "text", value: a ? a[f[0]] || "" : "", autocomplete: opts.autocomplete, inputmode: opts.inputmode, maxlength: opts.maxlength, required: !!opts.required, "aria-describedby": id + "-error" }),
            h("p", { class: "field-error", id: id + "-error", "aria-live": "polite" })
          )
        );
      });
      var isDefault = h("input", { type: "checkbox", id: "book-default", name: "is_default", testid: "book-default", checked: a ? a.is_default : false, disabled: a ? a.is_default : false });
      form.appendChild(h("div", { class: "field" }, h("label", { for: "book-default", class: "check" }, isDefault, " ", t("address.make_default"))));
      var save = h("button", { type: "submit", class: "btn btn-primary", testid: "address-save" }, t("address.save"));
      var cancel = h("button", { type: "button", class: "btn", testid: "address-cancel", onclick: close }, t("address.cancel"));
      form.appendChild(h("div", { class: "button-row" }, save, cancel));
      form.addEventListener("submit", async function (event) {
        event.preventDefault();
        var body = readForm(form);
        if (!body) return;
        if (!a || !a.is_default) body.is_default = isDefault.checked;
        SY.busy(save, true);
        try {
          if (a) await SY.api("PATCH", "/api/app/addresses/" + a.id, body);
          else await SY.api("POST", "/api/app/addresses", body);
          close();
          await reload();
          SY.toast(t("address.saved"));
        } catch (error) {
          SY.busy(save, false);
          showErrors(form, error.fields || {}, false);
          SY.showError(error);
        }
      });
      formSlot.appendChild(form);
      form.elements.name.focus();
      SY.bindRegions(form).catch(function (error) { SY.showError(error); });
    }

    function close() {
      SY.clear(formSlot);
      add.setAttribute("aria-expanded", "false");
    }

    reload().catch(function (error) { SY.showError(error, reload); });
    return panel;
  };

  function readForm(form) {
    var read = SY.readAddressFields(form, FIELDS);
    var body = read.values;
    body.postal_code = body.postal_code || null;
    var problems = {};
    read.missing.forEach(function (name) { problems[name] = t("checkout.error.required"); });
    if (body.phone && !SY.isMobile(body.phone)) problems.phone = t("address.error.phone");
    if (body.postal_code && !/^\d{6}$/.test(body.postal_code)) problems.postal_code = t("address.error.postal_code");
    showErrors(form, problems, true);
    return Object.keys(problems).length ? null : body;
  }

  /* fields: field → message (already in the shopper's words when local), or the
   * server's field → reason, shown as our own words for that field. */
  function showErrors(form, fields, local) {
    var names = FIELDS.map(function (f) { return f[0]; });
    SY.showFieldErrors(form, names, function (name) {
      if (!fields[name]) return "";
      if (local) return fields[name];
      if (name === "phone") return t("address.error.phone");
      if (name === "postal_code") return t("address.error.postal_code");
      if (name === "province" || name === "city" || name === "district") return t("address.error.region");
      return t("address.error.field");
    });
  }
})();
