"""One DataLoader per file, created per request: a loader's cache never crosses users."""

from __future__ import annotations

from cache.reads import CachedReads
from schema.dataloaders.degrees import degrees_by_user_loader
from schema.dataloaders.trades import trade_page_loader
from schema.dataloaders.users import user_by_id_loader


class Loaders:
    def __init__(self, reads: CachedReads, *, see_emails: bool) -> None:
        self.user_by_id = user_by_id_loader(reads, see_emails=see_emails)
        self.degrees_by_user = degrees_by_user_loader(reads)
        self.trade_page = trade_page_loader(reads)
