// A member's cross-channel timeline: paged with @connection, refetched through node(id:)
// (@refetchable). Orders and payments both ask for `status`, without aliases.
import { graphql } from "react-relay";

export const timeline = graphql`
  fragment MemberTimeline_member on Member
  @refetchable(queryName: "MemberTimelinePaginationQuery")
  @argumentDefinitions(count: { type: "Int", defaultValue: 5 }, cursor: { type: "String" }) {
    id
    name
    tier
    identities {
      ...IdentityCard_identity
    }
    history(first: $count, after: $cursor) @connection(key: "MemberTimeline_history") {
      edges {
        node {
          __typename
          id
          at
          channel { id name }
          ... on Order { status total { amount currencyCode } }
          ... on Payment { status method amount { amount currencyCode } }
          ... on Visit { kind source }
        }
      }
    }
  }
`;

export const query = graphql`
  query MemberTimelineQuery($id: ID!) {
    member(id: $id) {
      ...MemberTimeline_member
    }
  }
`;
