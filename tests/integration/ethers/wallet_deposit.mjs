// A wallet on gridshare's /rpc with ethers v6: read the chain, call the market, decode the event.
//
//   node wallet_deposit.mjs RPC_URL PRIVATE_KEY MARKET_ADDRESS ABI_JSON_FILE AMOUNT_WEI
//
// Prints one JSON object with what it saw; exits non-zero on any failure.
import { readFileSync } from "node:fs";
import { ethers } from "ethers";

const [url, key, marketAddress, abiFile, amountText] = process.argv.slice(2);
const abi = JSON.parse(readFileSync(abiFile, "utf8"));
const amount = BigInt(amountText);

const provider = new ethers.JsonRpcProvider(url);
const network = await provider.getNetwork();
const wallet = new ethers.Wallet(key, provider);
const walletBalance = await provider.getBalance(wallet.address);
const marketBalance = await provider.getBalance(marketAddress);
const market = new ethers.Contract(marketAddress, abi, wallet);
const [availableBefore] = await market.balances_of(wallet.address);

// an EIP-1559 transaction signed here, sent with eth_sendRawTransaction
const tx = await market.deposit({ value: amount, type: 2 });
const receipt = await tx.wait();
const events = receipt.logs
  .map((log) => market.interface.parseLog(log))
  .filter((parsed) => parsed !== null)
  .map((parsed) => ({
    name: parsed.name,
    account: parsed.args.account,
    sender: parsed.args.sender,
    amount: parsed.args.amount.toString(),
  }));
const [availableAfter] = await market.balances_of(wallet.address);
const fees = await provider.getFeeData();

console.log(JSON.stringify({
  chainId: network.chainId.toString(),
  wallet: wallet.address,
  walletBalance: walletBalance.toString(),
  marketBalance: marketBalance.toString(),
  txType: tx.type,
  txHash: tx.hash,
  status: receipt.status,
  blockNumber: receipt.blockNumber,
  events,
  availableBefore: availableBefore.toString(),
  availableAfter: availableAfter.toString(),
  maxFeePerGas: (fees.maxFeePerGas ?? 0n).toString(),
}));
