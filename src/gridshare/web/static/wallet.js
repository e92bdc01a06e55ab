// "Use MetaMask" mode: the page asks an injected EIP-1193 wallet to sign and send;
// the server never sees the key. Needs ethers (served from node_modules at /vendor/), loaded
// only in a browser with a wallet: it is 0.5 MB a phone without one need not download.
"use strict";
(function () {
  const tr = window.gridshareTr;  // app.js, loaded before this script on the market page
  const bar = document.getElementById("wallet-bar");
  if (!bar) return;
  bar.hidden = false;  // hidden in the page: without this script its controls do nothing
  const status = document.getElementById("wallet-status");
  const toggle = document.getElementById("use-wallet");
  const note = document.getElementById("wallet-note");
  const holdsKey = bar.dataset.holdsKey === "yes";
  // The bar is at the top, off-screen on a phone while a form below is sent: a form's own
  // progress and failures are also shown right after it.
  const noteAfter = (form) => {
    let el = form.nextElementSibling;
    if (!el || !el.classList.contains("form-note")) {
      el = document.createElement("p");
      el.className = "flash form-note";
      el.setAttribute("role", "status");
      form.insertAdjacentElement("afterend", el);
    }
    return el;
  };
  const say = (text, form) => {
    status.textContent = text;
    if (!form) return;
    const el = noteAfter(form);
    el.textContent = text;
    if (el.scrollIntoView) el.scrollIntoView({ block: "nearest" });
  };
  const chainHex = "0x" + Number(bar.dataset.chainId).toString(16);
  const ABI = [
    "function place_order(bool is_buy, uint256 amount_wh, uint256 price_per_wh, uint256 expires_at) returns (uint256)",
    "function take(uint256 order_id, uint256 amount_wh) returns (uint256)",
    "function cancel_order(uint256 order_id)",
  ];
  let ethersLoading = null;
  const loadEthers = () => {
    if (window.ethers) return Promise.resolve();
    if (!ethersLoading) {
      ethersLoading = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = bar.dataset.ethers || "/vendor/ethers.umd.min.js";  // its fingerprinted URL
        script.onload = resolve;
        script.onerror = () => { ethersLoading = null; reject(new Error(tr("The wallet library did not load: reload the page."))); };
        document.head.appendChild(script);
      });
    }
    return ethersLoading;
  };
  if (window.ethereum) loadEthers().catch(() => {});  // ready before the first form is sent
  const remembered = () => localStorage.getItem("gs-wallet") === "1";
  if (toggle && !toggle.disabled) {
    toggle.checked = remembered();
    toggle.addEventListener("change", () => localStorage.setItem("gs-wallet", toggle.checked ? "1" : "0"));
  }
  // The bar says one thing for its state: no wallet (how orders are signed instead, and no
  // "Add this network" button, which could only fail), a wallet on another network (add
  // this one), or nothing once the wallet is on this network.
  const addNetwork = document.getElementById("add-network");
  const chainChecked = () => window.ethereum.request({ method: "eth_chainId" }).then((current) => {
    const elsewhere = BigInt(current) !== BigInt(chainHex);
    note.textContent = elsewhere ? tr("MetaMask is on another network: tap “Add this network to MetaMask”.") : "";
    note.hidden = !elsewhere;
  }).catch(() => {});
  if (window.ethereum) {
    chainChecked();
    if (window.ethereum.on) window.ethereum.on("chainChanged", chainChecked);
  }
  // No wallet in this browser (a phone's own browser): a ticked box remembered from elsewhere
  // would make the forms do nothing, so it is unticked and disabled, and the reason shown.
  // The remembered choice is kept for when a wallet appears (some announce themselves late).
  if (toggle && !window.ethereum) {
    addNetwork.hidden = true;
    if (holdsKey) {
      toggle.checked = false;
      toggle.disabled = true;
      note.textContent = tr("No wallet in this browser: your orders are signed here, without MetaMask.");
    } else {
      note.textContent = tr("This account signs in MetaMask, and this browser has no wallet: open this page in MetaMask's browser.");
    }
    note.hidden = false;
    window.addEventListener("ethereum#initialized", () => {
      loadEthers().catch(() => {});
      if (holdsKey) { toggle.disabled = false; toggle.checked = remembered(); }
      addNetwork.hidden = false;
      note.hidden = true;
      chainChecked();
    }, { once: true });
  }
  const provider = () => {
    if (!window.ethereum) throw new Error(tr("No wallet found: install MetaMask or open this page in its browser."));
    return window.ethereum;
  };

  addNetwork.addEventListener("click", async () => {
    try {
      await provider().request({ method: "wallet_addEthereumChain", params: [{
        chainId: chainHex, chainName: "gridshare village grid",
        nativeCurrency: { name: document.body.dataset.symbol, symbol: document.body.dataset.symbol, decimals: 18 },
        rpcUrls: [location.origin + "/rpc"],
      }] });
      say(tr("Network added."));
      chainChecked();
    } catch (e) { say(e.message || String(e)); }
  });

  // Urdu (۰-۹) and Arabic (٠-٩, ٫) digits as ASCII, as the server reads them (market_form.py)
  const ascii = (text) => text.replace(/[\u06F0-\u06F9]/g, (d) => String(d.charCodeAt(0) - 0x06F0))
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660)).replace(/\u066B/g, ".");
  const coinsToWei = (text) => {
    const [w, f = ""] = text.trim().split(".");
    return BigInt(w || "0") * 10n ** 18n + BigInt((f + "0".repeat(18)).slice(0, 18) || "0");
  };

  // Checked as the server checks them; the refusal is the field's rule (the input's title).
  // The fields are text (type=number drops Urdu digits), so their limit is data-max, not max.
  const whole = (form, name) => {
    const field = form.elements[name];
    const text = ascii(String(new FormData(form).get(name) || "").trim());
    const max = field.dataset.max ? BigInt(field.dataset.max) : null;
    if (!/^[0-9]+$/.test(text) || BigInt(text) < 1n || (max !== null && BigInt(text) > max)) throw new Error(field.title || name);
    return BigInt(text);
  };
  const price = (form) => {
    const text = ascii(String(new FormData(form).get("price") || "").trim());
    if (!/^([0-9]+\.?[0-9]{0,18}|\.[0-9]{1,18})$/.test(text) || coinsToWei(text) <= 0n) throw new Error(form.elements.price.title || "price");
    return coinsToWei(text);
  };

  async function send(form) {
    const eth = provider();
    await loadEthers();
    const iface = new window.ethers.Interface(ABI);
    const kind = form.dataset.wallet;
    const f = new FormData(form);
    let data;
    if (kind === "place") {
      const minutes = String(f.get("minutes") || "").trim() ? whole(form, "minutes") : 60n;
      const amount = whole(form, "amount_wh"), perWh = price(form);  // the rules first
      // from the chain's time, as the server counts it: the phone's clock may be off (a phone
      // with no network to set it), and a demo's chain runs ahead of any wall clock. No
      // answer at all is the browser's English ("Failed to fetch"): said in the page's words
      const noAnswer = tr("The server did not answer; try again.");
      const market = await fetch("/api/v1/market", { credentials: "same-origin" }).catch(() => null);
      if (!market || !market.ok) throw new Error(noAnswer);
      const expires = BigInt((await market.json()).now) + 60n * minutes;
      data = iface.encodeFunctionData("place_order", [f.get("side") === "buy", amount, perWh, expires]);
    } else if (kind === "take") {
      data = iface.encodeFunctionData("take", [BigInt(form.dataset.order), whole(form, "amount_wh")]);
    } else {
      data = iface.encodeFunctionData("cancel_order", [BigInt(form.dataset.order)]);
    }
    const [from] = await eth.request({ method: "eth_requestAccounts" });
    if (from.toLowerCase() !== bar.dataset.address.toLowerCase()) throw new Error(tr("The wallet's account is not this household's ({address}).", { address: bar.dataset.address }));
    const current = await eth.request({ method: "eth_chainId" });
    if (BigInt(current) !== BigInt(chainHex)) await eth.request({ method: "wallet_switchEthereumChain", params: [{ chainId: chainHex }] });
    say(tr("Confirm in your wallet…"), form);
    const hash = await eth.request({ method: "eth_sendTransaction", params: [{ from, to: bar.dataset.contract, data }] });
    say(tr("Sent {hash}…, waiting…", { hash: hash.slice(0, 10) }), form);
    for (let i = 0; i < 60; i++) {
      const receipt = await eth.request({ method: "eth_getTransactionReceipt", params: [hash] });
      if (receipt) {
        if (receipt.status !== "0x1") throw new Error(tr("The market refused the transaction."));
        location.reload(); return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(tr("No receipt yet; check again later."));
  }

  document.querySelectorAll("form[data-wallet]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!toggle || !toggle.checked) return;  // no wallet mode: the plain form post works
      event.preventDefault();
      send(form).catch((e) => say(e.message || String(e), form));
    });
  });
})();
