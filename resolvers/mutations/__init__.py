"""Every mutation, top-level (only top-level mutation fields run one after another).

Each returns a payload with the written object and typed ``userErrors``; the rules live in
``gateway.commerce``.
"""

from __future__ import annotations

import strawberry

from resolvers.mutations.activity import ActivityMutation
from resolvers.mutations.campaigns import CampaignMutation
from resolvers.mutations.fulfilment import FulfilmentMutation
from resolvers.mutations.fx import FxMutation
from resolvers.mutations.imports import ImportMutation
from resolvers.mutations.members import MemberMutation
from resolvers.mutations.merges import MergeMutation
from resolvers.mutations.orders import OrderMutation
from resolvers.mutations.points import PointsMutation
from resolvers.mutations.privacy import PrivacyMutation
from resolvers.mutations.segments import SegmentMutation
from resolvers.mutations.settlement import SettlementMutation
from resolvers.mutations.stock import StockMutation
from resolvers.mutations.transfers import TransferMutation


@strawberry.type(description="Write orders, payments, visits, stock, transfers, members and "
                 "identities; fulfil, refund and return orders; write campaigns, coupons and "
                 "exchange rates.")
class Mutation(OrderMutation, StockMutation, TransferMutation, ActivityMutation,
               SettlementMutation, FulfilmentMutation, MemberMutation, MergeMutation,
               ImportMutation, PrivacyMutation, SegmentMutation, PointsMutation, CampaignMutation,
               FxMutation):
    pass
