/* Keylink embed page: reads the embed token from the URL fragment (#token=...), asks this
   gateway's /graphql with it (Authorization: Embed <token>), and draws the answer: key
   figures, aging of open invoices, revenue by month, open orders with a line editor, hours
   by project, a badge per system. No cookies, no storage, no other origin. Amounts stay
   decimal strings end to end (sums use BigInt); Intl formats them in the page's locale. */
(function () {
  "use strict";

  var root = document.getElementById("keylink");
  if (!root) return;
  var kind = root.dataset.kind, system = root.dataset.system, key = root.dataset.key;
  var lang = root.dataset.lang || "en", locale = root.dataset.locale || "en-GB";
  var T = {};
  var token = tokenFromFragment();
  var role = roleOf(token);
  var started = performance.now();

  // ---- small helpers -------------------------------------------------------------
  function tokenFromFragment() {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    return params.get("token") || "";
  }
  function roleOf(tok) {  // for the UI only: the gateway enforces the role
    try {
      var part = tok.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part + "===".slice((part.length + 3) % 4))).r || "";
    } catch (e) { return ""; }
  }
  function t(name, values) {
    var text = T[name] || name;
    return text.replace(/\{(\w+)\}/g, function (_, k) { return values && k in values ? values[k] : ""; });
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  // ---- exact decimals (amounts are strings such as "-17606.50") ----------------------
  function dec(s) {
    s = String(s); var neg = s.charAt(0) === "-"; if (neg || s.charAt(0) === "+") s = s.slice(1);
    var parts = s.split("."), frac = parts[1] || "";
    var v = BigInt((parts[0] || "0") + frac);
    return { v: neg ? -v : v, s: frac.length };
  }
  function scaled(d, s) { return d.v * (BigInt(10) ** BigInt(s - d.s)); }
  function add(a, b) {
    var s = Math.max(a.s, b.s);
    return { v: scaled(a, s) + scaled(b, s), s: s };
  }
  function decString(d) {
    var neg = d.v < 0, digits = (neg ? -d.v : d.v).toString();
    if (d.s > 0) {
      while (digits.length <= d.s) digits = "0" + digits;
      digits = digits.slice(0, digits.length - d.s) + "." + digits.slice(digits.length - d.s);
    }
    return (neg ? "-" : "") + digits;
  }
  var ZERO = { v: BigInt(0), s: 2 };

  // ---- formatting by locale ----------------------------------------------------------
  function money(m) {
    if (!m) return t("noData");
    try {
      return new Intl.NumberFormat(locale, { style: "currency", currency: m.currency }).format(m.amount);
    } catch (e) { return m.amount + " " + m.currency; }
  }
  function number(x, digits) {
    if (x === null || x === undefined) return t("noData");
    return new Intl.NumberFormat(locale, { maximumFractionDigits: digits === undefined ? 3 : digits }).format(x);
  }
  function date(iso) {
    if (!iso) return t("noData");
    var p = iso.split("-");
    return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" })
      .format(new Date(Date.UTC(+p[0], +p[1] - 1, +p[2])));
  }
  function monthName(i) {
    return new Intl.DateTimeFormat(locale, { month: "short", timeZone: "UTC" }).format(new Date(Date.UTC(2000, i, 1)));
  }
  function moneyCell(m, figure) {
    var cell = el("td", { "class": "kl-num", text: money(m) });
    if (m) { cell.dataset.amount = m.amount; cell.dataset.currency = m.currency; }
    if (figure) cell.dataset.figure = figure;
    return cell;
  }

  // ---- GraphQL over fetch with the embed token ----------------------------------------
  function graphql(query, variables) {
    return fetch("/graphql", {
      method: "POST",
      credentials: "omit",
      cache: "no-store",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "Authorization": "Embed " + token },
      body: JSON.stringify({ query: query, variables: variables })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, body: body };
      });
    });
  }

  var LINE = "key orderKey productKey description quantity unit { symbol } unitPrice { amount currency } " +
    "discountPercent amount { amount currency } deliveryDate version";
  var MONEY = "{ amount currency }";
  var CUSTOMER_QUERY = "query EmbedCustomer($system: String!, $key: String!) {\n" +
    " customer(system: $system, key: $key) {\n  keys { system key }\n  account { name owner segment }\n" +
    "  erp { name currency }\n  financialOverview { asOf openBalance " + MONEY + " overdueAmount " + MONEY +
    " overdueCount revenueYearToDate " + MONEY + " revenueSamePeriodLastYear " + MONEY +
    " openOrdersValue " + MONEY + " creditLimit " + MONEY + " creditAvailable " + MONEY +
    " hoursThisMonth unbilledHours }\n" +
    "  invoices { system key number issueDate dueDate status isCreditNote totalUntaxed " + MONEY + " amountDue " + MONEY + " }\n" +
    "  orders(status: [DRAFT, QUOTED, CONFIRMED]) { system key number status orderDate total " + MONEY + " lines { " + LINE + " } }\n" +
    "  projects { keys { system key } erp { name status } timesheet { name } hours { total billable unbilled } }\n" +
    " }\n}";
  var PROJECT_QUERY = "query EmbedProject($system: String!, $key: String!) {\n" +
    " project(system: $system, key: $key) {\n  keys { system key }\n  erp { name status startDate }\n" +
    "  timesheet { name budgetHours }\n  customer { account { name } erp { name } }\n  budget " + MONEY +
    "\n  actualCost " + MONEY + "\n  actualRevenue " + MONEY + "\n" +
    "  invoices { system key number issueDate status totalUntaxed " + MONEY + " amountDue " + MONEY + " }\n" +
    "  hours { total billable unbilled byEmployee { employee hours billable } }\n }\n}";
  var EDIT = "mutation EmbedEditLine($input: UpdateOrderLineInput!, $idempotencyKey: String!) {\n" +
    " updateOrderLine(input: $input, idempotencyKey: $idempotencyKey) {\n  __typename\n" +
    "  ... on OrderLineSaved { line { " + LINE + " } order { key total " + MONEY + " } }\n" +
    "  ... on VersionConflict { code message current { " + LINE + " } }\n" +
    "  ... on OrderLineRejected { code message field }\n" +
    "  ... on OutcomeUnknown { code message idempotencyKey }\n }\n}";

  // ---- page frame ----------------------------------------------------------------------
  function errorPage(message) {
    root.textContent = "";
    root.className = "kl-error-page";
    root.appendChild(el("div", { "class": "kl-error", role: "alert" }, [
      el("h1", { text: t("errorTitle") }), el("p", { text: message })
    ]));
    done();
  }
  function done() {
    root.setAttribute("aria-busy", "false");
    var ms = Math.round(performance.now() - started);
    root.dataset.loadMs = String(ms);
    document.documentElement.dataset.ready = "true";
  }
  function section(id, title, children) {
    var heading = el("h2", { id: id + "-title", text: title });
    return el("section", { id: id, "class": "kl-section", "aria-labelledby": id + "-title" }, [heading].concat(children));
  }
  function failedSystems(body) {
    var out = {};
    (body.errors || []).forEach(function (e) {
      var ext = e.extensions || {};
      if (ext.system) out[ext.system] = ext.code || "SOURCE_UNAVAILABLE";
    });
    return out;
  }
  function badges(sources, keys) {
    var names = Object.keys(sources || {});
    (keys || []).forEach(function (k) { if (names.indexOf(k.system) < 0) names.push(k.system); });
    names.sort();
    var list = el("ul", { "class": "kl-badges", "aria-label": t("systems") });
    names.forEach(function (name) {
      var state = (sources[name] || {}).state;
      var label = state === "ok" ? "live" : state === "stale" ? "stale" : state === "error" ? "unavailable" : null;
      if (!label) return;  // linked but not read by this view
      var text = t(label === "live" ? "stateLive" : label === "stale" ? "stateStale" : "stateUnavailable");
      var item = el("li", { "class": "kl-badge kl-badge-" + label, "data-system": name, "data-state": label },
        [el("span", { "class": "kl-badge-name", text: name }), el("span", { text: " " + text })]);
      var notes = (sources[name] || {}).notes || [];
      if (notes.length) item.setAttribute("title", notes.join(" "));
      list.appendChild(item);
    });
    return list;
  }
  function unavailable(name) {
    return el("p", { "class": "kl-unavailable", "data-unavailable": name, text: t("sectionUnavailable", { system: name }) });
  }
  function forbiddenPaths(body) {
    return (body.errors || []).filter(function (e) { return (e.extensions || {}).code === "FORBIDDEN"; })
      .map(function (e) { return (e.path || []).join("."); });
  }

  // ---- key figures ---------------------------------------------------------------------
  var FIGURES = ["openBalance", "overdueAmount", "overdueCount", "revenueYearToDate", "revenueSamePeriodLastYear",
    "openOrdersValue", "creditLimit", "creditAvailable", "hoursThisMonth", "unbilledHours"];
  function figureValue(name, value) {
    var dd = el("dd", { "data-figure": name });
    if (value === null || value === undefined) { dd.textContent = t("noData"); dd.dataset.missing = "true"; return dd; }
    if (Array.isArray(value)) {
      if (!value.length) dd.textContent = t("noData");
      value.forEach(function (m, i) {
        var span = el("span", { "class": "kl-money", text: money(m) });
        span.dataset.amount = m.amount; span.dataset.currency = m.currency;
        if (i) dd.appendChild(document.createTextNode(" · "));
        dd.appendChild(span);
      });
    } else if (typeof value === "object") {
      dd.appendChild(el("span", { "class": "kl-money", "data-amount": value.amount, "data-currency": value.currency, text: money(value) }));
    } else {
      dd.textContent = number(value, 2); dd.dataset.value = String(value);
    }
    return dd;
  }
  function keyFigures(overview) {
    var list = el("dl", { "class": "kl-figures" });
    FIGURES.forEach(function (name) {
      list.appendChild(el("div", { "class": "kl-figure" }, [el("dt", { text: t(name) }), figureValue(name, overview[name])]));
    });
    return list;
  }

  // ---- aging of open invoices (FIGURES.md: open = issued, not fully paid) ------------------
  var BUCKETS = [["current", "agingCurrent"], ["1-30", "aging1to30"], ["31-60", "aging31to60"], ["61-90", "aging61to90"], ["90+", "agingOver90"]];
  function daysBetween(fromIso, toIso) {
    return Math.round((Date.parse(toIso + "T00:00:00Z") - Date.parse(fromIso + "T00:00:00Z")) / 86400000);
  }
  function bucketOf(invoice, asOf) {
    if (invoice.status !== "OVERDUE" || !invoice.dueDate) return "current";
    var days = daysBetween(invoice.dueDate, asOf);
    return days <= 0 ? "current" : days <= 30 ? "1-30" : days <= 60 ? "31-60" : days <= 90 ? "61-90" : "90+";
  }
  function aging(invoices, asOf) {
    var byCurrency = {};
    invoices.filter(function (i) { return i.status === "OPEN" || i.status === "OVERDUE"; }).forEach(function (i) {
      var c = i.amountDue.currency, b = bucketOf(i, asOf);
      byCurrency[c] = byCurrency[c] || {};
      byCurrency[c][b] = add(byCurrency[c][b] || ZERO, dec(i.amountDue.amount));
    });
    return byCurrency;
  }
  function barChart(id, caption, series, labels, seriesNames) {
    // series: array of arrays of decimals (one per series), labels: category labels
    var width = 560, height = 180, pad = 36, n = labels.length, groups = series.length;
    var max = 0;
    series.forEach(function (s) { s.forEach(function (d) { var x = Math.abs(Number(decString(d))); if (x > max) max = x; }); });
    max = max || 1;
    var bw = (width - pad) / n, inner = bw * 0.8 / groups;
    var base = height - 24;
    var chart = svg("svg", { viewBox: "0 0 " + width + " " + height, "class": "kl-chart", role: "img", "aria-labelledby": id + "-caption" });
    chart.appendChild(svg("line", { x1: pad, x2: width, y1: base, y2: base, "class": "kl-axis" }));
    labels.forEach(function (label, i) {
      series.forEach(function (s, g) {
        var value = Number(decString(s[i])), h = Math.abs(value) / max * (base - 10);
        var x = pad + i * bw + bw * 0.1 + g * inner;
        var rect = svg("rect", { x: x.toFixed(1), y: (value >= 0 ? base - h : base).toFixed(1), width: Math.max(inner - 2, 1).toFixed(1),
          height: h.toFixed(1), "class": "kl-bar kl-bar-" + g });
        rect.appendChild(svg("title", { text: (seriesNames ? seriesNames[g] + ", " : "") + label + ": " + s[i].label }));
        chart.appendChild(rect);
      });
      chart.appendChild(svg("text", { x: (pad + i * bw + bw / 2).toFixed(1), y: height - 8, "class": "kl-tick", "text-anchor": "middle", text: label }));
    });
    return el("figure", { "class": "kl-figure-chart" }, [chart, el("figcaption", { id: id + "-caption", text: caption })]);
  }
  function agingSection(invoices, asOf) {
    var data = aging(invoices, asOf), parts = [];
    var currencies = Object.keys(data).sort();
    if (!currencies.length) parts.push(el("p", { text: t("noData") }));
    currencies.forEach(function (c) {
      var values = BUCKETS.map(function (b) { var d = data[c][b[0]] || ZERO; d.label = money({ amount: decString(d), currency: c }); return d; });
      var id = "kl-aging-" + c;
      parts.push(barChart(id, t("agingCaption", { currency: c }), [values], BUCKETS.map(function (b) { return t(b[1]); })));
      var body = el("tbody");
      BUCKETS.forEach(function (b, i) {
        var m = { amount: decString(values[i]), currency: c };
        var row = el("tr", { "data-bucket": b[0] }, [el("th", { scope: "row", text: t(b[1]) }), moneyCell(m)]);
        body.appendChild(row);
      });
      parts.push(el("table", { "class": "kl-table kl-chart-table", "data-aging-currency": c }, [
        el("caption", { "class": "kl-sr-only", text: t("agingCaption", { currency: c }) }),
        el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: t("bucket") }), el("th", { scope: "col", text: t("amount") })])]),
        body]));
    });
    return section("kl-aging", t("aging"), parts);
  }

  // ---- revenue by month, this year vs last year (issued invoices, excl. tax) ----------------
  function revenueSection(invoices, asOf) {
    var year = +asOf.slice(0, 4), byCurrency = {};
    invoices.forEach(function (i) {
      if (["OPEN", "OVERDUE", "PAID"].indexOf(i.status) < 0 || i.issueDate > asOf) return;
      var y = +i.issueDate.slice(0, 4), m = +i.issueDate.slice(5, 7) - 1;
      if (y !== year && y !== year - 1) return;
      var c = i.totalUntaxed.currency;
      byCurrency[c] = byCurrency[c] || { 0: [], 1: [] };
      var slot = byCurrency[c][year - y];
      slot[m] = add(slot[m] || ZERO, dec(i.totalUntaxed.amount));
    });
    var parts = [], currencies = Object.keys(byCurrency).sort();
    if (!currencies.length) parts.push(el("p", { text: t("noData") }));
    var months = []; for (var i = 0; i < 12; i++) months.push(i);
    currencies.forEach(function (c) {
      var series = [1, 0].map(function (ago) {
        return months.map(function (m) {
          var d = byCurrency[c][ago][m] || ZERO; d = { v: d.v, s: d.s };
          d.label = money({ amount: decString(d), currency: c }); return d;
        });
      });
      var names = [t("lastYear") + " " + (year - 1), t("thisYear") + " " + year];
      var id = "kl-revenue-" + c;
      parts.push(barChart(id, t("revenueCaption", { currency: c }), series, months.map(monthName), names));
      var body = el("tbody");
      months.forEach(function (m) {
        var row = el("tr", { "data-month": String(m + 1) }, [el("th", { scope: "row", text: monthName(m) })]);
        [0, 1].forEach(function (s) {
          var cell = moneyCell({ amount: decString(series[s][m]), currency: c });
          cell.dataset.year = String(s === 0 ? year - 1 : year);
          row.appendChild(cell);
        });
        body.appendChild(row);
      });
      parts.push(el("table", { "class": "kl-table kl-chart-table", "data-revenue-currency": c }, [
        el("caption", { "class": "kl-sr-only", text: t("revenueCaption", { currency: c }) }),
        el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: t("month") }),
          el("th", { scope: "col", text: names[0] }), el("th", { scope: "col", text: names[1] })])]),
        body]));
    });
    return section("kl-revenue", t("revenueByMonth"), parts);
  }

  // ---- open orders and the line editor ------------------------------------------------------
  var DECIMAL = /^-?[0-9]+([.,][0-9]+)?$/;
  var FIELDS = [["quantity", "quantity", "text"], ["discountPercent", "discount", "text"], ["deliveryDate", "deliveryDate", "date"]];
  var unsupported = {};
  function describeLine(line) {
    return t("quantity") + " " + number(line.quantity) + ", " + t("discount") + " " + number(line.discountPercent, 2) +
      ", " + t("deliveryDate") + " " + date(line.deliveryDate) + ", " + t("lineAmount") + " " + money(line.amount);
  }
  function lineCells(row, line) {
    row.textContent = "";
    row.dataset.line = line.key; row.dataset.version = line.version;
    row.appendChild(el("th", { scope: "row", text: line.description || line.productKey || line.key }));
    var q = el("td", { "class": "kl-num", "data-field": "quantity", text: number(line.quantity) + (line.unit ? " " + line.unit.symbol : "") });
    q.dataset.value = line.quantity;
    row.appendChild(q);
    row.appendChild(moneyCell(line.unitPrice));
    var d = el("td", { "class": "kl-num", "data-field": "discountPercent", text: number(line.discountPercent, 2) });
    d.dataset.value = line.discountPercent;
    row.appendChild(d);
    var dd = el("td", { "data-field": "deliveryDate", text: date(line.deliveryDate) });
    dd.dataset.value = line.deliveryDate || "";
    row.appendChild(dd);
    row.appendChild(moneyCell(line.amount, "lineAmount"));
  }
  function same(a, b) { var s = Math.max(a.s, b.s); return scaled(a, s) === scaled(b, s); }
  function editor(order, line, row, totalCell, state) {
    function redraw() { if (row.redraw) row.redraw(); else lineCells(row, state.line); }
    var form = el("form", { "class": "kl-editor", "data-line": line.key, novalidate: "novalidate" });
    var inputs = {};
    FIELDS.forEach(function (f) {
      var id = "kl-edit-" + line.key + "-" + f[0];
      var input = el("input", { id: id, name: f[0], type: f[2], value: line[f[0]] || "", inputmode: f[2] === "text" ? "decimal" : null });
      if (unsupported[f[0]]) { input.disabled = true; input.setAttribute("aria-describedby", id + "-note"); }
      inputs[f[0]] = input;
      form.appendChild(el("div", { "class": "kl-field" }, [el("label", { "for": id, text: t(f[1]) }), input,
        unsupported[f[0]] ? el("span", { id: id + "-note", "class": "kl-note", text: t("notSupported") }) : null]));
    });
    var answer = el("p", { "class": "kl-answer", role: "status", "aria-live": "polite" });
    var save = el("button", { type: "submit", text: t("save") });
    var cancel = el("button", { type: "button", "class": "kl-secondary", text: t("cancel") });
    form.appendChild(el("div", { "class": "kl-actions" }, [save, cancel]));
    form.appendChild(answer);
    cancel.addEventListener("click", function () { state.close(); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = { order: { system: order.system, key: order.key }, line: state.line.key, expectedVersion: state.line.version };
      var changed = false, bad = null;
      FIELDS.forEach(function (f) {
        var el_ = inputs[f[0]]; if (el_.disabled) return;
        var value = el_.value.trim();
        el_.removeAttribute("aria-invalid");
        if (value === (state.line[f[0]] || "")) return;
        if (f[2] === "text") {
          if (!DECIMAL.test(value)) { bad = el_; return; }
          value = value.replace(",", ".");
          if (state.line[f[0]] !== null && same(dec(value), dec(state.line[f[0]]))) return;
        }
        if (value === "") return;
        input[f[0]] = value; changed = true;
      });
      if (bad) { bad.setAttribute("aria-invalid", "true"); answer.textContent = t("invalidNumber"); bad.focus(); return; }
      if (!changed) { answer.textContent = t("noChanges"); return; }
      var signature = JSON.stringify(input);
      if (state.pending !== signature) { state.pending = signature; state.idempotencyKey = crypto.randomUUID(); }
      save.disabled = true; answer.textContent = t("saving"); answer.dataset.outcome = "saving";
      graphql(EDIT, { input: input, idempotencyKey: state.idempotencyKey }).then(function (res) {
        save.disabled = false;
        var result = res.body.data && res.body.data.updateOrderLine;
        if (!result) {
          var err = (res.body.errors || [])[0] || {};
          answer.dataset.outcome = "error";
          answer.textContent = t("rejected", { code: (err.extensions || {}).code || res.status, message: err.message || "" });
          return;
        }
        answer.dataset.outcome = result.__typename;
        if (result.__typename === "OrderLineSaved") {
          state.pending = null; state.line = result.line;
          redraw();
          totalCell.textContent = money(result.order.total);
          totalCell.dataset.amount = result.order.total.amount;
          answer.textContent = t("saved", { total: money(result.order.total) });
          answer.dataset.total = result.order.total.amount;
          FIELDS.forEach(function (f) { inputs[f[0]].value = result.line[f[0]] || ""; });
        } else if (result.__typename === "VersionConflict") {
          state.pending = null;
          if (result.current) {
            state.line = result.current; redraw();
            FIELDS.forEach(function (f) { inputs[f[0]].value = result.current[f[0]] || ""; });
          }
          answer.textContent = t("conflict", { line: result.current ? describeLine(result.current) : "" });
        } else if (result.__typename === "OrderLineRejected") {
          state.pending = null;
          if (result.code === "NOT_SUPPORTED" && result.field && inputs[result.field]) {
            unsupported[result.field] = true; inputs[result.field].disabled = true;
          }
          answer.textContent = t("rejected", { code: result.code, message: result.message });
        } else {
          answer.textContent = t("unknownOutcome");  // the same key is sent again on Save
        }
      }, function () {
        save.disabled = false; answer.dataset.outcome = "error"; answer.textContent = t("errorNetwork");
      });
    });
    return form;
  }
  function ordersSection(orders) {
    if (!orders.length) return section("kl-orders", t("openOrders"), [el("p", { text: t("noOpenOrders") })]);
    var canEdit = role === "sales" || role === "admin";
    var parts = orders.map(function (order) {
      var total = moneyCell(order.total, "orderTotal");
      var head = el("table", { "class": "kl-table kl-order-head" }, [
        el("caption", { text: t("order") + " " + (order.number || order.key) }),
        el("thead", {}, [el("tr", {}, [t("status"), t("orderDate"), t("total")].map(function (x) { return el("th", { scope: "col", text: x }); }))]),
        el("tbody", {}, [el("tr", {}, [el("td", { text: t("status_" + order.status) }), el("td", { text: date(order.orderDate) }), total])])]);
      var body = el("tbody");
      var cols = [t("product"), t("quantity"), t("unitPrice"), t("discount"), t("deliveryDate"), t("lineAmount")];
      if (canEdit) cols.push("");
      (order.lines || []).forEach(function (line) {
        var row = el("tr", {});
        lineCells(row, line);
        body.appendChild(row);
        if (!canEdit) return;
        var state = { line: line, pending: null, idempotencyKey: null };
        var editRow = el("tr", { "class": "kl-edit-row", hidden: "hidden" });
        var cell = el("td", { colspan: String(cols.length) });
        editRow.appendChild(cell);
        var button = el("button", { type: "button", "aria-expanded": "false", "aria-label": t("editLine", { line: line.description || line.key, order: order.number || order.key }), text: t("edit") });
        state.close = function () { editRow.hidden = true; button.setAttribute("aria-expanded", "false"); button.focus(); };
        button.addEventListener("click", function () {
          if (!cell.firstChild) cell.appendChild(editor(order, line, row, total, state));
          editRow.hidden = !editRow.hidden;
          button.setAttribute("aria-expanded", String(!editRow.hidden));
          if (!editRow.hidden) cell.querySelector("input:not([disabled])").focus();
        });
        var actions = el("td", { "class": "kl-row-actions" }, [button]);
        var redraw = lineCells;
        row.appendChild(actions);
        // keep the edit button when the row is redrawn after an answer
        row.redraw = function () { redraw(row, state.line); row.appendChild(actions); };
        body.appendChild(editRow);
      });
      var lines = el("table", { "class": "kl-table kl-lines", "data-order": order.key }, [
        el("caption", { "class": "kl-sr-only", text: t("order") + " " + (order.number || order.key) }),
        el("thead", {}, [el("tr", {}, cols.map(function (x) { return el("th", { scope: "col", text: x }); }))]), body]);
      return el("div", { "class": "kl-order", "data-order": order.key }, [head, lines]);
    });
    return section("kl-orders", t("openOrders"), parts);
  }

  // ---- hours by project ---------------------------------------------------------------------
  function hoursSection(projects, timesheetDown) {
    var parts = [];
    if (timesheetDown) parts.push(unavailable(timesheetDown));
    if (!projects || !projects.length) { parts.push(el("p", { text: t("noProjects") })); return section("kl-hours", t("hoursByProject"), parts); }
    var body = el("tbody");
    projects.forEach(function (p) {
      var name = (p.erp && p.erp.name) || (p.timesheet && p.timesheet.name) || p.keys.map(function (k) { return k.key; }).join(" / ");
      var h = p.hours;
      body.appendChild(el("tr", { "data-project": p.keys.map(function (k) { return k.system + ":" + k.key; }).join(" ") }, [
        el("th", { scope: "row", text: name }),
        el("td", { "class": "kl-num", "data-hours": "total", text: h ? number(h.total, 2) : t("noData") }),
        el("td", { "class": "kl-num", "data-hours": "billable", text: h ? number(h.billable, 2) : t("noData") }),
        el("td", { "class": "kl-num", "data-hours": "unbilled", text: h ? number(h.unbilled, 2) : t("noData") })]));
    });
    parts.push(el("table", { "class": "kl-table" }, [
      el("caption", { "class": "kl-sr-only", text: t("hoursByProject") }),
      el("thead", {}, [el("tr", {}, [t("project"), t("hoursTotal"), t("hoursBillable"), t("hoursUnbilled")].map(function (x) { return el("th", { scope: "col", text: x }); }))]),
      body]));
    return section("kl-hours", t("hoursByProject"), parts);
  }

  // ---- the pages ------------------------------------------------------------------------------
  function header(title, subtitle, body, keys) {
    return el("header", { "class": "kl-header" }, [
      el("div", {}, [el("h1", { text: title }), subtitle ? el("p", { "class": "kl-sub", text: subtitle }) : null]),
      badges((body.extensions || {}).sources || {}, keys)]);
  }
  function systemFailed(sources, failed, kindName) {
    for (var name in sources) if (sources[name].state === "error" && name.indexOf(kindName) === 0) return name;
    for (var n in failed) if (n.indexOf(kindName) === 0) return n;
    return null;
  }
  function renderCustomer(body) {
    var c = body.data && body.data.customer;
    if (!c) return errorPage(t("errorNotFound"));
    var sources = (body.extensions || {}).sources || {}, failed = failedSystems(body);
    var forbidden = forbiddenPaths(body);
    var title = (c.account && c.account.name) || (c.erp && c.erp.name) || key;
    var subtitle = c.account ? [c.account.segment, c.account.owner].filter(Boolean).join(" · ") : "";
    var parts = [header(title, subtitle, body, c.keys)];
    var overview = c.financialOverview;
    if (forbidden.indexOf("customer.financialOverview") >= 0) {
      parts.push(section("kl-figures", t("keyFigures"), [el("p", { text: t("notPermitted") })]));
    } else if (overview) {
      var ts = systemFailed(sources, failed, "timesheet");
      var figures = [keyFigures(overview)];
      if (ts) figures.push(unavailable(ts));
      parts.push(section("kl-figures", t("keyFigures"), figures));
    } else {
      parts.push(section("kl-figures", t("keyFigures"), [unavailable(systemFailed(sources, failed, "erp") || "erp")]));
    }
    var asOf = overview ? overview.asOf : new Date().toISOString().slice(0, 10);
    if (c.invoices) {
      parts.push(agingSection(c.invoices, asOf));
      parts.push(revenueSection(c.invoices, asOf));
    }
    if (c.orders) parts.push(ordersSection(c.orders));
    parts.push(hoursSection(c.projects, systemFailed(sources, failed, "timesheet")));
    root.textContent = "";
    parts.forEach(function (p) { root.appendChild(p); });
    done();
  }
  function renderProject(body) {
    var p = body.data && body.data.project;
    if (!p) return errorPage(t("errorNotFound"));
    var sources = (body.extensions || {}).sources || {}, failed = failedSystems(body);
    var title = (p.erp && p.erp.name) || (p.timesheet && p.timesheet.name) || key;
    var cust = p.customer && ((p.customer.account && p.customer.account.name) || (p.customer.erp && p.customer.erp.name));
    var parts = [header(title, cust ? t("customer") + ": " + cust : "", body, p.keys)];
    var list = el("dl", { "class": "kl-figures" });
    [["budget", p.budget], ["actualCost", p.actualCost], ["actualRevenue", p.actualRevenue]].forEach(function (f) {
      list.appendChild(el("div", { "class": "kl-figure" }, [el("dt", { text: t(f[0]) }), figureValue(f[0], f[1])]));
    });
    parts.push(section("kl-figures", t("keyFigures"), [list]));
    var ts = systemFailed(sources, failed, "timesheet");
    var hours = [];
    if (ts) hours.push(unavailable(ts));
    if (p.hours) {
      var body_ = el("tbody");
      p.hours.byEmployee.forEach(function (e) {
        body_.appendChild(el("tr", {}, [el("th", { scope: "row", text: e.employee }),
          el("td", { "class": "kl-num", text: number(e.hours, 2) }), el("td", { "class": "kl-num", text: number(e.billable, 2) })]));
      });
      hours.push(el("p", { "data-hours": "total", text: t("hoursTotal") + ": " + number(p.hours.total, 2) + " · " +
        t("hoursBillable") + ": " + number(p.hours.billable, 2) + " · " + t("hoursUnbilled") + ": " + number(p.hours.unbilled, 2) }));
      hours.push(el("table", { "class": "kl-table" }, [el("caption", { "class": "kl-sr-only", text: t("hours") }),
        el("thead", {}, [el("tr", {}, [t("employee"), t("hours"), t("hoursBillable")].map(function (x) { return el("th", { scope: "col", text: x }); }))]), body_]));
    }
    parts.push(section("kl-hours", t("hours"), hours));
    if (p.invoices) {
      var ib = el("tbody");
      p.invoices.forEach(function (i) {
        ib.appendChild(el("tr", {}, [el("th", { scope: "row", text: i.number || i.key }), el("td", { text: date(i.issueDate) }),
          el("td", { text: t("status_" + i.status) }), moneyCell(i.totalUntaxed), moneyCell(i.amountDue)]));
      });
      parts.push(section("kl-invoices", t("invoices"), [el("table", { "class": "kl-table" }, [
        el("thead", {}, [el("tr", {}, [t("invoice"), t("issueDate"), t("status"), t("total"), t("amountDue")].map(function (x) { return el("th", { scope: "col", text: x }); }))]), ib])]));
    }
    root.textContent = "";
    parts.forEach(function (x) { root.appendChild(x); });
    done();
  }

  // ---- start ------------------------------------------------------------------------------------
  var strings = fetch("/static/embed/i18n/" + encodeURIComponent(lang) + ".json", { credentials: "omit" })
    .then(function (r) { return r.json(); }).then(function (s) { T = s; }, function () { T = {}; });
  if (!token) { strings.then(function () { errorPage(t("errorNoToken")); }); return; }
  var query = kind === "project" ? PROJECT_QUERY : CUSTOMER_QUERY;
  var answer = graphql(query, { system: system, key: key });
  Promise.all([strings, answer]).then(function (results) {
    var res = results[1];
    if (res.status === 401) return errorPage(t("errorUnauthorized"));
    if (res.status === 403) return errorPage(t("errorForbidden"));
    if (res.status !== 200) return errorPage(t("errorNetwork"));
    (kind === "project" ? renderProject : renderCustomer)(res.body);
  }, function () { strings.then(function () { errorPage(t("errorNetwork")); }); });
})();
