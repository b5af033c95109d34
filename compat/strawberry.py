"""Strawberry's internals this project builds on, behind one door.

Everything here is used by the project but is not Strawberry's documented API: a private
attribute, classes and functions of its implementation modules, the WebSocket protocol handlers
it lets a view replace, and `cross_web` (the HTTP helper package it raises refusals from). The
rest of the code imports these names from here and never from Strawberry itself
(tests/compat/test_internal_imports.py fails otherwise), and tests/compat/test_strawberry.py
checks each of them against the installed Strawberry, so an upgrade that moves or changes one
fails there, naming it (tests/compat/test_overrides.py does the same for the view's and the
executor's overridden hooks). pyproject.toml keeps Strawberry and cross-web below their next
minor versions, the releases that may break these: raise the bounds once those tests pass.

This module imports nothing of the project, so any layer may import it.
"""

from __future__ import annotations

from cross_web import AsyncHTTPRequestAdapter
from cross_web import HTTPException as StrawberryHTTPException
from graphql import GraphQLField, GraphQLSchema
from strawberry import Schema
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.async_base_view import AsyncBaseHTTPView
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext, validate_document
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    ErrorMessage,
    Message,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyConnectionInitMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ErrorMessage as LegacyErrorMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage
from strawberry.types.field import StrawberryField
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

__all__ = [
    "ASGIWebSocketAdapter",  # reads a socket's messages (GraphQLRouter.websocket_adapter_class)
    "AsyncBaseHTTPView",  # the view the adapter is given
    "AsyncHTTPRequestAdapter",  # the request as Strawberry's view hooks are given it
    "BaseGraphQLTransportWSHandler",  # for graphql_transport_ws_handler_class
    "BaseGraphQLWSHandler",  # the legacy graphql-ws protocol (graphql_ws_handler_class)
    "ConnectionInitMessage",
    "ErrorMessage",  # a refused subscribe
    "LegacyConnectionInitMessage",  # graphql-ws's; StartMessage and LegacyErrorMessage too
    "LegacyErrorMessage",
    "Message",  # any graphql-transport-ws message, as its handler's send_message is given it
    "NonJsonMessageReceived",  # what an adapter raises for Strawberry to close with 4400
    "NonTextMessageReceived",
    "StartMessage",
    "StrawberryGraphQLCoreExecutionContext",  # the executor to subclass (execution_context_class)
    "StrawberryHTTPException",  # a refusal: a status and a plain-text reason
    "SubscribeMessage",
    "UnsetType",  # the type of strawberry.UNSET, for annotations
    "WebSocketDisconnected",  # what a handler's send raises once the client has gone
    "graphql_core_schema",
    "refuses_mutation",
    "strawberry_field",
    "validate_document",  # graphql-core's validate() with Strawberry's rules (@oneOf, Maybe)
]


def graphql_core_schema(schema: Schema) -> GraphQLSchema:
    """The graphql-core schema Strawberry builds from the types and executes against."""
    return schema._schema


def strawberry_field(field: GraphQLField) -> StrawberryField | None:
    """The Strawberry field a graphql-core field was built from (its `metadata` among others)."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return definition if isinstance(definition, StrawberryField) else None


def refuses_mutation(error: StrawberryHTTPException) -> bool:
    """Whether Strawberry's view refused the request for being a mutation its HTTP method may not
    carry (GET): known by the error it raised it from, not by the words of its reason."""
    cause = error.__cause__
    return (
        isinstance(cause, InvalidOperationTypeError)
        and cause.operation_type is OperationType.MUTATION
    )
