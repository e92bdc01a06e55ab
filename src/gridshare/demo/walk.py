"""`gridshare demo --walk`: one trade on the embedded chain, with every balance printed."""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridshare.domain import WEI_PER_COIN, Side, format_coins
from gridshare.runtime import Runtime


def walk(runtime: Runtime) -> int:
    """Offer → take → metered settlement; returns 0 when every balance adds up."""
    market, operator, w3 = runtime.market, runtime.operator, runtime.chain.w3
    symbol = runtime.settings.coin_symbol
    price = 8 * WEI_PER_COIN // 1000  # 0.008 coins per Wh = 8 per kWh

    def coins(wei: int) -> str:
        return f"{format_coins(wei, 3)} {symbol}"

    def show(label: str, who: dict[str, LocalAccount]) -> None:
        print(f"\n{label}")
        for name, account in who.items():
            b = market.balances(account.address)
            print(
                f"  {name:<9} available {coins(b.available):>14}   locked {coins(b.locked):>12}"
                f"   escrowed {coins(b.escrowed):>12}"
            )

    print(f"gridshare demo — embedded chain {w3.eth.chain_id}, market at {market.address}")
    seller: LocalAccount = Account.create()
    buyer: LocalAccount = Account.create()
    people = {"house-01": seller, "house-02": buyer}
    for house_id, account in enumerate((seller, buyer), start=1):
        market.register_household(operator, account.address, house_id, house_id)
        market.deposit_for(operator, account.address, 10 * WEI_PER_COIN)
    print("operator registered house-01 (seller) and house-02 (buyer), topped up 10 each")
    show("balances after top-up:", people)

    now = int(w3.eth.get_block("latest")["timestamp"])
    offer = market.place_order(seller, Side.SELL, 500, price, now + 900)
    print(f"\nhouse-01 offers {offer.amount_wh} Wh at {coins(price)} per Wh (order #{offer.id})")
    delivery = market.take(buyer, offer.id, 500)
    print(
        f"house-02 buys it: delivery #{delivery.id}, {coins(delivery.escrow)} held in escrow "
        f"until the meters report"
    )
    show("balances while the energy flows:", people)

    # No meters run in this walk (`gridshare demo` runs ten): the operator settles on a
    # reading chosen for the example, short of the amount traded to show the refund.
    metered = 460
    settlement = market.settle(operator, delivery.id, metered)
    print(
        f"\nthe operator settles on {settlement.delivered_wh} of {delivery.amount_wh} Wh, as if"
        f" the buyer's meter had measured that (no meters run in this walk): "
        f"{coins(settlement.paid)} to house-01, {coins(settlement.refunded)} back to house-02"
    )
    show("balances after settlement:", people)

    total = sum(market.balances(a.address).total for a in people.values())
    held = market.contract_balance()
    ok = held == total and settlement.paid + settlement.refunded == delivery.escrow
    print(f"\ncontract holds {coins(held)}; residents' balances add up to {coins(total)}")
    print("every coin accounted for" if ok else "MISMATCH: balances do not add up")
    return 0 if ok else 1
