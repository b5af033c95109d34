"""Each of compat/strawberry.py's shims against the installed Strawberry: an upgrade that changes
one of the internals they reach fails here, by name, before it fails somewhere in the app."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar, get_origin

import httpx
import pytest
import strawberry
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from graphql import ExecutionResult as CoreExecutionResult
from graphql import GraphQLField, GraphQLInt, GraphQLSchema, parse, specified_rules
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from compat.strawberry import (
    ASGIWebSocketAdapter,
    AsyncHTTPRequestAdapter,
    BaseGraphQLTransportWSHandler,
    BaseGraphQLWSHandler,
    Message,
    StrawberryGraphQLCoreExecutionContext,
    StrawberryHTTPException,
    UnsetType,
    graphql_core_schema,
    refuses_mutation,
    strawberry_field,
    validate_document,
)

PRICE = {"price": 7}


@strawberry.input(one_of=True)
class Pick:
    first: int | None = strawberry.UNSET
    second: int | None = strawberry.UNSET


@strawberry.type
class Query:
    @strawberry.field(metadata=PRICE)
    def answer(self) -> int:
        return 42

    @strawberry.field
    def pick(self, by: Pick) -> int:
        return 1

    @strawberry.field
    def maybe(self, value: strawberry.Maybe[int] = None) -> int:
        return 1


@strawberry.type
class Mutation:
    @strawberry.mutation
    def touch(self) -> bool:
        return True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[int, None]:
        for tick in (1, 2, 3):
            yield tick


class RecordingExecutor(StrawberryGraphQLCoreExecutionContext):
    """Notes which graphql-core hooks Strawberry's execution calls, and with what schema; and
    the data of each result."""

    calls: ClassVar[list[tuple[str, GraphQLSchema]]] = []
    data: ClassVar[list[object]] = []

    def build_per_event_executor(self, payload: Any) -> Any:
        self.calls.append(("event", self.schema))
        return super().build_per_event_executor(payload)

    def execute_operation(self, serially: bool | None = None) -> Any:
        self.calls.append(("operation", self.schema))
        result = super().execute_operation(serially)
        if isinstance(result, CoreExecutionResult):
            self.data.append(result.data)
        return result


@pytest.fixture
def schema() -> Iterator[strawberry.Schema]:
    RecordingExecutor.calls.clear()
    RecordingExecutor.data.clear()
    yield strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        execution_context_class=RecordingExecutor,
    )


def test_graphql_core_schema_is_the_schema_strawberry_builds(schema: strawberry.Schema) -> None:
    core = graphql_core_schema(schema)
    assert isinstance(core, GraphQLSchema)
    assert core.query_type is not None
    assert set(core.query_type.fields) == {"answer", "pick", "maybe"}
    assert graphql_core_schema(schema) is core  # one object, which the documents cache keeps


async def test_the_executor_runs_queries_and_each_event(schema: strawberry.Schema) -> None:
    """schema/execution.py shares event results through these two graphql-core hooks."""
    core = graphql_core_schema(schema)
    result = await schema.execute("{ answer }")
    assert result.data == {"answer": 42}
    assert RecordingExecutor.calls == [("operation", core)]

    RecordingExecutor.calls.clear()
    events = await schema.subscribe("subscription { ticks }")
    assert isinstance(events, AsyncGenerator)
    ticks = [event.data async for event in events if isinstance(event, ExecutionResult)]
    assert ticks == [{"ticks": 1}, {"ticks": 2}, {"ticks": 3}]
    assert RecordingExecutor.calls == [("event", core), ("operation", core)] * 3


class OnlyExecuteOperation:
    """All a per-event executor needs to be, as schema/execution.py's SharedEvent is."""

    __slots__ = ("executor",)

    def __init__(self, executor: Any) -> None:
        self.executor = executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        return self.executor.execute_operation(serially)


class MinimalEventExecutor(StrawberryGraphQLCoreExecutionContext):
    def build_per_event_executor(self, payload: Any) -> Any:
        return OnlyExecuteOperation(super().build_per_event_executor(payload))


async def test_an_event_is_executed_through_execute_operation_alone() -> None:
    schema = strawberry.Schema(
        query=Query, subscription=Subscription, execution_context_class=MinimalEventExecutor
    )
    events = await schema.subscribe("subscription { ticks }")
    assert isinstance(events, AsyncGenerator)
    results = [event async for event in events if isinstance(event, ExecutionResult)]
    assert [(result.data, result.errors) for result in results] == [
        ({"ticks": tick}, None) for tick in (1, 2, 3)
    ]


@pytest.mark.parametrize(
    "document",
    [
        "{ answer unknown }",
        "{ pick(by: {first: 1, second: 2}) }",  # @oneOf: exactly one field
        "{ maybe(value: null) }",  # Maybe[int]: absent or an int, never null
    ],
)
async def test_validate_document_refuses_what_strawberry_refuses(
    schema: strawberry.Schema, document: str
) -> None:
    """schema/documents.py validates in place of Strawberry: with the same rules, its own too."""
    errors = validate_document(graphql_core_schema(schema), parse(document), tuple(specified_rules))
    refused = await schema.execute(document)
    assert errors
    assert [error.message for error in errors] == [e.message for e in refused.errors or []]


def test_validate_document_accepts_a_valid_document(schema: strawberry.Schema) -> None:
    document = parse("{ answer pick(by: {first: 1}) maybe(value: 3) }")
    assert validate_document(graphql_core_schema(schema), document, tuple(specified_rules)) == []


def test_strawberry_field_carries_the_fields_metadata(schema: strawberry.Schema) -> None:
    """schema/cost.py reads each field's price from its metadata."""
    query = graphql_core_schema(schema).query_type
    assert query is not None
    field = strawberry_field(query.fields["answer"])
    assert field is not None
    assert field.metadata == PRICE
    assert strawberry_field(GraphQLField(GraphQLInt)) is None  # not built by Strawberry


class CapturingRouter(GraphQLRouter[Any, None]):
    """Keeps the refusal Strawberry's view raised, and raises one from parse_json on demand."""

    refusals: ClassVar[list[StrawberryHTTPException]] = []

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Any,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except StrawberryHTTPException as refusal:
            self.refusals.append(refusal)
            raise

    def parse_json(self, data: str | bytes) -> Any:
        if data == b'"refuse"':
            raise StrawberryHTTPException(418, "refused by the view")
        return super().parse_json(data)


@asynccontextmanager
async def serving(schema: strawberry.Schema, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    CapturingRouter.refusals.clear()
    app = FastAPI()
    app.include_router(CapturingRouter(schema, **options), prefix="/graphql")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
async def client(schema: strawberry.Schema) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(schema) as client:
        yield client


async def test_a_mutation_over_get_is_recognized_by_type(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "mutation { touch }"})
    assert response.status_code == 400  # Strawberry's answer, which the app turns into a 405
    [refusal] = CapturingRouter.refusals
    assert refuses_mutation(refusal)


async def test_other_refusals_are_not_taken_for_one(schema: strawberry.Schema) -> None:
    async with serving(schema, allow_queries_via_get=False) as client:
        queried = await client.get("/graphql", params={"query": "{ answer }"})
        unknown = await client.get(
            "/graphql", params={"query": "mutation M { touch }", "operationName": "Other"}
        )
    assert (queried.status_code, unknown.status_code) == (400, 400)
    assert len(CapturingRouter.refusals) == 2  # a query over GET, an unknown operation
    assert not any(refuses_mutation(refusal) for refusal in CapturingRouter.refusals)


async def test_a_mutation_over_post_is_not_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "mutation { touch }"})
    assert response.json() == {"data": {"touch": True}}
    assert CapturingRouter.refusals == []


async def test_a_view_hook_refuses_by_raising_the_exception(client: httpx.AsyncClient) -> None:
    """web/graphql_view.py raises it from parse_json and catches Strawberry's from run()."""
    response = await client.post(
        "/graphql", content=b'"refuse"', headers={"content-type": "application/json"}
    )
    assert (response.status_code, response.text) == (418, "refused by the view")


def test_the_websocket_classes_are_the_ones_graphql_router_uses(schema: strawberry.Schema) -> None:
    """web/graphql_view.py replaces these by subclassing them."""
    router = GraphQLRouter[Any, None](schema)
    assert issubclass(router.websocket_adapter_class, ASGIWebSocketAdapter)
    # The handlers are given parametrized (`BaseGraphQLWSHandler[Context, RootValue]`).
    transport_ws = get_origin(router.graphql_transport_ws_handler_class)
    legacy_ws = get_origin(router.graphql_ws_handler_class)
    assert transport_ws is BaseGraphQLTransportWSHandler
    assert legacy_ws is BaseGraphQLWSHandler


class RecordingTransportWS(BaseGraphQLTransportWSHandler[Any, None]):
    sent: ClassVar[list[Message]] = []

    async def send_message(self, message: Message) -> None:
        self.sent.append(message)
        await super().send_message(message)


def test_each_message_goes_through_send_message(schema: strawberry.Schema) -> None:
    """web/graphql_view.py sends a live event's `next` through its own send_message, spotting
    the shared result by its data: so `next` must come there with the executor's data object
    itself as its payload's `data`, not a copy."""
    RecordingTransportWS.sent.clear()

    class Router(GraphQLRouter[Any, None]):
        graphql_transport_ws_handler_class = RecordingTransportWS

    app = FastAPI()
    app.include_router(Router(schema), prefix="/graphql")
    with (
        TestClient(app) as client,
        client.websocket_connect("/graphql", [GRAPHQL_TRANSPORT_WS_PROTOCOL]) as ws,
    ):
        ws.send_json({"type": "connection_init"})
        ws.receive_json()
        ws.send_json(
            {"id": "t", "type": "subscribe", "payload": {"query": "subscription { ticks }"}}
        )
        received = [ws.receive_json() for _ in range(4)]
    assert [m["type"] for m in received] == ["next", "next", "next", "complete"]
    sent = RecordingTransportWS.sent
    assert [m["type"] for m in sent] == ["connection_ack", "next", "next", "next", "complete"]
    nexts = [m for m in sent if m["type"] == "next"]
    assert (
        [m["payload"]["data"] for m in nexts]
        == RecordingExecutor.data
        == [{"ticks": tick} for tick in (1, 2, 3)]
    )
    assert all(
        m["payload"]["data"] is data for m, data in zip(nexts, RecordingExecutor.data, strict=True)
    )


def test_unset_type_is_the_type_of_unset() -> None:
    assert isinstance(strawberry.UNSET, UnsetType)
