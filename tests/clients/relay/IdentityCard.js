// One channel identity of a member, refetchable on its own through node(id:).
import { graphql } from "react-relay";

export const identity = graphql`
  fragment IdentityCard_identity on Identity
  @refetchable(queryName: "IdentityCardRefetchQuery") {
    id
    channelId
    externalId
    linkedAt
    source
    channel { id kind }
  }
`;
