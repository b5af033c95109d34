"""Pydantic models: the one source of validation for users, trades and degrees.

Strawberry's `TradeInput` is built from `TradeCreate` (schema/inputs.py); the `User` type
mirrors `UserRead`, which tests/schema/test_mirror.py checks field by field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from db.types import MONEY_DIGITS, MONEY_PLACES, utcnow
from rules.candles import bucket_start

MAX_PAGE = 100
MAX_TRADES_PER_BATCH = 1000
# Buckets one `candles` request may span (the cost model prices each).
MAX_CANDLES = 1_000
# Sign-in refuses longer passwords before hashing: none can have been registered.
MAX_PASSWORD_LENGTH = 128
COMMON_PASSWORDS = frozenset(
    {"password", "password1", "12345678", "123456789", "qwertyuiop", "iloveyou1", "letmein123"}
)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class DegreeName(StrEnum):
    NEWBIE = "newbie"
    EXPERT = "expert"


def _lower(email: str) -> str:
    return email.lower()


Email = Annotated[EmailStr, AfterValidator(_lower)]
# Printable text: control characters (NUL included, which PostgreSQL cannot store) are refused.
Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]


def _upper(value: object) -> object:
    # ASCII only: str.upper() folds some other letters into ASCII ones (dotless i, U+0131, becomes
    # "I"), which the pattern would then accept. Anything else is left for the pattern to refuse.
    if isinstance(value, str) and value.isascii():
        return value.strip().upper()
    return value


# Currency codes are case-insensitive on input and stored upper-case ("btc" -> "BTC").
Currency = Annotated[
    str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z][A-Z0-9]{1,9}$")
]

# Decimal text: an optional sign, ASCII digits with an optional fraction, an optional exponent.
# Decimal() and Pydantic also take "1_000" and other scripts' digits ("٣" is 3).
DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
DECIMAL_FORMS = 'digits 0-9 with an optional sign, fraction and exponent, e.g. "-101.5"'
_SPACES = " \t\r\n"


def is_decimal_text(text: str) -> bool:
    return DECIMAL_TEXT.fullmatch(text.strip(_SPACES)) is not None


def _decimal_text(value: object) -> object:
    if isinstance(value, str) and not is_decimal_text(value):
        raise ValueError(f"not a decimal number: {DECIMAL_FORMS}")
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    Field(ge=0, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, allow_inf_nan=False),
]


class Page(BaseModel):
    """limit/offset arguments of every list field."""

    limit: int = Field(default=10, ge=0, le=MAX_PAGE)
    offset: int = Field(default=0, ge=0)


class TradePage(Page):
    """A page of trades: with `before`, only trades with a smaller id (keyset paging: a client
    passes the last id it has seen, so trades added meanwhile shift nothing)."""

    # Ids start at 1: a smaller `before` names no trade, and would read as an empty page.
    before: int | None = Field(default=None, ge=1)


class TradeFilter(BaseModel):
    """The arguments of `tradeAdded`."""

    currency: Currency | None = None


class CandleInterval(IntEnum):
    """How wide a candle is, in seconds."""

    ONE_MINUTE = 60
    FIVE_MINUTES = 300
    ONE_HOUR = 3_600
    ONE_DAY = 86_400


class CandleFilter(BaseModel):
    """The arguments of `candleUpdated`."""

    currency: Currency
    interval: CandleInterval


class CandleRange(BaseModel):
    """The arguments of `candles`: the buckets from the one `from` falls in up to `to` (now when
    absent), at most MAX_CANDLES of them."""

    currency: Currency
    interval: CandleInterval
    from_: AwareDatetime = Field(alias="from")
    to: AwareDatetime | None = Field(default=None, validate_default=True)

    @field_validator("to")
    @classmethod
    def _bounded(cls, to: datetime | None, info: ValidationInfo) -> datetime | None:
        if "from_" not in info.data or "interval" not in info.data:
            return to  # refused already
        count = _bucket_count(info.data["interval"], info.data["from_"], to or utcnow())
        if count <= 0:
            after = "must be after from" + ("" if to else " (it defaults to now)")
            raise PydanticCustomError("candle_range", after)
        if count > MAX_CANDLES:
            raise PydanticCustomError(
                "candle_range",
                "at most {most} candles per request, {count} asked for: "
                "ask for a shorter range or a longer interval",
                {"most": MAX_CANDLES, "count": count},
            )
        return to

    @property
    def start(self) -> datetime:
        """The start of the first bucket: the one `from` falls in."""
        return bucket_start(self.from_, self.interval)


def _bucket_count(interval: CandleInterval, start: datetime, end: datetime) -> int:
    """Buckets that [start, end) overlaps; 0 when it is empty."""
    if end <= start:
        return 0
    return -((bucket_start(start, interval) - end) // timedelta(seconds=interval))


def candle_items(arguments: Mapping[str, Any]) -> int:
    """How many candles `candles` may return for its arguments as sent (the cost model's
    items): MAX_CANDLES for arguments it refuses when it runs, as a limit beyond MAX_PAGE."""
    try:
        interval = CandleInterval[str(arguments.get("interval"))]
        found = CandleRange.model_validate({**arguments, "interval": interval})
    except (KeyError, ValidationError):
        return MAX_CANDLES
    return _bucket_count(interval, found.from_, found.to or utcnow())


class TradeCreate(BaseModel):
    """One trade of an `addTrades` batch."""

    model_config = ConfigDict(frozen=True)

    currency: Currency
    side: Side
    price: Money
    amount: Money
    user_id: int | None = Field(
        default=None,
        description="Admins only: add the trade for another user. Defaults to the signed-in user.",
    )


class DegreeCreate(BaseModel):
    """A degree to award: a user and a known degree name."""

    user_id: int
    name: DegreeName


class NameChange(BaseModel):
    user_id: int
    new_name: Name


class UserCreate(BaseModel):
    """`POST /auth/register`."""

    email: Email
    password: str = Field(min_length=10, max_length=MAX_PASSWORD_LENGTH)
    name: Name

    @field_validator("password")
    @classmethod
    def _not_common(cls, password: str) -> str:
        if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
            raise ValueError("password is too easy to guess")
        return password


class UserRead(BaseModel):
    """A user as the API shows it; `email` is None unless the viewer may see it."""

    id: int
    name: str
    role: str
    email: str | None
    registered_at: datetime


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
