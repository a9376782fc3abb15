"""Memory high-water marks: RSS always, USS where the OS can say it (None: unknown)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Peak:
    rss: int = 0
    uss: int | None = None

    def take(self, rss: int, uss: int | None = None) -> None:
        self.rss = max(self.rss, rss)
        if uss is not None:
            self.uss = max(self.uss or 0, uss)

    def plus(self, other: Peak) -> Peak:
        """Both together, as processes apart (a runner's tree and a cluster's workers): a USS
        stays known only while every part with memory has one."""
        unknown = self.uss is None or (other.rss > 0 and other.uss is None)
        return Peak(self.rss + other.rss, None if unknown else (self.uss or 0) + (other.uss or 0))
