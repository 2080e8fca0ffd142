// A category of the catalogue with prices and the stock of one store, paged forward.
import { graphql } from "react-relay";

export const products = graphql`
  fragment ProductCatalog_query on Query
  @refetchable(queryName: "ProductCatalogPaginationQuery")
  @argumentDefinitions(
    count: { type: "Int", defaultValue: 4 }
    cursor: { type: "String" }
    category: { type: "String" }
    location: { type: "ID!" }
  ) {
    products(filter: { category: $category }, first: $count, after: $cursor)
    @connection(key: "ProductCatalog_products", filters: ["filter"]) {
      edges {
        node {
          id
          sku
          name
          offers { available price { amount currencyCode } channel { id } }
          stock(location: $location) { id onHand reserved available }
        }
      }
    }
  }
`;

export const query = graphql`
  query ProductCatalogQuery($category: String, $location: ID!) {
    ...ProductCatalog_query @arguments(category: $category, location: $location)
  }
`;
