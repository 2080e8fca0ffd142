// A member's most recent orders, paged backward (last/before) with @connection.
import { graphql } from "react-relay";

export const orders = graphql`
  fragment RecentOrders_query on Query
  @refetchable(queryName: "RecentOrdersPaginationQuery")
  @argumentDefinitions(
    count: { type: "Int", defaultValue: 3 }
    cursor: { type: "String" }
    member: { type: "ID" }
  ) {
    orders(filter: { member: $member }, last: $count, before: $cursor)
    @connection(key: "RecentOrders_orders", filters: ["filter"]) {
      edges {
        node { id status placedAt total { amount currencyCode } member { id } }
      }
    }
  }
`;

export const query = graphql`
  query RecentOrdersQuery($member: ID) {
    ...RecentOrders_query @arguments(member: $member)
  }
`;
