"""Strawberry permission classes: who may call a field at all (finer rules live in resolvers)."""

from __future__ import annotations

from typing import Any

from strawberry import Info
from strawberry.permission import BasePermission

from schema.context import Context


class IsAuthenticated(BasePermission):
    message = "Sign in first: log in at /auth/login or send an Authorization: Bearer token"
    error_extensions = {"code": "UNAUTHENTICATED"}  # noqa: RUF012 - read by Strawberry

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        return info.context.viewer is not None


class IsAdmin(BasePermission):
    message = "Only admins may do this"
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012 - read by Strawberry

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        viewer = info.context.viewer
        return viewer is not None and viewer.is_admin
