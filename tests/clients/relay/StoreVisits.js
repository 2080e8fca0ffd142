// A store's latest visits, paged backward, and any object by its global id.
import { graphql } from "react-relay";

export const visits = graphql`
  fragment StoreVisits_query on Query
  @refetchable(queryName: "StoreVisitsPaginationQuery")
  @argumentDefinitions(
    count: { type: "Int", defaultValue: 4 }
    cursor: { type: "String" }
    location: { type: "ID" }
  ) {
    visits(filter: { location: $location }, last: $count, before: $cursor)
    @connection(key: "StoreVisits_visits", filters: ["filter"]) {
      edges { node { id at kind member { id } location { id name } } }
    }
  }
`;

export const query = graphql`
  query StoreVisitsQuery($location: ID) {
    ...StoreVisits_query @arguments(location: $location)
  }
`;

export const node = graphql`
  query StoreVisitsNodeQuery($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on Visit { kind at }
      ... on Member { name }
      ... on Identity { externalId channelId }
      ... on StockLevel { onHand available }
    }
  }
`;
