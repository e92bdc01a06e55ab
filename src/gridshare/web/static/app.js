// Live updates without inline script: price chart, meter readings, delivery progress.
// Meter and deliveries arrive as Server-Sent Events (/api/v1/me/events); a browser without
// EventSource polls the JSON API instead.
"use strict";
// As render.py's `measure`: a meter value (an integer: mV, mA, ‰) divided by `scale`, with
// always `places` decimals, half away from zero ("12.30" V, as the page came, not "12.3").
window.gridshareMeasure = (value, scale, places) => {
  if (scale === 1) return String(value);
  const unit = 10 ** places, units = Math.floor((2 * Math.abs(value) * unit + scale) / (2 * scale));
  const frac = places ? "." + String(units % unit).padStart(places, "0") : "";
  return (value < 0 && units ? "-" : "") + String(Math.floor(units / unit)) + frac;
};
// The page's words for what the scripts say (the server finds every call of tr in them and
// sends their translations in #words); "{name}" in a text is filled in from `values`.
window.gridshareTr = (function () {
  let words = {};
  try { words = JSON.parse((document.getElementById("words") || {}).textContent || "{}"); } catch (e) { words = {}; }
  return (text, values) => (words[text] || text).replace(/\{(\w+)\}/g, (hole, name) => (values && name in values ? values[name] : hole));
})();
(function () {
  const tr = window.gridshareTr;
  const $ = (s, el) => (el || document).querySelector(s);
  const getJSON = (url) => fetch(url, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : Promise.reject(r.status)));
  const width = (el) => Math.max(280, el.clientWidth - 8);
  // as render.py's `clock` and `measure` filters: "14:05:09 PKT" in the village's time zone
  // (its offset and name when the page was made), and "—" for a missing value
  const zoneOffset = Number(document.body.dataset.zoneOffset || 0);
  const zoneName = document.body.dataset.zone || "UTC";
  const clock = (epoch) => new Date((epoch + zoneOffset) * 1000).toISOString().slice(11, 19) + " " + zoneName;
  // A chart's time axis on the same clock, 24-hour ("14:05", or "14:05:09" when its ticks are
  // seconds apart), not uPlot's default ("2:05pm", "12/2/26": the phone's zone, US dates,
  // English). Its legend is only the series' names: the values follow a mouse, not a finger.
  const timeAxis = (u, ticks) => ticks.map((t, i, all) => new Date((t + zoneOffset) * 1000)
    .toISOString().slice(11, all.length > 1 && all[1] - all[0] < 60 ? 19 : 16));
  // and its ticks placed on the village's round minutes and hours, not the phone's: uPlot
  // reads a Date's local fields, so it gets one whose local fields are the village's
  const villageDate = (ts) => window.uPlot.tzDate(new Date((ts + zoneOffset) * 1000), "Etc/UTC");
  const TICKS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];  // s: no half seconds
  const charts = [];
  const chart = (el, series, data) => {
    const plot = new window.uPlot({ width: width(el), height: 200, legend: { live: false },
      tzDate: villageDate, axes: [{ values: timeAxis, incrs: TICKS }, {}], series }, data, el);
    charts.push([plot, el]);
    return plot;
  };
  // turning the phone: the charts take the new width instead of sticking out of their card
  window.addEventListener("resize", () => charts.forEach(([plot, el]) => plot.setSize({ width: width(el), height: 200 })));
  const MISSING = "—";
  const measure = window.gridshareMeasure;
  // as render.py's `coins`: wei as coins, exact, with at least two decimals
  const coins = (wei) => {
    const w = BigInt(wei), unit = 10n ** 18n;
    const frac = (w % unit).toString().padStart(18, "0").replace(/0+$/, "").padEnd(2, "0");
    return (w / unit).toString() + "." + frac;
  };

  // Back to a page whose order form was sent: show the form as the page came, not the values
  // the browser kept. Sent again they were a second order ("Done."), since the page comes with
  // a new request key (it is not cached), so the server cannot tell it from a new one.
  window.addEventListener("pageshow", (e) => {
    const nav = (performance.getEntriesByType("navigation")[0] || {}).type;
    if (e.persisted || nav === "back_forward") document.querySelectorAll("form[data-wallet]").forEach((f) => f.reset());
  });

  const priceChart = $("#price-chart");
  if (priceChart && window.uPlot) {
    getJSON("/api/v1/trades").then((trades) => {
      const xs = trades.map((t) => t.time);
      const ys = trades.map((t) => Number(BigInt(t.price_per_wh) * 10000n / 10n ** 18n) / 10000);
      priceChart.closest(".card").hidden = false;  // hidden in the page: empty without us
      chart(priceChart, [{ label: tr("Time") }, { label: priceChart.dataset.symbol + "/Wh", stroke: "#1f5f3a" }], [xs, ys]);
    }).catch(() => {});
  }

  const meter = $("#meter");
  const showMeter = meter && $(".readings", meter) ? (function () {
    const chartEl = $("#meter-chart");
    const data = [[], [], []];
    let plot = null;
    return (r) => {
      if (!r || !r.reachable) return;
      meter.querySelectorAll("[data-field]").forEach((el) => {
        const v = r[el.dataset.field];
        if (el.dataset.field === "relay_closed") { if (typeof v === "boolean") el.textContent = v ? el.dataset.closed : el.dataset.open; return; }
        if (v === null || v === undefined) el.textContent = MISSING;
        else if (el.dataset.epoch !== undefined) { el.dataset.epoch = String(v); el.textContent = clock(v); }
        else el.textContent = measure(v, Number(el.dataset.scale || 1), Number(el.dataset.places || 1));
      });
      // a point at the meter's last contact (the server's clock), not at the phone's clock,
      // which a phone with no network may have wrong; a reading seen again replaces its point,
      // and the server's clock set back starts the chart again (uPlot wants times in order)
      const at = r.last_contact, last = data[0][data[0].length - 1];
      if (typeof at !== "number") return;
      if (last === at) data.forEach((a) => a.pop());
      else if (last > at) data.forEach((a) => a.splice(0));
      data[0].push(at); data[1].push(r.pv_w); data[2].push(r.load_w);
      if (data[0].length > 300) data.forEach((a) => a.shift());
      if (window.uPlot && chartEl) {
        if (!plot) plot = chart(chartEl, [{ label: tr("Time") }, { label: tr("PV W"), stroke: "#e0a100" }, { label: tr("Load W"), stroke: "#1f5f3a" }], data);
        else plot.setData(data);
      }
    };
  })() : null;

  const rows = document.querySelectorAll("tr.delivery[data-status=pending]");
  // the account's balances move when a delivery is settled or expires: read them again then
  const balances = $("#bal-escrowed") ? () => getJSON("/api/v1/me").then((me) => {
    for (const name of ["available", "locked", "escrowed"]) {
      $("#bal-" + name).textContent = coins(me.balances[name]) + " " + me.coin_symbol;
    }
  }).catch(() => {}) : null;
  const showDeliveries = rows.length ? (list) => {
    const byId = new Map(list.map((d) => [String(d.id), d]));
    let closed = false;
    rows.forEach((row) => {
      const d = byId.get(row.dataset.delivery);
      if (!d) return;
      closed = closed || (row.dataset.status === "pending" && d.status !== "pending");
      row.dataset.status = d.status;
      // the page's own words for it (translated; "Purchased"/"Sold" once settled, unless
      // nothing arrived: then the buyer got the escrow back and the seller nothing)
      const label = d.status === "settled" && d.delivered_wh === 0 ? "none" : d.status;
      $(".status", row).textContent = row.getAttribute("data-label-" + label) || d.status;
      // why it ended short or expired (the API's English; the page carries its translation)
      const why = $(".reason", row);
      if (why) why.textContent = d.reason ? tr(d.reason.text) : "";
      // what was paid, once settled: the Wh that arrived at the price (as the contract pays)
      const paid = $(".paid", row), wei = BigInt(d.delivered_wh) * BigInt(d.price_per_wh);
      if (paid) paid.textContent = d.status === "settled" && wei > 0n ? paid.dataset.words.replace("{amount}", coins(wei) + " " + document.body.dataset.symbol) : "";
      $("progress", row).value = d.delivered_wh;
      $(".wh", row).textContent = d.delivered_wh;
    });
    if (closed && balances) balances();
  } : null;

  if (!showMeter && !showDeliveries) return;
  if (window.EventSource) {
    // only what this page shows: the meter page has no use for the deliveries, nor the other way
    const only = showMeter && showDeliveries ? "" : showMeter ? "?only=meter" : "?only=deliveries";
    const events = new EventSource("/api/v1/me/events" + only);
    events.addEventListener("update", (e) => {
      const data = JSON.parse(e.data);
      if (showMeter && "meter" in data) showMeter(data.meter);
      if (showDeliveries && data.deliveries) showDeliveries(data.deliveries);
    });
  } else {
    const poll = () => {
      if (showMeter) getJSON("/api/v1/me/meter").then(showMeter).catch(() => {});
      if (showDeliveries) getJSON("/api/v1/me/deliveries").then(showDeliveries).catch(() => {});
    };
    poll(); setInterval(poll, 2000);
  }
})();
