"""Names of Helio's detached actors (one place, so every process finds the same ones)."""

NAMESPACE = "helio"
RATE_LIMITER = "helio-rate-limiter"
CACHE = "helio-cache"
EVENTS = "helio-events"
PLATFORM_METRICS = "helio-platform-metrics"
