"""Parsed and checked GraphQL documents, cached by a hash of their text and bounded by bytes.

Both the compiled path and Strawberry's ask this one cache, so a request is parsed and
validated at most once, and a document refused once (too large, a syntax error, a limit, a
validation error) is refused again for the price of a hash. Validity is also remembered by a
hash of the printed document, so the same operation formatted another way is not validated
again. Errors are kept only with the text they were found in: their line and column belong to
it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    parse,
    print_ast,
    specified_rules,
)
from graphql.language import Token
from strawberry.extensions import DisableIntrospection, SchemaExtension

from cache.lru import ByteLRU
from compat.strawberry import validate_document
from schema.codes import ErrorCode
from schema.document_rules import ShapeLimits, shape_errors
from settings import Settings

PARSE_FAILED = ErrorCode.GRAPHQL_PARSE_FAILED
# What a parsed document weighs in memory, per token (nodes, locations, the token list itself),
# measured with tracemalloc on this project's documents: 350-450 bytes.
BYTES_PER_TOKEN = 450
# What a refused document weighs beyond its text (the error, its positions).
BYTES_PER_ERROR = 1_024


@dataclass(frozen=True, slots=True)
class Checked:
    """A document and what is wrong with it: no errors means it may run."""

    document: DocumentNode | None  # None when it was not parsed
    errors: tuple[GraphQLError, ...]
    digest: bytes = b""  # sha256 of the text: names the document for other caches


class DocumentCache:
    # Set once the schema is built (its extensions, this cache among them, come first).
    schema: GraphQLSchema

    def __init__(self, settings: Settings) -> None:
        self.max_bytes = settings.graphql_max_document_bytes
        self.max_tokens = settings.graphql_max_tokens
        self.limits = ShapeLimits(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_overlap_pairs=settings.graphql_max_overlap_pairs,
        )
        self.rules: tuple[type[ASTValidationRule], ...] = tuple(specified_rules)
        if not settings.graphql_introspection_enabled:
            self.rules += tuple(DisableIntrospection().validation_rules)
        # Half the budget each: checked documents by their text, valid ones by their form.
        self._checked: ByteLRU[Checked] = ByteLRU(settings.graphql_document_cache_bytes // 2)
        self._valid: ByteLRU[bool] = ByteLRU(settings.graphql_document_cache_bytes // 2)

    def check(self, query: str) -> Checked:
        text = query.encode()
        if len(text) > self.max_bytes:
            return Checked(None, (_too_large(len(text), self.max_bytes),))
        key = hashlib.sha256(text).digest()
        checked = self._checked.get(key)
        if checked is None:
            checked = replace(self._check(query), digest=key)
            weight = len(text) + (
                _token_count(checked.document) * BYTES_PER_TOKEN
                if checked.document is not None
                else BYTES_PER_ERROR
            )
            self._checked.put(key, checked, weight)
        return checked

    def _check(self, query: str) -> Checked:
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError as error:
            return Checked(None, (error,))
        except RecursionError:
            return Checked(None, (_parse_failed("The document nests too deeply"),))
        if errors := shape_errors(document, self.limits):
            return Checked(document, tuple(errors))
        form = hashlib.sha256(print_ast(document).encode()).digest()
        if self._valid.get(form):
            return Checked(document, ())
        errors = validate_document(self.schema, document, self.rules)
        if not errors:
            self._valid.put(form, True, len(form) + 64)
        return Checked(document, tuple(errors))


class CheckedDocuments(SchemaExtension):
    """Strawberry's parsing and validation, answered from the cache (in place of Strawberry's
    ParserCache, ValidationCache, MaxTokensLimiter and the depth and alias limiters)."""

    def __init__(self, documents: DocumentCache) -> None:
        self.documents = documents
        self.errors: tuple[GraphQLError, ...] = ()

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is None:
            checked = self.documents.check(context.query)
            if checked.document is None:
                raise checked.errors[0]  # Strawberry answers it as a pre-execution error
            context.graphql_document = checked.document
            self.errors = checked.errors
        yield

    def on_validate(self) -> Iterator[None]:
        # Set, even empty: Strawberry then skips its own validation.
        self.execution_context.pre_execution_errors = list(self.errors)
        yield


def _token_count(document: DocumentNode) -> int:
    token: Token | None = document.loc.start_token if document.loc else None
    count = 0
    while token is not None:
        count += 1
        token = token.next
    return count


def _parse_failed(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": PARSE_FAILED})


def _too_large(size: int, limit: int) -> GraphQLError:
    return _parse_failed(f"The document is {size} bytes; at most {limit} are parsed")
