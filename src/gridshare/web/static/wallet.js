// "Use MetaMask" mode: the page asks an injected EIP-1193 wallet to sign and send;
// the server never sees the key. Needs ethers (served from node_modules at /vendor/).
"use strict";
(function () {
  const bar = document.getElementById("wallet-bar");
  if (!bar) return;
  const status = document.getElementById("wallet-status");
  const toggle = document.getElementById("use-wallet");
  const say = (text) => { status.textContent = text; };
  const chainHex = "0x" + Number(bar.dataset.chainId).toString(16);
  const ABI = [
    "function place_order(bool is_buy, uint256 amount_wh, uint256 price_per_wh, uint256 expires_at) returns (uint256)",
    "function take(uint256 order_id, uint256 amount_wh) returns (uint256)",
    "function cancel_order(uint256 order_id)",
  ];
  if (toggle && !toggle.disabled) {
    toggle.checked = localStorage.getItem("gs-wallet") === "1";
    toggle.addEventListener("change", () => localStorage.setItem("gs-wallet", toggle.checked ? "1" : "0"));
  }
  const provider = () => {
    if (!window.ethereum) throw new Error("No wallet found: install MetaMask or open this page in its browser.");
    return window.ethereum;
  };

  document.getElementById("add-network").addEventListener("click", async () => {
    try {
      await provider().request({ method: "wallet_addEthereumChain", params: [{
        chainId: chainHex, chainName: "gridshare village grid",
        nativeCurrency: { name: document.body.dataset.symbol, symbol: document.body.dataset.symbol, decimals: 18 },
        rpcUrls: [location.origin + "/rpc"],
      }] });
      say("Network added.");
    } catch (e) { say(e.message || String(e)); }
  });

  const coinsToWei = (text) => {
    const [w, f = ""] = text.trim().split(".");
    return BigInt(w || "0") * 10n ** 18n + BigInt((f + "0".repeat(18)).slice(0, 18) || "0");
  };

  async function send(form) {
    const iface = new window.ethers.Interface(ABI);
    const eth = provider();
    const [from] = await eth.request({ method: "eth_requestAccounts" });
    if (from.toLowerCase() !== bar.dataset.address.toLowerCase()) throw new Error("The wallet's account is not this household's (" + bar.dataset.address + ").");
    const current = await eth.request({ method: "eth_chainId" });
    if (BigInt(current) !== BigInt(chainHex)) await eth.request({ method: "wallet_switchEthereumChain", params: [{ chainId: chainHex }] });
    const kind = form.dataset.wallet;
    const f = new FormData(form);
    let data;
    if (kind === "place") {
      const expires = Math.floor(Date.now() / 1000) + 60 * Number(f.get("minutes") || 60);
      data = iface.encodeFunctionData("place_order", [f.get("side") === "buy", BigInt(f.get("amount_wh")), coinsToWei(String(f.get("price"))), expires]);
    } else if (kind === "take") {
      data = iface.encodeFunctionData("take", [BigInt(form.dataset.order), BigInt(f.get("amount_wh"))]);
    } else {
      data = iface.encodeFunctionData("cancel_order", [BigInt(form.dataset.order)]);
    }
    say("Confirm in your wallet…");
    const hash = await eth.request({ method: "eth_sendTransaction", params: [{ from, to: bar.dataset.contract, data }] });
    say("Sent " + hash.slice(0, 10) + "…, waiting…");
    for (let i = 0; i < 60; i++) {
      const receipt = await eth.request({ method: "eth_getTransactionReceipt", params: [hash] });
      if (receipt) {
        if (receipt.status !== "0x1") throw new Error("The market refused the transaction.");
        location.reload(); return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error("No receipt yet; check again later.");
  }

  document.querySelectorAll("form[data-wallet]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!toggle || !toggle.checked) return;  // no wallet mode: the plain form post works
      event.preventDefault();
      send(form).catch((e) => say(e.message || String(e)));
    });
  });
})();
