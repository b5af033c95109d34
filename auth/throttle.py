"""The auth routes' rate limits: sign-in attempts per account and per address, registrations per
address (on the shared limiter of ratelimit/limiter.py).

A sign-in reserves an attempt on both counters before the password is verified, so a burst for
one account gets at most the limit's verifications; a success gives the attempt back (the
account's count is forgiven, the address keeps only its failures). Past a limit the answer is
429 with Retry-After, whatever the password: guessing stops being worth it. Unknown emails are
counted like known ones, so the answers do not reveal which accounts exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from ratelimit.limiter import RateLimiter, Rule
from settings import Settings


@dataclass(frozen=True)
class AuthLimits:
    limiter: RateLimiter
    sign_ins_per_account: Rule
    sign_ins_per_address: Rule
    registrations_per_address: Rule

    @classmethod
    def from_settings(cls, limiter: RateLimiter, settings: Settings) -> AuthLimits:
        window = settings.login_failure_window_seconds
        return cls(
            limiter,
            Rule("sign-in:account", settings.login_max_failures_per_account, window),
            Rule("sign-in:address", settings.login_max_failures_per_address, window),
            Rule(
                "register:address",
                settings.register_max_per_address,
                settings.register_window_seconds,
            ),
        )

    async def reserve_sign_in(self, email: str, address: str) -> None:
        """RateLimitExceeded when the account or the address has no attempt left."""
        await self.limiter.take(
            (self.sign_ins_per_account, email), (self.sign_ins_per_address, address)
        )

    async def signed_in(self, email: str, address: str) -> None:
        """The account's failures are forgiven; the address's are not."""
        await self.limiter.clear(self.sign_ins_per_account, email)
        await self.limiter.give_back(self.sign_ins_per_address, address)

    async def reserve_registration(self, address: str) -> None:
        """RateLimitExceeded when the address registered its limit in this window."""
        await self.limiter.take((self.registrations_per_address, address))
