// Live updates for /explorer: polls the summary JSON and redraws the recent tables.
// No innerHTML: every value is set as text, so nothing from the chain is parsed as markup.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) { return; }
  var url = root.getAttribute("data-summary");
  var note = document.getElementById("live-note");
  var lastKey = null;
  // the page's words for what this script says (the server finds every call of tr in the
  // scripts and sends their translations in #words); "{name}" is filled in from `values`
  var words = {};
  try { words = JSON.parse((document.getElementById("words") || {}).textContent || "{}"); } catch (e) { words = {}; }
  function tr(text, values) {
    return (words[text] || text).replace(/\{(\w+)\}/g, function (hole, name) {
      return values && name in values ? values[name] : hole;
    });
  }

  function el(tag, text, href, cls) {
    var node = document.createElement(href ? "a" : tag);
    if (href) { node.setAttribute("href", href); }
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function cell(child) {
    var td = document.createElement("td");
    if (typeof child === "string") { td.textContent = child; } else { td.appendChild(child); }
    return td;
  }
  function short(h) { return h.slice(0, 10) + "…" + h.slice(-6); }
  // the village's clock, as the server's rows ("2026-11-30 13:32 PKT"): the zone's offset and
  // name when the page was made
  var zoneOffset = Number(document.body.getAttribute("data-zone-offset") || 0);
  var zoneName = document.body.getAttribute("data-zone") || "UTC";
  function when(ts) { return new Date((ts + zoneOffset) * 1000).toISOString().slice(0, 16).replace("T", " ") + " " + zoneName; }
  function setText(id, value) { var n = document.getElementById(id); if (n) { n.textContent = value; } }

  function drawBlocks(blocks) {
    var body = document.getElementById("blocks");
    if (!body) { return; }
    body.replaceChildren();
    blocks.forEach(function (b) {
      var row = document.createElement("tr");
      row.appendChild(cell(el("a", b.number, "/explorer/block/" + b.number)));
      row.appendChild(cell(el("span", short(b.hash), null, "hash")));
      row.appendChild(cell(String(b.tx_count)));
      row.appendChild(cell(Number(b.gas_used).toLocaleString("en")));
      row.appendChild(cell(when(b.timestamp)));
      body.appendChild(row);
    });
  }
  function drawTxs(txs) {
    var body = document.querySelector("#txs tbody");
    if (!body) { return; }
    body.replaceChildren();
    txs.forEach(function (t) {
      var row = document.createElement("tr");
      row.appendChild(cell(el("a", short(t.hash), "/explorer/tx/" + t.hash, "hash")));
      row.appendChild(cell(el("a", t.block_number, "/explorer/block/" + t.block_number)));
      row.appendChild(cell(el("a", t.from_name, "/explorer/address/" + t.from)));
      var to = t.to || t.contract_address;
      row.appendChild(cell(to ? el("a", t.to ? t.to_name : tr("new contract"), "/explorer/address/" + to) : "—"));
      row.appendChild(cell(t.call ? t.call.function : (t.to ? tr("transfer") : tr("deploy"))));
      row.appendChild(cell(el("span", t.status === 1 ? tr("success") : tr("failed"), null, t.status === 1 ? "ok" : "bad")));
      body.appendChild(row);
    });
  }
  function tick() {
    fetch(url, { headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (s) {
        if (s.chain_id !== null) { setText("chain-id", s.chain_id); }
        setText("head-block", s.head_block === null ? "—" : s.head_block);
        setText("indexed-block", s.indexed_block === null ? "—" : s.indexed_block);
        if (s.gas_price !== null) { setText("gas-price", s.gas_price + " wei"); }
        var key = s.blocks.length ? s.blocks[0].hash : "";
        if (key !== lastKey) { drawBlocks(s.blocks); drawTxs(s.transactions); lastKey = key; }
        if (note) { note.textContent = tr("live · updated {time}", { time: new Date().toLocaleTimeString() }); }
      })
      .catch(function () { if (note) { note.textContent = tr("offline, retrying"); } })
      .then(function () { window.setTimeout(tick, 3000); });
  }
  window.setTimeout(tick, 1000);
}());
