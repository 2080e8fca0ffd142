// Members of a tier, and each one's points ledger: two connections, one nested.
import { graphql } from "react-relay";

export const members = graphql`
  fragment MemberDirectory_query on Query
  @refetchable(queryName: "MemberDirectoryPaginationQuery")
  @argumentDefinitions(
    count: { type: "Int", defaultValue: 5 }
    cursor: { type: "String" }
    tier: { type: "MemberTier" }
  ) {
    members(filter: { tier: $tier }, first: $count, after: $cursor)
    @connection(key: "MemberDirectory_members", filters: ["filter"]) {
      edges {
        node {
          id
          name
          points
          ...MemberDirectory_ledger
        }
      }
    }
  }
`;

export const ledger = graphql`
  fragment MemberDirectory_ledger on Member
  @refetchable(queryName: "MemberDirectoryLedgerPaginationQuery")
  @argumentDefinitions(count: { type: "Int", defaultValue: 3 }, cursor: { type: "String" }) {
    pointsLedger(first: $count, after: $cursor) @connection(key: "MemberDirectory_pointsLedger") {
      edges { node { id delta reason balance at } }
    }
  }
`;

export const query = graphql`
  query MemberDirectoryQuery($tier: MemberTier) {
    ...MemberDirectory_query @arguments(tier: $tier)
  }
`;
