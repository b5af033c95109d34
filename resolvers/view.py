"""The /graphql endpoint: Strawberry's FastAPI router plus WebSocket authentication."""

from __future__ import annotations

from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.types.unset import UnsetType

from auth.identity import viewer_for_token
from resolvers.context import Context


class GraphQLView(GraphQLRouter[Context, None]):
    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Identify the socket by its cookie or bearer header, or by `connectionParams.authToken`.

        A socket with no valid identity is closed with 4403 before it can subscribe.
        """
        params = context.connection_params
        token = params.get("authToken") if isinstance(params, dict) else None
        if isinstance(token, str) and token:
            context.viewer = await viewer_for_token(context.services, token)
        if context.viewer is None:
            raise ConnectionRejectionError
        context.loaders.user_by_id.prime(context.viewer.id, context.viewer)
        return UnsetType()  # the singleton UNSET: acknowledge with no payload
