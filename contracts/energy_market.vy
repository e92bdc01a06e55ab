# pragma version 0.4.3
# pragma evm-version shanghai
"""
@title EnergyMarket
@notice Escrow market for peer-to-peer energy in one microgrid.
        Residents keep internal balances (available, locked in buy orders,
        escrowed in deliveries). A trade creates a Delivery whose cost sits in
        escrow until the operator, acting as the metering oracle, settles it on
        the energy actually delivered; a delivery nobody settles by its
        deadline plus grace can be expired by anyone, refunding the buyer.
        Amounts are integers: energy in Wh, prices in wei per Wh.
@dev    Pull payments only. No function loops over unbounded storage.
"""

# ---------------------------------------------------------------- constants

MAX_AMOUNT_WH: public(constant(uint256)) = 10**9          # 1 GWh per order
MAX_PRICE_PER_WH: public(constant(uint256)) = 10**24      # wei per Wh
MAX_BATCH: public(constant(uint256)) = 50

ORDER_OPEN: constant(uint8) = 1
ORDER_FILLED: constant(uint8) = 2
ORDER_CANCELLED: constant(uint8) = 3

DELIVERY_PENDING: constant(uint8) = 1
DELIVERY_SETTLED: constant(uint8) = 2
DELIVERY_EXPIRED: constant(uint8) = 3

# ---------------------------------------------------------------- types

struct Household:
    house_id: uint32
    meter_id: uint32
    active: bool
    registered: bool

struct Order:
    owner: address
    is_buy: bool
    status: uint8
    amount_wh: uint256
    remaining_wh: uint256
    price_per_wh: uint256
    expires_at: uint256

struct Delivery:
    buyer: address
    seller: address
    status: uint8
    amount_wh: uint256
    price_per_wh: uint256
    deadline: uint256
    delivered_wh: uint256

struct Match:
    buy_id: uint256
    sell_id: uint256
    amount_wh: uint256
    price_per_wh: uint256

struct Settlement:
    delivery_id: uint256
    delivered_wh: uint256

# ---------------------------------------------------------------- events

event OperatorTransferStarted:
    operator: indexed(address)
    pending: indexed(address)

event OperatorTransferred:
    previous: indexed(address)
    operator: indexed(address)

event TimingChanged:
    delivery_window: uint256
    settle_grace: uint256

event HouseholdRegistered:
    account: indexed(address)
    house_id: indexed(uint32)
    meter_id: uint32

event HouseholdDeactivated:
    account: indexed(address)
    house_id: indexed(uint32)

event Deposited:
    account: indexed(address)
    sender: indexed(address)
    amount: uint256

event Withdrawn:
    account: indexed(address)
    amount: uint256

event OrderPlaced:
    order_id: indexed(uint256)
    owner: indexed(address)
    is_buy: bool
    amount_wh: uint256
    price_per_wh: uint256
    expires_at: uint256

event OrderCancelled:
    order_id: indexed(uint256)
    owner: indexed(address)
    remaining_wh: uint256
    unlocked: uint256

event OrderFilled:
    order_id: indexed(uint256)
    delivery_id: indexed(uint256)
    amount_wh: uint256
    remaining_wh: uint256

event DeliveryCreated:
    delivery_id: indexed(uint256)
    buyer: indexed(address)
    seller: indexed(address)
    amount_wh: uint256
    price_per_wh: uint256
    deadline: uint256
    buy_order_id: uint256
    sell_order_id: uint256

event DeliverySettled:
    delivery_id: indexed(uint256)
    buyer: indexed(address)
    seller: indexed(address)
    delivered_wh: uint256
    paid: uint256
    refunded: uint256

event DeliveryExpired:
    delivery_id: indexed(uint256)
    buyer: indexed(address)
    seller: indexed(address)
    refunded: uint256

# ---------------------------------------------------------------- storage

operator: public(address)
pending_operator: public(address)
delivery_window: public(uint256)
settle_grace: public(uint256)

households: public(HashMap[address, Household])
house_account: public(HashMap[uint32, address])

available: public(HashMap[address, uint256])
locked: public(HashMap[address, uint256])
escrowed: public(HashMap[address, uint256])

orders: public(HashMap[uint256, Order])
order_count: public(uint256)
deliveries: public(HashMap[uint256, Delivery])
delivery_count: public(uint256)


@deploy
def __init__(delivery_window: uint256, settle_grace: uint256):
    assert delivery_window > 0 and settle_grace > 0, "bad timing"
    self.operator = msg.sender
    self.delivery_window = delivery_window
    self.settle_grace = settle_grace
    log OperatorTransferred(previous=empty(address), operator=msg.sender)
    log TimingChanged(delivery_window=delivery_window, settle_grace=settle_grace)


# ---------------------------------------------------------------- internal checks

@internal
@view
def _only_operator():
    assert msg.sender == self.operator, "not operator"


@internal
@view
def _only_active(account: address):
    household: Household = self.households[account]
    assert household.registered, "not household"
    assert household.active, "inactive"


@internal
@view
def _open_order(order_id: uint256) -> Order:
    order: Order = self.orders[order_id]
    assert order.status != 0, "no order"
    assert order.status == ORDER_OPEN, "order closed"
    assert block.timestamp < order.expires_at, "order expired"
    return order


# ---------------------------------------------------------------- operator

@external
def transfer_operator(new_operator: address):
    """@notice Start handing the operator role to `new_operator` (two-step)."""
    self._only_operator()
    assert new_operator != empty(address), "zero address"
    self.pending_operator = new_operator
    log OperatorTransferStarted(operator=msg.sender, pending=new_operator)


@external
def accept_operator():
    """@notice The pending operator takes the role."""
    assert msg.sender == self.pending_operator, "not pending operator"
    previous: address = self.operator
    self.operator = msg.sender
    self.pending_operator = empty(address)
    log OperatorTransferred(previous=previous, operator=msg.sender)


@external
def set_timing(delivery_window: uint256, settle_grace: uint256):
    """@notice Delivery window and settlement grace for deliveries created from now on."""
    self._only_operator()
    assert delivery_window > 0 and settle_grace > 0, "bad timing"
    self.delivery_window = delivery_window
    self.settle_grace = settle_grace
    log TimingChanged(delivery_window=delivery_window, settle_grace=settle_grace)


@external
def register_household(account: address, house_id: uint32, meter_id: uint32):
    """@notice Register (or re-activate) `account` as house `house_id` with meter `meter_id`."""
    self._only_operator()
    assert account != empty(address), "zero address"
    assert account != self.operator, "operator account"
    assert house_id != 0, "bad house id"
    holder: address = self.house_account[house_id]
    assert holder == empty(address) or holder == account, "house taken"
    previous: Household = self.households[account]
    if previous.registered and previous.house_id != house_id:
        self.house_account[previous.house_id] = empty(address)
    self.households[account] = Household(
        house_id=house_id, meter_id=meter_id, active=True, registered=True
    )
    self.house_account[house_id] = account
    log HouseholdRegistered(account=account, house_id=house_id, meter_id=meter_id)


@external
def deactivate_household(account: address):
    """@notice Stop `account` from trading; its balances stay withdrawable."""
    self._only_operator()
    household: Household = self.households[account]
    assert household.registered, "not household"
    assert household.active, "inactive"
    self.households[account].active = False
    log HouseholdDeactivated(account=account, house_id=household.house_id)


# ---------------------------------------------------------------- balances

@external
@payable
def deposit():
    """@notice Add the sent coins to the caller's available balance."""
    assert self.households[msg.sender].registered, "not household"
    assert msg.value > 0, "bad amount"
    self.available[msg.sender] += msg.value
    log Deposited(account=msg.sender, sender=msg.sender, amount=msg.value)


@external
@payable
def deposit_for(account: address):
    """@notice Operator top-up: add the sent coins to `account`'s available balance."""
    self._only_operator()
    assert self.households[account].registered, "not household"
    assert msg.value > 0, "bad amount"
    self.available[account] += msg.value
    log Deposited(account=account, sender=msg.sender, amount=msg.value)


@external
@nonreentrant
def withdraw(amount: uint256):
    """@notice Send `amount` of the caller's available balance to the caller."""
    assert amount > 0, "bad amount"
    assert self.available[msg.sender] >= amount, "insufficient balance"
    self.available[msg.sender] -= amount
    log Withdrawn(account=msg.sender, amount=amount)
    raw_call(msg.sender, b"", value=amount)


@external
@view
def balances_of(account: address) -> (uint256, uint256, uint256):
    """@notice (available, locked, escrowed) of `account`."""
    return self.available[account], self.locked[account], self.escrowed[account]


# ---------------------------------------------------------------- orders

@external
def place_order(is_buy: bool, amount_wh: uint256, price_per_wh: uint256, expires_at: uint256) -> uint256:
    """@notice Post an offer (sell) or a demand (buy); a buy locks amount x price."""
    self._only_active(msg.sender)
    assert amount_wh > 0 and amount_wh <= MAX_AMOUNT_WH, "bad amount"
    assert price_per_wh > 0 and price_per_wh <= MAX_PRICE_PER_WH, "bad price"
    assert expires_at > block.timestamp, "bad expiry"
    if is_buy:
        cost: uint256 = amount_wh * price_per_wh
        assert self.available[msg.sender] >= cost, "insufficient balance"
        self.available[msg.sender] -= cost
        self.locked[msg.sender] += cost
    order_id: uint256 = self.order_count + 1
    self.order_count = order_id
    self.orders[order_id] = Order(
        owner=msg.sender,
        is_buy=is_buy,
        status=ORDER_OPEN,
        amount_wh=amount_wh,
        remaining_wh=amount_wh,
        price_per_wh=price_per_wh,
        expires_at=expires_at,
    )
    log OrderPlaced(
        order_id=order_id,
        owner=msg.sender,
        is_buy=is_buy,
        amount_wh=amount_wh,
        price_per_wh=price_per_wh,
        expires_at=expires_at,
    )
    return order_id


@external
def cancel_order(order_id: uint256):
    """@notice Cancel an open order: its owner any time, anyone once it has expired."""
    order: Order = self.orders[order_id]
    assert order.status != 0, "no order"
    assert order.status == ORDER_OPEN, "order closed"
    assert msg.sender == order.owner or block.timestamp >= order.expires_at, "not owner"
    unlocked: uint256 = 0
    if order.is_buy:
        unlocked = order.remaining_wh * order.price_per_wh
        self.locked[order.owner] -= unlocked
        self.available[order.owner] += unlocked
    self.orders[order_id].status = ORDER_CANCELLED
    self.orders[order_id].remaining_wh = 0
    log OrderCancelled(
        order_id=order_id, owner=order.owner, remaining_wh=order.remaining_wh, unlocked=unlocked
    )


@internal
def _fill(order_id: uint256, order: Order, amount_wh: uint256, delivery_id: uint256):
    remaining: uint256 = order.remaining_wh - amount_wh
    self.orders[order_id].remaining_wh = remaining
    if remaining == 0:
        self.orders[order_id].status = ORDER_FILLED
    log OrderFilled(
        order_id=order_id, delivery_id=delivery_id, amount_wh=amount_wh, remaining_wh=remaining
    )


@internal
def _create_delivery(
    buyer: address,
    seller: address,
    amount_wh: uint256,
    price_per_wh: uint256,
    buy_order_id: uint256,
    sell_order_id: uint256,
) -> uint256:
    delivery_id: uint256 = self.delivery_count + 1
    self.delivery_count = delivery_id
    deadline: uint256 = block.timestamp + self.delivery_window
    self.deliveries[delivery_id] = Delivery(
        buyer=buyer,
        seller=seller,
        status=DELIVERY_PENDING,
        amount_wh=amount_wh,
        price_per_wh=price_per_wh,
        deadline=deadline,
        delivered_wh=0,
    )
    log DeliveryCreated(
        delivery_id=delivery_id,
        buyer=buyer,
        seller=seller,
        amount_wh=amount_wh,
        price_per_wh=price_per_wh,
        deadline=deadline,
        buy_order_id=buy_order_id,
        sell_order_id=sell_order_id,
    )
    return delivery_id


@external
def take(order_id: uint256, amount_wh: uint256) -> uint256:
    """@notice Take part or all of another household's order at its price; returns the delivery id."""
    self._only_active(msg.sender)
    order: Order = self._open_order(order_id)
    assert order.owner != msg.sender, "own order"
    assert self.households[order.owner].active, "maker inactive"
    assert amount_wh > 0 and amount_wh <= order.remaining_wh, "bad amount"
    cost: uint256 = amount_wh * order.price_per_wh
    buyer: address = msg.sender
    seller: address = order.owner
    if order.is_buy:
        buyer = order.owner
        seller = msg.sender
        self.locked[buyer] -= cost
    else:
        assert self.available[buyer] >= cost, "insufficient balance"
        self.available[buyer] -= cost
    self.escrowed[buyer] += cost
    buy_id: uint256 = 0
    sell_id: uint256 = 0
    if order.is_buy:
        buy_id = order_id
    else:
        sell_id = order_id
    delivery_id: uint256 = self._create_delivery(
        buyer, seller, amount_wh, order.price_per_wh, buy_id, sell_id
    )
    self._fill(order_id, order, amount_wh, delivery_id)
    return delivery_id


@internal
def _match(m: Match) -> uint256:
    buy: Order = self._open_order(m.buy_id)
    sell: Order = self._open_order(m.sell_id)
    assert buy.is_buy and not sell.is_buy, "wrong sides"
    assert buy.owner != sell.owner, "own order"
    assert self.households[buy.owner].active and self.households[sell.owner].active, "inactive"
    assert m.amount_wh > 0, "bad amount"
    assert m.amount_wh <= buy.remaining_wh and m.amount_wh <= sell.remaining_wh, "bad amount"
    assert sell.price_per_wh <= m.price_per_wh and m.price_per_wh <= buy.price_per_wh, "limit price"
    lock_released: uint256 = m.amount_wh * buy.price_per_wh
    cost: uint256 = m.amount_wh * m.price_per_wh
    self.locked[buy.owner] -= lock_released
    self.escrowed[buy.owner] += cost
    self.available[buy.owner] += lock_released - cost
    delivery_id: uint256 = self._create_delivery(
        buy.owner, sell.owner, m.amount_wh, m.price_per_wh, m.buy_id, m.sell_id
    )
    self._fill(m.buy_id, buy, m.amount_wh, delivery_id)
    self._fill(m.sell_id, sell, m.amount_wh, delivery_id)
    return delivery_id


@external
def match(buy_id: uint256, sell_id: uint256, amount_wh: uint256, price_per_wh: uint256) -> uint256:
    """@notice Operator pairs a buy and a sell order at a price between their limits."""
    self._only_operator()
    return self._match(
        Match(buy_id=buy_id, sell_id=sell_id, amount_wh=amount_wh, price_per_wh=price_per_wh)
    )


@external
def match_batch(matches: DynArray[Match, MAX_BATCH]) -> DynArray[uint256, MAX_BATCH]:
    """@notice Several matches in one transaction; all succeed or none does."""
    self._only_operator()
    assert len(matches) > 0, "empty batch"
    ids: DynArray[uint256, MAX_BATCH] = []
    for m: Match in matches:
        ids.append(self._match(m))
    return ids


# ---------------------------------------------------------------- deliveries

@internal
def _settle(delivery_id: uint256, delivered_wh: uint256):
    delivery: Delivery = self.deliveries[delivery_id]
    assert delivery.status != 0, "no delivery"
    assert delivery.status == DELIVERY_PENDING, "delivery closed"
    assert delivered_wh <= delivery.amount_wh, "delivered > amount"
    escrow: uint256 = delivery.amount_wh * delivery.price_per_wh
    paid: uint256 = delivered_wh * delivery.price_per_wh
    refunded: uint256 = escrow - paid
    self.escrowed[delivery.buyer] -= escrow
    self.available[delivery.seller] += paid
    self.available[delivery.buyer] += refunded
    self.deliveries[delivery_id].status = DELIVERY_SETTLED
    self.deliveries[delivery_id].delivered_wh = delivered_wh
    log DeliverySettled(
        delivery_id=delivery_id,
        buyer=delivery.buyer,
        seller=delivery.seller,
        delivered_wh=delivered_wh,
        paid=paid,
        refunded=refunded,
    )


@external
def settle(delivery_id: uint256, delivered_wh: uint256):
    """@notice Operator (the metering oracle) settles a delivery on the metered Wh."""
    self._only_operator()
    self._settle(delivery_id, delivered_wh)


@external
def settle_batch(settlements: DynArray[Settlement, MAX_BATCH]):
    """@notice Settle several deliveries in one transaction; all succeed or none does."""
    self._only_operator()
    assert len(settlements) > 0, "empty batch"
    for s: Settlement in settlements:
        self._settle(s.delivery_id, s.delivered_wh)


@external
def expire(delivery_id: uint256):
    """@notice Anyone may expire a delivery unsettled past deadline + grace: the buyer gets it all back."""
    delivery: Delivery = self.deliveries[delivery_id]
    assert delivery.status != 0, "no delivery"
    assert delivery.status == DELIVERY_PENDING, "delivery closed"
    assert block.timestamp > delivery.deadline + self.settle_grace, "not expired"
    escrow: uint256 = delivery.amount_wh * delivery.price_per_wh
    self.escrowed[delivery.buyer] -= escrow
    self.available[delivery.buyer] += escrow
    self.deliveries[delivery_id].status = DELIVERY_EXPIRED
    log DeliveryExpired(
        delivery_id=delivery_id, buyer=delivery.buyer, seller=delivery.seller, refunded=escrow
    )
